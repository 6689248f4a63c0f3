// Admin page /admin: token (sessionStorage), create a session, list sessions with links, their
// export and report; programmes with their links and episodes; agencies (OPD) with their links;
// follow-up cases across sessions; purge.
import { h, $, $$, setText, copyText, isLoopbackUrl, syncList, textLength } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import { startText, startInput, startValue } from '../shared/time.js';
import { store } from '../shared/client.js';
import STRINGS from './strings.js';
import { contactNodes, fmtDate, fmtDateTime, daysFromToday, placeText, statusText, historyItems, isOpen } from '../agency/case-view.js';

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
function linkRow(kind, url, sessionId, { label = t(`link.${kind}`), data = { link: kind }, open = true, rotateLabel = t('link.rotate'), onRotate = null } = {}) {
  const id = `l-${Math.random().toString(36).slice(2)}`;
  const input = h('input', { id, readOnly: true, value: url, dataset: data, onfocus: () => input.select() });
  const copyBtn = h('button', { type: 'button', dataset: { copy: data.link || (data.key && `${data.key}-key`) || kind } }, t('link.copy'));
  copyBtn.addEventListener('click', async () => {
    const ok = await copyText(url);
    if (!ok) input.select();
    setText(copyBtn, ok ? t('link.copied') : t('link.copy'));
    setTimeout(() => setText(copyBtn, t('link.copy')), 1500);
  });
  return [
    h('span', {}, h('label', { attrs: { for: id } }, label)),
    input,
    copyBtn,
    open ? h('a', { href: url, target: '_blank', rel: 'noopener' }, t('link.open')) : h('span', {}),
    !kind || kind === 'audience' ? h('span', {}) : h('button', {
      type: 'button', class: 'subtle', dataset: { rotate: kind },
      onclick: () => (onRotate ? onRotate(kind) : rotate(sessionId, kind)),
    }, rotateLabel),
  ];
}

/** The radio desk's link, and what an SMS/WhatsApp gateway needs: the intake address and its
 *  password (`keys.intake`), each with copy; new desk link, new gateway password. */
function intakeRows(item, s) {
  const links = item.links || {};
  const keys = item.keys || {};
  const rows = [];
  if (links.desk) rows.push(...linkRow('desk', links.desk, s.id));
  if (links.intake) rows.push(...linkRow(null, links.intake, s.id, { label: t('link.intake'), data: { link: 'intake' }, open: false }));
  if (keys.intake) rows.push(...linkRow('intake', keys.intake, s.id, { label: t('link.intakeKey'), data: { key: 'intake' }, open: false, rotateLabel: t('link.intakeRotate') }));
  return rows;
}

/** A new key for one role of a session: the old link stops working at once. */
async function rotate(sessionId, kind) {
  if (!window.confirm(kind === 'intake' ? t('link.intakeConfirm') : t('link.rotateConfirm', { role: t(`link.${kind}`) }))) return;
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
    const when = startText(s.starts_at, i18n.lang);
    const li = h('li', { class: 'session', dataset: { sessionId: s.id, code: s.code } },
      h('h3', {}, s.title),
      h('p', { class: 'meta' }, h('span', { class: 'code' }, s.code), ` · ${t(`status.${s.status}`)}`,
        when ? h('span', { class: 'starts-at', dataset: { field: 'starts-at', startsAt: s.starts_at } }, ` · ${t('start.label', { when })}`) : '',
        (s.speakers || []).length ? ` · ${(s.speakers || []).map((sp) => `${sp.name} (${sp.role})`).join(', ')}` : ''),
      h('div', { class: 'links' }, ...['audience', 'press', 'moderator', 'screen', 'overlay'].filter((k) => links[k]).flatMap((k) => linkRow(k, links[k], s.id)),
        ...intakeRows(item, s)),
      (links.intake || (item.keys || {}).intake) ? h('p', { class: 'hint intake-hint' }, t('link.intakeHint')) : '',
      sessionTools(s, links));
    const open = editForms.get(s.id);
    if (open) li.append(open);
    return li;
  }));
  for (const id of [...editForms.keys()]) if (!list.some((item) => (item.session || item).id === id)) editForms.delete(id);
  renderSessionFilter(list.map((item) => item.session || item));
}

async function refresh() {
  if (!getToken()) { renderSessions([]); renderProgrammes([]); clearFollowup(); return; }
  try {
    const data = await api('GET', '/api/sessions');
    showError(null);
    renderSessions((data && data.sessions) || []);
  } catch (err) {
    showError(err);
    if (err.code === 'unauthorized') { clearFollowup(); renderProgrammes([]); }
    return;
  }
  await refreshProgrammes();
  await refreshFollowup();
}

// ---- programmes: links that follow the current episode, episodes, next date, join code ------
const prog = { list: [] };
const SLUG_RE = /^[a-z0-9][a-z0-9-]{1,39}$/;
const JOIN_RE = /^[A-Z0-9]{4,16}$/;
const PROG_ROLES = ['press', 'moderator', 'screen', 'overlay', 'desk'];

function progNotice(text, kind = 'ok') {
  const el = $('#prog-notice');
  el.hidden = !text;
  el.className = `notice ${kind}`;
  setText(el, text || '');
}

async function refreshProgrammes() {
  try {
    const data = await api('GET', '/api/programmes');
    renderProgrammes((data && data.programmes) || []);
  } catch (err) {
    if (err.code === 'unauthorized') { renderProgrammes([]); return; }
    progNotice(errorText(err), 'bad');
  }
}

function renderProgrammes(list) {
  prog.list = list;
  $('#programmes-empty').hidden = list.length > 0;
  // forms being filled in keep what was typed across a reload of the list
  const typed = new Map();
  for (const inp of $$('#programme-list input[name]')) {
    const li = inp.closest('li[data-programme]');
    if (li && (inp.type === 'checkbox' ? inp.checked : inp.value) && inp.dataset.dirty) typed.set(`${li.dataset.programme} ${inp.name}`, inp.type === 'checkbox' ? inp.checked : inp.value);
  }
  $('#programme-list').replaceChildren(...list.map(programmeItem));
  for (const [k, v] of typed) {
    const [slug, name] = k.split(' ');
    const inp = document.querySelector(`#programme-list li[data-programme="${CSS.escape(slug)}"] input[name="${CSS.escape(name)}"]`);
    if (inp) { if (inp.type === 'checkbox') inp.checked = v; else inp.value = v; inp.dataset.dirty = '1'; }
  }
}

