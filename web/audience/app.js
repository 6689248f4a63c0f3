// Phone page: /j/{code} (and / to type a code). Press mode with #p=KEY.
// A programme's link /p/{slug} follows its current episode; with none open (or the current one
// closed) the page shows the programme, its next date and where to follow up, asks
// GET /api/p/{slug} every 30 s and connects as soon as an episode is open.
import { TanyaClient, store, sessionKey, programmeFromPath } from '../shared/client.js';
import { h, $, $$, setText, syncList, textLength, pathId, hashParams, copyText } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import { startText } from '../shared/time.js';
import STRINGS from './strings.js';

const MAX = 300;
/** Failed connection tries, with no welcome since the page opened, before the page says
 *  that this network seems to block the connection (a proxy or firewall that refuses WebSockets). */
const BLOCKED_AFTER = 3;
const NOTICE_MS = 8000;
const PROGRAMME_POLL_MS = 30000;
const CODE_RE = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/;
/** A programme's own join code (WONGKITO): /j/{code} is redirected by the hub to /p/{slug}. */
const PROGRAMME_CODE_RE = /^[A-Z0-9]{4,16}$/;
const i18n = makeI18n(STRINGS);
const t = i18n.t;

let client = null;
let code = '';
let programme = '';         // a programme's slug on /p/{slug}, else ''
let programmeInfo = null;   // the last GET /api/p/{slug}: {slug, title, current, next_at} | {missing: true}
let programmeTimer = null;
let programmeLoading = false;
/** The key of this page's session (or programme) in localStorage: press key, draft. */
const boxKey = () => (programme ? `p:${programme}` : sessionKey(code));
let sort = store.get('sort') === 'recent' ? 'recent' : 'popular';
let lastStatus = new Map(); // my question id -> status (for announcements)
let askMsg = null;          // {text: () => string, kind}: re-rendered on a language switch
let noticeMsg = null;       // () => string, the last error of a vote, withdraw or the like
let noticeTimer = null;
let everOnline = false;     // a welcome came since the page opened
let failedTries = 0;        // failed tries since the page opened, while never online
let office = { consent: null, rules: null }; // the office's own texts from the welcome
let places = null;          // {places: [{kecamatan, kelurahan: []}], topics: []} from /api/followup/options
let placesLoading = null;   // the fetch under way
let followupMsg = null;     // key of the follow-up field the hub refused (followup.bad.*)
let lastTracking = '';      // the tracking code of the last ask, shown under the send button

function announce(text) {
  const el = $('#sr-status');
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}

function setAskStatus(key, vars, kind = '') {
  setAskText(key ? () => t(key, vars) : null, kind);
}
function setAskText(text, kind = '') {
  askMsg = text ? { text, kind } : null;
  renderAskStatus();
}
function renderAskStatus() {
  const el = $('#ask-status');
  setText(el, askMsg ? askMsg.text() : '');
  el.dataset.kind = askMsg ? askMsg.kind : '';
}

const hasKey = (key) => Object.prototype.hasOwnProperty.call(STRINGS.id, key);

/** The text for an error reply (docs/protocol.md#errors) or a local failure (offline,
 *  disconnected, timeout, stopped), in the page's language: `err.{ctx}.{code}`, else
 *  `err.{code}`, else `err.unknown`. The hub's `message` is English and never shown. */
function errorText(err, ctx) {
  const code = err && typeof err.code === 'string' && /^[a-z_]+$/.test(err.code) ? err.code : '';
  if (code && ctx && hasKey(`err.${ctx}.${code}`)) return t(`err.${ctx}.${code}`);
  if (code && hasKey(`err.${code}`)) return t(`err.${code}`);
  return t('err.unknown');
}

/** A short message at the bottom of the screen (errors of votes and withdrawals). */
function showNotice(text) {
  noticeMsg = text;
  renderNotice();
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { noticeMsg = null; renderNotice(); }, NOTICE_MS);
}
function renderNotice() {
  const el = $('#notice');
  el.hidden = !noticeMsg;
  setText(el, noticeMsg ? noticeMsg() : '');
}

