// Hostile text renders as plain text on every page and runs nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, createSession, newPage, online, card } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

const PAYLOADS = [
  '<img src=x onerror="window.__pwned=1;alert(1)">',
  '<script>window.__pwned=2;alert(2)</script> & "quotes" \'single\'',
];

test('<img onerror> and <script> approved and on air stay plain text', async () => {
  const s = await createSession('XSS <b>title</b>', [{ name: '<i>Speaker</i>', role: '<svg onload=alert(3)>' }]);
  const problems = [];
  const { page: phone } = await newPage(browser, { viewport: { width: 360, height: 640 } }, problems);
  const { page: other } = await newPage(browser, { viewport: { width: 360, height: 640 } }, problems);
  const { page: mod } = await newPage(browser, { viewport: { width: 1440, height: 900 } }, problems);
  const { page: screen } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  const { page: overlay } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  const pages = { phone, other, mod, screen, overlay };
  await Promise.all([phone.goto(s.links.audience), other.goto(s.links.audience), mod.goto(s.links.moderator), screen.goto(s.links.screen), overlay.goto(s.links.overlay)]);
  await Promise.all([online(phone), online(other), online(mod), online(screen), overlay.waitForSelector('body[data-conn=online]')]);

  for (const text of PAYLOADS) {
    await phone.fill('#name', '<b onmouseover=alert(4)>Nama</b>');
    await phone.selectOption('#speaker', { index: 1 });
    await phone.fill('#question-text', text);
    await phone.click('#ask-btn');
    await phone.locator('#ask-status[data-kind=ok]').waitFor();
    await card(mod, 'pending', text).locator('[data-act=approve]').click();
    await card(mod, 'approved', text).locator('[data-act=live]').click();
    await card(mod, 'live', text).waitFor();
    await mod.locator('#overlay-take:not([disabled])').click();
    await overlay.waitForSelector('#lower-third.on');

    assert.equal(await overlay.textContent('#lt-text'), text);
    assert.equal(await overlay.textContent('#lt-asker'), '<b onmouseover=alert(4)>Nama</b>');
    assert.equal(await overlay.textContent('#lt-to'), '→ <i>Speaker</i> — <svg onload=alert(3)>');
    await screen.waitForFunction((t) => document.querySelector('#live-text').textContent === t, text);
    await other.waitForFunction((t) => document.querySelector('#live-text').textContent === t, text);
    assert.equal(await phone.locator('#my-questions [data-field=status]').first().count(), 1);
    assert.equal(await mod.textContent('#preview-lt-text'), text);

    for (const [name, page] of Object.entries(pages)) {
      const r = await page.evaluate(() => ({
        pwned: window.__pwned,
        imgs: document.querySelectorAll('img[src="x"], img[onerror], b[onmouseover], svg[onload]').length,
        scripts: [...document.scripts].filter((x) => !x.src).length,
      }));
      assert.deepEqual(r, { pwned: undefined, imgs: 0, scripts: 0 }, `${name}: ${JSON.stringify(r)}`);
    }
    await mod.click('#overlay-clear');
    await overlay.waitForSelector('body[data-visible=false]');
    await card(mod, 'live', text).locator('[data-act=answered]').click();
    await card(mod, 'answered', text).waitFor();
  }
  assert.equal(await screen.textContent('#session-title'), 'XSS <b>title</b>');
  assert.deepEqual(problems, []);
});
