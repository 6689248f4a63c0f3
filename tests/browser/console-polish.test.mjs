// The moderator console and /admin as the office uses them: closing the session asks first,
// ready rejection reasons (built in, from the welcome, and configured in the hub), search and
// filters, questions per device, the QR hint, the warning when the public address is loopback,
// and the Indonesian wording (standard forms, no developer words, every error code in words).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The office's own reasons: the hub started by this file reads them (each test file is its own
// process and starts its own hub, which inherits this environment).
const CONFIGURED_REASONS = ['Di luar tema acara', 'Sudah ditanyakan peserta lain', 'Mohon gunakan bahasa yang sopan'];
process.env.TANYA_REJECT_REASONS = CONFIGURED_REASONS.join('|');

const { launch, stopHub, createSession, newPage, online, card, ask, hub } = await import('./helpers.mjs');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DESK = { width: 1440, height: 900 };
const PHONE = { width: 360, height: 640 };
const DEFAULT_REASONS = ['Di luar topik', 'Sudah dijawab', 'Mengandung data pribadi', 'Bahasa tidak pantas', 'Pertanyaan ganda'];
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

/** Operator entries through the console's own client (setup, not under test). */
function seed(mod, entries) {
  return mod.evaluate(async (entries) => {
    const c = window.tanya.client;
    const out = [];
    for (const e of entries) {
      const frame = { type: 'enter', ref: crypto.randomUUID(), text: e.text, channel: e.channel || 'room' };
      if (e.name) frame.name = e.name;
      if (e.to) frame.to = e.to;
      let q = (await c.send(frame)).question;
      if (e.approve || e.live) {
        await c.send({ type: 'approve', question: q.id, rev: q.rev });
        q = c.view.questions.get(q.id);
      }
      if (e.live) await c.send({ type: 'live', question: q.id, rev: q.rev });
      out.push(q.id);
    }
    return out;
  }, entries);
}

/** A console whose welcome frames pass through `edit` (to remove or set `moderation`). */
async function consoleWithWelcome(s, problems, edit, locale = 'id-ID') {
  const { page } = await newPage(browser, { viewport: DESK, locale }, problems);
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      let f = null;
      try { f = JSON.parse(m); } catch { /* not JSON: pass */ }
      if (f && f.type === 'welcome') { edit(f); ws.send(JSON.stringify(f)); } else ws.send(m);
    });
  });
  await page.goto(s.links.moderator);
  await online(page);
  return page;
}

async function openConsole(s, problems, locale = 'id-ID') {
  const { page } = await newPage(browser, { viewport: DESK, locale }, problems);
  await page.goto(s.links.moderator);
  await online(page);
  return page;
}

const shownTexts = (page, col) => page.locator(`#col-${col} .card [data-field=text]`).allTextContents();
const reasonPicks = (c) => c.locator('[data-field=reasons] [data-act=reject-pick]');

async function waitTexts(page, col, expected) {
  try {
    await page.waitForFunction(([c, exp]) => JSON.stringify(Array.from(document.querySelectorAll(`#col-${c} .card [data-field=text]`), (e) => e.textContent).sort())
      === JSON.stringify([...exp].sort()), [col, expected], { timeout: 5000 });
  } catch {
    assert.deepEqual((await shownTexts(page, col)).sort(), [...expected].sort(), `cards shown in ${col}`);
  }
}

// ---- 1. closing the session ----------------------------------------------------------------
test('close: a dialog asks first; Cancel and Esc leave the session open, confirming closes it', async () => {
  const s = await createSession('Konsol: tutup sesi');
  const problems = [];
  const mod = await openConsole(s, problems);
  await seed(mod, [{ text: 'Pertanyaan sebelum ditutup' }]);
  await card(mod, 'pending', 'Pertanyaan sebelum ditutup').waitFor();
  const status = () => mod.getAttribute('#session-status', 'data-status');
  assert.equal(await status(), 'open');

  // Cancel
  await mod.click('#session-close');
  const dlg = mod.locator('#close-dialog');
  await mod.waitForFunction(() => document.querySelector('#close-dialog').open);
  assert.equal(await dlg.locator('#close-title').textContent(), 'Tutup sesi ini?');
  assert.match(await dlg.locator('#close-body').textContent(), /tidak dapat bertanya/);
  assert.equal(await mod.evaluate(() => document.activeElement.id), 'close-cancel', 'the safe choice has the focus');
  // the dialog is modal: a shortcut does not act behind it
  await mod.keyboard.press('j');
  await mod.keyboard.press('a');
  await mod.click('#close-cancel');
  await mod.waitForFunction(() => !document.querySelector('#close-dialog').open);
  await mod.waitForTimeout(400);
  assert.equal(await status(), 'open', 'Cancel leaves the session open');
  assert.equal(await mod.evaluate(() => window.tanya.client.view.session.status), 'open');
  assert.equal(await card(mod, 'pending', 'Pertanyaan sebelum ditutup').count(), 1, 'nothing approved behind the dialog');

  // Esc
  await mod.click('#session-close');
  await mod.waitForFunction(() => document.querySelector('#close-dialog').open);
  await mod.keyboard.press('Escape');
  await mod.waitForFunction(() => !document.querySelector('#close-dialog').open);
  await mod.waitForTimeout(400);
  assert.equal(await status(), 'open', 'Esc leaves the session open');

  // confirm
  await mod.click('#session-close');
  await mod.waitForFunction(() => document.querySelector('#close-dialog').open);
  await mod.click('#close-confirm');
  await mod.waitForSelector('#session-status[data-status=closed]');
  assert.equal(await mod.textContent('#session-status'), 'Ditutup');
  // opening again asks nothing
  await mod.click('#session-open');
  await mod.waitForSelector('#session-status[data-status=open]');
  assert.equal(await mod.evaluate(() => document.querySelector('#close-dialog').open), false);
  assert.deepEqual(problems, []);
});

