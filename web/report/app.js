// Session report /r/{session}#k=KEY (the session's moderator key, or the admin token kept in this
// tab's sessionStorage `tanya:admin-token`), from GET /api/sessions/{id}/report: one printable A4
// page for the mayor: the counts, peak devices per role, SVG bar charts (channel, source, status,
// topic, place, on air vs forwarded vs left), cases per agency with the median days to
// resolution, and the earlier sessions beside this one. Times in the report's `time_zone`.
import { h, $, $$, setText, hashParams, pathId } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import { barChart, PALETTE } from '../shared/chart.js';
import { startText } from '../shared/time.js';
import STRINGS from './strings.js';

const i18n = makeI18n(STRINGS);
const t = i18n.t;

const TOKEN_KEY = 'tanya:admin-token';
const COUNTS = ['received', 'answered_on_air', 'forwarded', 'left', 'resolved', 'declined', 'overdue'];
const ROLES = ['audience', 'press', 'moderator', 'screen', 'overlay'];
const AGENCY_COLS = ['forwarded', 'open', 'resolved', 'declined', 'overdue'];
const EARLIER_COLS = ['received', 'answered_on_air', 'forwarded', 'left', 'resolved', 'declined'];
/** A chart shows at most this many bars; the rest are summed as "Lainnya". */
const MAX_BARS = 8;
const TIMEOUT_MS = 20000;

const sessionRef = pathId('/r/').trim();

function keyOf() {
  const k = hashParams().get('k');
  if (k) return k;
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

const locale = () => (i18n.lang === 'en' ? 'en-GB' : 'id-ID');
const num = (n) => new Intl.NumberFormat(locale()).format(Number(n) || 0);

let report = null;
let fatal = null; // {key, vars, retry}

/** Intl.DateTimeFormat in the report's time zone (the browser's own when the zone is unknown). */
function dtf(opts) {
  const tz = report && report.time_zone;
  try { return new Intl.DateTimeFormat(locale(), tz ? { ...opts, timeZone: tz } : opts); } catch { return new Intl.DateTimeFormat(locale(), opts); }
}

function whenLong(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return dtf({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(d);
}

function dateShort(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dtf({ day: 'numeric', month: 'short', year: 'numeric' }).format(d);
}

function days(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return t('noMedian');
  const v = Number(n);
  return t('days', { n: new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(v), one: v === 1 });
}

function capital(s) {
  const v = String(s || '');
  return v ? v[0].toLocaleUpperCase(locale()) + v.slice(1) : '';
}

/** A label from a string table when it has one, else the key as written (topics, places). */
function label(prefix, key, fallback) {
  if (key === '' || key === null || key === undefined || key === 'null' || key === 'none') return t(`${prefix}.none`);
  const k = `${prefix}.${key}`;
  const s = t(k);
  return s === k ? (fallback ? fallback(key) : String(key)) : s;
}

/** Object of counts → rows, largest first (ties by label), the tail summed into "Lainnya (n)". */
function rows(obj, name, { sort = true } = {}) {
  let list = Object.entries(obj || {}).map(([k, v]) => [name(k), Number(v) || 0]).filter(([, v]) => v > 0);
  if (sort) list.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], locale()));
  if (list.length > MAX_BARS) {
    const rest = list.slice(MAX_BARS - 1);
    list = list.slice(0, MAX_BARS - 1).concat([[t('chart.others', { n: rest.length }), rest.reduce((s, [, v]) => s + v, 0)]]);
  }
  return list;
}

/** Where `k` stands in a fixed order (unknown keys last). */
function rank(order, k) {
  const i = order.indexOf(k);
  return i < 0 ? order.length : i;
}

function chartFigure(id, title, data, colors) {
  const svg = barChart({ title, data, unit: t('chart.unit'), colors, empty: t('chart.empty'), locale: locale(), width: 220, barHeight: 12, gap: 4 });
  return h('figure', { class: 'chart-box', dataset: { chart: id } }, h('figcaption', {}, title), svg);
}

