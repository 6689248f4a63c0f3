// Screenshots of every page at its real size, into docs/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, createSession, newPage, online, ask, card, BASE, ADMIN_TOKEN } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

test('screenshots of every page', async () => {
  const s = await createSession('Diskusi Wong Kito #12: Perizinan');
  const problems = [];
  const phoneVp = { viewport: { width: 360, height: 640 }, locale: 'id-ID', deviceScaleFactor: 2 };
  const { page: phone } = await newPage(browser, phoneVp, problems);
  const { page: phone2 } = await newPage(browser, phoneVp, problems);
  const { page: press } = await newPage(browser, phoneVp, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 }, locale: 'id-ID' }, problems);
  await Promise.all([phone.goto(s.links.audience), phone2.goto(s.links.audience), press.goto(s.links.press), mod.goto(s.links.moderator)]);
  await Promise.all([online(phone), online(phone2), online(press), online(mod)]);
  const qs = [
    ['Kapan izin usaha kecil bisa diurus sepenuhnya secara daring, tanpa harus datang ke kantor dinas?', 'Siti Rahma', phone],
    ['Bagaimana rencana perbaikan jalan di Jakabaring yang rusak sejak musim hujan?', '', phone2],
    ['Apakah retribusi parkir di pasar tradisional akan naik tahun depan?', 'Andi', phone],
    ['Berapa lama proses PBG (dulu IMB) sekarang, dan berapa biayanya?', '', phone2],
  ];
  for (const [t, n, p] of qs) { await ask(p, t, { name: n }); await p.locator('#ask-status[data-kind=ok]').waitFor(); }
  await press.fill('#outlet', 'Sumatera Ekspres');
  await ask(press, 'Bapak Sekda, berapa target PAD dari perizinan tahun ini?', { name: 'Rina' });
  await press.locator('#ask-status[data-kind=ok]').waitFor();
  for (const [t] of qs.slice(0, 3)) await card(mod, 'pending', t).locator('[data-act=approve]').click();
  await card(mod, 'approved', qs[2][0]).waitFor();
  await card(mod, 'approved', qs[0][0]).locator('select[data-act=assign]').selectOption({ index: 1 });
  await card(mod, 'approved', qs[0][0]).locator('[data-field=to]:not(:empty)').waitFor();
  await phone2.locator('#questions li', { hasText: qs[2][0] }).locator('[data-act=vote]').click();
  await card(mod, 'approved', qs[0][0]).locator('[data-act=live]').click();
  await mod.fill('#op-text', 'Penelepon dari Plaju: kapan pasar Kertapati selesai direnovasi?');
  await mod.fill('#op-name', 'Pak Rudi');
  await mod.selectOption('#op-channel', 'phone');
  await mod.click('#op-submit');
  await card(mod, 'pending', 'Penelepon dari Plaju').waitFor();
  await mod.click('#overlay-take');
  await mod.waitForSelector('#overlay-state[data-visible=true]');

  const { page: screen } = await newPage(browser, { viewport: { width: 1920, height: 1080 }, locale: 'id-ID' }, problems);
  const { page: overlay } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  await Promise.all([screen.goto(s.links.screen), overlay.goto(s.links.overlay)]);
  await screen.waitForSelector('#live[data-empty=false]');
  await overlay.waitForSelector('#lower-third.on');
  await overlay.waitForTimeout(800); // let the animation finish
  await screen.waitForTimeout(300);
  await phone.waitForTimeout(300);

  for (const p of [phone, press, mod]) await p.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await phone.screenshot({ path: path.join(OUT, 'phone.png') });
  await phone.screenshot({ path: path.join(OUT, 'phone-full.png'), fullPage: true });
  await press.screenshot({ path: path.join(OUT, 'press.png') });
  await mod.screenshot({ path: path.join(OUT, 'moderator.png') });
  await screen.screenshot({ path: path.join(OUT, 'screen.png') });
  await overlay.screenshot({ path: path.join(OUT, 'overlay.png'), omitBackground: true });

  const { page: join } = await newPage(browser, phoneVp, problems);
  await join.goto(`${BASE}/`);
  await join.waitForSelector('#join-code');
  await join.screenshot({ path: path.join(OUT, 'join.png') });

  const { page: admin } = await newPage(browser, { viewport: { width: 1100, height: 900 }, locale: 'id-ID' }, problems);
  await admin.goto(`${BASE}/admin`);
  await admin.fill('#admin-token', ADMIN_TOKEN);
  await admin.click('#token-save');
  await admin.waitForSelector('#sessions li');
  await admin.screenshot({ path: path.join(OUT, 'admin.png') });
  for (const f of ['phone.png', 'press.png', 'moderator.png', 'screen.png', 'overlay.png', 'join.png', 'admin.png']) {
    assert.ok(fs.statSync(path.join(OUT, f)).size > 1000, f);
  }
  assert.deepEqual(problems, []);
});
