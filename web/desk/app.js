// Radio desk /desk/{id}#k=KEY: staff at a radio station (or the city's call desk) type in the
// questions phoned in, sent by SMS/WhatsApp or asked on air. The desk may only enter questions
// and see its own entries; the office checks every one before it is shown.
import { TanyaClient, pageKey, store, newRef, programmeFromPath } from '../shared/client.js';
import { h, $, $$, setText, syncList, textLength, pathId, copyText, clockTime } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import STRINGS from './strings.js';

const MAX = 300;
const NAME_MAX = 60;
const NOTICE_MS = 8000;
const STATION_KEY = 'desk-station';
const i18n = makeI18n(STRINGS);
const t = i18n.t;

const sessionId = pathId('/desk/');
/** A programme's desk link /p/{slug}/desk#k=KEY: entries go to the programme's current episode. */
const programme = programmeFromPath('/desk');
const key = pageKey('k');
const client = !key ? null : programme ? new TanyaClient({ role: 'desk', programme, key })
  : sessionId ? new TanyaClient({ role: 'desk', session: sessionId, key }) : null;

let stations = [];          // welcome `desk.stations`
let options = null;         // {places: [{kecamatan, kelurahan: []}], topics: []} from /api/followup/options
let optionsState = 'idle';  // idle | loading | ready | failed
let statusMsg = null;       // {text: () => string, kind: ok|bad|warn|''} under the send button
let badField = null;        // the form field the hub refused (bad.*)
let lastTracking = '';      // tracking code of the last entry, shown big for reading back
let noticeMsg = null;
let noticeTimer = null;
const waiting = new Set();  // refs sent from this page load (their promise reports the result)
const lastStatus = new Map(); // question id -> status, to announce changes

const hasKey = (k) => Object.prototype.hasOwnProperty.call(STRINGS.id, k);
const locale = () => (i18n.lang === 'en' ? 'en-GB' : 'id-ID');
const capital = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

function announce(text) {
  const el = $('#sr-status');
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}

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

/** Why the hub refused (docs/protocol.md#errors), in the page's language: a refused field
 *  has its own sentence; the hub's English `message` is never shown. */
function errorText(err) {
  const field = refusedField(err);
  if (field) return t(`bad.${field}`);
  const code = err && typeof err.code === 'string' && /^[a-z_]+$/.test(err.code) ? err.code : '';
  return t(code && hasKey(`err.${code}`) ? `err.${code}` : 'err.unknown');
}

/** `invalid` naming one of the form's fields (its `field`, or the word in `message`). */
function refusedField(err) {
  if (!err || err.code !== 'invalid') return null;
  const said = `${typeof err.field === 'string' ? err.field : ''} ${typeof err.message === 'string' ? err.message : ''}`;
  const m = said.match(/\b(contact|place|kecamatan|kelurahan|topic|station|name)\b/);
  if (!m) return null;
  return m[1] === 'kecamatan' || m[1] === 'kelurahan' ? 'place' : m[1];
}

const FIELD_INPUT = { contact: '#caller-contact', place: '#kecamatan', topic: '#topic', station: '#station', name: '#caller-name' };
function markField(field) {
  badField = field;
  for (const [f, sel] of Object.entries(FIELD_INPUT)) {
    if (f === field) $(sel).setAttribute('aria-invalid', 'true'); else $(sel).removeAttribute('aria-invalid');
  }
}

function setStatus(text, kind = '') {
  statusMsg = text ? { text, kind } : null;
  renderStatus();
}
function renderStatus() {
  const el = $('#enter-status');
  setText(el, statusMsg ? statusMsg.text() : '');
  el.dataset.kind = statusMsg ? statusMsg.kind : '';
}

// ---- connection, session -----------------------------------------------------
function renderConn(s) {
  $('#conn').dataset.state = s.state;
  setText($('#conn-label'), t(s.noEpisode && s.state === 'waiting' ? 'conn.noEpisode' : `conn.${s.state}`));
}

function showFatal(textKey) {
  $('#app').hidden = true;
  $('#fatal').hidden = false;
  $('#fatal').dataset.reason = textKey;
  setText($('#fatal-text'), t(textKey));
}

function onFatal(f) {
  const changed = f.code === 4401 && /changed/i.test(f.reason || '');
  showFatal(f.code === 4404 ? 'fatal.notfound' : changed ? 'fatal.keyChanged' : 'fatal.key');
}