// ---- 2. rejection reasons ------------------------------------------------------------------
test('reject reasons: the built-in list, picked with ↓/↑ and Enter, by a click, or typed', async () => {
  const s = await createSession('Konsol: alasan penolakan');
  const problems = [];
  // without `moderation` in the welcome (as before the hub sends it): the built-in list
  const mod = await consoleWithWelcome(s, problems, (w) => { delete w.moderation; });
  const [a, b, c] = ['Pertanyaan A tentang pasar', 'Pertanyaan B tentang jalan', 'Pertanyaan C tentang banjir'];
  await seed(mod, [{ text: a }, { text: b }, { text: c }]);

  // keyboard: R opens the field, ↓ ↓ ↑ step through the list, ↑ back to what was typed, Enter rejects
  const ca = card(mod, 'pending', a);
  await ca.click({ position: { x: 5, y: 5 } });
  await mod.keyboard.press('Shift+R');
  const field = ca.locator('[data-field=reject-reason]');
  await field.waitFor();
  assert.deepEqual(await reasonPicks(ca).allTextContents(), DEFAULT_REASONS);
  assert.equal(await mod.evaluate(() => document.activeElement.dataset.field), 'reject-reason');
  await mod.keyboard.press('ArrowDown');
  assert.equal(await field.inputValue(), 'Di luar topik');
  await mod.keyboard.press('ArrowDown');
  assert.equal(await field.inputValue(), 'Sudah dijawab');
  assert.equal(await reasonPicks(ca).nth(1).getAttribute('aria-pressed'), 'true');
  await mod.keyboard.press('ArrowUp');
  await mod.keyboard.press('ArrowUp');
  assert.equal(await field.inputValue(), '', 'back to the (empty) typed text');
  await mod.keyboard.press('ArrowUp');
  assert.equal(await field.inputValue(), 'Pertanyaan ganda', 'wraps to the last');
  await mod.keyboard.press('ArrowUp');
  await mod.keyboard.press('ArrowUp');
  assert.equal(await field.inputValue(), 'Mengandung data pribadi');
  await mod.keyboard.press('Enter');
  await card(mod, 'rejected', a).locator('[data-field=reason]', { hasText: 'Mengandung data pribadi' }).waitFor({ state: 'attached' });
  assert.equal(await mod.evaluate((t) => [...window.tanya.client.view.questions.values()].find((q) => q.text === t).reason, a), 'Mengandung data pribadi');

  // mouse: "Alasan…" opens the list, a click on a reason rejects at once
  const cb = card(mod, 'pending', b);
  await cb.locator('[data-act=reject-reason]').click();
  await reasonPicks(cb).first().waitFor();
  await reasonPicks(cb).filter({ hasText: 'Pertanyaan ganda' }).click();
  await mod.waitForFunction((t) => [...window.tanya.client.view.questions.values()].find((q) => q.text === t).reason === 'Pertanyaan ganda', b);
  await card(mod, 'rejected', b).waitFor({ state: 'attached' });

  // free text, and Esc on a reason closes the field without rejecting
  const cc = card(mod, 'pending', c);
  await cc.click({ position: { x: 5, y: 5 } });
  await mod.keyboard.press('Shift+R');
  await reasonPicks(cc).first().focus();
  await mod.keyboard.press('Escape');
  await cc.locator('.rejector').waitFor({ state: 'hidden' });
  assert.equal(await cc.getAttribute('data-status'), 'pending');
  await mod.keyboard.press('Shift+R');
  await cc.locator('[data-field=reject-reason]').waitFor();
  await mod.keyboard.type('Mohon ajukan lewat kanal pengaduan');
  await mod.keyboard.press('Enter');
  await mod.waitForFunction((t) => [...window.tanya.client.view.questions.values()].find((q) => q.text === t).reason === 'Mohon ajukan lewat kanal pengaduan', c);

  // the English console shows the meaning beside each reason; the asker still reads Indonesian
  await seed(mod, [{ text: 'Question D in English mode' }]);
  await mod.click('#lang-en');
  const cd = card(mod, 'pending', 'Question D in English mode');
  await cd.locator('[data-act=reject-reason]').click();
  assert.deepEqual(await reasonPicks(cd).allTextContents(), ['Di luar topik · Off topic', 'Sudah dijawab · Already answered',
    'Mengandung data pribadi · Contains personal data', 'Bahasa tidak pantas · Inappropriate language', 'Pertanyaan ganda · Duplicate question']);
  await reasonPicks(cd).filter({ hasText: 'Off topic' }).click();
  await mod.waitForFunction(() => [...window.tanya.client.view.questions.values()].find((q) => q.text === 'Question D in English mode').reason === 'Di luar topik');
  assert.deepEqual(problems, []);
});

