// The agency's inbox /a/{agency}#k=KEY: the cases the office forwarded to this agency, across
// sessions. Plain HTTP (GET /api/agency/{id}/cases, POST /api/agency/{id}/cases/{question}):
// the page refreshes every 60 s and when it gets the focus back, and nobody needs to keep it open.
import { pageKey, store } from '../shared/client.js';
import { h, $, $$, setText, syncList, pathId, textLength } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import STRINGS from './strings.js';
import { contactNodes, fmtDate, fmtDateTime, placeText, statusText, historyItems, byUrgency, isOpen } from './case-view.js';

const i18n = makeI18n(STRINGS);
const t = i18n.t;

const agencyId = pathId('/a/');
const key = pageKey('k');
const NAME_KEY = 'agency-name';       // localStorage tanya:agency-name
const REFRESH_MS = 60000;

/** What each action needs typed, and its limit (docs/followup.md, "The case lifecycle"). */
const FORMS = {
  resolve: { field: 'answer', max: 2000, required: true, label: 'form.answer', hint: 'form.answerHint', send: 'form.sendResolve' },
  decline: { field: 'reason', max: 500, required: true, label: 'form.reason', hint: 'form.reasonHint', send: 'form.sendDecline' },
  return: { field: 'note', max: 500, required: false, label: 'form.note', hint: 'form.noteHint', send: 'form.sendReturn' },
};
/** The actions an agency may take in each status. */
const ALLOWED = {
  forwarded: ['acknowledge', 'resolve', 'decline', 'return'],
  in_progress: ['resolve', 'decline', 'return'],
};
const ACTIONS = ['acknowledge', 'resolve', 'decline', 'return'];
const STATUS_CODES = { 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 429: 'rate_limited', 500: 'internal', 503: 'unavailable' };

const state = {
  agency: null,
  cases: [],
  filter: 'open',
  fatal: false,
  loading: null,
  loadedAt: null,
  forms: new Map(),   // question id → open action (resolve | decline | return)
  busy: new Set(),    // question ids with a request under way
};

// ---- the officer's name ------------------------------------------------------------
const officerName = () => (store.get(NAME_KEY) || '').trim();

function renderOfficer() {
  const name = officerName();
  $('#officer-form').hidden = !!name;
  $('#officer-bar').hidden = !name;
  setText($('#officer-current'), name ? t('officer.current', { name }) : '');
  $('#officer').classList.toggle('asking', !name);
}

function askOfficer(message) {
  $('#officer-form').hidden = false;
  $('#officer-bar').hidden = true;
  $('#officer').classList.add('asking');
  setText($('#officer-error'), message || '');
  $('#officer-name').setAttribute('aria-invalid', message ? 'true' : 'false');
  $('#officer-name').focus();
}

function saveOfficer(e) {
  e.preventDefault();
  const name = $('#officer-name').value.trim();
  if (textLength(name) < 1 || textLength(name) > 60) { askOfficer(t('officer.invalid')); return; }
  store.set(NAME_KEY, name);
  setText($('#officer-error'), '');
  $('#officer-name').setAttribute('aria-invalid', 'false');
  renderOfficer();
}

// ---- HTTP ------------------------------------------------------------------------------
async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  } catch {
    throw { code: 'network', message: '' };
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const e = (data && data.error && typeof data.error === 'object') ? data.error : (data || {});
    const code = (typeof e.error === 'string' && e.error) || (typeof e.code === 'string' && e.code) || STATUS_CODES[res.status] || String(res.status);
    throw { code, message: e.message || '', field: e.field || null, status: res.status };
  }
  return data;
}

const errText = (err, vars = {}) => {
  const k = `err.${err.code}`;
  return STRINGS.id[k] ? t(k, vars) : t('err.generic', { code: err.code || err.status || '?' });
};

