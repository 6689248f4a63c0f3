// Tiny SVG charts drawn by the page itself (no library, nothing from another host).
// Every node is made with document.createElementNS and every text goes in through textContent;
// colours and sizes are SVG presentational attributes (fill, width, ...), which a strict CSP allows.
//
//   import { barChart } from '../shared/chart.js';
//   box.append(barChart({ title: 'Pertanyaan menurut saluran', data: [['SMS', 3], ['Telepon', 5]], unit: 'pertanyaan' }));
//
// The chart scales with its box (viewBox, width 100% from CSS: `svg.chart { width: 100%; height: auto }`).

const NS = 'http://www.w3.org/2000/svg';

/** The default colours, in order; each bar takes its own when `colors` is given, else the first. */
export const PALETTE = ['#0b5cad', '#1b7a3a', '#c2410c', '#8a5a00', '#6b3fa0', '#b3261e', '#0f766e', '#555b66'];

function el(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) n.setAttribute(k, String(v));
  if (text !== undefined && text !== null) n.textContent = String(text);
  return n;
}

/** A label cut to `max` characters (an ellipsis when cut); the whole label stays in a <title>. */
function cut(s, max) {
  const chars = Array.from(String(s));
  return chars.length <= max ? chars.join('') : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/**
 * A horizontal bar chart.
 * @param {object} o
 * @param {string} o.title              the chart's name (its accessible name starts with it)
 * @param {Array<[string, number]>} o.data  rows in the order to draw them
 * @param {string} [o.unit]             word after each value in the summary ("pertanyaan")
 * @param {(n: number) => string} [o.format]  how a value is written (default: locale digits)
 * @param {string} [o.locale]           for the default format (default: the document's lang)
 * @param {string|string[]} [o.colors]  one colour for every bar, or one per bar (cycled)
 * @param {string} [o.empty]            text when there is nothing to draw (default "–")
 * @param {number} [o.width]            viewBox width (default 480)
 * @param {number} [o.barHeight]        (default 16)   @param {number} [o.gap] (default 6)
 * @param {number} [o.labelWidth]       room for the labels (default: from the longest, 25–56 % of the width)
 * @param {number} [o.max]              the value a full bar stands for (default: the largest)
 * @returns {SVGSVGElement} role="img", aria-label "Title: label value unit, ...", class "chart"
 */
export function barChart(o) {
  const data = (o.data || []).map(([label, value]) => [String(label), Number(value) || 0]);
  const locale = o.locale || document.documentElement.lang || undefined;
  const nf = new Intl.NumberFormat(locale);
  const format = o.format || ((n) => nf.format(n));
  const unit = o.unit ? ` ${o.unit}` : '';
  const W = o.width || 480;
  const bh = o.barHeight || 16;
  const gap = o.gap ?? 6;
  const font = Math.round(bh * 0.75);
  const charW = font * 0.55;              // an average glyph of a system sans at this size
  const longest = data.reduce((m, [l]) => Math.max(m, Array.from(l).length), 0);
  const labelW = o.labelWidth || Math.min(W * 0.56, Math.max(W * 0.25, longest * charW + 8));
  const maxChars = Math.max(4, Math.floor((labelW - 8) / charW + 1e-6));
  const valueW = Math.max(...data.map(([, v]) => format(v).length), 1) * charW + 8;
  const barMax = Math.max(10, W - labelW - valueW);
  const top = Math.max(0, ...data.map(([, v]) => v));
  const max = o.max || top || 1;
  const colors = Array.isArray(o.colors) ? o.colors : [o.colors || PALETTE[0]];

  const rows = data.length || 1;
  const H = rows * bh + (rows - 1) * gap + 2;
  const summary = data.length
    ? data.map(([l, v]) => `${l} ${format(v)}${unit}`).join(', ')
    : (o.empty || '–');
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': o.title ? `${o.title}: ${summary}` : summary,
    preserveAspectRatio: 'xMinYMin meet', 'font-size': font, 'font-family': 'system-ui, sans-serif',
  });
  svg.append(el('title', null, o.title ? `${o.title}: ${summary}` : summary));
  if (!data.length) {
    svg.append(el('text', { x: 0, y: bh * 0.78, fill: '#555b66', 'aria-hidden': 'true' }, o.empty || '–'));
    return svg;
  }
  data.forEach(([label, value], i) => {
    const y = 1 + i * (bh + gap);
    const w = value > 0 ? Math.max(2, (Math.min(value, max) / max) * barMax) : 0;
    const g = el('g', { class: 'bar', 'data-label': label, 'data-value': value, 'aria-hidden': 'true' });
    const name = el('text', { x: labelW - 6, y: y + bh * 0.78, 'text-anchor': 'end', fill: '#16181d' }, cut(label, maxChars));
    if (Array.from(label).length > maxChars) name.append(el('title', null, label));
    g.append(name);
    g.append(el('rect', { x: labelW, y, width: w.toFixed(1), height: bh, rx: 2, fill: colors[i % colors.length] }));
    g.append(el('text', { x: labelW + w + 4, y: y + bh * 0.78, fill: '#16181d', 'font-weight': 700 }, format(value)));
    svg.append(g);
  });
  return svg;
}