// ---- join by code ---------------------------------------------------------
function showJoin(prefill = '') {
  $('#join').hidden = false;
  $('#app').hidden = true;
  const input = $('#join-code');
  input.value = prefill;
  input.focus();
  $('#join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.replace(/\s+/g, '').toUpperCase();
    if (!CODE_RE.test(v) && !PROGRAMME_CODE_RE.test(v)) { setText($('#join-error'), t('join.bad')); input.setAttribute('aria-invalid', 'true'); return; }
    location.assign(`/j/${v}`);
  });
}

// ---- session --------------------------------------------------------------
function pressKey() {
  const fromHash = hashParams().get('p');
  if (fromHash) store.set(`press:${boxKey()}`, fromHash);
  return fromHash || store.get(`press:${boxKey()}`);
}

function startClient() {
  if (client) client.stop();
  const key = pressKey();
  const role = key ? 'press' : 'audience';
  client = programme ? new TanyaClient({ role, programme, key }) : new TanyaClient({ role, session: code, key });
  client.on('state', renderConn);
  client.on('change', onChange);
  // A session frame is the session's whole state, but the shared client merges it into the
  // view: a start time cleared is absent from it, so drop it here.
  client.on('session', (m) => { if (m && m.session && !('starts_at' in m.session) && client.view.session) delete client.view.session.starts_at; });
  client.on('welcome', onWelcome);
  client.on('fatal', onFatal);
  client.on('error', showError);
  client.start();
  renderPress();
  scheduleRender();
}

function showError(err) { showNotice(() => errorText(err)); }

function onChange(ev) {
  // An ask the hub refused for now (rate_limited, internal): the client keeps it and retries.
  if (ev && ev.type === 'outbox' && ev.retrying && ev.error) {
    setAskStatus(ev.error.code === 'rate_limited' ? 'ask.retryRate' : 'ask.retryLater', null, 'warn');
  }
  scheduleRender();
}

/** Office texts: `phone: {consent, rules}` in the welcome, each a string or null (a hub
 *  without the setting sends nothing: the defaults of strings.js stay). */
function onWelcome(msg) {
  if (!msg || typeof msg !== 'object' || !Object.prototype.hasOwnProperty.call(msg, 'phone')) return;
  const p = msg.phone && typeof msg.phone === 'object' ? msg.phone : {};
  const text = (v) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  office = { consent: text(p.consent), rules: text(p.rules) };
  renderOfficeTexts();
}

function renderOfficeTexts() {
  const consent = $('#consent');
  setText(consent, office.consent || t('consent.default'));
  consent.dataset.source = office.consent ? 'office' : 'default';
  const rules = office.rules || t('rules.default');
  // one rule per line; a leading "-", "*", "•" or "1." is the list's own bullet
  const lines = rules.split(/\r?\n/).map((l) => l.trim().replace(/^(?:[-*•·]|\d{1,2}[.)])\s+/, '')).filter(Boolean);
  const list = $('#rules-list');
  const sig = JSON.stringify(lines);
  if (list.dataset.sig !== sig) {
    list.dataset.sig = sig;
    list.replaceChildren(...lines.map((l) => h('li', null, l)));
  }
  $('#rules').dataset.source = office.rules ? 'office' : 'default';
}

function onFatal(f) {
  if (f.code === 4401 && client.role === 'press') {
    // wrong press code: back to the audience role, keep the page
    store.del(`press:${boxKey()}`);
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    $('#press-section').open = true;
    setText($('#press-error'), t('press.bad'));
    startClient();
    return;
  }
  $('#app').hidden = true;
  $('#fatal').hidden = false;
  setText($('#fatal-text'), f.code === 4404 ? t('fatal.notfound') : t('fatal.key'));
}

function renderConn(s) {
  const el = $('#conn');
  el.dataset.state = s.state;
  setText($('#conn-label'), t(s.noEpisode && s.state === 'waiting' ? 'conn.noEpisode' : `conn.${s.state}`));
  if (s.state === 'online') { everOnline = true; failedTries = 0; scheduleRender(); }
  // a programme with no current episode answered: the network is fine
  if (s.noEpisode) { everOnline = true; failedTries = 0; scheduleRender(); }
  if (s.state === 'waiting' && !everOnline) failedTries = Math.max(failedTries, s.attempt || 0);
  // Never connected after a few tries while the page itself loaded: something between the
  // phone and the venue (a proxy, a firewall) refuses the live connection.
  $('#blocked').hidden = everOnline || failedTries < BLOCKED_AFTER || s.state === 'offline' || s.state === 'stopped';
}

