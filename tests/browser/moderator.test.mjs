// The moderator console at 1440×900: queue order by drag and drop and by keys, `n`, merge
// (votes pooled), the operator form, a conflict between two moderators, edit in place.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, createSession, newPage, online, card, ask, BASE } from './helpers.mjs';

const DESK = { width: 1440, height: 900 };
const PHONE = { width: 360, height: 640 };
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

/** Operator entries through the console's own client (setup, not under test); approved in order. */
function seed(mod, texts, { approve = true } = {}) {
  return mod.evaluate(async ({ texts, approve }) => {
    const c = window.tanya.client;
    const ids = [];
    for (const text of texts) {
      const ok = await c.send({ type: 'enter', ref: crypto.randomUUID(), text, channel: 'room' });
      ids.push(ok.question.id);
      if (approve) await c.send({ type: 'approve', question: ok.question.id, rev: ok.question.rev });
    }
    return ids;
  }, { texts, approve });
}

const textsOf = (page, sel) => page.locator(sel).allTextContents();
const QUEUE = '#col-approved .card [data-field=text]';
const SCREEN_NEXT = '#next li .t';

/** Wait until the texts under `sel` are exactly `expected`, in order. */
async function waitOrder(page, sel, expected, what = sel) {
  try {
    await page.waitForFunction(([s, exp]) => JSON.stringify(Array.from(document.querySelectorAll(s), (e) => e.textContent)) === JSON.stringify(exp),
      [sel, expected], { timeout: 5000 });
  } catch {
    assert.deepEqual(await textsOf(page, sel), expected, `order in ${what}`);
  }
}

/** Drag the queued card `src` onto the upper (`before`) or lower part of the card `dst` with
 *  locator.dragTo. The target is scrolled into view first: dragTo would otherwise scroll between
 *  pressing the button and moving, and Chromium then starts the drag from whatever card is now
 *  under the pressed position. */
async function drag(page, src, dst, where) {
  const from = card(page, 'approved', src);
  const to = card(page, 'approved', dst);
  await to.scrollIntoViewIfNeeded();
  await from.scrollIntoViewIfNeeded();
  const box = await to.boundingBox();
  await from.dragTo(to, { sourcePosition: { x: 30, y: 12 }, targetPosition: { x: box.width / 2, y: where === 'before' ? 8 : box.height - 8 } });
}

function screenUrl(s) {
  const u = new URL(s.links.screen);
  u.searchParams.set('next', '10');
  return u.href;
}

async function consoles(n, s, problems, locale = 'en-US') {
  const pages = [];
  for (let i = 0; i < n; i++) pages.push((await newPage(browser, { viewport: DESK, locale }, problems)).page);
  await Promise.all(pages.map((p) => p.goto(s.links.moderator)));
  await Promise.all(pages.map(online));
  return pages;
}

test('drag and drop reorders the queue; a second console and the screen show the same order', async () => {
  const s = await createSession('Moderator: drag and drop');
  const problems = [];
  const [a, b] = await consoles(2, s, problems);
  const { page: screen } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  await screen.goto(screenUrl(s));
  await online(screen);

  const [q1, q2, q3, q4] = ['Q1 jalan rusak di Plaju', 'Q2 banjir di Kertapati', 'Q3 harga beras', 'Q4 lampu jalan mati'];
  await seed(a, [q1, q2, q3, q4]);
  for (const p of [a, b]) await waitOrder(p, QUEUE, [q1, q2, q3, q4]);
  await waitOrder(screen, SCREEN_NEXT, [q1, q2, q3, q4], 'screen');
  assert.equal(await card(a, 'approved', q1).getAttribute('draggable'), 'true');

  // Q4 dropped on the upper part of Q1: to the top
  await drag(a, q4, q1, 'before');
  await waitOrder(a, QUEUE, [q4, q1, q2, q3], 'console A');
  await waitOrder(b, QUEUE, [q4, q1, q2, q3], 'console B');
  await waitOrder(screen, SCREEN_NEXT, [q4, q1, q2, q3], 'screen');

  // Q1 dropped on the lower part of the last card (Q3): to the end
  await drag(a, q1, q3, 'after');
  await waitOrder(a, QUEUE, [q4, q2, q3, q1], 'console A');

  // Q3 dropped on the upper part of Q2: between Q4 and Q2
  await drag(a, q3, q2, 'before');
  const expected = [q4, q3, q2, q1];
  await waitOrder(a, QUEUE, expected, 'console A');
  await waitOrder(b, QUEUE, expected, 'console B');
  await waitOrder(screen, SCREEN_NEXT, expected, 'screen');
  assert.equal(await a.locator('#col-approved .dragging, #col-approved .drop-before, #col-approved .drop-after').count(), 0, 'no drag marks left');

  // a console opened now gets the same order from the hub
  const [c] = await consoles(1, s, problems);
  await waitOrder(c, QUEUE, expected, 'a fresh console');
  assert.deepEqual(problems, []);
});