let noticeTimer = null;
function notice(text, kind = 'bad') {
  const el = $('#notice');
  clearTimeout(noticeTimer);
  if (!text) { el.hidden = true; return; }
  el.className = `notice ${kind}`;
  el.setAttribute('role', kind === 'bad' ? 'alert' : 'status');
  setText(el, text);
  el.hidden = false;
  if (kind !== 'bad') noticeTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

function fatal(kind) {
  state.fatal = true;
  clearInterval(timer);
  const el = $('#fatal');
  setText(el, t(`fatal.${kind}`));
  el.dataset.kind = kind;
  el.hidden = false;
  $('#inbox').hidden = true;
  $('#officer').hidden = true;
}

// ---- loading -------------------------------------------------------------------------
async function load() {
  if (state.fatal) return;
  if (state.loading) return state.loading;
  state.loading = (async () => {
    $('#inbox').setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', `/api/agency/${encodeURIComponent(agencyId)}/cases`);
      state.agency = data.agency || state.agency;
      state.cases = Array.isArray(data.cases) ? data.cases : [];
      state.loadedAt = new Date();
      if ($('#notice').dataset.load === '1') notice('');
      render();
    } catch (err) {
      if (err.code === 'unauthorized' || err.code === 'forbidden') fatal('key');
      else if (err.code === 'not_found') fatal('notfound');
      else { notice(errText(err)); $('#notice').dataset.load = '1'; }
    } finally {
      $('#inbox').removeAttribute('aria-busy');
      state.loading = null;
    }
  })();
  return state.loading;
}

// ---- rendering -------------------------------------------------------------------------
function shown() {
  const f = state.filter;
  return state.cases.filter((c) => (f === 'all' ? true : f === 'open' ? isOpen(c) : !isOpen(c))).sort(byUrgency);
}

function render() {
  const a = state.agency;
  setText($('#agency-name'), a ? `${a.name}${a.short ? ` (${a.short})` : ''}` : '');
  document.title = `Tanya · ${a ? (a.short || a.name) : t('title')}`;
  for (const b of $$('[data-filter]')) b.setAttribute('aria-pressed', b.dataset.filter === state.filter ? 'true' : 'false');
  const open = state.cases.filter(isOpen);
  setText($('#counts'), t('count.open', { n: open.length, late: open.filter((c) => c.overdue).length }));
  setText($('#updated-at'), state.loadedAt ? t('updated', { time: state.loadedAt.toLocaleTimeString(i18n.lang === 'en' ? 'en-GB' : 'id-ID', { hour: '2-digit', minute: '2-digit' }) }) : t('loading'));
  const list = shown();
  const empty = $('#cases-empty');
  empty.hidden = list.length > 0 || !state.loadedAt;
  setText(empty, t(`empty.${state.filter}`));
  syncList($('#cases'), list, (c) => c.question, createCard, updateCard);
}

const field = (name, tag = 'span', cls = '') => h(tag, { class: cls, dataset: { field: name } });

