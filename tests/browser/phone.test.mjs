// The phone page /j/{code} on its own: weight, 360×640, labels and aria-live, language,
// the character count, press mode by a typed code, no console errors and no CSP violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, createSession, newPage, online, ask, card } from './helpers.mjs';

const PHONE = { width: 360, height: 640 };
const MAX_BYTES = 60 * 1000; // "60 KB": the stricter reading (60 000, not 61 440)
const MAX = 300;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

/** A phone page that also records CSP violations (an init script is not subject to the page's CSP). */
async function phonePage(opts, problems) {
  const { ctx, page } = await newPage(browser, { viewport: PHONE, ...opts }, problems);
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__csp ||= []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { ctx, page };
}

async function cspViolations(page) {
  return page.evaluate(() => window.__csp || []);
}

/** Bytes on the wire for a fresh load of `url` (no cache), per request; optionally with extra request headers. */
async function pageWeight(url, headers) {
  const problems = [];
  const { ctx, page } = await phonePage({ locale: 'id-ID' }, problems);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (headers) await cdp.send('Network.setExtraHTTPHeaders', { headers });
  const reqs = new Map();
  const entry = (id) => { if (!reqs.has(id)) reqs.set(id, {}); return reqs.get(id); };
  let iconDone;
  const icon = new Promise((r) => { iconDone = r; });
  cdp.on('Network.requestWillBeSent', (e) => { entry(e.requestId).url = e.request.url; });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const h = Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), v]));
    entry(e.requestId).acceptEncoding = h['accept-encoding'];
  });
  cdp.on('Network.responseReceived', (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    Object.assign(entry(e.requestId), { status: e.response.status, encoding: h['content-encoding'] || 'identity', csp: h['content-security-policy'] });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = entry(e.requestId);
    r.bytes = e.encodedDataLength;
    if (r.url && r.url.endsWith('/icon.svg')) iconDone();
  });
  cdp.on('Network.loadingFailed', (e) => { entry(e.requestId).failed = e.errorText; });
  await page.goto(url, { waitUntil: 'load' });
  await online(page);
  await Promise.race([icon, page.waitForTimeout(5000)]);
  await page.waitForTimeout(200); // let late requests (if any) finish
  const resources = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name));
  const csp = await cspViolations(page);
  await ctx.close();
  const list = [...reqs.values()].filter((r) => r.url && !r.url.startsWith('ws'));
  return { list, total: list.reduce((n, r) => n + (r.bytes || 0), 0), resources, problems, csp };
}

test('the whole phone page is at most 60 KB transferred', async () => {
  const s = await createSession('Berat halaman');
  const url = s.links.audience;

  const w = await pageWeight(url); // Accept-Encoding exactly as chromium sends it
  const origin = new URL(url).origin;
  const rows = w.list.map((r) => `${(r.url.startsWith(origin) ? r.url.slice(origin.length) : r.url).padEnd(32)} ${String(r.bytes).padStart(6)} B  ${r.encoding}`);
  console.log(`phone page weight (Accept-Encoding: ${w.list[0].acceptEncoding}): ${w.total} bytes in ${w.list.length} requests\n  ${rows.join('\n  ')}`);

  assert.deepEqual(w.list.filter((r) => r.failed || r.bytes === undefined || r.status !== 200).map((r) => r.url), [], 'every request loaded');
  const paths = w.list.map((r) => new URL(r.url).pathname);
  assert.equal(paths[0], new URL(url).pathname, 'the HTML first');
  for (const p of ['/assets/shared/ui.css', '/assets/audience/audience.css', '/assets/audience/app.js', '/assets/audience/strings.js',
    '/assets/shared/client.js', '/assets/shared/dom.js', '/assets/shared/i18n.js', '/assets/shared/icon.svg']) {
    assert.ok(paths.includes(p), `${p} is counted`);
  }
  for (const r of w.resources.filter((x) => !x.startsWith('ws'))) assert.ok(w.list.some((x) => x.url === r), `${r} is counted`);
  assert.ok(w.list.every((r) => r.url.startsWith(origin)), 'nothing from another host');
  assert.match(w.list[0].acceptEncoding || '', /gzip/, 'chromium asks for compression');
  assert.ok(w.list.every((r) => r.encoding !== 'identity'), 'every response compressed');
  assert.ok(w.total <= MAX_BYTES, `${w.total} bytes > ${MAX_BYTES}`);

  // A phone on the venue LAN (http://192.168.x.x, not a secure context) is offered no brotli:
  // measure the gzip-only figure too, it must fit as well.
  const g = await pageWeight(url, { 'Accept-Encoding': 'gzip, deflate' });
  console.log(`phone page weight (Accept-Encoding: gzip, deflate): ${g.total} bytes in ${g.list.length} requests`);
  assert.ok(g.list.every((r) => r.encoding === 'gzip'), 'gzip when brotli is not offered');
  assert.ok(g.total <= MAX_BYTES, `${g.total} bytes > ${MAX_BYTES} (gzip)`);
  assert.deepEqual([...w.problems, ...g.problems, ...w.csp, ...g.csp], []);
});

