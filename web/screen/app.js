// Speaker screen /screen/{id}#k=KEY: the live question large, the next ones, a clock, the answer
// timer and the moderator's backstage message (the stage), and how the public asks.
// ?lang=en for English; ?next=N for how many queued questions to show (default 4);
// ?speaker=ID for one speaker's own screen (see forThisScreen).
// A programme's link /p/{slug}/screen#k=KEY follows the programme's current episode.
import { TanyaClient, pageKey, programmeFromPath } from '../shared/client.js';
import { h, $, setText, syncList, pathId } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import STRINGS from './strings.js';

const i18n = makeI18n(STRINGS);
const t = i18n.t;
i18n.apply();

const params = new URLSearchParams(location.search);
const NEXT = Math.max(1, Math.min(10, Number(params.get('next')) || 4));
/** The speaker this screen is for (`?speaker=s1`), or null for the whole panel. */
const SPEAKER = (params.get('speaker') || '').trim() || null;
const programme = programmeFromPath('/screen');
const client = programme ? new TanyaClient({ role: 'screen', programme, key: pageKey('k') })
  : new TanyaClient({ role: 'screen', session: pathId('/screen/'), key: pageKey('k') });
if (SPEAKER) document.body.dataset.speaker = SPEAKER;

/**
 * Whether a queued question belongs on this screen. The panel's screen shows the whole queue.
 * A speaker's own screen shows the questions addressed to that speaker and the questions
 * addressed to no one: those are for the whole panel and the moderator may give any of them to
 * this speaker, so the speaker sees them coming. Questions addressed to another speaker are left
 * out. The question being answered is always shown, whoever it is for.
 */
function forThisScreen(q) {
  return !SPEAKER || !q.to || q.to === SPEAKER;
}

function asker(q) {
  return [q.name, q.outlet].filter(Boolean).join(' · ');
}
function speakerLine(q) {
  if (SPEAKER && q.to === SPEAKER) return t('toYou');
  const sp = client.speaker(q.to);
  return sp ? `${sp.name} — ${sp.role}` : '';
}

/** The join address as people type it: `join.url` without its scheme. The hub builds it from its
 *  public address; the page's own host (a laptop's loopback name, say) is never used. */