test('reject reasons: a list in the welcome (moderation.reasons) replaces the built-in one; empty or malformed does not', async () => {
  const s = await createSession('Konsol: alasan dalam sambutan');
  const problems = [];
  const own = ['Tidak relevan dengan acara', 'Sudah ditanyakan'];
  const cases = [
    [own, own],
    [[], DEFAULT_REASONS],
    [[' ', 7, null, 'Tidak relevan dengan acara', 'Tidak relevan dengan acara'], ['Tidak relevan dengan acara']],
    ['not a list', DEFAULT_REASONS],
  ];
  for (const [reasons, expected] of cases) {
    const mod = await consoleWithWelcome(s, problems, (w) => { w.moderation = { reasons }; });
    const text = `Pertanyaan untuk ${JSON.stringify(reasons)}`;
    await seed(mod, [{ text }]);
    const c = card(mod, 'pending', text);
    await c.locator('[data-act=reject-reason]').click();
    await reasonPicks(c).first().waitFor();
    assert.deepEqual(await reasonPicks(c).allTextContents(), expected, `moderation.reasons = ${JSON.stringify(reasons)}`);
    await mod.context().close();
  }
  assert.deepEqual(problems, []);
});

test('reject reasons: the hub sends the configured list (TANYA_REJECT_REASONS) and the console offers it', async () => {
  const s = await createSession('Konsol: alasan dari pengaturan');
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  const welcomes = [];
  mod.on('websocket', (ws) => ws.on('framereceived', (f) => {
    try { const m = JSON.parse(f.payload); if (m.type === 'welcome') welcomes.push(m); } catch { /* pass */ }
  }));
  await mod.goto(s.links.moderator);
  await online(mod);
  assert.ok(welcomes.length >= 1);
  assert.deepEqual(welcomes[0].moderation && welcomes[0].moderation.reasons, CONFIGURED_REASONS,
    'the moderator welcome carries moderation.reasons from TANYA_REJECT_REASONS (hub setting moderation.reject_reasons)');
  await seed(mod, [{ text: 'Pertanyaan untuk daftar kantor' }]);
  const c = card(mod, 'pending', 'Pertanyaan untuk daftar kantor');
  await c.locator('[data-act=reject-reason]').click();
  await reasonPicks(c).first().waitFor();
  assert.deepEqual(await reasonPicks(c).allTextContents(), CONFIGURED_REASONS);
  await reasonPicks(c).nth(2).click();
  await mod.waitForFunction((r) => [...window.tanya.client.view.questions.values()].find((q) => q.text === 'Pertanyaan untuk daftar kantor').reason === r, CONFIGURED_REASONS[2]);
  assert.deepEqual(problems, []);
});

