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
  await mine.locator('[data-field=status]', { hasText: 'Disetujui' }).waitFor();

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
  // edit in place (e, type, Ctrl+Enter): the new text, the original kept in sight
  const second = card(mod, 'approved', 'Second question by keyboard');
  await second.click({ position: { x: 5, y: 5 } });
  await mod.keyboard.press('e');
  await mod.keyboard.type(' (edited)');
  await mod.keyboard.press('Control+Enter');
  await second.locator('[data-field=text]', { hasText: 'Second question by keyboard (edited)' }).waitFor();
  assert.equal(await second.locator('[data-field=original] .orig-text').textContent(), 'Second question by keyboard');
  await phone.locator('#my-questions li', { hasText: '(edited)' }).locator('[data-field=edited]:visible').waitFor();
  // reject with a reason (R, type, Enter): the asker sees the reason
  await mod.keyboard.press('Escape');
  await second.click({ position: { x: 5, y: 5 } });
  await mod.keyboard.press('Shift+R');
  await mod.keyboard.type('Sudah dijawab sebelumnya');
  await mod.keyboard.press('Enter');
  await phone.locator('#my-questions li[data-status=rejected] [data-field=reason]', { hasText: 'Sudah dijawab sebelumnya' }).waitFor();
  await mod.locator('#rejected-wrap summary').click();
  await card(mod, 'rejected', '(edited)').locator('[data-act=approve]').click();
  await card(mod, 'approved', '(edited)').waitFor();
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

test('phone: withdraw, language switch, press by link and by typed code', async () => {
  const s = await createSession('Phone features');
  const problems = [];
  const { page: phone } = await newPage(browser, { viewport: { width: 360, height: 640 }, locale: 'id-ID' }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await Promise.all([phone.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(phone), online(mod)]);

  await ask(phone, 'Pertanyaan yang akan ditarik');
  const mine = phone.locator('#my-questions li[data-qid]', { hasText: 'Pertanyaan yang akan ditarik' });
  await mine.locator('[data-act=withdraw]').click();
  await mine.locator('[data-field=status]', { hasText: 'Ditarik' }).waitFor();
  await card(mod, 'pending', 'Pertanyaan yang akan ditarik').waitFor({ state: 'detached' });

  await phone.click('#lang-en');
  assert.equal(await phone.textContent('#ask-btn'), 'Send question');
  await mine.locator('[data-field=status]', { hasText: 'Withdrawn' }).waitFor();
  await phone.click('#lang-id');
  assert.equal(await phone.textContent('#ask-btn'), 'Kirim pertanyaan');

  // a wrong typed press code: back to the audience role with a message
  await phone.click('#press-section summary');
  await phone.fill('#press-code', 'not-the-press-code');
  await phone.click('#press-btn');
  await phone.locator('#press-error', { hasText: 'Kode pers tidak berlaku' }).waitFor();
  await online(phone);
  assert.equal(await phone.isHidden('#outlet-field'), true);
  // the right one, typed
  await phone.fill('#press-code', s.keys.press);
  await phone.click('#press-btn');
  await phone.locator('#press-bar:not([hidden])').waitFor();
  await online(phone);
  await phone.fill('#outlet', 'Sumatera Ekspres');
  await ask(phone, 'Pertanyaan dari wartawan', { name: 'Rina' });
  const pc = card(mod, 'pending', 'Pertanyaan dari wartawan');
  await pc.waitFor();
  assert.equal(await pc.getAttribute('data-source'), 'press');
  assert.match(await pc.locator('[data-field=who]').textContent(), /Rina · Sumatera Ekspres/);
  await mod.click('#filter-press');
  assert.equal(await mod.locator('#col-pending .card').count(), 1);
  await mod.click('#filter-audience');
  assert.equal(await mod.locator('#col-pending .card').count(), 0);

  // the press link
  const { page: press } = await newPage(browser, { viewport: { width: 360, height: 640 } }, problems);
  await press.goto(s.links.press);
  await online(press);
  await press.locator('#press-bar:not([hidden])').waitFor();
  assert.deepEqual(problems.filter((p) => !p.includes('4401')), []);
});
