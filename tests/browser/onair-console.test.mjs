// The console's on-air controls (issue: nothing flagged reaches the air by accident): the take
// of a flagged question asks first and shows what will air (masked), the short text for air,
// showing masked personal data on purpose, the call to action and the name strap, and the
// speaker screen's timer and backstage messages, each seen where it lands (overlay view,
// speaker screen).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, createSession, online, card } from './helpers.mjs';

const DESK = { width: 1440, height: 900 };
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

/** A page that records errors; confirm() dialogs are accepted (the unmask confirmation). */
async function page(opts, problems) {
  const ctx = await browser.newContext(opts);
  const p = await ctx.newPage();
  p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  p.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  p.on('dialog', (d) => d.accept());
  return p;
}

/** An operator entry, approved and live, through the console's own client (setup). */
function liveEntry(mod, text) {
  return mod.evaluate(async (text) => {
    const c = window.tanya.client;
    const ok = await c.send({ type: 'enter', ref: crypto.randomUUID(), text, channel: 'phone' });
    await c.send({ type: 'approve', question: ok.question.id, rev: ok.question.rev });
    const q = c.view.questions.get(ok.question.id);
    await c.send({ type: 'live', question: q.id, rev: q.rev });
    return q.id;
  }, text);
}

/** A new session and its console, connected, in Indonesian. */
async function openConsole(title, problems) {
  const s = await createSession(title);
  const mod = await page({ viewport: DESK, locale: 'id-ID' }, problems);
  await mod.goto(s.links.moderator);
  await online(mod);
  return { s, mod };
}

/** The text of `sel` on `p` once it holds `part`. */
function shownText(p, sel, part) {
  return p.waitForFunction(([sel, part]) => {
    const el = document.querySelector(sel);
    return el && el.textContent.includes(part) && el.textContent;
  }, [sel, part], { timeout: 5000 }).then((h) => h.jsonValue());
}

const overlayView = (mod) => mod.evaluate(() => JSON.parse(JSON.stringify(window.tanya.client.view.overlay)));
const waitView = (mod, fn, arg) => mod.waitForFunction(fn, arg, { timeout: 5000 });

test('a flagged question: the take asks first, shows the masked text; cancel keeps it off air', async () => {
  const problems = [];
  const { mod } = await openConsole('Console: take guard', problems);
  const text = 'Air PDAM mati seminggu, hubungi saya 0812-3456-7890';
  await liveEntry(mod, text);
  await card(mod, 'live', 'Air PDAM mati seminggu').waitFor();

  await mod.click('#overlay-take');
  const dlg = mod.locator('#take-dialog');
  await dlg.waitFor({ state: 'visible' });
  assert.match(await mod.textContent('#take-body'), /data pribadi/);
  const shown = await mod.textContent('#take-text');
  assert.ok(shown.startsWith('Air PDAM mati seminggu, hubungi saya '), shown);
  assert.ok(!shown.includes('3456'), `the dialog shows what airs, masked: ${shown}`);
  await mod.click('#take-cancel');
  await dlg.waitFor({ state: 'hidden' });
  await mod.waitForTimeout(300);
  assert.equal((await overlayView(mod)).visible, false, 'cancel: nothing went on air');
  assert.equal(await mod.getAttribute('#overlay-state', 'data-visible'), 'false');

  // the keyboard take asks too; confirming puts it on air, masked
  await mod.locator('body').click({ position: { x: 5, y: 5 } });
  await mod.keyboard.press('o');
  await dlg.waitFor({ state: 'visible' });
  await mod.click('#take-confirm');
  await mod.waitForSelector('#overlay-state[data-visible=true]');
  const o = await overlayView(mod);
  assert.ok(!o.question.text.includes('3456'), o.question.text);
  // the card keeps the text as written for the moderator
  assert.ok((await card(mod, 'live', 'Air PDAM').textContent()).includes('0812-3456-7890'));

  // an unflagged question goes on air at once
  await liveEntry(mod, 'Kapan pasar Cinde selesai dibangun?');
  await mod.waitForFunction(() => !document.querySelector('#overlay-take').disabled);
  await mod.click('#overlay-take');
  await mod.waitForSelector('#overlay-state[data-visible=true]');
  assert.equal(await dlg.isVisible(), false);
  assert.deepEqual(problems, []);
});

test('short text for air, showing personal data on purpose, the call to action and the name strap', async () => {
  const problems = [];
  const { mod } = await openConsole('Console: air text and graphics', problems);
  const text = 'Jalan di depan rumah saya rusak parah sudah tiga bulan, telepon 0812-3456-7890 kalau perlu';
  await liveEntry(mod, text);
  await card(mod, 'live', 'Jalan di depan rumah').waitFor();

  // the short text for air
  await mod.fill('#air-text', 'Kapan jalan rusak diperbaiki?');
  await mod.click('#air-save');
  await waitView(mod, () => window.tanya.client.view.overlay.question?.air_text === 'Kapan jalan rusak diperbaiki?');
  assert.ok((await card(mod, 'live', 'Jalan di depan rumah').textContent()).includes(text), 'the card keeps the full text');
  await mod.click('#air-clear');
  await waitView(mod, () => window.tanya.client.view.overlay.question?.air_text === null);

  // masked for the public; shown on purpose after a confirmation; masked again
  await mod.waitForSelector('#mask-row:not([hidden])');
  assert.match(await shownText(mod, '#mask-state', 'disamarkan'), /disamarkan/);
  await mod.click('#unmask-toggle');
  await waitView(mod, () => (window.tanya.client.view.overlay.question?.text || '').includes('0812-3456-7890'));
  await mod.waitForSelector('#mask-row[data-unmasked=true]');
  await mod.click('#unmask-toggle');
  await waitView(mod, () => !(window.tanya.client.view.overlay.question?.text || '').includes('3456'));

  // the call to action, then a speaker's strap, then off
  await mod.click('#graphic-join');
  await waitView(mod, () => window.tanya.client.view.overlay.graphic?.type === 'join');
  await mod.waitForSelector('#graphic-state[data-on=true]');
  assert.match(await shownText(mod, '#graphic-state', 'cara bertanya'), /cara bertanya/);
  await mod.selectOption('#graphic-speaker', { label: 'Ir. Budi Santoso' });
  await mod.click('#graphic-strap');
  await waitView(mod, () => window.tanya.client.view.overlay.graphic?.speaker?.name === 'Ir. Budi Santoso');
  assert.match(await shownText(mod, '#graphic-state', 'Ir. Budi Santoso'), /Ir\. Budi Santoso/);
  await mod.click('#graphic-off');
  await waitView(mod, () => window.tanya.client.view.overlay.graphic === null);
  await mod.waitForSelector('#graphic-state[data-on=false]');
  assert.deepEqual(problems, []);
});