function renderPress() {
  const press = client && client.role === 'press';
  $('#press-bar').hidden = !press;
  $('#outlet-field').hidden = !press;
  $('#press-section').hidden = press;
}

// ---- rendering ------------------------------------------------------------
let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => { renderQueued = false; render(); });
}

function speakerName(id) {
  const sp = client.speaker(id);
  return sp ? sp.name : '';
}

function metaLine(q) {
  const parts = [];
  parts.push(q.name || t('list.anon'));
  if (q.outlet) parts.push(q.outlet);
  if (q.to && speakerName(q.to)) parts.push(t('meta.to', { name: speakerName(q.to) }));
  return parts.join(' · ');
}

function render() {
  if (!client) return;
  const v = client.view;
  const s = v.session;
  if (programme && renderProgrammeWait()) return;
  if (s) {
    setText($('#session-title'), s.title);
    document.title = `${s.title} · Tanya`;
    const when = startText(s.starts_at, i18n.lang);
    const start = $('#session-start');
    start.hidden = !when;
    setText(start, when ? t('session.start', { when }) : '');
    const st = $('#session-status');
    st.hidden = s.status === 'open';
    setText(st, s.status === 'paused' ? t('session.paused') : s.status === 'closed' ? t('session.closed') : '');
    renderSpeakers(s.speakers || []);
  }
  renderCount();
  renderPoll();
  const all = client.questions();
  // live
  const live = all.find((q) => q.status === 'live');
  $('#live-box').hidden = !live;
  if (live) { setText($('#live-text'), live.text); setText($('#live-meta'), metaLine(live)); }
  // public list
  const pub = all.filter((q) => q.status === 'approved' || q.status === 'live');
  pub.sort(sort === 'popular'
    ? (a, b) => (b.status === 'live') - (a.status === 'live') || b.votes - a.votes || cmpTime(a, b)
    : (a, b) => (b.status === 'live') - (a.status === 'live') || cmpTime(b, a));
  syncList($('#questions'), pub, (q) => q.id, createItem, updateItem);
  $('#questions-empty').hidden = pub.length > 0;
  const answered = all.filter((q) => q.status === 'answered').sort((a, b) => cmpUpdated(b, a));
  $('#answered-section').hidden = answered.length === 0;
  setText($('#answered-count'), answered.length);
  syncList($('#answered'), answered, (q) => q.id, createItem, updateItem);
  // mine: unsent first, then newest first
  const mine = all.filter((q) => client.isMine(q)).sort((a, b) => cmpTime(b, a));
  const pending = client.outbox.filter((e) => e.cmd.type === 'ask').map((e) => ({ ref: e.ref, text: e.cmd.text, outbox: true }));
  const items = [...pending.reverse(), ...mine];
  $('#mine-section').hidden = items.length === 0;
  syncList($('#my-questions'), items, (x) => (x.outbox ? `ref:${x.ref}` : x.id), createMine, updateMine);
  // announce status changes of my questions
  for (const q of mine) {
    const before = lastStatus.get(q.id);
    if (before && before !== q.status) announce(t('mine.changed', { status: t(`status.${q.status}`) }));
    lastStatus.set(q.id, q.status);
  }
  const open = !s || s.status === 'open';
  $('#ask-btn').disabled = !open || !validText();
  fillTracking($('#ask-tracking'), lastTracking);
}

/** The open poll, or else the one closed last (its result), above the question form. */
function shownPoll() {
  const polls = Array.from(client.view.polls.values()).filter((p) => p.status !== 'draft');
  return client.openPoll() || polls.filter((p) => p.status === 'closed').sort((a, b) => cmpUpdated(b, a))[0] || null;
}

function renderPoll() {
  const p = shownPoll();
  $('#poll-box').hidden = !p;
  if (!p) return;
  setText($('#poll-question'), p.question);
  const chosen = typeof p.choice === 'number';
  const total = p.options.reduce((n, o) => n + (o.count || 0), 0);
  // Counts once this device has chosen (or the poll is closed), and only when the hub sends them.
  const showCounts = (chosen || p.status === 'closed') && p.options.every((o) => typeof o.count === 'number');
  const items = p.options.map((o, i) => ({ ...o, i, poll: p.id, open: p.status === 'open', mine: p.choice === i, showCounts, total }));
  syncList($('#poll-options'), items, (o) => `${o.poll}:${o.i}`, createOption, updateOption);
  setText($('#poll-note'), p.status === 'closed' ? t('poll.closed')
    : !chosen ? t('poll.tap')
      : showCounts ? t('poll.chosen') : `${t('poll.chosen')} ${t('poll.hidden')}`);
}

