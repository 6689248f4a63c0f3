// The radio desk /desk/{id}#k=KEY (issue #12): staff type in questions phoned in, sent by
// SMS/WhatsApp or asked on air. Entries with station, channel, caller and place reach the
// moderators (`via: desk`, the station, the contact); the desk sees its own entries with their
// status and tracking code, never anyone else's question nor the caller's number once sent, and
// may do nothing but enter. An entry typed offline is kept and sent on reconnect (also after the
// page was closed). A refused number comes back into the form; paused and closed sessions are said.
// A wrong key is explained. Screenshots desk.png (1280x800), desk-phone.png (360x740).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, createSession, newPage, online, BASE } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const DESK = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };
const CONSOLE = { width: 1440, height: 900 };
const TRACKING = /^[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}$/;
const STATIONS = ['RRI Palembang', 'Sonora FM Palembang', 'PalTV']; // the hub's default `desk.stations`

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

/** A page that also records CSP violations. */
async function page(opts, problems) {
  const { ctx, page: p } = await newPage(browser, { locale: 'id-ID', ...opts }, problems);
  await p.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => { (window.__csp ||= []).push(`${e.violatedDirective} ${e.blockedURI}`); });
  });
  return { ctx, page: p };
}
const csp = (p) => p.evaluate(() => window.__csp || []);
const view = (p) => p.evaluate(() => [...window.tanya.client.view.questions.values()]);
const find = (p, text) => p.evaluate((t) => [...window.tanya.client.view.questions.values()].find((q) => q.text === t) || null, text);
const send = (p, frame) => p.evaluate((f) => window.tanya.client.send(f).then((ok) => ({ ok: true, ...ok }), (e) => ({ ok: false, code: e.code })), frame);
/** Everything a person can read on the page, options and labels included. */
const readable = (p) => p.evaluate(() => [
  document.title, document.body.innerText,
  ...[...document.querySelectorAll('[aria-label], [title], [placeholder]')].map((el) => `${el.getAttribute('aria-label') || ''} ${el.title || ''} ${el.getAttribute('placeholder') || ''}`),
  ...[...document.querySelectorAll('input, textarea')].map((el) => el.value),
].join('\n'));
const entry = (desk, text) => desk.locator('#entries li[data-qid]', { has: desk.locator('[data-field=text]', { hasText: text }) });

async function options() {
  const r = await fetch(`${BASE}/api/followup/options`);
  assert.equal(r.status, 200, 'GET /api/followup/options');
  return r.json();
}

/** Fill the per-caller fields of the desk form. */
async function fill(desk, { channel, name, contact, kecamatan, kelurahan, topic, text }) {
  if (channel) await desk.check(`#channel-${channel}`);
  if (name !== undefined) await desk.fill('#caller-name', name);
  if (contact !== undefined) await desk.fill('#caller-contact', contact);
  if (kecamatan) await desk.selectOption('#kecamatan', kecamatan);
  if (kelurahan) await desk.selectOption('#kelurahan', kelurahan);
  if (topic) await desk.selectOption('#topic', topic);
  if (text !== undefined) await desk.fill('#question-text', text);
}