test('the speaker screen: the console starts, pauses and resets the timer and sends and clears messages', async () => {
  const problems = [];
  const { s, mod } = await openConsole('Console: stage', problems);
  const screen = await page({ viewport: { width: 1920, height: 1080 }, locale: 'id-ID' }, problems);
  await screen.goto(s.links.screen);
  await online(screen);

  assert.equal(await shownText(mod, '#timer-state', '3:00'), '3:00');
  await mod.fill('#timer-seconds', '60');
  await mod.click('#timer-start');
  await waitView(mod, () => window.tanya.client.view.stage?.timer?.running === true);
  assert.equal(await mod.evaluate(() => window.tanya.client.view.stage.timer.duration_ms), 60000);
  await screen.waitForSelector('#timer:not([hidden])');
  await mod.waitForTimeout(1300);
  const shown = await mod.textContent('#timer-state');
  assert.match(shown, /^0:5\d$/, `the console counts down too: ${shown}`);
  await mod.click('#timer-pause');
  await waitView(mod, () => window.tanya.client.view.stage?.timer?.running === false);
  await mod.waitForSelector('#timer-pause:disabled');
  await mod.click('#timer-reset');
  await waitView(mod, () => window.tanya.client.view.stage?.timer?.remaining_ms === 60000);

  // a ready message, then free text, then cleared
  await mod.click('#message-ready [data-message="1 menit lagi"]');
  await screen.waitForFunction(() => document.querySelector('#message-text')?.textContent === '1 menit lagi');
  await mod.fill('#message-text', 'Bapak Wali Kota, satu pertanyaan lagi');
  await mod.press('#message-text', 'Enter');
  await screen.waitForFunction(() => document.querySelector('#message-text')?.textContent === 'Bapak Wali Kota, satu pertanyaan lagi');
  assert.match(await shownText(mod, '#message-current', 'satu pertanyaan lagi'), /satu pertanyaan lagi/);
  await mod.click('#message-clear');
  await waitView(mod, () => window.tanya.client.view.stage?.message === null);
  await screen.waitForFunction(() => !document.querySelector('#message-text')?.textContent || document.querySelector('#message')?.hidden);
  assert.deepEqual(problems, []);
});

test('personal data is masked on the overlay, the speaker screen and other phones, and shown to its author and moderators', async () => {
  const problems = [];
  const { s, mod } = await openConsole('Console: masking on every page', problems);
  const author = await page({ viewport: { width: 360, height: 640 }, locale: 'id-ID' }, problems);
  const other = await page({ viewport: { width: 360, height: 640 }, locale: 'id-ID' }, problems);
  const screen = await page({ viewport: { width: 1920, height: 1080 }, locale: 'id-ID' }, problems);
  const overlay = await page({ viewport: { width: 1920, height: 1080 } }, problems);
  await Promise.all([author.goto(s.links.audience), other.goto(s.links.audience), screen.goto(s.links.screen), overlay.goto(s.links.overlay)]);
  await Promise.all([author, other, screen].map(online));

  const text = 'Sampah menumpuk di depan rumah saya, Jl. Merdeka No. 12, hubungi 0812-3456-7890';
  await author.fill('#question-text', text);
  await author.click('#ask-btn');
  const pending = card(mod, 'pending', 'Sampah menumpuk');
  await pending.waitFor();
  await pending.locator('[data-act=approve]').click();
  await card(mod, 'approved', 'Sampah menumpuk').locator('[data-act=live]').click();
  await card(mod, 'live', 'Sampah menumpuk').waitFor();
  await mod.click('#overlay-take');
  await mod.click('#take-confirm');
  await mod.waitForSelector('#overlay-state[data-visible=true]');

  const onOverlay = await shownText(overlay, '#lower-third.on #lt-text', 'Sampah menumpuk');
  const onScreen = await shownText(screen, '#live-text', 'Sampah menumpuk');
  const onOther = await shownText(other, '#live-text', 'Sampah menumpuk');
  for (const [where, shown] of [['overlay', onOverlay], ['speaker screen', onScreen], ['another phone', onOther]]) {
    assert.ok(shown.includes('•••'), `${where}: ${shown}`);
    for (const secret of ['3456', '7890', 'Merdeka No. 12']) assert.ok(!shown.includes(secret), `${where} shows ${secret}: ${shown}`);
  }
  // the author and the moderator see it as written
  await author.waitForFunction((t) => Array.from(document.querySelectorAll('#my-questions li')).some((li) => li.textContent.includes(t)), text);
  assert.ok((await card(mod, 'live', 'Sampah menumpuk').textContent()).includes('0812-3456-7890'));
  assert.deepEqual(problems, []);
});
