// The speaker screen's stage and the join slide: the answer timer (start, pause, reset, red at
// zero, overtime), the moderator's backstage message until dismissed, one speaker's own screen
// (?speaker=), the join line from the session's join.url whatever host the page is opened under,
// and the projector's join slide /join/{code} (content, sizes, an unknown code). Screenshots
// docs/screenshots/screen-timer.png and docs/screenshots/join-slide.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePng } from './png.mjs';

// The numbers the office configured: the hub started by this file reads them (each test file is
// its own process and starts its own hub, which inherits this environment).
const SMS = '0811 7000 123';
const WHATSAPP = '0812 7100 456';
process.env.TANYA_JOIN_SMS = SMS;
process.env.TANYA_JOIN_WHATSAPP = WHATSAPP;

const { launch, stopHub, createSession, newPage, online, hub } = await import('./helpers.mjs');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(HERE, '../../docs/screenshots');
const FULL_HD = { width: 1920, height: 1080 };
const HD = { width: 1280, height: 720 };
const SPEAKERS = [
  { name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' },
  { name: 'Ir. Budi Santoso', role: 'Kepala Dinas PUPR' },
];
let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

/**
 * A moderator on a raw WebSocket from a page of the hub's origin (the contract's `hello` with the
 * moderator key of the session JSON): the commands under test go straight to the hub, whatever
 * the console looks like. send(cmd) resolves with the reply frame (ok or error).
 */
async function moderator(s, problems) {
  const { base } = await hub();
  const { ctx, page } = await newPage(browser, {}, problems);
  // a bare JSON page: the browser would ask for /favicon.ico, which the hub does not have
  await ctx.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  await page.goto(`${base}/healthz`);
  await page.evaluate(({ id, key }) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
    const waiting = new Map();
    let n = 0;
    window.mod = {
      send(cmd) {
        const ref = `t-${++n}`;
        return new Promise((res) => { waiting.set(ref, res); ws.send(JSON.stringify({ ...cmd, ref })); });
      },
    };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', role: 'moderator', session: id, key }));
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'welcome') resolve();
      if ((m.type === 'ok' || m.type === 'error') && waiting.has(m.ref)) { waiting.get(m.ref)(m); waiting.delete(m.ref); }
    };
    ws.onclose = (e) => reject(new Error(`moderator socket closed ${e.code} ${e.reason}`));
  }), { id: s.session.id, key: s.keys.moderator });
  const send = async (cmd) => {
    const r = await page.evaluate((c) => window.mod.send(c), cmd);
    assert.equal(r.type, 'ok', `${JSON.stringify(cmd)} → ${JSON.stringify(r)}`);
    return r;
  };
  /** An operator entry, approved (and live) when asked: returns the question. */
  const seed = async ({ text, to = null, live = false }) => {
    const entry = { type: 'enter', text, channel: 'room' };
    if (to) entry.to = to;
    const q = (await send(entry)).question;
    await send({ type: 'approve', question: q.id });
    if (live) await send({ type: 'live', question: q.id });
    return q;
  };
  return { page, send, seed };
}

/** The screen link with a query (`?speaker=s1`), under another base when given. */
function screenUrl(s, { query = '', base = null } = {}) {
  const u = new URL(s.links.screen);
  const origin = base || u.origin;
  return `${origin}${u.pathname}${query}${u.hash}`;
}

async function openScreen(s, problems, { viewport = FULL_HD, locale = 'id-ID', query = '', base = null } = {}) {
  const { page } = await newPage(browser, { viewport, locale }, problems);
  await page.goto(screenUrl(s, { query, base }));
  await online(page);
  return page;
}

function timer(page) {
  return page.evaluate(() => {
    const box = document.querySelector('#timer');
    return {
      hidden: box.hidden,
      state: box.dataset.state,
      phase: box.dataset.phase,
      value: document.querySelector('#timer-value').textContent,
      note: document.querySelector('#timer-note').textContent,
    };
  });
}

/** Seconds a timer text stands for: "2:59" → 179, "+0:12" → -12. */
function seconds(text) {
  const m = /^(\+?)(\d+):(\d\d)$/.exec(text);
  assert.ok(m, `timer text m:ss: ${text}`);
  const s = Number(m[2]) * 60 + Number(m[3]);
  return m[1] ? -s : s;
}

