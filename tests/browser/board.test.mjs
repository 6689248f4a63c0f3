// The public follow-up board /tindak-lanjut: the totals, the table per agency (median days), the
// table per programme (newest first) and the public cases equal what was created through the
// consoles and the case API; never a name or contact in the page or in any response it received;
// readable on a laptop and on a phone (tables stack, no horizontal scroll); a failed load offers
// "Coba lagi"; English with ?lang=en.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, hub, createSession, newPage, online } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const DESK = { viewport: { width: 1280, height: 900 }, locale: 'id-ID' };
const PHONE = { viewport: { width: 360, height: 740 }, locale: 'id-ID', deviceScaleFactor: 2 };
const KEYS = ['received', 'answered_on_air', 'forwarded', 'resolved', 'declined', 'overdue'];

const NAMES = ['Siti Rahmawati Zulkarnain', 'Rudi Hartono Wijaya', 'Bambang Sutejo Prawiro'];
const CONTACTS = ['081377712345', 'rudi.hartono.w@example.com', '+6285266601234'];
const STAFF = ['Ahmad Fauzi Nasution', 'Dewi Lestari Humas'];
const SECRETS = [...NAMES, ...CONTACTS, ...STAFF];

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

// ---- helpers of this file --------------------------------------------------------------------
async function api(method, p, body, token) {
  const { base, token: admin } = await hub();
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token ?? admin}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

/** createSession's answer as {id, code, title, links} whatever its nesting. */
async function newSession(title, speakers) {
  const r = await createSession(title, speakers);
  const info = r.session || r;
  return { ...info, links: r.links };
}

async function must(method, p, body, token, want = 200) {
  const r = await api(method, p, body, token);
  assert.equal(r.status, want, `${method} ${p} ${JSON.stringify(body)} → ${r.status} ${r.text}`);
  return r.body;
}

function send(page, cmd) {
  return page.evaluate((c) => window.tanya.client.send(c).catch((e) => ({ failed: e })), cmd).then((r) => {
    if (r && r.failed) throw new Error(`${cmd.type}: ${JSON.stringify(r.failed)}`);
    return r;
  });
}

/** An operator entry with a name and a contact; {id, tracking, text}. */
async function enter(mod, text, i, extra = {}) {
  const ok = await send(mod, { type: 'enter', text, name: NAMES[i % NAMES.length], contact: CONTACTS[i % CONTACTS.length], channel: 'sms', ...extra });
  return { id: ok.question.id, tracking: ok.tracking, text };
}

async function openConsole(s, problems) {
  const { ctx, page } = await newPage(browser, DESK, problems);
  await page.goto(s.links.moderator);
  await online(page);
  return { ctx, page };
}

const board = async () => must('GET', '/api/board', undefined, '');

function recordResponses(page) {
  const bodies = [];
  page.on('response', async (r) => { try { bodies.push({ url: r.url(), text: await r.text() }); } catch { /* none */ } });
  return bodies;
}

/** The numbers as the page shows them: digits only ("1.234" → 1234). */
const figure = (s) => Number(String(s).replace(/[^\d]/g, ''));

