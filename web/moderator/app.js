// Moderator console /m/{id}#k=KEY, or a programme's /p/{slug}/m#k=KEY (the programme's current
// episode; another episode made current takes the console with it).
import { TanyaClient, pageKey, storePageKey, store, programmeFromPath } from '../shared/client.js';
import { h, $, $$, setText, syncList, pathId, copyText, textLength, clockTime, isLoopbackUrl } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import { startText, startInput, startValue } from '../shared/time.js';
import { buildLowerThird, fillLowerThird, airData, creditLine } from '../overlay/lower-third.js';
import STRINGS, { DEFAULT_REJECT_REASONS } from './strings.js';

const i18n = makeI18n(STRINGS);
const t = i18n.t;
const MAX = 300;

const sessionId = pathId('/m/');
const programme = programmeFromPath('/m');
const key = pageKey('k');
const NAME_MAX = 60;
/** The moderator's name, asked once and kept in localStorage (`tanya:moderator-name`); the hello
 *  carries it so that the history says who did what. */
const savedName = () => (store.get('moderator-name') || '').trim().slice(0, NAME_MAX);
const client = programme
  ? new TanyaClient({ role: 'moderator', programme, key, name: savedName() || undefined })
  : new TanyaClient({ role: 'moderator', session: sessionId, key, name: savedName() || undefined });

const ui = {
  filter: 'all',        // source filter: all, audience, press, operator
  search: '',           // search box text
  flagged: false,       // only questions with flags
  speaker: '',          // '' every speaker, SPEAKER_NONE not addressed, else a speaker id
  selected: null,
  editing: new Map(),   // id -> rev when editing started
  rejecting: null,      // id with the reason field open
  casing: null,         // id with the follow-up (case) form open
  history: new Map(),   // id -> {state: loading|ready|failed, entries} of the history shown
  mergeSource: null,
};

// ---- helpers ---------------------------------------------------------------
const Q = (id) => client.view.questions.get(id);
const speakers = () => (client.view.session && client.view.session.speakers) || [];
const byTime = (a, b) => String(a.created_at).localeCompare(String(b.created_at));
const byUpdatedDesc = (a, b) => String(b.updated_at).localeCompare(String(a.updated_at));
const byPosition = (a, b) => (a.position ?? Infinity) - (b.position ?? Infinity) || byTime(a, b);

/** Every question of each column, whatever the filters show (the queue order, `n`, moves and
 *  counts work on these); `shownLists` gives what the columns show. */
function lists() {
  const all = client.questions();
  return {
    pending: all.filter((q) => q.status === 'pending').sort(byTime),
    approved: all.filter((q) => q.status === 'approved').sort(byPosition),
    live: all.filter((q) => q.status === 'live'),
    answered: all.filter((q) => q.status === 'answered').sort(byUpdatedDesc),
    rejected: all.filter((q) => q.status === 'rejected').sort(byUpdatedDesc),
  };
}

let noticeTimer = null;
function notice(text, kind = '') {
  const el = $('#notice');
  el.className = `notice toast ${kind}`;
  setText(el, text);
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.hidden = true; }, kind === 'bad' ? 9000 : 4000);
}

/** The text of an error: every code has its own words in both languages; the hub's `message`
 *  (English) is only ever shown in the English console. */
function errorText(err) {
  const code = (err && err.code) || 'internal';
  const k = `err.${code}`;
  const message = (err && err.message) || '';
  if (STRINGS.id[k]) return t(k, { message });
  return t('err.generic', { code, message });
}

function cmd(frame) {
  return client.send(frame).catch((err) => {
    const q = frame.question && Q(frame.question);
    const snippet = q ? ` — “${q.text.slice(0, 80)}${q.text.length > 80 ? '…' : ''}”` : '';
    notice(errorText(err) + (err.code === 'conflict' ? snippet : ''), 'bad');
    const el = frame.question && document.querySelector(`.card[data-qid="${CSS.escape(frame.question)}"]`);
    if (el && err.code === 'conflict') { el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash'); }
    throw err;
  });
}

/** A command about one question, always with its current rev. */
function qcmd(type, id, extra = {}) {
  const q = Q(id);
  if (!q) return Promise.resolve();
  return cmd({ type, question: id, rev: q.rev, ...extra }).catch(() => {});
}

// ---- cards -----------------------------------------------------------------
function createCard(q) {
  const el = h('article', { class: 'card', tabIndex: -1, dataset: { qid: q.id } },
    h('div', { class: 'card-head' },
      h('span', { class: 'badge src', dataset: { field: 'source' } }),
      h('span', { class: 'badge via', dataset: { field: 'via' }, hidden: true }),
      h('span', { class: 'who', dataset: { field: 'who' } }),
      h('span', { class: 'to', dataset: { field: 'to' } }),
      h('span', { class: 'flags', dataset: { field: 'flags' } }),
      h('span', { class: 'badge banned', dataset: { field: 'banned' } }),
      h('span', { class: 'badge banned', dataset: { field: 'address-banned' } }),
      h('span', { class: 'badge device', dataset: { field: 'device-count' }, hidden: true }),
      h('span', { class: 'grow' }),
      h('span', { class: 'votes', dataset: { field: 'votes' } }),
      h('time', { class: 'time', dataset: { field: 'time' } }),
      // The tracking code, and the follow-up of any question the console shows (answered on air
      // too): forward, resolve, decline, reopen, publish in one form (key f); who did what (key
      // h). Small, in the head, so that a card is no taller than before.
      h('code', { class: 'tracking', dataset: { field: 'tracking' }, hidden: true }),
      h('button', { type: 'button', class: 'fu-btn', dataset: { act: 'forward' } }, h('span', { class: 'fu-label' }), h('kbd', { attrs: { 'aria-hidden': 'true' } }, 'f')),
      h('button', { type: 'button', class: 'fu-btn', dataset: { act: 'history' } }, h('span', { class: 'fu-label' }), h('kbd', { attrs: { 'aria-hidden': 'true' } }, 'h'))),
    h('p', { class: 'text', dataset: { field: 'text' } }),
    h('p', { class: 'orig', dataset: { field: 'original' } }, h('span', { class: 'orig-label' }), h('span', { class: 'text orig-text' })),
    h('p', { class: 'reason', dataset: { field: 'reason' } }),
    h('div', { class: 'card-meta', dataset: { field: 'followup' } },
      h('span', { class: 'badge case', dataset: { field: 'case' }, hidden: true }),
      h('span', { class: 'badge overdue', dataset: { field: 'overdue' }, hidden: true }),
      h('span', { class: 'badge public', dataset: { field: 'public' }, hidden: true }),
      h('span', { class: 'badge credit', dataset: { field: 'credit' }, hidden: true }),
      h('span', { class: 'badge carried', dataset: { field: 'carried' }, hidden: true }),
      h('span', { class: 'contact', dataset: { field: 'contact' }, hidden: true }),
      h('span', { class: 'place', dataset: { field: 'place' }, hidden: true }),
      h('span', { class: 'topic', dataset: { field: 'topic' }, hidden: true })),
    h('div', { class: 'caser', hidden: true }),
    h('div', { class: 'history', dataset: { field: 'history' }, hidden: true }),
    h('div', { class: 'editor', hidden: true },
      h('textarea', { rows: 3, dataset: { field: 'edit-text' }, attrs: { 'aria-label': t('act.edit') } }),
      h('p', { class: 'hint', dataset: { field: 'edit-note' } }),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary', dataset: { act: 'save' } }),
        h('button', { type: 'button', dataset: { act: 'cancel' } }),
        h('span', { class: 'hint edit-count' }))),
    h('div', { class: 'rejector', hidden: true },
      h('input', { dataset: { field: 'reject-reason' }, maxLength: 200 }),
      h('div', { class: 'reasons', dataset: { field: 'reasons' }, attrs: { role: 'group' } }),
      h('p', { class: 'hint', dataset: { field: 'reject-hint' } }),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'danger', dataset: { act: 'reject-confirm' } }),
        h('button', { type: 'button', dataset: { act: 'cancel' } }))),
    h('div', { class: 'actions row' }));
  el.addEventListener('dragstart', onDragStart);
  el.addEventListener('dragend', onDragEnd);
  return el;
}

/** What a moderator may do with a question in each status: the card's buttons in order, with
 *  their look. `merge-into` shows while another question is being merged, `up` and `down` move
 *  it in the queue (so does dragging), `assign` is the speaker menu after the buttons. The hub's
 *  rule is `Transition::allowed_from` in src/domain/question.rs; tests/it/moderator_page.rs checks
 *  that this table allows the same. */
const ACTIONS = {
  pending: [['approve', 'primary'], ['reject', 'danger'], ['edit'], ['merge'], ['assign']],
  approved: [['merge-into', 'primary'], ['live', 'primary'], ['up'], ['down'], ['edit'], ['answered'], ['merge'], ['reject', 'danger'], ['assign']],
  live: [['merge-into', 'primary'], ['answered', 'primary'], ['requeue'], ['edit'], ['reject', 'danger'], ['assign']],
  answered: [['merge-into', 'primary'], ['requeue']],
  rejected: [['approve'], ['edit']],
  withdrawn: [],
  merged: [],
};
const allows = (status, act) => (ACTIONS[status] || []).some(([a]) => a === act);

function actionsFor(q) {
  const merging = ui.mergeSource && ui.mergeSource !== q.id;
  const a = (ACTIONS[q.status] || [])
    .filter(([act]) => act !== 'assign' && (act !== 'merge-into' || merging))
    .map(([act, cls]) => [act, act === 'merge-into' ? 'act.mergeInto' : `act.${act}`, cls]);
  // Beside "Reject": reject with a ready reason or a typed one (the key R).
  const r = a.findIndex(([act]) => act === 'reject');
  if (r >= 0) a.splice(r + 1, 0, ['reject-reason', 'act.rejectReason', 'danger subtle']);
  // Credit the channel on the lower third (key c): for the queue and the question on air, when
  // there is a channel or a station to name.
  if (creditable(q)) a.push(['credit', 'act.credit', 'credit-btn']);
  if (q.author && ['pending', 'rejected', 'approved'].includes(q.status)) {
    a.push(q.banned ? ['unban', 'act.unban'] : ['ban', 'act.ban', 'danger subtle']);
    // `address_banned` is null when the network the question came from is not known. Banning
    // the address is the next step after banning the device (an abuser back with new devices),
    // so it is offered once the device is banned, and to lift an address ban.
    if (typeof q.address_banned === 'boolean' && (q.banned || q.address_banned)) {
      a.push(q.address_banned ? ['unban-address', 'act.unbanAddress'] : ['ban-address', 'act.banAddress', 'danger subtle']);
    }
  }
  return a;
}

const KEYS = { approve: 'a', reject: 'r', 'reject-reason': 'R', edit: 'e', live: 'l', answered: 'd', requeue: 'u', merge: 'm', forward: 'f', history: 'h', credit: 'c' };

/** A question whose channel and station may be credited on air: queued or live, with something
 *  to name (an audience question from a phone has neither). */
const creditable = (q) => !!q && ['approved', 'live'].includes(q.status) && !!creditLine(q);

/** Where an entry came from: the radio desk (with its station) or an SMS/WhatsApp gateway. */
function updateVia(el, q) {
  const via = $('[data-field=via]', el);
  const channel = q.channel && STRINGS.id[`channel.${q.channel}`] ? t(`channel.${q.channel}`) : (q.channel || '');
  let text = '';
  if (q.via === 'desk') text = [t('via.desk'), q.station, channel].filter(Boolean).join(' · ');
  else if (q.via === 'gateway') text = [t('via.gateway'), channel].filter(Boolean).join(' · ');
  via.hidden = !text;
  if (text) via.dataset.via = q.via; else delete via.dataset.via;
  setText(via, text);
  // an entry with its own badge needs no "OPERATOR" one
  if (text) $('[data-field=source]', el).hidden = true;
  const credit = $('[data-field=credit]', el);
  const line = q.credit ? creditLine(q) : '';
  credit.hidden = !line;
  setText(credit, line ? t('card.credit', { credit: line }) : '');
  if (line) $('[data-field=followup]', el).hidden = false;
}

