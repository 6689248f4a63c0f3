// The console and the radio desk / gateways (issue #12): the desk link and the gateway address in
// the links panel (a new desk link, a new gateway password: the old one refused by the intake
// API), where each entry came from on its card (radio desk + station, gateway + channel, the
// operator's own entry), the credit on air (key c: the card, the console's preview and the
// overlay's lower third, off again), and the session edited from the console ("Ubah": title,
// speakers added, removed, renamed, reordered, start time set and cleared) reaching the speaker
// screen and the phone page, with the hub's refusals shown in the form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, createSession, newPage, online, card, BASE, ADMIN_TOKEN } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const DESK = { width: 1440, height: 900 };
const HD = { width: 1920, height: 1080 };

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

const keyOf = (link) => new URLSearchParams(new URL(link).hash.slice(1)).get('k');

/** The session as GET /api/sessions lists it (keys and links included). */
async function listed(id) {
  const r = await fetch(`${BASE}/api/sessions`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(r.status, 200);
  const item = (await r.json()).sessions.find((x) => x.session.id === id);
  assert.ok(item, `session ${id} listed`);
  return item;
}

async function intake(id, key, body) {
  const r = await fetch(`${BASE}/api/sessions/${id}/intake`, {
    method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  let json = null;
  try { json = await r.json(); } catch { json = null; }
  return { status: r.status, body: json };
}

/** A radio desk entry, through a desk socket opened from a page of the hub (the desk page itself
 *  is another helper's). */
function deskEnter(page, session, key, frame) {
  return page.evaluate(({ session, key, frame }) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    const timer = setTimeout(() => { ws.close(); reject(new Error('desk: no answer')); }, 8000);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', role: 'desk', session, key, name: 'Rina' }));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'enter', ref: `desk-${Date.now()}`, ...frame }));
      else if (m.type === 'ok' || m.type === 'error') { clearTimeout(timer); ws.close(); resolve(m); }
    };
    ws.onclose = (e) => { clearTimeout(timer); if (e.code >= 4000) resolve({ type: 'closed', code: e.code }); };
  }), { session, key, frame });
}

/** Font size in pixels of the output picture. */
const renderedSize = (page, sel) => page.evaluate((s) => {
  const el = document.querySelector(s);
  const stage = document.getElementById('stage');
  const scale = stage.getBoundingClientRect().width / stage.offsetWidth;
  return el && el.offsetParent !== null ? parseFloat(getComputedStyle(el).fontSize) * scale : null;
}, sel);