// ---- 3. search and filters -------------------------------------------------------------------
test('search and filters: text, name and outlet; flagged, speaker, source; "/" and Esc; the live question always shows', async () => {
  const s = await createSession('Konsol: cari dan saring');
  const problems = [];
  const mod = await openConsole(s, problems);
  const { page: phone } = await newPage(browser, { viewport: PHONE, locale: 'id-ID' }, problems);
  const { page: press } = await newPage(browser, { viewport: PHONE, locale: 'id-ID' }, problems);
  await Promise.all([phone.goto(s.links.audience), press.goto(s.links.press)]);
  await Promise.all([online(phone), online(press)]);

  const AUD = 'Kapan jalan di Jakabaring diperbaiki?';
  const PRESS = 'Berapa target PAD tahun ini?';
  const OP = 'Bagaimana cara mengurus izin usaha?';
  const FLAG = 'Tolong hubungi saya di 0812 3456 7890 soal banjir';
  const QUEUED = 'Pertanyaan di antrean tentang Jakabaring dan pasar';
  const LIVE = 'Pertanyaan yang sedang dijawab tentang pasar';
  await ask(phone, AUD, { name: 'Siti Rahma' });
  await phone.locator('#ask-status[data-kind=ok]').waitFor();
  await press.fill('#outlet', 'Sumatera Ekspres');
  await ask(press, PRESS, { name: 'Rina' });
  await press.locator('#ask-status[data-kind=ok]').waitFor();
  const [s1, s2] = s.session.speakers.map((x) => x.id);
  await seed(mod, [{ text: OP, name: 'Pak Harun', to: s1 }, { text: FLAG }, { text: QUEUED, approve: true }, { text: LIVE, to: s2, live: true }]);
  await card(mod, 'live', LIVE).waitFor();
  await card(mod, 'pending', FLAG).locator('[data-field=flags] .flag').first().waitFor();
  await waitTexts(mod, 'pending', [AUD, PRESS, OP, FLAG]);

  // "/" focuses the search box from anywhere but a text field
  await mod.evaluate(() => document.activeElement && document.activeElement.blur());
  await mod.keyboard.press('/');
  assert.equal(await mod.evaluate(() => document.activeElement.id), 'search');
  assert.equal(await mod.inputValue('#search'), '', 'the "/" is not typed');
  // text, any case, accents folded
  await mod.keyboard.type('JAKABARING');
  await waitTexts(mod, 'pending', [AUD]);
  await waitTexts(mod, 'approved', [QUEUED]);
  await waitTexts(mod, 'live', [LIVE]);
  await mod.fill('#search', 'jakabaring diperbaiki');
  await waitTexts(mod, 'pending', [AUD]);
  await waitTexts(mod, 'approved', []);
  assert.equal(await mod.textContent('#n-approved'), '0/1');
  assert.equal(await mod.textContent('#filter-status'), '4 pertanyaan disembunyikan oleh saringan. Pertanyaan yang sedang dijawab selalu tampil.');
  await waitTexts(mod, 'live', [LIVE]);
  // name, outlet
  await mod.fill('#search', 'harun');
  await waitTexts(mod, 'pending', [OP]);
  await mod.fill('#search', 'sumatera ekspres');
  await waitTexts(mod, 'pending', [PRESS]);
  await waitTexts(mod, 'live', [LIVE]);
  await mod.fill('#search', 'tidak ada yang cocok');
  await waitTexts(mod, 'pending', []);
  await waitTexts(mod, 'live', [LIVE]);
  // Esc empties the box, a second Esc leaves it
  await mod.focus('#search');
  await mod.keyboard.press('Escape');
  assert.equal(await mod.inputValue('#search'), '');
  await waitTexts(mod, 'pending', [AUD, PRESS, OP, FLAG]);
  assert.equal(await mod.evaluate(() => document.activeElement.id), 'search');
  await mod.keyboard.press('Escape');
  assert.notEqual(await mod.evaluate(() => document.activeElement.id), 'search');
  // Enter in the box selects the first question found, and the keys go on from there
  await mod.keyboard.press('/');
  await mod.keyboard.type('harun');
  await mod.keyboard.press('Enter');
  await card(mod, 'pending', OP).and(mod.locator('.selected[aria-current=true]')).waitFor();
  await mod.keyboard.press('Escape');
  await mod.fill('#search', '');
  await waitTexts(mod, 'pending', [AUD, PRESS, OP, FLAG]);

  // flagged (moderator view `flags` not empty)
  await mod.click('#filter-flagged');
  assert.equal(await mod.getAttribute('#filter-flagged', 'aria-pressed'), 'true');
  await waitTexts(mod, 'pending', [FLAG]);
  await waitTexts(mod, 'approved', []);
  await waitTexts(mod, 'live', [LIVE]);
  await mod.click('#filter-flagged');
  await waitTexts(mod, 'pending', [AUD, PRESS, OP, FLAG]);

  // per speaker (`to`), and the questions addressed to no one
  const speakerOptions = await mod.locator('#filter-speaker option').allTextContents();
  assert.deepEqual(speakerOptions, ['Semua narasumber', ...s.session.speakers.map((x) => x.name), 'Belum ditujukan']);
  await mod.selectOption('#filter-speaker', s1);
  await waitTexts(mod, 'pending', [OP]);
  await waitTexts(mod, 'live', [LIVE]); // addressed to the other speaker, still shown
  await mod.selectOption('#filter-speaker', '-');
  await waitTexts(mod, 'pending', [AUD, PRESS, FLAG]);
  await mod.selectOption('#filter-speaker', '');
  await waitTexts(mod, 'pending', [AUD, PRESS, OP, FLAG]);

  // per source, in every column; the live operator entry stays under "audience"
  await mod.click('#filter-press');
  await waitTexts(mod, 'pending', [PRESS]);
  await mod.click('#filter-operator');
  await waitTexts(mod, 'pending', [OP, FLAG]);
  await waitTexts(mod, 'approved', [QUEUED]);
  await mod.click('#filter-audience');
  await waitTexts(mod, 'pending', [AUD]);
  await waitTexts(mod, 'approved', []);
  await waitTexts(mod, 'live', [LIVE]);
  // filters combine; one button clears them all
  await mod.fill('#search', 'banjir');
  await waitTexts(mod, 'pending', []);
  await mod.locator('#filter-clear:not([hidden])').click();
  await waitTexts(mod, 'pending', [AUD, PRESS, OP, FLAG]);
  await waitTexts(mod, 'approved', [QUEUED]);
  assert.equal(await mod.inputValue('#search'), '');
  assert.equal(await mod.getAttribute('#filter-all', 'aria-pressed'), 'true');
  assert.equal(await mod.isHidden('#filter-clear'), true);
  // every control can be reached with Tab
  for (const sel of ['#search', '#filter-all', '#filter-flagged', '#filter-speaker', '#filter-press']) {
    assert.ok(await mod.locator(sel).evaluate((el) => el.tabIndex >= 0 && !el.disabled), `${sel} focusable`);
  }
  assert.deepEqual(problems, []);
});

