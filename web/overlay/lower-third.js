// The broadcast lower third: built here, used by the overlay page and by the
// moderator console's preview, so the preview is exactly what airs.
import { h, setText } from '../shared/dom.js';

/** Fields that reach the air. Nothing else of a question is ever shown. */
export function airData(question, speakers) {
  if (!question) return { text: '', name: '', outlet: '', speaker: '', speaker_role: '' };
  const sp = question.to ? (speakers || []).find((s) => s.id === question.to) : null;
  return {
    text: question.text || '',
    name: question.name || '',
    outlet: question.outlet || '',
    speaker: sp ? sp.name : '',
    speaker_role: sp ? sp.role : '',
  };
}

export function buildLowerThird() {
  return h('div', { class: 'lt', id: 'lower-third', attrs: { 'aria-hidden': 'true' } },
    h('div', { class: 'lt-box' },
      h('div', { class: 'lt-who' },
        h('span', { class: 'lt-asker', id: 'lt-asker', dataset: { field: 'asker' } }),
        h('span', { class: 'lt-to', id: 'lt-to', dataset: { field: 'speaker' } })),
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
  setText(el.querySelector('.lt-text'), d.text);
  el.querySelector('.lt-who').hidden = asker.hidden && to.hidden;
  fitText(el);
}

/** Shrink the question's type until it fits its box (never cut). */
export function fitText(el) {
  const p = el.querySelector('.lt-text');
  if (!p) return;
  const steps = [1, 0.9, 0.8, 0.72, 0.64, 0.56, 0.5, 0.44, 0.38];
  for (const f of steps) {
    p.style.setProperty('--fit', String(f));
    if (p.scrollHeight <= p.clientHeight + 1) return;
  }
}