test('the desk enters questions; the console sees them as desk entries; the desk follows their status and sees nothing else', async () => {
  const s = await createSession('Dialog interaktif RRI');
  assert.ok(s.keys && typeof s.keys.desk === 'string' && s.keys.desk.length >= 16, 'the session has a desk key');
  assert.equal(new URL(s.links.desk).pathname, `/desk/${s.session.id}`);
  assert.equal(new URL(s.links.desk).hash, `#k=${s.keys.desk}`);
  const opts = await options();
  const place = opts.places.find((p) => Array.isArray(p.kelurahan) && p.kelurahan.length >= 2) || opts.places[0];
  const topic = opts.topics[0];
  const problems = [];
  const { page: desk } = await page({ viewport: DESK }, problems);
  const { page: mod } = await page({ viewport: CONSOLE }, problems);
  const { page: phone } = await page({ viewport: PHONE }, problems);
  await mod.addInitScript(() => localStorage.setItem('tanya:moderator-name', 'Uji'));
  const deskFrames = [];
  desk.on('websocket', (ws) => ws.on('framereceived', (f) => deskFrames.push(String(f.payload))));

  await desk.goto(s.links.desk);
  await online(desk);
  assert.equal(await desk.evaluate(() => location.hash), '', 'the key is taken out of the address bar');
  assert.equal(await desk.evaluate(() => document.documentElement.lang), 'id');
  assert.equal(await desk.textContent('#form-heading'), 'Masukkan pertanyaan');
  assert.equal(await desk.textContent('#session-title'), 'Dialog interaktif RRI');
  assert.equal(await desk.textContent('#caller-contact-hint'),
    'Nomor ini bersifat pribadi: hanya dilihat oleh humas dan instansi yang menindaklanjuti, tidak ditampilkan di layar, di siaran, atau di halaman ini setelah dikirim.');
  // channels and stations
  assert.deepEqual(await desk.$$eval('input[name=channel]', (rs) => rs.map((r) => [r.value, r.checked, r.closest('label').textContent.trim()])),
    [['phone', true, 'Telepon'], ['sms', false, 'SMS'], ['whatsapp', false, 'WhatsApp'], ['radio', false, 'Radio'], ['room', false, 'Di lokasi']]);
  assert.deepEqual(await desk.$$eval('#station option', (os) => os.slice(1).map((o) => o.value)), STATIONS, 'the stations of the welcome');
  assert.equal(await desk.inputValue('#station'), '', 'no station until one is chosen');
  await desk.selectOption('#station', 'Sonora FM Palembang');
  assert.equal(await desk.evaluate(() => localStorage.getItem('tanya:desk-station')), 'Sonora FM Palembang');
  // places and topics from /api/followup/options
  await desk.waitForFunction(() => document.querySelectorAll('#kecamatan option').length > 1);
  assert.deepEqual(await desk.$$eval('#kecamatan option', (os) => os.slice(1).map((o) => o.value)), opts.places.map((p) => p.kecamatan));
  assert.deepEqual(await desk.$$eval('#topic option', (os) => os.slice(1).map((o) => o.value)), opts.topics);
  assert.ok(await desk.locator('#kelurahan').isDisabled(), 'kelurahan waits for a kecamatan');

  // 1: a phone call. Enter in a line moves on, Enter in the question box is a new line; neither sends.
  const text1 = 'Kapan jalan di Jalan Kapten Rivai diperbaiki?';
  await desk.fill('#caller-name', 'Pak Darmawan');
  await desk.focus('#caller-name');
  await desk.keyboard.press('Enter');
  assert.equal(await desk.evaluate(() => document.activeElement.id), 'caller-contact', 'Enter in the name moves to the number');
  await desk.keyboard.type('081298765432');
  await desk.keyboard.press('Enter');
  await fill(desk, { kecamatan: place.kecamatan, kelurahan: place.kelurahan[0], topic });
  await desk.focus('#question-text');
  await desk.keyboard.type('Kapan jalan di Jalan Kapten Rivai');
  await desk.keyboard.press('Enter');
  await desk.waitForTimeout(300);
  assert.equal(await desk.inputValue('#question-text'), 'Kapan jalan di Jalan Kapten Rivai\n', 'Enter in the question box is a new line');
  assert.equal(await desk.locator('#entries li').count(), 0, 'nothing sent by Enter');
  assert.equal(await desk.inputValue('#caller-contact'), '081298765432');
  await desk.fill('#question-text', text1);
  assert.equal(await desk.textContent('#char-count'), `${text1.length}/300`);
  await desk.keyboard.press('Control+Enter');
  const e1 = entry(desk, text1);
  await e1.waitFor();
  await desk.locator('#last-tracking:not([hidden])').waitFor();
  const code1 = await desk.textContent('#last-tracking-code');
  assert.match(code1, TRACKING);
  assert.equal(await desk.textContent('#last-tracking .last-label'), 'Kode lacak untuk penelepon');
  assert.equal(await desk.textContent('#enter-status'), 'Terkirim ke humas. Bacakan kode lacak kepada penelepon.');
  assert.equal(await e1.locator('[data-field=tracking]').textContent(), code1);
  assert.equal(await e1.locator('[data-field=status]').textContent(), 'Menunggu');
  assert.equal(await e1.getAttribute('data-status'), 'pending');
  assert.equal(await e1.locator('[data-field=via]').textContent(), 'Sonora FM Palembang · Telepon');
  assert.equal(await e1.locator('[data-field=name]').textContent(), 'Pak Darmawan');
  // the form keeps the station and the channel, empties the rest, and is ready for the next caller
  assert.equal(await desk.inputValue('#station'), 'Sonora FM Palembang');
  assert.equal(await desk.isChecked('#channel-phone'), true);
  for (const sel of ['#caller-name', '#caller-contact', '#question-text', '#kecamatan', '#topic']) assert.equal(await desk.inputValue(sel), '', `${sel} emptied`);
  assert.equal(await desk.evaluate(() => document.activeElement.id), 'caller-name');

  // 2: an SMS, sent with the button
  const text2 = 'Bagaimana cara mendaftar pelatihan kerja gratis dari Disnaker?';
  await fill(desk, { channel: 'sms', name: 'Ibu Sari', contact: '+6281311112222', topic: opts.topics[1] || topic, text: text2 });
  await desk.click('#enter-btn');
  const e2 = entry(desk, text2);
  await e2.locator('[data-field=tracking]').filter({ hasText: TRACKING }).waitFor();
  const code2 = await e2.locator('[data-field=tracking]').textContent();
  assert.notEqual(code2, code1);
  await desk.waitForFunction((c) => document.querySelector('#last-tracking-code').textContent === c, code2);
  assert.equal(await e2.locator('[data-field=via]').textContent(), 'Sonora FM Palembang · SMS');
  assert.equal(await desk.isChecked('#channel-sms'), true, 'the channel stays');
  // newest first
  assert.deepEqual(await desk.$$eval('#entries li [data-field=text]', (ps) => ps.map((p) => p.textContent)), [text2, text1]);
  // copy the code for the caller
  await e1.locator('[data-act=copy-tracking]').click();
  await desk.waitForFunction(() => [...document.querySelectorAll('[data-act=copy-tracking]')].some((b) => b.textContent === 'Disalin'));

  // the desk's own view: desk entries with tracking and station, never the caller's number
  const dv = await view(desk);
  assert.equal(dv.length, 2);
  for (const q of dv) {
    assert.ok(!('contact' in q), 'the desk view has no contact');
    assert.match(q.tracking, TRACKING);
    assert.equal(q.station, 'Sonora FM Palembang');
  }
  const deskWords = await readable(desk);
  for (const n of ['081298765432', '81298765432', '6281311112222', '81311112222']) assert.ok(!deskWords.includes(n), `the desk page never shows ${n}`);
  assert.ok(!deskFrames.some((f) => f.includes('81298765432') || f.includes('81311112222')), 'no frame to the desk carries a caller number');
  assert.ok(!JSON.stringify(await desk.evaluate(() => ({ ...localStorage }))).includes('81298765432'), 'nothing kept in localStorage once sent');

  // the console: desk entries, with the station and the contact
  await mod.goto(s.links.moderator);
  await online(mod);
  await mod.waitForFunction((ts) => ts.every((t) => [...window.tanya.client.view.questions.values()].some((q) => q.text === t)), [text1, text2]);
  const m1 = await find(mod, text1);
  const m2 = await find(mod, text2);
  assert.equal(m1.via, 'desk');
  assert.equal(m2.via, 'desk');
  assert.equal(m1.station, 'Sonora FM Palembang');
  assert.equal(m1.contact, '081298765432');
  assert.equal(m2.contact, '+6281311112222');
  assert.equal(m1.channel, 'phone');
  assert.equal(m2.channel, 'sms');
  assert.equal(m1.name, 'Pak Darmawan');
  assert.deepEqual(m1.place, { kecamatan: place.kecamatan, kelurahan: place.kelurahan[0] });
  assert.equal(m1.topic, topic);
  assert.equal(m1.tracking, code1);
  assert.equal(m2.tracking, code2);
  assert.equal(m1.source, 'operator');

  // a question from a phone, approved: never on the desk
  await phone.goto(s.links.audience);
  await online(phone);
  const phoneText = 'Pertanyaan dari ponsel di ruangan, bukan dari meja radio';
  await phone.evaluate((t) => window.tanya.client.submit({ type: 'ask', text: t }), phoneText);
  await mod.waitForFunction((t) => [...window.tanya.client.view.questions.values()].some((q) => q.text === t), phoneText);
  const pq = await find(mod, phoneText);
  assert.equal(pq.via, null, 'a phone question has no via');
  assert.equal((await send(mod, { type: 'approve', question: pq.id, rev: pq.rev })).ok, true);

  // the console approves one entry and rejects the other with a reason: the desk follows
  assert.equal((await send(mod, { type: 'approve', question: m1.id, rev: m1.rev })).ok, true);
  await desk.locator(`#entries li[data-qid="${m1.id}"][data-status=approved]`).waitFor();
  assert.equal(await e1.locator('[data-field=status]').textContent(), 'Disetujui');
  assert.equal((await send(mod, { type: 'reject', question: m2.id, rev: m2.rev, reason: 'Di luar topik dialog' })).ok, true);
  await desk.locator(`#entries li[data-qid="${m2.id}"][data-status=rejected]`).waitFor();
  assert.equal(await e2.locator('[data-field=status]').textContent(), 'Ditolak');
  assert.equal(await e2.locator('[data-field=reason]').textContent(), 'Alasan: Di luar topik dialog');
  assert.ok(await e2.locator('[data-field=reason]').isVisible());
  const cur1 = await find(mod, text1);
  assert.equal((await send(mod, { type: 'live', question: m1.id, rev: cur1.rev })).ok, true);
  await desk.locator(`#entries li[data-qid="${m1.id}"][data-status=live]`).waitFor();
  assert.equal(await e1.locator('[data-field=status]').textContent(), 'Sedang dijawab');
  // by now the phone's approved question has reached every page that may see it: not the desk
  await phone.locator('#questions li', { hasText: phoneText }).waitFor();
  assert.equal((await view(desk)).length, 2, 'the desk view holds its two entries only');
  assert.ok(!(await view(desk)).some((q) => q.text === phoneText));
  assert.ok(!(await readable(desk)).includes(phoneText), 'the phone question is not on the desk page');
  assert.ok(!deskFrames.some((f) => f.includes(phoneText)), 'nor in any frame to the desk');
  const cur1b = await find(mod, text1);
  assert.equal((await send(mod, { type: 'answered', question: m1.id, rev: cur1b.rev })).ok, true);
  await desk.locator(`#entries li[data-qid="${m1.id}"][data-status=answered]`).waitFor();
  assert.equal(await e1.locator('[data-field=status]').textContent(), 'Sudah dijawab');

  // the desk may only enter: every other command is refused
  for (const frame of [
    { type: 'approve', question: m2.id },
    { type: 'reject', question: m1.id, reason: 'x' },
    { type: 'edit', question: m2.id, text: 'diubah' },
    { type: 'live', question: m2.id },
    { type: 'overlay', visible: true },
    { type: 'vote', question: pq.id, on: true },
    { type: 'ask', text: 'Bertanya sebagai ponsel?' },
  ]) {
    const r = await send(desk, frame);
    assert.deepEqual(r, { ok: false, code: 'forbidden' }, `${frame.type} from the desk`);
  }
  const after = await find(mod, text2);
  assert.equal(after.status, 'rejected', 'the refused approve changed nothing');
  assert.equal(after.text, text2);

  // a third entry still in the queue for the screenshot, then the page as it is
  await fill(desk, { channel: 'radio', name: 'Pendengar di Plaju', text: 'Apakah ada rencana menambah bus Trans Musi ke daerah Plaju?' });
  await desk.click('#enter-btn');
  await entry(desk, 'Trans Musi').locator('[data-field=tracking]').filter({ hasText: TRACKING }).waitFor();
  assert.equal(await entry(desk, 'Trans Musi').locator('[data-field=via]').textContent(), 'Sonora FM Palembang · Radio');
  await desk.evaluate(() => document.activeElement && document.activeElement.blur());
  await desk.screenshot({ path: path.join(OUT, 'desk.png') });

  // layout at 1280 x 800: the form and the entries side by side, no horizontal scroll
  const box = await desk.evaluate(() => {
    const f = document.querySelector('#desk-form').getBoundingClientRect();
    const e = document.querySelector('#entries-section').getBoundingClientRect();
    return { scroll: document.scrollingElement.scrollWidth, formRight: f.right, entriesLeft: e.left, top: Math.abs(f.top - e.top) };
  });
  assert.ok(box.scroll <= DESK.width, `scrollWidth ${box.scroll}`);
  assert.ok(box.entriesLeft >= box.formRight, 'entries beside the form');
  assert.ok(box.top < 2, 'both start at the same height');

  assert.deepEqual(await csp(desk), []);
  assert.deepEqual(problems, []);
});

