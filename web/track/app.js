// Tracking page /lacak and /lacak/{code}: the citizen types the tracking code they got after
// asking (forgiving: lower case, spaces, dots and dashes) and sees their case from
// GET /api/track/{code}: the question (personal data masked by the hub), when it was asked, the
// programme, the case status in plain words, the agency, the due date, the answer or the reason,
// and the history. No name and no contact ever: the API gives none.
import { h, $, $$, setText } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import STRINGS from './strings.js';

const i18n = makeI18n(STRINGS);
const t = i18n.t;

/** The symbols of a tracking code (no 0/O, 1/I/L, S, Z, B). */
const ALPHABET = '23456789ACDEFGHJKMNPQRTUVWXY';
const CODE_RE = new RegExp(`^[${ALPHABET}]{9}$`);
/** Letters a code never has, read as the digit they look like. */
const LOOKALIKE = { S: '5', Z: '2', B: '8' };
/** A lookup on a weak mobile connection: give up (and offer "try again") after this long. */
const TIMEOUT_MS = 15000;

/** "k7q m3x.r9t" → "K7QM3XR9T": upper case, separators out, look-alike letters as digits. */
export function normalizeCode(raw) {
  return String(raw || '').toUpperCase().replace(/[\s.\-_–—/]+/g, '').replace(/[SZB]/g, (c) => LOOKALIKE[c]);
}

/** "K7QM3XR9T" → "K7Q-M3X-R9T" (other strings unchanged). */
export function formatCode(code) {
  return CODE_RE.test(code) ? `${code.slice(0, 3)}-${code.slice(3, 6)}-${code.slice(6)}` : code;
}

const locale = () => (i18n.lang === 'en' ? 'en-GB' : 'id-ID');

function dateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'long', timeStyle: 'short' }).format(d);
}

/** A calendar date "2026-12-20" as "20 Desember 2026" (no time zone shift). */
function dayDate(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(ymd || ''));
  if (!m) return String(ymd || '');
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'long', timeZone: 'UTC' }).format(d);
}

function agencyName(a) {
  if (!a) return '';
  const name = a.name || a.short || '';
  return a.short && a.short !== a.name ? `${name} (${a.short})` : name;
}

function capital(s) {
  const v = String(s || '');
  return v ? v[0].toLocaleUpperCase(locale()) + v.slice(1) : '';
}

function placeText(p) {
  if (!p || !p.kecamatan) return '';
  return p.kelurahan ? `${p.kelurahan}, ${p.kecamatan}` : p.kecamatan;
}

// ---- state ---------------------------------------------------------------------------------
let last = null;          // {kind: 'case'|'error', ...} what is shown, redrawn on a language switch
let lastCode = '';        // the normalized code of the last lookup (for "try again")
let countdown = null;     // the 429 timer
let inflight = null;      // AbortController of the lookup under way

function setState(state) {
  const r = $('#result');
  r.dataset.state = state;
  r.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  $('#loading').hidden = state !== 'loading';
}

function statusText(c) {
  const s = c && c.status;
  if (s === 'forwarded') return c.agency ? t('status.forwarded', { agency: c.agency.name || c.agency.short }) : t('status.forwardedNone');
  if (['received', 'in_progress', 'resolved', 'declined', 'reopened'].includes(s)) return t(`status.${s}`);
  return t('status.unknown');
}

function historyWhat(e) {
  const agency = e.agency ? (e.agency.name || e.agency.short) : '';
  switch (e.action) {
    case 'forward': return agency ? t('history.forward', { agency }) : t('history.forwardNone');
    case 'acknowledge': return agency ? t('history.acknowledgeBy', { agency }) : t('history.acknowledge');
    case 'resolve': return t('history.resolve');
    case 'decline': return t('history.decline');
    case 'return': return t('history.return');
    case 'reopen': return t('history.reopen');
    case 'erase': return t('history.erase');
    default: return t('history.other');
  }
}

// ---- drawing -------------------------------------------------------------------------------
function showMessage(text, { retry = false } = {}) {
  setText($('#sr-status'), '');
  $('#case').hidden = true;
  $('#message').hidden = false;
  setText($('#message-text'), text);
  $('#retry-btn').hidden = !retry;
}

