// Broadcast overlay /overlay/{id}#k=KEY: a 1920x1080 transparent page with one
// lower third, animated in on take and out on clear. Query parameters:
//   pos=bottom-left|bottom-center|bottom-right|top-left|top-center|top-right
//   bg, fg, accent = CSS colours (%23003366), scale=1.2 (type scale),
//   safe=5 (title-safe margin in % of the picture), font=local font family,
//   demo=1 (show a sample, no hub), checker=1 (checkerboard behind, to see edges),
//   debug=1 (show connection state; never on air).
// Also a CasparCG / SPX-GC template: play(), stop(), next(), update(data).
import { TanyaClient, pageKey } from '../shared/client.js';
import { pathId } from '../shared/dom.js';
import { buildLowerThird, fillLowerThird, airData, fitText } from './lower-third.js';
import { buildPollGraphic, fillPoll, showPoll } from './poll-graphic.js';

const params = new URLSearchParams(location.search);
const stage = document.getElementById('stage');
const lt = buildLowerThird();
stage.appendChild(lt);
const pg = buildPollGraphic();
stage.appendChild(pg);

// ---- look ------------------------------------------------------------------
const POS = ['bottom-left', 'bottom-center', 'bottom-right', 'top-left', 'top-center', 'top-right'];
const pos = params.get('pos');
stage.dataset.pos = POS.includes(pos) ? pos : 'bottom-left';
for (const [param, prop] of [['bg', '--lt-bg'], ['fg', '--lt-fg'], ['accent', '--lt-accent']]) {
  const v = params.get(param);
  if (v && CSS.supports('color', v)) stage.style.setProperty(prop, v);
  else if (v && /^[0-9a-f]{3,8}$/i.test(v) && CSS.supports('color', `#${v}`)) stage.style.setProperty(prop, `#${v}`);
}
const scale = Number(params.get('scale'));
if (scale >= 0.5 && scale <= 3) stage.style.setProperty('--lt-scale', String(scale));
const safe = Number(params.get('safe'));
if (safe >= 0 && safe <= 20 && params.has('safe')) {
  stage.style.setProperty('--safe-x', `${(1920 * safe) / 100}px`);
  stage.style.setProperty('--safe-y', `${(1080 * safe) / 100}px`);
}
const font = params.get('font');
if (font && /^[\w \-]{1,60}$/.test(font)) stage.style.setProperty('--lt-font', `"${font}", system-ui, sans-serif`);
if (params.get('checker') === '1') document.body.classList.add('checker');

function fitStage() {
  const s = Math.min(window.innerWidth / 1920, window.innerHeight / 1080) || 1;
  stage.style.setProperty('--stage-scale', String(s));
}
fitStage();
window.addEventListener('resize', fitStage);

// ---- state -------------------------------------------------------------------
let hub = { visible: false, data: airData(null) };
let manual = null;      // data from update(), wins while set
let visible = false;
let shown = null;       // data currently in the lower third

function dataNow() { return manual || hub.data; }

function setVisible(v, data = dataNow()) {
  if (v) {
    if (!data.text) { v = false; } else if (!shown || JSON.stringify(shown) !== JSON.stringify(data)) {
      fillLowerThird(lt, data);
      shown = data;
    }
  }
  visible = v;
  lt.classList.toggle('on', v);
  document.body.dataset.visible = v ? 'true' : 'false';
  if (v) {
    performance.mark('tanya-overlay-on');
    window.__tanyaOverlayShownAt = performance.now();
  }
  window.dispatchEvent(new CustomEvent('tanya:overlay', { detail: { visible: v, data: v ? data : null } }));
}

function refreshText() {
  // text edited while on air, or another question: update in place
  const data = dataNow();
  if (visible && data.text) { fillLowerThird(lt, data); shown = data; }
  if (visible && !data.text) setVisible(false);
}

// ---- hub -----------------------------------------------------------------
const id = pathId('/overlay/');
const key = pageKey('k', { query: true });
let client = null;
const debug = params.get('debug') === '1' ? document.getElementById('debug') : null;
if (debug) debug.hidden = false;

/** The poll on air, with the latest counts (from `poll` events between `overlay` events). */
function renderPollOnAir(o) {
  const onAir = o.poll ? (client.view.polls.get(o.poll.id) || o.poll) : null;
  if (onAir) fillPoll(pg, onAir);
  if (manualPoll) return; // a template caller owns the graphic while it has a poll
  showPoll(pg, !!onAir && !manual);
  document.body.dataset.poll = onAir ? 'true' : 'false';
}

