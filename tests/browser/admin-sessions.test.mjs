// /admin and a session's radio desk and gateways (issue #12): the desk link, the gateway address
// and the gateway password shown per session with copy; a new gateway password (confirmed) makes
// the old one fail at the intake API with 401 and the new one work; a new desk link; the start
// time in the list in Jakarta time; "Ubah" (title, speakers, start time) through PATCH, with the
// hub's refusal shown in the form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, hub, createSession } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

async function openPage(opts, problems) {
  const ctx = await browser.newContext({ locale: 'id-ID', ...opts });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await ctx.newPage();
  const dialogs = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  return { page, dialogs };
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

async function listed(token, id) {
  const r = await call('GET', '/api/sessions', token);
  assert.equal(r.status, 200);
  return r.body.sessions.find((x) => x.session.id === id);
}

test('/admin: desk link, gateway address and password with copy; a new password makes the old one fail; a new desk link; Ubah', async () => {
  const { base, token } = await hub();
  const s = await createSession(`Sosialisasi Perda Sampah #${Date.now() % 1000}`);
  const id = s.session.id;
  const problems = [];
  const { page, dialogs } = await openPage({ viewport: { width: 1180, height: 900 } }, problems);
  await page.goto(`${base}/admin`);
  await page.fill('#admin-token', token);
  await page.click('#token-save');
  const li = page.locator(`#sessions li[data-session-id="${id}"]`);
  await li.waitFor();

  // Shown, each with copy.
  assert.equal(await li.locator('input[data-link=desk]').inputValue(), s.links.desk);
  assert.equal(await li.locator('input[data-link=intake]').inputValue(), s.links.intake);
  assert.equal(await li.locator('input[data-key=intake]').inputValue(), s.keys.intake);
  assert.equal(await li.locator(`label[for="${await li.locator('input[data-key=intake]').getAttribute('id')}"]`).textContent(), 'Sandi gateway');
  assert.equal(await li.locator(`label[for="${await li.locator('input[data-link=intake]').getAttribute('id')}"]`).textContent(), 'Alamat gateway');
  assert.equal(await li.locator(`label[for="${await li.locator('input[data-link=desk]').getAttribute('id')}"]`).textContent(), 'Meja radio');
  assert.match(await li.locator('.intake-hint').textContent(), /Gateway SMS\/WhatsApp mengirim pertanyaan/);
  await li.locator('button[data-copy=intake]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), s.links.intake);
  await li.locator('button[data-copy=desk]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), s.links.desk);
  await li.locator('button[data-copy=intake-key]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), s.keys.intake);
  await li.locator('button', { hasText: 'Disalin' }).first().waitFor();

  // The gateway works with its password.
  const body = (ref, text) => ({ ref, channel: 'sms', text, name: 'Pak Yusuf', contact: '081377712345' });
  assert.equal((await call('POST', `/api/sessions/${id}/intake`, s.keys.intake, body('m-1', 'Kapan bank sampah dibuka di Kecamatan Ilir Timur II?'))).status, 200);

  // A new gateway password: confirmed; the old one gets 401, the new one works.
  await li.locator('button[data-rotate=intake]').click();
  await page.waitForFunction(({ sid, old }) => {
    const el = document.querySelector(`#sessions li[data-session-id="${sid}"] input[data-key=intake]`);
    return el && el.value && el.value !== old;
  }, { sid: id, old: s.keys.intake });
  assert.equal(dialogs.length, 1);
  assert.match(dialogs[0], /^Buat sandi gateway yang baru untuk sesi ini\?/);
  const newKey = await page.locator(`#sessions li[data-session-id="${id}"] input[data-key=intake]`).inputValue();
  assert.equal((await listed(token, id)).keys.intake, newKey);
  const refused = await call('POST', `/api/sessions/${id}/intake`, s.keys.intake, body('m-2', 'Dengan sandi lama'));
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.equal((await call('POST', `/api/sessions/${id}/intake`, newKey, body('m-3', 'Dengan sandi baru'))).status, 200);
  assert.equal(await page.locator(`#sessions li[data-session-id="${id}"] input[data-link=intake]`).inputValue(), s.links.intake, 'the address stays');

  // A new desk link.
  await page.locator(`#sessions li[data-session-id="${id}"] button[data-rotate=desk]`).click();
  await page.waitForFunction(({ sid, old }) => {
    const el = document.querySelector(`#sessions li[data-session-id="${sid}"] input[data-link=desk]`);
    return el && el.value && el.value !== old;
  }, { sid: id, old: s.links.desk });
  assert.equal(dialogs.length, 2);
  assert.match(dialogs[1], /Meja radio/);
  const deskLink = await page.locator(`#sessions li[data-session-id="${id}"] input[data-link=desk]`).inputValue();
  assert.equal((await listed(token, id)).links.desk, deskLink);

  // No start time yet: none in the list.
  const item = page.locator(`#sessions li[data-session-id="${id}"]`);
  assert.equal(await item.locator('[data-field=starts-at]').count(), 0);

  // Ubah: title, speakers (renamed, one removed, one added and moved first), start time.
  await item.locator('[data-act=edit-session]').click();
  const form = item.locator('form.edit-form');
  await form.waitFor();
  assert.equal(await form.locator('[name=edit-title]').inputValue(), s.session.title);
  assert.equal(await form.locator('[name=edit-speaker-name]').count(), 2);
  await form.locator('[name=edit-title]').fill('Sosialisasi Perda Pengelolaan Sampah');
  await form.locator('[name=edit-start]').fill('2026-12-18T19:00');
  await form.locator('[data-act=edit-add-speaker]').click();
  const rows = form.locator('.edit-speaker');
  await rows.nth(2).locator('[name=edit-speaker-name]').fill('Ir. Akhmad Mustain');
  await rows.nth(2).locator('[name=edit-speaker-role]').fill('Kepala Dinas Lingkungan Hidup dan Kebersihan');
  await rows.nth(2).locator('[data-speaker-act=up]').click();
  await rows.nth(1).locator('[data-speaker-act=up]').click();
  await rows.nth(2).locator('[data-speaker-act=remove]').click();
  // a role over 100 characters: the hub refuses it; the form says so and stays
  await rows.nth(0).locator('[name=edit-speaker-role]').evaluate((el) => { el.value = 'R'.repeat(150); });
  await form.locator('[data-act=edit-save]').click();
  await form.locator('[data-field=edit-error]', { hasText: 'Daftar narasumber tidak diterima' }).waitFor();
  assert.equal((await listed(token, id)).session.title, s.session.title, 'nothing changed');
  await rows.nth(0).locator('[name=edit-speaker-role]').fill('Kepala DLHK');
  await form.locator('[data-act=edit-save]').click();
  await item.locator('h3', { hasText: 'Sosialisasi Perda Pengelolaan Sampah' }).waitFor();
  const after = (await listed(token, id)).session;
  assert.equal(after.title, 'Sosialisasi Perda Pengelolaan Sampah');
  assert.deepEqual(after.speakers.map((x) => [x.id === 's1', x.name, x.role]), [[false, 'Ir. Akhmad Mustain', 'Kepala DLHK'], [true, 'Drs Ratu Dewa MSi', 'Sekretaris Daerah']]);
  assert.equal(new Date(after.starts_at).toISOString(), '2026-12-18T12:00:00.000Z');
  const fresh = page.locator(`#sessions li[data-session-id="${id}"]`);
  assert.equal(await fresh.locator('[data-field=starts-at]').textContent(), ' · Mulai: Jumat, 18 Desember 2026 19.00 WIB');
  assert.equal(await fresh.locator('form.edit-form').count(), 0, 'the form closed');
  assert.equal(await fresh.locator('[data-field=export-status]').textContent(), 'Sesi diperbarui.');
  await page.screenshot({ path: path.join(OUT, 'admin-sessions.png'), fullPage: true });

  // Cleared again: gone from the list.
  await fresh.locator('[data-act=edit-session]').click();
  const form2 = fresh.locator('form.edit-form');
  assert.equal(await form2.locator('[name=edit-start]').inputValue(), '2026-12-18T19:00', 'Jakarta time in the field');
  await form2.locator('[data-act=edit-start-clear]').click();
  await form2.locator('[data-act=edit-save]').click();
  await page.waitForFunction((sid) => !document.querySelector(`#sessions li[data-session-id="${sid}"] [data-field=starts-at]`) && !document.querySelector(`#sessions li[data-session-id="${sid}"] form`), id);
  assert.equal((await listed(token, id)).session.starts_at, undefined);
  // English
  await page.click('#lang-en');
  await page.locator(`#sessions li[data-session-id="${id}"] button[data-rotate=intake]`, { hasText: 'New password' }).waitFor();
  assert.deepEqual(problems.filter((p) => !/^console: Failed to load resource: .*\b400\b/.test(p)), []);
});
