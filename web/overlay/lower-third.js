// The broadcast lower third: built here, used by the overlay page and by the
// moderator console's preview, so the preview is exactly what airs.
import { h, setText } from '../shared/dom.js';

/** Fields that reach the air. Nothing else of a question is ever shown. The text on air is the
 *  moderator's short version (`air_text`) when there is one, else the question's text. */
export function airData(question, speakers) {
  if (!question) return { text: '', name: '', outlet: '', speaker: '', speaker_role: '', credit: '' };
  const sp = question.to ? (speakers || []).find((s) => s.id === question.to) : null;
  return {
    text: question.air_text || question.text || '',
    name: question.name || '',
    outlet: question.outlet || '',
    speaker: sp ? sp.name : '',
    speaker_role: sp ? sp.role : '',
    credit: typeof question.credit === 'string' ? question.credit : question.credit === true ? creditLine(question) : '',
  };
}

/** Words of the channels on air (always Indonesian: it is what the public reads). */
const CREDIT_CHANNEL = { phone: 'via telepon', sms: 'via SMS', whatsapp: 'via WhatsApp', radio: 'via radio', email: 'via e-mail', web: 'via web' };

/** The credit line a question gets on air once the moderator credits it: "via telepon · RRI
 *  Palembang", "via SMS", "RRI Palembang" (asked in the room: no channel); '' when there is
 *  nothing to credit. The same words as the hub's overlay view (`credit`), so the console's
 *  preview can show it before the take. */
export function creditLine(q) {
  if (!q) return '';
  const via = q.channel ? CREDIT_CHANNEL[q.channel] || '' : '';
  return [via, q.station || ''].filter(Boolean).join(' · ');
}

export function buildLowerThird() {
  return h('div', { class: 'lt', id: 'lower-third', attrs: { 'aria-hidden': 'true' } },
    h('div', { class: 'lt-box' },
      h('div', { class: 'lt-who' },
        h('span', { class: 'lt-asker', id: 'lt-asker', dataset: { field: 'asker' } }),
        h('span', { class: 'lt-to', id: 'lt-to', dataset: { field: 'speaker' } })),
      h('p', { class: 'lt-credit', id: 'lt-credit', dataset: { field: 'credit' }, hidden: true }),
      h('p', { class: 'lt-text', id: 'lt-text', dataset: { field: 'text' } })));
}

/** Asker line: "Name, Outlet", or whichever is given. */
export function askerLine(d) {
  return [d.name, d.outlet].filter(Boolean).join(', ');
}

/** Speaker line: "Name — Role". */
export function speakerLine(d) {
  if (!d.speaker) return '';
  return d.speaker_role ? `${d.speaker} — ${d.speaker_role}` : d.speaker;
}

export function fillLowerThird(el, d, { arrow = '→ ' } = {}) {
  const asker = el.querySelector('.lt-asker');
  const to = el.querySelector('.lt-to');
  setText(asker, askerLine(d));
  asker.hidden = !asker.textContent;
  const sl = speakerLine(d);
  setText(to, sl ? arrow + sl : '');
  to.hidden = !sl;
  const credit = el.querySelector('.lt-credit');
  if (credit) {
    setText(credit, d.credit || '');
    credit.hidden = !d.credit;
  }
  setText(el.querySelector('.lt-text'), d.text);
  el.querySelector('.lt-who').hidden = asker.hidden && to.hidden;
  fitText(el);
}

/** Lowers the question's type for a long text until it fits its three lines, never below the
 *  minimum size (lower-third.css, `--min-text`); a text still too long at the minimum ends in an
 *  ellipsis at the third line. */
export function fitText(el) {
  const p = el.querySelector('.lt-text');
  if (!p) return;
  const steps = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4];
  let last = NaN;
  for (const f of steps) {
    p.style.setProperty('--fit', String(f));
    if (p.scrollHeight <= p.clientHeight + 1) return;
    const size = parseFloat(getComputedStyle(p).fontSize);
    if (size === last) return; // at the minimum: it cannot get smaller
    last = size;
  }
}