// ---- 4. questions per device ---------------------------------------------------------------
test('questions per device: a card says how many questions its device sent when more than one', async () => {
  const s = await createSession('Konsol: per perangkat');
  const problems = [];
  const mod = await openConsole(s, problems);
  const { page: p1 } = await newPage(browser, { viewport: PHONE, locale: 'id-ID' }, problems);
  const { page: p2 } = await newPage(browser, { viewport: PHONE, locale: 'id-ID' }, problems);
  await Promise.all([p1.goto(s.links.audience), p2.goto(s.links.audience)]);
  await Promise.all([online(p1), online(p2)]);
  const badge = (text, col = 'pending') => card(mod, col, text).locator('[data-field=device-count]');

  await ask(p1, 'Perangkat satu, pertanyaan pertama');
  await p1.locator('#ask-status[data-kind=ok]').waitFor();
  await ask(p2, 'Perangkat dua, satu-satunya pertanyaan');
  await p2.locator('#ask-status[data-kind=ok]').waitFor();
  await card(mod, 'pending', 'Perangkat dua').waitFor();
  await card(mod, 'pending', 'Perangkat satu, pertanyaan pertama').waitFor();
  assert.equal(await badge('Perangkat satu, pertanyaan pertama').isHidden(), true, 'one question: no count');

  await ask(p1, 'Perangkat satu, pertanyaan kedua');
  await badge('Perangkat satu, pertanyaan pertama').waitFor();
  assert.equal(await badge('Perangkat satu, pertanyaan pertama').textContent(), '2 pertanyaan dari perangkat ini');
  assert.equal(await badge('Perangkat satu, pertanyaan kedua').textContent(), '2 pertanyaan dari perangkat ini');
  await ask(p1, 'Perangkat satu, pertanyaan ketiga');
  await badge('Perangkat satu, pertanyaan pertama').and(mod.locator('[data-count="3"]')).waitFor();
  assert.equal(await badge('Perangkat satu, pertanyaan ketiga').textContent(), '3 pertanyaan dari perangkat ini');
  assert.equal(await badge('Perangkat dua, satu-satunya pertanyaan').isHidden(), true);

  // every status counts: a rejected question still belongs to the device's tally
  await card(mod, 'pending', 'Perangkat satu, pertanyaan kedua').locator('[data-act=reject]').click();
  await card(mod, 'rejected', 'Perangkat satu, pertanyaan kedua').waitFor({ state: 'attached' });
  assert.equal(await badge('Perangkat satu, pertanyaan pertama').textContent(), '3 pertanyaan dari perangkat ini');
  await mod.click('#lang-en');
  await badge('Perangkat satu, pertanyaan pertama').filter({ hasText: '3 questions from this device' }).waitFor();
  // operator entries have no device: never counted together
  await seed(mod, [{ text: 'Operator satu' }, { text: 'Operator dua' }]);
  await card(mod, 'pending', 'Operator dua').waitFor();
  assert.equal(await badge('Operator satu').isHidden(), true);
  assert.deepEqual(problems, []);
});