function programmeItem(p) {
  const links = p.links || {};
  const keys = p.keys || {};
  const episodes = Array.isArray(p.episodes) ? p.episodes : [];
  const cur = episodes.find((e) => e.id === p.current) || null;
  const next = startText(p.next_at, i18n.lang);
  const onRotate = (kind) => rotateProgramme(p, kind);
  const rows = [];
  if (links.audience) rows.push(...linkRow('audience', links.audience, null));
  for (const k of PROG_ROLES) if (links[k]) rows.push(...linkRow(k, links[k], null, { onRotate }));
  if (links.intake) rows.push(...linkRow(null, links.intake, null, { label: t('link.intake'), data: { link: 'intake' }, open: false }));
  if (keys.intake) rows.push(...linkRow('intake', keys.intake, null, { label: t('link.intakeKey'), data: { key: 'intake' }, open: false, rotateLabel: t('link.intakeRotate'), onRotate }));
  if (links.live_json) rows.push(...linkRow(null, links.live_json, null, { label: t('link.live_json'), data: { link: 'live_json' }, open: false }));
  const status = h('p', { class: 'hint', role: 'status', dataset: { field: 'prog-status' } });
  const error = h('p', { class: 'field-error', role: 'alert', dataset: { field: 'prog-error' } });
  const li = h('li', { class: 'session programme', dataset: { programme: p.slug, programmeId: p.id || '' } },
    h('h3', {}, h('span', { dataset: { field: 'title' } }, p.title), ' ', h('span', { class: 'code', dataset: { field: 'slug' } }, `/p/${p.slug}`)),
    h('p', { class: 'meta prog-meta' },
      p.join_code ? h('span', { class: 'code', dataset: { field: 'join-code' } }, p.join_code) : '',
      p.join_code ? ' · ' : '',
      h('span', { dataset: { field: 'current-episode', current: p.current || '' } }, cur ? t('prog.current', { title: cur.title }) : t('prog.noCurrent')),
      ' · ',
      h('span', { class: 'starts-at', dataset: { field: 'next-at', nextAt: p.next_at || '' } }, next ? t('prog.nextAt', { when: next }) : t('prog.noNext'))),
    h('p', { class: 'hint' }, t('prog.links')),
    h('div', { class: 'links' }, ...rows),
    links.intake || keys.intake ? h('p', { class: 'hint intake-hint' }, t('link.intakeHint')) : '',
    h('h4', {}, t('prog.episodes')),
    episodes.length ? h('ol', { class: 'episodes', dataset: { field: 'episodes' } }, ...episodes.map((e) => episodeItem(p, e)))
      : h('p', { class: 'hint', dataset: { field: 'no-episodes' } }, t('prog.noEpisodes')),
    p.current ? h('button', { type: 'button', class: 'subtle', dataset: { act: 'clear-current' }, onclick: () => setCurrent(p, null) }, t('ep.clearCurrent')) : '',
    h('div', { class: 'prog-forms' }, episodeForm(p), nextForm(p), codeForm(p)),
    error, status);
  li.addEventListener('input', (e) => { if (e.target.name) e.target.dataset.dirty = '1'; });
  return li;
}

function episodeItem(p, e) {
  const current = e.id === p.current;
  const when = startText(e.starts_at, i18n.lang);
  return h('li', { dataset: { episodeId: e.id, code: e.code || '', current: current ? 'true' : 'false', status: e.status || '' } },
    h('span', { class: 'ep-title', dataset: { field: 'title' } }, e.title || ''),
    h('span', { class: 'code' }, e.code || ''),
    h('span', { class: 'hint' }, STRINGS.id[`status.${e.status}`] ? t(`status.${e.status}`) : (e.status || '')),
    when ? h('span', { class: 'starts-at', dataset: { field: 'starts-at', startsAt: e.starts_at } }, when) : '',
    e.rehearsal ? h('span', { class: 'badge rehearsal', dataset: { field: 'rehearsal' } }, t('ep.rehearsal')) : '',
    current ? h('span', { class: 'badge current', dataset: { field: 'current' } }, t('ep.current'))
      : h('button', { type: 'button', dataset: { act: 'make-current' }, onclick: () => setCurrent(p, e) }, t('ep.makeCurrent')));
}

function episodeForm(p) {
  const n = p.slug;
  const form = h('form', { noValidate: true, dataset: { act: 'new-episode', form: 'new-episode' } },
    h('h4', {}, t('ep.new')),
    h('label', { attrs: { for: `ept-${n}` } }, t('ep.title')),
    h('input', { id: `ept-${n}`, name: 'ep-title', maxLength: 200, placeholder: t('ep.titleHint', { programme: p.title }) }),
    h('label', { attrs: { for: `eps-${n}` } }, t('ep.start')),
    h('input', { id: `eps-${n}`, name: 'ep-start', type: 'datetime-local' }),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'ep-rehearsal' }), ' ', t('ep.rehearsalLabel')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'ep-current', checked: !p.current }), ' ', t('ep.currentLabel')),
    h('button', { type: 'submit', class: 'primary', dataset: { act: 'episode-create' } }, t('ep.submit')));
  form.addEventListener('submit', (e) => { e.preventDefault(); createEpisode(p, form); });
  return form;
}

