// Speaker screen /screen/{id}#k=KEY: the live question large, the next ones, a clock.
// ?lang=en for English; ?next=N for how many queued questions to show (default 4).
import { TanyaClient, pageKey } from '../shared/client.js';
import { h, $, setText, syncList, pathId } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';

const i18n = makeI18n({
  id: {
    live: 'Sedang dijawab', none: 'Belum ada pertanyaan yang sedang dijawab.', next: 'Berikutnya',
    nextNone: 'Antrian kosong.', more: '+{n} lagi di antrian', onAir: 'ON AIR', askAt: 'Kirim pertanyaan:',
    code: 'kode', anon: 'Anonim', to: 'untuk {name}', votes: '{n} dukungan',
    poll: 'Jajak pendapat', pollTotal: '{n} suara',
    'fatal.key': 'Kunci layar salah atau hilang: buka tautan layar yang benar (dengan #k=…).',
    'fatal.keyChanged': 'Kunci layar sudah diganti: buka tautan layar yang baru.',
    'fatal.notfound': 'Sesi tidak ditemukan.',
  },
  en: {
    live: 'Being answered', none: 'No question is being answered yet.', next: 'Next',
    nextNone: 'The queue is empty.', more: '+{n} more in the queue', onAir: 'ON AIR', askAt: 'Ask at:',
    code: 'code', anon: 'Anonymous', to: 'for {name}', votes: ({ n }) => (n === 1 ? '1 vote' : `${n} votes`),
    poll: 'Poll', pollTotal: ({ n }) => (n === 1 ? '1 vote' : `${n} votes`),
    'fatal.key': 'Wrong or missing screen key: open the right screen link (with #k=…).',
    'fatal.keyChanged': 'The screen key was changed: open the new screen link.',
    'fatal.notfound': 'Session not found.',
  },
});
const t = i18n.t;
i18n.apply();

const NEXT = Math.max(1, Math.min(10, Number(new URLSearchParams(location.search).get('next')) || 4));
const client = new TanyaClient({ role: 'screen', session: pathId('/screen/'), key: pageKey('k') });

function asker(q) {
  return [q.name, q.outlet].filter(Boolean).join(' · ');
}
function speakerLine(q) {
  const sp = client.speaker(q.to);
  return sp ? `${sp.name} — ${sp.role}` : '';
}

/** Largest font size (rem) at which `inner` fits inside `box` (binary search). */
function fit(box, inner, target, maxRem, minRem) {
  if (!box.clientHeight) return;
  let lo = minRem;
  let hi = maxRem;
  target.style.setProperty('--size', `${hi}rem`);
  if (inner.scrollHeight <= box.clientHeight && inner.scrollWidth <= box.clientWidth) return;
  for (let i = 0; i < 12; i++) {
    const mid = (lo + hi) / 2;
    target.style.setProperty('--size', `${mid}rem`);
    if (inner.scrollHeight <= box.clientHeight && inner.scrollWidth <= box.clientWidth) lo = mid; else hi = mid;
  }
  target.style.setProperty('--size', `${lo}rem`);
  // at the minimum it still fits? if not, keep shrinking: never cut
  let s = lo;
  while (s > 0.6 && (inner.scrollHeight > box.clientHeight)) {
    s *= 0.9;
    target.style.setProperty('--size', `${s}rem`);
  }
}

let lastSig = '';
function render() {
  const v = client.view;
  const s = v.session;
  if (s) {
    setText($('#session-title'), s.title);
    document.title = `${s.title} · Tanya`;
    setText($('#join-code'), s.code);
    setText($('#join-url'), `${location.host}/j/${s.code}`);
  }
  const all = client.questions();
  const live = all.find((q) => q.status === 'live');
  const queue = all.filter((q) => q.status === 'approved').sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
  const liveBox = $('#live');
  liveBox.dataset.empty = live ? 'false' : 'true';
  liveBox.dataset.qid = live ? live.id : '';
  setText($('#live-text'), live ? live.text : '');
  setText($('#live-meta'), live ? asker(live) : '');
  setText($('#live-to'), live && live.to ? `→ ${speakerLine(live)}` : '');
  const shown = queue.slice(0, NEXT);
  syncList($('#next'), shown, (q) => q.id,
    () => h('li', {}, h('span', { class: 't' }), h('span', { class: 'm' })),
    (li, q) => {
      li.dataset.qid = q.id;
      setText(li.firstChild, q.text);
      const meta = [asker(q) || t('anon'), q.to ? t('to', { name: (client.speaker(q.to) || {}).name || '' }) : '', q.votes ? t('votes', { n: q.votes }) : ''].filter(Boolean).join(' · ');
      setText(li.lastChild, meta);
    });
  $('#next-empty').hidden = queue.length > 0;
  setText($('#queue-more'), queue.length > NEXT ? t('more', { n: queue.length - NEXT }) : '');
  $('#on-air').hidden = !(v.overlay && v.overlay.visible);
  renderPoll();
  const sig = JSON.stringify([live && live.text, live && asker(live), live && live.to, shown.map((q) => [q.text, q.votes, q.to]), window.innerWidth, window.innerHeight]);
  if (sig !== lastSig) { lastSig = sig; refit(); }
}

/** The open poll's live result. */
function renderPoll() {
  const p = client.openPoll();
  $('#poll').hidden = !p;
  if (!p) return;
  setText($('#poll-question'), p.question);
  const total = p.options.reduce((n, o) => n + (o.count || 0), 0);
  syncList($('#poll-options'), p.options.map((o, i) => ({ ...o, i })), (o) => `${p.id}:${o.i}`,
    () => h('li', {}, h('span', { class: 't' }), h('span', { class: 'bar' }, h('span', { class: 'fill' })), h('span', { class: 'n' })),
    (li, o) => {
      const pct = total ? Math.round((100 * (o.count || 0)) / total) : 0;
      li.dataset.count = String(o.count || 0);
      setText(li.firstChild, o.text);
      li.children[1].firstChild.style.width = `${pct}%`;
      setText(li.lastChild, `${pct}% · ${t('pollTotal', { n: o.count || 0 })}`);
    });
}

function refit() {
  fit($('#live-fit'), $('#live-text'), $('#live-text'), 6, 1.6);
  fit($('#next-fit'), $('#next'), $('#next'), 1.9, 1);
}

function tick() {
  const d = new Date();
  const el = $('#clock');
  setText(el, d.toLocaleTimeString(i18n.lang === 'en' ? 'en-GB' : 'id-ID', { hour: '2-digit', minute: '2-digit' }).replace('.', ':'));
  el.dateTime = d.toISOString();
  setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
}

let queued = false;
client.on('change', () => { if (!queued) { queued = true; queueMicrotask(() => { queued = false; render(); }); } });
client.on('state', (s) => { $('#conn').dataset.state = s.state; $('#conn').title = s.state; });
client.on('fatal', (f) => {
  $('#fatal').hidden = false;
  const changed = f.code === 4401 && /changed/.test(f.reason || '');
  setText($('#fatal'), f.code === 4404 ? t('fatal.notfound') : changed ? t('fatal.keyChanged') : t('fatal.key'));
});
window.addEventListener('resize', () => { lastSig = ''; render(); });
tick();
if (!client.sessionRef || !client.key) {
  $('#fatal').hidden = false;
  setText($('#fatal'), t('fatal.key'));
} else {
  client.start();
}
if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => { lastSig = ''; render(); });
window.tanya = { client };