test('keys: the move shortcut shown on screen (J/K, Alt+↑/↓) moves the selected question; n puts the top live', async () => {
  const s = await createSession('Moderator: keys');
  const problems = [];
  const [mod] = await consoles(1, s, problems);
  const { page: screen } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  await screen.goto(screenUrl(s));
  await online(screen);

  // the footer names the keys for moving in the queue
  const moveKeys = await mod.locator('#shortcuts > span', { has: mod.locator('[data-i18n="key.move"]') }).locator('kbd').allTextContents();
  assert.deepEqual(moveKeys, ['J', 'K']);
  const [down, up] = moveKeys;

  const [x, y, z] = ['Kx: pasar tradisional', 'Ky: angkutan umum', 'Kz: sekolah gratis'];
  await seed(mod, [x, y, z]);
  await waitOrder(mod, QUEUE, [x, y, z]);

  await card(mod, 'approved', x).click({ position: { x: 5, y: 5 } });
  await mod.locator('#col-approved .card.selected[aria-current=true]', { hasText: x }).waitFor();
  await mod.keyboard.press(`Shift+${down}`);
  await waitOrder(mod, QUEUE, [y, x, z]);
  await mod.keyboard.press(`Shift+${down}`);
  await waitOrder(mod, QUEUE, [y, z, x]);
  await mod.keyboard.press(`Shift+${down}`); // already last: nothing
  await mod.keyboard.press(`Shift+${up}`);
  await waitOrder(mod, QUEUE, [y, x, z]);
  await mod.keyboard.press('Alt+ArrowUp');
  await waitOrder(mod, QUEUE, [x, y, z]);
  // held down / pressed quickly: every press counts, none is taken for another moderator's change
  await mod.keyboard.press(`Shift+${down}`);
  await mod.keyboard.press(`Shift+${down}`);
  await waitOrder(mod, QUEUE, [y, z, x]);
  await mod.keyboard.press(`Shift+${up}`);
  await mod.keyboard.press('Alt+ArrowUp');
  await waitOrder(mod, QUEUE, [x, y, z]);
  await mod.keyboard.press('Alt+ArrowDown');
  await waitOrder(mod, QUEUE, [y, x, z]);
  // the moved question stays selected throughout
  assert.equal(await mod.locator('#col-approved .card.selected').getAttribute('data-qid'), await card(mod, 'approved', x).getAttribute('data-qid'));
  await waitOrder(screen, SCREEN_NEXT, [y, x, z], 'screen');
  assert.equal(await mod.locator('#notice').isHidden(), true, 'no notice');

  // n: the top of the queue goes live (pressed twice by accident: still only the top one)
  await mod.keyboard.press('n');
  await mod.keyboard.press('n');
  await card(mod, 'live', y).waitFor();
  await waitOrder(mod, QUEUE, [x, z]);
  await screen.waitForFunction((t) => document.querySelector('#live-text').textContent === t, y);
  await waitOrder(screen, SCREEN_NEXT, [x, z], 'screen');
  // the second press is ignored however fast the hub answered the first (half a second's guard)
  await mod.waitForTimeout(600);
  await waitOrder(mod, QUEUE, [x, z]);
  assert.equal(await mod.locator('#col-answered .card').count(), 0);
  assert.equal(await mod.locator('#notice').isHidden(), true, 'no notice');
  // again: the next one, the previous live is answered
  await mod.keyboard.press('n');
  await card(mod, 'live', x).waitFor();
  await card(mod, 'answered', y).waitFor();
  await waitOrder(mod, QUEUE, [z]);
  await screen.waitForFunction((t) => document.querySelector('#live-text').textContent === t, x);
  assert.deepEqual(problems, []);
});

