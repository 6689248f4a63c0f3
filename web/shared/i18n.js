// Minimal i18n: one string table per language, Bahasa Indonesia by default.
// Pick order: ?lang= / #lang=, the saved choice, navigator.language (en*), else id.
import { store } from './client.js';

export const LANGS = ['id', 'en'];

export function pickLang() {
  const q = new URLSearchParams(location.search).get('lang')
    || new URLSearchParams(location.hash.replace(/^#/, '')).get('lang');
  if (q && LANGS.includes(q)) return q;
  const saved = store.get('lang');
  if (saved && LANGS.includes(saved)) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || '';
  return /^en\b/i.test(nav) ? 'en' : 'id';
}

export function makeI18n(tables, lang = pickLang()) {
  const i18n = {
    lang,
    tables,
    t(key, vars) {
      const table = tables[i18n.lang] || tables.id;
      let s = table[key];
      if (s === undefined) s = tables.id[key];
      if (s === undefined) return key;
      if (typeof s === 'function') return s(vars || {});
      if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
      return s;
    },
    set(l) {
      if (!LANGS.includes(l)) return;
      i18n.lang = l;
      store.set('lang', l);
      i18n.apply();
    },
    /** Fill [data-i18n] (textContent), [data-i18n-placeholder], [data-i18n-label] (aria-label), [data-i18n-title]. */
    apply(root = document) {
      document.documentElement.lang = i18n.lang;
      for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = i18n.t(el.dataset.i18n);
      for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = i18n.t(el.dataset.i18nPlaceholder);
      for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', i18n.t(el.dataset.i18nLabel));
      for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = i18n.t(el.dataset.i18nTitle);
    },
  };
  return i18n;
}
