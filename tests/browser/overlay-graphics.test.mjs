// The overlay's graphics besides the poll: the "how to ask" call to action, the speaker's name
// strap, and the lower third's short text for air and minimum text size. Each graphic: fully
// transparent before and after (pixels of a screenshot with the page's own transparent
// background), inside title-safe on air (pixels), animated, the right text; at 1080p and in SD
// (720x576, 720x480: the overlay scaled) no text below its minimum size; and the CasparCG/SPX
// template path drawing them from live.json's columns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, createSession, newPage, online, hub, card, BASE } from './helpers.mjs';
import { decodePng, opaqueBox } from './png.mjs';

// Numbers the public can also ask through, for the hub this file starts (with TANYA_URL the
// running hub's own settings apply; the checks take the numbers from the session view).
process.env.TANYA_JOIN_SMS ??= '0812 3456 7890';
process.env.TANYA_JOIN_WHATSAPP ??= '0813 9876 5432';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = process.env.TANYA_SCREENSHOTS || path.resolve(HERE, '../../docs/screenshots');
const HD = { width: 1920, height: 1080 };
const SIZES = [HD, { width: 720, height: 576 }, { width: 720, height: 480 }];
// The minimum text sizes in pixels of the picture: the question, a name, the address and the
// code at least 1/24 of its height; the smaller lines at least 1/30.
const MIN_TEXT = (h) => h / 24;
const MIN_SMALL = (h) => h / 30;

let browser;
before(async () => { await hub(); browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

/** A moderator socket of its own (a plain page of the hub's origin, /healthz), to send commands.
 *  Its page's problems go to `problems`, but for the browser's own request of /favicon.ico. */
async function moderator(s, problems) {
  const { page } = await newPage(browser, {}, problems);
  page.on('console', (m) => {
    if (m.type() === 'error' && /favicon\.ico$/.test(m.location().url || '')) {
      const i = problems.lastIndexOf(`console: ${m.text()}`);
      if (i >= 0) problems.splice(i, 1);
    }
  });
  await page.goto(`${BASE}/healthz`);
  await page.evaluate(async ({ session, key }) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
    const waiting = new Map();
    window.__mod = { ws, waiting, n: 0, welcome: null, frames: [] };
    await new Promise((resolve, reject) => {
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', role: 'moderator', session, key }));
      ws.onerror = () => reject(new Error('socket error'));
      ws.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        window.__mod.frames.push(m);
        if (m.type === 'welcome') { window.__mod.welcome = m; resolve(); }
        if ((m.type === 'ok' || m.type === 'error') && waiting.has(m.ref)) { waiting.get(m.ref)(m); waiting.delete(m.ref); }
      };
    });
  }, { session: s.session.id, key: s.keys.moderator });
  return {
    page,
    /** Sends a command; its `ok` or `error` frame. */
    send: (cmd) => page.evaluate((c) => new Promise((resolve) => {
      const ref = `t-${++window.__mod.n}`;
      window.__mod.waiting.set(ref, resolve);
      window.__mod.ws.send(JSON.stringify({ ...c, ref }));
    }), cmd),
    /** The id of the question with this text, once the moderator has it. */
    questionWithText: async (text) => (await page.waitForFunction((t) => {
      const f = window.__mod.frames.find((x) => x.type === 'question' && x.question.text === t);
      return f ? f.question.id : null;
    }, text)).jsonValue(),
    /** The moderator's latest view of a question (welcome, then `question` events). */
    question: (id) => page.evaluate((qid) => {
      let q = null;
      for (const f of window.__mod.frames) {
        if (f.type === 'welcome') q = (f.questions || []).find((x) => x.id === qid) || q;
        if (f.type === 'question' && f.question.id === qid) q = f.question;
      }
      return q;
    }, id),
  };
}

async function ok(mod, cmd) {
  const r = await mod.send(cmd);
  assert.equal(r.type, 'ok', `${JSON.stringify(cmd)}: ${JSON.stringify(r)}`);
  return r;
}