function updateCard(el, q) {
  el.dataset.qid = q.id;
  el.dataset.status = q.status;
  el.dataset.source = q.source;
  el.dataset.rev = String(q.rev);
  el.draggable = allows(q.status, 'up') && !ui.editing.has(q.id) && ui.casing !== q.id;
  el.setAttribute('aria-current', ui.selected === q.id ? 'true' : 'false');
  el.classList.toggle('selected', ui.selected === q.id);
  el.classList.toggle('merge-source', ui.mergeSource === q.id);
  const src = $('[data-field=source]', el);
  const srcText = q.source === 'press' ? t('src.press') : q.source === 'operator'
    ? [t('src.operator'), STRINGS.id[`channel.${q.channel}`] ? t(`channel.${q.channel}`) : q.channel, q.station].filter(Boolean).join(' · ') : '';
  setText(src, srcText);
  src.hidden = !srcText;
  setText($('[data-field=who]', el), [q.name || t('card.anon'), q.outlet].filter(Boolean).join(' · '));
  const sp = q.to && speakers().find((s) => s.id === q.to);
  setText($('[data-field=to]', el), sp ? t('card.to', { name: sp.name }) : '');
  const flags = $('[data-field=flags]', el);
  const fsig = (q.flags || []).join(',');
  if (flags.dataset.sig !== fsig + i18n.lang) {
    flags.dataset.sig = fsig + i18n.lang;
    flags.replaceChildren(...(q.flags || []).map((f) => h('span', { class: 'badge flag', dataset: { flag: f } }, STRINGS.id[`flag.${f}`] ? t(`flag.${f}`) : f)));
  }
  const banned = $('[data-field=banned]', el);
  banned.hidden = !q.banned;
  setText(banned, t('card.banned'));
  const addressBanned = $('[data-field=address-banned]', el);
  addressBanned.hidden = q.address_banned !== true;
  setText(addressBanned, t('card.addressBanned'));
  const votes = $('[data-field=votes]', el);
  setText(votes, q.votes ? t('card.votes', { n: q.votes }) : '');
  votes.dataset.votes = String(q.votes || 0);
  updateDeviceCount(el, q);
  setText($('[data-field=time]', el), clockTime(q.created_at, i18n.lang));
  $('[data-field=time]', el).dateTime = q.created_at || '';
  setText($('[data-field=text]', el), q.text);
  const orig = $('[data-field=original]', el);
  const editing = ui.editing.has(q.id);
  orig.hidden = !q.original_text;
  setText($('.orig-label', orig), t('card.original'));
  setText($('.orig-text', orig), q.original_text || '');
  const reason = $('[data-field=reason]', el);
  reason.hidden = !(q.status === 'rejected' && q.reason);
  setText(reason, q.reason ? t('card.reason') + q.reason : '');
  updateFollowup(el, q);
  updateVia(el, q);
  // editor
  const editor = $('.editor', el);
  if (editing && editor.hidden) {
    editor.hidden = false;
    const ta = $('[data-field=edit-text]', editor);
    ta.value = q.text;
    setText($('[data-act=save]', editor), t('act.save'));
    setText($('[data-act=cancel]', editor), t('act.cancel'));
    updateEditCount(ta);
    focusSoon(ta, () => ta.setSelectionRange(ta.value.length, ta.value.length));
  } else if (!editing && !editor.hidden) {
    editor.hidden = true;
  }
  if (editing) setText($('[data-field=edit-note]', editor), ui.editing.get(q.id) !== q.rev ? t('card.changedWhileEditing') : t('card.editHint'));
  el.classList.toggle('editing', editing);
  // reject reason
  const rej = $('.rejector', el);
  const rejecting = ui.rejecting === q.id;
  if (rejecting && rej.hidden) {
    rej.hidden = false;
    const inp = $('[data-field=reject-reason]', rej);
    inp.value = '';
    inp.placeholder = t('card.reasonPlaceholder');
    inp.setAttribute('aria-label', t('card.reasonPlaceholder'));
    setText($('[data-act=reject-confirm]', rej), t('act.rejectConfirm'));
    setText($('[data-act=cancel]', rej), t('act.cancel'));
    resetReasonPick(rej);
    focusSoon(inp);
  } else if (!rejecting) rej.hidden = true;
  if (rejecting) fillReasons(rej);
  // actions: rebuilt only when they change
  const acts = actionsFor(q);
  const sig = JSON.stringify([acts.map((x) => x[0]), q.to, speakers().map((s) => s.id + s.name), i18n.lang, q.status]);
  const row = $('.actions', el);
  if (row.dataset.sig !== sig) {
    row.dataset.sig = sig;
    const nodes = acts.map(([act, label, cls]) => h('button', { type: 'button', class: cls || '', dataset: { act } },
      t(label), KEYS[act] ? h('kbd', { attrs: { 'aria-hidden': 'true' } }, KEYS[act]) : null));
    if (allows(q.status, 'assign') && speakers().length) {
      const sel = h('select', { dataset: { act: 'assign' }, attrs: { 'aria-label': t('assign.label') } },
        h('option', { value: '' }, t('assign.none')),
        ...speakers().map((s) => h('option', { value: s.id }, `${s.name} — ${s.role}`)));
      nodes.push(sel);
    }
    row.replaceChildren(...nodes);
  }
  const cb = $('[data-act=credit]', row);
  if (cb) {
    cb.setAttribute('aria-pressed', q.credit ? 'true' : 'false');
    cb.title = t('act.creditTitle');
  }
  const sel = $('select[data-act=assign]', row);
  if (sel && sel.value !== (q.to || '')) sel.value = q.to || '';
}

/** Focus at once when the element is in the page (no keystroke may slip through
 *  to the shortcuts), else as soon as it is inserted. */
function focusSoon(el, then) {
  const go = () => { el.focus({ preventScroll: false }); if (then) then(); };
  if (el.isConnected) go(); else queueMicrotask(() => { if (el.isConnected) go(); else requestAnimationFrame(go); });
}

function updateEditCount(ta) {
  const n = textLength(ta.value);
  const c = ta.closest('.editor').querySelector('.edit-count');
  setText(c, `${n}/${MAX}`);
  c.classList.toggle('over', n > MAX);
}

// ---- follow-up: the case of a question ------------------------------------------------------
const CASE_OPEN = ['received', 'reopened', 'forwarded', 'in_progress'];
/** The case actions of the form, and the case statuses each is allowed from (docs/followup.md). */
const CASE_ACTIONS = [
  ['forward', CASE_OPEN],
  ['resolve', CASE_OPEN],
  ['decline', CASE_OPEN],
  ['reopen', ['resolved', 'declined']],
];
const caseOf = (q) => (q && q.case) || { status: 'received', agency: null, due: null, public: false };
const agencies = () => (Array.isArray(client.view.agencies) ? client.view.agencies : []);
function agencyShort(id) {
  const a = agencies().find((x) => x.id === id);
  return a ? (a.short || a.name || id) : id;
}
const pad2 = (n) => String(n).padStart(2, '0');
/** Today (this computer's calendar) plus `days`, as YYYY-MM-DD. */
function dayIso(days = 0) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}
function fmtDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ''));
  if (!m) return String(iso || '');
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return d.toLocaleDateString(i18n.lang, { day: 'numeric', month: 'short', year: m[1] === String(new Date().getFullYear()) ? undefined : 'numeric' });
}
function fmtWhen(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString(i18n.lang, { hour: '2-digit', minute: '2-digit' });
  return today ? time : `${d.toLocaleDateString(i18n.lang, { day: 'numeric', month: 'short' })} ${time}`;
}
function isOverdue(c) {
  if (typeof c.overdue === 'boolean') return c.overdue;
  return ['forwarded', 'in_progress'].includes(c.status) && !!c.due && c.due < dayIso(0);
}
const caseWord = (status) => (STRINGS.id[`case.status.${status}`] ? t(`case.status.${status}`) : String(status || ''));
const placeText = (p) => (p && p.kecamatan ? [p.kelurahan, p.kecamatan].filter(Boolean).join(', ') : '');

/** The follow-up line of a card: case status (with agency, due date, overdue), public, tracking
 *  code, the contact (moderators only), place and topic; the case form and the history. */
function updateFollowup(el, q) {
  const c = caseOf(q);
  const badge = $('[data-field=case]', el);
  const shown = !!q.case && (c.status !== 'received' || !!c.agency);
  badge.hidden = !shown;
  if (shown) {
    badge.dataset.caseStatus = c.status;
    const parts = [caseWord(c.status)];
    if (c.agency) parts.push(agencyShort(c.agency));
    if (c.due && !['resolved', 'declined'].includes(c.status)) parts.push(t('case.due', { date: fmtDate(c.due) }));
    setText(badge, parts.join(' · '));
  } else delete badge.dataset.caseStatus;
  const over = $('[data-field=overdue]', el);
  over.hidden = !(shown && isOverdue(c));
  setText(over, t('case.overdue'));
  const pub = $('[data-field=public]', el);
  pub.hidden = !c.public;
  setText(pub, t('case.public'));
  const tr = $('[data-field=tracking]', el);
  tr.hidden = !q.tracking;
  setText(tr, q.tracking || '');
  if (q.tracking) tr.title = t('case.tracking', { code: q.tracking });
  const contact = $('[data-field=contact]', el);
  contact.hidden = !q.contact;
  setText(contact, q.contact || '');
  if (q.contact) contact.title = t('case.contact', { contact: q.contact });
  const place = $('[data-field=place]', el);
  const pt = placeText(q.place);
  place.hidden = !pt;
  setText(place, pt);
  const topic = $('[data-field=topic]', el);
  topic.hidden = !q.topic;
  setText(topic, q.topic || '');
  const carried = $('[data-field=carried]', el);
  const from = q.carried_from && typeof q.carried_from === 'object' ? q.carried_from : null;
  carried.hidden = !from;
  setText(carried, from ? t('card.carried', { title: from.title || from.code || '' }) : '');
  if (from) { carried.title = t('card.carriedTitle', { title: from.title || '', code: from.code || '' }); carried.dataset.code = from.code || ''; }
  $('[data-field=followup]', el).hidden = !(shown || c.public || q.contact || pt || q.topic || from);
  setText($('[data-act=forward] .fu-label', el), t('act.forward'));
  setText($('[data-act=history] .fu-label', el), t('act.history'));
  $('[data-act=history]', el).setAttribute('aria-expanded', ui.history.has(q.id) ? 'true' : 'false');
  $('[data-act=forward]', el).setAttribute('aria-expanded', ui.casing === q.id ? 'true' : 'false');
  // the form
  const caser = $('.caser', el);
  const open = ui.casing === q.id;
  if (open && caser.hidden) {
    buildCaser(caser, q);
    caser.hidden = false;
    const first = $(caseActionsFor(q)[0] === 'forward' ? '[data-field=case-agency]' : '[data-field=case-action]', caser);
    focusSoon(first);
  } else if (!open && !caser.hidden) {
    caser.hidden = true;
    caser.replaceChildren();
  }
  if (open) refreshCaser(caser, q);
  renderHistory(el, q);
}

const caseActionsFor = (q) => CASE_ACTIONS.filter(([, from]) => from.includes(caseOf(q).status)).map(([a]) => a);

function buildCaser(box, q) {
  const field = (key, control, forActs) => h('div', { class: 'case-field', dataset: { for: forActs } }, h('label', null, t(key), control));
  box.replaceChildren(
    h('h4', null, t('case.heading')),
    field('case.action', h('select', { dataset: { field: 'case-action' } }), 'forward resolve decline reopen'),
    field('case.agency', h('select', { dataset: { field: 'case-agency' } }), 'forward'),
    h('p', { class: 'hint', dataset: { field: 'case-no-agencies', for: 'forward' }, hidden: true }, t('case.noAgencies')),
    field('case.dueLabel', h('input', { type: 'date', dataset: { field: 'case-due' }, value: dayIso(14), min: dayIso(0) }), 'forward'),
    field('case.answer', h('textarea', { rows: 3, maxLength: 2000, dataset: { field: 'case-answer' } }), 'resolve'),
    field('case.reason', h('input', { maxLength: 500, dataset: { field: 'case-reason' } }), 'decline'),
    field('case.note', h('input', { maxLength: 500, dataset: { field: 'case-note' } }), 'forward reopen'),
    h('p', { class: 'error', dataset: { field: 'case-error' }, attrs: { role: 'alert' } }),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', dataset: { act: 'case-send' } }, t('case.send')),
      h('button', { type: 'button', dataset: { act: 'case-publish' } }),
      h('button', { type: 'button', dataset: { act: 'cancel' } }, t('act.cancel'))),
    h('p', { class: 'hint' }, t('case.hint')));
  const c = caseOf(q);
  box.dataset.sig = '';
  refreshCaser(box, q);
  if (c.agency) $('[data-field=case-agency]', box).value = c.agency;
}

