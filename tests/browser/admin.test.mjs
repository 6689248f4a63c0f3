// The admin page /admin: the token, a session created through the form with its links,
// a wrong token explained, and the moderator link opening a connected console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, stopHub, hub, newPage, online } from './helpers.mjs';

const KINDS = ['audience', 'press', 'moderator', 'screen', 'overlay'];
const DESK = { width: 1280, height: 900 };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); await stopHub(); });

async function listSessions(base, token) {
  const r = await fetch(`${base}/api/sessions`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return ((await r.json()).sessions || []).map((x) => x.session || x);
}

/** A link of the hub's public URL, rebased onto the hub these tests talk to. */
function rebase(link, base) {
  const u = new URL(link);
  return `${base}${u.pathname}${u.search}${u.hash}`;
}

test('create a session with a title and two speakers; its links are listed; the moderator link opens the console connected', async () => {
  const { base, token } = await hub();
  const problems = [];
  const { page } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  await page.goto(`${base}/admin`);
  assert.equal(await page.isHidden('#admin-error'), true, 'no error before a token is given');
  await page.fill('#admin-token', token);
  await page.click('#token-save');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tanya:admin-token')), token, 'kept in this tab');

  // the form checks what it can before sending
  await page.click('#create-btn');
  await page.locator('#create-status', { hasText: 'Judul wajib diisi' }).waitFor();
  const title = `Dialog Publik Palembang ${Date.now()}`;
  await page.fill('#new-title', title);
  await page.click('#add-speaker');
  await page.click('#add-speaker');
  const rows = page.locator('#speaker-rows .speaker-row');
  assert.equal(await rows.count(), 2);
  assert.ok(await rows.nth(1).locator('[name=speaker-name]').evaluate((el) => el === document.activeElement), 'the new row takes the focus');
  await rows.nth(0).locator('[name=speaker-name]').fill('Drs Ratu Dewa MSi');
  await page.click('#create-btn');
  await page.locator('#create-status', { hasText: 'Setiap narasumber perlu nama dan jabatan.' }).waitFor();
  await rows.nth(0).locator('[name=speaker-role]').fill('Sekretaris Daerah');
  await rows.nth(1).locator('[name=speaker-name]').fill('Ir. Budi Santoso');
  await rows.nth(1).locator('[name=speaker-role]').fill('Kepala Dinas PUPR');
  await page.click('#create-btn');

  const status = page.locator('#create-status', { hasText: 'Sesi dibuat' });
  await status.waitFor();
  const code = (await status.textContent()).match(/kode ([A-Z0-9]{6})\./)[1];
  assert.equal(await page.inputValue('#new-title'), '', 'the form is reset');
  assert.equal(await rows.count(), 0);
  assert.equal(await page.isHidden('#admin-error'), true);

  // listed, with all five links
  const li = page.locator(`#sessions li[data-code="${code}"]`);
  await li.waitFor();
  const id = await li.getAttribute('data-session-id');
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(await li.locator('h3').textContent(), title);
  const meta = await li.locator('.meta').textContent();
  assert.match(meta, /Drs Ratu Dewa MSi \(Sekretaris Daerah\)/);
  assert.match(meta, /Ir\. Budi Santoso \(Kepala Dinas PUPR\)/);
  const links = {};
  for (const k of KINDS) {
    const input = li.locator(`input[data-link=${k}]`);
    assert.equal(await input.count(), 1, `${k} link`);
    links[k] = await input.inputValue();
    assert.ok(await input.evaluate((el) => el.labels.length && el.readOnly), `${k} link labelled, read-only`);
  }
  assert.match(links.audience, new RegExp(`/j/${code}$`));
  assert.match(links.press, new RegExp(`/j/${code}#p=[\\w-]{16,}$`));
  for (const k of ['moderator', 'screen', 'overlay']) {
    const path = k === 'moderator' ? 'm' : k;
    assert.match(links[k], new RegExp(`/${path}/${id}#k=[\\w-]{16,}$`), `${k} link`);
  }
  assert.equal(new URL(links.audience).hash, '', 'the audience link carries no key');
  assert.equal(new Set(KINDS.slice(1).map((k) => new URL(links[k]).hash.slice(3))).size, 4, 'a key of its own per role');

  // the hub has it, speakers and all
  const stored = (await listSessions(base, token)).find((x) => x.id === id);
  assert.equal(stored.title, title);
  assert.equal(stored.code, code);
  assert.deepEqual(stored.speakers.map((sp) => [sp.name, sp.role]),
    [['Drs Ratu Dewa MSi', 'Sekretaris Daerah'], ['Ir. Budi Santoso', 'Kepala Dinas PUPR']]);

  // the moderator link: the page's own "Buka" link when it points at this hub, else the same link rebased
  const modUrl = rebase(links.moderator, base);
  let mod;
  if (modUrl === links.moderator) {
    const open = li.locator(`a[href="${links.moderator}"]`);
    assert.equal(await open.textContent(), 'Buka');
    [mod] = await Promise.all([page.context().waitForEvent('page'), open.click()]);
    mod.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    mod.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  } else {
    ({ page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems));
    await mod.goto(modUrl);
  }
  await online(mod);
  await mod.waitForFunction((t) => document.querySelector('#session-title').textContent === t, title);
  assert.equal(await mod.isHidden('#fatal'), true);
  assert.equal(await mod.evaluate(() => window.tanya.client.role), 'moderator');
  await mod.waitForFunction((c) => document.querySelector('#join-code').textContent.includes(c), code);
  assert.equal(await mod.locator('select[data-act=assign]').count(), 0, 'no questions yet');

  // forget: the token leaves the tab
  await page.click('#token-forget');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tanya:admin-token')), null);
  assert.equal(await page.locator('#sessions li').count(), 0);
  assert.deepEqual(problems, []);
});

test('a wrong token shows an error message, not a crash; the right one then works', async () => {
  const { base, token } = await hub();
  const problems = [];
  const { page } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  await page.goto(`${base}/admin`);
  const before = (await listSessions(base, token)).length;

  await page.fill('#admin-token', `${token}x`);
  await page.click('#token-save');
  const err = page.locator('#admin-error:not([hidden])');
  await err.waitFor();
  assert.equal(await err.textContent(), 'Token admin salah atau belum diisi.');
  assert.equal(await err.getAttribute('role'), 'alert');
  assert.equal(await page.locator('#sessions li').count(), 0);

  // creating with it: refused, explained, nothing created, the form still there
  await page.fill('#new-title', 'Tidak boleh dibuat');
  await page.click('#create-btn');
  await page.waitForFunction(() => !document.querySelector('#create-btn').disabled);
  assert.equal(await err.textContent(), 'Token admin salah atau belum diisi.');
  assert.equal(await page.inputValue('#new-title'), 'Tidak boleh dibuat', 'what was typed is kept');
  assert.equal((await listSessions(base, token)).length, before);

  // in English too
  await page.click('#lang-en');
  await page.locator('#admin-error', { hasText: 'Wrong or missing admin token.' }).waitFor();

  // the right token: the error goes, the list comes, the same form creates the session
  await page.fill('#admin-token', token);
  await page.click('#token-save');
  await page.locator('#admin-error').waitFor({ state: 'hidden' });
  await page.click('#create-btn');
  await page.locator('#create-status', { hasText: 'Session created' }).waitFor();
  await page.locator('#sessions li', { hasText: 'Tidak boleh dibuat' }).waitFor();
  assert.equal((await listSessions(base, token)).length, before + 1);

  // the only console errors allowed are the browser's own lines about the 401 responses
  assert.deepEqual(problems.filter((p) => !/^console: Failed to load resource: .*\b401\b/.test(p)), []);
  assert.ok(problems.every((p) => !p.startsWith('pageerror')), 'no uncaught error');
});