test('usable at 360×640: no horizontal scroll, form in reach, touch targets', async () => {
  const s = await createSession('Layar kecil dengan judul sesi yang cukup panjang untuk dibungkus di ponsel');
  const problems = [];
  const { page } = await phonePage({ locale: 'id-ID' }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await Promise.all([page.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(page), online(mod)]);
  assert.deepEqual(await page.evaluate(() => [innerWidth, innerHeight]), [360, 640]);

  // one approved question (with a long unbroken word) and one of mine still pending: vote + withdraw buttons shown
  const long = `Bagaimana ${'x'.repeat(120)} ini?`;
  await ask(page, long, { name: 'Nama yang sangat panjang sekali untuk layar kecil' });
  await card(mod, 'pending', long).locator('[data-act=approve]').click();
  await page.locator('#questions li[data-qid]').waitFor();
  await ask(page, 'Masih menunggu moderasi');
  await page.locator('#my-questions li[data-status=pending] [data-act=withdraw]').waitFor();
  await page.click('#press-section summary');

  const m = await page.evaluate(() => {
    const vis = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const wide = [...document.querySelectorAll('body *')].filter(vis)
      .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
      .map((el) => el.id || el.className || el.tagName);
    return { scrollWidth: document.scrollingElement.scrollWidth, wide };
  });
  assert.ok(m.scrollWidth <= 360, `scrollWidth ${m.scrollWidth}`);
  assert.deepEqual(m.wide, [], 'nothing sticks out to the right');

  // the form: visible without zoom, inside the 360 px
  await page.evaluate(() => window.scrollTo(0, 0));
  for (const sel of ['#question-text', '#ask-btn']) {
    const el = page.locator(sel);
    assert.ok(await el.isVisible(), `${sel} visible`);
    const b = await el.boundingBox();
    assert.ok(b.x >= 0 && b.x + b.width <= 360, `${sel} inside 360 px: ${JSON.stringify(b)}`);
    assert.ok(b.y + b.height <= 640, `${sel} in the first screen: ${JSON.stringify(b)}`);
  }
  assert.ok((await page.locator('#question-text').boundingBox()).width >= 280, 'the textarea uses the width');

  // touch targets: every button on the phone page is at least 44×44 CSS px (audience.css);
  const sizes = await page.evaluate(() => Object.fromEntries([
    ['ask', '#ask-btn'], ['vote', '#questions [data-act=vote]'], ['withdraw', '#my-questions [data-act=withdraw]'],
    ['press', '#press-btn'], ['langId', '#lang-id'], ['langEn', '#lang-en'], ['sortPopular', '#sort-popular'], ['sortRecent', '#sort-recent'],
  ].map(([k, sel]) => { const r = document.querySelector(sel).getBoundingClientRect(); return [k, [Math.round(r.width), Math.round(r.height)]]; })));
  console.log(`phone touch targets [w, h] in CSS px at 360×640: ${JSON.stringify(sizes)}`);
  for (const k of ['ask', 'vote', 'withdraw', 'press']) {
    assert.ok(sizes[k][1] >= 44 && sizes[k][0] >= 44, `${k} button ${sizes[k]} (want ≥ 44×44)`);
  }
  for (const k of ['langId', 'langEn', 'sortPopular', 'sortRecent']) {
    assert.ok(sizes[k][1] >= 44 && sizes[k][0] >= 44, `${k} ${sizes[k]} (want ≥ 44×44)`);
  }
  assert.deepEqual([...problems, ...await cspViolations(page)], []);
});

/** Interactive nodes of the accessibility tree without a name (computed by chromium itself). */
async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const roles = new Set(['textbox', 'searchbox', 'combobox', 'listbox', 'button', 'checkbox', 'radio', 'switch', 'slider', 'spinbutton', 'link']);
  const controls = nodes.filter((n) => !n.ignored && roles.has(n.role && n.role.value));
  return { count: controls.length, unnamed: controls.filter((n) => !(n.name && String(n.name.value).trim())).map((n) => n.role.value) };
}