test('offline: an entry is kept on the device and sent once when back, also after the page was closed', async () => {
  const s = await createSession('Meja radio tanpa jaringan');
  const problems = [];
  const { ctx, page: desk } = await page({ viewport: DESK }, problems);
  await desk.goto(s.links.desk);
  await online(desk);
  await desk.selectOption('#station', 'RRI Palembang');
  const box = `tanya:outbox:desk:${s.session.id}`;

  // A: typed while the network is gone, sent on the same page when it is back
  await ctx.setOffline(true);
  await desk.waitForSelector('#conn:is([data-state=offline], [data-state=waiting], [data-state=reconnecting])');
  assert.equal(await desk.textContent('#conn-label') !== 'Terhubung', true);
  const textA = 'Penelepon bertanya soal jadwal pemadaman listrik bergilir';
  await fill(desk, { name: 'Pak Yusuf', contact: '081377778888', text: textA });
  await desk.keyboard.press('Control+Enter');
  const qa = desk.locator('#entries li[data-ref][data-status=queued]', { hasText: textA });
  await qa.waitFor();
  assert.equal(await qa.locator('[data-field=status]').textContent(), 'Menunggu koneksi');
  assert.equal(await qa.locator('[data-field=via]').textContent(), 'RRI Palembang · Telepon');
  assert.equal(await desk.textContent('#enter-status'), 'Belum terhubung. Pertanyaan disimpan di perangkat ini dan dikirim otomatis setelah terhubung.');
  assert.equal(await desk.inputValue('#question-text'), '', 'the form is free for the next caller');
  const stored = await desk.evaluate((k) => JSON.parse(localStorage.getItem(k) || '[]'), box);
  assert.equal(stored.length, 1, `kept in localStorage ${box}`);
  assert.equal(stored[0].cmd.type, 'enter');
  assert.equal(stored[0].cmd.text, textA);
  assert.equal(stored[0].cmd.station, 'RRI Palembang');
  assert.equal(await desk.evaluate((id) => localStorage.getItem(`tanya:outbox:${id}`), s.session.id), null, 'not in the console\'s outbox of this session');
  await ctx.setOffline(false);
  await online(desk);
  const ea = entry(desk, textA);
  await ea.locator('[data-field=tracking]').filter({ hasText: TRACKING }).waitFor();
  await desk.waitForFunction(() => document.querySelector('#enter-status').dataset.kind === 'ok');
  assert.equal(await desk.evaluate((k) => localStorage.getItem(k), box), null, 'the outbox is empty once sent');

  // B: typed offline, the page closed, opened again online: sent then, once
  await ctx.setOffline(true);
  await desk.waitForSelector('#conn:not([data-state=online])');
  const textB = 'Pendengar SMS: kapan pasar Cinde selesai dibangun?';
  await fill(desk, { channel: 'sms', text: textB });
  await desk.click('#enter-btn');
  await desk.locator('#entries li[data-ref][data-status=queued]', { hasText: textB }).waitFor();
  await desk.close();
  await ctx.setOffline(false);
  const again = await ctx.newPage();
  again.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  again.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await again.goto(s.links.desk);
  await online(again);
  await entry(again, textB).locator('[data-field=tracking]').filter({ hasText: TRACKING }).waitFor();
  assert.equal(await again.textContent('#enter-status'), 'Pertanyaan yang tersimpan sudah terkirim. Kode lacaknya ada di Entri saya.');
  assert.equal(await again.inputValue('#station'), 'RRI Palembang', 'the station is remembered');
  // a dropped connection resumes without sending anything twice
  await again.evaluate(() => window.tanya.client.dropConnection());
  await online(again);
  await again.waitForTimeout(500);
  const v = await view(again);
  assert.deepEqual(v.map((q) => q.text).sort(), [textA, textB].sort(), 'each entry once');
  assert.equal(await again.locator('#entries li').count(), 2);
  assert.equal(await again.evaluate((k) => localStorage.getItem(k), box), null);
  assert.deepEqual(problems, []);
});