function renderCharts(r) {
  const c = r.counts || {};
  const outcome = ['answered_on_air', 'forwarded', 'left'].map((k) => [t(`outcome.${k}`), Number(c[k]) || 0]);
  const statusOrder = ['pending', 'approved', 'live', 'answered', 'rejected', 'withdrawn', 'merged'];
  const byStatus = Object.entries(r.by_status || {}).filter(([, v]) => Number(v) > 0)
    .sort(([a], [b]) => rank(statusOrder, a) - rank(statusOrder, b))
    .map(([k, v]) => [label('qstatus', k, capital), Number(v)]);
  const sourceOrder = ['audience', 'press', 'operator'];
  const bySource = Object.entries(r.by_source || {}).filter(([, v]) => Number(v) > 0)
    .sort(([a], [b]) => rank(sourceOrder, a) - rank(sourceOrder, b))
    .map(([k, v]) => [label('source', k, capital), Number(v)]);
  $('#charts').replaceChildren(
    chartFigure('outcome', t('chart.outcome'), outcome, ['#0f766e', '#6b3fa0', '#c2410c']),
    chartFigure('channel', t('chart.channel'), rows(r.by_channel, (k) => label('channel', k, capital)), PALETTE[0]),
    chartFigure('source', t('chart.source'), bySource, PALETTE[0]),
    chartFigure('status', t('chart.status'), byStatus, PALETTE[0]),
    chartFigure('topic', t('chart.topic'), rows(r.by_topic, (k) => label('topic', k, capital)), PALETTE[0]),
    chartFigure('place', t('chart.place'), rows(r.by_place, (k) => label('place', k)), PALETTE[0]),
  );
}

function renderAgencies(list) {
  $('#agencies-empty').hidden = list.length > 0;
  $('#agencies-table').hidden = list.length === 0;
  $('#agencies-table tbody').replaceChildren(...list.map((a) => h('tr', { dataset: { agency: a.id || '' } },
    h('th', { attrs: { scope: 'row' }, dataset: { col: 'agency' } }, a.short && a.name && a.short !== a.name ? `${a.name} (${a.short})` : (a.name || a.short || '')),
    ...AGENCY_COLS.map((k) => h('td', { class: `num${k === 'overdue' && Number(a.overdue) > 0 ? ' late' : ''}`, dataset: { col: k } }, num(a[k]))),
    h('td', { class: 'num', dataset: { col: 'median_days' } }, days(a.median_days)))));
}

function earlierRow(s, current) {
  const c = s.counts || {};
  return h('tr', { class: current ? 'current' : null, dataset: { session: s.id || '' } },
    h('th', { attrs: { scope: 'row' }, dataset: { col: 'title' } }, current ? `${t('earlier.this')}: ${s.title || ''}` : (s.title || s.code || '')),
    h('td', { dataset: { col: 'date' } }, dateShort(s.created_at)),
    ...EARLIER_COLS.map((k) => h('td', { class: 'num', dataset: { col: k } }, c[k] === undefined ? '–' : num(c[k]))),
    h('td', { class: 'num', dataset: { col: 'peak' } }, s.peak && s.peak.audience !== undefined ? num(s.peak.audience) : '–'));
}

function renderEarlier(r) {
  const list = Array.isArray(r.earlier) ? r.earlier : [];
  $('#earlier-empty').hidden = list.length > 0;
  const me = { ...(r.session || {}), counts: r.counts || {}, peak: r.peak || {} };
  $('#earlier-table tbody').replaceChildren(earlierRow(me, true), ...list.map((s) => earlierRow(s, false)));
}