function createCard(c) {
  const id = c.question;
  const li = h('li', { class: 'case', dataset: { question: id } });
  const acts = h('div', { class: 'actions row' }, ...ACTIONS.map((a) => h('button', {
    type: 'button', class: a === 'resolve' ? 'primary' : a === 'decline' ? 'danger' : '',
    dataset: { act: a, i18n: `act.${a}` }, onclick: () => onAction(id, a),
  }, t(`act.${a}`))));
  const input = h('textarea', { id: `in-${id}`, dataset: { field: 'input' }, rows: 4, attrs: { 'aria-describedby': `hint-${id} error-${id}` } });
  const count = h('span', { class: 'hint count', dataset: { field: 'count' } });
  input.addEventListener('input', () => { updateCount(li); clearFieldError(li); });
  const form = h('form', { class: 'act-form', hidden: true, noValidate: true, dataset: { form: '' } },
    h('label', { attrs: { for: `in-${id}` }, dataset: { field: 'input-label' } }),
    input,
    h('div', { class: 'row between' }, h('span', { id: `hint-${id}`, class: 'hint', dataset: { field: 'input-hint' } }), count),
    h('p', { id: `error-${id}`, class: 'field-error', role: 'alert', dataset: { field: 'error' } }),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary', dataset: { act: 'submit' } }),
      h('button', { type: 'button', dataset: { act: 'cancel', i18n: 'act.cancel' }, onclick: () => closeForm(id) }, t('act.cancel'))));
  form.addEventListener('submit', (e) => { e.preventDefault(); onSubmit(id); });

  li.append(
    h('div', { class: 'case-head' },
      field('tracking', 'span', 'tracking'),
      field('overdue', 'span', 'badge late'),
      field('status', 'span', 'badge status'),
      field('due', 'span', 'due')),
    h('p', { class: 'text', dataset: { field: 'text' } }),
    h('dl', { class: 'facts' },
      h('dt', { dataset: { label: 'session' } }), field('session', 'dd'),
      h('dt', { dataset: { label: 'asked' } }), field('asked', 'dd'),
      h('dt', { dataset: { label: 'place' } }), field('place', 'dd'),
      h('dt', { dataset: { label: 'topic' } }), field('topic', 'dd'),
      h('dt', { dataset: { label: 'citizen' } }), field('name', 'dd'),
      h('dt', { dataset: { label: 'contact' } }), field('contact', 'dd', 'contact-cell')),
    h('div', { class: 'boxed note', dataset: { box: 'note' } }, h('strong', { dataset: { label: 'note' } }), field('note', 'p', 'text')),
    h('div', { class: 'boxed answer', dataset: { box: 'answer' } }, h('strong', { dataset: { label: 'answer' } }), field('answer', 'p', 'text')),
    h('div', { class: 'boxed reason', dataset: { box: 'reason' } }, h('strong', { dataset: { label: 'reason' } }), field('reason', 'p', 'text')),
    h('details', { class: 'history' }, h('summary', { dataset: { field: 'history-summary' } }), h('ol', { dataset: { field: 'history' } })),
    acts,
    form,
    h('p', { class: 'card-notice', role: 'status', dataset: { field: 'card-notice' } }));
  return li;
}

const LABELS = { session: 'case.session', asked: 'case.askedAt', place: 'case.place', topic: 'case.topic', citizen: 'case.citizen', contact: 'case.contact', note: 'case.note', answer: 'case.answer', reason: 'case.reason' };

