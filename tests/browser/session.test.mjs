// One whole live session in five browser contexts: two phones, moderator, screen, overlay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, createSession, newPage, online, ask, card } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

test('ask, approve, vote, live, take on air, clear, answered', async () => {
  const s = await createSession('Diskusi Wong Kito: sesi uji');
  const problems = [];
  const phone = { width: 360, height: 640 };
  const { page: a } = await newPage(browser, { viewport: phone, locale: 'id-ID' }, problems);
  const { page: b } = await newPage(browser, { viewport: phone, locale: 'en-US' }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  const { page: screen } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  const { page: overlay } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);

  await Promise.all([a.goto(s.links.audience), b.goto(s.links.audience), mod.goto(s.links.moderator), screen.goto(s.links.screen), overlay.goto(s.links.overlay)]);
  await Promise.all([online(a), online(b), online(mod), online(screen), overlay.waitForSelector('body[data-conn=online]')]);
  assert.equal(await a.getAttribute('html', 'lang'), 'id');
  assert.equal(await b.getAttribute('html', 'lang'), 'en');

  const text = 'Kapan izin usaha kecil bisa diurus sepenuhnya secara daring?';
  await a.fill('#question-text', text);
  assert.match(await a.textContent('#char-count'), /^60\/300$/);
  await ask(a, text, { name: 'Siti' });
  const mine = a.locator('#my-questions li[data-qid]', { hasText: text });
  await mine.locator('[data-field=status]', { hasText: 'Menunggu moderasi' }).waitFor();

  // moderator approves
  const pending = card(mod, 'pending', text);
  await pending.waitFor();
  await pending.locator('[data-act=approve]').click();
  await card(mod, 'approved', text).waitFor();
  await mine.locator('[data-field=status]', { hasText: 'Ditayangkan' }).waitFor();

  // phone B votes, everybody sees the count
  const itemB = b.locator('#questions li', { hasText: text });
  await itemB.waitFor();
  await itemB.locator('[data-act=vote]').click();
  await b.locator('#questions li', { hasText: text }).locator('[data-act=vote][aria-pressed=true]').waitFor();
  await a.locator('#questions li', { hasText: text }).locator('.vote-count[data-votes="1"]').waitFor();
  await card(mod, 'approved', text).locator('[data-field=votes][data-votes="1"]').waitFor();
  await screen.locator('#next li', { hasText: text }).waitFor();

  // live, then on air
  await card(mod, 'approved', text).locator('[data-act=live]').click();
  await card(mod, 'live', text).waitFor();
  await screen.waitForFunction((t) => document.querySelector('#live-text').textContent === t, text);
  assert.equal(await screen.textContent('#live-meta'), 'Siti');
  await a.locator('#live-box:not([hidden])').waitFor();
  await mine.locator('[data-field=status]', { hasText: 'Sedang dijawab' }).waitFor();
  assert.equal(await overlay.getAttribute('body', 'data-visible'), null, 'nothing on air before take');

  await mod.click('#overlay-take');
  await overlay.waitForSelector('#lower-third.on');
  assert.equal(await overlay.textContent('#lt-text'), text);
  assert.equal(await overlay.textContent('#lt-asker'), 'Siti');
  await mod.waitForSelector('#overlay-state[data-visible=true]');
  await screen.waitForSelector('#on-air:not([hidden])');

  await mod.click('#overlay-clear');
  await overlay.waitForSelector('body[data-visible=false]');
  await mod.waitForSelector('#overlay-state[data-visible=false]');

  await card(mod, 'live', text).locator('[data-act=answered]').click();
  await mine.locator('[data-field=status]', { hasText: 'Terjawab' }).waitFor();
  await screen.waitForSelector('#live[data-empty=true]');
  assert.deepEqual(problems, []);
});

test('moderator keyboard: j/a approve, n next live, o take and clear; conflict is explained', async () => {
  const s = await createSession('Keyboard');
  const problems = [];
  const { page: phone } = await newPage(browser, { viewport: { width: 360, height: 640 } }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 }, locale: 'en-US' }, problems);
  const { page: overlay } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  await Promise.all([phone.goto(s.links.audience), mod.goto(s.links.moderator), overlay.goto(s.links.overlay)]);
  await Promise.all([online(phone), online(mod)]);
  await ask(phone, 'First question by keyboard');
  await phone.locator('#ask-status[data-kind=ok]').waitFor();
  await ask(phone, 'Second question by keyboard');
  await card(mod, 'pending', 'Second question by keyboard').waitFor();
  await mod.keyboard.press('j');
  await mod.keyboard.press('a');
  await card(mod, 'approved', 'First question by keyboard').waitFor();
  await mod.keyboard.press('a');
  await card(mod, 'approved', 'Second question by keyboard').waitFor();
  await mod.keyboard.press('n');
  await card(mod, 'live', 'First question by keyboard').waitFor();
  await mod.keyboard.press('o');
  await overlay.waitForSelector('#lower-third.on');
  await mod.keyboard.press('o');
  await overlay.waitForSelector('body[data-visible=false]');
  // a stale rev: another moderator acted first
  await mod.evaluate(() => {
    const c = window.tanya.client;
    const q = [...c.view.questions.values()].find((x) => x.status === 'approved');
    c.view.questions.set(q.id, { ...q, rev: q.rev - 1 });
  });
  await card(mod, 'approved', 'Second question by keyboard').locator('[data-act=answered]').click();
  await mod.locator('#notice:not([hidden])', { hasText: 'Another moderator' }).waitFor();
  assert.deepEqual(problems.filter((p) => !p.includes('conflict')), []);
});