/** Keeps the form in step with the case (another moderator may act meanwhile) and the agencies. */
function refreshCaser(box, q) {
  const acts = caseActionsFor(q);
  const list = agencies();
  const sig = JSON.stringify([acts, list, i18n.lang]);
  if (box.dataset.sig !== sig) {
    box.dataset.sig = sig;
    const sel = $('[data-field=case-action]', box);
    const cur = sel.value;
    sel.replaceChildren(...acts.map((a) => h('option', { value: a }, t(`case.act.${a}`))));
    sel.value = acts.includes(cur) ? cur : (acts[0] || '');
    const ag = $('[data-field=case-agency]', box);
    const keep = ag.value;
    ag.replaceChildren(h('option', { value: '' }, t('case.pickAgency')),
      ...list.map((a) => h('option', { value: a.id }, a.short && a.short !== a.name ? `${a.short} — ${a.name}` : (a.name || a.id))));
    if (list.some((a) => a.id === keep)) ag.value = keep;
  }
  const action = $('[data-field=case-action]', box).value;
  for (const f of $$('[data-for]', box)) f.hidden = !f.dataset.for.split(' ').includes(action);
  $('[data-field=case-no-agencies]', box).hidden = action !== 'forward' || list.length > 0;
  $('[data-act=case-send]', box).disabled = !action;
  const pub = !!caseOf(q).public;
  const pb = $('[data-act=case-publish]', box);
  setText(pb, pub ? t('case.unpublish') : t('case.publish'));
  pb.setAttribute('aria-pressed', pub ? 'true' : 'false');
}

function caserOf(id) {
  const el = cardEl(id);
  return el ? $('.caser', el) : null;
}

function setCaseError(id, text) {
  const box = caserOf(id);
  if (box && !box.hidden) setText($('[data-field=case-error]', box), text);
  else if (text) notice(text, 'bad');
}

/** `invalid` naming one of `fields` (its `field`, or the field in its message). */
function invalidField(err, fields) {
  if (!err || err.code !== 'invalid') return null;
  const said = `${typeof err.field === 'string' ? err.field : ''} ${typeof err.message === 'string' ? err.message : ''}`;
  for (const m of said.matchAll(/[A-Za-z_]+/g)) {
    const w = m[0];
    if (fields.includes(w)) return w === 'kecamatan' || w === 'kelurahan' ? 'place' : w;
  }
  return null;
}

/** The hub's answer to a case command or an entry, in words (the English console adds the hub's
 *  own message; the Indonesian one never shows it). */
function caseErrorText(err) {
  const message = (err && typeof err.message === 'string' && err.message) || '';
  const f = invalidField(err, ['agency', 'due', 'note', 'answer', 'reason', 'contact', 'place', 'kecamatan', 'kelurahan', 'topic']);
  if (f) return t(`case.bad.${f}`, { message });
  if (err && (err.code === 'conflict' || err.code === 'not_found')) return t(`case.${err.code}`, { message });
  return errorText(err);
}

function caseDone(frame) {
  if (frame.action === 'forward') return t('case.done.forward', { agency: agencyShort(frame.agency) });
  if (frame.action === 'publish') return t(frame.public ? 'case.done.publish' : 'case.done.unpublish');
  return t(`case.done.${frame.action}`);
}

function sendCaseFrame(id, frame) {
  return client.send({ type: 'case', question: id, ...frame }).then(() => {
    notice(caseDone(frame), 'good');
    if (ui.history.has(id)) loadHistory(id);
  });
}

function sendCase(id) {
  const box = caserOf(id);
  if (!box || box.hidden) return;
  const val = (f) => $(`[data-field=${f}]`, box).value.trim();
  const action = val('case-action');
  const frame = { action };
  let need = null;
  if (action === 'forward') {
    frame.agency = val('case-agency');
    if (!frame.agency) need = ['agency', 'case-agency'];
    if (val('case-due')) frame.due = val('case-due');
    if (val('case-note')) frame.note = val('case-note');
  } else if (action === 'resolve') {
    frame.answer = val('case-answer');
    if (!frame.answer) need = ['answer', 'case-answer'];
  } else if (action === 'decline') {
    frame.reason = val('case-reason');
    if (!frame.reason) need = ['reason', 'case-reason'];
  } else if (action === 'reopen') {
    if (val('case-note')) frame.note = val('case-note');
  } else return;
  if (need) {
    setText($('[data-field=case-error]', box), t(`case.need.${need[0]}`));
    $(`[data-field=${need[1]}]`, box).focus();
    return;
  }
  setText($('[data-field=case-error]', box), '');
  $('[data-act=case-send]', box).disabled = true;
  sendCaseFrame(id, frame).then(() => {
    if (ui.casing === id) ui.casing = null;
    schedule();
    queueMicrotask(() => select(id));
  }, (err) => {
    setCaseError(id, caseErrorText(err));
    const b = caserOf(id);
    if (b) $('[data-act=case-send]', b).disabled = false;
  });
}

function togglePublish(id) {
  const q = Q(id);
  if (!q) return;
  const frame = { action: 'publish', public: !caseOf(q).public };
  sendCaseFrame(id, frame).catch((err) => setCaseError(id, caseErrorText(err)));
}

// ---- who did what: the history of a question --------------------------------------------------
const sessionRef = () => (client.view.session && client.view.session.id) || sessionId;
const authHeaders = () => ({ Authorization: `Bearer ${client.key}`, Accept: 'application/json' });

function toggleHistory(id) {
  if (ui.history.has(id)) { ui.history.delete(id); schedule(); return; }
  loadHistory(id);
}

async function loadHistory(id) {
  const before = ui.history.get(id);
  ui.history.set(id, { state: 'loading', entries: before ? before.entries : null });
  schedule();
  try {
    const r = await fetch(`/api/sessions/${encodeURIComponent(sessionRef())}/questions/${encodeURIComponent(id)}/history`, { headers: authHeaders() });
    if (!r.ok) throw new Error(String(r.status));
    const body = await r.json();
    if (!ui.history.has(id)) return;
    ui.history.set(id, { state: 'ready', entries: Array.isArray(body.history) ? body.history : [] });
  } catch {
    if (!ui.history.has(id)) return;
    ui.history.set(id, { state: 'failed', entries: null });
  }
  schedule();
}

function byText(by) {
  if (!by || typeof by !== 'object') return '';
  const role = by.role && STRINGS.id[`history.role.${by.role}`] ? t(`history.role.${by.role}`) : (by.role || '');
  const what = [role, by.agency ? agencyShort(by.agency) : ''].filter(Boolean).join(' ');
  if (by.name) return what ? `${by.name} (${what})` : by.name;
  return what;
}

function historyItem(e) {
  const action = String(e.action || '');
  let what = STRINGS.id[`history.${action}`] ? t(`history.${action}`) : action;
  if (e.agency) what += ` (${agencyShort(typeof e.agency === 'object' ? e.agency.id || e.agency.short : e.agency)})`;
  const word = STRINGS.id[`history.${action}`] ? t(`history.${action}`) : action;
  const status = e.case_status ? caseWord(e.case_status) : '';
  return h('li', { dataset: { action } },
    h('time', { dateTime: e.at || '' }, fmtWhen(e.at)),
    h('span', { class: 'h-who', dataset: { field: 'by' } }, byText(e.by)),
    h('span', { class: 'h-what' }, status && status !== word && action !== 'publish' ? `${what} → ${status}` : what),
    e.text ? h('span', { class: 'h-text' }, String(e.text)) : null);
}

function renderHistory(el, q) {
  const box = $('[data-field=history]', el);
  const st = ui.history.get(q.id);
  box.hidden = !st;
  if (!st) { if (box.firstChild) { box.replaceChildren(); delete box.dataset.sig; } return; }
  const sig = JSON.stringify([st, i18n.lang, agencies()]);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.dataset.state = st.state;
  const head = h('div', { class: 'row' }, h('h4', { class: 'grow' }, t('history.heading')),
    h('button', { type: 'button', class: 'subtle', dataset: { act: 'history' }, attrs: { 'aria-label': t('history.close') } }, '×'));
  let body;
  if (st.entries && st.entries.length) body = h('ol', { class: 'history-list' }, ...st.entries.map(historyItem));
  else if (st.state === 'ready') body = h('p', { class: 'hint' }, t('history.empty'));
  else if (st.state === 'failed') body = h('p', { class: 'error' }, t('history.failed'));
  else body = null;
  box.replaceChildren(...[head, body, st.state === 'loading' ? h('p', { class: 'hint' }, t('history.loading')) : null].filter(Boolean));
}

// ---- the moderator's name -------------------------------------------------------------------
function renderName() {
  const b = $('#mod-name-btn');
  setText(b, client.name ? t('name.button', { name: client.name }) : t('name.none'));
  if (client.name) b.setAttribute('aria-label', t('name.buttonLabel', { name: client.name })); else b.removeAttribute('aria-label');
  b.classList.toggle('unset', !client.name);
}

function openNameDialog(focus) {
  const d = $('#name-dialog');
  $('#mod-name').value = client.name || '';
  setText($('#name-error'), '');
  // Not modal: the console stays usable behind it. At the start it takes no focus, so that no
  // shortcut key is typed into the name (show() would focus the field).
  const before = document.activeElement;
  if (!d.open) d.show();
  if (focus) $('#mod-name').focus();
  else if (before && before !== document.body && before.isConnected) before.focus({ preventScroll: true });
  else if (d.contains(document.activeElement)) document.activeElement.blur();
}

function closeNameDialog() {
  const d = $('#name-dialog');
  if (d.open) d.close();
}

function saveName(e) {
  e.preventDefault();
  const v = $('#mod-name').value.trim().slice(0, NAME_MAX);
  if (!v) { setText($('#name-error'), t('name.empty')); $('#mod-name').focus(); return; }
  store.set('moderator-name', v);
  const changed = v !== client.name;
  client.name = v;
  closeNameDialog();
  renderName();
  notice(t('name.saved', { name: v }), 'good');
  // The name goes in the hello: reconnect once (the console resumes where it was).
  if (changed && client.ws) client.dropConnection();
}

function setupName() {
  $('#name-form').addEventListener('submit', saveName);
  $('#name-later').addEventListener('click', closeNameDialog);
  $('#mod-name').addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closeNameDialog(); } });
  $('#mod-name-btn').addEventListener('click', () => openNameDialog(true));
  renderName();
  if (!client.name && (sessionId || programme) && key) openNameDialog(false);
}

// ---- carry over from the previous episode of a programme ----------------------------------------
// GET /api/sessions/{id}/carry: the previous episode's queued questions never answered, not carried
// yet; the panel shows only when there are some. POST carries the ticked ones: they arrive as
// ordinary `question` events, with their tracking codes.
const carry = { session: null, from: null, questions: [], loading: false, status: null };

function carrySession() {
  const s = client.view.session;
  return s && s.id && s.programme ? s.id : null;
}

async function loadCarry() {
  const id = carrySession();
  if (!id) { carry.session = null; carry.questions = []; carry.from = null; renderCarry(); return; }
  if (carry.session !== id) { carry.session = id; carry.questions = []; carry.from = null; carry.status = null; }
  carry.loading = true;
  try {
    const r = await fetch(`/api/sessions/${encodeURIComponent(id)}/carry`, { headers: authHeaders(), cache: 'no-store' });
    if (!r.ok) throw new Error(String(r.status));
    const body = await r.json();
    if (carry.session !== id) return;
    carry.from = body && body.from && typeof body.from === 'object' ? body.from : null;
    carry.questions = body && Array.isArray(body.questions) ? body.questions.filter((q) => q && q.id) : [];
  } catch {
    if (carry.session !== id) return;
    carry.questions = [];
  } finally {
    carry.loading = false;
  }
  renderCarry();
}