function createOption(o) {
  const li = h('li', { class: 'poll-option' },
    h('button', { type: 'button', class: 'poll-choice', dataset: { option: String(o.i) }, onclick: () => onChoose(o.poll, o.i) },
      h('span', { class: 'poll-text' }),
      h('span', { class: 'poll-bar', attrs: { 'aria-hidden': 'true' } }, h('span', { class: 'poll-fill' })),
      h('span', { class: 'poll-count' })));
  updateOption(li, o);
  return li;
}

function updateOption(li, o) {
  const b = $('.poll-choice', li);
  b.disabled = !o.open;
  b.setAttribute('aria-pressed', o.mine ? 'true' : 'false');
  setText($('.poll-text', li), o.mine ? `${o.text} · ${t('poll.yours')}` : o.text);
  const pct = o.total ? Math.round((100 * o.count) / o.total) : 0;
  $('.poll-bar', li).hidden = !o.showCounts;
  $('.poll-fill', li).style.width = `${o.showCounts ? pct : 0}%`;
  setText($('.poll-count', li), o.showCounts ? t('poll.count', { n: o.count, pct }) : '');
}

function onChoose(poll, option) {
  client.choose(poll, option).catch((err) => setText($('#poll-note'), errorText(err, 'poll')));
}

const cmpTime = (a, b) => String(a.created_at).localeCompare(String(b.created_at));
const cmpUpdated = (a, b) => String(a.updated_at).localeCompare(String(b.updated_at));

function createItem(q) {
  const li = h('li', { class: 'q', dataset: { qid: q.id } },
    h('p', { class: 'text q-text' }),
    h('div', { class: 'row q-foot' },
      h('span', { class: 'meta grow' }),
      h('span', { class: 'badge mine-badge', hidden: true }),
      h('button', { type: 'button', class: 'vote', dataset: { act: 'vote' }, onclick: () => onVote(li.dataset.qid) },
        h('span', { class: 'vote-icon', attrs: { 'aria-hidden': 'true' } }, '▲'),
        h('span', { class: 'vote-word' }),
        h('span', { class: 'vote-count', dataset: { votes: '' } }))));
  return li;
}

function updateItem(li, q) {
  li.dataset.qid = q.id;
  li.dataset.status = q.status;
  li.classList.toggle('is-live', q.status === 'live');
  setText($('.q-text', li), q.text);
  setText($('.meta', li), metaLine(q));
  const mineBadge = $('.mine-badge', li);
  mineBadge.hidden = !client.isMine(q);
  setText(mineBadge, t('list.yours'));
  const btn = $('[data-act=vote]', li);
  const on = client.view.votes.has(q.id);
  btn.setAttribute('aria-pressed', on ? 'true' : 'false');
  btn.setAttribute('aria-label', t(on ? 'vote.labelOn' : 'vote.label', { n: q.votes }));
  btn.disabled = !!(client.view.session && client.view.session.status === 'closed'); // the hub refuses every vote then
  setText($('.vote-word', li), t('vote.word'));
  setText($('.vote-count', li), q.votes);
  $('.vote-count', li).dataset.votes = String(q.votes);
}

function createMine() {
  return h('li', { class: 'q mine' },
    h('p', { class: 'text q-text' }),
    h('div', { class: 'row q-foot' },
      h('span', { class: 'status badge', dataset: { field: 'status' } }),
      h('span', { class: 'grow' }),
      h('button', { type: 'button', class: 'danger', dataset: { act: 'withdraw' }, hidden: true, onclick: (e) => onWithdraw(e.currentTarget.closest('li').dataset.qid) })),
    h('p', { class: 'reason hint', dataset: { field: 'reason' }, hidden: true }),
    h('p', { class: 'edited hint', dataset: { field: 'edited' }, hidden: true }),
    h('div', { class: 'tracking', dataset: { field: 'tracking-box' }, hidden: true },
      h('p', { class: 'tracking-line' },
        h('span', { class: 'tracking-label' }), ' ',
        h('a', { class: 'tracking-code', dataset: { field: 'tracking' }, href: '/lacak' }),
        h('button', { type: 'button', class: 'copy-btn', dataset: { act: 'copy-tracking' }, onclick: (e) => onCopyTracking(e.currentTarget) })),
      h('p', { class: 'hint tracking-hint' })));
}