test('a wrong key, a link without a key and an unknown session are explained', async () => {
  const s = await createSession('Meja radio kunci salah');
  const problems = [];
  const { page: p } = await page({ viewport: DESK }, problems);
  await p.goto(`${BASE}/desk/${s.session.id}#k=${'x'.repeat(24)}`);
  await p.locator('#fatal:not([hidden])').waitFor();
  assert.equal(await p.textContent('#fatal-heading'), 'Meja radio tidak dapat dibuka');
  assert.equal(await p.textContent('#fatal-text'), 'Tautan meja radio ini tidak berlaku. Minta tautan yang benar kepada humas.');
  assert.ok(await p.locator('#desk-form').isHidden(), 'no form');
  assert.equal(await p.getAttribute('#conn', 'data-state'), 'stopped');
  // the moderator's key does not open the desk either
  await p.goto(`${BASE}/desk/${s.session.id}#k=${s.keys.moderator}`);
  await p.reload();
  await p.locator('#fatal:not([hidden])').waitFor();
  assert.equal(await p.textContent('#fatal-text'), 'Tautan meja radio ini tidak berlaku. Minta tautan yang benar kepada humas.');
  // in English
  await p.click('#lang-en');
  assert.equal(await p.textContent('#fatal-text'), 'This radio desk link is not valid. Ask the public relations office for the right link.');
  await p.click('#lang-id');
  // no key at all (a fresh tab: nothing kept in sessionStorage)
  const { page: q } = await page({ viewport: DESK }, problems);
  await q.goto(`${BASE}/desk/${s.session.id}`);
  await q.locator('#fatal:not([hidden])').waitFor();
  assert.match(await q.textContent('#fatal-text'), /^Tautan ini tidak lengkap\./);
  // an unknown session
  await q.goto(`${BASE}/desk/00000000-0000-4000-8000-000000000000#k=${s.keys.desk}`);
  await q.locator('#fatal:not([hidden])').waitFor();
  assert.equal(await q.textContent('#fatal-text'), 'Sesi ini tidak ditemukan. Periksa tautan dari humas.');
  assert.deepEqual(await csp(p), []);
  assert.deepEqual(problems, []);
});