function renderCarry() {
  const panel = $('#carry-panel');
  const list = carry.questions;
  panel.hidden = list.length === 0 && !carry.status;
  const from = carry.from;
  setText($('#carry-from'), from && from.title ? t('carry.from', { title: from.title }) : t('carry.fromUnknown'));
  $('#carry-from').hidden = list.length === 0;
  $('#carry-all').closest('label').hidden = list.length === 0;
  $('#carry-submit').closest('.row').hidden = list.length === 0;
  syncList($('#carry-list'), list, (q) => q.id, (q) => {
    const id = `carry-${q.id}`;
    return h('li', { dataset: { qid: q.id } },
      h('label', { attrs: { for: id } },
        h('input', { type: 'checkbox', id, value: q.id }),
        h('span', { class: 'grow' }, h('span', { class: 'text carry-text' }), h('span', { class: 'carry-meta' }))));
  }, (li, q) => {
    setText($('.carry-text', li), q.text || '');
    const meta = [q.name || t('card.anon'), q.tracking || '', q.votes ? t('carry.votes', { n: q.votes }) : ''].filter(Boolean).join(' · ');
    setText($('.carry-meta', li), meta);
  });
  const boxes = $$('#carry-list input[type=checkbox]');
  const ticked = boxes.filter((b) => b.checked).length;
  const all = $('#carry-all');
  all.checked = boxes.length > 0 && ticked === boxes.length;
  all.indeterminate = ticked > 0 && ticked < boxes.length;
  const st = $('#carry-status');
  setText(st, carry.status ? carry.status() : '');
}

function carryStatus(text) {
  carry.status = text;
  renderCarry();
}

async function submitCarry() {
  const id = carrySession();
  const ids = $$('#carry-list input[type=checkbox]').filter((b) => b.checked).map((b) => b.value);
  if (!id) return;
  if (!ids.length) { carryStatus(() => t('carry.none')); return; }
  const btn = $('#carry-submit');
  btn.disabled = true;
  carryStatus(() => t('carry.busy'));
  try {
    const r = await fetch(`/api/sessions/${encodeURIComponent(id)}/carry`, {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ questions: ids }),
    });
    let body = null;
    try { body = await r.json(); } catch { body = null; }
    if (!r.ok) {
      const e = body && typeof body.error === 'object' && body.error ? body.error : { code: body && body.error, message: body && body.message };
      throw { code: (typeof e.code === 'string' && e.code) || (r.status === 401 ? 'unauthorized' : r.status === 404 ? 'not_found' : 'internal'), message: e.message || '' };
    }
    const n = Array.isArray(body && body.carried) ? body.carried.length : ids.length;
    const skipped = Array.isArray(body && body.skipped) ? body.skipped.length : 0;
    carryStatus(() => [t('carry.done', { n }), skipped ? t('carry.skipped', { n: skipped }) : ''].filter(Boolean).join(' '));
    await loadCarry();
  } catch (err) {
    carryStatus(() => t('carry.failed', { error: err && err.code ? errorText(err) : t('report.failed') }));
  } finally {
    btn.disabled = false;
  }
}

function setupCarry() {
  $('#carry-all').addEventListener('change', (e) => {
    for (const b of $$('#carry-list input[type=checkbox]')) b.checked = e.target.checked;
    renderCarry();
  });
  $('#carry-list').addEventListener('change', () => renderCarry());
  $('#carry-submit').addEventListener('click', submitCarry);
  // each welcome of a new socket (a new episode, or a reconnect): the list again
  client.on('welcome', (m) => { if (!m.resumed || carry.session !== carrySession()) loadCarry(); });
}

// ---- a programme link: another episode, or none -------------------------------------------------
function setupProgramme() {
  if (!programme) return;
  client.on('episode', () => {
    // nothing of the old episode may be acted on: selection, open forms, history, merge
    ui.selected = null;
    ui.editing.clear();
    ui.rejecting = null;
    ui.casing = null;
    ui.history.clear();
    if (ui.mergeSource) endMerge();
    carry.session = null; carry.questions = []; carry.from = null; carry.status = null;
    renderCarry();
    notice(t('programme.switched'), 'good');
  });
  client.on('noepisode', () => { carry.session = null; carry.questions = []; carry.status = null; renderCarry(); renderProgrammeWait(); });
  client.on('welcome', renderProgrammeWait);
}

function renderProgrammeWait() {
  const el = $('#programme-wait');
  el.hidden = !(programme && client.noEpisode);
  setText(el, el.hidden ? '' : t('programme.noEpisode'));
  if (!el.hidden) { setText($('#session-title'), ''); setText($('#session-status'), ''); }
}

// ---- report and downloads (the key goes in a header, never in an address) ---------------------
function renderReportLink() {
  const a = $('#report-link');
  const href = `/r/${encodeURIComponent(sessionRef())}#k=${encodeURIComponent(client.key || '')}`;
  if (a.getAttribute('href') !== href) a.setAttribute('href', href);
}

function fileNameOf(disposition) {
  const s = String(disposition || '');
  const star = /filename\*=(?:UTF-8'')?([^;]+)/i.exec(s);
  if (star) { try { return decodeURIComponent(star[1].trim().replace(/^"|"$/g, '')); } catch { /* fall through */ } }
  const plain = /filename="?([^";]+)"?/i.exec(s);
  return plain ? plain[1].trim() : '';
}

async function download(format) {
  const st = $('#export-status');
  setText(st, t('report.downloading'));
  const query = format === 'xlsx' ? 'format=xlsx' : 'format=csv&layout=office';
  try {
    const r = await fetch(`/api/sessions/${encodeURIComponent(sessionRef())}/export?${query}`, { headers: { Authorization: `Bearer ${client.key}` } });
    if (!r.ok) {
      let body = {};
      try { body = await r.json(); } catch { /* not JSON */ }
      const e = body && typeof body.error === 'object' && body.error ? body.error : { code: body && body.error, message: body && body.message };
      throw { code: (typeof e.code === 'string' && e.code) || (r.status === 401 ? 'unauthorized' : 'internal'), message: e.message || '' };
    }
    const blob = await r.blob();
    const code = (client.view.session && client.view.session.code) || 'sesi';
    const file = fileNameOf(r.headers.get('Content-Disposition')) || `tanya-${code}.${format}`;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: file, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    setText(st, t('report.done', { file }));
  } catch (err) {
    setText(st, err && err.code ? errorText(err) : t('report.failed'));
  }
}