/** "Kode lacak: K7Q-M3X-R9T [Salin]" with the hint, in a box of the ask form or of my questions. */
function fillTracking(box, code) {
  box.hidden = !code;
  if (!code) return;
  const a = $('.tracking-code', box);
  setText(a, code);
  const href = `/lacak/${encodeURIComponent(code)}`;
  if (a.getAttribute('href') !== href) a.setAttribute('href', href);
  const label = $('.tracking-label', box);
  if (label) setText(label, t('tracking.label'));
  const btn = $('.copy-btn', box);
  btn.dataset.code = code;
  if (!btn.dataset.copied) setText(btn, t('tracking.copy'));
  btn.setAttribute('aria-label', t('tracking.copyLabel', { code }));
  setText($('.tracking-hint', box), t('tracking.hint'));
}

async function onCopyTracking(btn) {
  const code = btn.dataset.code || '';
  if (!code) return;
  const ok = await copyText(code);
  if (!ok) { showNotice(() => t('tracking.copyFailed', { code })); return; }
  btn.dataset.copied = '1';
  setText(btn, t('tracking.copied'));
  announce(t('tracking.copied'));
  setTimeout(() => { delete btn.dataset.copied; setText(btn, t('tracking.copy')); }, 2000);
}

function updateMine(li, x) {
  if (x.outbox) {
    li.dataset.ref = x.ref;
    delete li.dataset.qid;
    li.dataset.status = client.sentOn.has(x.ref) ? 'sending' : 'queued';
    setText($('.q-text', li), x.text);
    setText($('[data-field=status]', li), t(`status.${li.dataset.status}`));
    $('[data-act=withdraw]', li).hidden = true;
    fillTracking($('[data-field=tracking-box]', li), '');
    return;
  }
  const q = x;
  li.dataset.qid = q.id;
  li.dataset.status = q.status;
  setText($('.q-text', li), q.text);
  setText($('[data-field=status]', li), t(`status.${q.status}`));
  const btn = $('[data-act=withdraw]', li);
  btn.hidden = q.status !== 'pending';
  setText(btn, t('mine.withdraw'));
  btn.setAttribute('aria-label', t('mine.withdrawLabel'));
  const reason = $('[data-field=reason]', li);
  reason.hidden = !(q.status === 'rejected' && q.reason);
  setText(reason, q.reason ? t('mine.reason', { reason: q.reason }) : '');
  const edited = $('[data-field=edited]', li);
  edited.hidden = !q.edited;
  setText(edited, t('mine.edited'));
  fillTracking($('[data-field=tracking-box]', li), typeof q.tracking === 'string' ? q.tracking : '');
}

function renderSpeakers(speakers) {
  renderStage(speakers);
  const field = $('#speaker-field');
  field.hidden = speakers.length === 0;
  const sel = $('#speaker');
  const want = JSON.stringify([i18n.lang, speakers.map((s) => [s.id, s.name, s.role])]);
  if (sel.dataset.sig === want) return;
  sel.dataset.sig = want;
  const cur = sel.value;
  sel.replaceChildren(h('option', { value: '' }, t('ask.anyone')),
    // the name alone fits the closed list on a 320 px screen; roles are under "on stage today"
    ...speakers.map((s) => h('option', { value: s.id }, s.name)));
  sel.value = speakers.some((s) => s.id === cur) ? cur : '';
}

/** Who is on stage today: every speaker of the session, name and role. */
function renderStage(speakers) {
  $('#stage').hidden = speakers.length === 0;
  syncList($('#speakers'), speakers, (s) => s.id, () => h('li', { class: 'speaker' },
    h('span', { class: 'sp-name' }), h('span', { class: 'sp-role' })), (li, s) => {
    li.dataset.speakerId = s.id;
    setText($('.sp-name', li), s.name);
    setText($('.sp-role', li), s.role);
  });
}

function validText() {
  const n = textLength($('#question-text').value);
  return n >= 1 && n <= MAX;
}