// ---- 5. the QR hint -------------------------------------------------------------------------
test('QR hint: scanning is enough; the code is only for those who type the address', async () => {
  const s = await createSession('Konsol: petunjuk QR');
  const problems = [];
  const mod = await openConsole(s, problems);
  const host = new URL(s.links.audience).host;
  await mod.waitForFunction((c) => document.querySelector('#join-code').textContent === c, s.code);
  const hint = await mod.textContent('#qr-hint');
  assert.equal(hint, `Peserta memindai kode QR ini dan langsung masuk ke sesi. Tanpa kode QR: buka ${host} lalu ketik kode`);
  assert.doesNotMatch(hint, /memindai kode QR[^.]*lalu memasukkan kode/, 'no typing after scanning');
  // the QR code is the audience link with the code in it
  assert.equal(await mod.getAttribute('#qr', 'src'), `/qr/${s.code}.svg`);
  await mod.click('#lang-en');
  assert.equal(await mod.textContent('#qr-hint'), `The audience scans this QR code and is in the session at once. Without the QR code: open ${host} and type the code`);
  assert.deepEqual(problems, []);
});

// ---- 6. a loopback public address ---------------------------------------------------------------
test('public address on loopback: the console and /admin warn in office words; a LAN address does not', async () => {
  const { base, token } = await hub();
  assert.match(base, /^http:\/\/127\./, 'the test hub runs with a loopback public address');
  const s = await createSession('Konsol: alamat publik');
  const problems = [];
  const mod = await openConsole(s, problems);
  const warn = mod.locator('#public-warning');
  await warn.waitFor();
  const text = await warn.textContent();
  assert.equal(text, `Ponsel peserta tidak dapat membuka tautan dan kode QR ini: alamat ${base} hanya berlaku di komputer ini. Minta petugas TI mengatur alamat publik (public_url, lihat README).`);
  assert.equal(await warn.getAttribute('role'), 'alert');
  // the other loopback forms, and an address phones can reach
  const withLinks = (audience) => mod.evaluate((a) => {
    const c = window.tanya.client;
    const sess = c.view.session;
    c.view.session = { ...sess, join: { ...(sess.join || {}), url: a }, links: { ...sess.links, audience: a } };
    c.emit('change', { type: 'session' });
  }, audience);
  for (const [link, shown] of [['http://localhost:8080/j/ABC234', true], ['http://[::1]:8080/j/ABC234', true], ['http://127.1.2.3/j/ABC234', true],
    ['http://192.168.1.20:8080/j/ABC234', false], ['https://tanya.palembang.go.id/j/ABC234', false], ['http://127.0.0.1.nip.io/j/ABC234', false]]) {
    await withLinks(link);
    await mod.waitForFunction((on) => document.querySelector('#public-warning').hidden === !on, shown);
  }
  await withLinks('http://localhost:8080/j/ABC234');
  await mod.click('#lang-en');
  await warn.filter({ hasText: 'Ask the IT staff to set the public address (public_url, see the README).' }).waitFor();

  // /admin: the session links tell the public address
  const { page: admin } = await newPage(browser, { viewport: { width: 1100, height: 900 }, locale: 'id-ID' }, problems);
  await admin.goto(`${base}/admin`);
  assert.equal(await admin.isHidden('#public-warning'), true, 'nothing known before the token');
  await admin.fill('#admin-token', token);
  await admin.click('#token-save');
  await admin.locator('#sessions li').first().waitFor();
  const aw = admin.locator('#public-warning');
  await aw.waitFor();
  assert.equal(await aw.textContent(), `Ponsel peserta tidak dapat membuka tautan dan kode QR sesi: alamat ${base} hanya berlaku di komputer ini. Minta petugas TI mengatur alamat publik (public_url, lihat README).`);
  // the same list with a LAN address: no warning; with localhost or [::1]: the warning
  const list = await (await fetch(`${base}/api/sessions`, { headers: { Authorization: `Bearer ${token}` } })).json();
  for (const [origin, shown] of [['http://192.168.1.20:8080', false], ['http://localhost:8080', true], ['http://[::1]:8080', true]]) {
    await admin.route('**/api/sessions', (route) => route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ sessions: list.sessions.map((x) => ({ ...x, links: Object.fromEntries(Object.entries(x.links).map(([k, v]) => [k, v.replace(base, origin)])) })) }),
    }));
    await admin.click('#refresh-btn');
    await admin.waitForFunction((on) => document.querySelector('#public-warning').hidden === !on, shown);
    await admin.unroute('**/api/sessions');
  }
  assert.deepEqual(problems, []);
});

