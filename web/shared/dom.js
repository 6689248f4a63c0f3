// Tiny DOM helpers. Text always goes in through textContent / text nodes,
// never through innerHTML: every string from a client is plain text.

/**
 * h('button', {class: 'x', dataset: {act: 'vote'}, onclick: fn}, 'label', child)
 * Props: class, text, dataset, attrs (set as attributes), on* (listeners),
 * anything else is assigned as a property (hidden, disabled, value, ...).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false && k !== 'hidden' && k !== 'disabled') continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'attrs') for (const [a, av] of Object.entries(v)) { if (av !== null && av !== undefined && av !== false) el.setAttribute(a, av === true ? '' : String(av)); }
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el[k] = v;
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Set text only when it changed (keeps selection and avoids layout work). */
export function setText(el, text) {
  const s = text === null || text === undefined ? '' : String(text);
  if (el.textContent !== s) el.textContent = s;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/**
 * Keyed list rendering: reuses one element per key, creates missing ones,
 * removes the ones gone and puts them in order with the fewest moves.
 * create(item) -> Element; update(el, item) refreshes it in place.
 */
export function syncList(parent, items, key, create, update) {
  const old = new Map();
  for (const el of Array.from(parent.children)) {
    if (el.dataset.key !== undefined) old.set(el.dataset.key, el);
  }
  const wanted = items.map((item) => [String(key(item)), item]);
  const keep = new Set(wanted.map(([k]) => k));
  for (const [k, el] of old) if (!keep.has(k)) el.remove();
  const focused = document.activeElement;
  const hadFocus = focused && parent.contains(focused) ? focused : null;
  const nextKeyed = (n) => { while (n && n.dataset.key === undefined) n = n.nextElementSibling; return n; };
  let cursor = nextKeyed(parent.firstElementChild);
  for (const [k, item] of wanted) {
    let el = old.get(k);
    if (!el) { el = create(item); el.dataset.key = k; }
    update(el, item);
    if (el === cursor) cursor = nextKeyed(cursor.nextElementSibling);
    else parent.insertBefore(el, cursor);
  }
  // a moved element loses focus: give it back (but never steal it from what update() focused)
  const now = document.activeElement;
  if (hadFocus && hadFocus.isConnected && (!now || now === document.body)) hadFocus.focus({ preventScroll: true });
}

/** Copy text to the clipboard; works on plain http (no secure context) too. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall through */ }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.className = 'visually-hidden';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

/** Read `k=v` pairs from location.hash ("#k=KEY&lang=en"). */
export function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

/** Last path segment after a prefix: pathId('/m/') for "/m/{id}". */
export function pathId(prefix) {
  const p = location.pathname;
  if (!p.startsWith(prefix)) return '';
  return decodeURIComponent(p.slice(prefix.length).split('/')[0] || '');
}

/** Short relative-free clock time ("14:05") for an RFC 3339 string. */
export function clockTime(iso, locale) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
}

/** Length as the hub counts it: Unicode scalar values after trim + NFC. */
export function textLength(s) {
  let t = String(s || '').trim();
  try { t = t.normalize('NFC'); } catch { /* old engines */ }
  let n = 0;
  for (const _ of t) n++; // iterates code points
  return n;
}

/** A link on 127.x, localhost or [::1] opens on this computer only: phones cannot reach it. */
export function isLoopbackUrl(url) {
  let host;
  try { host = new URL(url).hostname.toLowerCase(); } catch { return false; }
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host)
    || host === '::1' || host === '0:0:0:0:0:0:0:1';
}