function renderCount() {
  const n = textLength($('#question-text').value);
  const el = $('#char-count');
  setText(el, t('ask.count', { n, max: MAX }));
  el.setAttribute('aria-label', t('ask.countLabel', { n, max: MAX }));
  el.classList.toggle('over', n > MAX);
  const ta = $('#question-text');
  if (n > MAX) ta.setAttribute('aria-invalid', 'true'); else ta.removeAttribute('aria-invalid');
}

// ---- a programme with no open episode ----------------------------------------
/** Whether this programme page has nothing to ask into: no current episode, or a closed one. */
function programmeWaiting() {
  if (!client) return false;
  if (client.noEpisode) return true;
  const s = client.view.session;
  return !!(s && s.status === 'closed');
}

/** The waiting page instead of the form (true while shown); polling runs only then. */
function renderProgrammeWait() {
  const waiting = programmeWaiting();
  $('#programme-wait').hidden = !waiting;
  if ($('#fatal').hidden) $('#app').hidden = waiting;
  if (!waiting) { stopProgrammePoll(); return false; }
  if (!programmeTimer && !programmeLoading) pollProgramme();
  const info = programmeInfo && !programmeInfo.missing ? programmeInfo : null;
  const s = client.view.session;
  const title = (info && info.title) || (s && s.programme && s.programme.title) || programme;
  setText($('#programme-title'), programmeInfo && programmeInfo.missing ? programme : title);
  document.title = `${title} · Tanya`;
  const closed = s && s.status === 'closed' && !client.noEpisode ? s.title : '';
  setText($('#programme-state'), programmeInfo && programmeInfo.missing ? t('programme.notfound')
    : closed ? t('programme.closed', { title: closed }) : t('programme.none'));
  const when = info ? startText(info.next_at, i18n.lang) : '';
  const next = $('#programme-next');
  setText(next, when ? t('programme.next', { when }) : t('programme.noNext'));
  if (info && info.next_at) next.dataset.nextAt = info.next_at; else delete next.dataset.nextAt;
  return true;
}

function stopProgrammePoll() {
  clearTimeout(programmeTimer);
  programmeTimer = null;
}

/** GET /api/p/{slug}: the title and next date; an open current episode the socket is not in
 *  yet: connect now. */