// ---- 7. wording --------------------------------------------------------------------------------
/** The string tables of a page, every function string called with sample values. */
async function tables(page, url) {
  return page.evaluate(async (u) => {
    const m = await import(u);
    const out = {};
    for (const [lang, table] of Object.entries(m.default)) {
      out[lang] = Object.fromEntries(Object.entries(table).map(([k, v]) => [k, typeof v === 'function' ? v({ n: 2, message: '' }) : v]));
    }
    return out;
  }, url);
}

/** Developer words no user-facing text may hold; "token" only as the admin token. */
function developerWords(text, lang) {
  const found = [];
  // Tracking codes (K7Q-M3X-R9T) are data: a segment may spell KEY or HUB.
  text = text.replace(/\b[2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{3}\b/g, '');
  if (/\bhub\b/i.test(text)) found.push('hub');
  if (text.includes('#k=')) found.push('#k=');
  if (text.includes('TANYA_')) found.push('TANYA_');
  if (lang !== 'en' && /\bkunci\b/i.test(text)) found.push('kunci');
  if (/\bkey\b/i.test(text)) found.push('key');
  const tokens = text.match(/\S*\s?token\s?\S*/gi) || [];
  for (const tk of tokens) if (!/token admin|admin token/i.test(tk)) found.push(`token: ${tk}`);
  if (lang !== 'en' && /antrian/i.test(text)) found.push('antrian (baku: antrean)');
  if (/Ditayangkan/.test(text)) found.push('Ditayangkan');
  return found;
}

/** The codes of the contract's error table (docs/protocol.md#errors) and of its HTTP errors. */
function contractErrorCodes() {
  const doc = fs.readFileSync(path.resolve(HERE, '../../docs/protocol.md'), 'utf8');
  const errors = doc.slice(doc.indexOf('\n## Errors'), doc.indexOf('\n## ', doc.indexOf('\n## Errors') + 5));
  const codes = new Set([...errors.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]));
  const http = doc.slice(doc.indexOf('- **Errors** are JSON'), doc.indexOf('\n- Every response carries'));
  for (const m of http.matchAll(/`\d{3} (\w+)`/g)) codes.add(m[1]);
  return [...codes];
}

test('wording: both languages complete, standard Indonesian, no developer words, the new button names', async () => {
  const { base } = await hub();
  const problems = [];
  const { page } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  await page.goto(`${base}/admin`);
  const mod = await tables(page, '/assets/moderator/strings.js');
  const adm = await tables(page, '/assets/admin/strings.js');
  for (const [name, tb] of [['moderator', mod], ['admin', adm]]) {
    assert.deepEqual(Object.keys(tb.en).sort(), Object.keys(tb.id).sort(), `${name}: English complete`);
    for (const lang of ['id', 'en']) {
      const bad = Object.entries(tb[lang]).flatMap(([k, v]) => developerWords(v, lang).map((w) => `${name}.${lang}.${k}: ${w} in “${v}”`));
      assert.deepEqual(bad, [], `${name} ${lang}`);
    }
  }
  // the buttons whose meaning the broadcast crew must not confuse
  assert.equal(mod.id['act.live'], 'Jawab sekarang');
  assert.equal(mod.en['act.live'], 'Answer now');
  assert.match(mod.id['overlay.take'], /^Tayangkan di TV\b/);
  assert.match(mod.id['overlay.clear'], /^Turunkan dari siaran\b/);
  assert.match(mod.en['overlay.take'], /^Show on TV\b/);
  assert.match(mod.en['overlay.clear'], /^Take off air\b/);
  assert.equal(mod.id['conn.connecting'], 'Menghubungkan…');
  assert.equal(mod.id['conn.online'], 'Terhubung');
  for (const k of ['count.approved', 'col.approved']) assert.equal(mod.id[k], 'Antrean');
  // every error code of the contract has its words, in both languages, on both pages
  const codes = contractErrorCodes();
  for (const c of ['invalid', 'forbidden', 'not_found', 'conflict', 'rate_limited', 'closed', 'banned', 'internal', 'unauthorized', 'unavailable']) {
    assert.ok(codes.includes(c), `docs/protocol.md lists ${c}`);
  }
  for (const c of [...codes, 'offline', 'disconnected', 'timeout', 'stopped']) {
    for (const lang of ['id', 'en']) assert.ok(mod[lang][`err.${c}`], `moderator err.${c} (${lang})`);
  }
  for (const c of [...codes, 'network']) for (const lang of ['id', 'en']) assert.ok(adm[lang][`err.${c}`], `admin err.${c} (${lang})`);
  for (const [k, v] of Object.entries(mod.id)) if (k.startsWith('err.')) assert.doesNotMatch(v, /\{message\}/, `${k} shows no server message in Indonesian`);
  for (const [k, v] of Object.entries(adm.id)) if (k.startsWith('err.')) assert.doesNotMatch(v, /\{message\}/, `${k} shows no server message in Indonesian`);
  assert.deepEqual(problems, []);
});