test('merge a duplicate into an approved question: the votes are pooled', async () => {
  const s = await createSession('Moderator: merge');
  const problems = [];
  const [mod] = await consoles(1, s, problems);
  const phones = [];
  for (let i = 0; i < 2; i++) phones.push((await newPage(browser, { viewport: PHONE, locale: 'en-US' }, problems)).page);
  await Promise.all(phones.map((p) => p.goto(s.links.audience)));
  await Promise.all(phones.map(online));

  const target = 'Kapan jembatan Musi IV selesai dibangun?';
  const dup = 'Jembatan Musi 4 kapan jadinya?';
  const other = 'Pertanyaan lain di antrian';
  await seed(mod, [target, dup, other]);
  const vote = async (phone, text) => {
    const li = phone.locator('#questions li', { hasText: text });
    await li.locator('[data-act=vote]').click();
    await li.locator('[data-act=vote][aria-pressed=true]').waitFor();
  };
  await vote(phones[0], target);
  await vote(phones[0], dup);
  await vote(phones[1], dup);
  await card(mod, 'approved', target).locator('[data-field=votes][data-votes="1"]').waitFor();
  await card(mod, 'approved', dup).locator('[data-field=votes][data-votes="2"]').waitFor();

  // Merge on the duplicate, then "Merge into this" on the target
  await card(mod, 'approved', dup).locator('[data-act=merge]').click();
  await mod.locator('#merge-banner:not([hidden])', { hasText: dup }).waitFor();
  assert.equal(await card(mod, 'approved', dup).locator('[data-act=merge-into]').count(), 0, 'not into itself');
  await card(mod, 'approved', target).locator('[data-act=merge-into]').click();
  await card(mod, 'approved', dup).waitFor({ state: 'detached' });
  await mod.locator('#merge-banner').waitFor({ state: 'hidden' });
  // one vote per device: phone 0 voted both, phone 1 the duplicate → 2, not 3
  await card(mod, 'approved', target).locator('[data-field=votes][data-votes="2"]').waitFor();
  await waitOrder(mod, QUEUE, [target, other]);
  assert.equal(await mod.locator('#count-approved').textContent(), '2');
  assert.equal(await mod.locator('#col-approved [data-act=merge-into]').count(), 0, 'merge mode ended');
  for (const p of phones) {
    await p.locator('#questions li', { hasText: target }).locator('.vote-count[data-votes="2"]').waitFor();
    await p.locator('#questions li', { hasText: dup }).waitFor({ state: 'detached' });
  }
  assert.deepEqual(problems, []);
});

test('operator form: a radio question with a name arrives in incoming marked operator · radio', async () => {
  const s = await createSession('Moderator: operator');
  const problems = [];
  const [mod] = await consoles(1, s, problems);
  const text = 'Penelepon radio: bagaimana cara daftar BPJS untuk lansia?';
  await mod.fill('#op-text', text);
  await mod.locator('#op-count', { hasText: `${[...text].length}/300` }).waitFor();
  await mod.fill('#op-name', 'Pak Harun');
  await mod.selectOption('#op-channel', 'radio');
  await mod.click('#op-submit');
  await mod.locator('#op-status', { hasText: 'Added to “Incoming”.' }).waitFor();
  assert.equal(await mod.inputValue('#op-text'), '', 'text cleared for the next call');
  assert.equal(await mod.inputValue('#op-name'), '');

  const c = card(mod, 'pending', text);
  await c.waitFor();
  assert.equal(await c.getAttribute('data-source'), 'operator');
  assert.equal(await c.getAttribute('data-status'), 'pending');
  assert.equal(await c.locator('[data-field=source]').textContent(), 'OPERATOR · Radio');
  assert.equal(await c.locator('[data-field=source]').isVisible(), true);
  assert.equal(await c.locator('[data-field=who]').textContent(), 'Pak Harun');
  assert.equal(await mod.locator('#count-pending').textContent(), '1');
  await mod.click('#filter-operator');
  await c.waitFor();
  await mod.click('#filter-audience');
  await c.waitFor({ state: 'hidden' });
  await mod.click('#filter-all');
  await c.waitFor();
  // it can be moderated like any other question
  await c.locator('[data-act=approve]').click();
  await card(mod, 'approved', text).locator('[data-field=source]', { hasText: 'OPERATOR · Radio' }).waitFor();
  assert.deepEqual(problems, []);
});