/** Every input/select/textarea (shown or not) has a <label> or an aria-label(ledby); every button a text or aria-label. */
async function unlabelledInDom(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.type !== 'hidden')
    .filter((el) => {
      if (el.labels && el.labels.length && [...el.labels].some((l) => l.textContent.trim())) return false;
      if ((el.getAttribute('aria-label') || '').trim()) return false;
      if (el.getAttribute('aria-labelledby')) return false;
      if (el.tagName === 'BUTTON' && el.textContent.trim()) return false;
      return true;
    })
    .map((el) => el.id || el.outerHTML.slice(0, 60)));
}

test('labels for every control; aria-live tells me when my question is approved', async () => {
  const s = await createSession('Aksesibilitas');
  const problems = [];
  const { page } = await phonePage({ locale: 'id-ID' }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await Promise.all([page.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(page), online(mod)]);

  assert.deepEqual(await unlabelledInDom(page), []);
  await page.click('#press-section summary'); // the press form too
  const ax = await unnamedControls(page);
  assert.ok(ax.count >= 8, `controls in the tree: ${ax.count}`);
  assert.deepEqual(ax.unnamed, [], 'every control has an accessible name');
  for (const id of ['name', 'speaker', 'question-text', 'press-code']) {
    const n = await page.locator(`#${id}`).evaluate((el) => el.labels.length || el.getAttribute('aria-label'));
    assert.ok(n, `#${id} labelled`);
  }
  // the join page (/) as well
  const { page: join } = await phonePage({ locale: 'id-ID' }, problems);
  await join.goto(new URL('/', s.links.audience).href);
  await join.locator('#join-code').waitFor();
  assert.deepEqual(await unlabelledInDom(join), []);
  assert.deepEqual((await unnamedControls(join)).unnamed, []);
  assert.ok(await join.locator('#join-code').evaluate((el) => el.labels.length), '#join-code labelled');

  // the live regions
  for (const sel of ['#sr-status', '#ask-status']) {
    assert.equal(await page.getAttribute(sel, 'aria-live'), 'polite', `${sel} aria-live`);
  }
  const text = 'Apakah ada rencana perbaikan jalan di Jakabaring?';
  await ask(page, text);
  await page.locator('#ask-status[data-kind=ok]').waitFor();
  assert.equal(await page.textContent('#ask-status'), 'Terkirim. Pertanyaan Anda menunggu moderasi.');
  await page.locator('#my-questions li[data-status=pending]').waitFor();
  const before = await page.textContent('#sr-status');
  assert.doesNotMatch(before, /Ditayangkan/);
  // record every text the live region takes
  await page.evaluate(() => {
    window.__live = [];
    const el = document.querySelector('#sr-status');
    new MutationObserver(() => window.__live.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
  });

  await card(mod, 'pending', text).locator('[data-act=approve]').click();
  await page.waitForFunction(() => document.querySelector('#sr-status').textContent === 'Pertanyaan Anda: Disetujui');
  assert.ok((await page.evaluate(() => window.__live)).includes('Pertanyaan Anda: Disetujui'));
  // it is a live region in the accessibility tree (role status)
  assert.match(await page.locator('body').ariaSnapshot(), /- status: "?Pertanyaan Anda: Disetujui"?/);
  await mod.close();
  assert.deepEqual([...problems, ...await cspViolations(page), ...await cspViolations(join)], []);
});

test('Bahasa Indonesia by default, English by browser language and by the switch', async () => {
  const s = await createSession('Bahasa');
  const problems = [];
  const { page: id } = await phonePage({ locale: 'id-ID' }, problems);
  const { page: en } = await phonePage({ locale: 'en-US' }, problems);
  const { page: other } = await phonePage({ locale: 'de-DE' }, problems);
  await Promise.all([id.goto(s.links.audience), en.goto(s.links.audience), other.goto(s.links.audience)]);
  await Promise.all([online(id), online(en), online(other)]);
  assert.equal(await id.evaluate(() => navigator.language), 'id-ID');
  assert.equal(await en.evaluate(() => navigator.language), 'en-US');

  const strings = (p) => p.evaluate(() => ({
    lang: document.documentElement.lang,
    send: document.querySelector('#ask-btn').textContent,
    heading: document.querySelector('#ask-heading').textContent,
    conn: document.querySelector('#conn-label').textContent,
    count: document.querySelector('#char-count').getAttribute('aria-label'),
    idPressed: document.querySelector('#lang-id').getAttribute('aria-pressed'),
    enPressed: document.querySelector('#lang-en').getAttribute('aria-pressed'),
  }));
  const ID = { lang: 'id', send: 'Kirim pertanyaan', heading: 'Ajukan pertanyaan', conn: 'Terhubung', count: '0 dari 300 karakter', idPressed: 'true', enPressed: 'false' };
  const EN = { lang: 'en', send: 'Send question', heading: 'Ask a question', conn: 'Connected', count: '0 of 300 characters', idPressed: 'false', enPressed: 'true' };
  assert.deepEqual(await strings(id), ID);
  assert.deepEqual(await strings(en), EN);
  assert.deepEqual(await strings(other), ID, 'any other language: Bahasa Indonesia');

  // the switch, and the choice is kept over a reload
  await id.click('#lang-en');
  assert.deepEqual(await strings(id), EN);
  await id.reload();
  await online(id);
  assert.deepEqual(await strings(id), EN);
  await id.click('#lang-id');
  assert.deepEqual(await strings(id), ID);
  await en.click('#lang-id');
  assert.deepEqual(await strings(en), ID);
  assert.deepEqual([...problems, ...await cspViolations(id), ...await cspViolations(en), ...await cspViolations(other)], []);
});

test('the live character count, in Unicode scalar values, refuses more than 300', async () => {
  const s = await createSession('Hitung karakter');
  const problems = [];
  const { page } = await phonePage({ locale: 'id-ID' }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await Promise.all([page.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(page), online(mod)]);
  const count = () => page.textContent('#char-count');
  const sendDisabled = () => page.locator('#ask-btn').isDisabled();

  assert.equal(await count(), '0/300');
  assert.equal(await sendDisabled(), true, 'nothing to send yet');
  // typed key by key: the count follows each keystroke
  await page.focus('#question-text');
  const seen = [];
  for (const ch of ['A', 'p', 'a', ' ', '😀']) { await page.keyboard.type(ch); seen.push(await count()); }
  // counted as the hub counts: after trim (a trailing space is not counted yet) and NFC, in scalar values
  assert.deepEqual(seen, ['1/300', '2/300', '3/300', '3/300', '5/300'], 'an emoji counts once (one scalar value, two UTF-16 units)');
  assert.equal(await page.locator('#char-count').getAttribute('aria-label'), '5 dari 300 karakter');
  assert.equal(await sendDisabled(), false);

  // 300 scalar values (600 UTF-16 units): allowed
  const full = '😀'.repeat(MAX - 1) + 'é'; // é typed as e + combining acute: NFC makes it one
  await page.fill('#question-text', full.normalize('NFD'));
  assert.equal(await count(), '300/300');
  assert.equal(await page.locator('#char-count.over').count(), 0);
  assert.equal(await page.getAttribute('#question-text', 'aria-invalid'), null);
  assert.equal(await sendDisabled(), false);

  // one more: 301 is shown, marked and refused
  await page.focus('#question-text');
  await page.keyboard.press('End');
  await page.keyboard.type('!');
  assert.equal(await count(), '301/300');
  assert.equal(await page.locator('#char-count.over').count(), 1);
  assert.equal(await page.getAttribute('#question-text', 'aria-invalid'), 'true');
  assert.equal(await sendDisabled(), true);
  await page.evaluate(() => document.querySelector('#ask-form').requestSubmit()); // e.g. Enter on a field
  await page.locator('#ask-status[data-kind=bad]', { hasText: 'Terlalu panjang: maksimal 300 karakter.' }).waitFor();
  assert.equal(await page.inputValue('#question-text'), full.normalize('NFD') + '!', 'the text is kept');
  assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tanya:outbox:') && JSON.parse(localStorage.getItem(k)).length).length), 0, 'nothing queued');
  assert.equal(await page.isHidden('#mine-section'), true, 'nothing sent');

  // back to 300: sent, and the hub (which counts the same way) takes it
  await page.keyboard.press('Backspace');
  assert.equal(await count(), '300/300');
  await page.click('#ask-btn');
  await page.locator('#ask-status[data-kind=ok]').waitFor();
  await page.locator('#my-questions li[data-qid][data-status=pending]').waitFor();
  assert.equal(await count(), '0/300', 'the count is reset after sending');
  await mod.locator('#col-pending .card').waitFor();
  const got = await mod.evaluate(() => [...window.tanya.client.view.questions.values()][0].text);
  assert.equal([...got].length, MAX);
  assert.equal(got, full.normalize('NFC'));
  assert.deepEqual([...problems, ...await cspViolations(page)], []);
});

test('press mode by a typed press code: the moderator sees source press and the outlet', async () => {
  const s = await createSession('Konferensi pers');
  const problems = [];
  const { page } = await phonePage({ locale: 'id-ID' }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await Promise.all([page.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(page), online(mod)]);
  assert.equal(new URL(page.url()).hash, '', 'not the press link');
  assert.equal(await page.isHidden('#outlet-field'), true);
  assert.equal(await page.evaluate(() => window.tanya.client.role), 'audience');

  await page.click('#press-section summary');
  await page.fill('#press-code', s.keys.press);
  await page.click('#press-btn');
  await page.locator('#press-bar:not([hidden])').waitFor();
  await online(page);
  assert.equal(await page.evaluate(() => window.tanya.client.role), 'press');
  assert.equal(await page.isVisible('#outlet'), true);
  assert.ok(await page.locator('#outlet').evaluate((el) => el.labels.length), '#outlet labelled');
  assert.equal(await page.evaluate(() => document.scrollingElement.scrollWidth), 360, 'press mode fits 360 px too');

  await page.fill('#outlet', 'Sumatera Ekspres');
  const text = 'Berapa anggaran untuk banjir tahun ini?';
  await ask(page, text, { name: 'Rina' });
  await page.locator('#ask-status[data-kind=ok]').waitFor();
  const pc = card(mod, 'pending', text);
  await pc.waitFor();
  assert.equal(await pc.getAttribute('data-source'), 'press');
  assert.match(await pc.locator('[data-field=source]').textContent(), /^(PERS|PRESS)$/);
  assert.equal(await pc.locator('[data-field=who]').textContent(), 'Rina · Sumatera Ekspres');
  const q = await mod.evaluate((t) => [...window.tanya.client.view.questions.values()].find((x) => x.text === t), text);
  assert.equal(q.source, 'press');
  assert.equal(q.outlet, 'Sumatera Ekspres');
  assert.equal(q.name, 'Rina');

  // remembered over a reload (typed code kept in localStorage), left with the button
  await page.reload();
  await online(page);
  await page.locator('#press-bar:not([hidden])').waitFor();
  assert.equal(await page.inputValue('#outlet'), 'Sumatera Ekspres');
  await page.click('#press-leave');
  await page.locator('#press-bar[hidden]').waitFor({ state: 'attached' });
  await online(page);
  assert.equal(await page.evaluate(() => window.tanya.client.role), 'audience');
  assert.deepEqual([...problems, ...await cspViolations(page)], []);
});

test('no console errors and no CSP violations; the CSP is strict and the check catches one', async () => {
  const s = await createSession('CSP');
  const problems = [];
  const { page } = await phonePage({ locale: 'id-ID' }, problems);
  const res = await page.goto(s.links.audience);
  await online(page);
  const csp = res.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /default-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  // use the page a little: every path that renders
  await ask(page, 'Pertanyaan biasa', { name: 'Budi' });
  await page.locator('#my-questions li[data-status=pending]').waitFor();
  await page.click('#lang-en');
  await page.click('#sort-recent');
  await page.click('#press-section summary');
  await page.waitForTimeout(300);
  assert.deepEqual(problems, []);
  assert.deepEqual(await cspViolations(page), []);

  // the check is not blind: an inline script is refused, reported and not run
  const seen = [];
  const { page: probe } = await phonePage({}, seen);
  await probe.goto(s.links.audience);
  await online(probe);
  await probe.evaluate(() => { const el = document.createElement('script'); el.textContent = 'window.__ran = 1'; document.head.append(el); });
  await probe.waitForFunction(() => (window.__csp || []).length > 0);
  assert.equal(await probe.evaluate(() => window.__ran), undefined);
  assert.ok(seen.some((p) => /Content Security Policy/i.test(p)), `console reports it: ${JSON.stringify(seen)}`);
});