/** An overlay page of this size, connected. */
async function overlayPage(s, size, problems, query = '') {
  const { page } = await newPage(browser, { viewport: size }, problems);
  const u = new URL(s.links.overlay);
  u.search = query;
  await page.goto(u.toString());
  await page.waitForSelector('body[data-conn=online]');
  return page;
}

const shot = async (page) => decodePng(await page.screenshot({ omitBackground: true }));

/** The title-safe area of a picture (90%: 5% each side). */
function safeArea({ width, height }) {
  return { x0: width * 0.05, y0: height * 0.05, x1: width * 0.95, y1: height * 0.95 };
}

/** Everything painted is inside title-safe. */
function assertInsideSafe(box, size, what) {
  const s = safeArea(size);
  assert.ok(box, `${what}: something on air`);
  assert.ok(box.x0 >= s.x0 && box.x1 < s.x1 && box.y0 >= s.y0 && box.y1 < s.y1,
    `${what}: inside title-safe ${JSON.stringify(s)} at ${size.width}x${size.height}: ${JSON.stringify(box)}`);
}

/** Waits until nothing moves any more (the slide-in or out has ended). */
async function settled(page) {
  await page.waitForTimeout(150);
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'));
}

/** Font size in pixels of the output picture (the computed size times the stage's scale). */
function renderedFontSizes(page, selectors) {
  return page.evaluate((sels) => Object.fromEntries(sels.map((sel) => {
    const el = document.querySelector(sel);
    const stage = document.getElementById('stage');
    const scale = stage.getBoundingClientRect().width / stage.offsetWidth;
    return [sel, el && el.offsetParent !== null ? parseFloat(getComputedStyle(el).fontSize) * scale : null];
  })), selectors);
}

function assertMinSizes(sizes, size, primary, small) {
  for (const sel of primary) {
    assert.ok(sizes[sel] !== null, `${sel} shown`);
    assert.ok(sizes[sel] >= MIN_TEXT(size.height) - 0.01, `${sel} at ${size.width}x${size.height}: ${sizes[sel]} px, at least ${MIN_TEXT(size.height)}`);
  }
  for (const sel of small) {
    assert.ok(sizes[sel] !== null, `${sel} shown`);
    assert.ok(sizes[sel] >= MIN_SMALL(size.height) - 0.01, `${sel} at ${size.width}x${size.height}: ${sizes[sel]} px, at least ${MIN_SMALL(size.height)}`);
  }
}

/** A graphic's element animates in and out (opacity and position over time, not a cut). */
async function assertAnimated(page, sel) {
  const t = await page.evaluate((s) => {
    const cs = getComputedStyle(document.querySelector(s));
    return { property: cs.transitionProperty, duration: cs.transitionDuration };
  }, sel);
  assert.match(t.property, /opacity/, `${sel} fades: ${JSON.stringify(t)}`);
  assert.match(t.property, /transform/, `${sel} slides: ${JSON.stringify(t)}`);
  assert.ok(t.duration.split(',').some((d) => parseFloat(d) >= 0.2), `${sel} takes time: ${JSON.stringify(t)}`);
}

const CTA_PRIMARY = ['#cta-title', '#cta-url', '#cta-code'];
const CTA_SMALL = ['#cta-hint', '#cta-sms', '#cta-whatsapp'];
const STRAP_PRIMARY = ['#strap-name'];
const STRAP_SMALL = ['#strap-role'];

/** Dark and light pixels inside the QR code's box: it is drawn, not an empty square. */
async function assertQrDrawn(page, png) {
  const r = await page.locator('#cta-qr').boundingBox();
  let dark = 0; let light = 0;
  for (let y = Math.ceil(r.y); y < r.y + r.height - 1; y++) {
    for (let x = Math.ceil(r.x); x < r.x + r.width - 1; x++) {
      const o = (y * png.width + x) * 4;
      const lum = png.data[o] + png.data[o + 1] + png.data[o + 2];
      if (png.data[o + 3] > 200 && lum < 150) dark++;
      else if (png.data[o + 3] > 200 && lum > 600) light++;
    }
  }
  const area = r.width * r.height;
  assert.ok(dark > area * 0.2 && light > area * 0.2, `QR code drawn: ${dark} dark, ${light} light of ${area}`);
}