test('English, and usable on a phone (360 x 740)', async () => {
  const s = await createSession('Dialog Wong Kito di PalTV');
  const problems = [];
  const { page: p } = await page({ viewport: PHONE, hasTouch: true, isMobile: true }, problems);
  await p.goto(`${s.links.desk.replace(/#.*/, '')}?lang=en${new URL(s.links.desk).hash}`);
  await online(p);
  assert.equal(await p.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await p.textContent('#form-heading'), 'Enter a question');
  assert.equal(await p.textContent('#entries-heading [data-i18n]'), 'My entries');
  assert.equal(await p.textContent('label[for=caller-contact] [data-i18n]'), 'Caller’s number');
  assert.match(await p.textContent('#caller-contact-hint'), /^This number is private/);
  assert.equal(await p.textContent('label:has(#channel-room) span'), 'On site');
  await p.selectOption('#station', 'PalTV');
  await fill(p, { channel: 'whatsapp', name: 'Rina', contact: '085266667777', text: 'When will the flood pumps in Lemabang be repaired?' });
  await p.tap('#enter-btn');
  const e = entry(p, 'flood pumps');
  await e.locator('[data-field=tracking]').filter({ hasText: TRACKING }).waitFor();
  assert.equal(await e.locator('[data-field=status]').textContent(), 'Waiting');
  assert.equal(await e.locator('[data-field=via]').textContent(), 'PalTV · WhatsApp');
  assert.equal(await p.textContent('#last-tracking .last-label'), 'Tracking code for the caller');
  // fits: no horizontal scroll, nothing sticks out, touch targets of the form at least 40 px high
  const fit = await p.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    out: [...document.querySelectorAll('#app *')].filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > innerWidth + 0.5).map((el) => el.id || el.className || el.tagName),
    small: [...document.querySelectorAll('#desk-form button, #desk-form select, #desk-form input:not([type=radio]), .seg-radio label, #entries button')]
      .filter((el) => el.getClientRects().length && el.getBoundingClientRect().height < 40).map((el) => el.id || el.className || el.tagName),
  }));
  assert.ok(fit.scroll <= PHONE.width, `scrollWidth ${fit.scroll}`);
  assert.deepEqual(fit.out, []);
  assert.deepEqual(fit.small, []);
  await p.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  await p.screenshot({ path: path.join(OUT, 'desk-phone.png') });
  // switching back to Bahasa Indonesia on the page
  await p.tap('#lang-id');
  assert.equal(await p.textContent('#form-heading'), 'Masukkan pertanyaan');
  assert.equal(await e.locator('[data-field=status]').textContent(), 'Menunggu');
  assert.equal(await e.locator('[data-field=via]').textContent(), 'PalTV · WhatsApp');
  assert.deepEqual(await csp(p), []);
  assert.deepEqual(problems, []);
});

