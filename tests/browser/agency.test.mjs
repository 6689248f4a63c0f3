// The agency's inbox /a/{agency}#k=KEY: two agencies, cases forwarded to each from /admin
// (through its form); agency A sees only its own, with the citizen's contact as links, answers
// one through the page (the hub has it resolved, by the officer named on the page); an empty and
// a too long answer are explained next to the field; a case changed meanwhile is explained; the
// page picks up new cases when it gets the focus back; A's key on B's address is refused in words.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, hub, createSession, online } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const DESK = { width: 1180, height: 900 };
const PHONE = { width: 360, height: 740 };
let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

/** A page that records page errors and console errors, and accepts (and records) dialogs. */
async function openPage(opts, problems) {
  const ctx = await browser.newContext({ locale: 'id-ID', ...opts });
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

const rebase = (link, base) => { const u = new URL(link); return `${base}${u.pathname}${u.search}${u.hash}`; };

/** Operator entries with contacts, through the moderator page's own client (setup). */
async function enter(mod, entries) {
  return mod.evaluate(async (entries) => {
    const out = [];
    for (const e of entries) out.push((await window.tanya.client.send({ type: 'enter', ref: crypto.randomUUID(), ...e })).question);
    return out;
  }, entries);
}

/** The office forwards a case in /admin through the case's own form. */
async function forwardInAdmin(admin, qid, agencyId, note) {
  const li = admin.locator(`#cases li[data-question="${qid}"]`);
  await li.locator('[data-act=forward]').click();
  await li.locator('[data-input=agency]').selectOption(agencyId);
  await li.locator('[data-input=text]').fill(note);
  await li.locator('[data-act=submit]').click();
  await admin.locator(`#cases li[data-question="${qid}"][data-status=forwarded][data-agency="${agencyId}"]`).waitFor();
}

async function caseOf(token, sessionId, qid) {
  const r = await call('GET', `/api/cases?session=${encodeURIComponent(sessionId)}`, token);
  assert.equal(r.status, 200);
  return r.body.cases.find((c) => c.question === qid);
}

test('an agency sees only its own cases with the contact, answers one; bad answers, a stale case and a wrong key are explained', async () => {
  const { base, token } = await hub();
  const problems = [];
  const title = `Dialog Publik Wong Kito #${Date.now() % 1000}`;
  const s = await createSession(title);
  const sessionId = new URL(s.links.moderator).pathname.split('/')[2];
  const tag = Date.now().toString(36);

  const made = [];
  for (const [name, short, id] of [['Dinas Pekerjaan Umum dan Penataan Ruang', 'PUPR', `pupr-${tag}`], ['Dinas Lingkungan Hidup', 'DLH', `dlh-${tag}`]]) {
    const r = await call('POST', '/api/agencies', token, { name, short, id });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.id, id);
    assert.match(r.body.link, new RegExp(`/a/${id}#k=`));
    made.push(r.body);
  }
  const [A, B] = made;

  // questions with contacts, entered by the operator
  const { page: mod } = await openPage({ viewport: DESK }, problems);
  await mod.goto(s.links.moderator);
  await online(mod);
  const texts = [
    'Jalan di depan SD Negeri 12 Demang Lebar Daun berlubang besar, kapan diperbaiki?',
    'Sampah di pasar Cinde menumpuk sudah seminggu tidak diangkut.',
    'Drainase di Jalan Sukabangun tersumbat, tiap hujan banjir sampai lutut.',
    'Lampu penerangan jalan di Jakabaring padam sejak sebulan.',
    'Pohon tumbang menutup jalan di Plaju sejak kemarin.',
  ];
  const [qa, qb, qc, qd, qe] = await enter(mod, [
    { text: texts[0], name: 'Budi Santoso', channel: 'sms', contact: '081234567890', topic: 'jalan', place: { kecamatan: 'Ilir Barat I', kelurahan: 'Demang Lebar Daun' } },
    { text: texts[1], name: 'Siti', channel: 'whatsapp', contact: '+6281377778888', topic: 'sampah' },
    { text: texts[2], name: '<img src=x onerror="window.__pwned=1">', channel: 'sms', contact: 'warga.sukabangun@example.org', topic: 'banjir' },
    { text: texts[3], name: 'Andi', channel: 'sms', contact: '0813 7777 6666', topic: 'jalan' },
    { text: texts[4], name: 'Rudi', channel: 'sms', contact: '085266667777', topic: 'jalan', place: { kecamatan: 'Plaju' } },
  ]);
  for (const q of [qa, qb, qc, qd, qe]) assert.match(q.tracking, /^[2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{3}$/, 'each entry has a tracking code');

  // the office forwards one case to each agency (and a second one to A) in /admin
  const { page: admin } = await openPage({ viewport: DESK }, problems);
  await admin.goto(`${base}/admin`);
  await admin.fill('#admin-token', token);
  await admin.click('#token-save');
  await admin.fill('#office-name', 'Rina Humas');
  await admin.click('#office-name-save');
  await admin.selectOption('#case-session', sessionId);
  await admin.locator(`#cases li[data-question="${qa.id}"]`).waitFor();
  const noteA = 'Mohon ditinjau ke lokasi minggu ini.';
  await forwardInAdmin(admin, qa.id, A.id, noteA);
  await forwardInAdmin(admin, qb.id, B.id, 'Untuk DLH.');
  await forwardInAdmin(admin, qc.id, A.id, 'Koordinasikan dengan kecamatan.');
  // one whose due date has passed (forwarded days ago, as far as the hub can tell)
  const past = new Date(Date.now() - 5 * 86400000).toISOString().slice(0, 10);
  const late = await call('POST', `/api/cases/${qe.id}`, token, { action: 'forward', agency: A.id, due: past, by: 'Rina Humas' });
  assert.equal(late.status, 200, JSON.stringify(late.body));
  assert.equal(late.body.case.overdue, true);

  // agency A's inbox
  const { page } = await openPage({ viewport: DESK }, problems);
  await page.goto(`${rebase(A.link, base)}`);
  await page.locator(`#cases li[data-question="${qa.id}"]`).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the key leaves the address bar');
  assert.match(await page.textContent('#agency-name'), /Dinas Pekerjaan Umum dan Penataan Ruang \(PUPR\)/);

  // the officer's name is asked once and kept
  assert.equal(await page.isVisible('#officer-form'), true, 'the name is asked on first use');
  await page.fill('#officer-name', 'Sari Wulandari');
  await page.click('#officer-save');
  await page.locator('#officer-current', { hasText: 'Sari Wulandari' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('tanya:agency-name')), 'Sari Wulandari');
  assert.equal(await page.isHidden('#officer-form'), true);

  // only A's cases, not B's: the overdue one first ("Terlambat"), then by due date
  const listed = await page.$$eval('#cases > li', (els) => els.map((el) => el.dataset.tracking));
  assert.deepEqual(listed, [qe.tracking, qa.tracking, qc.tracking]);
  const lateCard = page.locator(`#cases > li[data-question="${qe.id}"]`);
  assert.equal(await lateCard.getAttribute('data-overdue'), 'true');
  assert.equal(await lateCard.locator('[data-field=overdue]').textContent(), 'Terlambat');
  assert.equal(await lateCard.locator('[data-field=overdue]').isVisible(), true);
  assert.equal(await page.locator(`#cases > li[data-question="${qa.id}"] [data-field=overdue]`).isHidden(), true);
  assert.equal(await page.textContent('#counts'), '3 perlu ditangani, 1 terlambat');
  assert.equal(await page.locator('#cases', { hasText: texts[1] }).count(), 0, "B's case is not shown");
  assert.equal(await page.locator('#cases', { hasText: qb.tracking }).count(), 0);
  const direct = await call('GET', `/api/agency/${A.id}/cases`, new URL(A.link).hash.slice(3));
  assert.deepEqual(direct.body.cases.map((c) => c.question).sort(), [qe.id, qa.id, qc.id].sort(), 'the API agrees');
  assert.equal(direct.body.cases[0].question, qe.id, 'the API too puts the overdue one first');

  // the case as the agency sees it: contact as links, the office's note, session, topic, status
  const card = page.locator(`#cases li[data-question="${qa.id}"]`);
  assert.equal(await card.locator('[data-field=tracking]').textContent(), qa.tracking);
  assert.equal(await card.locator('[data-field=text]').textContent(), texts[0]);
  assert.equal(await card.locator('[data-field=session]').textContent(), title);
  assert.equal(await card.locator('[data-field=name]').textContent(), 'Budi Santoso');
  assert.equal(await card.locator('[data-field=topic]').textContent(), 'jalan');
  assert.equal(await card.locator('[data-field=place]').textContent(), 'Demang Lebar Daun, Ilir Barat I');
  assert.equal(await lateCard.locator('[data-field=place]').textContent(), 'Plaju');
  assert.equal(await card.locator('[data-field=note]').textContent(), noteA);
  assert.equal(await card.locator('[data-field=status]').textContent(), 'Baru diteruskan');
  assert.match(await card.locator('[data-field=due]').textContent(), /^Batas waktu \d{1,2} \S+ \d{4}$/);
  const tel = card.locator('[data-field=contact] a[data-contact-kind=tel]');
  assert.equal(await tel.textContent(), '081234567890');
  assert.equal(await tel.getAttribute('href'), 'tel:+6281234567890');
  assert.equal(await card.locator('[data-field=contact] a[data-contact-kind=whatsapp]').getAttribute('href'), 'https://wa.me/6281234567890');
  // a name with markup is shown as text and never runs
  assert.equal(await page.locator(`#cases li[data-question="${qc.id}"] [data-field=name]`).textContent(), '<img src=x onerror="window.__pwned=1">');
  assert.equal(await page.locator('#cases img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const mail = page.locator(`#cases li[data-question="${qc.id}"] [data-field=contact] a[data-contact-kind=mail]`);
  assert.equal(await mail.getAttribute('href'), 'mailto:warga.sukabangun@example.org');
  assert.equal(await card.locator('[data-act=acknowledge]').textContent(), 'Terima');
  assert.equal(await card.locator('[data-act=return]').textContent(), 'Kembalikan ke humas');
  assert.equal(await card.locator('details.history li[data-action=forward]').count(), 1, 'the forward is in the history');

  // screenshots: the desk and a phone
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(OUT, 'agency.png') });
  const { page: phone } = await openPage({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true }, problems);
  await phone.goto(rebase(A.link, base));
  await phone.locator(`#cases li[data-question="${qa.id}"]`).waitFor();
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth), PHONE.width, 'no sideways scrolling at 360 px');
  await phone.fill('#officer-name', 'Sari Wulandari');
  await phone.click('#officer-save');
  await phone.locator('#officer-bar:not([hidden])').waitFor();
  const heights = await phone.$$eval('#cases > li:first-child .actions button', (bs) => bs.filter((b) => b.getClientRects().length > 0).map((b) => b.getBoundingClientRect().height));
  assert.equal(heights.length, 4, 'Terima, Jawab, Tolak, Kembalikan ke humas');
  assert.ok(heights.every((x) => x >= 40), `action buttons are at least 40 px tall on a phone (${heights})`);
  await phone.screenshot({ path: path.join(OUT, 'agency-phone.png') });
  for (const f of ['agency.png', 'agency-phone.png']) assert.ok(fs.statSync(path.join(OUT, f)).size > 5000, f);

  // "Jawab" with nothing typed: told next to the field, nothing sent
  await card.locator('[data-act=resolve]').click();
  const answer = card.locator('textarea[data-field=input]');
  assert.equal(await answer.evaluate((el) => el === document.activeElement), true, 'the answer field takes the focus');
  await card.locator('[data-act=submit]').click();
  await card.locator('[data-field=error]', { hasText: 'Jawaban wajib diisi' }).waitFor();
  assert.equal(await answer.getAttribute('aria-invalid'), 'true');
  assert.equal((await caseOf(token, sessionId, qa.id)).status, 'forwarded');

  // too long: the hub refuses it (400) and its own words show next to the field
  await answer.fill('a'.repeat(2001));
  await card.locator('[data-act=submit]').click();
  const serverMsg = card.locator('[data-field=error] .server-message');
  await serverMsg.waitFor();
  assert.ok((await serverMsg.textContent()).trim().length > 'Keterangan sistem:'.length, 'the hub\'s message is shown');
  assert.match(await card.locator('[data-field=error]').textContent(), /^Jawaban wajib diisi, paling panjang 2000 karakter\./);
  assert.equal((await caseOf(token, sessionId, qa.id)).status, 'forwarded', 'nothing changed');

  // the answer
  const text = 'Tim PUPR sudah meninjau lokasi; penambalan dijadwalkan Senin depan.';
  await answer.fill(text);
  await card.locator('[data-act=submit]').click();
  await page.locator('#notice', { hasText: `Jawaban untuk ${qa.tracking} terkirim` }).waitFor();
  await card.waitFor({ state: 'detached' }); // done: it leaves the "to handle" list
  const resolved = await caseOf(token, sessionId, qa.id);
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.answer, text);
  const last = resolved.history[resolved.history.length - 1];
  assert.equal(last.action, 'resolve');
  assert.equal(last.by.name, 'Sari Wulandari', 'the officer named on the page');
  assert.equal(last.by.role, 'agency');
  await page.click('#filter-done');
  const doneCard = page.locator(`#cases li[data-question="${qa.id}"][data-status=resolved]`);
  await doneCard.waitFor();
  assert.equal(await doneCard.locator('[data-field=answer]').textContent(), text);
  assert.equal(await doneCard.locator('.actions').isHidden(), true, 'nothing more to do on it');

  // changed meanwhile: the office answers C while the page still shows it open
  await page.click('#filter-open');
  const cardC = page.locator(`#cases li[data-question="${qc.id}"]`);
  await cardC.waitFor();
  const r = await call('POST', `/api/cases/${qc.id}`, token, { action: 'resolve', answer: 'Sudah ditangani kecamatan.', by: 'Rina Humas' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await cardC.locator('[data-act=acknowledge]').click();
  await page.locator('#notice', { hasText: `Kasus ${qc.tracking} sudah diubah orang lain` }).waitFor();
  await cardC.waitFor({ state: 'detached' }); // reloaded: it is done now

  // a new case arrives while the page is open: it shows when the window gets the focus back
  assert.equal(await page.locator(`#cases li[data-question="${qd.id}"]`).count(), 0);
  const f = await call('POST', `/api/cases/${qd.id}`, token, { action: 'forward', agency: A.id, note: 'Lampu jalan.', by: 'Rina Humas' });
  assert.equal(f.status, 200, JSON.stringify(f.body));
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await page.locator(`#cases li[data-question="${qd.id}"][data-status=forwarded]`).waitFor();
  const landline = page.locator(`#cases li[data-question="${qd.id}"] [data-field=contact] a[data-contact-kind=tel]`);
  assert.equal(await landline.getAttribute('href'), 'tel:+6281377776666');

  // acknowledge: "Terima" moves it to in progress, by the officer
  await page.locator(`#cases li[data-question="${qd.id}"] [data-act=acknowledge]`).click();
  await page.locator(`#cases li[data-question="${qd.id}"][data-status=in_progress]`).waitFor();
  assert.equal((await caseOf(token, sessionId, qd.id)).status, 'in_progress');

  // A's key on B's address: refused, in words, nothing listed
  const { page: wrong } = await openPage({ viewport: DESK }, problems);
  await wrong.goto(`${base}/a/${B.id}#k=${new URL(A.link).hash.slice(3)}`);
  const fatal = wrong.locator('#fatal:not([hidden])');
  await fatal.waitFor();
  assert.equal(await fatal.textContent(), 'Tautan ini tidak berlaku: salah atau sudah diganti dengan yang baru. Minta tautan yang baru kepada humas.');
  assert.equal(await wrong.isHidden('#inbox'), true);
  assert.equal(await wrong.locator('#cases > li').count(), 0);
  assert.equal((await call('GET', `/api/agency/${B.id}/cases`, new URL(A.link).hash.slice(3))).status, 401);
  // and in English
  await wrong.click('#lang-en');
  await wrong.locator('#fatal', { hasText: 'This link does not work' }).waitFor();

  // the only console errors allowed are the browser's own lines about the refused requests
  assert.deepEqual(problems.filter((p) => !/^console: Failed to load resource: .*\b(400|401|409)\b/.test(p)), []);
});