function drawError() {
  const e = last;
  if (e.error === 'invalid') showMessage(t('error.invalid'));
  else if (e.error === 'not_found') showMessage(t('error.notFound', { code: formatCode(e.code) }));
  else if (e.error === 'rate_limited') {
    const left = Math.max(0, Math.ceil((e.until - Date.now()) / 1000));
    showMessage(left > 0 ? t('error.limited', { n: left }) : t('error.limitedDone'), { retry: left === 0 });
  } else if (e.error === 'network') showMessage(t('error.network'), { retry: true });
  else showMessage(t('error.server'), { retry: true });
}

function drawCase() {
  const data = last.data;
  const c = data.case || {};
  const q = data.question || {};
  const s = data.session || {};
  $('#message').hidden = true;
  $('#case').hidden = false;
  const code = data.tracking || formatCode(lastCode);
  setText($('#case-code'), code);
  const st = $('#case-status');
  st.dataset.status = c.status || '';
  setText(st, statusText(c));
  const open = c.status === 'forwarded' || c.status === 'in_progress';
  const late = !!c.overdue;
  $('#case').classList.toggle('is-late', late);
  $('#case-overdue').hidden = !late;
  setText($('#case-overdue'), late ? t('case.overdue') : '');

  setText($('#case-agency'), c.agency ? agencyName(c.agency) : t('case.noAgency'));
  const showDue = !!c.due && (open || late);
  $('#case-due-label').hidden = !showDue;
  const due = $('#case-due');
  due.hidden = !showDue;
  due.replaceChildren(dayDate(c.due), ...(late ? [' ', h('span', { class: 'badge late', dataset: { field: 'overdue' } }, t('overdue'))] : []));
  setText($('#case-asked'), dateTime(q.created_at));
  setText($('#case-session'), s.title || '');
  const topic = capital(q.topic);
  $('#case-topic-label').hidden = !topic;
  $('#case-topic').hidden = !topic;
  setText($('#case-topic'), topic);
  const place = placeText(q.place);
  $('#case-place-label').hidden = !place;
  $('#case-place').hidden = !place;
  setText($('#case-place'), place);

  const answer = c.status === 'resolved' && c.answer ? c.answer : '';
  $('#case-answer-box').hidden = !answer;
  setText($('#case-answer'), answer);
  const reason = c.status === 'declined' && c.reason ? c.reason : '';
  $('#case-reason-box').hidden = !reason;
  setText($('#case-reason'), reason);

  setText($('#case-question'), q.text || '');
  $('#case-on-air').hidden = q.status !== 'answered';
  setText($('#case-on-air'), q.status === 'answered' ? t('case.onAir.answered') : '');

  const items = [{ action: 'asked', at: q.created_at, text: null }]
    .concat((Array.isArray(c.history) ? c.history : []).filter((e) => e && e.action !== 'publish'));
  $('#case-history').replaceChildren(...items.map((e) => h('li', { dataset: { action: e.action || '', status: e.status || '' } },
    h('time', { class: 'when', attrs: { datetime: e.at || '' } }, dateTime(e.at)),
    h('span', { class: 'what' }, e.action === 'asked' ? t('history.asked') : historyWhat(e)),
    e.text ? h('span', { class: 'h-text text' }, e.text) : null)));
  document.title = `${code} · ${t('pageTitle')}`;
  setText($('#sr-status'), `${t('case.code')} ${code}: ${statusText(c)}`);
}

function draw() {
  if (!last) { $('#message').hidden = true; $('#case').hidden = true; return; }
  if (last.kind === 'case') drawCase(); else drawError();
}

// ---- lookup --------------------------------------------------------------------------------
/** Keeps the address at /lacak/{CODE} so a reload or a shared link shows the same case. */
function keepAddress(code) {
  const path = `/lacak/${encodeURIComponent(formatCode(code))}`;
  if (location.pathname !== path) history.replaceState(null, '', `${path}${location.search}`);
}