test('a number the hub refuses: nothing lost, the field named; a paused and a closed session', async () => {
  const s = await createSession('Meja radio nomor salah');
  const problems = [];
  const { page: desk } = await page({ viewport: DESK }, problems);
  await desk.goto(s.links.desk);
  await online(desk);
  const text = 'Kapan pendaftaran sekolah negeri dibuka tahun ini?';
  await fill(desk, { channel: 'whatsapp', name: 'Bu Lina', contact: 'bukan nomor', text });
  await desk.keyboard.press('Control+Enter');
  await desk.locator('#enter-status[data-kind=bad]').waitFor();
  assert.equal(await desk.textContent('#enter-status'),
    'Pertanyaan belum terkirim: Nomor penanya tidak dapat diterima. Tulis nomor yang diawali 08, 62 atau +62 (9 sampai 15 angka), atau alamat e-mail yang lengkap. Isiannya dikembalikan ke formulir.');
  assert.equal(await desk.getAttribute('#caller-contact', 'aria-invalid'), 'true');
  assert.equal(await desk.evaluate(() => document.activeElement.id), 'caller-contact');
  assert.equal(await desk.inputValue('#question-text'), text, 'the question is back in the form');
  assert.equal(await desk.inputValue('#caller-name'), 'Bu Lina');
  assert.equal(await desk.inputValue('#caller-contact'), 'bukan nomor');
  assert.equal(await desk.isChecked('#channel-whatsapp'), true);
  assert.equal(await desk.locator('#entries li').count(), 0, 'no entry, none left in the outbox');
  assert.equal(await desk.evaluate((id) => localStorage.getItem(`tanya:outbox:desk:${id}`), s.session.id), null);
  // corrected, it goes
  await desk.fill('#caller-contact', '0812 3456 7890');
  assert.equal(await desk.getAttribute('#caller-contact', 'aria-invalid'), null, 'typing clears the mark');
  await desk.keyboard.press('Control+Enter');
  await entry(desk, text).locator('[data-field=tracking]').filter({ hasText: TRACKING }).waitFor();

  // paused: the desk is told, and may still enter; closed: told, and the button is off
  const { page: mod } = await page({ viewport: CONSOLE }, problems);
  await mod.addInitScript(() => localStorage.setItem('tanya:moderator-name', 'Uji'));
  await mod.goto(s.links.moderator);
  await online(mod);
  assert.equal((await send(mod, { type: 'session', status: 'paused' })).ok, true);
  await desk.locator('#session-status[data-status=paused]:not([hidden])').waitFor();
  assert.equal(await desk.textContent('#session-status'), 'Sesi sedang dijeda. Pertanyaan tetap dapat dimasukkan dan menunggu pemeriksaan humas.');
  await fill(desk, { text: 'Pertanyaan saat sesi dijeda' });
  await desk.click('#enter-btn');
  await entry(desk, 'saat sesi dijeda').locator('[data-field=tracking]').filter({ hasText: TRACKING }).waitFor();
  assert.equal((await send(mod, { type: 'session', status: 'closed' })).ok, true);
  await desk.locator('#session-status[data-status=closed]:not([hidden])').waitFor();
  assert.equal(await desk.textContent('#session-status'), 'Sesi ini sudah ditutup. Pertanyaan baru tidak dapat dimasukkan lagi.');
  assert.ok(await desk.locator('#enter-btn').isDisabled());
  assert.deepEqual(await send(desk, { type: 'enter', ref: 'desk-closed-1', text: 'Masih bisa?', channel: 'phone' }), { ok: false, code: 'closed' });
  assert.deepEqual(problems, []);
});
