// /admin for the follow-up: the office's name asked once; an agency added through the form (a
// taken id explained), its link working, a new key (confirmed) making the old link fail; cases
// of a session listed with contact, forwarded (due date +14 days by default), answered, declined,
// reopened, put on the public board through the UI, with field messages for empty answers;
// filters by agency and status; the XLSX and CSV exports downloaded with the token in a header
// (never in the address); the report and board links; the purge form reporting a number.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, hub, createSession, online } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const DESK = { width: 1180, height: 900 };
let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

async function openPage(opts, problems) {
  const ctx = await browser.newContext({ locale: 'id-ID', acceptDownloads: true, ...opts });
  const page = await ctx.newPage();
  const dialogs = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  return { ctx, page, dialogs };
}

async function call(method, p, key, body) {
  const { base } = await hub();
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let json = null;
  try { json = await res.json(); } catch { json = null; }
  return { status: res.status, body: json };
}

const keyOf = (link) => new URLSearchParams(new URL(link).hash.slice(1)).get('k');

function ymd(d) {
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

test('agencies, cases, export, report and purge in /admin', async () => {
  const { base, token } = await hub();
  const problems = [];
  const title = `Diskusi Wong Kito #${Date.now() % 1000}`;
  const s = await createSession(title);
  const sessionId = new URL(s.links.moderator).pathname.split('/')[2];
  const tag = Date.now().toString(36);

  // questions with contacts, through the moderator page's client
  const { page: mod } = await openPage({ viewport: DESK }, problems);
  await mod.goto(s.links.moderator);
  await online(mod);
  const entries = [
    { text: 'Jalan Kolonel H. Burlian rusak parah dekat simpang Km 7.', name: 'Budi', channel: 'sms', contact: '081234567890', topic: 'jalan' },
    { text: 'Air PDAM di Kalidoni keruh sejak tiga hari.', name: 'Siti', channel: 'whatsapp', contact: 'siti.kalidoni@example.org', topic: 'air bersih' },
    { text: 'Izin usaha mikro sulit diurus lewat daring.', channel: 'sms', contact: '+6281299990000', topic: 'perizinan' },
  ];
  const qs = await mod.evaluate(async (entries) => {
    const out = [];
    for (const e of entries) out.push((await window.tanya.client.send({ type: 'enter', ref: crypto.randomUUID(), ...e })).question);
    return out;
  }, entries);
  const [q1, q2, q3] = qs;

  const { page, dialogs } = await openPage({ viewport: DESK }, problems);
  await page.goto(`${base}/admin`);
  await page.fill('#admin-token', token);
  await page.click('#token-save');

  // the office user's name: asked, kept, changeable
  assert.equal(await page.isVisible('#office-form'), true);
  await page.fill('#office-name', 'Rina Humas');
  await page.click('#office-name-save');
  await page.locator('#office-current', { hasText: 'Rina Humas' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('tanya:office-name')), 'Rina Humas');

  // ---- agencies -----------------------------------------------------------------------------
  const id = `pupr-${tag}`;
  await page.click('#agency-add');
  await page.locator('#agency-name-error', { hasText: 'Nama instansi wajib diisi.' }).waitFor();
  await page.fill('#agency-name', 'Dinas Pekerjaan Umum dan Penataan Ruang');
  await page.fill('#agency-short', 'PUPR');
  await page.fill('#agency-id', id);
  await page.click('#agency-add');
  const row = page.locator(`#agencies li[data-agency-id="${id}"]`);
  await row.waitFor();
  await page.locator('#agencies-status', { hasText: 'Instansi PUPR ditambahkan' }).waitFor();
  assert.equal(await row.locator('[data-field=name]').textContent(), 'Dinas Pekerjaan Umum dan Penataan Ruang');
  assert.equal(await row.locator('[data-field=short]').textContent(), 'PUPR');
  assert.equal(await row.locator('[data-field=id]').textContent(), id);
  const link1 = await row.locator('input[data-link=agency]').inputValue();
  assert.match(link1, new RegExp(`/a/${id}#k=[\\w-]{16,}$`));
  assert.equal(await row.locator('[data-copy=agency]').count(), 1, 'a copy button');
  assert.equal(await page.inputValue('#agency-name'), '', 'the form is reset');
  const listed = await call('GET', '/api/agencies', token);
  assert.ok(listed.body.agencies.some((a) => a.id === id && a.short === 'PUPR'), 'the hub has it');
  assert.equal((await call('GET', `/api/agency/${id}/cases`, keyOf(link1))).status, 200, 'its link works');

  // the same id again: told next to the id field
  await page.fill('#agency-name', 'Dinas Lain');
  await page.fill('#agency-short', 'LAIN');
  await page.fill('#agency-id', id);
  await page.click('#agency-add');
  await page.locator('#agency-id-error', { hasText: 'Kode tautan itu sudah dipakai' }).waitFor();
  assert.equal(await page.getAttribute('#agency-id', 'aria-invalid'), 'true');

  // a second agency without an id: the hub makes one
  await page.fill('#agency-name', 'Dinas Lingkungan Hidup');
  await page.fill('#agency-short', `DLH${tag.slice(-3).toUpperCase()}`);
  await page.fill('#agency-id', '');
  await page.click('#agency-add');
  const dlhRow = page.locator('#agencies li', { hasText: 'Dinas Lingkungan Hidup' });
  await dlhRow.waitFor();
  const dlh = await dlhRow.getAttribute('data-agency-id');
  assert.ok(dlh && dlh.length > 0);

  // a new key: confirmed first; the old link then fails, the new one works
  await row.locator('[data-act=agency-key]').click();
  await page.locator('#agencies-status', { hasText: 'Tautan baru untuk PUPR dibuat' }).waitFor();
  assert.equal(dialogs.length, 1);
  assert.match(dialogs[0], /Buat tautan baru untuk Dinas Pekerjaan Umum dan Penataan Ruang\?/);
  const link2 = await page.locator(`#agencies li[data-agency-id="${id}"] input[data-link=agency]`).inputValue();
  assert.notEqual(link2, link1);
  assert.equal((await call('GET', `/api/agency/${id}/cases`, keyOf(link1))).status, 401, 'the old link fails');
  assert.equal((await call('GET', `/api/agency/${id}/cases`, keyOf(link2))).status, 200, 'the new one works');
  const { page: old } = await openPage({ viewport: DESK }, problems);
  await old.goto(`${base}/a/${id}#k=${keyOf(link1)}`);
  await old.locator('#fatal:not([hidden])', { hasText: 'Tautan ini tidak berlaku' }).waitFor();

  // ---- cases ----------------------------------------------------------------------------------
  await page.selectOption('#case-session', sessionId);
  const card = (q) => page.locator(`#cases li[data-question="${q.id}"]`);
  await card(q3).waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('#cases > li').length === n, 3);
  assert.equal(await card(q1).locator('[data-field=tracking]').textContent(), q1.tracking);
  assert.equal(await card(q1).locator('[data-field=text]').textContent(), entries[0].text);
  assert.match(await card(q1).locator('[data-field=session]').textContent(), new RegExp(title));
  assert.equal(await card(q1).locator('[data-field=contact] a[data-contact-kind=tel]').getAttribute('href'), 'tel:+6281234567890');
  assert.equal(await card(q2).locator('[data-field=contact] a[data-contact-kind=mail]').textContent(), 'siti.kalidoni@example.org');
  assert.equal(await card(q1).locator('[data-field=status]').textContent(), 'Belum diteruskan');
  assert.equal(await card(q1).locator('[data-act=reopen]').isHidden(), true, 'only the actions the status allows');

  // forward: the agency from the list, the due date +14 days by default, a note
  await card(q1).locator('[data-act=forward]').click();
  const due = card(q1).locator('[data-input=due]');
  assert.equal(await due.getAttribute('type'), 'date');
  const in14 = new Date(); in14.setDate(in14.getDate() + 14);
  assert.equal(await due.inputValue(), ymd(in14));
  const options = await card(q1).locator('[data-input=agency] option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(options.includes(id) && options.includes(dlh), 'every agency is offered');
  await card(q1).locator('[data-act=submit]').click();
  await card(q1).locator('[data-error-for=agency]', { hasText: 'Pilih instansinya.' }).waitFor();
  await card(q1).locator('[data-input=agency]').selectOption(id);
  const in20 = new Date(); in20.setDate(in20.getDate() + 20);
  await due.fill(ymd(in20));
  await card(q1).locator('[data-input=text]').fill('Mohon ditinjau minggu ini.');
  await card(q1).locator('[data-act=submit]').click();
  await page.locator(`#cases li[data-question="${q1.id}"][data-status=forwarded]`).waitFor();
  await page.locator('#cases-notice', { hasText: `Kasus ${q1.tracking} diteruskan ke PUPR.` }).waitFor();
  assert.equal(await card(q1).locator('[data-field=agency]').textContent(), 'PUPR');
  let all = (await call('GET', `/api/cases?session=${sessionId}`, token)).body.cases;
  let c1 = all.find((c) => c.question === q1.id);
  assert.equal(c1.status, 'forwarded');
  assert.equal(c1.agency.id, id);
  assert.equal(c1.due, ymd(in20));
  assert.equal(c1.note, 'Mohon ditinjau minggu ini.');
  assert.equal(c1.history[c1.history.length - 1].by.name, 'Rina Humas');
  // the agency sees it with its new key
  const forA = await call('GET', `/api/agency/${id}/cases`, keyOf(link2));
  assert.deepEqual(forA.body.cases.map((c) => c.question), [q1.id]);

  // resolve: an empty answer is told next to the field; then the answer
  await card(q2).locator('[data-act=resolve]').click();
  await card(q2).locator('[data-act=submit]').click();
  await card(q2).locator('[data-error-for=text]', { hasText: 'Jawaban wajib diisi' }).waitFor();
  assert.equal(await card(q2).locator('[data-input=text]').getAttribute('aria-invalid'), 'true');
  await card(q2).locator('[data-input=text]').fill('PDAM Tirta Musi sudah membersihkan pipa di Kalidoni.');
  await card(q2).locator('[data-act=submit]').click();
  await page.locator(`#cases li[data-question="${q2.id}"][data-status=resolved]`).waitFor();
  assert.equal(await card(q2).locator('[data-field=answer]').textContent(), 'PDAM Tirta Musi sudah membersihkan pipa di Kalidoni.');

  // on the public board, and off again
  await card(q2).locator('[data-act=publish]').click();
  await page.locator(`#cases li[data-question="${q2.id}"][data-public=true]`).waitFor();
  assert.equal(await card(q2).locator('[data-act=publish]').textContent(), 'Sembunyikan dari papan publik');
  all = (await call('GET', `/api/cases?session=${sessionId}`, token)).body.cases;
  assert.equal(all.find((c) => c.question === q2.id).public, true);
  const board = await (await fetch(`${base}/api/board`)).json();
  assert.ok(board.public_cases.some((c) => c.tracking === q2.tracking), 'the board shows it');

  // reopen, then decline with a reason (an empty one is told first)
  await card(q2).locator('[data-act=reopen]').click();
  await card(q2).locator('[data-act=submit]').click();
  await page.locator(`#cases li[data-question="${q2.id}"][data-status=reopened]`).waitFor();
  await card(q3).locator('[data-act=decline]').click();
  await card(q3).locator('[data-act=submit]').click();
  await card(q3).locator('[data-error-for=text]', { hasText: 'Alasan wajib diisi' }).waitFor();
  await card(q3).locator('[data-input=text]').fill('Bukan kewenangan Pemerintah Kota; sudah diteruskan ke provinsi.');
  await card(q3).locator('[data-act=submit]').click();
  await page.locator(`#cases li[data-question="${q3.id}"][data-status=declined]`).waitFor();
  all = (await call('GET', `/api/cases?session=${sessionId}`, token)).body.cases;
  assert.equal(all.find((c) => c.question === q2.id).status, 'reopened');
  assert.equal(all.find((c) => c.question === q3.id).reason, 'Bukan kewenangan Pemerintah Kota; sudah diteruskan ke provinsi.');

  // filters: by agency, by status
  await page.selectOption('#case-agency', id);
  await page.waitForFunction((qid) => { const li = document.querySelectorAll('#cases > li'); return li.length === 1 && li[0].dataset.question === qid; }, q1.id);
  await page.selectOption('#case-agency', '');
  await page.selectOption('#case-status', 'declined');
  await page.waitForFunction((qid) => { const li = document.querySelectorAll('#cases > li'); return li.length === 1 && li[0].dataset.question === qid; }, q3.id);
  await page.selectOption('#case-status', '');
  await page.waitForFunction(() => document.querySelectorAll('#cases > li').length === 3);

  await page.locator('#followup').scrollIntoViewIfNeeded();
  await page.evaluate(() => document.activeElement?.blur());
  await page.locator('#followup').screenshot({ path: path.join(OUT, 'admin-followup.png') });
  assert.ok(fs.statSync(path.join(OUT, 'admin-followup.png')).size > 5000);

  // ---- a session's export, report and the board link ----------------------------------------------
  const li = page.locator(`#sessions li[data-session-id="${sessionId}"]`);
  await li.locator('[data-menu=export] summary').click();
  const exportUrls = [];
  page.on('request', (r) => { if (r.url().includes('/export')) exportUrls.push(r.url()); });
  const [xlsxResp, xlsx] = await Promise.all([
    page.waitForResponse((r) => r.url().includes(`/api/sessions/${sessionId}/export`)),
    page.waitForEvent('download'),
    li.locator('[data-export=xlsx]').click(),
  ]);
  assert.equal(xlsxResp.status(), 200);
  assert.match(xlsxResp.headers()['content-type'], /application\/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet/);
  const xlsxBytes = fs.readFileSync(await xlsx.path());
  assert.equal(xlsxBytes.subarray(0, 2).toString('latin1'), 'PK', 'a zip (XLSX) file');
  assert.match(xlsx.suggestedFilename(), /\.xlsx$/);
  await li.locator('[data-field=export-status]', { hasText: 'diunduh' }).waitFor();

  await li.locator('[data-menu=export] summary').click();
  const [csvResp, csv] = await Promise.all([
    page.waitForResponse((r) => r.url().includes(`/api/sessions/${sessionId}/export`) && r.url().includes('csv')),
    page.waitForEvent('download'),
    li.locator('[data-export=csv]').click(),
  ]);
  assert.equal(csvResp.status(), 200);
  assert.match(csvResp.url(), /format=csv&layout=office/);
  const csvBytes = fs.readFileSync(await csv.path());
  assert.deepEqual([...csvBytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a BOM, for Excel');
  const csvText = csvBytes.toString('utf8');
  assert.ok(csvText.includes(q1.tracking), 'the tracking code is in it');
  assert.ok(csvText.includes('081234567890'), 'the contact is in it (admin token)');
  assert.equal(exportUrls.length, 2);
  for (const u of exportUrls) assert.ok(!u.includes(token) && !/[?&](token|key|k)=/.test(u), `no token in ${u}`);

  const report = li.locator('a[data-link=report]');
  assert.equal(new URL(await report.getAttribute('href'), base).pathname, `/r/${sessionId}`);
  assert.equal(await report.textContent(), 'Laporan sesi');
  assert.equal(await page.getAttribute('#board-link', 'href'), '/tindak-lanjut');

  // ---- purge -------------------------------------------------------------------------------------
  await page.click('#purge-btn');
  await page.locator('#purge-status', { hasText: 'Pilih tanggalnya dulu.' }).waitFor();
  // A day after today in the hub's time zone (Asia/Jakarta, UTC+7) whatever the hour in UTC:
  // two days ahead of this machine's date.
  const later = new Date(); later.setDate(later.getDate() + 2);
  await page.fill('#purge-before', ymd(later));
  const before = dialogs.length;
  await page.click('#purge-btn');
  const status = page.locator('#purge-status[data-erased]');
  await status.waitFor();
  assert.equal(dialogs.length, before + 1, 'asked first');
  assert.match(dialogs[dialogs.length - 1], /Hapus semua kontak warga/);
  const n = Number(await status.getAttribute('data-erased'));
  assert.ok(n >= 3, `the three contacts of this test at least (${n})`);
  assert.equal(await status.textContent(), `${n} kontak dihapus.`);
  all = (await call('GET', `/api/cases?session=${sessionId}`, token)).body.cases;
  assert.deepEqual(all.map((c) => c.contact), [null, null, null], 'the contacts are gone');
  await page.locator(`#cases li[data-question="${q1.id}"] [data-field=contact] [data-contact-kind=none]`).waitFor();

  assert.deepEqual(problems.filter((p) => !/^console: Failed to load resource: .*\b(400|401|409)\b/.test(p)), []);
});

test('a wrong token: the follow-up sections stay empty and the error is the token\'s', async () => {
  const { base, token } = await hub();
  const problems = [];
  const { page } = await openPage({ viewport: DESK }, problems);
  await page.goto(`${base}/admin`);
  await page.fill('#admin-token', `${token}x`);
  await page.click('#token-save');
  await page.locator('#admin-error:not([hidden])', { hasText: 'Token admin salah atau belum diisi.' }).waitFor();
  assert.equal(await page.locator('#cases > li').count(), 0);
  assert.equal(await page.locator('#agencies li').count(), 0);
  assert.equal(await page.isHidden('#cases-notice'), true);
  assert.deepEqual(problems.filter((p) => !/^console: Failed to load resource: .*\b401\b/.test(p)), []);
});