// ---- places and topics for the operator's entry ------------------------------------------------
let fuOptions = null;
let fuLoading = null;
function loadOptions() {
  if (fuOptions || fuLoading) return;
  fuLoading = fetch('/api/followup/options', { headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
    .then((body) => {
      if (!body || !Array.isArray(body.places) || !Array.isArray(body.topics)) throw new Error('bad body');
      fuOptions = body;
      renderOpOptions();
    })
    .catch(() => { fuLoading = null; });
}

function fillSelect(sel, first, values) {
  const sig = JSON.stringify([first, values]);
  if (sel.dataset.sig === sig) return;
  sel.dataset.sig = sig;
  const cur = sel.value;
  sel.replaceChildren(h('option', { value: '' }, first), ...values.map((v) => h('option', { value: v }, v)));
  sel.value = values.includes(cur) ? cur : '';
}

function renderOpOptions() {
  if (!fuOptions) return;
  fillSelect($('#op-kecamatan'), t('fu.pickKecamatan'), fuOptions.places.filter((p) => p && typeof p.kecamatan === 'string').map((p) => p.kecamatan));
  renderOpKelurahan();
  fillSelect($('#op-topic'), t('fu.pickTopic'), fuOptions.topics.filter((x) => typeof x === 'string'));
}

function renderOpKelurahan() {
  const kec = $('#op-kecamatan').value;
  const p = fuOptions && fuOptions.places.find((x) => x && x.kecamatan === kec);
  const list = p && Array.isArray(p.kelurahan) ? p.kelurahan.filter((x) => typeof x === 'string') : [];
  fillSelect($('#op-kelurahan'), t('fu.pickKelurahan'), list);
  $('#op-kelurahan').disabled = !kec || !list.length;
}

/** The operator entry's optional contact, place and topic (empty ones left out). */
function opFollowup() {
  const out = {};
  const contact = $('#op-contact').value.trim();
  if (contact) out.contact = contact;
  const kec = $('#op-kecamatan').value;
  if (kec) {
    out.place = { kecamatan: kec };
    if ($('#op-kelurahan').value) out.place.kelurahan = $('#op-kelurahan').value;
  }
  if ($('#op-topic').value) out.topic = $('#op-topic').value;
  return out;
}

// ---- the session's start time (Asia/Jakarta, WIB, UTC+7 all year) ----------------------------
// ---- editing the session: title, speakers, start time ("Ubah sesi") -----------------------------
const SPEAKERS_MAX = 20;
function speakerRow(sp = {}) {
  const n = document.querySelectorAll('#edit-speakers li').length + 1;
  const li = h('li', { class: 'edit-speaker', dataset: { speakerId: sp.id || '' } },
    h('input', { name: 'edit-speaker-name', maxLength: 100, value: sp.name || '', autocomplete: 'off' }),
    h('input', { name: 'edit-speaker-role', maxLength: 100, value: sp.role || '', autocomplete: 'off' }),
    h('button', { type: 'button', class: 'subtle', dataset: { speakerAct: 'up' } }, '↑'),
    h('button', { type: 'button', class: 'subtle', dataset: { speakerAct: 'down' } }, '↓'),
    h('button', { type: 'button', class: 'danger subtle', dataset: { speakerAct: 'remove' } }, t('edit.remove')));
  labelSpeakerRow(li, n);
  return li;
}
function labelSpeakerRow(li, n) {
  const who = t('edit.speakerN', { n });
  $('[name=edit-speaker-name]', li).setAttribute('aria-label', `${who}: ${t('edit.name')}`);
  $('[name=edit-speaker-name]', li).placeholder = t('edit.name');
  $('[name=edit-speaker-role]', li).setAttribute('aria-label', `${who}: ${t('edit.role')}`);
  $('[name=edit-speaker-role]', li).placeholder = t('edit.role');
  $('[data-speaker-act=up]', li).setAttribute('aria-label', `${who}: ${t('edit.up')}`);
  $('[data-speaker-act=down]', li).setAttribute('aria-label', `${who}: ${t('edit.down')}`);
  $('[data-speaker-act=remove]', li).setAttribute('aria-label', `${who}: ${t('edit.remove')}`);
}
function renumberSpeakers() {
  const rows = $$('#edit-speakers li');
  rows.forEach((li, i) => {
    labelSpeakerRow(li, i + 1);
    $('[data-speaker-act=up]', li).disabled = i === 0;
    $('[data-speaker-act=down]', li).disabled = i === rows.length - 1;
  });
  $('#edit-add-speaker').disabled = rows.length >= SPEAKERS_MAX;
}

function openSessionEdit() {
  const s = client.view.session;
  if (!s) return;
  $('#edit-title').value = s.title || '';
  $('#edit-start').value = startInput(s.starts_at);
  $('#edit-speakers').replaceChildren(...(s.speakers || []).map((sp) => speakerRow(sp)));
  renumberSpeakers();
  setText($('#edit-error'), '');
  $('#edit-save').disabled = false;
  const dlg = $('#session-dialog');
  if (!dlg.open) dlg.showModal();
  $('#edit-title').focus();
}

/** The fields that changed, as the `session` command takes them (the speakers as the whole list,
 *  each kept speaker with its id); null when a field is missing. */
function sessionEdits() {
  const s = client.view.session || {};
  const title = $('#edit-title').value.trim();
  if (!title || textLength(title) > 200) return { need: 'edit.needTitle', focus: '#edit-title' };
  const speakersOut = [];
  for (const li of $$('#edit-speakers li')) {
    const name = $('[name=edit-speaker-name]', li).value.trim();
    const role = $('[name=edit-speaker-role]', li).value.trim();
    if (!name && !role) continue;
    if (!name || !role) return { need: 'edit.needSpeaker', focus: li.querySelector(name ? '[name=edit-speaker-role]' : '[name=edit-speaker-name]') };
    const sp = { name, role };
    if (li.dataset.speakerId) sp.id = li.dataset.speakerId;
    speakersOut.push(sp);
  }
  const frame = { type: 'session' };
  if (title !== s.title) frame.title = title;
  const before = (s.speakers || []).map((x) => ({ id: x.id, name: x.name, role: x.role }));
  if (JSON.stringify(before) !== JSON.stringify(speakersOut.map((x) => ({ id: x.id, name: x.name, role: x.role })))) frame.speakers = speakersOut;
  const start = startValue($('#edit-start').value);
  if (start !== (s.starts_at ? startValue(startInput(s.starts_at)) : '')) frame.starts_at = start;
  return { frame };
}

function editErrorText(err) {
  const f = invalidField(err, ['title', 'speakers', 'starts_at']);
  const message = (err && typeof err.message === 'string' && err.message) || '';
  if (f) return t(`edit.bad.${f}`) + (i18n.lang === 'en' && message ? ` (${message})` : '');
  return errorText(err);
}

async function saveSessionEdit(e) {
  e.preventDefault();
  const r = sessionEdits();
  if (r.need) {
    setText($('#edit-error'), t(r.need));
    const f = typeof r.focus === 'string' ? $(r.focus) : r.focus;
    if (f) f.focus();
    return;
  }
  if (Object.keys(r.frame).length === 1) { $('#session-dialog').close(); notice(t('edit.nothing')); return; }
  setText($('#edit-error'), '');
  $('#edit-save').disabled = true;
  try {
    await client.send(r.frame);
    $('#session-dialog').close();
    notice(t('edit.saved'), 'good');
  } catch (err) {
    setText($('#edit-error'), editErrorText(err));
  } finally {
    $('#edit-save').disabled = false;
  }
}

function setupSessionEdit() {
  $('#session-edit').addEventListener('click', openSessionEdit);
  $('#edit-form').addEventListener('submit', saveSessionEdit);
  $('#edit-cancel').addEventListener('click', () => $('#session-dialog').close());
  $('#edit-start-clear').addEventListener('click', () => { $('#edit-start').value = ''; });
  $('#edit-add-speaker').addEventListener('click', () => {
    if ($$('#edit-speakers li').length >= SPEAKERS_MAX) return;
    const li = speakerRow();
    $('#edit-speakers').append(li);
    renumberSpeakers();
    $('[name=edit-speaker-name]', li).focus();
  });
  $('#edit-speakers').addEventListener('click', (e) => {
    const b = e.target.closest('[data-speaker-act]');
    if (!b) return;
    const li = b.closest('li');
    const act = b.dataset.speakerAct;
    if (act === 'remove') {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      (next ? $('[name=edit-speaker-name]', next) : $('#edit-add-speaker')).focus();
    } else if (act === 'up' && li.previousElementSibling) {
      li.previousElementSibling.before(li);
    } else if (act === 'down' && li.nextElementSibling) {
      li.nextElementSibling.after(li);
    }
    renumberSpeakers();
    if (act !== 'remove') (b.disabled ? $(`[data-speaker-act=${act === 'up' ? 'down' : 'up'}]`, li) : b).focus();
  });
}

// ---- render ----------------------------------------------------------------
let queued = false;
function schedule() {
  if (queued) return;
  queued = true;
  queueMicrotask(() => { queued = false; render(); });
}

function render() {
  const v = client.view;
  const s = v.session;
  if (s) {
    setText($('#session-title'), s.title);
    document.title = `${s.title} · Tanya moderator`;
    const start = $('#session-start');
    const when = startText(s.starts_at, i18n.lang);
    start.hidden = !when;
    // short in the bar ("18 Des 2026 19.00 WIB"), in full when pointed at
    setText(start, when ? startText(s.starts_at, i18n.lang, true) : '');
    start.title = when ? t('start.label', { when }) : '';
    if (s.starts_at) start.dataset.startsAt = s.starts_at; else delete start.dataset.startsAt;
    const st = $('#session-status');
    st.dataset.status = s.status;
    setText(st, t(`status.${s.status}`));
    for (const b of $$('[data-status]', $('.bar-group'))) b.setAttribute('aria-pressed', b.dataset.status === s.status ? 'true' : 'false');
    renderLinks(s);
    renderOpTo();
  }
  renderReportLink();
  renderPolls();
  const L = lists();
  if (ui.selected && !Q(ui.selected)) ui.selected = null;
  if (ui.mergeSource && !allows((Q(ui.mergeSource) || {}).status, 'merge')) endMerge();
  countDevices();
  const S = shownLists(L);
  for (const col of ['pending', 'approved', 'live', 'answered', 'rejected']) {
    syncList($(`#col-${col}`), S[col], (q) => q.id, createCard, updateCard);
    const empty = $(`#empty-${col}`);
    if (empty) empty.hidden = L[col].length > 0;
  }
  // a card the filters hide is not selected: the keys never act on what cannot be seen
  if (ui.selected && !cardEl(ui.selected)) ui.selected = null;
  const n = (col) => (S[col].length === L[col].length ? L[col].length : `${S[col].length}/${L[col].length}`);
  setText($('#n-pending'), n('pending'));
  setText($('#n-approved'), n('approved'));
  setText($('#n-answered'), n('answered'));
  setText($('#n-rejected'), n('rejected'));
  renderFilterState(L, S);
  setText($('#count-pending'), L.pending.length);
  setText($('#count-approved'), L.approved.length);
  setText($('#count-answered'), L.answered.length);
  setText($('#count-rejected'), L.rejected.length);
  const p = v.presence;
  if (p) {
    setText($('#presence-audience'), (p.audience || 0) + (p.press || 0));
    setText($('#presence-moderator'), p.moderator || 0);
    setText($('#presence-screen'), p.screen || 0);
    setText($('#presence-overlay'), p.overlay || 0);
  }
  $('#next-btn').disabled = L.approved.length === 0;
  renderOverlay(L.live[0] || null);
}

let previewSig = '';
function renderOverlay(live) {
  const o = client.view.overlay || { visible: false, question: null };
  const onAir = !!o.visible;
  const state = $('#overlay-state');
  state.dataset.visible = onAir ? 'true' : 'false';
  setText(state, onAir ? t('overlay.onAir') : t('overlay.off'));
  const q = o.question || live;
  const data = airData(q, speakers());
  setText($('#overlay-caption'), !q ? t('overlay.captionNone') : onAir ? t('overlay.captionOnAir') : t('overlay.captionPreview'));
  const box = $('#overlay-preview');
  box.dataset.empty = q ? 'false' : 'true';
  box.dataset.visible = onAir ? 'true' : 'false';
  const sig = JSON.stringify(data);
  if (sig !== previewSig) {
    previewSig = sig;
    const lt = previewLt();
    if (q) fillLowerThird(lt, data);
    lt.classList.toggle('on', !!q);
  }
  $('#overlay-take').disabled = !live || onAir;
  $('#overlay-clear').disabled = !onAir && !o.graphic && !o.poll;
  renderOnAirTools(live);
  renderStage();
}

let ltEl = null;
function previewLt() {
  if (!ltEl) {
    ltEl = buildLowerThird();
    ltEl.id = 'preview-lower-third';
    for (const x of ltEl.querySelectorAll('[id]')) x.id = `preview-${x.id}`;
    $('#preview-stage').appendChild(ltEl);
    const stagePos = new URLSearchParams(location.search).get('pos');
    if (stagePos) $('#preview-stage').dataset.pos = stagePos;
    const ro = new ResizeObserver(() => {
      const w = $('#overlay-preview').clientWidth;
      $('#preview-stage').style.setProperty('--stage-scale', String(w / 1920));
    });
    ro.observe($('#overlay-preview'));
  }
  return ltEl;
}

// ---- polls -----------------------------------------------------------------
function renderPolls() {
  const polls = Array.from(client.view.polls.values()).sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  syncList($('#poll-list'), polls, (p) => p.id, createPollItem, updatePollItem);
}

function createPollItem(p) {
  const li = h('li', { class: 'poll-item', dataset: { pollId: p.id } },
    h('div', { class: 'poll-head' },
      h('span', { class: 'badge', dataset: { field: 'status' } }),
      h('strong', { dataset: { field: 'question' } }),
      h('span', { class: 'hint', dataset: { field: 'total' } })),
    h('ol', { class: 'poll-results', dataset: { field: 'options' } }),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', dataset: { pollAct: 'open' }, onclick: () => pollCmd('open', p.id) }),
      h('button', { type: 'button', dataset: { pollAct: 'close' }, onclick: () => pollCmd('close', p.id) }),
      h('button', { type: 'button', class: 'danger subtle', dataset: { pollAct: 'delete' }, onclick: () => pollCmd('delete', p.id) }),
      h('button', { type: 'button', class: 'onair', dataset: { pollAct: 'show' }, onclick: () => pollCmd('show', p.id) }),
      h('button', { type: 'button', dataset: { pollAct: 'hide' }, onclick: () => pollCmd('hide', p.id) })));
  updatePollItem(li, p);
  return li;
}

function updatePollItem(li, p) {
  li.dataset.status = p.status;
  setText($('[data-field=status]', li), t(`poll.status.${p.status}`));
  setText($('[data-field=question]', li), p.question);
  const total = p.options.reduce((n, o) => n + (o.count || 0), 0);
  setText($('[data-field=total]', li), t('poll.total', { n: total }));
  $('[data-field=options]', li).replaceChildren(...p.options.map((o) => {
    const pct = total ? Math.round((100 * (o.count || 0)) / total) : 0;
    return h('li', { dataset: { count: String(o.count || 0) } },
      h('span', { class: 'poll-opt' }, `${o.text} — ${o.count || 0} (${pct}%)`),
      h('span', { class: 'poll-bar' }, h('span', { class: 'poll-fill', style: `width:${pct}%` })));
  }));
  const onAir = !!(client.view.overlay && client.view.overlay.poll && client.view.overlay.poll.id === p.id);
  li.dataset.onAir = onAir ? 'true' : 'false';
  for (const [act, show] of [['open', p.status !== 'open'], ['close', p.status === 'open'], ['delete', p.status === 'draft'],
    ['show', p.status !== 'draft' && !onAir], ['hide', onAir]]) {
    const b = $(`[data-poll-act=${act}]`, li);
    b.hidden = !show;
    setText(b, t(`poll.${act}`));
  }
}

function pollCmd(action, poll) {
  return cmd({ type: 'poll', action, poll }).catch(() => {});
}

async function onPollCreate(e) {
  e.preventDefault();
  const question = $('#poll-question').value;
  const options = $('#poll-options').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const results = $('#poll-after-close').checked ? 'after_close' : 'live';
  $('#poll-create').disabled = true;
  try {
    await cmd({ type: 'poll', action: 'create', ref: crypto.randomUUID(), question, options, results });
    $('#poll-question').value = '';
    $('#poll-options').value = '';
    $('#poll-after-close').checked = false;
    setText($('#poll-status'), t('poll.created'));
  } catch (err) {
    setText($('#poll-status'), errorText(err));
  } finally {
    $('#poll-create').disabled = false;
  }
}

/** On a programme link: the programme's links (`session.programme.links`, keys in fragments),
 *  which follow the current episode; else null (an episode's own link shows the episode's). */
function programmeLinks(s = client.view.session) {
  return programme && s && s.programme && s.programme.links ? s.programme.links : null;
}

const keyInLink = (link) => { try { return new URLSearchParams(new URL(link).hash.slice(1)).get('k'); } catch { return null; } };

function renderLinks(s) {
  // On a programme link the crew keeps the programme's links (vMix/OBS, posters), not this
  // episode's own: they are the ones shown, copied and renewed here.
  const prog = programmeLinks(s);
  const links = prog || s.links || {};
  $('#programme-links').hidden = !prog;
  const origin = location.origin;
  const set = (id, v) => { const el = $(id); if (el.value !== v) el.value = v || ''; };
  set('#link-audience', links.audience || `${origin}/j/${s.code}`);
  set('#link-press', links.press || '');
  set('#link-screen', links.screen || '');
  set('#link-overlay', links.overlay || '');
  set('#link-moderator', links.moderator || '');
  set('#link-desk', links.desk || '');
  set('#link-intake', links.intake || '');
  const kinds = ['press', 'screen', 'overlay', 'moderator', 'desk', 'intake'];
  for (const k of kinds) $(`#link-${k}`).closest('.row').previousElementSibling.hidden = !links[k];
  for (const k of kinds) $(`#link-${k}`).closest('.row').hidden = !links[k];
  $('#intake-hint').hidden = !links.intake;
  // This console rotated the moderator key: it keeps its socket and takes the new key, so that a
  // reconnect or a reload in this tab still gets in. On a programme link that is the programme's
  // new moderator key (the links shown are the programme's); never the episode's own key, which
  // would not follow the next episode.
  const mine = (prog || !programme) && links.moderator && keyInLink(links.moderator);
  if (mine && mine !== client.key) { client.key = mine; storePageKey(mine); }
  // An episode of a programme shows the programme's join code and its QR code (its page never
  // changes, so a printed poster keeps working).
  const joinCode = (s.join && s.join.code) || s.code;
  const qrName = s.programme ? ((s.join && s.join.code) || s.programme.slug) : s.code;
  const qr = $('#qr');
  const src = `/qr/${encodeURIComponent(qrName)}.svg`;
  if (qr.getAttribute('src') !== src) { qr.src = src; qr.alt = `QR ${joinCode}`; }
  setText($('#join-code'), joinCode);
  $('#join-code').toggleAttribute('data-long', String(joinCode).length > 6);
  // the join address comes from the hub's public address (`join.url`), never from this page's
  const joinUrl = (s.join && s.join.url) || links.audience || '';
  renderQrHint(joinUrl || `${origin}/j/${s.code}`);
  renderPublicWarning(joinUrl);
}

function renderOpTo() {
  const sel = $('#op-to');
  const sig = JSON.stringify([i18n.lang, speakers()]);
  if (sel.dataset.sig === sig) return;
  sel.dataset.sig = sig;
  const cur = sel.value;
  sel.replaceChildren(h('option', { value: '' }, t('assign.none')), ...speakers().map((s) => h('option', { value: s.id }, `${s.name} — ${s.role}`)));
  sel.value = speakers().some((s) => s.id === cur) ? cur : '';
  sel.closest('form').querySelector('label[for=op-to]').hidden = speakers().length === 0;
  sel.hidden = speakers().length === 0;
}

// ---- selection & actions ---------------------------------------------------
function visibleCards() {
  return $$('#board .card').filter((el) => el.offsetParent !== null);
}

function select(id, { focus = true } = {}) {
  ui.selected = id;
  for (const el of $$('#board .card')) {
    const on = el.dataset.qid === id;
    el.classList.toggle('selected', on);
    el.setAttribute('aria-current', on ? 'true' : 'false');
    if (on && focus) { el.focus({ preventScroll: true }); el.scrollIntoView({ block: 'nearest' }); }
  }
}

function stepSelection(delta) {
  const cards = visibleCards();
  if (!cards.length) return;
  let i = cards.findIndex((el) => el.dataset.qid === ui.selected);
  i = i < 0 ? (delta > 0 ? 0 : cards.length - 1) : Math.max(0, Math.min(cards.length - 1, i + delta));
  select(cards[i].dataset.qid);
}

/** The card that should be selected after `id` leaves its column. */
function neighbourInColumn(id) {
  const el = document.querySelector(`.card[data-qid="${CSS.escape(id)}"]`);
  if (!el) return null;
  const next = el.nextElementSibling || el.previousElementSibling;
  return next && next.dataset.qid ? next.dataset.qid : null;
}

function moveSelectionAway(id) {
  if (ui.selected !== id) return;
  const n = neighbourInColumn(id);
  ui.selected = n;
  if (n) queueMicrotask(() => select(n));
}

function act(name, id, arg) {
  const q = id && Q(id);
  switch (name) {
    case 'approve': if (q) { moveSelectionAway(id); qcmd('approve', id); } break;
    case 'reject': if (q) { moveSelectionAway(id); qcmd('reject', id); } break;
    case 'reject-reason': if (q && allows(q.status, 'reject')) { ui.rejecting = id; schedule(); } break;
    case 'reject-pick': if (q && arg) {
      ui.rejecting = null;
      moveSelectionAway(id);
      qcmd('reject', id, { reason: arg });
    } break;
    case 'reject-confirm': {
      const el = cardEl(id);
      const reason = el ? $('[data-field=reject-reason]', el).value.trim() : '';
      ui.rejecting = null;
      moveSelectionAway(id);
      qcmd('reject', id, reason ? { reason } : {});
      break;
    }
    case 'edit': if (q) { ui.editing.set(id, q.rev); ui.selected = id; schedule(); } break;
    case 'save': {
      const el = cardEl(id);
      const text = $('[data-field=edit-text]', el).value;
      const n = textLength(text);
      if (n < 1 || n > MAX) { notice(`${n}/${MAX}`, 'bad'); return; }
      const rev = ui.editing.get(id);
      cmd({ type: 'edit', question: id, text: text.trim(), rev }).then(() => {
        ui.editing.delete(id); schedule(); queueMicrotask(() => select(id));
      }, () => {});
      break;
    }
    case 'cancel':
      ui.editing.delete(id);
      if (ui.rejecting === id) ui.rejecting = null;
      if (ui.casing === id) ui.casing = null;
      schedule();
      queueMicrotask(() => select(id));
      break;
    case 'live': if (q) qcmd('live', id); break;
    case 'answered': if (q) qcmd('answered', id); break;
    case 'requeue': if (q) qcmd('requeue', id); break;
    case 'up': case 'down': moveInQueue(id, name === 'up' ? -1 : 1); break;
    case 'merge': if (q && allows(q.status, 'merge')) startMerge(id); break;
    case 'merge-into': if (ui.mergeSource && ui.mergeSource !== id) {
      const src = ui.mergeSource;
      endMerge();
      moveSelectionAway(src);
      qcmd('merge', src, { into: id });
    } break;
    case 'assign': if (q) qcmd('assign', id, { to: arg || null }); break;
    case 'ban': if (q) qcmd('ban', id); break;
    case 'unban': if (q) qcmd('unban', id); break;
    // An address may be shared by a whole carrier's customers: ask first.
    case 'ban-address': if (q && window.confirm(t('confirm.banAddress'))) qcmd('ban', id, { address: true }); break;
    case 'unban-address': if (q) qcmd('unban', id, { address: true }); break;
    case 'forward': if (q) { ui.casing = ui.casing === id ? null : id; ui.selected = id; schedule(); if (!ui.casing) queueMicrotask(() => select(id)); } break;
    case 'case-send': sendCase(id); break;
    case 'case-publish': togglePublish(id); break;
    case 'history': if (q) toggleHistory(id); break;
    case 'credit': if (creditable(q)) {
      const on = !q.credit;
      cmd({ type: 'credit', question: id, on }).then(() => {
        notice(on ? t('credit.on', { credit: creditLine(q) }) : t('credit.off'), 'good');
      }, () => {});
    } break;
    default: break;
  }
}

const cardEl = (id) => document.querySelector(`#board .card[data-qid="${CSS.escape(id)}"]`);

function queueIds() { return lists().approved.map((q) => q.id); }

/** Moves run one after the other: each is worked out from the view after the previous one's
 *  reply (its events come first), so J J J moves three places instead of sending the same rev
 *  again and being told another moderator acted first. */
let moving = Promise.resolve();
function moveInQueue(id, delta) {
  moving = moving.then(() => moveNow(id, delta)).catch(() => {});
}
function moveNow(id, delta) {
  const ids = queueIds();
  const i = ids.indexOf(id);
  if (i < 0) return undefined;
  const j = i + delta;
  if (j < 0 || j >= ids.length) return undefined;
  const rest = ids.filter((x) => x !== id);
  const after = j === 0 ? null : rest[j - 1];
  return cmd({ type: 'move', question: id, after, rev: Q(id).rev }).catch(() => {});
}

/** A second `n` before the first is answered, or within half a second of it, does nothing: a
 *  double press or a bouncing key never takes the question just put live off the air (and is
 *  not a false conflict). On a fast link the answer can come back before the second press. */
const NEXT_GUARD_MS = 500;
let goingLive = null;
let wentLiveAt = -Infinity;
function nextLive() {
  if (goingLive || performance.now() - wentLiveAt < NEXT_GUARD_MS) return;
  const first = lists().approved[0];
  if (!first) return;
  wentLiveAt = performance.now();
  goingLive = qcmd('live', first.id).finally(() => { goingLive = null; });
}

function toggleOverlay() {
  const o = client.view.overlay;
  if (o && o.visible) cmd({ type: 'overlay', visible: false }).catch(() => {});
  else if (lists().live.length) takeOverlay();
}

// ---- on air: the take guard, the short air text, masking, graphics -----------------------
const GUARDED = ['profanity', 'personal_data'];

/** Takes the live question on air. A question flagged for profanity or personal data goes on
 *  air only after the moderator confirms it in a dialog showing the flags and the text that
 *  will air (masked); the hub refuses it otherwise (`unconfirmed`), also when the flag came
 *  from an edit by another moderator meanwhile. */
async function takeOverlay() {
  const q = lists().live[0];
  if (!q) return;
  const flagged = (q.flags || []).filter((f) => GUARDED.includes(f));
  if (flagged.length) {
    if (await confirmTake(q, flagged)) cmd({ type: 'overlay', visible: true, confirm: true }).catch(() => {});
    return;
  }
  try {
    await client.send({ type: 'overlay', visible: true });
  } catch (err) {
    if (err.code === 'unconfirmed') {
      const now = lists().live[0];
      if (now && (await confirmTake(now, GUARDED))) cmd({ type: 'overlay', visible: true, confirm: true }).catch(() => {});
    } else notice(errorText(err), 'bad');
  }
}

function confirmTake(q, flags) {
  const dlg = $('#take-dialog');
  if (dlg.open) return Promise.resolve(false);
  setText($('#take-body'), t('take.body', { flags: flags.map((f) => t(`flag.${f}`)).join(', ') }));
  const o = client.view.overlay;
  const shown = (o && o.question && o.question.id === q.id && (o.question.air_text || o.question.text))
    || q.air_text || q.masked_text || q.text;
  setText($('#take-text'), shown);
  return new Promise((resolve) => {
    dlg.returnValue = '';
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'take'), { once: true });
    dlg.showModal();
    $('#take-cancel').focus();
  });
}

