// Pieces of a follow-up case shown by the agency's inbox and by /admin: the citizen's contact as
// links, dates, the place, the history. Text always goes in as text (h() / textContent).
import { h } from '../shared/dom.js';

const LOCALES = { id: 'id-ID', en: 'en-GB' };
const locale = (lang) => LOCALES[lang] || LOCALES.id;

/** A phone number as the hub accepts it (08…, +62…, 62…, 9–15 digits) → "62812…", else null. */
export function phoneDigits(contact) {
  const raw = String(contact || '').trim();
  if (!/^\+?[\d\s().-]+$/.test(raw)) return null;
  let d = raw.replace(/\D/g, '');
  if (d.startsWith('0')) d = `62${d.slice(1)}`;
  if (!d.startsWith('62')) return null;
  const len = raw.replace(/\D/g, '').length;
  return len >= 9 && len <= 15 ? d : null;
}

export const isEmail = (contact) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(String(contact || '').trim());

/** The contact as links: a phone number gets a call link and a WhatsApp link, an e-mail address
 *  a mail link; anything else is plain text. Nothing opens by itself. */
export function contactNodes(contact, t) {
  const c = String(contact || '').trim();
  if (!c) return [h('span', { class: 'muted', dataset: { contactKind: 'none' } }, t('case.noContact'))];
  const digits = phoneDigits(c);
  if (digits) {
    return [
      h('a', { href: `tel:+${digits}`, class: 'contact', dataset: { contactKind: 'tel' }, attrs: { 'aria-label': `${t('case.call')} ${c}` } }, c),
      h('a', { href: `https://wa.me/${digits}`, target: '_blank', rel: 'noopener noreferrer', class: 'contact-alt', dataset: { contactKind: 'whatsapp' } }, t('case.whatsapp')),
    ];
  }
  if (isEmail(c)) {
    return [h('a', { href: `mailto:${c}`, class: 'contact', dataset: { contactKind: 'mail' } }, c)];
  }
  return [h('span', { class: 'contact', dataset: { contactKind: 'text' } }, c)];
}

/** "2026-12-20" → "20 Des 2026" (the date as written, no time zone shift). */
export function fmtDate(ymd, lang) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(ymd || ''));
  if (!m) return String(ymd || '');
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12));
  return d.toLocaleDateString(locale(lang), { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
}

/** An RFC 3339 time → "20 Des 2026 14.05" in this computer's time zone. */
export function fmtDateTime(iso, lang) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(locale(lang), { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** Today + n days as "YYYY-MM-DD" in this computer's calendar (for a date input). */
export function daysFromToday(n) {
  const d = new Date();
  d.setDate(d.getDate() + n);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function placeText(place) {
  if (!place || !place.kecamatan) return '';
  return place.kelurahan ? `${place.kelurahan}, ${place.kecamatan}` : place.kecamatan;
}

export function statusText(t, status) {
  const k = `case.status.${status}`;
  const s = t(k);
  return s === k ? String(status || '') : s;
}

/** Who did it: "Sari (instansi PUPR)". agencyLabel(id) names an agency id. */
function whoText(by, t, agencyLabel) {
  if (!by) return '';
  const roleKey = `history.role.${by.role}`;
  let role = by.role ? t(roleKey) : '';
  if (role === roleKey) role = by.role;
  if (by.role === 'agency' && by.agency) role = `${role} ${agencyLabel(by.agency)}`;
  if (by.name && role) return `${by.name} (${role})`;
  return by.name || role;
}

function actionText(e, t, agencyLabel) {
  switch (e.action) {
    case 'forward': return e.agency ? t('history.forward', { agency: agencyLabel(e.agency) }) : t('history.forwardNone');
    case 'publish':
      if (e.public === true) return t('history.publish');
      if (e.public === false) return t('history.unpublish');
      return t('history.publishChanged');
    case 'acknowledge': case 'resolve': case 'decline': case 'return': case 'reopen': case 'erase':
      return t(`history.${e.action}`);
    default: return t('history.other');
  }
}

/** The case history as list items, oldest first. */
export function historyItems(history, { t, lang, agencyLabel = (id) => id }) {
  const label = (id) => {
    if (id && typeof id === 'object') return id.short || id.name || id.id || '';
    return agencyLabel(id) || id;
  };
  return (history || []).map((e) => {
    const who = whoText(e.by, t, label);
    return h('li', { dataset: { action: e.action || '', status: e.status || '' } },
      h('span', { class: 'h-when' }, fmtDateTime(e.at, lang)),
      ' ',
      h('span', { class: 'h-what' }, actionText(e, t, label)),
      who ? h('span', { class: 'h-who' }, ` ${t('history.by', { who })}`) : null,
      e.text ? h('span', { class: 'h-text text' }, e.text) : null);
  });
}

/** Open cases first (overdue, then by due date, none last), then the rest, newest change first. */
const OPEN = new Set(['received', 'forwarded', 'in_progress', 'reopened']);
export const isOpen = (c) => OPEN.has(c.status);
export function byUrgency(a, b) {
  const oa = isOpen(a) ? 0 : 1;
  const ob = isOpen(b) ? 0 : 1;
  if (oa !== ob) return oa - ob;
  if (oa === 1) return String(b.updated_at || '').localeCompare(String(a.updated_at || ''));
  if (!!a.overdue !== !!b.overdue) return a.overdue ? -1 : 1;
  const da = a.due || '9999-99-99';
  const db = b.due || '9999-99-99';
  if (da !== db) return da < db ? -1 : 1;
  return String(a.created_at || '').localeCompare(String(b.created_at || ''));
}