/** Share of a PNG's pixels that are clearly red. */
function redShare(png) {
  let red = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
    if (r > 170 && g < 90 && b < 90) red++;
  }
  return red / (png.width * png.height);
}

test('answer timer: hidden until started, counts down, pauses, resets; red at zero, then overtime', async () => {
  const s = await createSession('Uji waktu menjawab', SPEAKERS);
  const problems = [];
  const mod = await moderator(s, problems);
  await mod.seed({ text: 'Kapan izin usaha kecil bisa diurus sepenuhnya secara daring?', live: true });
  for (const text of ['Bagaimana rencana perbaikan jalan di Jakabaring yang rusak sejak musim hujan?',
    'Apakah retribusi parkir di pasar tradisional akan naik tahun depan?',
    'Berapa lama proses PBG (dulu IMB) sekarang, dan berapa biayanya?']) await mod.seed({ text });
  const screen = await openScreen(s, problems);

  // Never started: the timer is not shown at all (idle: stopped at its full length).
  let tm = await timer(screen);
  assert.equal(tm.hidden, true, 'an idle timer is hidden');
  assert.equal(tm.state, 'idle');

  // Start with 5 seconds: shown, counting down by the second.
  await mod.send({ type: 'timer', action: 'start', seconds: 5 });
  await screen.locator('#timer:not([hidden])').waitFor();
  tm = await timer(screen);
  assert.equal(tm.state, 'running');
  assert.ok(['0:05', '0:04'].includes(tm.value), `starts at its length: ${tm.value}`);
  const samples = [];
  for (let i = 0; i < 9; i++) { samples.push(seconds((await timer(screen)).value)); await screen.waitForTimeout(250); }
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i] <= samples[i - 1], `never counts up: ${samples}`);
  assert.ok(samples[0] - samples[samples.length - 1] >= 1 && samples[0] - samples[samples.length - 1] <= 3, `about 2 s counted in 2 s: ${samples}`);
  assert.ok(samples.at(-1) > 0, `still time left: ${samples}`);
  // the digits are large: readable from the stage
  const size = await screen.$eval('#timer-value', (el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(size >= 100, `timer digits at least 100 px high at 1080p: ${size}`);

  // Pause: the time stands still and the screen says so.
  await mod.send({ type: 'timer', action: 'pause' });
  await screen.locator('#timer[data-state=paused]').waitFor();
  const paused = await timer(screen);
  assert.equal(paused.note, 'Dijeda');
  await screen.waitForTimeout(1500);
  assert.equal((await timer(screen)).value, paused.value, 'a paused timer stands still');
  assert.equal(paused.hidden, false, 'a paused timer stays on the screen');

  // Start again from where it was: down to zero, red, then the overtime.
  await mod.send({ type: 'timer', action: 'start' });
  await screen.locator('#timer[data-state=running]').waitFor();
  await screen.waitForFunction(() => document.querySelector('#timer').dataset.phase === 'over', null, { timeout: 8000 });
  tm = await timer(screen);
  assert.ok(['0:00', '+0:01'].includes(tm.value), `red at zero: ${tm.value}`);
  const bg = await screen.$eval('#timer', (el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(r > 170 && g < 90 && b < 90, `red box at zero: ${bg}`);
  assert.ok(redShare(decodePng(await screen.locator('#timer').screenshot())) > 0.5, 'the timer is red on the screen');
  await screen.waitForFunction(() => /^\+0:0[2-9]$/.test(document.querySelector('#timer-value').textContent), null, { timeout: 5000 });
  tm = await timer(screen);
  assert.equal(tm.phase, 'over');
  assert.equal(tm.note, 'Waktu habis');
  // with the note the side column is taller: the queue was fitted again, nothing cut
  const nf = await screen.$eval('#next-fit', (el) => ({ sh: el.scrollHeight, ch: el.clientHeight, size: getComputedStyle(el.firstElementChild).fontSize, ol: el.firstElementChild.scrollHeight }));
  assert.ok(nf.sh <= nf.ch + 1, `the queue fits beside the timer ${JSON.stringify(nf)}`);

  // A reload while it runs: the welcome's remaining time, still counting the overtime.
  const before = seconds(tm.value);
  await screen.reload();
  await online(screen);
  await screen.locator('#timer[data-state=running][data-phase=over]').waitFor();
  const after = seconds((await timer(screen)).value);
  assert.ok(after <= before && after >= before - 3, `the overtime carries on after a reload: ${before} → ${after}`);

  // Reset: full and stopped again, hidden.
  await mod.send({ type: 'timer', action: 'reset' });
  await screen.waitForFunction(() => document.querySelector('#timer').dataset.state === 'idle');
  assert.equal((await timer(screen)).hidden, true, 'a reset timer is hidden again');

  // Reset to a new length, then start: 1:00 counting down, not red.
  await mod.send({ type: 'timer', action: 'reset', seconds: 60 });
  await mod.send({ type: 'timer', action: 'start' });
  await screen.locator('#timer[data-state=running]').waitFor();
  tm = await timer(screen);
  assert.ok(['1:00', '0:59'].includes(tm.value), tm.value);
  assert.equal(tm.phase, 'normal');

  // Nothing of the side column is cut with the timer in it, at 1280×720 either.
  await screen.setViewportSize(HD);
  await screen.waitForTimeout(200);
  const box = await screen.locator('#timer-value').evaluate((el) => ({ sw: el.scrollWidth, cw: el.clientWidth, right: el.getBoundingClientRect().right }));
  assert.ok(box.sw <= box.cw && box.right <= HD.width, `timer digits fit: ${JSON.stringify(box)}`);
  assert.deepEqual(problems, []);
});

test('answer timer: after a reconnect it shows the time the hub has, not that of a replayed frame', async () => {
  const s = await createSession('Uji waktu setelah terputus', SPEAKERS);
  const problems = [];
  const mod = await moderator(s, problems);
  const screen = await openScreen(s, problems);
  await mod.send({ type: 'timer', action: 'start', seconds: 120 });
  const startedAt = Date.now();
  await screen.locator('#timer[data-state=running]').waitFor();
  /** The screen's time left and the hub's (from the start, by this process's clock). */
  const drift = async () => {
    const left = await screen.evaluate(() => { const st = window.tanya.stage; return st.timer.remaining_ms - (performance.now() - st.at); });
    return left - (120000 - (Date.now() - startedAt));
  };
  assert.ok(Math.abs(await drift()) < 400, `counts with the hub: ${await drift()}`);

  // Offline for 3 s; meanwhile a message (a `stage` frame with the time left at that moment).
  // Back online the screen resumes: a welcome with the time left now, then that frame replayed.
  await screen.context().setOffline(true);
  await screen.locator('#conn:not([data-state=online])').waitFor();
  await mod.send({ type: 'message', text: 'Dua menit' });
  await screen.waitForTimeout(3000);
  await screen.context().setOffline(false);
  await online(screen);
  await screen.waitForFunction(() => document.querySelector('#message-text').textContent === 'Dua menit');
  assert.equal(await screen.evaluate(() => window.tanya.client.state.resumed), true, 'the screen resumed');
  await screen.waitForTimeout(300);
  const d = await drift();
  assert.ok(Math.abs(d) < 400, `after the reconnect still the hub's time (a replayed frame would add 3 s): ${d} ms`);
  // the browser's own lines about the sockets it could not open while offline; nothing else
  assert.deepEqual(problems.filter((p) => !/WebSocket connection to .* failed: .*ERR_INTERNET_DISCONNECTED/.test(p)), []);
});

test('backstage message: a banner on top until the moderator dismisses it', async () => {
  const s = await createSession('Uji pesan moderator', SPEAKERS);
  const problems = [];
  const mod = await moderator(s, problems);
  const live = 'Kapan jalan di Jakabaring diperbaiki?';
  await mod.seed({ text: live, live: true });
  const screen = await openScreen(s, problems);
  await screen.waitForFunction((t) => document.querySelector('#live-text').textContent === t, live);
  assert.equal(await screen.locator('#message').isHidden(), true, 'no message at first');

  await mod.send({ type: 'message', text: '1 menit lagi' });
  await screen.locator('#message:not([hidden])').waitFor();
  assert.equal(await screen.textContent('#message-text'), '1 menit lagi');
  assert.equal(await screen.getAttribute('#message', 'role'), 'alert');
  // on top: right under the header, across the screen, above the question
  const [head, banner, question] = await Promise.all(['.top', '#message', '#live'].map((sel) => screen.locator(sel).boundingBox()));
  assert.ok(Math.abs(banner.y - (head.y + head.height)) <= 2, `under the header: ${JSON.stringify({ head, banner })}`);
  assert.ok(banner.width >= FULL_HD.width - 2, 'across the screen');
  assert.ok(banner.y + banner.height <= question.y + 1, 'above the question');
  const msgSize = await screen.$eval('#message-text', (el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(msgSize >= 56, `readable from the stage: ${msgSize}px`);

  // Another message replaces it; it survives a reload (the welcome carries it).
  await mod.send({ type: 'message', text: 'Pertanyaan terakhir' });
  await screen.waitForFunction(() => document.querySelector('#message-text').textContent === 'Pertanyaan terakhir');
  await screen.reload();
  await online(screen);
  await screen.waitForFunction(() => document.querySelector('#message-text').textContent === 'Pertanyaan terakhir' && !document.querySelector('#message').hidden);

  // The longest message (100 characters) at 1280×720: whole, and the question still shows.
  const long = 'Mohon dijawab singkat saja, Bapak: masih ada tiga penanya dari radio dan dua penanya di ruangan ini.';
  assert.equal([...long].length, 100);
  await screen.setViewportSize(HD);
  await mod.send({ type: 'message', text: long });
  await screen.waitForFunction((t) => document.querySelector('#message-text').textContent === t, long);
  const fits = await screen.evaluate(() => {
    const el = document.querySelector('#message-text');
    const r = el.getBoundingClientRect();
    const q = document.querySelector('#live-text').getBoundingClientRect();
    return { over: el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight, bottom: r.bottom, right: r.right, question: q.height };
  });
  assert.ok(!fits.over && fits.right <= HD.width && fits.bottom < HD.height / 2, `the message fits: ${JSON.stringify(fits)}`);
  assert.ok(fits.question > 0, 'the question is still shown');

  // Dismissed with "": gone.
  await mod.send({ type: 'message', text: '' });
  await screen.locator('#message').waitFor({ state: 'hidden' });

  // English: the label in English, the moderator's words as written.
  await mod.send({ type: 'message', text: '1 menit lagi' });
  const en = await openScreen(s, problems, { query: '?lang=en', locale: 'en-US' });
  await en.locator('#message:not([hidden])').waitFor();
  assert.equal(await en.textContent('.message-label'), 'Message from the moderator');
  assert.equal(await en.textContent('#message-text'), '1 menit lagi');
  assert.deepEqual(problems, []);
});

test('?speaker=: the speaker on top, the questions for that speaker and for everyone, the live one always', async () => {
  const s = await createSession('Uji layar per narasumber', SPEAKERS);
  const problems = [];
  const mod = await moderator(s, problems);
  const [s1, s2] = s.session.speakers;
  const texts = {
    forS1: 'Untuk Bu Sekda: kapan layanan izin daring dibuka penuh?',
    forS2: 'Untuk Dinas PUPR: kapan drainase di Sako diperbaiki?',
    forAll: 'Untuk semua narasumber: bagaimana warga memantau janji hari ini?',
    forS1b: 'Untuk Bu Sekda: berapa lama izin usaha mikro selesai?',
    liveForS2: 'Untuk Dinas PUPR: jembatan Musi kapan dicat ulang?',
  };
  const q1 = await mod.seed({ text: texts.forS1, to: s1.id });
  const q2 = await mod.seed({ text: texts.forS2, to: s2.id });
  await mod.seed({ text: texts.forAll });
  await mod.seed({ text: texts.forS1b, to: s1.id });
  await mod.seed({ text: texts.liveForS2, to: s2.id, live: true });

  const mine = await openScreen(s, problems, { query: `?speaker=${s1.id}` });
  const panel = await openScreen(s, problems);
  const queueOf = (page) => page.$$eval('#next li', (lis) => lis.map((li) => li.querySelector('.t').textContent));
  await mine.waitForFunction((t) => document.querySelector('#live-text').textContent === t, texts.liveForS2);

  // who this screen is for, on top
  assert.equal(await mine.textContent('#speaker-name'), s1.name);
  assert.equal(await mine.textContent('#speaker-role'), s1.role);
  const [speakerBox, liveBox] = await Promise.all([mine.locator('#speaker').boundingBox(), mine.locator('#live').boundingBox()]);
  assert.ok(speakerBox.y + speakerBox.height <= liveBox.y, 'the speaker is named above the question');
  // the queue: for this speaker and for everyone, in queue order; another speaker's are left out
  await mine.waitForFunction((n) => document.querySelectorAll('#next li').length === n, 3);
  assert.deepEqual(await queueOf(mine), [texts.forS1, texts.forAll, texts.forS1b]);
  assert.deepEqual(await mine.$$eval('#next li.mine .t', (els) => els.map((e) => e.textContent)), [texts.forS1, texts.forS1b]);
  assert.match(await mine.locator('#next li', { hasText: texts.forS1 }).locator('.m').textContent(), /untuk Anda/);
  // the live question is there although it is for the other speaker
  assert.equal(await mine.textContent('#live-text'), texts.liveForS2);
  assert.match(await mine.textContent('#live-to'), new RegExp(s2.name));
  // the panel's screen shows the whole queue
  await panel.waitForFunction((n) => document.querySelectorAll('#next li').length === n, 4);
  assert.deepEqual(await queueOf(panel), [texts.forS1, texts.forS2, texts.forAll, texts.forS1b]);
  assert.equal(await panel.locator('#speaker').isHidden(), true);

  // The moderator gives q2 to this speaker and q1 to the other: the queue follows.
  await mod.send({ type: 'assign', question: q2.id, to: s1.id });
  await mod.send({ type: 'assign', question: q1.id, to: s2.id });
  await mine.waitForFunction((want) => JSON.stringify(Array.from(document.querySelectorAll('#next .t'), (e) => e.textContent)) === JSON.stringify(want),
    [texts.forS2, texts.forAll, texts.forS1b]);
  // the live question goes, the next one for this speaker goes live
  await mod.send({ type: 'live', question: q2.id });
  await mine.waitForFunction((t) => document.querySelector('#live-text').textContent === t, texts.forS2);
  assert.equal(await mine.textContent('#live-to'), '→ untuk Anda');

  // An id the session does not have: said on top; only the questions for everyone.
  const unknown = await openScreen(s, problems, { query: '?speaker=s9' });
  await unknown.locator('#speaker[data-unknown=true]').waitFor();
  assert.match(await unknown.textContent('#speaker-role'), /tidak ada di daftar sesi/);
  await unknown.waitForFunction((n) => document.querySelectorAll('#next li').length === n, 1);
  assert.deepEqual(await queueOf(unknown), [texts.forAll]);

  // Nobody's questions left for this speaker: said in the speaker's words.
  for (const id of await mine.$$eval('#next li', (lis) => lis.map((li) => li.dataset.qid))) await mod.send({ type: 'live', question: id });
  await mine.locator('#next-empty:not([hidden])').waitFor();
  assert.equal(await mine.textContent('#next-empty'), 'Belum ada pertanyaan untuk Anda di antrean.');
  assert.deepEqual(problems, []);
});

test('join line: from session.join.url (the public address), also under another host name, and after a session event', async () => {
  const { base } = await hub();
  const s = await createSession('Uji baris cara bertanya', SPEAKERS);
  const problems = [];
  const mod = await moderator(s, problems);
  // the hub's public address is http://127.0.0.1:PORT; the page is opened as localhost:PORT
  const port = new URL(base).port;
  const other = `http://localhost:${port}`;
  const screen = await openScreen(s, problems, { base: other });
  assert.ok(screen.url().startsWith(other), screen.url());
  const expected = `127.0.0.1:${port}/j/${s.code}`;
  await screen.waitForFunction((t) => document.querySelector('#join-url').textContent === t, expected);
  assert.equal(await screen.textContent('#join-code'), s.code);
  const footer = await screen.textContent('.foot');
  assert.doesNotMatch(footer, /localhost|http:/, `the page's own host and the scheme are never shown: ${footer}`);
  // the numbers the office configured, in the same line
  assert.equal(await screen.textContent('#join-sms'), SMS);
  assert.equal(await screen.textContent('#join-whatsapp'), WHATSAPP);
  assert.equal(await screen.locator('#join-sms-line').isVisible(), true);

  // A session event (a new title): the line is still the session's.
  await mod.send({ type: 'session', title: 'Uji baris cara bertanya: judul baru' });
  await screen.waitForFunction(() => document.querySelector('#session-title').textContent === 'Uji baris cara bertanya: judul baru');
  assert.equal(await screen.textContent('#join-url'), expected);

  // A `session` event with another join (what a hub with another public address sends, without
  // numbers): the line follows it. Given to the page's client as the hub would, with the next seq.
  await screen.evaluate((code) => {
    const c = window.tanya.client;
    c.handle({ type: 'session', seq: c.seq + 1, session: { ...c.view.session, join: { url: `https://tanya.palembang.go.id/j/${code}`, sms: null, whatsapp: null } } });
  }, s.code);
  await screen.waitForFunction((t) => document.querySelector('#join-url').textContent === t, `tanya.palembang.go.id/j/${s.code}`);
  assert.equal(await screen.locator('#join-sms-line').isHidden(), true, 'no SMS number: no SMS line');
  assert.equal(await screen.locator('#join-whatsapp-line').isHidden(), true);
  assert.deepEqual(problems, []);
});

/** Every visible piece of the slide inside the window and inside its own box: nothing cut. */
function slideCut(page) {
  return page.evaluate(() => {
    const out = [];
    const W = window.innerWidth;
    const H = window.innerHeight;
    const doc = document.scrollingElement;
    if (doc.scrollWidth > W || doc.scrollHeight > H) out.push(`page scrolls: ${doc.scrollWidth}×${doc.scrollHeight}`);
    for (const el of document.querySelectorAll('#slide *, #slide-error *')) {
      if (!el.getClientRects().length) continue; // not shown
      const r = el.getBoundingClientRect();
      if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5) out.push(`${el.id || el.className || el.tagName} outside the window: ${JSON.stringify(r)}`);
      if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth) out.push(`${el.id || el.className || el.tagName} cut across: ${el.scrollWidth} > ${el.clientWidth}`);
    }
    return out;
  });
}

test('join slide: large QR code, short address, the code, title and numbers; 1920×1080 and 1280×720 with nothing cut', async () => {
  const { base } = await hub();
  const port = new URL(base).port;
  const s = await createSession('Diskusi Wong Kito #12: Perizinan', SPEAKERS);
  const problems = [];
  for (const viewport of [FULL_HD, HD]) {
    const { page } = await newPage(browser, { viewport, locale: 'id-ID' }, problems);
    // opened under another host name: the address shown is still the hub's public one
    await page.goto(`http://localhost:${port}/join/${s.code.toLowerCase()}`);
    await page.locator('#slide[data-state=ready]').waitFor();
    assert.equal(await page.textContent('#slide-title'), 'Diskusi Wong Kito #12: Perizinan');
    assert.equal(await page.textContent('#slide-url'), `127.0.0.1:${port}/j/${s.code}`);
    assert.equal(await page.textContent('#slide-code'), s.code);
    assert.equal(await page.textContent('#slide-sms'), SMS);
    assert.equal(await page.textContent('#slide-whatsapp'), WHATSAPP);
    assert.equal(await page.textContent('.ask'), 'Kirim pertanyaan Anda');
    // the QR code: the hub's image of the join link, loaded, large
    const qr = await page.$eval('#slide-qr', (img) => ({ src: img.getAttribute('src'), w: img.naturalWidth, box: img.getBoundingClientRect().height, alt: img.alt, done: img.complete }));
    assert.equal(qr.src, `/qr/${s.code}.svg`);
    assert.ok(qr.done && qr.w > 0, 'the QR code loaded');
    assert.ok(qr.box >= viewport.height * 0.55, `the QR code is large: ${qr.box}px of ${viewport.height}`);
    assert.match(qr.alt, new RegExp(s.code));
    const codeSize = await page.$eval('#slide-code', (el) => parseFloat(getComputedStyle(el).fontSize));
    assert.ok(codeSize >= viewport.height / 10, `the code in large letters: ${codeSize}px`);
    assert.deepEqual(await slideCut(page), [], `nothing cut at ${viewport.width}×${viewport.height}`);
    if (viewport === FULL_HD) await page.screenshot({ path: path.join(OUT, 'join-slide.png') });
    // the QR code is black on white: a projector shows it sharp
    const png = decodePng(await page.locator('#slide-qr').screenshot());
    let dark = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] < 60 && png.data[i + 1] < 60 && png.data[i + 2] < 60) dark++;
    const share = dark / (png.width * png.height);
    assert.ok(share > 0.2 && share < 0.7, `QR modules drawn: ${share}`);
  }
  assert.ok(fs.statSync(path.join(OUT, 'join-slide.png')).size > 5000);

  // The longest title (200 characters) and a long public address at 1280×720: still nothing cut.
  const longTitle = `Diskusi Wong Kito #13: ${'Perizinan, pelayanan publik, dan jalan kota Palembang; '.repeat(4)}`.slice(0, 200);
  const s2 = await createSession(longTitle, SPEAKERS);
  const { page: small } = await newPage(browser, { viewport: HD, locale: 'id-ID' }, problems);
  await small.route('**/api/join/*', async (route) => {
    const r = await route.fetch();
    const body = await r.json();
    await route.fulfill({ response: r, json: { ...body, url: `https://tanya-diskusi.diskominfo.palembang.go.id/j/${body.code}` } });
  });
  await small.goto(`${base}/join/${s2.code}`);
  await small.locator('#slide[data-state=ready]').waitFor();
  assert.equal(await small.textContent('#slide-title'), longTitle);
  assert.equal(await small.textContent('#slide-url'), `tanya-diskusi.diskominfo.palembang.go.id/j/${s2.code}`);
  assert.deepEqual(await slideCut(small), [], 'a long title and address fit');

  // No numbers configured: no numbers line. A closed session: said on the slide.
  const { page: plain } = await newPage(browser, { viewport: HD, locale: 'id-ID' }, problems);
  await plain.route('**/api/join/*', async (route) => {
    const r = await route.fetch();
    await route.fulfill({ response: r, json: { ...(await r.json()), sms: null, whatsapp: null } });
  });
  const mod = await moderator(s2, problems);
  await mod.send({ type: 'session', status: 'closed' });
  await plain.goto(`${base}/join/${s2.code}`);
  await plain.locator('#slide[data-state=ready]').waitFor();
  assert.equal(await plain.locator('#slide-numbers').isHidden(), true);
  assert.match(await plain.textContent('#slide-status'), /sudah ditutup/);
  assert.deepEqual(await slideCut(plain), []);

  // English when asked.
  const { page: en } = await newPage(browser, { viewport: FULL_HD, locale: 'en-US' }, problems);
  await en.goto(`${base}/join/${s.code}?lang=en`);
  await en.locator('#slide[data-state=ready]').waitFor();
  assert.equal(await en.textContent('.ask'), 'Send your question');
  assert.equal(await en.textContent('#slide-url'), `127.0.0.1:${port}/j/${s.code}`);
  assert.deepEqual(problems, []);
});