let airFor = null;
function renderOnAirTools(live) {
  const input = $('#air-text');
  if (!live) {
    airFor = null;
    input.value = '';
  } else if (airFor !== `${live.id}:${live.rev}` && document.activeElement !== input) {
    airFor = `${live.id}:${live.rev}`;
    input.value = live.air_text || '';
  }
  for (const el of [input, $('#air-save')]) el.disabled = !live;
  $('#air-clear').disabled = !live || !live.air_text;
  const masked = live && live.masked_text;
  $('#mask-row').hidden = !masked;
  if (masked) {
    setText($('#mask-state'), live.unmasked ? t('mask.unmasked') : t('mask.masked', { text: live.masked_text }));
    setText($('#unmask-toggle'), live.unmasked ? t('mask.hide') : t('mask.show'));
    $('#mask-row').dataset.unmasked = live.unmasked ? 'true' : 'false';
  }
  const sel = $('#graphic-speaker');
  const list = speakers();
  const sig = JSON.stringify(list.map((s) => [s.id, s.name]));
  if (sel.dataset.sig !== sig) {
    sel.dataset.sig = sig;
    const keep = sel.value;
    sel.replaceChildren(...list.map((s) => h('option', { value: s.id }, s.name)));
    if (list.some((s) => s.id === keep)) sel.value = keep;
  }
  sel.disabled = !list.length;
  $('#graphic-strap').disabled = !list.length;
  const g = client.view.overlay && client.view.overlay.graphic;
  const badge = $('#graphic-state');
  badge.dataset.on = g ? 'true' : 'false';
  setText(badge, !g ? t('graphic.none') : g.type === 'join' ? t('graphic.onJoin') : t('graphic.onStrap', { name: (g.speaker && g.speaker.name) || '' }));
  $('#graphic-off').disabled = !g;
}

function saveAirText(e) {
  e.preventDefault();
  const live = lists().live[0];
  if (!live) return;
  qcmd('air_text', live.id, { text: $('#air-text').value.trim() }).then(() => { airFor = null; schedule(); });
}

function toggleUnmask() {
  const live = lists().live[0];
  if (!live) return;
  if (!live.unmasked && !window.confirm(t('mask.confirm'))) return;
  qcmd('unmask', live.id, { on: !live.unmasked });
}