// ---- the data ----------------------------------------------------------------------------------
/** Two programmes: A (older) and B (newer), two agencies; returns what the board must show. */
async function setUp(problems) {
  const before = await board();
  const suffix = Math.random().toString(36).slice(2, 7);
  const x = await must('POST', '/api/agencies', { name: 'Dinas Pekerjaan Umum dan Penataan Ruang', short: 'PUPR', id: `pupr-${suffix}` }, undefined, 201);
  const y = await must('POST', '/api/agencies', { name: 'Dinas Lingkungan Hidup', short: 'DLH', id: `dlh-${suffix}` }, undefined, 201);
  const by = STAFF[1];

  const a = await newSession(`Dialog Wong Kito #11: Kebersihan ${suffix}`);
  const { ctx: ca, page: ma } = await openConsole(a, problems);
  const a1 = await enter(ma, 'Kapan pasar Cinde selesai dibangun kembali?', 0);
  await send(ma, { type: 'approve', question: a1.id });
  await send(ma, { type: 'answered', question: a1.id });
  const a2 = await enter(ma, 'Lampu jalan di Jalan Angkatan 45 mati sejak dua minggu.', 1, { place: { kecamatan: 'Ilir Barat I' }, topic: 'jalan' });
  await must('POST', `/api/cases/${a2.id}`, { action: 'forward', agency: x.id, by });
  await must('POST', `/api/agency/${x.id}/cases/${a2.id}`, { action: 'resolve', answer: 'Lampu sudah diganti oleh petugas PJU.', by: STAFF[0] }, x.key);
  await enter(ma, 'Bagaimana cara mendaftar bantuan sosial?', 2);
  await ca.close();

  const b = await newSession(`Dialog Wong Kito #12: Banjir ${suffix}`);
  const { ctx: cb, page: mb } = await openConsole(b, problems);
  const b4 = await enter(mb, 'Saluran air di Jalan Mayor Ruslan tersumbat, rumah warga kebanjiran.', 0, { place: { kecamatan: 'Ilir Timur I', kelurahan: '15 Ilir' }, topic: 'banjir' });
  await must('POST', `/api/cases/${b4.id}`, { action: 'forward', agency: y.id, due: '2024-01-15', by });
  await must('POST', `/api/cases/${b4.id}`, { action: 'publish', public: true, by });
  const b5 = await enter(mb, 'Apakah ada lomba kebersihan kampung tahun ini?', 1);
  await must('POST', `/api/cases/${b5.id}`, { action: 'decline', reason: 'Bukan keluhan layanan.', by });
  const b6 = await enter(mb, 'Jalan di depan SD Negeri Bukit Lama berlubang besar, kapan diperbaiki?', 2, { place: { kecamatan: 'Ilir Barat I', kelurahan: 'Bukit Lama' }, topic: 'jalan' });
  const answer6 = 'Perbaikan dijadwalkan minggu depan oleh tim UPTD Jalan.';
  await must('POST', `/api/cases/${b6.id}`, { action: 'forward', agency: x.id, due: '2099-12-31', by });
  await must('POST', `/api/agency/${x.id}/cases/${b6.id}`, { action: 'acknowledge', by: STAFF[0] }, x.key);
  await must('POST', `/api/agency/${x.id}/cases/${b6.id}`, { action: 'resolve', answer: answer6, by: STAFF[0] }, x.key);
  await must('POST', `/api/cases/${b6.id}`, { action: 'publish', public: true, by });
  const b7 = await enter(mb, 'Kapan normalisasi Sungai Bendung dimulai?', 0, { topic: 'banjir' });
  await send(mb, { type: 'approve', question: b7.id });
  await send(mb, { type: 'answered', question: b7.id });
  await must('POST', `/api/cases/${b7.id}`, { action: 'forward', agency: x.id, due: '2099-12-31', by });
  await cb.close();

  // A: a1 on air, a2 forwarded + resolved, a3 left.  B: b4 forwarded past due, b5 declined,
  // b6 forwarded + resolved, b7 on air + forwarded.
  const counts = {
    a: { received: 3, answered_on_air: 1, forwarded: 1, resolved: 1, declined: 0, overdue: 0 },
    b: { received: 4, answered_on_air: 1, forwarded: 3, resolved: 1, declined: 1, overdue: 1 },
  };
  const total = {};
  for (const k of KEYS) total[k] = before.total[k] + counts.a[k] + counts.b[k];
  return {
    a, b, x, y, counts, total, b4, b5, b6, b7, answer6,
    agencies: {
      [x.id]: { forwarded: 3, open: 1, resolved: 2, declined: 0, overdue: 0, median: '0 hari' },
      [y.id]: { forwarded: 1, open: 1, resolved: 0, declined: 0, overdue: 1, median: 'belum ada' },
    },
  };
}