test('desk link and gateway address in the console; where entries came from; the credit on the card, the preview and the overlay', async () => {
  const s = await createSession('Dialog Interaktif RRI: Banjir dan Drainase');
  const id = s.session.id;
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  mod.removeAllListeners('dialog');
  const dialogs = [];
  mod.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  await mod.goto(s.links.moderator);
  await online(mod);
  await mod.click('#name-later');

  // The links panel: the desk link and the gateway address (no password in the console).
  assert.equal(await mod.inputValue('#link-desk'), s.links.desk);
  assert.equal(await mod.inputValue('#link-intake'), s.links.intake);
  assert.ok(!(await mod.inputValue('#link-intake')).includes(s.keys.intake), 'no gateway password in the console');
  assert.equal(await mod.textContent('label[for=link-desk]'), 'Meja radio (penerima telepon)');
  assert.match(await mod.textContent('#intake-hint'), /halaman admin \(\/admin\)/);
  assert.equal(await mod.textContent('[data-rotate=desk]'), 'Tautan baru');
  assert.equal(await mod.textContent('[data-rotate=intake]'), 'Ganti sandi');

  // A new desk link: confirmed, shown, and the one the hub now has.
  await mod.click('[data-rotate=desk]');
  await mod.waitForFunction((old) => { const v = document.querySelector('#link-desk').value; return v && keyOf(v) !== old; function keyOf(l) { return new URLSearchParams(new URL(l).hash.slice(1)).get('k'); } }, s.keys.desk);
  assert.equal(dialogs.length, 1);
  assert.match(dialogs[0], /meja radio/);
  const deskKey = keyOf(await mod.inputValue('#link-desk'));
  assert.equal((await listed(id)).keys.desk, deskKey);
  await mod.locator('#notice', { hasText: 'Tautan baru dibuat' }).waitFor();
  // the old desk key no longer gets in
  const refused = await deskEnter(mod, id, s.keys.desk, { text: 'Tidak boleh masuk', channel: 'phone' });
  assert.equal(refused.type, 'closed');
  assert.equal(refused.code, 4401);

  // A new gateway password: the old one gets 401 from the intake API, the new one (in /admin) works.
  assert.equal((await intake(id, s.keys.intake, { ref: 'sms-1', channel: 'sms', text: 'Sebelum ganti sandi', name: 'Budi' })).status, 200);
  await mod.click('[data-rotate=intake]');
  await mod.locator('#notice', { hasText: 'Sandi gateway diganti' }).waitFor();
  assert.equal(dialogs.length, 2);
  assert.match(dialogs[1], /^Ganti sandi gateway SMS\/WhatsApp\?/);
  const intakeKey = (await listed(id)).keys.intake;
  assert.notEqual(intakeKey, s.keys.intake);
  const old = await intake(id, s.keys.intake, { ref: 'sms-2', channel: 'sms', text: 'Dengan sandi lama', name: 'Budi' });
  assert.equal(old.status, 401, JSON.stringify(old.body));
  assert.equal((await intake(id, intakeKey, { ref: 'sms-3', channel: 'whatsapp', text: 'Kapan gorong-gorong di Jalan Kapten Rivai dibersihkan?', name: 'Budi' })).status, 200);
  assert.equal(await mod.inputValue('#link-intake'), s.links.intake, 'the address stays');

  // Where each entry came from.
  const gw = card(mod, 'pending', 'Kapan gorong-gorong di Jalan Kapten Rivai dibersihkan?');
  await gw.waitFor();
  assert.equal(await gw.locator('[data-field=via]').textContent(), 'Gateway · WhatsApp');
  assert.equal(await gw.locator('[data-field=via]').getAttribute('data-via'), 'gateway');
  assert.ok(await gw.locator('[data-field=source]').isHidden(), 'no OPERATOR badge beside it');
  const ok = await deskEnter(mod, id, deskKey, { text: 'Air selalu naik di Lorong Sukarela tiap hujan deras, kapan ditangani?', channel: 'phone', station: 'RRI Palembang', name: 'Pak Darto', contact: '081234567890' });
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  const dk = card(mod, 'pending', 'Air selalu naik di Lorong Sukarela');
  await dk.waitFor();
  assert.equal(await dk.locator('[data-field=via]').textContent(), 'Meja radio · RRI Palembang · Telepon');
  assert.equal(await dk.locator('[data-field=via]').getAttribute('data-via'), 'desk');
  await mod.evaluate(() => window.tanya.client.send({ type: 'enter', ref: `op-${Date.now()}`, text: 'Pertanyaan dari studio Sonora', channel: 'radio', station: 'Sonora FM Palembang', name: 'Ibu Sari' }));
  const op = card(mod, 'pending', 'Pertanyaan dari studio Sonora');
  await op.waitFor();
  assert.equal(await op.locator('[data-field=source]').textContent(), 'OPERATOR · Radio · Sonora FM Palembang');
  assert.ok(await op.locator('[data-field=via]').isHidden(), 'an operator entry has no desk or gateway badge');
  // no credit while still incoming
  assert.equal(await dk.locator('[data-act=credit]').count(), 0);

  // The desk entry on air, credited with c.
  await dk.locator('[data-act=approve]').click();
  const live = card(mod, 'approved', 'Air selalu naik di Lorong Sukarela');
  await live.locator('[data-act=live]').click();
  const onAir = card(mod, 'live', 'Air selalu naik di Lorong Sukarela');
  await onAir.waitFor();
  const credit = onAir.locator('[data-act=credit]');
  assert.equal(await credit.getAttribute('aria-pressed'), 'false');
  assert.ok(await onAir.locator('[data-field=credit]').isHidden());
  assert.ok(await mod.locator('#preview-lt-credit').isHidden(), 'no credit in the preview yet');
  const { page: overlay } = await newPage(browser, { viewport: HD }, problems);
  await overlay.goto(s.links.overlay);
  await overlay.waitForSelector('body[data-conn=online]');
  await mod.evaluate(() => window.tanya.select(document.querySelector('#col-live .card').dataset.qid));
  await mod.keyboard.press('c');
  await mod.waitForFunction(() => document.querySelector('#col-live [data-act=credit]')?.getAttribute('aria-pressed') === 'true');
  assert.equal(await onAir.locator('[data-field=credit]').textContent(), 'Kredit: via telepon · RRI Palembang');
  await mod.waitForFunction(() => document.querySelector('#preview-lt-credit').textContent === 'via telepon · RRI Palembang');
  assert.ok(await mod.locator('#preview-lt-credit').isVisible());
  assert.equal(await mod.evaluate(() => [...window.tanya.client.view.questions.values()].find((q) => q.status === 'live').credit), true);

  // Taken on air: the overlay's lower third says it, in a small line at least 1/30 of the picture.
  await mod.click('#overlay-take');
  await overlay.waitForSelector('#lower-third.on');
  await overlay.waitForFunction(() => document.querySelector('#lt-credit').textContent === 'via telepon · RRI Palembang');
  assert.ok(await overlay.locator('#lt-credit').isVisible());
  assert.equal(await overlay.textContent('#lt-asker'), 'Pak Darto');
  assert.ok(!(await overlay.textContent('#lower-third')).includes('081234567890'), 'the caller\'s number never on air');
  const size = await renderedSize(overlay, '#lt-credit');
  assert.ok(size >= HD.height / 30 - 0.01, `credit line ${size} px`);
  assert.ok(await renderedSize(overlay, '#lt-text') >= HD.height / 24 - 0.01);
  await overlay.waitForTimeout(150);
  await overlay.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'));
  await overlay.screenshot({ path: path.join(OUT, 'overlay-credit.png'), omitBackground: true });
  await mod.waitForFunction(() => document.querySelector('#preview-lt-credit').textContent === 'via telepon · RRI Palembang');
  await mod.screenshot({ path: path.join(OUT, 'console-desk.png') });

  // Credit off again (the button this time): gone from the card and the overlay.
  await credit.click();
  await overlay.waitForFunction(() => document.querySelector('#lt-credit').hidden);
  assert.ok(await overlay.locator('#lower-third.on').isVisible(), 'still on air');
  await mod.waitForFunction(() => document.querySelector('#col-live [data-act=credit]')?.getAttribute('aria-pressed') === 'false');
  assert.ok(await onAir.locator('[data-field=credit]').isHidden());
  // the shortcut bar names the key
  assert.match(await mod.textContent('#shortcuts'), /c\s*kredit\b/);
  assert.deepEqual(problems, []);
});