test('join slide: an unknown code gets an Indonesian message; a failed load is retried', async () => {
  const { base } = await hub();
  const problems = [];
  for (const viewport of [FULL_HD, HD]) {
    const { page } = await newPage(browser, { viewport, locale: 'id-ID' }, problems);
    await page.goto(`${base}/join/ZZZZZZ`);
    await page.locator('#slide-error[data-state=notfound]:not([hidden])').waitFor();
    assert.equal(await page.textContent('#slide-error-title'), 'Kode sesi “ZZZZZZ” tidak ditemukan.');
    assert.match(await page.textContent('#slide-error-text'), /Periksa kode/);
    assert.equal(await page.locator('#slide').isHidden(), true);
    assert.deepEqual(await slideCut(page), []);
  }
  // not even the shape of a code
  const { page: bad } = await newPage(browser, { viewport: HD, locale: 'id-ID' }, problems);
  await bad.goto(`${base}/join/abc`);
  await bad.locator('#slide-error[data-state=notfound]:not([hidden])').waitFor();
  assert.equal(await bad.textContent('#slide-error-title'), 'Kode sesi “abc” tidak ditemukan.');

  // the network fails at first: said, then the slide comes by itself
  const s = await createSession('Uji slide tanpa jaringan', SPEAKERS);
  const { page: flaky } = await newPage(browser, { viewport: HD, locale: 'id-ID' }, problems);
  await flaky.route('**/api/join/*', (route) => route.abort('internetdisconnected'));
  await flaky.goto(`${base}/join/${s.code}`);
  await flaky.locator('#slide-error[data-state=error]:not([hidden])').waitFor();
  assert.equal(await flaky.textContent('#slide-error-title'), 'Data sesi belum bisa dimuat.');
  await flaky.unroute('**/api/join/*');
  await flaky.locator('#slide[data-state=ready]').waitFor({ timeout: 10000 });
  assert.equal(await flaky.textContent('#slide-code'), s.code);
  assert.equal(await flaky.locator('#slide-error').isHidden(), true);

  // the browser's own line about each 404 and aborted request is expected; nothing else
  const rest = problems.filter((p) => !/Failed to load resource: (the server responded with a status of 404|net::ERR_INTERNET_DISCONNECTED)/.test(p));
  assert.deepEqual(rest, []);
});