function render() {
  const main = $('#report');
  $('#loading').hidden = !!report || !!fatal;
  $('#fatal').hidden = !fatal;
  if (fatal) {
    setText($('#fatal-text'), t(fatal.key, fatal.vars));
    $('#retry-btn').hidden = !fatal.retry;
  }
  $('#content').hidden = !report || !!fatal;
  $('#print-btn').disabled = !report || !!fatal;
  main.dataset.state = fatal ? 'error' : report ? 'ready' : 'loading';
  if (!report || fatal) return;
  const r = report;
  const s = r.session || {};
  setText($('#report-title'), s.title || '');
  setText($('#report-when'), t('held', { when: whenLong(s.created_at) }));
  setText($('#report-code'), s.code ? `· ${s.code}` : '');
  // the session's planned start (`starts_at`), in Jakarta time (WIB) like the phone and /admin
  const start = startText(s.starts_at, i18n.lang);
  $('#report-start').hidden = !start;
  setText($('#report-start'), start ? t('startsAt', { when: start }) : '');
  if (s.starts_at) $('#report-start').dataset.startsAt = s.starts_at; else delete $('#report-start').dataset.startsAt;
  const speakers = (Array.isArray(s.speakers) ? s.speakers : []).map((sp) => (sp.role ? `${sp.name} (${sp.role})` : sp.name)).filter(Boolean);
  $('#report-speakers').hidden = speakers.length === 0;
  setText($('#report-speakers'), speakers.length ? t('speakers', { list: speakers.join(', ') }) : '');
  const c = r.counts || {};
  for (const k of COUNTS) setText($(`#counts [data-count="${k}"] .value`), num(c[k]));
  $('#peak').replaceChildren(...ROLES.map((role) => h('li', { dataset: { role } },
    h('span', { class: 'label' }, t(`peak.${role}`)), ' ', h('strong', { class: 'value' }, num(r.peak && r.peak[role])))));
  renderCharts(r);
  renderAgencies(Array.isArray(r.agencies) ? r.agencies : []);
  renderEarlier(r);
  setText($('#report-generated'), t('generated', { when: whenLong(r.generated_at || new Date().toISOString()) }));
  document.title = `${s.title || t('pageTitle')} · ${t('pageTitle')}`;
  fitPage();
}

/** The printable height of an A4 page with 12 mm margins, in CSS pixels. */
const PAGE_MM = { width: 210 - 24, height: 297 - 24 };
const MM = 96 / 25.4;

/** Measures the sheet as it prints (on screen it has the printed width and sizes) and sets the
 *  zoom `--fit` that makes it fit one A4 page: the largest step of 0.02 that fits. A narrow
 *  window cannot measure: it keeps the last value (1 at first). */
function fitPage() {
  const content = $('#content');
  if (content.hidden) return;
  // (print layout itself, or a narrow window, has another width: nothing to measure then)
  if (Math.abs(content.getBoundingClientRect().width - PAGE_MM.width * MM) > 2) return;
  const root = document.documentElement;
  root.style.setProperty('--fit', '1');
  const room = PAGE_MM.height * MM - 4; // a little slack for rounding between screen and paper
  let fit = 1;
  while (content.getBoundingClientRect().height > room && fit > 0.6) {
    fit = Math.round((fit - 0.02) * 100) / 100;
    root.style.setProperty('--fit', String(fit));
  }
  $('#report').dataset.fit = String(fit);
}

async function load() {
  fatal = null;
  report = null;
  render();
  if (!sessionRef) { fatal = { key: 'fatal.noSession' }; render(); return; }
  const key = keyOf();
  if (!key) { fatal = { key: 'fatal.noKey' }; render(); return; }
  const ctrl = new AbortController();
  const abort = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(`/api/sessions/${encodeURIComponent(sessionRef)}/report`, {
      cache: 'no-store', headers: { Accept: 'application/json', Authorization: `Bearer ${key}` }, signal: ctrl.signal,
    });
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    if (res.ok && body && body.counts) report = body;
    else if (res.status === 401 || res.status === 403) fatal = { key: 'fatal.badKey' };
    else if (res.status === 404) fatal = { key: 'fatal.notFound' };
    else if (res.status === 429) {
      const ms = Number(body && body.error && body.error.retry_after_ms) || Number(body && body.retry_after_ms) || Number(res.headers.get('Retry-After')) * 1000 || 60000;
      fatal = { key: 'fatal.limited', vars: { n: Math.ceil(ms / 1000) }, retry: true };
    } else fatal = { key: 'fatal.server', retry: true };
  } catch {
    fatal = { key: 'fatal.network', retry: true };
  } finally {
    clearTimeout(abort);
  }
  render();
}

function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  if (!report) document.title = `Tanya · ${t('pageTitle')}`;
  render();
}

for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
i18n.apply();
for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
document.title = `Tanya · ${t('pageTitle')}`;
$('#print-btn').addEventListener('click', () => window.print());
$('#retry-btn').addEventListener('click', load);
window.addEventListener('hashchange', load);
window.addEventListener('beforeprint', fitPage);
load();