function updateCard(li, c) {
  const lang = i18n.lang;
  li.dataset.status = c.status;
  li.dataset.overdue = c.overdue ? 'true' : 'false';
  li.dataset.tracking = c.tracking || '';
  li.classList.toggle('is-late', !!c.overdue);
  li.classList.toggle('is-done', !isOpen(c));
  for (const dt of $$('[data-label]', li)) {
    const k = dt.dataset.label;
    setText(dt, t(LABELS[k]));
  }
  const f = (n) => $(`[data-field="${n}"]`, li);
  setText(f('tracking'), c.tracking || '');
  setText(f('overdue'), c.overdue ? t('case.overdue') : '');
  f('overdue').hidden = !c.overdue;
  setText(f('status'), statusText(t, c.status));
  f('status').dataset.status = c.status;
  setText(f('due'), c.due ? t('case.due', { date: fmtDate(c.due, lang) }) : t('case.noDue'));
  setText(f('text'), c.text || '');
  setText(f('session'), (c.session && c.session.title) || '');
  setText(f('asked'), fmtDateTime(c.created_at, lang));
  setText(f('place'), placeText(c.place) || '–');
  setText(f('topic'), c.topic || '–');
  setText(f('name'), c.name || t('case.noName'));
  const contactKey = `${c.contact || ''}|${c.channel || ''}|${lang}`;
  const cc = f('contact');
  if (cc.dataset.key !== contactKey) {
    cc.dataset.key = contactKey;
    const channel = c.channel ? t(`case.channel.${c.channel}`) : '';
    const extra = c.channel && channel !== `case.channel.${c.channel}` ? [h('span', { class: 'hint channel' }, ` ${channel}`)] : [];
    cc.replaceChildren(...contactNodes(c.contact, t), ...extra);
  }
  for (const [box, value] of [['note', c.note], ['answer', c.answer], ['reason', c.reason]]) {
    $(`[data-box="${box}"]`, li).hidden = !value;
    setText(f(box), value || '');
  }
  const hist = c.history || [];
  setText(f('history-summary'), `${t('case.history')} (${hist.length})`);
  const histKey = `${hist.length}|${hist.length ? hist[hist.length - 1].at : ''}|${lang}`;
  if (f('history').dataset.key !== histKey) {
    f('history').dataset.key = histKey;
    const ownName = (id) => (state.agency && id === state.agency.id ? (state.agency.short || state.agency.name) : id);
    f('history').replaceChildren(...historyItems(hist, { t, lang, agencyLabel: ownName }));
  }
  const allowed = ALLOWED[c.status] || [];
  const busy = state.busy.has(c.question);
  for (const b of $$('.actions [data-act]', li)) {
    b.hidden = !allowed.includes(b.dataset.act);
    b.disabled = busy;
  }
  $('.actions', li).hidden = allowed.length === 0;
  const open = state.forms.get(c.question);
  const form = $('.act-form', li);
  form.hidden = !open;
  if (open) {
    const spec = FORMS[open];
    form.dataset.form = open;
    setText(f('input-label'), t(spec.label));
    setText(f('input-hint'), t(spec.hint));
    setText($('[data-act=submit]', form), t(spec.send));
    f('input').dataset.name = spec.field;
    f('input').required = spec.required;
    $('[data-act=submit]', form).disabled = busy;
    updateCount(li);
  }
}

function updateCount(li) {
  const open = state.forms.get(li.dataset.question);
  if (!open) return;
  const n = textLength($('[data-field=input]', li).value);
  const el = $('[data-field=count]', li);
  setText(el, t('form.count', { n, max: FORMS[open].max }));
  el.classList.toggle('over', n > FORMS[open].max);
}

// ---- actions ----------------------------------------------------------------------------
const cardOf = (id) => document.querySelector(`#cases li[data-question="${CSS.escape(id)}"]`);
const caseOf = (id) => state.cases.find((c) => c.question === id);

function clearFieldError(li) {
  setText($('[data-field=error]', li), '');
  $('[data-field=input]', li).removeAttribute('aria-invalid');
}

function showFieldError(li, text, server) {
  const el = $('[data-field=error]', li);
  el.replaceChildren(text, server ? h('span', { class: 'server-message', attrs: { lang: 'en' } }, ` ${t('field.server', { message: server })}`) : '');
  $('[data-field=input]', li).setAttribute('aria-invalid', 'true');
}

function cardNotice(id, text) {
  const li = cardOf(id);
  if (li) setText($('[data-field=card-notice]', li), text || '');
}

function onAction(id, action) {
  const c = caseOf(id);
  if (!c) return;
  cardNotice(id, '');
  if (!officerName()) { askOfficer(t('officer.needed')); return; }
  if (action === 'acknowledge') { send(id, 'acknowledge', {}); return; }
  const li = cardOf(id);
  const was = state.forms.get(id);
  state.forms.set(id, action);
  if (was !== action) { $('[data-field=input]', li).value = ''; clearFieldError(li); }
  updateCard(li, c);
  $('[data-field=input]', li).focus();
}

function closeForm(id) {
  state.forms.delete(id);
  const li = cardOf(id);
  const c = caseOf(id);
  if (li && c) { clearFieldError(li); $('[data-field=input]', li).value = ''; updateCard(li, c); }
}

function onSubmit(id) {
  const action = state.forms.get(id);
  const li = cardOf(id);
  if (!action || !li) return;
  const spec = FORMS[action];
  const value = $('[data-field=input]', li).value.trim();
  if (spec.required && !value) {
    showFieldError(li, t(`field.${spec.field}`));
    $('[data-field=input]', li).focus();
    return;
  }
  if (!officerName()) { askOfficer(t('officer.needed')); return; }
  send(id, action, value ? { [spec.field]: value } : {});
}