function onWelcome(msg) {
  const list = msg && msg.desk && Array.isArray(msg.desk.stations) ? msg.desk.stations : [];
  stations = list.filter((s) => typeof s === 'string' && s.trim());
  renderStations();
}

function renderStations() {
  const sel = $('#station');
  $('.station-field').hidden = stations.length === 0;
  const sig = JSON.stringify([i18n.lang, stations]);
  if (sel.dataset.sig === sig) return;
  sel.dataset.sig = sig;
  const cur = sel.value || store.get(STATION_KEY) || '';
  sel.replaceChildren(h('option', { value: '' }, t('form.noStation')), ...stations.map((s) => h('option', { value: s }, s)));
  sel.value = stations.includes(cur) ? cur : '';
}

function onStation() {
  const v = $('#station').value;
  if (v) store.set(STATION_KEY, v); else store.del(STATION_KEY);
  if (badField === 'station') markField(null);
}

// ---- places and topics ------------------------------------------------------------
function loadOptions() {
  const cached = store.json('places', null);
  if (validOptions(cached)) { options = cached; optionsState = 'ready'; renderOptions(); }
  if (!options) { optionsState = 'loading'; renderOptionsStatus(); }
  fetch('/api/followup/options', { headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
    .then((body) => {
      if (!validOptions(body)) throw new Error('bad body');
      store.setJson('places', body);
      options = body;
      optionsState = 'ready';
      renderOptions();
    })
    .catch(() => { if (!options) optionsState = 'failed'; renderOptionsStatus(); });
}

function validOptions(o) {
  return !!(o && Array.isArray(o.places) && Array.isArray(o.topics));
}

function renderOptionsStatus() {
  const el = $('#options-status');
  setText(el, optionsState === 'loading' ? t('form.optionsLoading') : optionsState === 'failed' ? t('form.optionsFailed') : '');
  el.hidden = optionsState === 'ready';
}

function fillSelect(sel, first, values, label = (v) => v) {
  const sig = JSON.stringify([first, values]);
  if (sel.dataset.sig === sig) return;
  sel.dataset.sig = sig;
  const cur = sel.value;
  sel.replaceChildren(h('option', { value: '' }, first), ...values.map((v) => h('option', { value: v }, label(v))));
  sel.value = values.includes(cur) ? cur : '';
}

function renderOptions() {
  renderOptionsStatus();
  const places = options ? options.places.filter((p) => p && typeof p.kecamatan === 'string') : [];
  fillSelect($('#kecamatan'), t('form.pickKecamatan'), places.map((p) => p.kecamatan));
  renderKelurahan();
  fillSelect($('#topic'), t('form.pickTopic'), options ? options.topics.filter((x) => typeof x === 'string') : [], capital);
}

function renderKelurahan() {
  const sel = $('#kelurahan');
  const kec = $('#kecamatan').value;
  const p = options && options.places.find((x) => x && x.kecamatan === kec);
  const list = p && Array.isArray(p.kelurahan) ? p.kelurahan.filter((x) => typeof x === 'string') : [];
  fillSelect(sel, t('form.pickKelurahan'), list);
  sel.disabled = !kec || list.length === 0;
}

// ---- the form -----------------------------------------------------------------------
const channel = () => ($('input[name=channel]:checked') || {}).value || 'phone';

function renderCount() {
  const n = textLength($('#question-text').value);
  const el = $('#char-count');
  setText(el, t('form.count', { n, max: MAX }));
  el.setAttribute('aria-label', t('form.countLabel', { n, max: MAX }));
  el.classList.toggle('over', n > MAX);
  const ta = $('#question-text');
  if (n > MAX) ta.setAttribute('aria-invalid', 'true'); else ta.removeAttribute('aria-invalid');
}

function sessionClosed() {
  const s = client && client.view.session;
  return !!(s && s.status === 'closed');
}

/** The per-caller fields of the form (the channel and station stay). */
function callerFields() {
  return {
    name: $('#caller-name').value,
    contact: $('#caller-contact').value,
    kecamatan: $('#kecamatan').value,
    kelurahan: $('#kelurahan').value,
    topic: $('#topic').value,
    text: $('#question-text').value,
  };
}
function setCallerFields(f) {
  $('#caller-name').value = f.name || '';
  $('#caller-contact').value = f.contact || '';
  $('#kecamatan').value = f.kecamatan || '';
  renderKelurahan();
  $('#kelurahan').value = f.kelurahan || '';
  $('#topic').value = f.topic || '';
  $('#question-text').value = f.text || '';
  renderCount();
}

function onEnter(e) {
  if (e) e.preventDefault();
  if (!client) return;
  const ta = $('#question-text');
  const n = textLength(ta.value);
  if (n < 1) { setStatus(() => t('enter.empty'), 'bad'); ta.focus(); return; }
  if (n > MAX) { setStatus(() => t('enter.tooLong', { max: MAX }), 'bad'); ta.focus(); return; }
  if (sessionClosed()) { setStatus(() => t('session.closed'), 'bad'); return; }
  const typed = callerFields();
  const cmd = { type: 'enter', ref: newRef(), text: typed.text.trim(), channel: channel() };
  const station = $('#station').value;
  if (station && stations.includes(station)) cmd.station = station;
  const name = typed.name.trim().slice(0, NAME_MAX);
  if (name) cmd.name = name;
  const contact = typed.contact.trim();
  if (contact) cmd.contact = contact;
  if (typed.kecamatan) {
    cmd.place = { kecamatan: typed.kecamatan };
    if (typed.kelurahan) cmd.place.kelurahan = typed.kelurahan;
  }
  if (typed.topic) cmd.topic = typed.topic;

  markField(null);
  lastTracking = '';
  const online = client.ready;
  waiting.add(cmd.ref);
  const p = client.submit(cmd);
  setCallerFields({});
  setStatus(() => t(online ? 'enter.sending' : 'enter.queued'), online ? '' : 'warn');
  // ready for the next caller; the page stays where it is (on a phone the tracking code comes
  // right under the send button)
  $('#caller-name').focus({ preventScroll: true });
  p.then((ok) => {
    waiting.delete(cmd.ref);
    const tr = (ok && typeof ok.tracking === 'string' && ok.tracking) || (ok && ok.question && ok.question.tracking) || '';
    lastTracking = typeof tr === 'string' ? tr : '';
    setStatus(() => t('enter.sent'), 'ok');
    announce(lastTracking ? `${t('enter.sent')} ${t('tracking.forCaller')}: ${lastTracking}` : t('enter.sent'));
    schedule();
  }, (err) => {
    waiting.delete(cmd.ref);
    // Nothing typed is lost: what was refused goes back into the form when it is still empty.
    const now = callerFields();
    if (!now.text.trim() && !now.name && !now.contact) setCallerFields(typed);
    const field = refusedField(err);
    markField(field);
    setStatus(() => t('enter.failed', { why: errorText(err) }), 'bad');
    if (field) $(FIELD_INPUT[field]).focus();
    schedule();
  });
  schedule();
}

/** Enter in a one-line field moves on to the next field (it never sends); Ctrl+Enter sends
 *  from anywhere in the form. */
function onFormKey(e) {
  if (e.key !== 'Enter' || e.isComposing) return;
  if (e.ctrlKey || e.metaKey) { onEnter(e); return; }
  const el = e.target;
  if (el.tagName !== 'INPUT') return;
  e.preventDefault();
  const fields = $$('input:not([type=radio]), input[type=radio]:checked, select, textarea', $('#desk-form'))
    .filter((x) => !x.disabled && x.getClientRects().length);
  const i = fields.indexOf(el);
  if (i >= 0 && fields[i + 1]) fields[i + 1].focus();
}

// ---- rendering -------------------------------------------------------------------
let queued = false;
function schedule() {
  if (queued) return;
  queued = true;
  queueMicrotask(() => { queued = false; render(); });
}

function onChange(ev) {
  if (ev && ev.type === 'outbox' && ev.ref) {
    if (ev.retrying && ev.error) {
      setStatus(() => t(ev.error.code === 'rate_limited' ? 'enter.retryRate' : 'enter.retryLater'), 'warn');
    } else if (!waiting.has(ev.ref) && ev.reply) {
      // kept from an earlier page load and sent now
      if (ev.ok) setStatus(() => t('enter.sentLater'), 'ok');
      else if (ev.reply.code !== 'discarded') setStatus(() => t('enter.failed', { why: errorText(ev.reply) }), 'bad');
    }
  }
  schedule();
}

function render() {
  if (!client) return;
  const s = client.view.session;
  if (s) {
    setText($('#session-title'), s.title);
    document.title = `${s.title} · ${t('title')} · Tanya`;
    const st = $('#session-status');
    st.hidden = s.status === 'open';
    st.dataset.status = s.status;
    st.classList.toggle('bad', s.status === 'closed');
    setText(st, s.status === 'paused' ? t('session.paused') : s.status === 'closed' ? t('session.closed') : '');
  } else if (client.noEpisode) {
    const st = $('#session-status');
    st.hidden = false;
    st.dataset.status = 'none';
    st.classList.remove('bad');
    setText($('#session-title'), '');
    setText(st, t('session.noEpisode'));
  }
  $('#enter-btn').disabled = sessionClosed();
  renderLastTracking();

  const entries = client.questions().sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  const unsent = client.outbox.filter((e) => e.cmd && e.cmd.type === 'enter')
    .map((e) => ({ outbox: true, ref: e.ref, cmd: e.cmd, at: e.at })).reverse();
  const items = [...unsent, ...entries];
  syncList($('#entries'), items, (x) => (x.outbox ? `ref:${x.ref}` : x.id), createEntry, updateEntry);
  $('#entries-empty').hidden = items.length > 0;
  setText($('#entries-count'), items.length ? t('entries.count', { n: items.length }) : '');
  for (const q of entries) {
    const before = lastStatus.get(q.id);
    if (before && before !== q.status) {
      const short = q.text.length > 40 ? `${q.text.slice(0, 40)}…` : q.text;
      announce(t('entries.changed', { text: short, status: t(`status.${q.status}`) }));
    }
    lastStatus.set(q.id, q.status);
  }
}

function trackUrl(code) {
  const s = client && client.view.session;
  let origin = location.origin;
  try { if (s && s.join && s.join.url) origin = new URL(s.join.url).origin; } catch { /* keep ours */ }
  return `${origin}/lacak/${code}`;
}

function renderLastTracking() {
  const box = $('#last-tracking');
  box.hidden = !lastTracking;
  if (!lastTracking) return;
  setText($('#last-tracking-code'), lastTracking);
  const btn = $('#last-tracking-copy');
  btn.dataset.code = lastTracking;
  if (!btn.dataset.copied) setText(btn, t('tracking.copy'));
  btn.setAttribute('aria-label', t('tracking.copyLabel', { code: lastTracking }));
  setText($('#last-tracking-hint'), t('tracking.readBack', { url: trackUrl(lastTracking) }));
}

function createEntry() {
  return h('li', { class: 'entry' },
    h('div', { class: 'entry-head' },
      h('span', { class: 'status badge', dataset: { field: 'status' } }),
      h('span', { class: 'via', dataset: { field: 'via' } }),
      h('span', { class: 'time', dataset: { field: 'time' } })),
    h('p', { class: 'text entry-text', dataset: { field: 'text' } }),
    h('p', { class: 'who', dataset: { field: 'name' } }),
    h('p', { class: 'reason', dataset: { field: 'reason' }, hidden: true }),
    h('p', { class: 'edited hint', dataset: { field: 'edited' }, hidden: true }),
    h('p', { class: 'tracking-line', dataset: { field: 'tracking-box' }, hidden: true },
      h('span', { class: 'tracking-label' }),
      h('span', { class: 'tracking-code', dataset: { field: 'tracking' } }),
      h('button', { type: 'button', class: 'copy-btn', dataset: { act: 'copy-tracking' }, onclick: (e) => onCopy(e.currentTarget) })));
}

function viaLine(station, ch) {
  const parts = [];
  if (station) parts.push(station);
  if (ch) parts.push(hasKey(`channel.${ch}`) ? t(`channel.${ch}`) : ch);
  return parts.join(' · ');
}

function updateEntry(li, x) {
  if (x.outbox) {
    // not confirmed yet: its text and where it came from, never the caller's number
    li.dataset.ref = x.ref;
    delete li.dataset.qid;
    li.dataset.status = client.sentOn.has(x.ref) ? 'sending' : 'queued';
    setText($('[data-field=status]', li), t(`status.${li.dataset.status}`));
    setText($('[data-field=via]', li), viaLine(x.cmd.station, x.cmd.channel));
    setText($('[data-field=time]', li), x.at ? clockTime(new Date(x.at).toISOString(), locale()) : '');
    setText($('[data-field=text]', li), x.cmd.text);
    setText($('[data-field=name]', li), x.cmd.name || t('entries.anon'));
    $('[data-field=reason]', li).hidden = true;
    $('[data-field=edited]', li).hidden = true;
    $('[data-field=tracking-box]', li).hidden = true;
    return;
  }
  const q = x;
  li.dataset.qid = q.id;
  delete li.dataset.ref;
  li.dataset.status = q.status;
  setText($('[data-field=status]', li), hasKey(`status.${q.status}`) ? t(`status.${q.status}`) : q.status);
  setText($('[data-field=via]', li), viaLine(q.station, q.channel));
  setText($('[data-field=time]', li), clockTime(q.created_at, locale()));
  setText($('[data-field=text]', li), q.text);
  setText($('[data-field=name]', li), q.name || t('entries.anon'));
  const reason = $('[data-field=reason]', li);
  reason.hidden = !(q.status === 'rejected' && q.reason);
  setText(reason, q.reason ? t('entries.reason', { reason: q.reason }) : '');
  const edited = $('[data-field=edited]', li);
  edited.hidden = !q.edited;
  setText(edited, t('entries.edited'));
  const code = typeof q.tracking === 'string' ? q.tracking : '';
  const box = $('[data-field=tracking-box]', li);
  box.hidden = !code;
  setText($('.tracking-label', li), `${t('tracking.forCaller')}:`);
  setText($('[data-field=tracking]', li), code);
  const btn = $('[data-act=copy-tracking]', li);
  btn.dataset.code = code;
  if (!btn.dataset.copied) setText(btn, t('tracking.copy'));
  btn.setAttribute('aria-label', t('tracking.copyLabel', { code }));
}

async function onCopy(btn) {
  const code = btn.dataset.code || '';
  if (!code) return;
  const ok = await copyText(code);
  if (!ok) { showNotice(() => t('tracking.copyFailed', { code })); return; }
  btn.dataset.copied = '1';
  setText(btn, t('tracking.copied'));
  announce(t('tracking.copied'));
  setTimeout(() => { delete btn.dataset.copied; setText(btn, t('tracking.copy')); }, 2000);
}

// ---- language -------------------------------------------------------------------
function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  document.title = t('title') + ' · Tanya';
  if (client) renderConn(client.state);
  renderStations();
  renderCount();
  renderStatus();
  renderNotice();
  // the lists' first lines are in the page's language
  for (const sel of ['#kecamatan', '#kelurahan', '#topic']) $(sel).dataset.sig = '';
  renderOptions();
  const fatal = $('#fatal');
  if (!fatal.hidden && fatal.dataset.reason) setText($('#fatal-text'), t(fatal.dataset.reason));
  schedule();
}

// ---- boot -----------------------------------------------------------------------
function boot() {
  $('.lang').hidden = false; // hidden in the HTML: without a script the switch would do nothing
  for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
  setLang(i18n.lang);
  if (!client) { showFatal('fatal.nokey'); return; }
  $('#app').hidden = false;
  const form = $('#desk-form');
  form.addEventListener('submit', onEnter);
  form.addEventListener('keydown', onFormKey);
  $('#question-text').addEventListener('input', () => { renderCount(); if (statusMsg && statusMsg.kind === 'bad') setStatus(null); });
  $('#station').addEventListener('change', onStation);
  $('#kecamatan').addEventListener('change', renderKelurahan);
  for (const sel of Object.values(FIELD_INPUT)) {
    $(sel).addEventListener('input', () => { if (badField && FIELD_INPUT[badField] === sel) markField(null); });
  }
  $('#last-tracking-copy').addEventListener('click', (e) => onCopy(e.currentTarget));
  renderCount();
  renderStations();
  loadOptions();
  client.on('state', renderConn);
  client.on('welcome', onWelcome);
  client.on('change', onChange);
  client.on('fatal', onFatal);
  client.on('error', (err) => showNotice(() => errorText(err)));
  client.start();
  window.tanya = { client, i18n };
}

boot();