test('wording: the screen and the slide complete in both languages, standard Indonesian, no developer words', async () => {
  const { base } = await hub();
  const problems = [];
  const { page } = await newPage(browser, { viewport: HD }, problems);
  await page.goto(`${base}/join/ZZZZZZ`);
  for (const url of ['/assets/screen/strings.js', '/assets/join/strings.js']) {
    const tables = await page.evaluate(async (u) => {
      const m = await import(u);
      const out = {};
      for (const [lang, table] of Object.entries(m.default)) {
        out[lang] = Object.fromEntries(Object.entries(table).map(([k, v]) => [k, typeof v === 'function' ? v({ n: 2 }) : v]));
      }
      return out;
    }, url);
    assert.deepEqual(Object.keys(tables.en).sort(), Object.keys(tables.id).sort(), `${url}: English complete`);
    for (const lang of ['id', 'en']) {
      for (const [k, v] of Object.entries(tables[lang])) {
        const bad = [/\bhub\b/i, /#k=/, /TANYA_/, /\bkey\b/i, /\btoken\b/i, ...(lang === 'id' ? [/antrian/i, /\bkunci\b/i] : [])].filter((re) => re.test(v));
        assert.deepEqual(bad, [], `${url} ${lang}.${k}: “${v}”`);
      }
    }
  }
  assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
});

test('screenshot: the speaker screen with the timer and a backstage message', async () => {
  const s = await createSession('Diskusi Wong Kito #12: Perizinan', SPEAKERS);
  const problems = [];
  const mod = await moderator(s, problems);
  const [s1, s2] = s.session.speakers;
  await mod.seed({ text: 'Kapan izin usaha kecil bisa diurus sepenuhnya secara daring, tanpa harus datang ke kantor dinas?', to: s1.id, live: true });
  await mod.seed({ text: 'Bagaimana rencana perbaikan jalan di Jakabaring yang rusak sejak musim hujan?', to: s2.id });
  await mod.seed({ text: 'Apakah retribusi parkir di pasar tradisional akan naik tahun depan?' });
  await mod.seed({ text: 'Berapa lama proses PBG (dulu IMB) sekarang, dan berapa biayanya?', to: s1.id });
  await mod.send({ type: 'message', text: '1 menit lagi' });
  await mod.send({ type: 'timer', action: 'start', seconds: 180 });
  const screen = await openScreen(s, problems);
  await screen.locator('#timer[data-state=running]').waitFor();
  await screen.locator('#message:not([hidden])').waitFor();
  await screen.waitForFunction(() => document.querySelectorAll('#next li').length === 3);
  await screen.waitForTimeout(1300); // the message's flash is over
  await screen.screenshot({ path: path.join(OUT, 'screen-timer.png') });
  assert.ok(fs.statSync(path.join(OUT, 'screen-timer.png')).size > 5000);
  assert.deepEqual(problems, []);
});