test('the session edited from the console: title, speakers, start time reach the speaker screen and the phone; the hub\'s refusals in the form', async () => {
  const s = await createSession('Ngobrol Bareng Sekda');
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  await mod.goto(s.links.moderator);
  await online(mod);
  await mod.click('#name-later');
  const screenUrl = new URL(s.links.screen);
  screenUrl.search = '?speaker=s1';
  const { page: screen } = await newPage(browser, { viewport: HD, locale: 'id-ID' }, problems);
  await screen.goto(screenUrl.toString());
  await online(screen);
  assert.equal(await screen.textContent('#speaker-name'), 'Drs Ratu Dewa MSi');
  const { page: phone } = await newPage(browser, { viewport: { width: 360, height: 640 }, locale: 'id-ID' }, problems);
  await phone.goto(s.links.audience);
  await online(phone);
  assert.ok(await phone.locator('#session-start').isHidden(), 'no start time yet');
  assert.ok(await mod.locator('#session-start').isHidden());

  // Open the form: it holds the session as it is.
  await mod.click('#session-edit');
  const dlg = mod.locator('#session-dialog[open]');
  await dlg.waitFor();
  assert.equal(await mod.inputValue('#edit-title'), 'Ngobrol Bareng Sekda');
  assert.equal(await mod.inputValue('#edit-start'), '');
  assert.deepEqual(await mod.$$eval('#edit-speakers li', (ls) => ls.map((li) => [li.dataset.speakerId, li.querySelector('[name=edit-speaker-name]').value])), [['s1', 'Drs Ratu Dewa MSi'], ['s2', 'Ir. Budi Santoso']]);
  // keys typed in the form are not shortcuts
  await mod.fill('#edit-title', 'Ngobrol Bareng Sekda: Banjir');
  // a missing role is caught before sending
  await mod.click('#edit-add-speaker');
  const rows = mod.locator('#edit-speakers li');
  await rows.nth(2).locator('[name=edit-speaker-name]').fill('Fitrianti Agustinda');
  await mod.click('#edit-save');
  assert.equal(await mod.textContent('#edit-error'), 'Setiap narasumber perlu nama dan jabatan.');
  await rows.nth(2).locator('[name=edit-speaker-role]').fill('Wakil Wali Kota');
  // the new speaker first, the second one removed, the first renamed
  await rows.nth(2).locator('[data-speaker-act=up]').click();
  await rows.nth(1).locator('[data-speaker-act=up]').click();
  await rows.nth(2).locator('[data-speaker-act=remove]').click();
  await rows.nth(1).locator('[name=edit-speaker-name]').fill('Drs. Ratu Dewa, M.Si.');
  await mod.fill('#edit-start', '2026-12-18T19:00');
  // a name over 100 characters (past the field's limit): the hub refuses it, said in the form
  await rows.nth(0).locator('[name=edit-speaker-name]').evaluate((el) => { el.value = 'N'.repeat(150); });
  await mod.click('#edit-save');
  await mod.locator('#edit-error', { hasText: 'Daftar narasumber tidak diterima' }).waitFor();
  assert.ok(await dlg.isVisible(), 'the form stays open');
  assert.equal(await mod.evaluate(() => window.tanya.client.view.session.title), 'Ngobrol Bareng Sekda', 'nothing changed');
  await rows.nth(0).locator('[name=edit-speaker-name]').fill('Fitrianti Agustinda');
  await mod.click('#edit-save');
  await mod.locator('#session-dialog:not([open])').waitFor({ state: 'attached' });
  await mod.locator('#notice', { hasText: 'Sesi diperbarui.' }).waitFor();

  // The hub has it, in every view.
  const sess = await mod.evaluate(() => window.tanya.client.view.session);
  assert.equal(sess.title, 'Ngobrol Bareng Sekda: Banjir');
  assert.deepEqual(sess.speakers.map((x) => [x.name, x.role]), [['Fitrianti Agustinda', 'Wakil Wali Kota'], ['Drs. Ratu Dewa, M.Si.', 'Sekretaris Daerah']]);
  assert.equal(sess.speakers[1].id, 's1', 'the renamed speaker keeps its id');
  assert.equal(new Date(sess.starts_at).toISOString(), '2026-12-18T12:00:00.000Z', 'Jakarta time, UTC+7');
  await mod.waitForFunction(() => document.querySelector('#session-title').textContent === 'Ngobrol Bareng Sekda: Banjir');
  assert.equal(await mod.textContent('#session-start'), '18 Des 2026 19.00 WIB');
  assert.equal(await mod.getAttribute('#session-start', 'title'), 'Mulai: Jumat, 18 Desember 2026 19.00 WIB');
  await screen.waitForFunction(() => document.querySelector('#session-title').textContent === 'Ngobrol Bareng Sekda: Banjir');
  await screen.waitForFunction(() => document.querySelector('#speaker-name').textContent === 'Drs. Ratu Dewa, M.Si.');
  await phone.waitForFunction(() => document.querySelector('#session-title').textContent === 'Ngobrol Bareng Sekda: Banjir');
  await phone.locator('#session-start:not([hidden])').waitFor();
  assert.equal(await phone.textContent('#session-start'), 'Mulai: Jumat, 18 Desember 2026 19.00 WIB');
  assert.deepEqual(await phone.$$eval('#speakers li', (ls) => ls.map((li) => li.textContent)).then((x) => x.length), 2);
  // English on the phone
  await phone.click('#lang-en');
  assert.equal(await phone.textContent('#session-start'), 'Starts: Friday, 18 December 2026 19:00 WIB');

  // The form again: it shows the start time in Jakarta time; cleared, it is gone everywhere.
  await mod.click('#session-edit');
  await dlg.waitFor();
  assert.equal(await mod.inputValue('#edit-start'), '2026-12-18T19:00');
  await mod.click('#edit-start-clear');
  await mod.press('#edit-title', 'Enter');
  await mod.locator('#notice', { hasText: 'Sesi diperbarui.' }).waitFor();
  await phone.locator('#session-start').waitFor({ state: 'hidden' });
  await mod.locator('#session-start').waitFor({ state: 'hidden' });
  assert.equal(await mod.evaluate(() => window.tanya.client.view.session.starts_at ?? null), null);
  // Esc closes the form without a change
  await mod.click('#session-edit');
  await dlg.waitFor();
  await mod.fill('#edit-title', 'Tidak jadi');
  await mod.keyboard.press('Escape');
  await mod.locator('#session-dialog:not([open])').waitFor({ state: 'attached' });
  assert.equal(await mod.evaluate(() => window.tanya.client.view.session.title), 'Ngobrol Bareng Sekda: Banjir');
  assert.deepEqual(problems, []);
});
