// Public follow-up board /tindak-lanjut, from GET /api/board (no key): the totals, a table per
// agency (with the median days to resolution), a table per programme (newest first) and the
// cases the office marked public (text masked by the hub, never a name or a contact).
import { h, $, $$, setText } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import STRINGS from './strings.js';

const i18n = makeI18n(STRINGS);
const t = i18n.t;

const COUNTS = ['received', 'answered_on_air', 'forwarded', 'resolved', 'declined', 'overdue'];
const AGENCY_COLS = ['forwarded', 'open', 'resolved', 'declined', 'overdue'];
const SESSION_COLS = ['received', 'answered_on_air', 'forwarded', 'resolved', 'declined', 'overdue'];
/** The board reloads itself this often while the tab is visible. */
const REFRESH_MS = 120000;
const TIMEOUT_MS = 20000;

const locale = () => (i18n.lang === 'en' ? 'en-GB' : 'id-ID');
const num = (n) => new Intl.NumberFormat(locale()).format(Number(n) || 0);

function dateOnly(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(d);
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

function statusText(c) {
  const s = c && c.status;
  if (s === 'forwarded') return c.agency ? t('status.forwarded', { agency: c.agency.short || c.agency.name }) : t('status.forwardedNone');
  if (['received', 'in_progress', 'resolved', 'declined', 'reopened'].includes(s)) return t(`status.${s}`);
  return t('status.unknown');
}

let data = null;
let loadedAt = null;
let timer = null;
let problem = null; // {key, vars} of the last failed load

function cell(col, label, value, cls) {
  return h('td', { class: cls, dataset: { col, label } }, value);
}

function renderTotals(total) {
  for (const k of COUNTS) setText($(`#totals [data-count="${k}"] .value`), num(total && total[k]));
  $('#totals [data-count="overdue"]').classList.toggle('is-late', Number(total && total.overdue) > 0);
}

function renderAgencies(list) {
  $('#agencies-empty').hidden = list.length > 0;
  $('#agencies-table').hidden = list.length === 0;
  $('#agencies-table tbody').replaceChildren(...list.map((a) => h('tr', { dataset: { agency: a.id || '' }, class: Number(a.overdue) > 0 ? 'is-late' : null },
    h('th', { attrs: { scope: 'row' }, dataset: { col: 'agency' } },
      h('span', { class: 'short' }, a.short || a.name || ''),
      a.name && a.name !== a.short ? h('span', { class: 'name' }, a.name) : null),
    ...AGENCY_COLS.map((k) => cell(k, t(`col.${k}`), num(a[k]), 'num')),
    cell('median_days', t('col.median'), days(a.median_days), 'num'))));
}

function renderSessions(list) {
  $('#sessions-empty').hidden = list.length > 0;
  $('#sessions-table').hidden = list.length === 0;
  $('#sessions-table tbody').replaceChildren(...list.map((s) => {
    const c = s.counts || {};
    return h('tr', { dataset: { session: s.id || '', code: s.code || '' } },
      h('th', { attrs: { scope: 'row' }, dataset: { col: 'title' } }, s.title || s.code || ''),
      cell('date', t('col.date'), dateOnly(s.created_at)),
      ...SESSION_COLS.map((k) => cell(k, t(`col.${k}`), num(c[k]), 'num')));
  }));
}

function fact(label, value, field) {
  return value ? [h('dt', {}, label), h('dd', { dataset: { field } }, value)] : [];
}

function renderPublic(list) {
  $('#public-empty').hidden = list.length > 0;
  $('#public-cases').replaceChildren(...list.map((c) => {
    const place = c.place && c.place.kecamatan ? (c.place.kelurahan ? `${c.place.kelurahan}, ${c.place.kecamatan}` : c.place.kecamatan) : '';
    const agency = c.agency ? (c.agency.short && c.agency.name && c.agency.short !== c.agency.name ? `${c.agency.name} (${c.agency.short})` : (c.agency.name || c.agency.short)) : t('public.noAgency');
    return h('li', { class: `case${c.status === 'resolved' ? ' is-done' : ''}`, dataset: { tracking: c.tracking || '', status: c.status || '' } },
      h('div', { class: 'case-head' },
        h('a', { class: 'tracking', href: `/lacak/${encodeURIComponent(c.tracking || '')}`, attrs: { 'aria-label': `${t('public.code')} ${c.tracking || ''}` } }, c.tracking || ''),
        h('span', { class: 'badge status', dataset: { field: 'status', status: c.status || '' } }, statusText(c))),
      h('p', { class: 'text', dataset: { field: 'text' } }, c.text || ''),
      h('dl', { class: 'facts' },
        ...fact(t('public.agency'), agency, 'agency'),
        ...fact(t('public.session'), c.session ? c.session.title : '', 'session'),
        ...fact(t('public.asked'), dateOnly(c.created_at), 'asked'),
        ...fact(t('public.topic'), capital(c.topic), 'topic'),
        ...fact(t('public.place'), place, 'place')),
      c.answer ? h('div', { class: 'answer' }, h('h3', {}, t('public.answer')), h('p', { class: 'text', dataset: { field: 'answer' } }, c.answer)) : null);
  }));
}

function render() {
  const board = $('#board');
  $('#loading').hidden = !!data || !!problem;
  if (problem) {
    $('#notice').hidden = false;
    setText($('#notice-text'), t(problem.key, problem.vars) + (data ? ` ${t('error.stale')}` : ''));
  } else {
    $('#notice').hidden = true;
  }
  setText($('#updated-at'), loadedAt ? t('updated', { when: new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(loadedAt) }) : '');
  for (const id of ['#totals-section', '#agencies-section', '#sessions-section', '#public-section']) $(id).hidden = !data;
  if (!data) { board.dataset.state = problem ? 'error' : 'loading'; return; }
  board.dataset.state = problem ? 'stale' : 'ready';
  renderTotals(data.total || {});
  renderAgencies(Array.isArray(data.agencies) ? data.agencies : []);
  renderSessions(Array.isArray(data.sessions) ? data.sessions : []);
  renderPublic(Array.isArray(data.public_cases) ? data.public_cases : []);
}

async function load() {
  clearTimeout(timer);
  $('#refresh-btn').disabled = true;
  const ctrl = new AbortController();
  const abort = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    const res = await fetch('/api/board', { cache: 'no-store', headers: { Accept: 'application/json' }, signal: ctrl.signal });
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    if (res.ok && body && body.total) {
      data = body;
      loadedAt = new Date();
      problem = null;
    } else if (res.status === 429) {
      const ms = Number(body && body.error && body.error.retry_after_ms) || Number(body && body.retry_after_ms) || Number(res.headers.get('Retry-After')) * 1000 || 60000;
      problem = { key: 'error.limited', vars: { n: Math.ceil(ms / 1000) } };
    } else {
      problem = { key: 'error.server' };
    }
  } catch {
    problem = { key: 'error.network' };
  } finally {
    clearTimeout(abort);
    $('#refresh-btn').disabled = false;
  }
  render();
  timer = setTimeout(() => { if (document.visibilityState === 'visible') load(); else timer = null; }, REFRESH_MS);
}

function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  document.title = `Tanya · ${t('pageTitle')}`;
  render();
}

for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
i18n.apply();
for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
document.title = `Tanya · ${t('pageTitle')}`;
$('#refresh-btn').addEventListener('click', load);
$('#retry-btn').addEventListener('click', load);
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible' && timer === null) load(); });
load();