// ---- the speaker screen: answer timer and backstage message ------------------------------
/** Ready messages, in Indonesian whatever the console's language: the speakers read them. */
const READY_MESSAGES = String(STRINGS.id['stage.ready']).split('|');
let timerTick = null;
function timerLeft() {
  const st = client.view.stage;
  if (!st || !st.timer) return null;
  const tm = st.timer;
  return tm.running ? tm.remaining_ms - (Date.now() - (client.view.stageAt || Date.now())) : tm.remaining_ms;
}
function mmss(ms) {
  const neg = ms < 0;
  const s = Math.ceil(Math.abs(ms) / 1000);
  return `${neg ? '+' : ''}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
function renderStage() {
  const st = client.view.stage;
  const running = !!(st && st.timer && st.timer.running);
  const left = timerLeft();
  const out = $('#timer-state');
  out.dataset.running = running ? 'true' : 'false';
  out.dataset.over = left !== null && left <= 0 ? 'true' : 'false';
  setText(out, left === null ? '–' : mmss(left));
  $('#timer-start').disabled = running;
  $('#timer-pause').disabled = !running;
  if (running && !timerTick) timerTick = setInterval(renderStage, 250);
  if (!running && timerTick) { clearInterval(timerTick); timerTick = null; }
  const msg = st && st.message;
  setText($('#message-current'), msg ? t('stage.current', { text: msg }) : t('stage.none'));
  $('#message-clear').disabled = !msg;
}
function timerCmd(action) {
  const frame = { type: 'timer', action };
  const secs = Number($('#timer-seconds').value);
  const st = client.view.stage;
  const current = st && st.timer ? Math.round(st.timer.duration_ms / 1000) : null;
  // A changed length starts or resets the timer from that length.
  if (action !== 'pause' && Number.isInteger(secs) && secs >= 5 && secs <= 3600 && secs !== current) frame.seconds = secs;
  cmd(frame).catch(() => {});
}
function sendMessage(text) {
  cmd({ type: 'message', text }).catch(() => {});
}
function setupStage() {
  $('#timer-start').addEventListener('click', () => timerCmd('start'));
  $('#timer-pause').addEventListener('click', () => timerCmd('pause'));
  $('#timer-reset').addEventListener('click', () => timerCmd('reset'));
  $('#message-ready').replaceChildren(...READY_MESSAGES.map((m) => {
    const b = h('button', { type: 'button', dataset: { message: m } }, m);
    b.addEventListener('click', () => sendMessage(m));
    return b;
  }));
  $('#message-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('#message-text').value.trim();
    if (!v) return;
    sendMessage(v);
    $('#message-text').value = '';
  });
  $('#message-clear').addEventListener('click', () => sendMessage(''));
  $('#air-form').addEventListener('submit', saveAirText);
  $('#air-clear').addEventListener('click', () => { $('#air-text').value = ''; saveAirText(new Event('submit')); });
  $('#unmask-toggle').addEventListener('click', toggleUnmask);
  $('#graphic-join').addEventListener('click', () => cmd({ type: 'graphic', graphic: 'join' }).catch(() => {}));
  $('#graphic-strap').addEventListener('click', () => {
    const speaker = $('#graphic-speaker').value;
    if (speaker) cmd({ type: 'graphic', graphic: 'speaker', speaker }).catch(() => {});
  });
  $('#graphic-off').addEventListener('click', () => cmd({ type: 'graphic', graphic: null }).catch(() => {}));
  client.on('welcome', () => {
    const st = client.view.stage;
    if (st && st.timer) $('#timer-seconds').value = String(Math.round(st.timer.duration_ms / 1000));
  });
}

function startMerge(id) {
  ui.mergeSource = id;
  const q = Q(id);
  setText($('#merge-text'), t('merge.prompt', { text: q.text.length > 90 ? `${q.text.slice(0, 90)}…` : q.text }));
  $('#merge-banner').hidden = false;
  document.body.classList.add('merging');
  schedule();
}
function endMerge() {
  ui.mergeSource = null;
  $('#merge-banner').hidden = true;
  document.body.classList.remove('merging');
  schedule();
}

// ---- drag and drop (queue) -------------------------------------------------
let dragId = null;
function onDragStart(e) {
  const el = e.currentTarget;
  if (!allows(el.dataset.status, 'up')) { e.preventDefault(); return; }
  dragId = el.dataset.qid;
  e.dataTransfer.effectAllowed = 'move';
  e.dataTransfer.setData('text/plain', dragId);
  el.classList.add('dragging');
}
function onDragEnd(e) {
  e.currentTarget.classList.remove('dragging');
  clearDropMarks();
  dragId = null;
}
function clearDropMarks() { for (const el of $$('#col-approved .drop-before, #col-approved .drop-after')) el.classList.remove('drop-before', 'drop-after'); }
function dropTarget(e) {
  const cards = $$('#col-approved .card').filter((c) => c.dataset.qid !== dragId);
  for (const c of cards) {
    const r = c.getBoundingClientRect();
    if (e.clientY < r.top + r.height / 2) return { card: c, before: true };
  }
  return cards.length ? { card: cards[cards.length - 1], before: false } : null;
}
function setupDrop() {
  const list = $('#col-approved');
  list.addEventListener('dragover', (e) => {
    if (!dragId) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    clearDropMarks();
    const tgt = dropTarget(e);
    if (tgt) tgt.card.classList.add(tgt.before ? 'drop-before' : 'drop-after');
  });
  list.addEventListener('dragleave', (e) => { if (!list.contains(e.relatedTarget)) clearDropMarks(); });
  list.addEventListener('drop', (e) => {
    if (!dragId) return;
    e.preventDefault();
    const tgt = dropTarget(e);
    clearDropMarks();
    const id = dragId;
    dragId = null;
    if (!tgt) return;
    const rest = queueIds().filter((x) => x !== id);
    const idx = rest.indexOf(tgt.card.dataset.qid);
    const after = tgt.before ? (idx > 0 ? rest[idx - 1] : null) : rest[idx];
    const cur = queueIds();
    const curAfter = cur.indexOf(id) > 0 ? cur[cur.indexOf(id) - 1] : null;
    if (after === curAfter) return;
    cmd({ type: 'move', question: id, after, rev: Q(id).rev }).catch(() => {});
  });
}

// ---- keyboard ----------------------------------------------------------------
function typing(el) {
  return el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

function onKey(e) {
  const target = e.target;
  // the close confirmation is modal: no shortcut acts behind it
  if ($('#close-dialog').open || $('#take-dialog').open || $('#session-dialog').open) return;
  // inside the editor / reason field
  if (target.matches && target.matches('[data-field=edit-text]')) {
    const id = target.closest('.card').dataset.qid;
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); act('save', id); }
    else if (e.key === 'Escape') { e.preventDefault(); act('cancel', id); }
    return;
  }
  if (target.matches && target.matches('[data-field=reject-reason]')) {
    const id = target.closest('.card').dataset.qid;
    if (e.key === 'Enter') { e.preventDefault(); act('reject-confirm', id); }
    else if (e.key === 'Escape') { e.preventDefault(); act('cancel', id); }
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { e.preventDefault(); pickReason(target.closest('.rejector'), e.key === 'ArrowDown' ? 1 : -1); }
    return;
  }
  if (target.closest && target.closest('.caser')) {
    const id = target.closest('.card').dataset.qid;
    if (e.key === 'Escape') { e.preventDefault(); act('cancel', id); }
    else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || ['INPUT', 'SELECT'].includes(target.tagName))) { e.preventDefault(); act('case-send', id); }
    return;
  }
  if (e.key === 'Escape' && target.closest && target.closest('.rejector')) {
    e.preventDefault();
    act('cancel', target.closest('.card').dataset.qid);
    return;
  }
  if (e.key === 'Escape') {
    if (ui.mergeSource) { endMerge(); e.preventDefault(); }
    return;
  }
  if (typing(target) || e.ctrlKey || e.metaKey) return;
  if (e.key === '/' && !e.altKey) { e.preventDefault(); focusSearch(); return; }
  if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
    if (ui.selected) { e.preventDefault(); moveInQueue(ui.selected, e.key === 'ArrowUp' ? -1 : 1); }
    return;
  }
  if (e.altKey) return;
  const id = ui.selected;
  const k = e.key;
  let handled = true;
  if (k === 'j' || k === 'ArrowDown') stepSelection(1);
  else if (k === 'k' || k === 'ArrowUp') stepSelection(-1);
  else if (k === 'J') { if (id) moveInQueue(id, 1); }
  else if (k === 'K') { if (id) moveInQueue(id, -1); }
  else if (k === 'n') nextLive();
  else if (k === 'o') toggleOverlay();
  else if (k === 'Enter' && ui.mergeSource && id) act('merge-into', id);
  else if (!id) handled = false;
  else if (k === 'a') act('approve', id);
  else if (k === 'r') act('reject', id);
  else if (k === 'R') act('reject-reason', id);
  else if (k === 'e') act('edit', id);
  else if (k === 'l') act('live', id);
  else if (k === 'd') act('answered', id);
  else if (k === 'u') act('requeue', id);
  else if (k === 'm') act('merge', id);
  else if (k === 'f') act('forward', id);
  else if (k === 'h') act('history', id);
  else if (k === 'c') act('credit', id);
  else handled = false;
  if (handled) e.preventDefault();
}

// ---- operator form -----------------------------------------------------------
function onOperator(e) {
  e.preventDefault();
  const ta = $('#op-text');
  const n = textLength(ta.value);
  if (n < 1 || n > MAX) { ta.focus(); setText($('#op-status'), `${n}/${MAX}`); return; }
  const frame = { type: 'enter', text: ta.value.trim(), channel: $('#op-channel').value };
  const name = $('#op-name').value.trim();
  if (name) frame.name = name;
  if ($('#op-to').value) frame.to = $('#op-to').value;
  Object.assign(frame, opFollowup());
  const online = client.ready;
  client.submit(frame).then((ok) => {
    setText($('#op-status'), ok && ok.tracking ? `${t('op.sent')} ${t('case.tracking', { code: ok.tracking })}` : t('op.sent'));
  }, (err) => {
    setText($('#op-status'), caseErrorText(err));
    if (!ta.value) ta.value = frame.text;
    if (frame.contact && !$('#op-contact').value) $('#op-contact').value = frame.contact;
    if (invalidField(err, ['contact', 'place', 'kecamatan', 'kelurahan', 'topic'])) $('#op-followup').open = true;
  });
  setText($('#op-status'), online ? '' : t('op.queued'));
  ta.value = '';
  $('#op-name').value = '';
  $('#op-contact').value = '';
  updateOpCount();
  ta.focus();
}
function updateOpCount() {
  const n = textLength($('#op-text').value);
  setText($('#op-count'), `${n}/${MAX}`);
  $('#op-count').classList.toggle('over', n > MAX);
}

// ---- closing the session: asked first ----------------------------------------
/** Open and pause at once; close only after the moderator confirms in a modal dialog (Cancel,
 *  Esc or a click on "Batal" leave the session as it is). */
async function setSessionStatus(status) {
  const s = client.view.session;
  if (status === 'closed' && (!s || s.status !== 'closed') && !(await confirmClose())) return;
  cmd({ type: 'session', status }).catch(() => {});
}

function confirmClose() {
  const dlg = $('#close-dialog');
  if (dlg.open) return Promise.resolve(false);
  return new Promise((resolve) => {
    dlg.returnValue = '';
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'close'), { once: true });
    dlg.showModal();
    $('#close-cancel').focus();
  });
}

// ---- rejection reasons ---------------------------------------------------------
/** The office's own reasons from the moderator's welcome (`moderation.reasons`), or null. A
 *  resumed welcome without the field keeps what the full welcome said. */
let configuredReasons = null;
function takeModeration(msg) {
  if (!msg) return;
  const m = 'moderation' in msg ? msg.moderation : msg.session && msg.session.moderation;
  if (m !== undefined) configuredReasons = readReasons(m);
  else if (!msg.resumed) configuredReasons = null;
  schedule();
}

function readReasons(m) {
  if (!m || !Array.isArray(m.reasons)) return null;
  const seen = new Set();
  const out = [];
  for (const r of m.reasons) {
    if (typeof r !== 'string') continue;
    const text = r.trim();
    const n = textLength(text);
    if (!n || n > 200 || seen.has(text)) continue;
    seen.add(text);
    out.push(text);
  }
  return out.length ? out : null;
}

/** [{text, gloss}]: `text` is what the asker reads; `gloss` its English meaning, shown in the
 *  English console beside the ready reasons of the built-in list. */
function rejectReasons() {
  if (configuredReasons) return configuredReasons.map((text) => ({ text, gloss: '' }));
  return DEFAULT_REJECT_REASONS.map(([text, en]) => ({ text, gloss: i18n.lang === 'en' ? en : '' }));
}

function fillReasons(rej) {
  const box = $('[data-field=reasons]', rej);
  const list = rejectReasons();
  const sig = JSON.stringify([i18n.lang, list]);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.setAttribute('aria-label', t('reject.ready'));
  box.replaceChildren(...list.map(({ text, gloss }) => h('button', {
    type: 'button', class: 'reason-pick', dataset: { act: 'reject-pick', reason: text }, attrs: { 'aria-pressed': 'false' },
  }, text, gloss ? h('span', { class: 'gloss' }, ` · ${gloss}`) : null)));
  setText($('[data-field=reject-hint]', rej), t('reject.hint'));
  resetReasonPick(rej);
}

/** No ready reason picked; `clearOwn` also forgets the typed text kept while stepping. */
function resetReasonPick(rej, clearOwn = true) {
  if (!rej) return;
  for (const b of $$('[data-act=reject-pick]', rej)) b.setAttribute('aria-pressed', 'false');
  if (clearOwn) delete rej.dataset.own;
}

/** ↓/↑ in the reason field step through the ready reasons and back to what was typed. */
function pickReason(rej, delta) {
  const picks = $$('[data-act=reject-pick]', rej);
  if (!picks.length) return;
  const inp = $('[data-field=reject-reason]', rej);
  let i = picks.findIndex((b) => b.getAttribute('aria-pressed') === 'true');
  if (i < 0) rej.dataset.own = inp.value;
  i += delta;
  if (i < -1) i = picks.length - 1;
  if (i >= picks.length) i = -1;
  picks.forEach((b, j) => b.setAttribute('aria-pressed', j === i ? 'true' : 'false'));
  inp.value = i < 0 ? (rej.dataset.own || '') : picks[i].dataset.reason;
  inp.setSelectionRange(inp.value.length, inp.value.length);
}

// ---- search and filters ------------------------------------------------------------
const SPEAKER_NONE = '-';
/** Lower case without accents, so "perizinan" finds "Perizinan" and "cafe" finds "café". */
const fold = (s) => String(s || '').normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();

function filtering() {
  return ui.filter !== 'all' || ui.flagged || ui.speaker !== '' || ui.search.trim() !== '';
}

function questionFilter() {
  const terms = fold(ui.search).split(/\s+/).filter(Boolean);
  return (q) => {
    if (ui.filter !== 'all' && q.source !== ui.filter) return false;
    if (ui.flagged && !(Array.isArray(q.flags) && q.flags.length)) return false;
    if (ui.speaker === SPEAKER_NONE ? !!q.to : ui.speaker !== '' && q.to !== ui.speaker) return false;
    if (terms.length) {
      const hay = fold([q.text, q.original_text, q.name, q.outlet, q.tracking, q.contact, placeText(q.place), q.topic].filter(Boolean).join('\n'));
      if (!terms.every((w) => hay.includes(w))) return false;
    }
    return true;
  };
}

/** What each column shows. The filters never hide the question being answered, nor a card the
 *  moderator is editing, rejecting or merging. */
function shownLists(L) {
  if (!filtering()) return L;
  const ok = questionFilter();
  const keep = (q) => q.status === 'live' || ui.editing.has(q.id) || ui.rejecting === q.id || ui.mergeSource === q.id || ok(q);
  return {
    pending: L.pending.filter(keep),
    approved: L.approved.filter(keep),
    live: L.live,
    answered: L.answered.filter(keep),
    rejected: L.rejected.filter(keep),
  };
}

function renderFilterState(L, S) {
  renderFilterSpeakers();
  const hidden = ['pending', 'approved', 'answered', 'rejected'].reduce((n, col) => n + L[col].length - S[col].length, 0);
  setText($('#filter-status'), hidden ? t('filter.hidden', { n: hidden }) : '');
  $('#filter-clear').hidden = !filtering();
  $('#filter-flagged').setAttribute('aria-pressed', ui.flagged ? 'true' : 'false');
  for (const x of $$('[data-filter]')) x.setAttribute('aria-pressed', x.dataset.filter === ui.filter ? 'true' : 'false');
  $('#filters').classList.toggle('active', filtering());
}

function renderFilterSpeakers() {
  const sel = $('#filter-speaker');
  const list = speakers();
  const sig = JSON.stringify([i18n.lang, list]);
  if (sel.dataset.sig !== sig) {
    sel.dataset.sig = sig;
    sel.replaceChildren(h('option', { value: '' }, t('filter.speakerAll')),
      ...list.map((s) => h('option', { value: s.id }, s.name)),
      h('option', { value: SPEAKER_NONE }, t('filter.speakerNone')));
  }
  sel.hidden = list.length === 0;
  if (ui.speaker !== '' && ui.speaker !== SPEAKER_NONE && !list.some((s) => s.id === ui.speaker)) ui.speaker = '';
  if (sel.value !== ui.speaker) sel.value = ui.speaker;
}

function focusSearch() {
  const box = $('#search');
  box.focus();
  box.select();
}

function clearFilters() {
  ui.filter = 'all';
  ui.flagged = false;
  ui.speaker = '';
  ui.search = '';
  $('#search').value = '';
  schedule();
}

function setupFilters() {
  const box = $('#search');
  box.addEventListener('input', () => { ui.search = box.value; schedule(); });
  // Esc empties the box; on an empty box it goes back to the questions. Enter selects the first
  // question found, so j/k and the other keys carry on from there.
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      if (box.value) { box.value = ''; ui.search = ''; schedule(); } else backToBoard();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      render();
      const first = visibleCards()[0];
      if (first) select(first.dataset.qid); else box.blur();
    }
  });
  for (const b of $$('[data-filter]')) b.addEventListener('click', () => { ui.filter = b.dataset.filter; schedule(); });
  $('#filter-flagged').addEventListener('click', () => { ui.flagged = !ui.flagged; schedule(); });
  $('#filter-speaker').addEventListener('change', (e) => { ui.speaker = e.target.value; schedule(); });
  $('#filter-clear').addEventListener('click', () => { clearFilters(); focusSearch(); });
}

function backToBoard() {
  $('#search').blur();
  if (ui.selected && cardEl(ui.selected)) select(ui.selected);
}

// ---- questions per device ------------------------------------------------------------
/** How many questions each device (`author`) asked in this session, every status counted. */
let deviceCounts = new Map();
function countDevices() {
  const m = new Map();
  for (const q of client.view.questions.values()) if (q.author) m.set(q.author, (m.get(q.author) || 0) + 1);
  deviceCounts = m;
}

function updateDeviceCount(el, q) {
  const badge = $('[data-field=device-count]', el);
  const n = (q.author && deviceCounts.get(q.author)) || 0;
  badge.hidden = n < 2;
  badge.dataset.count = String(n);
  setText(badge, n < 2 ? '' : t('card.deviceCount', { n }));
}

// ---- the join hint and the public address ---------------------------------------------
/** The address people type when they cannot scan: the audience link without `/j/CODE`. */
function joinAddress(audienceLink) {
  try {
    const u = new URL(audienceLink);
    const base = `${u.host}${u.pathname.replace(/\/j\/[^/]*$/, '')}`;
    return base.replace(/\/$/, '');
  } catch { return ''; }
}

/** The QR code carries the session, so scanning it is enough; the code is typed only by those
 *  who open the address by hand. */
function renderQrHint(audienceLink) {
  setText($('#qr-hint'), t('links.audienceHint', { address: joinAddress(audienceLink) || location.host }));
}

function renderPublicWarning(audienceLink) {
  const el = $('#public-warning');
  const on = isLoopbackUrl(audienceLink);
  el.hidden = !on;
  setText(el, on ? t('public.warning', { address: new URL(audienceLink).origin }) : '');
}

// ---- boot ----------------------------------------------------------------------
function setLang(l) {
  i18n.set(l);
  for (const b of $$('[data-lang]')) b.setAttribute('aria-pressed', b.dataset.lang === i18n.lang ? 'true' : 'false');
  previewSig = '';
  if (ui.mergeSource) startMerge(ui.mergeSource);
  for (const row of $$('.card .actions')) row.dataset.sig = '';
  $('#filter-speaker').dataset.sig = '';
  renderConn(client.state);
  renderName();
  renderOpOptions();
  renderCarry();
  renderProgrammeWait();
  schedule();
}

function renderConn(s) {
  $('#conn').dataset.state = s.state;
  setText($('#conn-label'), t(s.noEpisode && s.state === 'waiting' ? 'conn.noEpisode' : `conn.${s.state}`));
}

function boot() {
  for (const b of $$('[data-lang]')) b.addEventListener('click', () => setLang(b.dataset.lang));
  setLang(i18n.lang);
  const board = $('#board');
  board.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-act]');
    const card = e.target.closest('.card');
    if (btn && card) { act(btn.dataset.act, card.dataset.qid, btn.dataset.reason); return; }
    if (card && !e.target.closest('select, textarea, input, a')) select(card.dataset.qid);
  });
  board.addEventListener('change', (e) => {
    const sel = e.target.closest('select[data-act=assign]');
    if (sel) act('assign', sel.closest('.card').dataset.qid, sel.value);
    if (e.target.matches('[data-field=case-action]')) schedule();
  });
  board.addEventListener('input', (e) => {
    if (e.target.matches('[data-field=edit-text]')) updateEditCount(e.target);
    if (e.target.matches('[data-field=reject-reason]')) resetReasonPick(e.target.closest('.rejector'), false);
  });
  board.addEventListener('focusin', (e) => {
    const card = e.target.closest('.card');
    if (card && ui.selected !== card.dataset.qid) select(card.dataset.qid, { focus: false });
  });
  document.addEventListener('keydown', onKey);
  setupDrop();
  setupFilters();
  for (const b of $$('.bar-group [data-status]')) b.addEventListener('click', () => setSessionStatus(b.dataset.status));
  $('#next-btn').addEventListener('click', nextLive);
  $('#overlay-take').addEventListener('click', takeOverlay);
  setupStage();
  $('#overlay-clear').addEventListener('click', () => cmd({ type: 'overlay', visible: false }).catch(() => {}));
  $('#merge-cancel').addEventListener('click', endMerge);
  $('#op-form').addEventListener('submit', onOperator);
  $('#op-followup').addEventListener('toggle', () => { if ($('#op-followup').open) loadOptions(); });
  $('#op-kecamatan').addEventListener('change', renderOpKelurahan);
  $('#export-xlsx').addEventListener('click', () => download('xlsx'));
  $('#export-csv').addEventListener('click', () => download('csv'));
  setupName();
  setupSessionEdit();
  setupCarry();
  setupProgramme();
  $('#poll-form').addEventListener('submit', onPollCreate);
  $('#op-text').addEventListener('input', updateOpCount);
  $('#op-text').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) onOperator(e); });
  for (const b of $$('[data-copy]')) {
    b.addEventListener('click', async () => {
      const inp = document.getElementById(b.dataset.copy);
      const ok = await copyText(inp.value);
      if (!ok) inp.select();
      setText($('#copy-status'), ok ? t('links.copied') : t('links.copyFailed'));
    });
  }
  for (const inp of $$('.links input[readonly]')) inp.addEventListener('focus', () => inp.select());
  for (const b of $$('[data-rotate]')) {
    b.addEventListener('click', async () => {
      const role = b.dataset.rotate;
      const intake = role === 'intake';
      // the programme's links are shown: the programme's key is renewed (every episode's)
      const prog = !!programmeLinks();
      const ask = intake ? t('links.intakeConfirm')
        : t(prog ? 'links.programmeRotateConfirm' : 'links.rotateConfirm', { role: t(`role.${role}`) });
      if (!window.confirm(ask)) return;
      try {
        await cmd(prog ? { type: 'rotate_key', role, programme: true } : { type: 'rotate_key', role });
        notice(intake ? t('links.intakeRotated') : t('links.rotated'), 'good');
      } catch { /* the error is shown by the client's error handler */ }
    });
  }

  client.on('state', renderConn);
  client.on('welcome', takeModeration);
  client.on('change', schedule);
  // A session frame is the session's whole state, but the shared client merges it into the
  // view (keeping the links of the welcome): a start time cleared is absent from it, so drop it.
  client.on('session', (m) => { if (m && m.session && !('starts_at' in m.session) && client.view.session) delete client.view.session.starts_at; });
  client.on('error', (err) => notice(errorText(err), 'bad'));
  client.on('fatal', (f) => {
    $('#board').hidden = true;
    $('#fatal').hidden = false;
    const changed = f.code === 4401 && /changed/.test(f.reason || '');
    setText($('#fatal'), f.code === 4404 ? t('fatal.notfound') : changed ? t('fatal.keyChanged') : t('fatal.key'));
  });
  if (!(sessionId || programme) || !key) {
    $('#board').hidden = true;
    $('#fatal').hidden = false;
    setText($('#fatal'), t('fatal.key'));
    return;
  }
  client.start();
  window.tanya = { client, ui, select, act, download, carry, loadCarry };
}

boot();
