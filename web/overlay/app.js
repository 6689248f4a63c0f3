// Broadcast overlay /overlay/{id}#k=KEY: a transparent page (1920x1080, or any size: the
// graphics are scaled to it, see fitStage) with one graphic on air at a time, animated in and
// out: the lower third (the question being answered), a poll's result, the "how to ask" call
// to action or a speaker's name strap. Query parameters:
//   pos=bottom-left|bottom-center|bottom-right|top-left|top-center|top-right
//   bg, fg, accent = CSS colours (%23003366), scale=1.2 (type scale),
//   safe=5 (title-safe margin in % of the picture), font=local font family,
//   demo=1|join|speaker (show a sample lower third, call to action or strap, no hub),
//   checker=1 (checkerboard behind, to see edges),
//   debug=1 (show connection state; never on air).
// Also a CasparCG / SPX-GC template: play(), stop(), next(), update(data).
// On a programme link (/p/{slug}/overlay#k=KEY) it follows the programme's current episode: when
// another episode becomes current the picture is cleared at once (no fade, nothing of the old
// episode after the switch) and the new episode's graphics follow; with no current episode it
// stays transparent and keeps asking.
import { TanyaClient, pageKey, programmeFromPath } from '../shared/client.js';
import { pathId } from '../shared/dom.js';
import { buildLowerThird, fillLowerThird, airData, fitText } from './lower-third.js';
import { buildPollGraphic, fillPoll, showPoll } from './poll-graphic.js';
import { buildCallToAction, fillCallToAction, buildStrap, fillStrap, showGraphic } from './graphics.js';

const params = new URLSearchParams(location.search);
const stage = document.getElementById('stage');
const lt = buildLowerThird();
stage.appendChild(lt);
const pg = buildPollGraphic();
stage.appendChild(pg);
const cta = buildCallToAction();
stage.appendChild(cta);
const strap = buildStrap();
stage.appendChild(strap);

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
if (safe >= 0 && safe <= 20 && params.has('safe')) stage.style.setProperty('--safe', String(safe));
const font = params.get('font');
if (font && /^[\w \-]{1,60}$/.test(font)) stage.style.setProperty('--lt-font', `"${font}", system-ui, sans-serif`);
if (params.get('checker') === '1') document.body.classList.add('checker');

/** The stage covers the whole page: 1920 logical pixels across a 16:9 picture (1920x1080 at
 *  1080p and 720p), taller for a squarer one (1920x1536 for SD 720x576, 1920x1280 for 720x480),
 *  so title-safe and the minimum text sizes are those of the picture on air. */