test('two moderators act on the same question: the slower one is told another moderator acted first', async () => {
  const s = await createSession('Moderator: conflict');
  const problems = [];
  const [a] = await consoles(1, s, problems);
  // console B behind a slow link: its events can be held back (replies still pass)
  const { page: b } = await newPage(browser, { viewport: DESK, locale: 'en-US' }, problems);
  let hold = false;
  const held = [];
  let toB = null;
  await b.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    toB = ws;
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      let f = null;
      try { f = JSON.parse(m); } catch { /* pass */ }
      if (hold && f && typeof f.seq === 'number') held.push(m); else ws.send(m);
    });
  });
  await b.goto(s.links.moderator);
  await online(b);

  const text = 'Siapa yang bertanggung jawab atas sampah di Sungai Sekanak?';
  await seed(a, [text], { approve: false });
  await card(a, 'pending', text).waitFor();
  const cardB = card(b, 'pending', text);
  await cardB.waitFor();
  const staleRev = await cardB.getAttribute('data-rev');

  hold = true;
  await card(a, 'pending', text).locator('[data-act=approve]').click();
  await card(a, 'approved', text).waitFor();
  // B has not heard of it yet and rejects with the old rev
  assert.equal(await cardB.getAttribute('data-rev'), staleRev);
  await cardB.locator('[data-act=reject]').click();
  const notice = b.locator('#notice:not([hidden])');
  await notice.waitFor();
  const msg = await notice.textContent();
  assert.match(msg, /^Another moderator changed this question first\./);
  assert.ok(msg.includes(`“${text}”`), `the notice names the question: ${msg}`);
  assert.equal(await b.getAttribute('#notice', 'role'), 'alert');
  assert.equal(await a.locator('#notice').isHidden(), true, 'A was not told anything');

  // the update arrives: B shows the question approved, not rejected
  hold = false;
  for (const m of held.splice(0)) toB.send(m);
  await card(b, 'approved', text).waitFor();
  assert.equal(await b.locator('#col-rejected .card').count(), 0);
  assert.equal(await a.locator('#col-rejected .card').count(), 0);
  await card(a, 'approved', text).waitFor();
  assert.deepEqual(problems, []);
});

test('edit in place: the editor starts from the current text and the card keeps the original in sight', async () => {
  const s = await createSession('Moderator: edit');
  const problems = [];
  const [mod, other] = await consoles(2, s, problems);
  const { page: phone } = await newPage(browser, { viewport: PHONE, locale: 'en-US' }, problems);
  await phone.goto(s.links.audience);
  await online(phone);

  const orig = 'pak kapan jalan di depan rumah sy diperbaiki ??';
  await phone.fill('#question-text', orig);
  await phone.click('#ask-btn');
  const c = card(mod, 'pending', orig);
  await c.waitFor();
  assert.equal(await c.locator('[data-field=original]').isHidden(), true, 'no original before an edit');

  await c.locator('[data-act=edit]').click();
  const ta = c.locator('[data-field=edit-text]');
  await ta.waitFor();
  assert.equal(await ta.inputValue(), orig);
  assert.equal(await c.locator('[data-field=edit-note]').textContent(), 'The original text is kept.');
  assert.equal(await c.getAttribute('draggable'), 'false');
  const first = 'Kapan jalan di depan rumah saya diperbaiki?';
  await ta.fill(first);
  await c.locator('[data-act=save]').click();

  const edited = card(mod, 'pending', first);
  await edited.locator('.editor').waitFor({ state: 'hidden' });
  await edited.locator('[data-field=original]:visible').waitFor();
  assert.equal(await edited.locator('[data-field=original] .orig-label').textContent(), 'Original: ');
  assert.equal(await edited.locator('[data-field=original] .orig-text').textContent(), orig);
  // the other console sees the same
  await card(other, 'pending', first).locator('[data-field=original] .orig-text', { hasText: orig }).waitFor();

  // a second edit starts from the edited text and still shows the asker's original
  await edited.locator('[data-act=edit]').click();
  assert.equal(await edited.locator('[data-field=edit-text]').inputValue(), first);
  const second = 'Kapan jalan di depan rumah saya (Jl. Merdeka) diperbaiki?';
  await edited.locator('[data-field=edit-text]').fill(second);
  await mod.keyboard.press('Control+Enter');
  const again = card(mod, 'pending', second);
  await again.locator('.editor').waitFor({ state: 'hidden' });
  assert.equal(await again.locator('[data-field=original] .orig-text').textContent(), orig);

  // Esc cancels without a change
  await again.locator('[data-act=edit]').click();
  await again.locator('[data-field=edit-text]').fill('not saved');
  await mod.keyboard.press('Escape');
  await again.locator('.editor').waitFor({ state: 'hidden' });
  assert.equal(await again.locator('[data-field=text]').textContent(), second);

  // approved, the audience sees only the edited text
  await again.locator('[data-act=approve]').click();
  await phone.locator('#questions li', { hasText: second }).waitFor();
  assert.equal(await phone.locator('#questions li', { hasText: orig }).count(), 0);
  assert.deepEqual(problems, []);
});

