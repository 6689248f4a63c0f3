// The overlay's other graphics: the "how to ask" call to action (the QR code of the join link,
// the short address, the join code, and the SMS and WhatsApp numbers when the office set them)
// and the name strap of the speaker answering. Both sit in the lower third's place, inside
// title-safe, and animate in and out as it does (class `on`, rules in lower-third.css).
// Text is set with textContent only; the QR code is the hub's own image (/qr/CODE.svg).
import { h, setText } from '../shared/dom.js';

/** The words on air, in Bahasa Indonesia (the programme's language). */
export const WORDS = {
  title: 'Kirim pertanyaan Anda',
  hint: 'Pindai kode QR atau buka',
  hintQr: 'Pindai kode QR',
  hintUrl: 'Buka',
  code: 'Kode',
  sms: 'SMS',
  whatsapp: 'WhatsApp',
};

/** A join code as the hub writes them (letters and digits); anything else gives no QR code. */
const CODE = /^[A-Za-z0-9]{1,64}$/;

/** The address people type: the join link without its scheme and trailing slash. */
export function shortAddress(url) {
  return String(url || '').trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}

/** The empty call to action (hidden until `fillCallToAction` and `showGraphic`). */
export function buildCallToAction() {
  return h('section', { class: 'gx gx-join', id: 'cta', attrs: { 'aria-hidden': 'true' } },
    h('div', { class: 'gx-box cta-box' },
      h('img', { class: 'cta-qr', id: 'cta-qr', dataset: { field: 'qr' }, attrs: { alt: '', width: '256', height: '256', decoding: 'async' }, hidden: true }),
      h('div', { class: 'cta-body' },
        h('p', { class: 'cta-title', id: 'cta-title', dataset: { field: 'title' }, text: WORDS.title }),
        h('p', { class: 'cta-hint', id: 'cta-hint', dataset: { field: 'hint' }, text: WORDS.hint }),
        h('p', { class: 'cta-url', id: 'cta-url', dataset: { field: 'url' } }),
        h('p', { class: 'cta-code', id: 'cta-code-line', dataset: { field: 'code-line' } },
          `${WORDS.code} `, h('b', { id: 'cta-code', dataset: { field: 'code' } })),
        h('p', { class: 'cta-other', id: 'cta-other', dataset: { field: 'other' } },
          h('span', { id: 'cta-sms', dataset: { field: 'sms-line' } }, `${WORDS.sms} `, h('b', { dataset: { field: 'sms' } })),
          h('span', { id: 'cta-whatsapp', dataset: { field: 'whatsapp-line' } }, `${WORDS.whatsapp} `, h('b', { dataset: { field: 'whatsapp' } }))))));
}

/** Puts how to ask into the call to action: `{code, url, sms, whatsapp}` (strings or null). */
export function fillCallToAction(el, join) {
  const f = (name) => el.querySelector(`[data-field="${name}"]`);
  const code = String(join.code || '').trim().toUpperCase();
  const qr = f('qr');
  const src = CODE.test(code) ? `/qr/${encodeURIComponent(code)}.svg` : '';
  if ((qr.getAttribute('src') || '') !== src) {
    if (src) qr.setAttribute('src', src); else qr.removeAttribute('src');
  }
  qr.hidden = !src;
  const address = shortAddress(join.url);
  setText(f('url'), address);
  f('url').hidden = !address;
  setText(f('hint'), address && src ? WORDS.hint : src ? WORDS.hintQr : WORDS.hintUrl);
  f('hint').hidden = !address && !src;
  setText(f('code'), code);
  f('code-line').hidden = !code;
  const sms = String(join.sms || '').trim();
  const wa = String(join.whatsapp || '').trim();
  setText(f('sms'), sms);
  setText(f('whatsapp'), wa);
  f('sms-line').hidden = !sms;
  f('whatsapp-line').hidden = !wa;
  f('other').hidden = !sms && !wa;
}

/** The empty name strap. */
export function buildStrap() {
  return h('section', { class: 'gx gx-speaker', id: 'strap', attrs: { 'aria-hidden': 'true' } },
    h('div', { class: 'gx-box strap-box' },
      h('p', { class: 'strap-name', id: 'strap-name', dataset: { field: 'name' } }),
      h('p', { class: 'strap-role', id: 'strap-role', dataset: { field: 'role' } })));
}

/** Puts a speaker (`{name, role}`) into the strap. */
export function fillStrap(el, speaker) {
  setText(el.querySelector('[data-field="name"]'), speaker.name || '');
  const role = el.querySelector('[data-field="role"]');
  setText(role, speaker.role || '');
  role.hidden = !role.textContent;
}

/** Animates a graphic in (true) or out (false). */
export function showGraphic(el, on) {
  el.classList.toggle('on', on);
}