test('the call to action: QR code, short address, code and numbers in Indonesian; transparent before and after, inside title-safe', async () => {
  const s = await createSession('Call to action');
  const problems = [];
  const mod = await moderator(s, problems);
  const overlay = await overlayPage(s, HD, problems);
  assert.equal(opaqueBox(await shot(overlay)), null, 'fully transparent before the take');

  await ok(mod, { type: 'graphic', graphic: 'join' });
  await overlay.waitForSelector('#cta.on');
  await overlay.waitForFunction(() => { const i = document.querySelector('#cta-qr'); return i.complete && i.naturalWidth > 0; });
  await settled(overlay);
  assert.equal(await overlay.getAttribute('body', 'data-graphic'), 'join');
  assert.equal(await overlay.textContent('#cta-title'), 'Kirim pertanyaan Anda');
  assert.equal(await overlay.textContent('#cta-hint'), 'Pindai kode QR atau buka');
  const join = await mod.page.evaluate(() => window.__mod.welcome.session.join);
  assert.equal(join.url, `${BASE}/j/${s.code}`);
  assert.equal(await overlay.textContent('#cta-url'), join.url.replace(/^https?:\/\//, ''), 'the join link without its scheme');
  assert.equal(await overlay.textContent('#cta-code'), s.code);
  assert.equal((await overlay.textContent('#cta-code-line')).trim(), `Kode ${s.code}`);
  for (const [sel, label, number] of [['#cta-sms', 'SMS', join.sms], ['#cta-whatsapp', 'WhatsApp', join.whatsapp]]) {
    if (number) assert.equal(await overlay.textContent(sel), `${label} ${number}`);
    else assert.ok(await overlay.locator(sel).isHidden(), `${sel}: no number, no line`);
  }
  assert.equal(await overlay.getAttribute('#cta-qr', 'src'), `/qr/${s.code}.svg`, 'the hub\'s QR code of the join link');
  assert.equal(await overlay.locator('#lower-third.on, .pg.on, #strap.on').count(), 0, 'one graphic at a time');
  await assertAnimated(overlay, '#cta');
  const png = await shot(overlay);
  assertInsideSafe(opaqueBox(png), HD, 'call to action');
  await assertQrDrawn(overlay, png);
  assertMinSizes(await renderedFontSizes(overlay, [...CTA_PRIMARY, ...CTA_SMALL]), HD, CTA_PRIMARY, CTA_SMALL);
  await overlay.screenshot({ path: path.join(SHOTS, 'overlay-join.png'), omitBackground: true });

  // Cleared by the moderator: animated out, transparent again.
  await ok(mod, { type: 'graphic', graphic: null });
  await overlay.waitForSelector('#cta:not(.on)');
  assert.equal(await overlay.getAttribute('body', 'data-graphic'), '');
  await settled(overlay);
  assert.equal(opaqueBox(await shot(overlay)), null, 'fully transparent after the clear');
  // `overlay {visible:false}` clears it too.
  await ok(mod, { type: 'graphic', graphic: 'join' });
  await overlay.waitForSelector('#cta.on');
  await ok(mod, { type: 'overlay', visible: false });
  await overlay.waitForSelector('#cta:not(.on)');
  await settled(overlay);
  assert.equal(opaqueBox(await shot(overlay)), null, 'fully transparent after clearing the overlay');
  assert.deepEqual(problems, []);
});

test('the name strap: who answers, name and role; one graphic at a time with the call to action and the lower third; transparent after', async () => {
  const s = await createSession('Name strap', [
    { name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' },
    { name: 'Ir. Budi Santoso', role: 'Kepala Dinas PUPR' },
  ]);
  const [first, second] = s.session.speakers;
  const problems = [];
  const mod = await moderator(s, problems);
  const overlay = await overlayPage(s, HD, problems);
  assert.equal(opaqueBox(await shot(overlay)), null, 'fully transparent before the take');

  await ok(mod, { type: 'graphic', graphic: 'speaker', speaker: second.id });
  await overlay.waitForSelector('#strap.on');
  await settled(overlay);
  assert.equal(await overlay.getAttribute('body', 'data-graphic'), 'speaker');
  assert.equal(await overlay.textContent('#strap-name'), 'Ir. Budi Santoso');
  assert.equal(await overlay.textContent('#strap-role'), 'Kepala Dinas PUPR');
  await assertAnimated(overlay, '#strap');
  assertInsideSafe(opaqueBox(await shot(overlay)), HD, 'name strap');
  assertMinSizes(await renderedFontSizes(overlay, [...STRAP_PRIMARY, ...STRAP_SMALL]), HD, STRAP_PRIMARY, STRAP_SMALL);

  // Another speaker: the strap follows.
  await ok(mod, { type: 'graphic', graphic: 'speaker', speaker: first.id });
  await overlay.waitForFunction(() => document.querySelector('#strap-name').textContent === 'Drs Ratu Dewa MSi');
  assert.equal(await overlay.textContent('#strap-role'), 'Sekretaris Daerah');
  await settled(overlay);
  await overlay.screenshot({ path: path.join(SHOTS, 'overlay-strap.png'), omitBackground: true });
  // An overlay that connects (or reconnects) while the strap is on air shows it from its welcome.
  const late = await overlayPage(s, HD, problems);
  await late.waitForSelector('#strap.on');
  assert.equal(await late.textContent('#strap-name'), 'Drs Ratu Dewa MSi');
  await late.evaluate(() => window.tanyaOverlay.client.dropConnection());
  await late.waitForSelector('body[data-conn=online]');
  await ok(mod, { type: 'graphic', graphic: 'speaker', speaker: second.id });
  await late.waitForFunction(() => document.querySelector('#strap-name').textContent === 'Ir. Budi Santoso');
  await ok(mod, { type: 'graphic', graphic: 'speaker', speaker: first.id });
  await late.waitForFunction(() => document.querySelector('#strap-name').textContent === 'Drs Ratu Dewa MSi');
  await late.close();

  // The call to action takes its place; then the question's lower third takes the call to action's.
  await ok(mod, { type: 'graphic', graphic: 'join' });
  await overlay.waitForSelector('#cta.on');
  await overlay.waitForSelector('#strap:not(.on)');
  const q = (await ok(mod, { type: 'enter', text: 'Kapan jalan di Jakabaring diperbaiki?', name: 'Pak Darman', channel: 'radio' })).question;
  await ok(mod, { type: 'approve', question: q.id });
  await ok(mod, { type: 'live', question: q.id });
  await ok(mod, { type: 'overlay', visible: true });
  await overlay.waitForSelector('#lower-third.on');
  await overlay.waitForSelector('#cta:not(.on)');
  assert.equal(await overlay.getAttribute('body', 'data-graphic'), '');
  // The strap over the lower third: the lower third goes off.
  await ok(mod, { type: 'graphic', graphic: 'speaker', speaker: first.id });
  await overlay.waitForSelector('#strap.on');
  await overlay.waitForSelector('body[data-visible=false]');
  await settled(overlay);
  assert.equal(await overlay.locator('#lower-third.on, #cta.on, .pg.on').count(), 0, 'one graphic at a time');
  assertInsideSafe(opaqueBox(await shot(overlay)), HD, 'name strap');

  await ok(mod, { type: 'graphic', graphic: null });
  await overlay.waitForSelector('#strap:not(.on)');
  await settled(overlay);
  assert.equal(opaqueBox(await shot(overlay)), null, 'fully transparent after the clear');
  assert.deepEqual(problems, []);
});

/** A question entered by the moderator, approved and made live. */
async function live(mod, text, extra = {}) {
  const q = (await ok(mod, { type: 'enter', text, channel: 'radio', ...extra })).question;
  await ok(mod, { type: 'approve', question: q.id });
  await ok(mod, { type: 'live', question: q.id });
  return q;
}

test('the short text for air replaces the text on the lower third; the console, the phone and the screen keep the full text', async () => {
  const s = await createSession('Air text');
  const problems = [];
  const mod = await moderator(s, problems);
  const { page: phone } = await newPage(browser, { viewport: { width: 360, height: 640 } }, problems);
  await phone.goto(s.links.audience);
  await online(phone);
  const { page: console_ } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await console_.goto(s.links.moderator);
  await online(console_);
  const { page: screen } = await newPage(browser, { viewport: HD }, problems);
  await screen.goto(s.links.screen);
  await online(screen);
  const overlay = await overlayPage(s, HD, problems);

  const full = 'Selamat siang Bapak. Saya warga Kecamatan Seberang Ulu yang setiap hari lewat jalan menuju Jakabaring. '
    + 'Jalan itu sudah berlubang sejak musim hujan tahun lalu dan sering membuat pengendara motor jatuh. Kapan jalan itu diperbaiki?';
  const short = 'Kapan jalan menuju Jakabaring diperbaiki?';
  await phone.fill('#name', 'Siti');
  await phone.fill('#question-text', full);
  await phone.click('#ask-btn');
  const id = await mod.questionWithText(full);
  await ok(mod, { type: 'approve', question: id });
  await ok(mod, { type: 'live', question: id });
  await ok(mod, { type: 'air_text', question: id, text: short });
  await ok(mod, { type: 'overlay', visible: true });

  await overlay.waitForSelector('#lower-third.on');
  assert.equal(await overlay.textContent('#lt-text'), short, 'the short text on air');
  assert.equal(await overlay.textContent('#lt-asker'), 'Siti');
  await settled(overlay);
  assertInsideSafe(opaqueBox(await shot(overlay)), HD, 'lower third');
  // Everyone else keeps the full text.
  const m = await mod.question(id);
  assert.equal(m.text, full, 'the moderator\'s view: the full text');
  assert.equal(m.air_text, short, 'the moderator\'s view: the short text beside it');
  await card(console_, 'live', full.slice(0, 60)).waitFor();
  assert.equal(await card(console_, 'live', full.slice(0, 60)).locator('[data-field=text]').textContent(), full, 'the console\'s card');
  await phone.waitForFunction((t) => document.querySelector('#live-text')?.textContent === t, full);
  assert.equal(await phone.locator('#my-questions li', { hasText: full }).count(), 1, 'the author\'s own question');
  await screen.waitForFunction((t) => document.querySelector('#live-text')?.textContent === t, full);

  // The short text cleared while on air: the full text replaces it in place.
  await ok(mod, { type: 'air_text', question: id, text: '' });
  await overlay.waitForFunction((t) => document.querySelector('#lt-text').textContent === t, full);
  assert.equal(await overlay.getAttribute('body', 'data-visible'), 'true');
  // And set again.
  await ok(mod, { type: 'air_text', question: id, text: short });
  await overlay.waitForFunction((t) => document.querySelector('#lt-text').textContent === t, short);

  await ok(mod, { type: 'overlay', visible: false });
  await overlay.waitForSelector('body[data-visible=false]');
  await settled(overlay);
  assert.equal(opaqueBox(await shot(overlay)), null, 'fully transparent after the clear');
  assert.deepEqual(problems, []);
});

test('readable at 1080p and in SD (720x576, 720x480): no text below its minimum size, long texts clipped at three lines, every graphic inside title-safe', async () => {
  const s = await createSession('Sizes');
  const problems = [];
  const mod = await moderator(s, problems);
  const pages = [];
  for (const size of SIZES) pages.push({ size, page: await overlayPage(s, size, problems) });
  // `scale=0.5` asks for smaller type: the minimum holds.
  pages.push({ size: HD, page: await overlayPage(s, HD, problems, '?scale=0.5'), label: 'scale=0.5' });
  const each = (fn) => Promise.all(pages.map(fn));
  const at = ({ size, label }) => `${size.width}x${size.height}${label ? ` ${label}` : ''}`;

  // A question as long as a phone may send (300 characters), with its asker and its speaker.
  const long = 'Selamat siang Sekretaris Daerah. Saya pedagang di Pasar 16 Ilir. Sejak revitalisasi pasar, '
    + 'los kami dipindah ke lantai atas dan pembeli jarang naik. Pendapatan turun hampir separuh. Apakah pemerintah kota '
    + 'punya rencana membantu pedagang seperti kami, misalnya keringanan retribusi atau promosi pasar?';
  assert.equal([...long].length, 300);
  const q = await live(mod, long, { name: 'Ibu Nurhayati', to: s.session.speakers[0].id });
  await ok(mod, { type: 'overlay', visible: true });
  await each(async ({ page }) => { await page.waitForSelector('#lower-third.on'); await settled(page); });
  for (const p of pages) {
    const sizes = await renderedFontSizes(p.page, ['#lt-text', '#lt-asker', '#lt-to']);
    assertMinSizes(sizes, p.size, ['#lt-text'], ['#lt-asker', '#lt-to']);
    const t = await p.page.evaluate(() => {
      const el = document.querySelector('#lt-text');
      const cs = getComputedStyle(el);
      return { lines: el.clientHeight / parseFloat(cs.lineHeight), clipped: el.scrollHeight > el.clientHeight + 1, clamp: cs.webkitLineClamp, text: el.textContent };
    });
    assert.equal(t.text, long, `${at(p)}: the whole text is in the element`);
    assert.ok(t.lines <= 3.05, `${at(p)}: at most three lines: ${t.lines}`);
    assert.ok(t.clipped && t.clamp === '3', `${at(p)}: what does not fit ends in an ellipsis at the third line: ${JSON.stringify(t)}`);
    assertInsideSafe(opaqueBox(await shot(p.page)), p.size, `lower third ${at(p)}`);
  }

  // The short text for air fits whole, at the same minimum or larger.
  const short = 'Adakah bantuan untuk pedagang Pasar 16 Ilir setelah pindah ke lantai atas?';
  await ok(mod, { type: 'air_text', question: q.id, text: short });
  await each(({ page }) => page.waitForFunction((t) => document.querySelector('#lt-text').textContent === t, short));
  await each(({ page }) => settled(page));
  for (const p of pages) {
    assertMinSizes(await renderedFontSizes(p.page, ['#lt-text', '#lt-asker', '#lt-to']), p.size, ['#lt-text'], ['#lt-asker', '#lt-to']);
    const fits = await p.page.evaluate(() => { const el = document.querySelector('#lt-text'); return el.scrollHeight <= el.clientHeight + 1; });
    assert.ok(fits, `${at(p)}: the short text fits without an ellipsis`);
    assertInsideSafe(opaqueBox(await shot(p.page)), p.size, `lower third ${at(p)}`);
  }

  // The call to action and the strap at every size.
  await ok(mod, { type: 'graphic', graphic: 'join' });
  await each(async ({ page }) => {
    await page.waitForSelector('#cta.on');
    await page.waitForFunction(() => { const i = document.querySelector('#cta-qr'); return i.complete && i.naturalWidth > 0; });
    await settled(page);
  });
  for (const p of pages) {
    assertMinSizes(await renderedFontSizes(p.page, [...CTA_PRIMARY, ...CTA_SMALL]), p.size, CTA_PRIMARY, CTA_SMALL);
    const png = await shot(p.page);
    assertInsideSafe(opaqueBox(png), p.size, `call to action ${at(p)}`);
    await assertQrDrawn(p.page, png);
    // The QR code stays big enough to scan off the picture: a fifth of its height at least.
    const qr = await p.page.locator('#cta-qr').boundingBox();
    assert.ok(qr.height >= p.size.height / 5, `${at(p)}: QR code ${qr.height} px high`);
  }
  await ok(mod, { type: 'graphic', graphic: 'speaker', speaker: s.session.speakers[1].id });
  await each(async ({ page }) => { await page.waitForSelector('#strap.on'); await page.waitForSelector('#cta:not(.on)'); await settled(page); });
  for (const p of pages) {
    assertMinSizes(await renderedFontSizes(p.page, [...STRAP_PRIMARY, ...STRAP_SMALL]), p.size, STRAP_PRIMARY, STRAP_SMALL);
    assertInsideSafe(opaqueBox(await shot(p.page)), p.size, `name strap ${at(p)}`);
  }

  // Off air: transparent at every size.
  await ok(mod, { type: 'overlay', visible: false });
  await each(async ({ page }) => { await page.waitForSelector('#strap:not(.on)'); await settled(page); });
  for (const p of pages) assert.equal(opaqueBox(await shot(p.page)), null, `${at(p)}: fully transparent after the clear`);
  assert.deepEqual(problems, []);
});

test('the CasparCG/SPX template draws the call to action, the strap and the short text from live.json rows, as JSON or XML', async () => {
  const s = await createSession('Template graphics');
  const problems = [];
  const mod = await moderator(s, problems);
  const { page } = await newPage(browser, { viewport: HD }, problems);
  // Template mode: the page without its key.
  await page.goto(s.links.overlay.split('#')[0]);
  await page.waitForFunction(() => typeof window.tanyaOverlay === 'object');
  const liveJson = async () => {
    const r = await fetch(`${BASE}/api/sessions/${s.session.id}/live.json?k=${encodeURIComponent(s.keys.overlay)}`);
    assert.equal(r.status, 200);
    return (await r.json())[0];
  };
  const play = (data) => page.evaluate((d) => { window.update(d); window.play(); }, data);
  const stopped = async (what) => {
    await page.evaluate(() => window.stop());
    await page.waitForSelector('#lower-third:not(.on)');
    await page.waitForSelector('#cta:not(.on)');
    await page.waitForSelector('#strap:not(.on)');
    await settled(page);
    assert.equal(opaqueBox(await shot(page)), null, `transparent after stop (${what})`);
  };

  // SPX sees the new fields.
  const fields = await page.evaluate(() => window.SPXGCTemplateDefinition.DataFields.map((f) => f.field));
  for (const f of ['graphic', 'strap_name', 'strap_role', 'join_code', 'join_url', 'join_sms', 'join_whatsapp']) assert.ok(fields.includes(f), `SPX field ${f}`);
  const graphicField = await page.evaluate(() => window.SPXGCTemplateDefinition.DataFields.find((f) => f.field === 'graphic'));
  assert.equal(graphicField.ftype, 'dropdown');
  assert.deepEqual(graphicField.items.map((i) => i.value), ['', 'join', 'speaker']);

  // Nothing on air: a row draws nothing, though its join columns always say how to ask.
  let row = await liveJson();
  assert.equal(row.graphic, '');
  assert.equal(row.join_code, s.code);
  await play(JSON.stringify([row]));
  await page.waitForTimeout(500);
  assert.equal(opaqueBox(await shot(page)), null, 'a row with nothing on air draws nothing');
  await stopped('empty row');

  // The call to action, as the moderator takes it, from its live.json row.
  await ok(mod, { type: 'graphic', graphic: 'join' });
  row = await liveJson();
  assert.equal(row.graphic, 'join');
  await play(JSON.stringify([row]));
  await page.waitForSelector('#cta.on');
  await page.waitForFunction(() => { const i = document.querySelector('#cta-qr'); return i.complete && i.naturalWidth > 0; });
  await settled(page);
  assert.equal(await page.getAttribute('body', 'data-graphic'), 'join');
  assert.equal(await page.textContent('#cta-url'), row.join_url.replace(/^https?:\/\//, ''));
  assert.equal(await page.textContent('#cta-code'), row.join_code);
  assert.equal(await page.getAttribute('#cta-qr', 'src'), `/qr/${row.join_code}.svg`);
  for (const [sel, label, number] of [['#cta-sms', 'SMS', row.join_sms], ['#cta-whatsapp', 'WhatsApp', row.join_whatsapp]]) {
    if (number) assert.equal(await page.textContent(sel), `${label} ${number}`);
    else assert.ok(await page.locator(sel).isHidden(), `${sel}: no number, no line`);
  }
  const png = await shot(page);
  assertInsideSafe(opaqueBox(png), HD, 'call to action (template)');
  await assertQrDrawn(page, png);
  await stopped('call to action');

  // The strap, from its row; next() takes it out and in again.
  await ok(mod, { type: 'graphic', graphic: 'speaker', speaker: s.session.speakers[0].id });
  row = await liveJson();
  assert.equal(row.graphic, 'speaker');
  await play(JSON.stringify([row]));
  await page.waitForSelector('#strap.on');
  assert.equal(await page.textContent('#strap-name'), row.strap_name);
  assert.equal(await page.textContent('#strap-role'), row.strap_role);
  assert.equal(row.strap_name, 'Drs Ratu Dewa MSi');
  await page.evaluate(() => window.next());
  await page.waitForSelector('#strap:not(.on)');
  await page.waitForSelector('#strap.on');
  await settled(page);
  assertInsideSafe(opaqueBox(await shot(page)), HD, 'name strap (template)');
  await stopped('strap');

  // The question with a short text for air: the lower third shows `air_text`, not `text`.
  const full = 'Bagaimana cara warga melapor lampu jalan yang padam di Kelurahan 8 Ilir, karena sudah dua bulan gelap?';
  const short = 'Bagaimana melapor lampu jalan padam?';
  const q = await live(mod, full, { name: 'Rudi' });
  await ok(mod, { type: 'air_text', question: q.id, text: short });
  await ok(mod, { type: 'overlay', visible: true });
  row = await liveJson();
  assert.equal(row.text, full);
  assert.equal(row.air_text, short);
  await play(JSON.stringify([row]));
  await page.waitForSelector('#lower-third.on');
  assert.equal(await page.textContent('#lt-text'), short);
  assert.equal(await page.textContent('#lt-asker'), 'Rudi');
  assert.equal(await page.locator('#cta.on, #strap.on').count(), 0, 'one graphic at a time');
  await stopped('lower third');

  // CasparCG's XML templateData: a strap; then a call to action without `graphic` or numbers.
  const xml = (fields) => `<templateData>${Object.entries(fields).map(([k, v]) => `<componentData id="${k}"><data id="text" value="${v}"/></componentData>`).join('')}</templateData>`;
  await play(xml({ graphic: 'speaker', strap_name: 'Ir. Budi Santoso', strap_role: 'Kepala Dinas PUPR' }));
  await page.waitForSelector('#strap.on');
  assert.equal(await page.textContent('#strap-name'), 'Ir. Budi Santoso');
  assert.equal(await page.textContent('#strap-role'), 'Kepala Dinas PUPR');
  // update() while on air: the other graphic takes its place.
  await play(xml({ join_code: s.code, join_url: `${BASE}/j/${s.code}` }));
  await page.waitForSelector('#cta.on');
  await page.waitForSelector('#strap:not(.on)');
  assert.equal(await page.textContent('#cta-code'), s.code);
  assert.ok(await page.locator('#cta-other').isHidden(), 'no numbers line without numbers');
  await stopped('XML call to action');
  // The CasparCG/SPX field names still draw the lower third.
  await play(JSON.stringify({ f0: 'Kapan pasar direnovasi?', f1: 'Sari' }));
  await page.waitForSelector('#lower-third.on');
  assert.equal(await page.textContent('#lt-text'), 'Kapan pasar direnovasi?');
  await stopped('fields f0, f1');
  assert.deepEqual(problems, []);
});