test('ban address: after the device, with a confirmation, every phone on that address is refused; unban lets it ask again', async () => {
  const s = await createSession('Moderator: ban address');
  const problems = [];
  const [mod] = await consoles(1, s, problems);
  // The console asks before an address ban (a carrier address may be shared): accept it here.
  mod.removeAllListeners('dialog');
  const dialogs = [];
  mod.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  // Two phones, two devices, one address (the test machine's).
  const phones = [];
  for (let i = 0; i < 2; i++) phones.push((await newPage(browser, { viewport: PHONE, locale: 'en-US' }, problems)).page);
  await Promise.all(phones.map((p) => p.goto(s.links.audience)));
  await Promise.all(phones.map(online));

  const spam = 'Pinjaman online bunga rendah, hubungi kami';
  await ask(phones[0], spam);
  const c = card(mod, 'pending', spam);
  assert.equal(await c.locator('[data-act=ban-address]').count(), 0, 'the address is offered after the device');
  await c.locator('[data-act=ban]').click();
  await c.locator('[data-field=banned]:not([hidden])').waitFor();
  await c.locator('[data-act=ban-address]').click();
  await c.locator('[data-field=address-banned]:not([hidden])', { hasText: 'ADDRESS BANNED' }).waitFor();
  assert.equal(dialogs.length, 1, 'one confirmation');
  assert.match(dialogs[0], /share one address/);

  await ask(phones[1], 'Dari ponsel lain di alamat yang sama');
  await phones[1].locator('#ask-status', { hasText: 'cannot ask questions' }).waitFor();

  await c.locator('[data-act=unban-address]').click();
  await c.locator('[data-field=address-banned]').waitFor({ state: 'hidden' });
  assert.equal(dialogs.length, 1, 'lifting a ban needs no confirmation');
  assert.ok(await c.locator('[data-field=banned]').isVisible(), 'the device ban stays');
  const fine = 'Kapan pasar Cinde selesai dibangun?';
  await ask(phones[1], fine);
  await card(mod, 'pending', fine).waitFor();
  assert.deepEqual(problems, []);
});

test('keys: the key leaves the address bar and survives a reload; a new screen key disconnects the old screen', async () => {
  const s = await createSession('Moderator: keys');
  const problems = [];
  const [mod] = await consoles(1, s, problems);
  const key = new URL(s.links.moderator).hash.slice(3);
  assert.ok(key.length >= 32);
  assert.ok(!mod.url().includes(key), `the key is not in the address bar: ${mod.url()}`);
  assert.equal(await mod.evaluate(() => location.hash), '');
  await mod.reload();
  await online(mod);

  const { page: screen } = await newPage(browser, { viewport: { width: 1280, height: 720 }, locale: 'en-US' }, problems);
  await screen.goto(s.links.screen);
  await online(screen);
  assert.ok(!screen.url().includes('#k='), screen.url());

  // A new screen key, after a confirmation: the old screen stops, the link shows the new key.
  mod.removeAllListeners('dialog');
  const dialogs = [];
  mod.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  await mod.locator('[data-rotate=screen]').click();
  await screen.locator('#fatal:not([hidden])', { hasText: 'was changed' }).waitFor();
  assert.equal(dialogs.length, 1);
  await mod.waitForFunction((old) => document.querySelector('#link-screen').value && !document.querySelector('#link-screen').value.endsWith(old), s.keys.screen);
  const shown = new URL(await mod.locator('#link-screen').inputValue());
  const newLink = `${BASE}${shown.pathname}${shown.hash}`;
  const { page: screen2 } = await newPage(browser, { viewport: { width: 1280, height: 720 }, locale: 'en-US' }, problems);
  await screen2.goto(newLink);
  await online(screen2);

  // The moderator key: this console keeps working and a reload in the tab uses the new key.
  await mod.locator('[data-rotate=moderator]').click();
  await mod.waitForFunction((old) => !document.querySelector('#link-moderator').value.endsWith(old), key);
  await mod.reload();
  await online(mod);

  // The moderator page does not take a key from the query string.
  const { page: byQuery } = await newPage(browser, { viewport: DESK, locale: 'en-US' }, problems);
  const newKey = new URL(await mod.locator('#link-moderator').inputValue()).hash.slice(3);
  await byQuery.goto(`${BASE}/m/${s.session.id}?k=${newKey}`);
  await byQuery.locator('#fatal:not([hidden])').waitFor();
  assert.deepEqual(problems, []);
});