// ---- tests ---------------------------------------------------------------------------------
test('the board shows the totals, the agencies, the programmes and the public cases as created; no name or contact anywhere', async () => {
  const { base } = await hub();
  const problems = [];
  const w = await setUp(problems);
  const data = await board();
  // the hub counts as this test expects (else the page cannot be checked against it)
  for (const k of KEYS) assert.equal(data.total[k], w.total[k], `API total ${k}`);

  const { page } = await newPage(browser, DESK, problems);
  const bodies = recordResponses(page);
  await page.goto(`${base}/tindak-lanjut`);
  await page.waitForSelector('#board[data-state=ready]');
  assert.equal(await page.getAttribute('html', 'lang'), 'id');
  assert.equal(await page.textContent('h1'), 'Papan tindak lanjut pertanyaan warga');
  assert.match(await page.textContent('#updated-at'), /^Diperbarui /);

  // totals
  const labels = { received: 'Pertanyaan masuk', answered_on_air: 'Dijawab di siaran', forwarded: 'Diteruskan ke instansi', resolved: 'Selesai ditindaklanjuti', declined: 'Ditolak', overdue: 'Melewati batas waktu' };
  for (const k of KEYS) {
    const tile = page.locator(`#totals [data-count="${k}"]`);
    assert.equal(figure(await tile.locator('.value').textContent()), w.total[k], `total ${k}`);
    assert.equal(await tile.locator('dt').textContent(), labels[k]);
  }

  // agencies
  for (const [id, want] of Object.entries(w.agencies)) {
    const row = page.locator(`#agencies-table tbody tr[data-agency="${id}"]`);
    assert.equal(await row.count(), 1, `row of ${id}`);
    for (const k of ['forwarded', 'open', 'resolved', 'declined', 'overdue']) {
      assert.equal(figure(await row.locator(`td[data-col=${k}]`).textContent()), want[k], `${id} ${k}`);
    }
    assert.equal(await row.locator('td[data-col=median_days]').textContent(), want.median, `${id} median`);
  }
  assert.match(await page.textContent(`#agencies-table tr[data-agency="${w.x.id}"] th`), /^PUPRDinas Pekerjaan Umum dan Penataan Ruang$/);
  assert.equal(await page.locator(`#agencies-table tr[data-agency="${w.y.id}"].is-late`).count(), 1, 'an agency with overdue cases stands out');

  // programmes, newest first
  const order = await page.$$eval('#sessions-table tbody tr', (trs) => trs.map((tr) => tr.dataset.session));
  assert.ok(order.indexOf(w.b.id) >= 0 && order.indexOf(w.a.id) > order.indexOf(w.b.id), `the newer programme first: ${JSON.stringify(order)} a=${w.a.id} b=${w.b.id}`);
  for (const [s, want] of [[w.a, w.counts.a], [w.b, w.counts.b]]) {
    const row = page.locator(`#sessions-table tbody tr[data-session="${s.id}"]`);
    assert.equal(await row.locator('th').textContent(), s.title);
    assert.match(await row.locator('td[data-col=date]').textContent(), /\d{4}/);
    for (const k of KEYS) assert.equal(figure(await row.locator(`td[data-col=${k}]`).textContent()), want[k], `${s.title} ${k}`);
  }

  // public cases: the two published, masked text, agency, status, answer
  const b6 = page.locator(`#public-cases li[data-tracking="${w.b6.tracking}"]`);
  assert.equal(await b6.count(), 1);
  assert.equal(await b6.locator('[data-field=text]').textContent(), w.b6.text);
  assert.equal(await b6.locator('[data-field=status]').textContent(), 'Selesai');
  assert.equal(await b6.locator('[data-field=agency]').textContent(), 'Dinas Pekerjaan Umum dan Penataan Ruang (PUPR)');
  assert.equal(await b6.locator('[data-field=answer]').textContent(), w.answer6);
  assert.equal(await b6.locator('[data-field=place]').textContent(), 'Bukit Lama, Ilir Barat I');
  assert.equal(await b6.locator('[data-field=topic]').textContent(), 'Jalan');
  assert.equal(await b6.locator('a.tracking').getAttribute('href'), `/lacak/${w.b6.tracking}`);
  const b4 = page.locator(`#public-cases li[data-tracking="${w.b4.tracking}"]`);
  assert.equal(await b4.locator('[data-field=status]').textContent(), 'Diteruskan ke DLH');
  assert.equal(await b4.locator('[data-field=answer]').count(), 0, 'no answer yet');
  const shown = await page.$$eval('#public-cases li', (lis) => lis.map((li) => li.dataset.tracking));
  const apiPublic = (await board()).public_cases.map((c) => c.tracking);
  assert.deepEqual(shown, apiPublic, 'every public case, in the hub\'s order');
  assert.ok(!shown.includes(w.b5.tracking) && !shown.includes(w.b7.tracking), 'cases not made public stay off the board');

  // privacy
  await page.waitForTimeout(100);
  const text = await page.evaluate(() => document.body.innerText);
  const html = await page.content();
  assert.ok(bodies.some((b) => b.url.endsWith('/api/board')));
  for (const s of SECRETS) {
    assert.ok(!text.includes(s) && !html.includes(s), `"${s}" on the board`);
    for (const b of bodies) assert.ok(!b.text.includes(s), `"${s}" in the response of ${b.url}`);
  }

  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(OUT, 'board.png'), fullPage: true });

  // a phone: no horizontal scroll, each table row a card with its column names
  await page.setViewportSize({ width: 360, height: 740 });
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(over <= 0, `no horizontal scroll at 360 px (${over} px too wide)`);
  const cellLabel = await page.locator(`#sessions-table tr[data-session="${w.a.id}"] td[data-col=answered_on_air]`)
    .evaluate((td) => getComputedStyle(td, '::before').content);
  assert.equal(cellLabel, '"Dijawab di siaran"', 'a stacked cell names its column');
  assert.ok(await page.locator('#sessions-table thead').evaluate((el) => el.getBoundingClientRect().height <= 1), 'the head row is out of sight');

  // English
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click('#lang-en');
  assert.equal(await page.textContent('h1'), 'Follow-up board of citizens\' questions');
  assert.equal(await page.textContent('#totals [data-count=answered_on_air] dt'), 'Answered on air');
  assert.equal(await b6.locator('[data-field=status]').textContent(), 'Resolved');
  assert.equal(await page.textContent(`#agencies-table tr[data-agency="${w.y.id}"] td[data-col=median_days]`), 'none yet');
  assert.deepEqual(problems, []);
});

test('a failed load says so and offers "Coba lagi"; the board then loads', async () => {
  const { base } = await hub();
  const problems = [];
  const { page } = await newPage(browser, PHONE, problems);
  await page.route('**/api/board', (route) => route.abort('internetdisconnected'));
  await page.goto(`${base}/tindak-lanjut`);
  await page.waitForSelector('#board[data-state=error]');
  assert.match(await page.textContent('#notice-text'), /Tidak dapat terhubung/);
  assert.equal(await page.isVisible('#retry-btn'), true);
  assert.equal(await page.isHidden('#totals-section'), true);
  await page.unroute('**/api/board');
  await page.click('#retry-btn');
  await page.waitForSelector('#board[data-state=ready]');
  assert.equal(await page.isHidden('#notice'), true);
  assert.equal(await page.isVisible('#totals-section'), true);
  const data = await board();
  assert.equal(figure(await page.textContent('#totals [data-count=received] .value')), data.total.received);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
});