function startCountdown(until) {
  clearInterval(countdown);
  $('#track-btn').disabled = true;
  countdown = setInterval(() => {
    if (Date.now() >= until) {
      clearInterval(countdown);
      countdown = null;
      $('#track-btn').disabled = false;
    }
    if (last && last.error === 'rate_limited') drawError();
  }, 1000);
}

/** `reveal`: bring the result into view (a phone's keyboard and the form take the screen). */
async function lookup(code, { reveal = false } = {}) {
  lastCode = code;
  if (inflight) inflight.abort();
  const ctrl = new AbortController();
  inflight = ctrl;
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  setState('loading');
  $('#message').hidden = true;
  let res = null;
  let body = null;
  try {
    res = await fetch(`/api/track/${encodeURIComponent(code)}`, { cache: 'no-store', headers: { Accept: 'application/json' }, signal: ctrl.signal });
    try { body = await res.json(); } catch { body = null; }
  } catch {
    res = null;
  } finally {
    clearTimeout(timer);
  }
  if (inflight !== ctrl) return; // a newer lookup took over
  inflight = null;
  if (!res) {
    last = { kind: 'error', error: 'network', code };
    setState('offline');
  } else if (res.ok && body && body.case) {
    last = { kind: 'case', data: body };
    setState('ready');
    keepAddress(code);
  } else if (res.status === 400) {
    last = { kind: 'error', error: 'invalid', code };
    setState('invalid');
  } else if (res.status === 404) {
    last = { kind: 'error', error: 'not_found', code };
    setState('notfound');
    keepAddress(code);
  } else if (res.status === 429) {
    const ms = Number(body && body.error && body.error.retry_after_ms) || Number(body && body.retry_after_ms)
      || (Number(res.headers.get('Retry-After')) * 1000) || 60000;
    const until = Date.now() + ms;
    last = { kind: 'error', error: 'rate_limited', code, until };
    setState('limited');
    startCountdown(until);
  } else {
    last = { kind: 'error', error: 'server', code };
    setState('error');
  }
  draw();
  if (reveal) {
    const target = last.kind === 'case' ? $('#case') : $('#message');
    if (target.getBoundingClientRect().top > window.innerHeight * 0.6) target.scrollIntoView({ block: 'start' });
  }
}

function onSubmit(e) {
  e.preventDefault();
  const raw = $('#track-code').value;
  const code = normalizeCode(raw);
  const err = $('#track-error');
  const input = $('#track-code');
  let problem = '';
  if (!code) problem = 'form.empty';
  else if (/[0O1IL]/.test(code)) problem = 'form.badChars';
  else if (!CODE_RE.test(code)) problem = 'form.bad';
  err.dataset.problem = problem;
  setText(err, problem ? t(problem) : '');
  input.setAttribute('aria-invalid', problem ? 'true' : 'false');
  if (problem) { input.focus(); return; }
  input.value = formatCode(code);
  lookup(code, { reveal: true });
}

// ---- boot ----------------------------------------------------------------------------------
function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  document.title = `Tanya · ${t('pageTitle')}`;
  const err = $('#track-error');
  setText(err, err.dataset.problem ? t(err.dataset.problem) : '');
  draw();
}

for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
i18n.apply();
for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
document.title = `Tanya · ${t('pageTitle')}`;
$('#track-form').addEventListener('submit', onSubmit);
$('#track-code').addEventListener('input', () => {
  const err = $('#track-error');
  err.dataset.problem = '';
  setText(err, '');
  $('#track-code').removeAttribute('aria-invalid');
});
$('#retry-btn').addEventListener('click', () => { if (lastCode) lookup(lastCode); });

const fromPath = location.pathname.startsWith('/lacak/') ? decodeURIComponent(location.pathname.slice('/lacak/'.length).split('/')[0] || '') : '';
if (fromPath) {
  const code = normalizeCode(fromPath);
  $('#track-code').value = formatCode(code);
  lookup(code || fromPath);
} else {
  $('#track-code').focus();
}
window.tanya = { normalizeCode, formatCode, lookup };
