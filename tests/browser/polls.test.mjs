// Polls from the console to the phones and the speaker screen: create, open, one tap to choose,
// a change of mind, the live bars, close.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, createSession, newPage, online } from './helpers.mjs';

const DESK = { width: 1440, height: 900 };
const PHONE = { width: 360, height: 640 };
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

const pollItem = (mod, text) => mod.locator('#poll-list .poll-item', { has: mod.locator('[data-field=question]', { hasText: text }) });
const option = (phone, i) => phone.locator(`#poll-options .poll-choice[data-option="${i}"]`);

test('a poll: created and opened in the console, chosen on phones, live on the screen, closed', async () => {
  const s = await createSession('Polls');
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'en-US' }, problems);
  await mod.goto(s.links.moderator);
  await online(mod);
  const phones = [];
  for (let i = 0; i < 3; i++) phones.push((await newPage(browser, { viewport: PHONE, locale: 'en-US' }, problems)).page);
  await Promise.all(phones.map((p) => p.goto(s.links.audience)));
  await Promise.all(phones.map(online));
  const { page: screen } = await newPage(browser, { viewport: { width: 1920, height: 1080 }, locale: 'en-US' }, problems);
  await screen.goto(s.links.screen);
  await online(screen);

  // Create: a draft, seen by the console alone.
  const question = 'Apakah Anda puas dengan pelayanan perizinan?';
  const started = Date.now();
  await mod.fill('#poll-question', question);
  await mod.fill('#poll-options', 'Puas\nCukup\nTidak puas');
  await mod.click('#poll-create');
  const item = pollItem(mod, question);
  await item.locator('[data-field=status]', { hasText: 'DRAFT' }).waitFor();
  assert.ok(await phones[0].locator('#poll-box').isHidden(), 'a draft is not on phones');

  // Open: on every phone and on the screen.
  await item.locator('[data-poll-act=open]').click();
  await item.locator('[data-field=status]', { hasText: 'OPEN' }).waitFor();
  const took = Date.now() - started;
  for (const p of phones) await p.locator('#poll-box:not([hidden])', { hasText: question }).waitFor();
  await screen.locator('#poll:not([hidden])', { hasText: question }).waitFor();
  console.log(`console: poll typed, created and opened in ${took} ms (scripted)`);

  // One tap each; one phone changes its mind.
  await option(phones[0], 0).click();
  await option(phones[1], 2).click();
  await option(phones[2], 2).click();
  await option(phones[2], 0).click();
  await option(phones[2], 0).locator('xpath=.').and(phones[2].locator('[aria-pressed=true]')).waitFor();
  // Counts: 2, 0, 1 everywhere (the change of mind included).
  await mod.waitForFunction(([sel, want]) => JSON.stringify(Array.from(document.querySelectorAll(sel), (li) => li.dataset.count)) === want,
    ['#poll-list .poll-results li', JSON.stringify(['2', '0', '1'])]);
  await screen.waitForFunction(() => JSON.stringify(Array.from(document.querySelectorAll('#poll-options li'), (li) => li.dataset.count)) === '["2","0","1"]');
  await phones[1].locator('#poll-options .poll-count', { hasText: '2 votes · 67%' }).waitFor();
  // The bars are in the order of the counts (once their growth has ended).
  await phones[1].waitForTimeout(500);
  const widths = await phones[1].locator('#poll-options .poll-fill').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
  assert.ok(widths[0] > widths[2] && widths[2] > widths[1], `bars ${widths}`);
  await phones[1].screenshot({ path: '../../docs/screenshots/phone-poll.png' });
  await screen.screenshot({ path: '../../docs/screenshots/screen-poll.png' });

  // Close: the result stands; the buttons stop taking taps.
  await item.locator('[data-poll-act=close]').click();
  for (const p of phones) await p.locator('#poll-note', { hasText: 'closed' }).waitFor();
  assert.ok(await option(phones[0], 1).isDisabled());
  await screen.locator('#poll').waitFor({ state: 'hidden' });
  assert.deepEqual(problems, []);
});