function fitStage() {
  const w = window.innerWidth || 1920;
  const h = window.innerHeight || 1080;
  const s = Math.min(w / 1920, h / 1080) || 1;
  stage.style.setProperty('--stage-scale', String(s));
  stage.style.setProperty('--stage-w', String(w / s));
  stage.style.setProperty('--stage-h', String(h / s));
  fitText(lt);
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

// ---- the call to action and the name strap -----------------------------------
let hubGraphic = null;  // the graphic the hub has on air, as the overlay view gives it
let hubJoin = null;     // how the public asks: {code, url, sms, whatsapp}, from the session view
let graphicOn = null;   // on air now: {type:'join', join} | {type:'speaker', name, role} | null
let graphicByTemplate = false; // graphicOn came from a template caller's update()

/** Puts one graphic on air (filled first) and the other off, or neither. */
function setGraphic(g, byTemplate = false) {
  graphicByTemplate = !!g && byTemplate;
  if (g && g.type === 'join') fillCallToAction(cta, g.join);
  if (g && g.type === 'speaker') fillStrap(strap, g);
  showGraphic(cta, !!g && g.type === 'join');
  showGraphic(strap, !!g && g.type === 'speaker');
  graphicOn = g;
  document.body.dataset.graphic = g ? g.type : '';
}

/** How to ask, from the session view (`code`, `join`). */
function joinOf(session) {
  if (!session) return null;
  const j = session.join || {};
  // An episode of a programme shows the programme's join code (`join.code`) and address.
  return { code: j.code || session.code || '', url: j.url || '', sms: j.sms || '', whatsapp: j.whatsapp || '' };
}

/** The hub's graphic in the form setGraphic takes (a strap without a name: none). */
function hubGraphicNow() {
  const g = hubGraphic;
  if (!g) return null;
  if (g.type === 'join' && hubJoin) return { type: 'join', join: hubJoin };
  if (g.type === 'speaker' && g.speaker && g.speaker.name) return { type: 'speaker', name: g.speaker.name, role: g.speaker.role || '' };
  return null;
}

// ---- hub -----------------------------------------------------------------
const id = pathId('/overlay/');
const programme = programmeFromPath('/overlay');
const key = pageKey('k', { query: true });
let client = null;
const debug = params.get('debug') === '1' ? document.getElementById('debug') : null;
if (debug) debug.hidden = false;

/** The poll on air, with the latest counts (from `poll` events between `overlay` events). */
function renderPollOnAir(o) {
  const onAir = o.poll ? (client.view.polls.get(o.poll.id) || o.poll) : null;
  if (onAir) fillPoll(pg, onAir);
  if (manualPoll || manualGraphic) return; // a template caller owns the graphics
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
  renderGraphicOnAir(v.session);
  if (manual || manualGraphic) return; // a template caller owns the content while it has data
  if (hub.visible && !wasVisible) setVisible(true, data);
  else if (!hub.visible && wasVisible) setVisible(false);
  else if (hub.visible) refreshText();
  else if (visible && !hub.visible) setVisible(false);
}

/** The call to action or the strap as the hub has them; the call to action is kept filled while
 *  off air, so its QR code is loaded before the take. */
function renderGraphicOnAir(session) {
  const join = joinOf(session);
  const joinChanged = JSON.stringify(join) !== JSON.stringify(hubJoin);
  hubJoin = join;
  if (manual || manualPoll || manualGraphic) return; // a template caller owns the graphics
  const g = hubGraphicNow();
  if (graphicByTemplate || JSON.stringify(g) !== JSON.stringify(graphicOn)) setGraphic(g);
  else if (joinChanged && hubJoin && !graphicOn) fillCallToAction(cta, hubJoin);
}

const DEMO_JOIN = { code: 'K7M2QX', url: 'https://tanya.example.go.id/j/K7M2QX', sms: '0812 3456 7890', whatsapp: '0812 3456 7890' };
if (params.get('demo') === 'join') {
  requestAnimationFrame(() => setGraphic({ type: 'join', join: DEMO_JOIN }));
} else if (params.get('demo') === 'speaker') {
  requestAnimationFrame(() => setGraphic({ type: 'speaker', name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' }));
} else if (params.get('demo') === '1') {
  hub = { visible: true, data: { text: 'Kapan izin usaha kecil bisa diurus sepenuhnya secara daring, tanpa harus datang ke kantor dinas?', name: 'Siti Rahma', outlet: 'Radio Sonora Palembang', speaker: 'Drs Ratu Dewa MSi', speaker_role: 'Sekretaris Daerah' } };
  requestAnimationFrame(() => setVisible(true, hub.data));
} else if ((id || programme) && key) {
  client = programme ? new TanyaClient({ role: 'overlay', programme, key }) : new TanyaClient({ role: 'overlay', session: id, key });
  // A programme link: another episode is current (4307) or none is (4404). Everything goes off
  // the picture at once, before the socket is opened again.
  client.on('episode', cutToClear);
  client.on('noepisode', cutToClear);
  // The new episode's welcome: the stage back (styles flushed, so what is on air animates in).
  client.on('welcome', () => {
    if (stage.hidden) { stage.hidden = false; void stage.offsetWidth; }
    delete document.body.dataset.episode;
  });
  // The graphic on air, from the frames themselves (welcome and `overlay` events): the client's
  // view keeps only `visible`, `question` and `poll` of an `overlay` event.
  client.on('welcome', (m) => { if (m.overlay) hubGraphic = m.overlay.graphic || null; });
  client.on('overlay', (m) => { hubGraphic = m.graphic || null; });
  client.on('change', onHub);
  client.on('state', (s) => { document.body.dataset.conn = s.state; if (debug) debug.textContent = `tanya overlay: ${s.state}${s.code ? ` (${s.code})` : ''}`; });
  client.on('fatal', (f) => console.error('tanya overlay: stopped', f.code, f.reason));
  client.start();
} else if (debug) {
  debug.textContent = 'tanya overlay: template mode (no #k=KEY)';
}

/** Clears the picture at once: the stage is hidden (no fade-out), every graphic is taken off and
 *  emptied, the hub's state forgotten. The next welcome shows the stage again (a frame later, so
 *  that what comes on air animates in from nothing). */
function cutToClear() {
  stage.hidden = true;
  hub = { visible: false, data: airData(null) };
  hubGraphic = null;
  hubJoin = null;
  shown = null;
  if (visible) setVisible(false);
  fillLowerThird(lt, airData(null));
  if (!manualPoll) pollOff();
  if (!manualGraphic) setGraphic(null);
  document.body.dataset.episode = 'switching';
}

// ---- CasparCG / SPX-GC template API ----------------------------------------
const FIELD = {
  text: 'text', f0: 'text', question: 'text', q: 'text', air_text: 'air_text',
  name: 'name', f1: 'name',
  outlet: 'outlet', f2: 'outlet',
  speaker: 'speaker', f3: 'speaker',
  speaker_role: 'speaker_role', role: 'speaker_role', f4: 'speaker_role',
  credit: 'credit',
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

/** The lower third from a caller's fields (`text`/`f0`, `name`/`f1`, `outlet`/`f2`,
 *  `speaker`/`f3`, `speaker_role`/`f4`, `credit`, or the columns of live.json); the text on air is
 *  `air_text` when given (live.json's short version for air), else `text`. Null when empty. */
export function parseTemplateData(raw) {
  const obj = templateFields(raw);
  const out = { text: '', air_text: '', name: '', outlet: '', speaker: '', speaker_role: '', credit: '' };
  let any = false;
  for (const [k, v] of Object.entries(obj || {})) {
    const f = FIELD[k];
    if (f && typeof v !== 'object') { out[f] = String(v ?? ''); if (out[f]) any = true; }
  }
  if (out.air_text.trim()) out.text = out.air_text;
  delete out.air_text;
  return any ? out : null;
}

/** The call to action or the name strap from a caller, in live.json's columns: `graphic`
 *  (`join` or `speaker`), `join_code`, `join_url`, `join_sms`, `join_whatsapp`, `strap_name`,
 *  `strap_role`. Without a `graphic` field, `strap_name` means a strap, and a join code or
 *  address with no question or poll means the call to action. Null for neither. */
export function parseTemplateGraphic(raw) {
  const obj = templateFields(raw);
  const str = (k) => (typeof obj[k] === 'string' || typeof obj[k] === 'number' ? String(obj[k]).trim() : '');
  let type = str('graphic').toLowerCase();
  if (!('graphic' in obj)) {
    if (str('strap_name')) type = 'speaker';
    else if ((str('join_code') || str('join_url')) && !parseTemplateData(obj) && !parseTemplatePoll(obj)) type = 'join';
  }
  if (type === 'speaker') {
    const name = str('strap_name');
    return name ? { type, name, role: str('strap_role') } : null;
  }
  if (type === 'join') {
    const join = { code: str('join_code'), url: str('join_url'), sms: str('join_sms'), whatsapp: str('join_whatsapp') };
    return join.code || join.url ? { type, join } : null;
  }
  return null;
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

let manualPoll = null;     // a poll from update(), shown by play() instead of the lower third
let manualGraphic = null;  // a call to action or strap from update(), shown by play()

function pollOff() { showPoll(pg, false); document.body.dataset.poll = 'false'; }

const template = {
  update(raw) {
    const hadData = !!(manual || manualPoll || manualGraphic);
    manual = parseTemplateData(raw);
    manualPoll = parseTemplatePoll(raw);
    manualGraphic = parseTemplateGraphic(raw);
    if (manualGraphic) { manual = null; manualPoll = null; }
    if (manualPoll) { manual = null; fillPoll(pg, manualPoll); }
    // a graphic of the caller's on air takes the new data in place
    if (manualGraphic && graphicOn && graphicByTemplate) setGraphic(manualGraphic, true);
    if (visible) refreshText();
    // empty data: the hub's graphics again
    if (hadData && !manual && !manualPoll && !manualGraphic && client) onHub();
  },
  play() {
    if (manualGraphic) { setVisible(false); pollOff(); setGraphic(manualGraphic, true); return; }
    if (manualPoll) { setGraphic(null); setVisible(false); showPoll(pg, true); document.body.dataset.poll = 'true'; return; }
    if (manual) setGraphic(null); // the caller's question: one graphic at a time
    setVisible(true);
  },
  stop() {
    setVisible(false);
    if (manualPoll || manualGraphic || !client) { pollOff(); setGraphic(null); }
  },
  next() {
    // show the newest data: out and in again
    if (manualGraphic) {
      if (!graphicOn) return setGraphic(manualGraphic, true);
      setGraphic(null);
      setTimeout(() => { if (manualGraphic) setGraphic(manualGraphic, true); }, 350);
      return;
    }
    if (!visible) return setVisible(true);
    setVisible(false);
    setTimeout(() => setVisible(true), 350);
  },
};
window.__tanyaTemplate.attach(template);
window.tanyaOverlay = {
  get client() { return client; },
  get visible() { return visible; },
  get graphic() { return graphicOn; },
  parseTemplateData, parseTemplatePoll, parseTemplateGraphic,
  refit: () => fitText(lt),
};
