// The session report /r/{session}: with the moderator key (#k=) or the admin token of the tab it
// shows the counts, peak phones per role, SVG bar charts (channel, source, status, topic, place,
// on air vs forwarded vs left), the agencies with the median days, and the earlier session beside
// this one, in the report's time zone; a missing or wrong key explained; the print layout (no
// buttons, colours kept) makes one A4 PDF page holding the totals; "Cetak" prints; never a name
// or contact in the page or in any response it received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, hub, createSession, newPage, online } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
// A browser far from Palembang: the report must still speak Palembang time (Asia/Jakarta).
const DESK = { viewport: { width: 1280, height: 900 }, locale: 'id-ID', timezoneId: 'America/New_York' };
const PHONE = { viewport: { width: 360, height: 740 }, locale: 'id-ID' };

const NAMES = ['Siti Rahmawati Zulkarnain', 'Rudi Hartono Wijaya', 'Bambang Sutejo Prawiro'];
const CONTACTS = ['081377712345', 'rudi.hartono.w@example.com', '+6285266601234'];
const STAFF = ['Ahmad Fauzi Nasution', 'Dewi Lestari Humas'];
const SECRETS = [...NAMES, ...CONTACTS, ...STAFF];

let browser;
let world;
before(async () => {
  browser = await launch();
  fs.mkdirSync(OUT, { recursive: true });
  world = await setUp();
});
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

async function enter(mod, text, i, extra = {}) {
  const ok = await send(mod, { type: 'enter', text, name: NAMES[i % NAMES.length], contact: CONTACTS[i % CONTACTS.length], channel: 'sms', ...extra });
  return { id: ok.question.id, tracking: ok.tracking, text };
}

async function ask(phone, text, i, extra = {}) {
  const ok = await send(phone, { type: 'ask', text, name: NAMES[i % NAMES.length], contact: CONTACTS[i % CONTACTS.length], ...extra });
  return { id: ok.question.id, tracking: ok.tracking, text };
}

async function open(s, link, opts, problems) {
  const { ctx, page } = await newPage(browser, opts, problems);
  await page.goto(link);
  await online(page);
  return { ctx, page };
}

const keyOf = (link) => new URLSearchParams(new URL(link).hash.slice(1)).get('k');
const real = (problems) => problems.filter((p) => !/Failed to load resource/.test(p));

function recordResponses(page) {
  const bodies = [];
  page.on('response', async (r) => { try { bodies.push({ url: r.url(), text: await r.text() }); } catch { /* none */ } });
  return bodies;
}