function nextForm(p) {
  const n = p.slug;
  const input = h('input', { id: `pn-${n}`, name: 'next-at', type: 'datetime-local', value: startInput(p.next_at) });
  const form = h('form', { noValidate: true, dataset: { form: 'next-at' } },
    h('h4', {}, t('prog.nextLabel')),
    h('label', { class: 'visually-hidden', attrs: { for: `pn-${n}` } }, t('prog.nextLabel')),
    input,
    h('div', { class: 'row' },
      h('button', { type: 'submit', dataset: { act: 'next-save' } }, t('prog.nextSave')),
      h('button', { type: 'button', class: 'subtle', dataset: { act: 'next-clear' }, onclick: () => patchProgramme(p, { next_at: null }, t('prog.nextSaved')) }, t('prog.nextClear'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = startValue(input.value);
    patchProgramme(p, { next_at: v || null }, t('prog.nextSaved'));
  });
  return form;
}

function codeForm(p) {
  const n = p.slug;
  const input = h('input', { id: `pc-${n}`, name: 'join-code', maxLength: 16, value: p.join_code || '', spellcheck: false, attrs: { autocapitalize: 'characters' } });
  const form = h('form', { noValidate: true, dataset: { form: 'join-code' } },
    h('h4', {}, t('prog.codeLabel')),
    h('label', { class: 'visually-hidden', attrs: { for: `pc-${n}` } }, t('prog.codeLabel')),
    input,
    h('div', { class: 'row' }, h('button', { type: 'submit', dataset: { act: 'code-save' } }, t('prog.codeSave'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.replace(/\s+/g, '').toUpperCase();
    const li = progLi(p.slug);
    if (v && !JOIN_RE.test(v)) { if (li) progError(li, t('prog.badCode')); input.focus(); return; }
    patchProgramme(p, { join_code: v || null }, v ? t('prog.codeSaved') : t('prog.codeCleared'));
  });
  return form;
}

const progLi = (slug) => document.querySelector(`#programme-list li[data-programme="${CSS.escape(slug)}"]`);

function progError(li, text, server) {
  $('[data-field=prog-error]', li).replaceChildren(text || '', server ? h('span', { class: 'server-message', attrs: { lang: 'en' } }, ` ${t('field.server', { message: server })}`) : '');
}

/** After a change: the list again, with a word in the programme's line. */
async function progDone(slug, text) {
  await refreshProgrammes();
  const li = progLi(slug);
  if (li) setText($('[data-field=prog-status]', li), text);
}

function progFailed(p, err) {
  const li = progLi(p.slug);
  if (err.code === 'not_found') { progNotice(t('prog.notFound'), 'bad'); refreshProgrammes(); return; }
  if (err.code === 'unauthorized') { showError(err); return; }
  const m = String(err.field || err.message || '');
  let text = errorText(err);
  if (err.code === 'conflict') text = t('prog.taken');
  else if (err.code === 'invalid' && /join_code/.test(m)) text = t('prog.badCode');
  else if (err.code === 'invalid' && /starts_at|next_at/.test(m)) text = t('edit.bad.starts_at');
  if (li) progError(li, text, err.code === 'invalid' ? err.message : ''); else progNotice(text, 'bad');
}

async function patchProgramme(p, body, done) {
  const li = progLi(p.slug);
  if (li) progError(li, '');
  try {
    await api('PATCH', `/api/programmes/${encodeURIComponent(p.slug)}`, body);
    await progDone(p.slug, done);
  } catch (err) {
    progFailed(p, err);
  }
}

/** Another episode current (or none): every page on a programme link follows at once. */
async function setCurrent(p, e) {
  if (!window.confirm(e ? t('ep.makeCurrentConfirm', { title: e.title }) : t('ep.clearConfirm'))) return;
  const li = progLi(p.slug);
  if (li) progError(li, '');
  try {
    await api('PATCH', `/api/programmes/${encodeURIComponent(p.slug)}`, { current: e ? e.id : null });
  } catch (err) {
    progFailed(p, err);
    return;
  }
  await refresh(); // the sessions too: an episode's status may have changed
  const again = progLi(p.slug);
  if (again) setText($('[data-field=prog-status]', again), e ? t('ep.madeCurrent', { title: e.title }) : t('ep.cleared'));
}

async function createEpisode(p, form) {
  const li = progLi(p.slug);
  if (li) progError(li, '');
  const body = {};
  const title = $('[name=ep-title]', form).value.trim();
  if (title) {
    if (textLength(title) > 200) { if (li) progError(li, t('create.needTitle')); return; }
    body.title = title;
  }
  const start = startValue($('[name=ep-start]', form).value);
  if (start) body.starts_at = start;
  if ($('[name=ep-rehearsal]', form).checked) body.rehearsal = true;
  body.current = $('[name=ep-current]', form).checked;
  const btn = $('[data-act=episode-create]', form);
  btn.disabled = true;
  try {
    const res = await api('POST', `/api/programmes/${encodeURIComponent(p.slug)}/episodes`, body);
    const s = (res && res.session && (res.session.session || res.session)) || {};
    for (const inp of $$('input', form)) delete inp.dataset.dirty;
    await refresh();
    const again = progLi(p.slug);
    if (again) setText($('[data-field=prog-status]', again), t('ep.created', { title: s.title || title, code: s.code || '' }));
  } catch (err) {
    progFailed(p, err);
  } finally {
    btn.disabled = false;
  }
}

async function rotateProgramme(p, kind) {
  if (!window.confirm(kind === 'intake' ? t('prog.intakeConfirm') : t('prog.rotateConfirm', { role: t(`link.${kind}`) }))) return;
  try {
    await api('POST', `/api/programmes/${encodeURIComponent(p.slug)}/keys/${kind}`);
    await progDone(p.slug, t('prog.rotated'));
  } catch (err) {
    progFailed(p, err);
  }
}

function progFieldError(field, text) {
  const input = $(`#prog-${field}`);
  setText($(`#prog-${field}-error`), text || '');
  input.setAttribute('aria-invalid', text ? 'true' : 'false');
  if (text) input.focus();
}

async function onCreateProgramme(e) {
  e.preventDefault();
  for (const f of ['code', 'slug', 'title']) progFieldError(f, '');
  setText($('#prog-status'), '');
  const title = $('#prog-title').value.trim();
  const slug = $('#prog-slug').value.trim().toLowerCase();
  const code = $('#prog-code').value.replace(/\s+/g, '').toUpperCase();
  if (!title || textLength(title) > 200) { progFieldError('title', t('prog.needTitle')); return; }
  if (!SLUG_RE.test(slug)) { progFieldError('slug', t('prog.badSlug')); return; }
  if (code && !JOIN_RE.test(code)) { progFieldError('code', t('prog.badCode')); return; }
  const body = { title, slug };
  if (code) body.join_code = code;
  $('#prog-create').disabled = true;
  try {
    const res = await api('POST', '/api/programmes', body);
    for (const id of ['#prog-title', '#prog-slug', '#prog-code']) $(id).value = '';
    setText($('#prog-status'), t('prog.created', { title: (res && res.title) || title }));
    await refreshProgrammes();
  } catch (err) {
    const m = String(err.field || err.message || '');
    if (err.code === 'conflict') progFieldError(/join_code|code/.test(m) && !/slug/.test(m) ? 'code' : 'slug', t('prog.taken'));
    else if (err.code === 'invalid' && /join_code/.test(m)) progFieldError('code', t('prog.badCode'));
    else if (err.code === 'invalid' && /slug/.test(m)) progFieldError('slug', t('prog.badSlug'));
    else if (err.code === 'invalid' && /title/.test(m)) progFieldError('title', t('prog.needTitle'));
    else if (err.code === 'unauthorized') showError(err);
    else setText($('#prog-status'), errorText(err));
  } finally {
    $('#prog-create').disabled = false;
  }
}

// ---- "Ubah": a session's title, speakers and start time (PATCH /api/sessions/{id}) ----------
const editForms = new Map(); // session id -> its open form, kept across a reload of the list

function toggleEdit(s) {
  if (editForms.has(s.id)) { closeEdit(s.id); return; }
  const form = buildEditForm(s);
  editForms.set(s.id, form);
  const li = document.querySelector(`#sessions li[data-session-id="${CSS.escape(s.id)}"]`);
  if (li) li.append(form);
  $('[name=edit-title]', form).focus();
}

function closeEdit(id) {
  const form = editForms.get(id);
  editForms.delete(id);
  if (form) form.remove();
}

function editSpeakerRow(sp = {}) {
  const li = h('li', { class: 'edit-speaker', dataset: { speakerId: sp.id || '' } },
    h('input', { name: 'edit-speaker-name', maxLength: 100, value: sp.name || '', placeholder: t('speaker.name'), attrs: { 'aria-label': t('speaker.name') } }),
    h('input', { name: 'edit-speaker-role', maxLength: 100, value: sp.role || '', placeholder: t('speaker.role'), attrs: { 'aria-label': t('speaker.role') } }),
    h('button', { type: 'button', class: 'subtle', dataset: { speakerAct: 'up' }, attrs: { 'aria-label': t('edit.up') } }, '↑'),
    h('button', { type: 'button', class: 'subtle', dataset: { speakerAct: 'down' }, attrs: { 'aria-label': t('edit.down') } }, '↓'),
    h('button', { type: 'button', class: 'danger subtle', dataset: { speakerAct: 'remove' } }, t('speaker.remove')));
  return li;
}

function buildEditForm(s) {
  const n = s.id;
  const list = h('ol', { class: 'edit-speaker-list' }, ...(s.speakers || []).map((sp) => editSpeakerRow(sp)));
  const start = h('input', { id: `es-${n}`, name: 'edit-start', type: 'datetime-local', value: startInput(s.starts_at) });
  const form = h('form', { class: 'edit-form', noValidate: true, dataset: { editFor: s.id, startsAt: s.starts_at || '' } },
    h('h4', {}, t('edit.heading')),
    h('label', { attrs: { for: `et-${n}` } }, t('edit.title')),
    h('input', { id: `et-${n}`, name: 'edit-title', maxLength: 200, value: s.title || '' }),
    h('label', { attrs: { for: `es-${n}` } }, t('edit.start')),
    h('div', { class: 'row' }, start,
      h('button', { type: 'button', class: 'subtle', dataset: { act: 'edit-start-clear' }, onclick: () => { start.value = ''; } }, t('edit.startClear'))),
    h('fieldset', { class: 'speakers' }, h('legend', {}, t('edit.speakers')), list,
      h('button', { type: 'button', dataset: { act: 'edit-add-speaker' }, onclick: () => {
        if (list.children.length >= 20) return;
        const row = editSpeakerRow();
        list.append(row);
        $('input', row).focus();
      } }, t('create.addSpeaker'))),
    h('p', { class: 'field-error', role: 'alert', dataset: { field: 'edit-error' } }),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary', dataset: { act: 'edit-save' } }, t('edit.save')),
      h('button', { type: 'button', dataset: { act: 'edit-cancel' }, onclick: () => closeEdit(s.id) }, t('act.cancel'))));
  form._session = s;
  list.addEventListener('click', (e) => {
    const b = e.target.closest('[data-speaker-act]');
    if (!b) return;
    const row = b.closest('li');
    const act = b.dataset.speakerAct;
    if (act === 'remove') row.remove();
    else if (act === 'up' && row.previousElementSibling) row.previousElementSibling.before(row);
    else if (act === 'down' && row.nextElementSibling) row.nextElementSibling.after(row);
    if (act !== 'remove') b.focus();
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); saveEdit(form); });
  return form;
}

function editError(form, text, server) {
  $('[data-field=edit-error]', form).replaceChildren(text || '', server ? h('span', { class: 'server-message', attrs: { lang: 'en' } }, ` ${t('field.server', { message: server })}`) : '');
}

async function saveEdit(form) {
  const s = form._session;
  editError(form, '');
  const title = $('[name=edit-title]', form).value.trim();
  if (!title || textLength(title) > 200) { editError(form, t('create.needTitle')); $('[name=edit-title]', form).focus(); return; }
  const speakers = [];
  for (const row of $$('.edit-speaker', form)) {
    const name = $('[name=edit-speaker-name]', row).value.trim();
    const role = $('[name=edit-speaker-role]', row).value.trim();
    if (!name && !role) continue;
    if (!name || !role) { editError(form, t('create.needSpeaker')); $(name ? '[name=edit-speaker-role]' : '[name=edit-speaker-name]', row).focus(); return; }
    speakers.push(row.dataset.speakerId ? { id: row.dataset.speakerId, name, role } : { name, role });
  }
  const body = {};
  if (title !== s.title) body.title = title;
  const before = (s.speakers || []).map((x) => ({ id: x.id, name: x.name, role: x.role }));
  if (JSON.stringify(before) !== JSON.stringify(speakers.map((x) => ({ id: x.id, name: x.name, role: x.role })))) body.speakers = speakers;
  const start = startValue($('[name=edit-start]', form).value);
  if (start !== (s.starts_at ? startValue(startInput(s.starts_at)) : '')) body.starts_at = start;
  if (!Object.keys(body).length) { closeEdit(s.id); return; }
  const btn = $('[data-act=edit-save]', form);
  btn.disabled = true;
  try {
    await api('PATCH', `/api/sessions/${encodeURIComponent(s.id)}`, body);
    closeEdit(s.id);
    await refresh();
    const li = document.querySelector(`#sessions li[data-session-id="${CSS.escape(s.id)}"]`);
    if (li) setText($('[data-field=export-status]', li), t('edit.saved'));
  } catch (err) {
    const m = String(err.field || err.message || '');
    const field = ['starts_at', 'speakers', 'title', 'status'].find((f) => m.includes(f));
    if (err.code === 'invalid' && field) editError(form, t(`edit.bad.${field}`), err.message);
    else editError(form, errorText(err));
  } finally {
    btn.disabled = false;
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

// ---- the office user's name (recorded with every follow-up action) ---------------------------
const OFFICE_KEY = 'office-name';     // localStorage tanya:office-name
const officeName = () => (store.get(OFFICE_KEY) || '').trim();

function renderOffice() {
  const name = officeName();
  $('#office-form').hidden = !!name;
  $('#office-bar').hidden = !name;
  setText($('#office-current'), name ? t('office.current', { name }) : '');
  $('#office').classList.toggle('asking', !name);
}

function askOffice(message) {
  $('#office-form').hidden = false;
  $('#office-bar').hidden = true;
  $('#office').classList.add('asking');
  setText($('#office-error'), message || '');
  $('#office-name').setAttribute('aria-invalid', message ? 'true' : 'false');
  $('#office-name').focus();
}

function saveOffice(e) {
  e.preventDefault();
  const name = $('#office-name').value.trim();
  if (textLength(name) < 1 || textLength(name) > 60) { askOffice(t('office.invalid')); return; }
  store.set(OFFICE_KEY, name);
  setText($('#office-error'), '');
  $('#office-name').setAttribute('aria-invalid', 'false');
  renderOffice();
}

// ---- a session's export and report ----------------------------------------------------------
function sessionTools(s, links) {
  const status = h('span', { class: 'hint', role: 'status', dataset: { field: 'export-status' } });
  let modKey = '';
  try { modKey = links.moderator ? new URLSearchParams(new URL(links.moderator).hash.slice(1)).get('k') || '' : ''; } catch { modKey = ''; }
  const menu = h('details', { class: 'menu', dataset: { menu: 'export' } },
    h('summary', {}, t('export.menu')),
    h('div', { class: 'menu-items' },
      h('button', { type: 'button', dataset: { export: 'xlsx' }, onclick: () => download(s, 'xlsx', status, menu) }, t('export.xlsx')),
      h('button', { type: 'button', dataset: { export: 'csv' }, onclick: () => download(s, 'csv', status, menu) }, t('export.csv'))));
  // the report opens with the session's moderator key (a new tab does not share this tab's token)
  const report = h('a', {
    href: `/r/${encodeURIComponent(s.id)}${modKey ? `#k=${encodeURIComponent(modKey)}` : ''}`,
    target: '_blank', rel: 'noopener', dataset: { link: 'report' },
  }, t('report.link'));
  const edit = h('button', { type: 'button', dataset: { act: 'edit-session' }, onclick: () => toggleEdit(s) }, t('edit.open'));
  return h('div', { class: 'session-tools row' }, menu, report, edit, status);
}

function fileName(disposition, fallback) {
  const d = String(disposition || '');
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(d);
  if (star) { try { return decodeURIComponent(star[1].trim()); } catch { /* fall through */ } }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(d);
  return plain ? plain[1].trim() : fallback;
}

/** The export is fetched with the token in a header (never in the address) and saved through a
 *  blob link. */
async function download(s, format, status, menu) {
  const query = format === 'xlsx' ? 'format=xlsx' : 'format=csv&layout=office';
  setText(status, t('export.busy'));
  let res;
  try {
    res = await fetch(`/api/sessions/${encodeURIComponent(s.id)}/export?${query}`, {
      headers: { Authorization: `Bearer ${getToken()}` }, cache: 'no-store',
    });
  } catch {
    setText(status, t('export.failed', { error: errorText({ code: 'network' }) }));
    return;
  }
  if (!res.ok) {
    let err = null;
    try { err = (await res.json()).error; } catch { err = null; }
    setText(status, t('export.failed', { error: errorText(err && typeof err === 'object' ? err : { code: String(res.status) }) }));
    return;
  }
  const blob = await res.blob();
  const file = fileName(res.headers.get('Content-Disposition'), `tanya-${s.code || s.id}.${format}`);
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: file, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  setText(status, t('export.done', { file }));
  menu.open = false;
}

// ---- agencies ------------------------------------------------------------------------------
const fu = {
  agencies: [],
  cases: [],
  sessions: [],
  forms: new Map(),   // question id → open action
  busy: new Set(),
};
const agencyById = (id) => fu.agencies.find((a) => a.id === id);
const agencyLabel = (id) => { const a = agencyById(id); return a ? (a.short || a.name) : id; };

function agencyStatus(text) {
  const el = $('#agencies-status');
  el.hidden = !text;
  setText(el, text || '');
}

function renderAgencies() {
  $('#agencies-empty').hidden = fu.agencies.length > 0;
  $('#agencies').replaceChildren(...fu.agencies.map((a) => {
    const id = `ag-${a.id}`;
    const input = h('input', { id, readOnly: true, value: a.link || '', dataset: { link: 'agency' }, onfocus: () => input.select() });
    const copyBtn = h('button', { type: 'button', dataset: { copy: 'agency' } }, t('link.copy'));
    copyBtn.addEventListener('click', async () => {
      const ok = await copyText(a.link || '');
      if (!ok) input.select();
      setText(copyBtn, ok ? t('link.copied') : t('link.copy'));
      setTimeout(() => setText(copyBtn, t('link.copy')), 1500);
    });
    return h('li', { class: 'agency', dataset: { agencyId: a.id } },
      h('h3', {}, h('span', { dataset: { field: 'name' } }, a.name), ' ',
        h('span', { class: 'short', dataset: { field: 'short' } }, a.short || ''), ' ',
        h('span', { class: 'code', dataset: { field: 'id' } }, a.id)),
      h('div', { class: 'links' },
        h('span', {}, h('label', { attrs: { for: id } }, t('agencies.link'))),
        input,
        copyBtn,
        h('a', { href: a.link || '#', target: '_blank', rel: 'noopener' }, t('link.open')),
        h('button', { type: 'button', class: 'subtle', dataset: { act: 'agency-key' }, onclick: () => rotateAgency(a) }, t('agencies.key'))));
  }));
  renderAgencyFilter();
}

function renderAgencyFilter() {
  const sel = $('#case-agency');
  const keep = sel.value;
  sel.replaceChildren(h('option', { value: '' }, t('cases.all')),
    ...fu.agencies.map((a) => h('option', { value: a.id }, a.short ? `${a.short} · ${a.name}` : a.name)));
  sel.value = fu.agencies.some((a) => a.id === keep) ? keep : '';
}

function renderSessionFilter(sessions) {
  fu.sessions = sessions;
  const sel = $('#case-session');
  const keep = sel.value;
  sel.replaceChildren(h('option', { value: '' }, t('cases.all')),
    ...sessions.map((s) => h('option', { value: s.id }, `${s.code} · ${s.title}`)));
  sel.value = sessions.some((s) => s.id === keep) ? keep : '';
}

async function loadAgencies() {
  const data = await api('GET', '/api/agencies');
  fu.agencies = (data && data.agencies) || [];
  renderAgencies();
}

async function rotateAgency(a) {
  if (!window.confirm(t('agencies.keyConfirm', { name: a.name }))) return;
  try {
    const res = await api('POST', `/api/agencies/${encodeURIComponent(a.id)}/key`);
    await loadAgencies();
    agencyStatus(t('agencies.keyDone', { short: (res && res.short) || a.short || a.name }));
  } catch (err) {
    showError(err);
  }
}

const AGENCY_FIELDS = ['name', 'short', 'id'];
function agencyFieldError(name, text, server) {
  const el = $(`#agency-${name}-error`);
  el.replaceChildren(text || '', server ? h('span', { class: 'server-message', attrs: { lang: 'en' } }, ` ${t('field.server', { message: server })}`) : '');
  $(`#agency-${name}`).setAttribute('aria-invalid', text ? 'true' : 'false');
}

async function onAddAgency(e) {
  e.preventDefault();
  showError(null);
  agencyStatus('');
  for (const f of AGENCY_FIELDS) agencyFieldError(f, '');
  const name = $('#agency-name').value.trim();
  const short = $('#agency-short').value.trim();
  const id = $('#agency-id').value.trim();
  if (!name) { agencyFieldError('name', t('agencies.needName')); $('#agency-name').focus(); return; }
  if (!short) { agencyFieldError('short', t('agencies.needShort')); $('#agency-short').focus(); return; }
  const body = { name, short };
  if (id) body.id = id;
  $('#agency-add').disabled = true;
  try {
    const res = await api('POST', '/api/agencies', body);
    for (const f of AGENCY_FIELDS) $(`#agency-${f}`).value = '';
    await loadAgencies();
    agencyStatus(t('agencies.added', { short: (res && res.short) || short }));
    setText($('#agency-status'), '');
  } catch (err) {
    if (err.code === 'conflict') { agencyFieldError('id', t('agencies.exists')); $('#agency-id').focus(); }
    else if (err.code === 'invalid') {
      const m = String(err.message || '').toLowerCase();
      const f = err.field || AGENCY_FIELDS.find((x) => new RegExp(`\\b${x}\\b`).test(m)) || 'name';
      agencyFieldError(f, t('agencies.bad'), err.message);
      $(`#agency-${f}`).focus();
    } else showError(err);
  } finally {
    $('#agency-add').disabled = false;
  }
}

// ---- follow-up cases -------------------------------------------------------------------------
/** What the office may do in each status (docs/followup.md, "The case lifecycle"). */
const OPEN_ACTS = ['forward', 'resolve', 'decline'];
const CASE_ACTS = ['forward', 'resolve', 'decline', 'reopen', 'publish'];
function allowed(c, act) {
  if (act === 'publish') return true;
  if (act === 'reopen') return c.status === 'resolved' || c.status === 'declined';
  return OPEN_ACTS.includes(act) && isOpen(c);
}
/** The typed field of each action: name, limit, required. */
const INPUTS = {
  forward: { field: 'note', max: 500, required: false, label: 'form.note' },
  resolve: { field: 'answer', max: 2000, required: true, label: 'form.answer' },
  decline: { field: 'reason', max: 500, required: true, label: 'form.reason' },
  reopen: { field: 'note', max: 500, required: false, label: 'form.reopenNote' },
};

let casesNoticeTimer = null;
function casesNotice(text, kind = 'bad') {
  const el = $('#cases-notice');
  clearTimeout(casesNoticeTimer);
  if (!text) { el.hidden = true; return; }
  el.className = `notice ${kind}`;
  setText(el, text);
  el.hidden = false;
  if (kind === 'ok') casesNoticeTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

async function loadCases() {
  const q = new URLSearchParams();
  for (const [k, sel] of [['status', '#case-status'], ['agency', '#case-agency'], ['session', '#case-session']]) {
    if ($(sel).value) q.set(k, $(sel).value);
  }
  const qs = q.toString();
  const data = await api('GET', `/api/cases${qs ? `?${qs}` : ''}`);
  fu.cases = (data && data.cases) || [];
  renderCases();
}

async function refreshFollowup() {
  const results = await Promise.allSettled([loadAgencies(), loadCases()]);
  const failed = results.find((r) => r.status === 'rejected');
  if (!failed) return;
  if (failed.reason && failed.reason.code === 'unauthorized') showError(failed.reason);
  else casesNotice(errorText(failed.reason || {}));
}

function clearFollowup() {
  fu.agencies = [];
  fu.cases = [];
  fu.forms.clear();
  renderAgencies();
  renderCases();
}

function renderCases() {
  $('#cases-empty').hidden = fu.cases.length > 0;
  syncList($('#cases'), fu.cases, (c) => c.question, createCase, updateCase);
}

const fieldEl = (name, tag = 'span', cls = '') => h(tag, { class: cls, dataset: { field: name } });
const errorEl = (name) => h('p', { class: 'field-error', role: 'alert', dataset: { errorFor: name } });

function createCase(c) {
  const id = c.question;
  const li = h('li', { class: 'case', dataset: { question: id } });
  const agencySel = h('select', { id: `fa-${id}`, dataset: { input: 'agency' } });
  const due = h('input', { id: `fd-${id}`, type: 'date', dataset: { input: 'due' } });
  const input = h('textarea', { id: `fi-${id}`, rows: 3, dataset: { input: 'text' } });
  const count = h('span', { class: 'hint count', dataset: { field: 'count' } });
  input.addEventListener('input', () => { clearCaseErrors(li); updateCount(li); });
  agencySel.addEventListener('change', () => clearCaseErrors(li));
  const form = h('form', { class: 'act-form', hidden: true, noValidate: true },
    h('div', { class: 'forward-fields', dataset: { part: 'forward' } },
      h('div', {}, h('label', { attrs: { for: `fa-${id}` }, dataset: { label: 'agency' } }), agencySel, errorEl('agency')),
      h('div', {}, h('label', { attrs: { for: `fd-${id}` }, dataset: { label: 'due' } }), due, errorEl('due'))),
    h('label', { attrs: { for: `fi-${id}` }, dataset: { label: 'text' } }),
    input,
    h('div', { class: 'row between' }, errorEl('text'), count),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary', dataset: { act: 'submit' } }),
      h('button', { type: 'button', dataset: { act: 'cancel' }, onclick: () => closeCaseForm(id) }, t('act.cancel'))));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitCase(id); });
  li.append(
    h('div', { class: 'case-head' },
      fieldEl('tracking', 'span', 'tracking'),
      fieldEl('overdue', 'span', 'badge late'),
      fieldEl('status', 'span', 'badge status'),
      fieldEl('public', 'span', 'badge public'),
      fieldEl('agency', 'span', 'agency-name'),
      fieldEl('due', 'span', 'due')),
    h('p', { class: 'case-text text', dataset: { field: 'text' } }),
    h('p', { class: 'meta' }, fieldEl('session'), fieldEl('asked'), fieldEl('place'), fieldEl('topic')),
    h('p', { class: 'citizen' }, fieldEl('name', 'strong'), ' ', fieldEl('contact', 'span', 'contact-cell')),
    h('div', { class: 'boxed note', dataset: { box: 'note' } }, h('strong', { dataset: { label: 'note' } }), fieldEl('note', 'p', 'text')),
    h('div', { class: 'boxed answer', dataset: { box: 'answer' } }, h('strong', { dataset: { label: 'answer' } }), fieldEl('answer', 'p', 'text')),
    h('div', { class: 'boxed reason', dataset: { box: 'reason' } }, h('strong', { dataset: { label: 'reason' } }), fieldEl('reason', 'p', 'text')),
    h('details', { class: 'history' }, h('summary', { dataset: { field: 'history-summary' } }), h('ol', { dataset: { field: 'history' } })),
    h('div', { class: 'actions row' }, ...CASE_ACTS.map((a) => h('button', {
      type: 'button', class: a === 'decline' ? 'danger' : a === 'publish' ? 'subtle' : '',
      dataset: { act: a }, onclick: () => onCaseAction(id, a),
    }))),
    form);
  return li;
}

const CASE_LABELS = { note: 'case.note', answer: 'case.answer', reason: 'case.reason', agency: 'form.agency', due: 'form.due' };

function updateCase(li, c) {
  const lang = i18n.lang;
  const f = (n) => $(`[data-field="${n}"]`, li);
  li.dataset.status = c.status;
  li.dataset.overdue = c.overdue ? 'true' : 'false';
  li.dataset.public = c.public ? 'true' : 'false';
  li.dataset.tracking = c.tracking || '';
  li.dataset.agency = (c.agency && c.agency.id) || '';
  li.classList.toggle('is-late', !!c.overdue);
  li.classList.toggle('is-done', !isOpen(c));
  setText(f('tracking'), c.tracking || '');
  f('overdue').hidden = !c.overdue;
  setText(f('overdue'), c.overdue ? t('case.overdue') : '');
  setText(f('status'), statusText(t, c.status));
  f('status').dataset.status = c.status;
  f('public').hidden = !c.public;
  setText(f('public'), c.public ? t('cases.public') : '');
  setText(f('agency'), c.agency ? (c.agency.short || c.agency.name) : t('case.noAgency'));
  f('agency').title = c.agency ? c.agency.name : '';
  setText(f('due'), c.due ? t('case.due', { date: fmtDate(c.due, lang) }) : '');
  setText(f('text'), c.text || '');
  setText(f('session'), (c.session && `${c.session.code} · ${c.session.title}`) || '');
  setText(f('asked'), ` · ${fmtDateTime(c.created_at, lang)}`);
  setText(f('place'), placeText(c.place) ? ` · ${placeText(c.place)}` : '');
  setText(f('topic'), c.topic ? ` · ${c.topic}` : '');
  setText(f('name'), c.name || t('case.noName'));
  const ck = `${c.contact || ''}|${lang}`;
  if (f('contact').dataset.key !== ck) {
    f('contact').dataset.key = ck;
    f('contact').replaceChildren(...contactNodes(c.contact, t));
  }
  for (const [box, value] of [['note', c.note], ['answer', c.answer], ['reason', c.reason]]) {
    $(`[data-box="${box}"]`, li).hidden = !value;
    setText(f(box), value || '');
  }
  for (const el of $$('[data-label]', li)) {
    const k = el.dataset.label;
    if (CASE_LABELS[k]) setText(el, t(CASE_LABELS[k]));
  }
  const hist = c.history || [];
  setText(f('history-summary'), `${t('case.history')} (${hist.length})`);
  const hk = `${hist.length}|${hist.length ? hist[hist.length - 1].at : ''}|${lang}|${fu.agencies.length}`;
  if (f('history').dataset.key !== hk) {
    f('history').dataset.key = hk;
    f('history').replaceChildren(...historyItems(hist, { t, lang, agencyLabel }));
  }
  const busy = fu.busy.has(c.question);
  for (const b of $$('.actions [data-act]', li)) {
    const a = b.dataset.act;
    b.hidden = !allowed(c, a);
    b.disabled = busy;
    setText(b, a === 'publish' ? t(c.public ? 'act.unpublish' : 'act.publish') : t(`act.${a}`));
    if (a === 'publish') b.setAttribute('aria-pressed', c.public ? 'true' : 'false');
  }
  const open = fu.forms.get(c.question);
  const form = $('.act-form', li);
  form.hidden = !open;
  if (open) {
    form.dataset.form = open;
    $('[data-part=forward]', form).hidden = open !== 'forward';
    setText($('[data-label=text]', form), t(INPUTS[open].label));
    setText($('[data-act=submit]', form), t(`form.send.${open}`));
    setText($('[data-act=cancel]', form), t('act.cancel'));
    $('[data-act=submit]', form).disabled = busy;
    if (open === 'forward') fillAgencySelect($('[data-input=agency]', form), c);
    updateCount(li);
  }
}

function fillAgencySelect(sel, c) {
  const keep = sel.value || (c.agency && c.agency.id) || '';
  const key = `${fu.agencies.map((a) => a.id).join(',')}|${i18n.lang}`;
  if (sel.dataset.key !== key) {
    sel.dataset.key = key;
    sel.replaceChildren(h('option', { value: '' }, fu.agencies.length ? t('form.pickAgency') : t('form.noAgencies')),
      ...fu.agencies.map((a) => h('option', { value: a.id }, a.short ? `${a.short} · ${a.name}` : a.name)));
  }
  sel.value = fu.agencies.some((a) => a.id === keep) ? keep : '';
}

function updateCount(li) {
  const open = fu.forms.get(li.dataset.question);
  if (!open) return;
  const n = textLength($('[data-input=text]', li).value);
  const el = $('[data-field=count]', li);
  setText(el, `${n}/${INPUTS[open].max}`);
  el.classList.toggle('over', n > INPUTS[open].max);
}

const caseLi = (id) => document.querySelector(`#cases li[data-question="${CSS.escape(id)}"]`);
const caseById = (id) => fu.cases.find((c) => c.question === id);

function clearCaseErrors(li) {
  for (const el of $$('[data-error-for]', li)) setText(el, '');
  for (const el of $$('[aria-invalid]', li)) el.removeAttribute('aria-invalid');
}

function caseFieldError(li, name, text, server) {
  const el = $(`[data-error-for="${name}"]`, li);
  el.replaceChildren(text, server ? h('span', { class: 'server-message', attrs: { lang: 'en' } }, ` ${t('field.server', { message: server })}`) : '');
  const control = $(`[data-input="${name}"]`, li);
  if (control) { control.setAttribute('aria-invalid', 'true'); control.focus(); }
}

function onCaseAction(id, act) {
  const c = caseById(id);
  if (!c) return;
  if (!officeName()) { askOffice(t('office.needed')); return; }
  if (act === 'publish') { sendCase(id, 'publish', { public: !c.public }); return; }
  const li = caseLi(id);
  const was = fu.forms.get(id);
  fu.forms.set(id, act);
  if (was !== act) {
    clearCaseErrors(li);
    $('[data-input=text]', li).value = '';
    const due = $('[data-input=due]', li);
    due.min = daysFromToday(0);
    due.value = daysFromToday(14);
  }
  updateCase(li, c);
  (act === 'forward' ? $('[data-input=agency]', li) : $('[data-input=text]', li)).focus();
}

function closeCaseForm(id) {
  fu.forms.delete(id);
  const li = caseLi(id);
  const c = caseById(id);
  if (li && c) { clearCaseErrors(li); updateCase(li, c); }
}

function submitCase(id) {
  const act = fu.forms.get(id);
  const li = caseLi(id);
  if (!act || !li) return;
  clearCaseErrors(li);
  const spec = INPUTS[act];
  const value = $('[data-input=text]', li).value.trim();
  const fields = {};
  if (act === 'forward') {
    const agency = $('[data-input=agency]', li).value;
    if (!agency) { caseFieldError(li, 'agency', t('field.agency')); return; }
    fields.agency = agency;
    const due = $('[data-input=due]', li).value;
    if (due) fields.due = due;
  }
  if (spec.required && !value) { caseFieldError(li, 'text', t(`field.${spec.field}`)); return; }
  if (value) fields[spec.field] = value;
  if (!officeName()) { askOffice(t('office.needed')); return; }
  sendCase(id, act, fields);
}

function invalidCaseField(err, act) {
  const m = String(err.field || err.message || '').toLowerCase();
  for (const name of ['agency', 'due', 'answer', 'reason', 'note', 'by']) if (new RegExp(`\\b${name}\\b`).test(m)) return name;
  return INPUTS[act] ? INPUTS[act].field : null;
}

async function sendCase(id, act, fields) {
  const c = caseById(id);
  if (!c || fu.busy.has(id)) return;
  fu.busy.add(id);
  updateCase(caseLi(id), c);
  const code = c.tracking || '';
  try {
    const res = await api('POST', `/api/cases/${encodeURIComponent(id)}`, { action: act, by: officeName(), ...fields });
    fu.busy.delete(id);
    fu.forms.delete(id);
    const i = fu.cases.findIndex((x) => x.question === id);
    if (res && res.case && i >= 0) fu.cases[i] = res.case;
    const li = caseLi(id);
    if (li) { $('[data-input=text]', li).value = ''; clearCaseErrors(li); }
    const done = act === 'publish' ? (fields.public ? 'done.publish' : 'done.unpublish') : `done.${act}`;
    casesNotice(t(done, { code, agency: fields.agency ? agencyLabel(fields.agency) : '' }), 'ok');
    renderCases();
  } catch (err) {
    fu.busy.delete(id);
    const li = caseLi(id);
    if (err.code === 'invalid' && li) {
      const name = invalidCaseField(err, act);
      if (name === 'by') askOffice(`${t('field.by')}${err.message ? ` (${err.message})` : ''}`);
      else if (fu.forms.get(id)) {
        const slot = ['agency', 'due'].includes(name) ? name : 'text';
        const text = t(`field.${name}`) === `field.${name}` ? t('field.generic') : t(`field.${name}`);
        caseFieldError(li, slot, text, err.message);
      } else casesNotice(errorText(err));
    } else if (err.code === 'conflict' || err.code === 'not_found') {
      casesNotice(t(err.code === 'conflict' ? 'cases.conflict' : 'cases.notfound', { code }));
      try { await loadCases(); } catch { /* the notice stays */ }
    } else if (err.code === 'unauthorized') {
      showError(err);
    } else {
      casesNotice(errorText(err));
    }
    const again = caseLi(id);
    if (again && caseById(id)) updateCase(again, caseById(id));
  }
}

// ---- purge ----------------------------------------------------------------------------------
async function onPurge(e) {
  e.preventDefault();
  const status = $('#purge-status');
  const before = $('#purge-before').value;
  delete status.dataset.erased;
  if (!before) { setText(status, t('purge.needDate')); $('#purge-before').focus(); return; }
  if (!window.confirm(t('purge.confirm', { date: fmtDate(before, i18n.lang) }))) return;
  $('#purge-btn').disabled = true;
  try {
    const res = await api('POST', '/api/purge', { before });
    const n = Number((res && res.erased) || 0);
    status.dataset.erased = String(n);
    setText(status, t('purge.done', { n }));
    try { await loadCases(); } catch { /* shown on the next refresh */ }
  } catch (err) {
    setText(status, '');
    showError(err);
  } finally {
    $('#purge-btn').disabled = false;
  }
}

function bootFollowup() {
  $('#office-name').value = officeName();
  renderOffice();
  $('#office-form').addEventListener('submit', saveOffice);
  $('#office-change').addEventListener('click', () => { $('#office-name').value = officeName(); askOffice(''); });
  $('#agency-form').addEventListener('submit', onAddAgency);
  for (const sel of ['#case-status', '#case-agency', '#case-session']) {
    $(sel).addEventListener('change', () => loadCases().catch((err) => casesNotice(errorText(err))));
  }
  $('#cases-refresh').addEventListener('click', () => refreshFollowup());
  $('#purge-form').addEventListener('submit', onPurge);
}

// ---- boot --------------------------------------------------------------------
function setLang(l) {
  i18n.set(l);
  renderOffice();
  renderAgencies();
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  refresh();
}

for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
i18n.apply();
for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
$('#admin-token').value = getToken();
$('#token-form').addEventListener('submit', (e) => { e.preventDefault(); setToken($('#admin-token').value.trim()); refresh(); });
$('#token-forget').addEventListener('click', () => { setToken(''); $('#admin-token').value = ''; renderSessions([]); renderProgrammes([]); clearFollowup(); showError(null); });
$('#add-speaker').addEventListener('click', () => { const row = addSpeakerRow(); if (row) $('input', row).focus(); });
$('#create-form').addEventListener('submit', onCreate);
$('#prog-form').addEventListener('submit', onCreateProgramme);
$('#refresh-btn').addEventListener('click', refresh);
bootFollowup();
refresh();