/** Everything a person reads on the page: text, placeholders, labels, titles, options. */
function visibleWords(page) {
  return page.evaluate(() => {
    const parts = [document.body.innerText, document.title];
    for (const el of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
      parts.push(el.getAttribute('placeholder') || '', el.getAttribute('aria-label') || '', el.getAttribute('title') || '');
    }
    for (const o of document.querySelectorAll('option')) parts.push(o.textContent);
    return parts.join('\n');
  });
}

test('wording on the pages: the console and /admin in Indonesian show no developer words; errors in Indonesian words', async () => {
  const { base, token } = await hub();
  const s = await createSession('Konsol: kata-kata');
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  const serverMessages = [];
  mod.on('websocket', (ws) => ws.on('framereceived', (f) => {
    try { const m = JSON.parse(f.payload); if (m.type === 'error') serverMessages.push(m.message); } catch { /* pass */ }
  }));
  await mod.goto(s.links.moderator);
  await online(mod);
  assert.equal(await mod.textContent('#conn-label'), 'Terhubung');
  await seed(mod, [{ text: 'Pertanyaan di antrean', approve: true }, { text: 'Pertanyaan yang dijawab', live: true }]);
  await card(mod, 'live', 'Pertanyaan yang dijawab').waitFor();
  await card(mod, 'approved', 'Pertanyaan di antrean').locator('[data-act=live]', { hasText: 'Jawab sekarang' }).waitFor();
  assert.match(await mod.textContent('#overlay-take'), /^Tayangkan di TV/);
  assert.match(await mod.textContent('#overlay-clear'), /^Turunkan dari siaran/);
  assert.equal(await mod.textContent('#h-approved span'), 'Antrean');
  const words = await visibleWords(mod);
  assert.deepEqual(developerWords(words, 'id'), [], 'console');
  assert.doesNotMatch(words, /\bLive\b/, 'no "Live" button');

  // a real `invalid` from the hub (a speaker that does not exist): Indonesian words, not the hub's English
  const id = await mod.evaluate(() => [...window.tanya.client.view.questions.values()].find((q) => q.status === 'approved').id);
  await mod.evaluate((qid) => window.tanya.act('assign', qid, 'no-such-speaker'), id);
  const notice = mod.locator('#notice:not([hidden])');
  await notice.waitFor();
  assert.equal(await notice.textContent(), 'Tidak diterima: ada isian yang kosong, terlalu panjang atau tidak sesuai. Periksa lalu coba lagi.');
  assert.ok(serverMessages.length >= 1 && serverMessages[0], 'the hub sent an English message');
  assert.ok(!(await notice.textContent()).includes(serverMessages[0]), 'the English message is not shown');
  // an unknown code: the code, never the message
  await mod.evaluate(() => window.tanya.client.emit('error', { type: 'error', code: 'something_new', message: 'Some English text' }));
  await mod.locator('#notice', { hasText: 'Gagal (kode something_new). Coba lagi.' }).waitFor();

  // /admin
  const { page: admin } = await newPage(browser, { viewport: { width: 1100, height: 900 }, locale: 'id-ID' }, problems);
  await admin.goto(`${base}/admin`);
  await admin.fill('#admin-token', token);
  await admin.click('#token-save');
  await admin.locator('#sessions li').first().waitFor();
  assert.equal(await admin.textContent('label[for=admin-token]'), 'Token admin');
  assert.deepEqual(developerWords(await visibleWords(admin), 'id'), [], 'admin');
  // a real 400 from the hub (a speaker name over 100 characters): Indonesian words
  await admin.fill('#new-title', 'Nama narasumber terlalu panjang');
  await admin.click('#add-speaker');
  await admin.locator('.speaker-row [name=speaker-name]').evaluate((el) => { el.value = 'N'.repeat(150); });
  await admin.fill('.speaker-row [name=speaker-role]', 'Kepala Dinas');
  await admin.click('#create-btn');
  const err = admin.locator('#admin-error:not([hidden])');
  await err.waitFor();
  assert.equal(await err.textContent(), 'Tidak diterima: ada isian yang kosong, terlalu panjang atau tidak sesuai. Periksa lalu coba lagi.');
  assert.deepEqual(problems.filter((p) => !/^console: Failed to load resource: .*\b400\b/.test(p)), []);
});