// ---- the data ----------------------------------------------------------------------------------
/** An earlier session E and the session R of the report. */
async function setUp() {
  const problems = [];
  const suffix = Math.random().toString(36).slice(2, 7);
  const x = await must('POST', '/api/agencies', { name: 'Dinas Pekerjaan Umum dan Penataan Ruang', short: 'PUPR', id: `pupr-${suffix}` }, undefined, 201);
  const y = await must('POST', '/api/agencies', { name: 'Dinas Lingkungan Hidup', short: 'DLH', id: `dlh-${suffix}` }, undefined, 201);
  const by = STAFF[1];

  const e = await newSession(`Dialog Wong Kito #11: Kebersihan ${suffix}`);
  const { ctx: ce, page: me } = await open(e, e.links.moderator, DESK, problems);
  const e1 = await enter(me, 'Kapan pasar Cinde selesai dibangun kembali?', 0);
  await send(me, { type: 'approve', question: e1.id });
  await send(me, { type: 'answered', question: e1.id });
  const e2 = await enter(me, 'Lampu jalan di Jalan Angkatan 45 mati sejak dua minggu.', 1, { topic: 'jalan' });
  await must('POST', `/api/cases/${e2.id}`, { action: 'forward', agency: x.id, by });
  await must('POST', `/api/agency/${x.id}/cases/${e2.id}`, { action: 'resolve', answer: 'Lampu sudah diganti.', by: STAFF[0] }, x.key);
  await ce.close();
  await new Promise((r) => setTimeout(r, 1100)); // R is created strictly after E

  const title = `Dialog Publik Palembang: Pelayanan Publik ${suffix}`;
  const s = await newSession(title, [{ name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' }]);
  const { ctx: cm, page: mod } = await open(s, s.links.moderator, DESK, problems);
  const { ctx: c1, page: phone1 } = await open(s, s.links.audience, PHONE, problems);
  const { ctx: c2, page: phone2 } = await open(s, s.links.audience, PHONE, problems);
  const { ctx: c3, page: press } = await open(s, s.links.press, PHONE, problems);

  const r1 = await ask(phone1, 'Kapan jalan di Jalan Demang Lebar Daun diperbaiki?', 0, { place: { kecamatan: 'Ilir Barat I' }, topic: 'jalan' });
  await send(mod, { type: 'approve', question: r1.id });
  await send(mod, { type: 'answered', question: r1.id });
  await ask(phone2, 'Drainase di Sekip Jaya meluap setiap hujan deras.', 1, { place: { kecamatan: 'Kemuning', kelurahan: 'Sekip Jaya' }, topic: 'banjir' });
  const r3 = await enter(mod, 'Trotoar di depan Pasar 16 Ilir rusak dan berbahaya.', 2, { place: { kecamatan: 'Ilir Barat I' }, topic: 'jalan' });
  await must('POST', `/api/cases/${r3.id}`, { action: 'forward', agency: x.id, by });
  await must('POST', `/api/agency/${x.id}/cases/${r3.id}`, { action: 'resolve', answer: 'Trotoar sudah diperbaiki.', by: STAFF[0] }, x.key);
  const r4 = await enter(mod, 'Sampah menumpuk di TPS Sukarami sudah seminggu.', 0, { channel: 'whatsapp', place: { kecamatan: 'Sukarami' }, topic: 'sampah' });
  await must('POST', `/api/cases/${r4.id}`, { action: 'forward', agency: y.id, due: '2024-01-15', by });
  const r5 = await enter(mod, 'Pertanyaan uji coba yang tidak pantas.', 1, { channel: 'phone' });
  await send(mod, { type: 'reject', question: r5.id });
  const r6 = await enter(mod, 'Apakah ada lomba kebersihan kampung di Kemuning?', 2, { place: { kecamatan: 'Kemuning' }, topic: 'banjir' });
  await send(mod, { type: 'approve', question: r6.id });
  await must('POST', `/api/cases/${r6.id}`, { action: 'decline', reason: 'Bukan keluhan layanan.', by });
  const r7 = await send(press, { type: 'ask', text: 'Berapa target PAD dari perizinan tahun ini?', name: NAMES[0], outlet: 'Sumatera Ekspres', topic: 'perizinan' });
  await send(mod, { type: 'approve', question: r7.question.id });
  await send(mod, { type: 'answered', question: r7.question.id });

  // the peak: two phones, one press phone and a moderator on at once. The hub journals the
  // devices joined once a minute (followup.presence_every_ms, no environment override), so the
  // pages stay open until it has.
  const modKey = keyOf(s.links.moderator);
  let report = null;
  for (let i = 0; i < 90; i++) {
    report = await must('GET', `/api/sessions/${s.id}/report`, undefined, modKey);
    if (report.peak && report.peak.audience >= 2 && report.peak.press >= 1 && report.peak.moderator >= 1) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (const c of [c1, c2, c3, cm]) await c.close();
  assert.deepEqual(real(problems), []);

  return {
    e, s, title, x, y, modKey, report,
    counts: { received: 6, answered_on_air: 2, forwarded: 2, left: 1, resolved: 1, declined: 1, overdue: 1 },
    earlier: { received: 2, answered_on_air: 1, forwarded: 1, left: 0, resolved: 1, declined: 0 },
    charts: {
      outcome: [['Dijawab di siaran', 2], ['Diteruskan', 2], ['Tidak terjawab', 1]],
      channel: [['Ponsel (Tanya)', 3], ['SMS', 2], ['WhatsApp', 1]],
      source: [['Peserta', 2], ['Pers', 1], ['Lewat operator', 3]],
      status: [['Belum diperiksa', 3], ['Dalam antrean', 1], ['Dijawab', 2], ['Ditolak moderator', 1]],
      topic: [['Banjir', 2], ['Jalan', 2], ['Perizinan', 1], ['Sampah', 1]],
      place: [['Ilir Barat I', 2], ['Kemuning', 2], ['Sukarami', 1]],
    },
  };
}

// ---- tests ---------------------------------------------------------------------------------
test('the report with the moderator key: counts, peak, charts, agencies and the earlier session, in Palembang time; no name or contact', async () => {
  const { base } = await hub();
  const w = world;
  // the hub's numbers are the ones this test made (else the page cannot be checked against them)
  for (const [k, v] of Object.entries(w.counts)) assert.equal(w.report.counts[k], v, `API counts.${k}`);
  assert.deepEqual(w.report.peak, { audience: 2, desk: 0, moderator: 1, overlay: 0, press: 1, screen: 0 }, 'the peak: two phones, a press phone, a console');

  const problems = [];
  const { page } = await newPage(browser, DESK, problems);
  const bodies = recordResponses(page);
  await page.goto(`${base}/r/${w.s.id}#k=${encodeURIComponent(w.modKey)}`);
  await page.waitForSelector('#report[data-state=ready]');
  assert.equal(await page.textContent('#report-title'), w.title);
  assert.equal(await page.title(), `${w.title} · Laporan sesi`);
  assert.equal(await page.textContent('#report-speakers'), 'Narasumber: Drs Ratu Dewa MSi (Sekretaris Daerah)');

  // the start in the report's time zone (Asia/Jakarta), not the browser's (New York)
  assert.equal(w.report.time_zone, 'Asia/Jakarta');
  const created = new Date(w.report.session.created_at);
  const hm = new Intl.DateTimeFormat('id-ID', { timeZone: 'Asia/Jakarta', hour: '2-digit', minute: '2-digit' }).format(created);
  const day = new Intl.DateTimeFormat('id-ID', { timeZone: 'Asia/Jakarta', day: 'numeric', month: 'long', year: 'numeric' }).format(created);
  const when = await page.textContent('#report-when');
  assert.ok(when.startsWith('Dimulai '), when);
  assert.ok(when.includes(hm) && when.includes(day) && when.includes('WIB'), `${when} has ${day} ${hm} WIB`);

  for (const [k, v] of Object.entries(w.counts)) {
    assert.equal(await page.textContent(`#counts [data-count="${k}"] .value`), String(v), `count ${k}`);
  }
  for (const role of ['audience', 'press', 'moderator', 'screen', 'overlay']) {
    assert.equal(await page.textContent(`#peak [data-role="${role}"] .value`), String(w.report.peak[role] ?? 0), `peak ${role}`);
  }
  assert.match(await page.textContent('#peak [data-role=audience]'), /^Ponsel peserta \d+$/);

  // the charts: SVG, one bar per value, named for screen readers
  const charts = await page.$$eval('#charts figure', (fs) => fs.map((f) => ({
    id: f.dataset.chart,
    caption: f.querySelector('figcaption').textContent,
    role: f.querySelector('svg').getAttribute('role'),
    label: f.querySelector('svg').getAttribute('aria-label'),
    bars: Array.from(f.querySelectorAll('g.bar')).map((g) => [g.dataset.label, Number(g.dataset.value), Number(g.querySelector('rect').getAttribute('width'))]),
  })));
  assert.deepEqual(charts.map((c) => c.id), ['outcome', 'channel', 'source', 'status', 'topic', 'place']);
  for (const c of charts) {
    assert.equal(c.role, 'img');
    const want = w.charts[c.id];
    const sort = (l) => [...l].sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(sort(c.bars.map(([l, v]) => [l, v])), sort(want), `chart ${c.id}`);
    for (const [l, v] of want) assert.ok(c.label.includes(`${l} ${v} pertanyaan`), `${c.id} aria-label "${c.label}" names ${l} ${v}`);
    assert.ok(c.label.startsWith(c.caption), 'the summary starts with the title');
    const top = Math.max(...c.bars.map((b) => b[1]));
    for (const [, v, width] of c.bars) assert.ok(Math.abs(width / c.bars.find((b) => b[1] === top)[2] - v / top) < 0.02, `${c.id}: bar lengths in proportion`);
  }
  assert.deepEqual(charts.find((c) => c.id === 'outcome').bars.map((b) => b[0]), ['Dijawab di siaran', 'Diteruskan', 'Tidak terjawab'], 'the outcome in its own order');
  assert.equal(await page.$$eval('#charts svg.chart *', (els) => els.filter((e) => e.hasAttribute('style')).length), 0, 'no inline styles');

  // agencies
  const x = page.locator(`#agencies-table tr[data-agency="${w.x.id}"]`);
  assert.equal(await x.locator('th').textContent(), 'Dinas Pekerjaan Umum dan Penataan Ruang (PUPR)');
  assert.deepEqual(await x.locator('td').allTextContents(), ['1', '0', '1', '0', '0', '0 hari']);
  const y = page.locator(`#agencies-table tr[data-agency="${w.y.id}"]`);
  assert.deepEqual(await y.locator('td').allTextContents(), ['1', '1', '0', '0', '1', '–']);
  assert.equal(await page.locator('#agencies-table tbody tr').count(), 2, 'only agencies with cases of this session');

  // this session and the earlier one
  const rows = page.locator('#earlier-table tbody tr');
  assert.equal(await rows.nth(0).getAttribute('data-session'), w.s.id);
  assert.equal(await rows.nth(0).locator('th').textContent(), `Sesi ini: ${w.title}`);
  const e = page.locator(`#earlier-table tr[data-session="${w.e.id}"]`);
  assert.equal(await e.locator('th').textContent(), w.e.title);
  for (const [k, v] of Object.entries(w.earlier)) assert.equal(await e.locator(`td[data-col=${k}]`).textContent(), String(v), `earlier ${k}`);
  for (const [k, v] of Object.entries(w.counts)) {
    if (k === 'overdue') continue;
    assert.equal(await rows.nth(0).locator(`td[data-col=${k}]`).textContent(), String(v), `this session ${k}`);
  }

  // privacy
  await page.waitForTimeout(100);
  const text = await page.evaluate(() => document.body.innerText);
  for (const s of SECRETS) {
    assert.ok(!text.includes(s), `"${s}" in the report`);
    for (const b of bodies) assert.ok(!b.text.includes(s), `"${s}" in the response of ${b.url}`);
  }
  assert.ok(bodies.some((b) => b.url.endsWith(`/api/sessions/${w.s.id}/report`)));

  // "Cetak" prints
  await page.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
  assert.equal(await page.textContent('#print-btn'), 'Cetak');
  await page.click('#print-btn');
  assert.equal(await page.evaluate(() => window.__printed), 1);

  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(OUT, 'report.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('print: no buttons, colours kept, one A4 page whose text holds the totals', async () => {
  const { base } = await hub();
  const w = world;
  const problems = [];
  const { page } = await newPage(browser, DESK, problems);
  await page.goto(`${base}/r/${w.s.id}#k=${encodeURIComponent(w.modKey)}`);
  await page.waitForSelector('#report[data-state=ready]');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isHidden('#print-btn'), true, 'no print button on paper');
  assert.equal(await page.isHidden('#lang-en'), true);
  assert.equal(await page.$$eval('button', (bs) => bs.filter((b) => b.offsetParent !== null).length), 0, 'no button on paper');
  assert.equal(await page.locator('#charts svg').first().evaluate((el) => getComputedStyle(el).printColorAdjust), 'exact');
  assert.equal(await page.locator('#charts figure').first().evaluate((el) => getComputedStyle(el).breakInside), 'avoid');
  assert.equal(await page.locator('#charts [data-chart=outcome] rect').first().getAttribute('fill'), '#0f766e');

  const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true });
  assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tanya-report-'));
  const file = path.join(dir, 'report.pdf');
  fs.writeFileSync(file, pdf);
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) || []).length;
  assert.equal(pages, 1, 'one A4 page');
  // Debian's poppler-utils (installed by tests/run.sh) reads the PDF back.
  {
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    assert.match(info, /Pages:\s+1\b/);
    assert.match(info, /Page size:.*\(A4\)/);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    if (process.env.TANYA_REPORT_PDF) fs.copyFileSync(file, process.env.TANYA_REPORT_PDF);
    assert.ok(text.includes(w.title.slice(0, 30)), 'the title is in the PDF');
    // labels may wrap inside their tile: compare the reading-order text with spaces collapsed
    const flat = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    for (const label of ['Pertanyaan masuk', 'Dijawab di siaran', 'Diteruskan ke instansi', 'Tidak terjawab', 'Puncak perangkat terhubung', 'Ponsel peserta 2', 'Menurut saluran', 'Tindak lanjut per instansi', 'Dibandingkan dengan sesi sebelumnya']) {
      assert.ok(flat.includes(label), `"${label}" in the PDF`);
    }
    const c = w.counts;
    const totals = new RegExp(`(^|\\s)${[c.received, c.answered_on_air, c.forwarded, c.left, c.resolved, c.declined, c.overdue].join('\\s+')}(\\s|$)`, 'm');
    assert.match(text, totals, `the totals in a row in the PDF:\n${text.slice(0, 1500)}`);
    assert.ok(flat.includes('Dinas Pekerjaan Umum dan Penataan Ruang (PUPR)') && flat.includes('Dinas Lingkungan Hidup (DLH)'), 'the agencies in the PDF');
    for (const s of SECRETS) assert.ok(!text.includes(s), `"${s}" in the PDF`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

test('the admin token of the tab opens the report too; a missing key, a wrong key and an unknown session are explained', async () => {
  const { base, token } = await hub();
  const w = world;
  const problems = [];

  const { ctx, page } = await newPage(browser, DESK, problems);
  await ctx.addInitScript((t) => { if (t) sessionStorage.setItem('tanya:admin-token', t); }, token);
  const sent = [];
  page.on('request', (r) => { if (r.url().includes('/api/sessions/')) sent.push(r.headers().authorization); });
  await page.goto(`${base}/r/${w.s.id}`);
  await page.waitForSelector('#report[data-state=ready]');
  assert.equal(await page.textContent('#counts [data-count=received] .value'), String(w.counts.received));
  assert.deepEqual(sent, [`Bearer ${token}`], 'the token goes in the Authorization header');
  assert.ok(!page.url().includes(token), 'never in the address');

  await page.goto(`${base}/r/00000000-0000-4000-8000-000000000000`);
  await page.waitForSelector('#report[data-state=error]');
  assert.equal(await page.textContent('#fatal-text'), 'Sesi ini tidak ditemukan. Periksa tautannya.');
  assert.equal(await page.isHidden('#content'), true);

  const { page: bare } = await newPage(browser, DESK, problems);
  await bare.goto(`${base}/r/${w.s.id}`);
  await bare.waitForSelector('#report[data-state=error]');
  assert.match(await bare.textContent('#fatal-text'), /^Tautan laporan ini tidak lengkap: bagian akhirnya terpotong\./);
  assert.equal(await bare.isDisabled('#print-btn'), true);

  await bare.goto('about:blank');
  await bare.goto(`${base}/r/${w.s.id}#k=not-the-key`);
  await bare.waitForSelector('#report[data-state=error]');
  assert.match(await bare.textContent('#fatal-text'), /^Tautan laporan ini tidak berlaku: salah salin atau sudah diganti\./);
  assert.equal(await bare.isHidden('#content'), true);
  assert.equal(await bare.isHidden('#retry-btn'), true);
  // another session's moderator key is a wrong key here too
  await bare.goto('about:blank');
  await bare.goto(`${base}/r/${w.s.id}#k=${encodeURIComponent(keyOf(w.e.links.moderator))}`);
  await bare.waitForSelector('#report[data-state=error]');
  assert.match(await bare.textContent('#fatal-text'), /^Tautan laporan ini tidak berlaku/);

  // the page in English
  await bare.goto(`${base}/r/${w.s.id}?lang=en#k=${encodeURIComponent(w.modKey)}`);
  await bare.waitForSelector('#report[data-state=ready]');
  assert.equal(await bare.textContent('#print-btn'), 'Print');
  assert.equal(await bare.textContent('#counts [data-count=answered_on_air] dt'), 'Answered on air');
  assert.match(await bare.getAttribute('#charts [data-chart=channel] svg', 'aria-label'), /^By channel: Phone \(Tanya\) 3 questions/);
  assert.deepEqual(real(problems), []);
});

test('a big session (18 districts, 12 agencies, 6 earlier sessions, a long title) still prints on one A4 page', async () => {
  const { base } = await hub();
  const problems = [];
  const kec = ['Alang-Alang Lebar', 'Bukit Kecil', 'Gandus', 'Ilir Barat I', 'Ilir Barat II', 'Ilir Timur I', 'Ilir Timur II', 'Ilir Timur Tiga', 'Jakabaring',
    'Kalidoni', 'Kemuning', 'Kertapati', 'Plaju', 'Sako', 'Seberang Ulu I', 'Seberang Ulu II', 'Sematang Borang', 'Sukarami'];
  const topics = ['jalan', 'banjir', 'sampah', 'air bersih', 'listrik', 'transportasi', 'perizinan', 'kesehatan', 'pendidikan', 'sosial', 'keamanan', 'lainnya'];
  const names = ['Dinas Pekerjaan Umum dan Penataan Ruang', 'Dinas Lingkungan Hidup dan Kebersihan', 'Dinas Perhubungan', 'Dinas Kesehatan',
    'Dinas Pendidikan', 'Dinas Sosial', 'Perusahaan Daerah Air Minum Tirta Musi', 'Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu',
    'Satuan Polisi Pamong Praja', 'Badan Penanggulangan Bencana Daerah', 'Dinas Perumahan dan Kawasan Permukiman', 'Dinas Kependudukan dan Pencatatan Sipil'];
  const counts = { answered_on_air: 41, declined: 6, forwarded: 58, left: 33, overdue: 7, received: 132, resolved: 29 };
  const now = Date.now();
  const big = {
    agencies: names.map((name, i) => ({ id: `a${i}`, name, short: `OPD${i}`, forwarded: 9 - (i % 5), open: 3, resolved: 4, declined: 1, overdue: i % 3, median_days: 3.5 + i })),
    by_channel: { web: 80, sms: 20, whatsapp: 18, phone: 9, radio: 3, room: 2 },
    by_place: Object.fromEntries(kec.map((k, i) => [k, 20 - i])),
    by_source: { audience: 90, press: 12, operator: 30 },
    by_status: { pending: 20, approved: 13, answered: 41, rejected: 9, withdrawn: 3, merged: 4 },
    by_topic: Object.fromEntries(topics.map((k, i) => [k, 25 - 2 * i])),
    counts,
    earlier: Array.from({ length: 6 }, (_, i) => ({ id: `e${i}`, code: 'ABCDEF', title: `Dialog Publik Palembang: Pelayanan Perizinan dan Investasi Kota Edisi ${20 - i}`,
      created_at: new Date(now - (i + 1) * 7 * 86400e3).toISOString(), counts, peak: { audience: 180 + i } })),
    generated_at: new Date(now).toISOString(),
    peak: { audience: 212, press: 5, moderator: 2, screen: 1, overlay: 1 },
    session: { code: 'K7M2QX', created_at: new Date(now).toISOString(), id: 'x', status: 'closed',
      title: 'Dialog Publik Palembang: Pelayanan Perizinan, Investasi, dan Transportasi Kota Palembang Tahun 2026',
      speakers: [{ name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' }, { name: 'Ir. Budi Santoso', role: 'Kepala Dinas PUPR' }, { name: 'dr. Fauziah', role: 'Kepala Dinas Kesehatan' }] },
    time_zone: 'Asia/Jakarta',
  };
  const { page } = await newPage(browser, DESK, problems);
  await page.route('**/api/sessions/*/report', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(big) }));
  await page.goto(`${base}/r/00000000-0000-4000-8000-000000000000#k=any`);
  await page.waitForSelector('#report[data-state=ready]');
  // at most eight bars a chart: the seven largest and the rest together
  const place = await page.$$eval('#charts [data-chart=place] g.bar', (gs) => gs.map((g) => [g.dataset.label, Number(g.dataset.value)]));
  assert.equal(place.length, 8);
  assert.deepEqual(place[7], ['Lainnya (11)', kec.slice(7).reduce((n, _, i) => n + 20 - (i + 7), 0)]);
  assert.equal(place.reduce((n, [, v]) => n + v, 0), Object.values(big.by_place).reduce((a, b) => a + b, 0), 'nothing lost');
  const labels = await page.$$eval('#charts [data-chart=channel] g.bar text:first-child', (ts) => ts.map((t) => t.textContent));
  assert.ok(labels.includes('Ponsel (Tanya)'), `labels not cut when there is room: ${labels}`);
  const fit = Number(await page.getAttribute('#report', 'data-fit'));
  assert.ok(fit < 1 && fit >= 0.6, `zoomed to fit (${fit})`);
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true });
  assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF');
  assert.equal((pdf.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) || []).length, 1, 'one A4 page');
  assert.deepEqual(problems, []);
});