function onHub() {
  const v = client.view;
  const o = v.overlay || { visible: false, question: null };
  renderPollOnAir(o);
  const speakers = (v.session && v.session.speakers) || [];
  const data = airData(o.question, speakers);
  const wasVisible = hub.visible;
  hub = { visible: !!o.visible && !!o.question, data };
  if (manual) return; // a template caller owns the content while it has data
  if (hub.visible && !wasVisible) setVisible(true, data);
  else if (!hub.visible && wasVisible) setVisible(false);
  else if (hub.visible) refreshText();
  else if (visible && !hub.visible) setVisible(false);
}

if (params.get('demo') === '1') {
  hub = { visible: true, data: { text: 'Kapan izin usaha kecil bisa diurus sepenuhnya secara daring, tanpa harus datang ke kantor dinas?', name: 'Siti Rahma', outlet: 'Radio Sonora Palembang', speaker: 'Drs Ratu Dewa MSi', speaker_role: 'Sekretaris Daerah' } };
  requestAnimationFrame(() => setVisible(true, hub.data));
} else if (id && key) {
  client = new TanyaClient({ role: 'overlay', session: id, key });
  client.on('change', onHub);
  client.on('state', (s) => { document.body.dataset.conn = s.state; if (debug) debug.textContent = `tanya overlay: ${s.state}${s.code ? ` (${s.code})` : ''}`; });
  client.on('fatal', (f) => console.error('tanya overlay: stopped', f.code, f.reason));
  client.start();
} else if (debug) {
  debug.textContent = 'tanya overlay: template mode (no #k=KEY)';
}

// ---- CasparCG / SPX-GC template API ----------------------------------------
const FIELD = {
  text: 'text', f0: 'text', question: 'text', q: 'text',
  name: 'name', f1: 'name',
  outlet: 'outlet', f2: 'outlet',
  speaker: 'speaker', f3: 'speaker',
  speaker_role: 'speaker_role', role: 'speaker_role', f4: 'speaker_role',
};

/** The fields a caller sent (`update(data)`): JSON, CasparCG's XML templateData, or plain text. */
function templateFields(raw) {
  let obj = {};
  if (raw && typeof raw === 'object') obj = raw;
  else if (typeof raw === 'string' && raw.trim()) {
    const s = raw.trim();
    if (s.startsWith('<')) {
      const doc = new DOMParser().parseFromString(s, 'application/xml');
      for (const c of doc.getElementsByTagName('componentData')) {
        const dataEl = c.getElementsByTagName('data')[0];
        if (dataEl) obj[c.getAttribute('id')] = dataEl.getAttribute('value') || '';
      }
    } else {
      try { obj = JSON.parse(s); } catch { obj = { text: s }; }
    }
  }
  if (Array.isArray(obj)) obj = obj[0] || {};
  return obj || {};
}

export function parseTemplateData(raw) {
  const obj = templateFields(raw);
  const out = { text: '', name: '', outlet: '', speaker: '', speaker_role: '' };
  let any = false;
  for (const [k, v] of Object.entries(obj || {})) {
    const f = FIELD[k];
    if (f && typeof v !== 'object') { out[f] = String(v ?? ''); if (out[f]) any = true; }
  }
  return any ? out : null;
}

/** A poll from a caller, in `live.json`'s columns (`poll_question`, `poll_option1`..`6`,
 *  `poll_count1`..`6`), so a row of live.json can be passed as is; null without a question and
 *  two options. */
export function parseTemplatePoll(raw) {
  const obj = templateFields(raw);
  const question = typeof obj.poll_question === 'string' ? obj.poll_question.trim() : '';
  const options = [];
  for (let i = 1; i <= 6; i++) {
    const text = obj[`poll_option${i}`];
    if (typeof text === 'string' && text.trim()) options.push({ text: text.trim(), count: Math.max(0, Number(obj[`poll_count${i}`]) || 0) });
  }
  return question && options.length >= 2 ? { id: '', question, options } : null;
}

let manualPoll = null;   // a poll from update(), shown by play() instead of the lower third

const template = {
  update(raw) {
    manual = parseTemplateData(raw);
    manualPoll = parseTemplatePoll(raw);
    if (manualPoll) { manual = null; fillPoll(pg, manualPoll); }
    if (visible) refreshText();
  },
  play() {
    if (manualPoll) { setVisible(false); showPoll(pg, true); document.body.dataset.poll = 'true'; return; }
    setVisible(true);
  },
  stop() {
    setVisible(false);
    if (manualPoll || !client) { showPoll(pg, false); document.body.dataset.poll = 'false'; }
  },
  next() {
    // show the newest data: out and in again
    if (!visible) return setVisible(true);
    setVisible(false);
    setTimeout(() => setVisible(true), 350);
  },
};
window.__tanyaTemplate.attach(template);
window.tanyaOverlay = { get client() { return client; }, get visible() { return visible; }, parseTemplateData, parseTemplatePoll, refit: () => fitText(lt) };