/** Which field an `invalid` answer is about: the hub names it (in `field` or its message). */
function invalidField(err, action) {
  if (err.field) return err.field;
  const m = String(err.message || '').toLowerCase();
  for (const name of ['answer', 'reason', 'note', 'by']) if (new RegExp(`\\b${name}\\b`).test(m)) return name;
  return FORMS[action] ? FORMS[action].field : null;
}

async function send(id, action, fields) {
  const c = caseOf(id);
  if (!c || state.busy.has(id)) return;
  state.busy.add(id);
  const li = cardOf(id);
  if (li) updateCard(li, c);
  const code = c.tracking || '';
  try {
    const res = await api('POST', `/api/agency/${encodeURIComponent(agencyId)}/cases/${encodeURIComponent(id)}`, { action, by: officerName(), ...fields });
    state.forms.delete(id);
    const i = state.cases.findIndex((x) => x.question === id);
    if (res && res.case) {
      if (res.case.agency && state.agency && res.case.agency.id && res.case.agency.id !== state.agency.id) state.cases.splice(i, 1);
      else if (action === 'return') state.cases.splice(i, 1);
      else if (i >= 0) state.cases[i] = res.case;
    }
    const el = cardOf(id);
    if (el) { $('[data-field=input]', el).value = ''; clearFieldError(el); }
    notice(t(`done.${action}`, { code }), 'ok');
    state.busy.delete(id);
    render();
    load();
  } catch (err) {
    state.busy.delete(id);
    const el = cardOf(id);
    if (err.code === 'unauthorized') { fatal('key'); return; }
    if (err.code === 'invalid') {
      const name = invalidField(err, action);
      if (name === 'by') askOfficer(`${t('field.by')}${err.message ? ` (${err.message})` : ''}`);
      else if (el && state.forms.get(id)) showFieldError(el, t(`field.${name}`) === `field.${name}` ? t('field.generic') : t(`field.${name}`), err.message);
      else notice(`${t('err.invalid')}${err.message ? ` (${err.message})` : ''}`);
    } else if (err.code === 'conflict' || err.code === 'not_found') {
      notice(errText(err, { code }));
      cardNotice(id, errText(err, { code }));
      await load();
      const again = cardOf(id);
      if (again) setText($('[data-field=card-notice]', again), errText(err, { code }));
    } else {
      notice(errText(err, { code }));
    }
    if (el && caseOf(id)) updateCard(el, caseOf(id));
  }
}

// ---- boot --------------------------------------------------------------------------------
function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  renderOfficer();
  if (state.fatal) setText($('#fatal'), t(`fatal.${$('#fatal').dataset.kind}`));
  else render();
}

let timer = null;
let lastFocusLoad = 0;
function refreshSoon() {
  if (state.fatal || document.visibilityState === 'hidden') return;
  if (Date.now() - lastFocusLoad < 5000) return;
  lastFocusLoad = Date.now();
  load();
}

for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
for (const b of $$('[data-filter]')) b.addEventListener('click', () => { state.filter = b.dataset.filter; render(); });
$('#officer-form').addEventListener('submit', saveOfficer);
$('#officer-change').addEventListener('click', () => { $('#officer-name').value = officerName(); askOfficer(''); });
$('#refresh-btn').addEventListener('click', () => { lastFocusLoad = Date.now(); load(); });
i18n.apply();
for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
$('#officer-name').value = officerName();
renderOfficer();

window.tanya = { state, load };

if (!agencyId) fatal('notfound');
else if (!key) fatal('noKey');
else {
  render();
  load();
  timer = setInterval(() => { if (document.visibilityState !== 'hidden') load(); }, REFRESH_MS);
  window.addEventListener('focus', refreshSoon);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') refreshSoon(); });
  window.addEventListener('online', () => load());
}