async function pollProgramme() {
  stopProgrammePoll();
  programmeLoading = true;
  try {
    const r = await fetch(`/api/p/${encodeURIComponent(programme)}`, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (r.status === 404) programmeInfo = { missing: true };
    else if (r.ok) {
      const body = await r.json();
      if (body && typeof body === 'object') programmeInfo = body;
    }
  } catch { /* the next poll tries again */ }
  programmeLoading = false;
  const cur = programmeInfo && programmeInfo.current;
  if (cur && cur.status && cur.status !== 'closed' && client) {
    const s = client.view.session;
    if (!client.ready) client.reconnectNow();
    else if (s && cur.code && s.code && cur.code !== s.code) client.dropConnection(); // another episode: join it
  }
  scheduleRender();
  if (programmeWaiting()) programmeTimer = setTimeout(pollProgramme, PROGRAMME_POLL_MS);
}

// ---- actions --------------------------------------------------------------
function onAsk(e) {
  e.preventDefault();
  const text = $('#question-text').value;
  const n = textLength(text);
  if (n < 1) { $('#question-text').focus(); return; }
  if (n > MAX) { setAskStatus('ask.tooLong', { max: MAX }, 'bad'); return; }
  const name = $('#name').value.trim();
  store.set('name', name);
  const cmd = { type: 'ask', text: text.trim() };
  if (name) cmd.name = name;
  const to = $('#speaker').value;
  if (to) cmd.to = to;
  if (client.role === 'press') {
    const outlet = $('#outlet').value.trim();
    store.set('outlet', outlet);
    if (outlet) cmd.outlet = outlet;
  }
  Object.assign(cmd, followupFields());
  setFollowupError(null);
  lastTracking = '';
  const online = client.ready;
  const p = client.submit(cmd);
  $('#question-text').value = '';
  store.del(`draft:${boxKey()}`);
  renderCount();
  setAskStatus(online ? 'ask.sending' : 'ask.queued', null, online ? '' : 'warn');
  p.then((ok) => {
    setAskStatus('ask.sent', null, 'ok');
    rememberContact(cmd.contact);
    const tr = (ok && typeof ok.tracking === 'string' && ok.tracking) || (ok && ok.question && ok.question.tracking) || '';
    lastTracking = typeof tr === 'string' ? tr : '';
    scheduleRender();
  }, (err) => {
    const field = invalidField(err);
    if (field) { setFollowupError(field); setAskStatus('ask.checkFollowup', null, 'bad'); } else setAskText(() => errorText(err, 'ask'), 'bad');
    if (!$('#question-text').value) $('#question-text').value = cmd.text;
    renderCount();
    scheduleRender();
  });
  scheduleRender();
}

// ---- follow-up: contact, place, topic (all optional) ---------------------------------
/** The optional follow-up fields of an ask; empty ones are left out. The contact is kept on
 *  this phone only when "Ingat di HP ini" is ticked. */
function followupFields() {
  const out = {};
  const contact = $('#contact').value.trim();
  if (contact) out.contact = contact;
  const kec = $('#kecamatan').value;
  if (kec) {
    out.place = { kecamatan: kec };
    const kel = $('#kelurahan').value;
    if (kel) out.place.kelurahan = kel;
  }
  const topic = $('#topic').value;
  if (topic) out.topic = topic;
  return out;
}

/** Keeps the contact on this phone (localStorage `tanya:contact`) only while "Ingat di HP ini"
 *  is ticked; unticked, it is forgotten. */
function rememberContact(contact) {
  if ($('#contact-remember').checked && contact) store.set('contact', contact);
  else store.del('contact');
}

/** `invalid` naming a follow-up field (its `field`, or the field in its message) → that field. */
function invalidField(err) {
  if (!err || err.code !== 'invalid') return null;
  const said = `${typeof err.field === 'string' ? err.field : ''} ${typeof err.message === 'string' ? err.message : ''}`;
  const m = said.match(/\b(contact|place|kecamatan|kelurahan|topic)\b/);
  if (!m) return null;
  return m[1] === 'kecamatan' || m[1] === 'kelurahan' ? 'place' : m[1];
}

const FIELD_INPUT = { contact: '#contact', place: '#kecamatan', topic: '#topic' };
function setFollowupError(field) {
  followupMsg = field;
  for (const [f, sel] of Object.entries(FIELD_INPUT)) {
    if (f === field) $(sel).setAttribute('aria-invalid', 'true'); else $(sel).removeAttribute('aria-invalid');
  }
  renderFollowupError();
  if (field) {
    $('#followup').open = true;
    $(FIELD_INPUT[field]).focus();
  }
}
function renderFollowupError() {
  const el = $('#followup-error');
  el.dataset.field = followupMsg || '';
  setText(el, followupMsg ? t(`followup.bad.${followupMsg}`) : '');
}

/** The lists of places and topics: from localStorage at once, and fetched (once per page) when
 *  the section is first opened. */
function onFollowupToggle() {
  if (!$('#followup').open) return;
  if (!places) {
    const cached = store.json('places', null);
    if (validOptions(cached)) { places = cached; renderOptions(); }
  }
  if (placesLoading) return;
  if (!places) setText($('#followup-status'), t('followup.loading'));
  placesLoading = fetch('/api/followup/options', { headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
    .then((body) => {
      if (!validOptions(body)) throw new Error('bad body');
      store.setJson('places', body);
      places = body;
      setText($('#followup-status'), '');
      renderOptions();
    })
    .catch(() => { if (!places) setText($('#followup-status'), t('followup.loadFailed')); placesLoading = null; });
}

function validOptions(o) {
  return !!(o && Array.isArray(o.places) && Array.isArray(o.topics));
}

function fillSelect(sel, first, values, label = (v) => v) {
  const sig = JSON.stringify([first, values]);
  if (sel.dataset.sig === sig) return;
  sel.dataset.sig = sig;
  const cur = sel.value;
  sel.replaceChildren(h('option', { value: '' }, first), ...values.map((v) => h('option', { value: v }, label(v))));
  sel.value = values.includes(cur) ? cur : '';
}

const capital = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

function renderOptions() {
  if (!places) return;
  const kecs = places.places.filter((p) => p && typeof p.kecamatan === 'string').map((p) => p.kecamatan);
  fillSelect($('#kecamatan'), t('followup.pickKecamatan'), kecs);
  renderKelurahan();
  fillSelect($('#topic'), t('followup.pickTopic'), places.topics.filter((x) => typeof x === 'string'), capital);
}

function renderKelurahan() {
  const sel = $('#kelurahan');
  const kec = $('#kecamatan').value;
  const p = places && places.places.find((x) => x && x.kecamatan === kec);
  const list = p && Array.isArray(p.kelurahan) ? p.kelurahan.filter((x) => typeof x === 'string') : [];
  fillSelect(sel, t('followup.pickKelurahan'), list);
  sel.disabled = !kec || list.length === 0;
}

function onVote(id) {
  const on = !client.view.votes.has(id);
  client.vote(id, on).catch((err) => showError(err));
  scheduleRender();
}

function onWithdraw(id) {
  const q = client.view.questions.get(id);
  client.send({ type: 'withdraw', question: id, rev: q ? q.rev : undefined })
    .then(() => announce(t('mine.withdrawn')), (err) => showError(err));
}

function onPressCode(e) {
  e.preventDefault();
  const v = $('#press-code').value.trim();
  if (!v) return;
  setText($('#press-error'), '');
  store.set(`press:${boxKey()}`, v);
  $('#press-code').value = '';
  startClient();
}

function leavePress() {
  store.del(`press:${boxKey()}`);
  if (hashParams().get('p')) history.replaceState(null, '', location.pathname + location.search);
  startClient();
}

function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  if (client) { renderConn(client.state); $('#speaker').dataset.sig = ''; }
  renderAskStatus();
  renderNotice();
  renderOfficeTexts();
  renderFollowupError();
  renderOptions();
  scheduleRender();
}

function setSort(s) {
  sort = s;
  store.set('sort', s);
  for (const b of $$('[data-sort]')) b.setAttribute('aria-pressed', b.dataset.sort === s ? 'true' : 'false');
  scheduleRender();
}

// ---- boot -----------------------------------------------------------------
function boot() {
  $('.lang').hidden = false; // hidden in the HTML: without a script the switch would do nothing
  for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
  setLang(i18n.lang);
  programme = programmeFromPath('');
  code = programme ? '' : pathId('/j/').replace(/\s+/g, '').toUpperCase();
  if (!programme && !code) { showJoin(); return; }
  // a programme's code the hub did not redirect to its programme: no such code
  if (!programme && !CODE_RE.test(code)) { showJoin(code); setText($('#join-error'), t(PROGRAMME_CODE_RE.test(code) ? 'join.unknown' : 'join.bad')); return; }
  $('#app').hidden = false;
  $('#name').value = store.get('name') || '';
  $('#outlet').value = store.get('outlet') || '';
  const ta = $('#question-text');
  ta.value = store.get(`draft:${boxKey()}`) || '';
  ta.addEventListener('input', () => {
    store.set(`draft:${boxKey()}`, ta.value);
    renderCount();
    $('#ask-btn').disabled = !validText() || (client.view.session && client.view.session.status !== 'open');
  });
  $('#ask-form').addEventListener('submit', onAsk);
  const remembered = store.get('contact');
  if (remembered) { $('#contact').value = remembered; $('#contact-remember').checked = true; }
  $('#contact-remember').addEventListener('change', (e) => { if (!e.target.checked) store.del('contact'); });
  $('#followup').addEventListener('toggle', onFollowupToggle);
  $('#kecamatan').addEventListener('change', renderKelurahan);
  for (const sel of Object.values(FIELD_INPUT)) {
    $(sel).addEventListener('input', () => { if (followupMsg) setFollowupError(null); });
  }
  $('#ask-tracking-copy').addEventListener('click', (e) => onCopyTracking(e.currentTarget));
  $('#press-form').addEventListener('submit', onPressCode);
  $('#press-leave').addEventListener('click', leavePress);
  $('#blocked-retry').addEventListener('click', () => { if (client) client.reconnectNow(); });
  for (const b of $$('[data-sort]')) b.addEventListener('click', () => setSort(b.dataset.sort));
  setSort(sort);
  window.addEventListener('hashchange', () => { if (hashParams().get('p')) startClient(); });
  startClient();
  window.tanya = { get client() { return client; }, i18n, get programme() { return programme ? { slug: programme, info: programmeInfo } : null; } };
}

boot();
