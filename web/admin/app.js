// Admin page /admin: token (sessionStorage), create a session, list sessions with links.
import { h, $, $$, setText, copyText, isLoopbackUrl } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import STRINGS from './strings.js';

const i18n = makeI18n(STRINGS);
const t = i18n.t;

const TOKEN_KEY = 'tanya:admin-token';
const getToken = () => { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; } };
const setToken = (v) => { try { if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ } };

/** An HTTP status without a JSON error body, as the code the contract gives that status. */
const STATUS_CODES = { 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'invalid', 413: 'invalid', 429: 'rate_limited', 500: 'internal', 503: 'unavailable' };

/** Every code has its own words in both languages; the server's English `message` is only
 *  shown in English, and only where it explains (`invalid` names the field). */
function errorText(err) {
  const code = STATUS_CODES[err.code] || err.code || 'internal';
  const message = err.message || '';
  return STRINGS.id[`err.${code}`] ? t(`err.${code}`, { message }) : t('err.generic', { code, message });
}

function showError(err) {
  const el = $('#admin-error');
  if (!err) { el.hidden = true; return; }
  el.hidden = false;
  setText(el, errorText(err));
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${getToken()}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  } catch {
    throw { code: 'network', message: '' };
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw (data && data.error) || { code: String(res.status), message: res.statusText };
  return data;
}

// ---- speakers form -----------------------------------------------------------
let rowSeq = 0;
function addSpeakerRow(name = '', role = '') {
  if ($$('.speaker-row').length >= 20) return;
  const n = ++rowSeq;
  const row = h('div', { class: 'speaker-row' },
    h('div', {}, h('label', { attrs: { for: `sp-name-${n}` }, dataset: { i18n: 'speaker.name' } }, t('speaker.name')),
      h('input', { id: `sp-name-${n}`, name: 'speaker-name', maxLength: 100, value: name })),
    h('div', {}, h('label', { attrs: { for: `sp-role-${n}` }, dataset: { i18n: 'speaker.role' } }, t('speaker.role')),
      h('input', { id: `sp-role-${n}`, name: 'speaker-role', maxLength: 100, value: role })),
    h('button', { type: 'button', class: 'danger', dataset: { act: 'remove-speaker', i18n: 'speaker.remove' }, onclick: () => row.remove() }, t('speaker.remove')));
  $('#speaker-rows').appendChild(row);
  return row;
}

async function onCreate(e) {
  e.preventDefault();
  showError(null);
  const title = $('#new-title').value.trim();
  if (!title) { setText($('#create-status'), t('create.needTitle')); $('#new-title').focus(); return; }
  const speakers = [];
  for (const row of $$('.speaker-row')) {
    const name = $('[name=speaker-name]', row).value.trim();
    const role = $('[name=speaker-role]', row).value.trim();
    if (!name && !role) continue;
    if (!name || !role) { setText($('#create-status'), t('create.needSpeaker')); return; }
    speakers.push({ name, role });
  }
  $('#create-btn').disabled = true;
  try {
    const res = await api('POST', '/api/sessions', { title, speakers });
    setText($('#create-status'), t('create.done', { code: res.code || (res.session && res.session.code) }));
    $('#new-title').value = '';
    $('#speaker-rows').replaceChildren();
    await refresh();
  } catch (err) {
    showError(err);
    setText($('#create-status'), '');
  } finally {
    $('#create-btn').disabled = false;
  }
}

// ---- list --------------------------------------------------------------------
function linkRow(kind, url, sessionId) {
  const id = `l-${Math.random().toString(36).slice(2)}`;
  const input = h('input', { id, readOnly: true, value: url, dataset: { link: kind }, onfocus: () => input.select() });
  const copyBtn = h('button', { type: 'button', dataset: { copy: kind } }, t('link.copy'));
  copyBtn.addEventListener('click', async () => {
    const ok = await copyText(url);
    if (!ok) input.select();
    setText(copyBtn, ok ? t('link.copied') : t('link.copy'));
    setTimeout(() => setText(copyBtn, t('link.copy')), 1500);
  });
  return [
    h('span', {}, h('label', { attrs: { for: id } }, t(`link.${kind}`))),
    input,
    copyBtn,
    h('a', { href: url, target: '_blank', rel: 'noopener' }, t('link.open')),
    kind === 'audience' ? h('span', {}) : h('button', {
      type: 'button', class: 'subtle', dataset: { rotate: kind },
      onclick: () => rotate(sessionId, kind),
    }, t('link.rotate')),
  ];
}

/** A new key for one role of a session: the old link stops working at once. */
async function rotate(sessionId, kind) {
  if (!window.confirm(t('link.rotateConfirm', { role: t(`link.${kind}`) }))) return;
  try {
    await api('POST', `/api/sessions/${encodeURIComponent(sessionId)}/keys/${kind}`);
    await refresh();
  } catch (err) {
    showError(err);
  }
}

function renderSessions(list) {
  renderPublicWarning(list);
  const ul = $('#sessions');
  $('#sessions-empty').hidden = list.length > 0;
  ul.replaceChildren(...list.map((item) => {
    const s = item.session || item;
    const links = item.links || {};
    return h('li', { class: 'session', dataset: { sessionId: s.id, code: s.code } },
      h('h3', {}, s.title),
      h('p', { class: 'meta' }, h('span', { class: 'code' }, s.code), ` · ${t(`status.${s.status}`)}`,
        (s.speakers || []).length ? ` · ${(s.speakers || []).map((sp) => `${sp.name} (${sp.role})`).join(', ')}` : ''),
      h('div', { class: 'links' }, ...['audience', 'press', 'moderator', 'screen', 'overlay'].filter((k) => links[k]).flatMap((k) => linkRow(k, links[k], s.id))));
  }));
}

async function refresh() {
  if (!getToken()) { renderSessions([]); return; }
  try {
    const data = await api('GET', '/api/sessions');
    showError(null);
    renderSessions((data && data.sessions) || []);
  } catch (err) {
    showError(err);
  }
}

// ---- the public address ------------------------------------------------------------
/** Every session's links start with the hub's public address: a warning when it is loopback. */
function renderPublicWarning(list) {
  const link = list.map((item) => (item.links || {}).audience).find(Boolean) || '';
  const el = $('#public-warning');
  const on = isLoopbackUrl(link);
  el.hidden = !on;
  setText(el, on ? t('public.warning', { address: new URL(link).origin }) : '');
}

// ---- boot --------------------------------------------------------------------
function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  refresh();
}

for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
i18n.apply();
for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
$('#admin-token').value = getToken();
$('#token-form').addEventListener('submit', (e) => { e.preventDefault(); setToken($('#admin-token').value.trim()); refresh(); });
$('#token-forget').addEventListener('click', () => { setToken(''); $('#admin-token').value = ''; renderSessions([]); showError(null); });
$('#add-speaker').addEventListener('click', () => { const row = addSpeakerRow(); if (row) $('input', row).focus(); });
$('#create-form').addEventListener('submit', onCreate);
$('#refresh-btn').addEventListener('click', refresh);
refresh();
