// Join slide /join/{code} for the room's projector: the session's title, a large QR code of the
// join link, the short address, the join code in large letters, and the SMS and WhatsApp numbers
// when the office set them. Everything comes from GET /api/join/{code}, built from the public
// address of the laptop running Tanya, never from this page's own address. ?lang=en for English.
import { $, setText, pathId } from '../shared/dom.js';
import { makeI18n } from '../shared/i18n.js';
import STRINGS from './strings.js';

// Bahasa Indonesia whatever the projector laptop's browser language: the slide speaks to the
// room. ?lang=en for English.
const i18n = makeI18n(STRINGS, new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'id');
const t = i18n.t;
i18n.apply();

const code = pathId('/join/').trim();
/** The slide stays up for the whole hour: it reloads the title and status now and then. */
const REFRESH_MS = 30000;
/** After a failed load (the laptop's network, a restart): try again soon. */
const RETRY_MS = 5000;

const slide = $('#slide');
let timer = null;

/** The address as people type it: without `http://`. */
function shortUrl(url) {
  return String(url || '').replace(/^https?:\/\//i, '').replace(/\/$/, '');
}

async function load() {
  clearTimeout(timer);
  let res;
  try {
    res = await fetch(`/api/join/${encodeURIComponent(code)}`, { cache: 'no-store', headers: { Accept: 'application/json' } });
  } catch {
    return failed();
  }
  if (res.status === 404) return notFound();
  let info = null;
  try { info = res.ok ? await res.json() : null; } catch { info = null; }
  if (!info || typeof info.code !== 'string') return failed();
  show(info);
  timer = setTimeout(load, REFRESH_MS);
}

function show(info) {
  slide.dataset.state = 'ready';
  slide.dataset.status = info.status || '';
  $('#slide-error').hidden = true;
  slide.hidden = false;
  setText($('#slide-title'), info.title);
  document.title = `${info.title} · ${t('pageTitle')}`;
  const img = $('#slide-qr');
  const src = `/qr/${encodeURIComponent(info.code)}.svg`;
  if (img.getAttribute('src') !== src) img.setAttribute('src', src);
  img.alt = t('qrAlt', { code: info.code });
  setText($('#slide-url'), shortUrl(info.url));
  setText($('#slide-code'), info.code);
  setText($('#slide-sms'), info.sms || '');
  setText($('#slide-whatsapp'), info.whatsapp || '');
  $('#slide-sms-line').hidden = !info.sms;
  $('#slide-whatsapp-line').hidden = !info.whatsapp;
  $('#slide-numbers').hidden = !info.sms && !info.whatsapp;
  const status = info.status === 'paused' || info.status === 'closed' ? t(`status.${info.status}`) : '';
  setText($('#slide-status'), status);
  $('#slide-status').hidden = !status;
  fitSlide();
}

function showError(state, title, text) {
  slide.dataset.state = state;
  slide.hidden = true;
  $('#slide-error').hidden = false;
  $('#slide-error').dataset.state = state;
  setText($('#slide-error-title'), title);
  setText($('#slide-error-text'), text);
}

function notFound() {
  // the code as typed in the address, shortened: it is only there to be recognised
  const shown = code.length > 24 ? `${code.slice(0, 24)}…` : code;
  showError('notfound', t('notfound.title', { code: shown }), t('notfound.text'));
  document.title = `Tanya · ${t('pageTitle')}`;
}

function failed() {
  // a slide already shown stays as it was; the next try comes soon
  if (slide.dataset.state !== 'ready') showError('error', t('error.title'), t('error.text'));
  timer = setTimeout(load, RETRY_MS);
}

// ---- fitting: nothing may be cut at any projector size -------------------------------------
/** Shrinks `el`'s own size factor (CSS variable `name`) until it fits on one line, down to
 *  `min`; then lets it wrap. */
function fitLine(el, name, min) {
  el.classList.remove('wrap');
  let m = 1;
  el.style.setProperty(name, '1');
  while (el.scrollWidth > el.clientWidth + 1 && m > min) {
    m *= 0.94;
    el.style.setProperty(name, String(m));
  }
  if (el.scrollWidth > el.clientWidth + 1) el.classList.add('wrap');
}

/** The whole slide's scale (`--k`): 1, or smaller until the slide fits the window. */
function fitSlide() {
  if (slide.dataset.state !== 'ready') return;
  let k = 1;
  slide.style.setProperty('--k', '1');
  const fitsLines = () => { fitLine($('#slide-url'), '--u', 0.5); fitLine($('#slide-code'), '--c', 0.5); };
  fitsLines();
  const over = () => slide.scrollHeight > slide.clientHeight + 1 || slide.scrollWidth > slide.clientWidth + 1;
  while (over() && k > 0.3) {
    k *= 0.95;
    slide.style.setProperty('--k', String(k));
    fitsLines();
  }
}

window.addEventListener('resize', fitSlide);
if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitSlide);
if (code) load(); else notFound();
