// The moderator console's follow-up (docs/followup.md): the moderator's name asked once and sent
// in the hello (the history names who did what), the case badge after a forward with `f`,
// resolve/reopen/publish in the same form and the hub's errors shown there, the contact, place,
// topic and tracking code on the card, the operator entry's follow-up fields, and the downloads
// (fetched with the key in a header, never in an address) and the report link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, createSession, newPage, online, card, BASE, ADMIN_TOKEN } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const DESK = { width: 1440, height: 900 };
const TRACKING = /^[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}$/;
const NAME = 'Budi Santoso';

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

/** The session's id: the last part of its moderator link (/m/{id}). */
const sessionIdOf = (s) => s.id || (s.session && s.session.id) || new URL(s.links.moderator).pathname.split('/').pop();
const moderatorKey = (s) => (s.keys && s.keys.moderator) || new URLSearchParams(new URL(s.links.moderator).hash.slice(1)).get('k');
const pad2 = (n) => String(n).padStart(2, '0');
const dayIso = (days) => { const d = new Date(); d.setDate(d.getDate() + days); return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`; };

async function addAgency(body) {
  const r = await fetch(`${BASE}/api/agencies`, {
    method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.ok(r.status === 201 || r.status === 409, `POST /api/agencies: ${r.status} ${await r.text()}`);
}

async function history(s, qid) {
  const r = await fetch(`${BASE}/api/sessions/${sessionIdOf(s)}/questions/${qid}/history`, { headers: { Authorization: `Bearer ${moderatorKey(s)}` } });
  assert.equal(r.status, 200, `history: ${r.status}`);
  return (await r.json()).history;
}

/** The hellos a page sends, parsed. */
function hellos(page) {
  const out = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    try { const m = JSON.parse(String(f.payload)); if (m.type === 'hello') out.push(m); } catch { /* not JSON */ }
  }));
  return out;
}

test('the name asked once and sent; the case badge after a forward with f; resolve, reopen, publish; the hub\'s errors', async () => {
  await addAgency({ id: 'pupr', name: 'Dinas Pekerjaan Umum dan Penataan Ruang', short: 'PUPR' });
  await addAgency({ id: 'dlhk', name: 'Dinas Lingkungan Hidup dan Kebersihan', short: 'DLHK' });
  const s = await createSession('Konsol: tindak lanjut');
  const opts = await (await fetch(`${BASE}/api/followup/options`)).json();
  const place = opts.places[0];
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  const { page: phone } = await newPage(browser, { viewport: { width: 360, height: 740 }, locale: 'id-ID' }, problems);
  const sentHellos = hellos(mod);
  await Promise.all([mod.goto(s.links.moderator), phone.goto(s.links.audience)]);
  await Promise.all([online(mod), online(phone)]);

  // ---- the name: asked at the start (not modal: the console works behind it)
  const dlg = mod.locator('#name-dialog');
  assert.equal(await dlg.evaluate((d) => d.open), true, 'asked at the start');
  assert.equal(await mod.evaluate(() => document.querySelector('#name-dialog').matches(':modal')), false, 'not modal');
  assert.notEqual(await mod.evaluate(() => document.activeElement.id), 'mod-name', 'no shortcut key is swallowed by the name field');
  assert.equal(await mod.textContent('#mod-name-btn'), 'Isi nama Anda');
  assert.equal(sentHellos[0].name, undefined, 'no name yet');
  await mod.click('#name-save');
  assert.equal(await mod.textContent('#name-error'), 'Isi nama Anda dulu.');
  await mod.fill('#mod-name', `  ${NAME}  `);
  await mod.press('#mod-name', 'Enter');
  await dlg.waitFor({ state: 'hidden' });
  assert.equal(await mod.evaluate(() => localStorage.getItem('tanya:moderator-name')), NAME);
  assert.equal(await mod.textContent('#mod-name-btn'), NAME);
  assert.equal(await mod.getAttribute('#mod-name-btn', 'aria-label'), `Moderator: ${NAME}. Ganti nama`);
  // the name goes in the hello: the console reconnects once and resumes
  for (const end = Date.now() + 10000; sentHellos.length < 2 && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
  assert.ok(sentHellos.length >= 2, 'a new hello');
  await mod.waitForFunction(() => window.tanya.client.ready && document.querySelector('#conn').dataset.state === 'online');
  assert.equal(sentHellos[sentHellos.length - 1].name, NAME, 'the hello carries the name');
  assert.ok(sentHellos[sentHellos.length - 1].since, 'and resumes where it was');
  await mod.reload();
  await online(mod);
  assert.equal(await dlg.evaluate((d) => d.open), false, 'asked once: not again after a reload');
  assert.equal(sentHellos[sentHellos.length - 1].name, NAME);
  assert.ok(await mod.evaluate(() => Array.isArray(window.tanya.client.view.agencies) && window.tanya.client.view.agencies.some((a) => a.id === 'pupr')), 'the welcome\'s agencies are kept in the view');

  // ---- a question with contact, place and topic: all on the card, small
  const text = 'Sampah menumpuk di TPS dekat sekolah, mohon diangkut.';
  const contact = '+6281298765432';
  const ok = await phone.evaluate((f) => window.tanya.client.submit(f), { type: 'ask', text, contact, place: { kecamatan: place.kecamatan }, topic: opts.topics[0] });
  assert.match(ok.tracking, TRACKING);
  const pending = card(mod, 'pending', text);
  await pending.waitFor();
  assert.equal(await pending.locator('[data-field=contact]').textContent(), contact, 'the contact on the card');
  assert.ok(await pending.locator('[data-field=contact]').isVisible());
  assert.equal(await pending.locator('[data-field=tracking]').textContent(), ok.tracking);
  assert.equal(await pending.locator('[data-field=place]').textContent(), place.kecamatan);
  assert.equal(await pending.locator('[data-field=topic]').textContent(), opts.topics[0]);
  assert.ok(await pending.locator('[data-field=case]').isHidden(), 'no case badge while received and not forwarded');
  const fontSize = await pending.locator('[data-field=contact]').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  const textSize = await pending.locator('[data-field=text]').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(fontSize < textSize, `the contact is small (${fontSize} < ${textSize})`);
  // the search finds a question by its tracking code
  await mod.fill('#search', ok.tracking.toLowerCase());
  assert.equal(await mod.locator('#col-pending .card').count(), 1);
  await mod.fill('#search', '');

  // ---- approve by key; the history names the moderator
  const pickCard = (id) => mod.evaluate((x) => window.tanya.select(x), id);
  await pickCard(await pending.getAttribute('data-qid'));
  await mod.keyboard.press('a');
  const approved = card(mod, 'approved', text);
  await approved.waitFor();
  const qid = await approved.getAttribute('data-qid');
  const h1 = await history(s, qid);
  assert.ok(h1.some((e) => e.by && e.by.name === NAME && e.by.role === 'moderator'), `the history names the moderator: ${JSON.stringify(h1)}`);

  // ---- f: the form, forward to PUPR with the default due date
  await pickCard(qid);
  await mod.keyboard.press('f');
  const caser = approved.locator('.caser');
  await caser.waitFor();
  assert.equal(await mod.evaluate(() => document.activeElement.dataset.field), 'case-agency', 'the agency list has the focus');
  assert.deepEqual(await caser.locator('[data-field=case-action] option').evaluateAll((os) => os.map((o) => o.value)), ['forward', 'resolve', 'decline']);
  assert.equal(await caser.locator('[data-field=case-due]').inputValue(), dayIso(14), 'due today + 14 by default');
  assert.equal(await caser.locator('[data-field=case-due]').getAttribute('type'), 'date');
  // nothing chosen: said at once
  await mod.keyboard.press('Enter');
  assert.equal(await caser.locator('[data-field=case-error]').textContent(), 'Pilih instansi.');
  // an agency the hub does not know: its refusal, in words, in the form
  await caser.locator('[data-field=case-agency]').evaluate((sel) => { sel.append(new Option('Tidak ada', 'tidak-ada')); sel.value = 'tidak-ada'; });
  await caser.locator('[data-act=case-send]').click();
  await caser.locator('[data-field=case-error]', { hasText: /Instansi|tidak ditemukan|tidak dikenal/ }).waitFor();
  assert.ok(await caser.isVisible(), 'the form stays open');
  await caser.locator('[data-field=case-agency]').selectOption('pupr');
  await caser.locator('[data-field=case-note]').fill('Mohon ditindaklanjuti minggu ini');
  await caser.locator('[data-field=case-note]').press('Enter');
  const badge = approved.locator('[data-field=case][data-case-status=forwarded]');
  await badge.waitFor();
  assert.equal(await badge.textContent(), `Diteruskan · PUPR · tenggat ${await mod.evaluate((d) => new Date(`${d}T00:00`).toLocaleDateString('id', { day: 'numeric', month: 'short', year: d.slice(0, 4) === String(new Date().getFullYear()) ? undefined : 'numeric' }), dayIso(14))}`);
  assert.ok(await caser.isHidden(), 'the form closes');
  assert.ok(await approved.locator('[data-field=overdue]').isHidden(), 'not overdue');
  const q1 = await mod.evaluate((id) => window.tanya.client.view.questions.get(id).case, qid);
  assert.equal(q1.status, 'forwarded');
  assert.equal(q1.agency, 'pupr');
  assert.equal(q1.due, dayIso(14));
  // overdue: a due date in the past shows "terlambat"
  await mod.evaluate((id) => {
    const c = window.tanya.client;
    const q = c.view.questions.get(id);
    c.view.questions.set(id, { ...q, case: { ...q.case, due: '2020-01-31', overdue: undefined } });
    c.emit('change', {});
  }, qid);
  await approved.locator('[data-field=overdue]:not([hidden])', { hasText: 'terlambat' }).waitFor();
  await mod.evaluate((id) => { const c = window.tanya.client; const q = c.view.questions.get(id); c.view.questions.set(id, { ...q, case: { ...q.case, due: '2999-01-01' } }); c.emit('change', {}); }, qid);
  await approved.locator('[data-field=overdue]').waitFor({ state: 'hidden' });

  // ---- publish toggle, resolve, reopen: the same form
  await approved.locator('[data-act=forward]').click();
  await caser.locator('[data-act=case-publish]', { hasText: 'Tampilkan di papan publik' }).click();
  await approved.locator('[data-field=public]:not([hidden])').waitFor();
  await caser.locator('[data-act=case-publish][aria-pressed=true]', { hasText: 'Sembunyikan dari papan publik' }).waitFor();
  await caser.locator('[data-field=case-action]').selectOption('resolve');
  assert.ok(await caser.locator('[data-field=case-answer]').isVisible());
  assert.ok(await caser.locator('[data-field=case-agency]').isHidden());
  await caser.locator('[data-field=case-answer]').fill('Sampah sudah diangkut pada hari Selasa.');
  await caser.locator('[data-field=case-answer]').press('Control+Enter');
  await approved.locator('[data-field=case][data-case-status=resolved]', { hasText: 'Selesai · PUPR' }).waitFor();
  await pickCard(qid);
  await mod.keyboard.press('f');
  assert.deepEqual(await caser.locator('[data-field=case-action] option').evaluateAll((os) => os.map((o) => o.value)), ['reopen'], 'a resolved case can only be reopened');
  await caser.locator('[data-field=case-note]').fill('Warga melapor sampah menumpuk lagi');
  await caser.locator('[data-act=case-send]').click();
  await approved.locator('[data-field=case][data-case-status=reopened]').waitFor();

  // ---- h: who did what, when
  await pickCard(qid);
  await mod.keyboard.press('h');
  const hist = approved.locator('[data-field=history][data-state=ready]');
  await hist.waitFor();
  const rows = await hist.locator('li').evaluateAll((lis) => lis.map((li) => [li.dataset.action, li.querySelector('[data-field=by]').textContent, li.textContent]));
  for (const a of ['forward', 'publish', 'resolve', 'reopen']) {
    assert.ok(rows.some(([act, by]) => act === a && by.startsWith(NAME)), `${a} by ${NAME}: ${JSON.stringify(rows)}`);
  }
  // (the history API names no agency in a forward entry: the note is shown)
  assert.ok(rows.some(([act, , all]) => act === 'forward' && /Diteruskan/.test(all) && /Mohon ditindaklanjuti minggu ini/.test(all)), JSON.stringify(rows));
  assert.ok(rows.some(([act, , all]) => act === 'resolve' && /Diselesaikan → Selesai/.test(all) && /Sampah sudah diangkut/.test(all)), JSON.stringify(rows));
  assert.ok(rows.every(([, , all]) => /\d{2}[.:]\d{2}/.test(all)), 'each with its time');
  await mod.keyboard.press('h');
  await approved.locator('[data-field=history]').waitFor({ state: 'hidden' });

  // ---- the operator entry: the same optional fields
  await mod.click('#op-followup summary');
  await mod.waitForFunction(() => document.querySelectorAll('#op-kecamatan option').length > 1);
  await mod.fill('#op-text', 'Penelepon: lampu jalan mati di depan masjid.');
  await mod.fill('#op-name', 'Pak Rudi');
  await mod.fill('#op-contact', '0811223344');
  await mod.selectOption('#op-kecamatan', place.kecamatan);
  if (place.kelurahan.length) await mod.selectOption('#op-kelurahan', place.kelurahan[0]);
  await mod.selectOption('#op-topic', opts.topics[1] || opts.topics[0]);
  await mod.click('#op-submit');
  const entered = card(mod, 'pending', 'lampu jalan mati');
  await entered.waitFor();
  assert.equal(await entered.locator('[data-field=contact]').textContent(), '0811223344');
  assert.equal(await entered.locator('[data-field=place]').textContent(), [place.kelurahan[0], place.kecamatan].filter(Boolean).join(', '));
  assert.equal(await entered.locator('[data-field=topic]').textContent(), opts.topics[1] || opts.topics[0]);
  await mod.locator('#op-status', { hasText: 'Kode lacak' }).waitFor();
  assert.equal(await mod.inputValue('#op-contact'), '', 'cleared for the next caller');
  // a bad contact in the entry: the hub's refusal, in words
  await mod.fill('#op-text', 'Penelepon kedua dengan nomor salah');
  await mod.fill('#op-contact', 'abc');
  await mod.click('#op-submit');
  await mod.locator('#op-status', { hasText: 'Nomor HP/WhatsApp atau e-mail tidak dapat diterima' }).waitFor();
  assert.equal(await mod.inputValue('#op-text'), 'Penelepon kedua dengan nomor salah', 'kept to fix');

  // ---- the screenshot: a forwarded card with its history, and the form open on another
  await pickCard(await entered.getAttribute('data-qid'));
  await mod.keyboard.press('f');
  await entered.locator('.caser').waitFor();
  await approved.locator('[data-act=history]').click();
  await approved.locator('[data-field=history][data-state=ready]').waitFor();
  await mod.evaluate(() => window.scrollTo(0, 0));
  await mod.screenshot({ path: path.join(OUT, 'console-followup.png') });
  assert.ok(fs.statSync(path.join(OUT, 'console-followup.png')).size > 1000);
  assert.deepEqual(problems, []);
});

test('downloads: Excel and CSV with the key in a header only; the report link opens in a new tab', async () => {
  const s = await createSession('Konsol: unduhan');
  const key = moderatorKey(s);
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID', acceptDownloads: true }, problems);
  await mod.addInitScript(() => localStorage.setItem('tanya:moderator-name', 'Rina'));
  const requests = [];
  mod.on('request', (r) => { if (!r.isNavigationRequest()) requests.push({ url: r.url(), auth: r.headers().authorization || '' }); });
  await mod.goto(s.links.moderator);
  await online(mod);
  assert.equal(await mod.locator('#name-dialog').evaluate((d) => d.open), false, 'a known name is not asked');
  await mod.evaluate(() => window.tanya.client.submit({ type: 'enter', text: 'Pertanyaan untuk diunduh', channel: 'sms', contact: '081300001111' }));
  await card(mod, 'pending', 'Pertanyaan untuk diunduh').waitFor();

  const [xlsx] = await Promise.all([mod.waitForEvent('download'), mod.click('#export-xlsx')]);
  const xb = fs.readFileSync(await xlsx.path());
  assert.equal(xb.subarray(0, 2).toString('latin1'), 'PK', 'an XLSX (zip) file');
  assert.match(xlsx.suggestedFilename(), /\.xlsx$/);
  await mod.locator('#export-status', { hasText: 'Unduhan siap' }).waitFor();
  const [csv] = await Promise.all([mod.waitForEvent('download'), mod.click('#export-csv')]);
  const cb = fs.readFileSync(await csv.path());
  const ct = cb.toString('utf8');
  assert.equal(cb.subarray(0, 3).toString('hex'), 'efbbbf', 'UTF-8 with BOM');
  assert.ok(ct.includes('Pertanyaan untuk diunduh'), 'the question is in the CSV');
  assert.ok(ct.split('\n')[0].includes(';'), 'office layout: semicolons');
  assert.match(csv.suggestedFilename(), /\.csv$/);
  const exports = requests.filter((r) => r.url.includes('/export'));
  assert.equal(exports.length, 2);
  assert.deepEqual(exports.map((r) => new URL(r.url).search), ['?format=xlsx', '?format=csv&layout=office']);
  for (const r of exports) assert.equal(r.auth, `Bearer ${key}`, 'the key as Bearer');
  assert.deepEqual(requests.filter((r) => r.url.includes(encodeURIComponent(key)) || r.url.includes(key)), [], 'the key is in no address requested');

  const link = mod.locator('#report-link');
  assert.equal(await link.textContent(), 'Laporan');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await link.getAttribute('href'), `/r/${sessionIdOf(s)}#k=${encodeURIComponent(key)}`);
  assert.deepEqual(problems, []);
});