function shortUrl(url) {
  return String(url || '').replace(/^https?:\/\//i, '').replace(/\/$/, '');
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

// ---- the stage: answer timer and backstage message -------------------------------------------
// The hub sends the stage view in the welcome and as `stage` events:
// {message, timer: {duration_ms, remaining_ms, running}}. `remaining_ms` is the time left when the
// frame was made; while running the page counts down from the frame's arrival (`at`,
// performance.now(), which never jumps with the wall clock) and below zero (overtime).
const stage = { message: null, timer: null, at: 0 };
/** After a resumed welcome the hub replays the missed events as they were sent, so a replayed
 *  `stage` frame of a running timer carries the time left at its own moment, older than the
 *  welcome's. For a short while a frame that says what the welcome said keeps the welcome's time. */
let resumed = null;
const RESUME_REPLAY_MS = 2000;

function sameStage(a, b) {
  return a && b && (a.message ?? null) === (b.message ?? null) && !!a.timer === !!b.timer
    && (!a.timer || (a.timer.duration_ms === b.timer.duration_ms && a.timer.running === b.timer.running));
}

function setStage(s, at) {
  stage.message = typeof s.message === 'string' && s.message !== '' ? s.message : null;
  stage.timer = s.timer && typeof s.timer.remaining_ms === 'number' ? { ...s.timer } : null;
  stage.at = at;
  scheduleRender();
}

client.on('frame', (msg) => {
  const now = performance.now();
  if (msg.type === 'welcome') {
    if (msg.stage) setStage(msg.stage, now);
    resumed = msg.resumed && msg.stage ? { stage: msg.stage, at: now } : null;
  } else if (msg.type === 'stage' && msg.stage) {
    // the client has not applied this frame yet: its seq is the last one applied
    if (typeof msg.seq === 'number' && client.seq !== null && msg.seq <= client.seq) return;
    if (resumed && now - resumed.at < RESUME_REPLAY_MS && sameStage(msg.stage, resumed.stage)) {
      setStage(resumed.stage, resumed.at);
      return;
    }
    setStage(msg.stage, now);
  }
});

/** Milliseconds left on the answer timer now (negative: overtime). */
function timeLeft() {
  const tm = stage.timer;
  return tm.running ? tm.remaining_ms - (performance.now() - stage.at) : tm.remaining_ms;
}

/** m:ss, rounded up while time is left (3:00 for the first second, 0:00 exactly at zero); in
 *  overtime the seconds past zero with a plus sign (+0:12), after one second of 0:00. */
function formatLeft(ms) {
  const mmss = (s) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  if (ms > 0) return mmss(Math.ceil(ms / 1000));
  const over = Math.floor(-ms / 1000);
  return over === 0 ? '0:00' : `+${mmss(over)}`;
}

/**
 * The timer's state: `idle` (stopped at its full length: never started, or reset), `running` or
 * `paused`. An idle timer is hidden: nothing is being timed, and the speakers keep their eyes on
 * the question; it appears, large, when the moderator starts it, and goes away again on reset.
 * A paused timer stays, dimmed, with "Dijeda". At zero it turns red and counts the overtime.
 */
function timerState() {
  const tm = stage.timer;
  if (!tm) return 'idle';
  if (tm.running) return 'running';
  return tm.remaining_ms === tm.duration_ms ? 'idle' : 'paused';
}

let tickTimer = null;
function renderTimer() {
  clearTimeout(tickTimer);
  const box = $('#timer');
  const state = timerState();
  box.dataset.state = state;
  box.hidden = state === 'idle';
  if (state === 'idle') return;
  const tm = stage.timer;
  const left = timeLeft();
  // the last fifth of the time, at most the last 30 seconds: amber; from zero on: red
  const warnAt = Math.min(30000, tm.duration_ms / 5);
  box.dataset.phase = left <= 0 ? 'over' : left <= warnAt ? 'warn' : 'normal';
  setText($('#timer-value'), formatLeft(left));
  const note = state === 'paused' ? (left <= 0 ? t('timer.overPaused') : t('timer.paused')) : left <= 0 ? t('timer.over') : '';
  const noteEl = $('#timer-note');
  const grows = (noteEl.textContent === '') !== (note === '');
  setText(noteEl, note);
  // the note ("Waktu habis") takes a line of the side column: the queue is fitted again
  if (grows) scheduleRender();
  if (state === 'running') {
    // the next change of the shown second (left crosses a multiple of 1000), a little after it
    const toNext = ((left % 1000) + 1000) % 1000 || 1000;
    tickTimer = setTimeout(renderTimer, toNext + 15);
  }
}

function renderMessage() {
  const box = $('#message');
  const text = stage.message;
  const was = box.hidden ? null : $('#message-text').textContent;
  box.hidden = text === null;
  setText($('#message-text'), text || '');
  if (text !== null && text !== was) {
    // a new message flashes once, to catch a speaker's eye
    box.classList.remove('arrived');
    void box.offsetWidth;
    box.classList.add('arrived');
  }
}

// ---- the page ------------------------------------------------------------------------------
function renderSpeaker() {
  if (!SPEAKER) return;
  const box = $('#speaker');
  box.hidden = false;
  const sp = client.speaker(SPEAKER);
  box.dataset.unknown = sp ? 'false' : 'true';
  setText($('#speaker-name'), sp ? sp.name : '');
  setText($('#speaker-role'), sp ? sp.role : client.view.session ? t('speakerUnknown') : '');
}

function renderJoin(s) {
  setText($('#join-code'), (s.join && s.join.code) || s.code);
  // `join` is in every session frame (welcome and `session` events); without it (a hub from
  // before it) the line shows the code alone.
  const j = s.join || {};
  $('#join-line').hidden = !j.url;
  setText($('#join-url'), shortUrl(j.url));
  $('#join-sms-line').hidden = !j.sms;
  setText($('#join-sms'), j.sms || '');
  $('#join-whatsapp-line').hidden = !j.whatsapp;
  setText($('#join-whatsapp'), j.whatsapp || '');
}

let lastSig = '';
function render() {
  const v = client.view;
  const s = v.session;
  if (s) {
    setText($('#session-title'), s.title);
    const sp = SPEAKER && client.speaker(SPEAKER);
    document.title = sp ? `${sp.name} · ${s.title} · Tanya` : `${s.title} · Tanya`;
    renderJoin(s);
  }
  renderSpeaker();
  renderMessage();
  renderTimer();
  const all = client.questions();
  const live = all.find((q) => q.status === 'live');
  const queue = all.filter((q) => q.status === 'approved' && forThisScreen(q))
    .sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
  const liveBox = $('#live');
  liveBox.dataset.empty = live ? 'false' : 'true';
  liveBox.dataset.qid = live ? live.id : '';
  setText($('#live-text'), live ? live.text : '');
  setText($('#live-meta'), live ? asker(live) : '');
  setText($('#live-empty'), client.noEpisode ? t('noEpisode') : t('none'));
  if (client.noEpisode) { setText($('#session-title'), ''); setText($('#join-code'), ''); }
  setText($('#live-to'), live && live.to ? `→ ${speakerLine(live)}` : '');
  const shown = queue.slice(0, NEXT);
  syncList($('#next'), shown, (q) => q.id,
    () => h('li', {}, h('span', { class: 't' }), h('span', { class: 'm' })),
    (li, q) => {
      li.dataset.qid = q.id;
      li.dataset.to = q.to || '';
      li.classList.toggle('mine', !!SPEAKER && q.to === SPEAKER);
      setText(li.firstChild, q.text);
      const to = !q.to ? '' : SPEAKER && q.to === SPEAKER ? t('toYou') : t('to', { name: (client.speaker(q.to) || {}).name || '' });
      const meta = [asker(q) || t('anon'), to, q.votes ? t('votes', { n: q.votes }) : ''].filter(Boolean).join(' · ');
      setText(li.lastChild, meta);
    });
  $('#next-empty').hidden = queue.length > 0;
  setText($('#next-empty'), SPEAKER ? t('nextNoneSpeaker') : t('nextNone'));
  setText($('#queue-more'), queue.length > NEXT ? t('more', { n: queue.length - NEXT }) : '');
  $('#on-air').hidden = !(v.overlay && v.overlay.visible);
  renderPoll();
  // what changes the space the texts have: refit only then
  const sig = JSON.stringify([live && live.text, live && asker(live), live && live.to, shown.map((q) => [q.text, q.votes, q.to]),
    stage.message, $('#timer').hidden, $('#timer-note').textContent !== '', $('#poll').hidden, $('#speaker').hidden,
    window.innerWidth, window.innerHeight]);
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
function scheduleRender() {
  if (!queued) { queued = true; queueMicrotask(() => { queued = false; render(); }); }
}
client.on('change', scheduleRender);
// A programme's next episode (or none): the old one's timer and message go with it.
for (const ev of ['episode', 'noepisode']) client.on(ev, () => { setStage({ message: null, timer: null }, performance.now()); resumed = null; });
client.on('state', (s) => { $('#conn').dataset.state = s.state; $('#conn').title = t(s.noEpisode && s.state === 'waiting' ? 'conn.noEpisode' : `conn.${s.state}`); });
client.on('fatal', (f) => {
  $('#fatal').hidden = false;
  const changed = f.code === 4401 && /changed/.test(f.reason || '');
  setText($('#fatal'), f.code === 4404 ? t('fatal.notfound') : changed ? t('fatal.keyChanged') : t('fatal.key'));
});
window.addEventListener('resize', () => { lastSig = ''; render(); });
tick();
if (!(client.sessionRef || client.programme) || !client.key) {
  $('#fatal').hidden = false;
  setText($('#fatal'), t('fatal.key'));
} else {
  client.start();
}
if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => { lastSig = ''; render(); });
window.tanya = { client, stage };