test('a poll result on the TV overlay: transparent before and after, inside title-safe, bars in the order of the counts', async () => {
  const { decodePng, opaqueBox } = await import('./png.mjs');
  const s = await createSession('Polls on air');
  const problems = [];
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'en-US' }, problems);
  await mod.goto(s.links.moderator);
  await online(mod);
  const { page: overlay } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  await overlay.goto(s.links.overlay);
  await overlay.waitForSelector('body[data-conn=online]');
  const shot = async () => decodePng(await overlay.screenshot({ omitBackground: true }));
  assert.equal(opaqueBox(await shot()), null, 'fully transparent before the take');

  // A poll whose texts would be markup if they were not text.
  const question = 'Masalah paling mendesak? <img src=x onerror="window.__xss=1">';
  const created = await mod.evaluate(async (q) => {
    const c = window.tanya.client;
    const ok = await c.send({ type: 'poll', action: 'create', ref: crypto.randomUUID(), question: q, options: ['Jalan <b>rusak</b>', 'Banjir', 'Sampah'] });
    await c.send({ type: 'poll', action: 'open', poll: ok.poll.id });
    return ok.poll.id;
  }, question);
  // Three phones: 2 × option 1, 1 × option 0, none for option 2.
  const phones = [];
  for (let i = 0; i < 3; i++) phones.push((await newPage(browser, { viewport: PHONE, locale: 'en-US' }, problems)).page);
  await Promise.all(phones.map((p) => p.goto(s.links.audience)));
  await Promise.all(phones.map(online));
  for (const [i, opt] of [[0, 1], [1, 1], [2, 0]]) await option(phones[i], opt).click();

  const item = mod.locator(`#poll-list .poll-item[data-poll-id="${created}"]`);
  await item.locator('.poll-results li[data-count="2"]').waitFor();
  await item.locator('[data-poll-act=show]').click();
  await item.locator('[data-poll-act=hide]').waitFor();
  await overlay.waitForSelector('.pg.on');
  await overlay.waitForFunction(() => JSON.stringify(Array.from(document.querySelectorAll('.pg-options li'), (li) => li.dataset.count)) === '["1","2","0"]');
  await overlay.waitForTimeout(900); // the slide-in and the bars' growth
  assert.equal(await overlay.textContent('.pg-question'), question, 'text, not markup');
  assert.equal(await overlay.locator('.pg img, .pg b').count(), 0);
  assert.equal(await overlay.evaluate(() => window.__xss), undefined);
  const widths = await overlay.locator('.pg-fill').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
  assert.ok(widths[1] > widths[0] && widths[0] > widths[2] && widths[2] === 0, `bars in the order of the counts: ${widths}`);
  const values = await overlay.locator('.pg-value').allTextContents();
  assert.deepEqual(values, ['33%', '67%', '0%']);
  const box = opaqueBox(await shot());
  assert.ok(box, 'the graphic is on air');
  assert.ok(box.x0 >= 96 && box.x1 < 1920 - 96 && box.y0 >= 54 && box.y1 < 1080 - 54, `inside title-safe: ${JSON.stringify(box)}`);
  await overlay.screenshot({ path: '../../docs/screenshots/overlay-poll.png', omitBackground: true });
  // Counts on air follow the phones.
  await option(phones[2], 2).click();
  await overlay.waitForFunction(() => JSON.stringify(Array.from(document.querySelectorAll('.pg-options li'), (li) => li.dataset.count)) === '["0","2","1"]');

  // Off air: transparent again.
  await item.locator('[data-poll-act=hide]').click();
  await overlay.waitForSelector('.pg:not(.on)');
  await overlay.waitForTimeout(600);
  assert.equal(opaqueBox(await shot()), null, 'fully transparent after the clear');
  assert.deepEqual(problems, []);
});

test('the overlay as a CasparCG/SPX template draws a poll sent in live.json columns, as JSON or XML', async () => {
  const { decodePng, opaqueBox } = await import('./png.mjs');
  const problems = [];
  const { page } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  const s = await createSession('Polls as a template');
  // Template mode: the page without its key.
  await page.goto(s.links.overlay.split('#')[0]);
  await page.waitForFunction(() => typeof window.tanyaOverlay === 'object');
  const row = { poll_question: 'Puas dengan layanan?', poll_option1: 'Ya', poll_count1: '3', poll_option2: 'Tidak', poll_count2: '1', poll_option3: '', poll_count3: '' };
  await page.evaluate((r) => { window.update(JSON.stringify([r])); window.play(); }, row);
  await page.waitForSelector('.pg.on');
  assert.equal(await page.textContent('.pg-question'), 'Puas dengan layanan?');
  assert.deepEqual(await page.locator('.pg-label').allTextContents(), ['Ya', 'Tidak']);
  assert.deepEqual(await page.locator('.pg-value').allTextContents(), ['75%', '25%']);
  assert.ok(await page.locator('#lower-third.on').count() === 0, 'the lower third stays off');
  await page.evaluate(() => window.stop());
  await page.waitForSelector('.pg:not(.on)');
  await page.waitForTimeout(600);
  assert.equal(opaqueBox(decodePng(await page.screenshot({ omitBackground: true }))), null, 'transparent after stop');
  // CasparCG's XML templateData.
  const xml = '<templateData><componentData id="poll_question"><data id="text" value="Masalah utama?"/></componentData>'
    + '<componentData id="poll_option1"><data id="text" value="Jalan"/></componentData><componentData id="poll_count1"><data id="text" value="1"/></componentData>'
    + '<componentData id="poll_option2"><data id="text" value="Banjir"/></componentData><componentData id="poll_count2"><data id="text" value="1"/></componentData></templateData>';
  await page.evaluate((x) => { window.update(x); window.play(); }, xml);
  await page.waitForSelector('.pg.on');
  assert.equal(await page.textContent('.pg-question'), 'Masalah utama?');
  assert.deepEqual(await page.locator('.pg-value').allTextContents(), ['50%', '50%']);
  // A question again: the lower third, not the poll.
  await page.evaluate(() => { window.stop(); window.update(JSON.stringify({ f0: 'Kapan jalan diperbaiki?', f1: 'Sari' })); window.play(); });
  await page.waitForSelector('#lower-third.on');
  await page.waitForSelector('.pg:not(.on)');
  assert.deepEqual(problems, []);
});
