// The offline outbox: a question written offline is sent once when the connection is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, createSession, newPage, online, ask, card } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

test('a phone goes offline, asks, comes back: exactly one question', async () => {
  const s = await createSession('Outbox');
  const problems = [];
  const { ctx, page: phone } = await newPage(browser, { viewport: { width: 360, height: 640 }, locale: 'id-ID' }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await Promise.all([phone.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(phone), online(mod)]);

  await ctx.setOffline(true);
  await phone.waitForSelector('#conn:not([data-state=online])');
  const text = `Ditulis saat offline ${Date.now()}`;
  await ask(phone, text);
  await phone.locator('#my-questions li[data-status=queued]', { hasText: text }).waitFor();
  const stored = await phone.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tanya:outbox:')).map((k) => JSON.parse(localStorage.getItem(k))));
  assert.equal(stored.flat().length, 1, 'the ask is kept in localStorage');

  await ctx.setOffline(false);
  await online(phone);
  await phone.locator('#my-questions li[data-qid][data-status=pending]', { hasText: text }).waitFor();
  await card(mod, 'pending', text).waitFor();
  await phone.waitForTimeout(1000);
  assert.equal(await card(mod, 'pending', text).count(), 1);
  const left = await phone.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tanya:outbox:')).length);
  assert.equal(left, 0, 'the outbox is empty after ok');
  assert.deepEqual(problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|WebSocket/.test(p)), []);
});

test('a reply lost and the page reloaded: the same ref is sent again, still one question', async () => {
  const s = await createSession('Outbox retry');
  const problems = [];
  const { page: phone } = await newPage(browser, { viewport: { width: 360, height: 640 } }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  await Promise.all([phone.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(phone), online(mod)]);
  const text = `Dikirim dua kali ${Date.now()}`;
  // send it, then put the same entry back in the outbox as if the ok never came
  const entry = await phone.evaluate(async (t) => {
    const c = window.tanya.client;
    const p = c.submit({ type: 'ask', text: t });
    const e = c.outbox[c.outbox.length - 1];
    await p;
    return e;
  }, text);
  await phone.evaluate(([e, code]) => {
    localStorage.setItem(`tanya:outbox:${code.toUpperCase()}`, JSON.stringify([e]));
  }, [entry, s.code]);
  await phone.reload();
  await online(phone);
  await phone.waitForFunction(() => window.tanya.client.outbox.length === 0);
  await card(mod, 'pending', text).waitFor();
  await mod.waitForTimeout(500);
  assert.equal(await card(mod, 'pending', text).count(), 1);
  assert.equal(await phone.locator('#my-questions li', { hasText: text }).count(), 1);
  assert.deepEqual(problems, []);
});
