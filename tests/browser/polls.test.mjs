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
  // Counts: 2, 0, 1 everywhere.
  await item.locator('.poll-results li[data-count="2"]').first().waitFor();
  const consoleCounts = await item.locator('.poll-results li').evaluateAll((lis) => lis.map((li) => li.dataset.count));
  assert.deepEqual(consoleCounts, ['2', '0', '1']);
  await screen.waitForFunction(() => JSON.stringify(Array.from(document.querySelectorAll('#poll-options li'), (li) => li.dataset.count)) === '["2","0","1"]');
  await phones[1].locator('#poll-options .poll-count', { hasText: '2 votes · 67%' }).waitFor();
  // The bars are in the order of the counts.
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
