// Programmes with episodes (issue #12): one set of links per programme that always leads to its
// current episode. /admin creates a programme and its episodes; a phone on /p/{slug} asks into
// episode 1; an overlay on /p/{slug}/overlay shows episode 1's live question, and when the office
// makes episode 2 current it is transparent at once, never shows episode 1's question again
// (the DOM sampled on every frame and the pixels of repeated screenshots across the switch) and
// shows episode 2's live question without a reload; the console, the speaker screen and the phone
// follow too. The phone waits while no episode is open (programme title, next date in WIB, the
// board and /lacak) and connects by itself when one opens. The console's carry-over panel brings
// a question of the previous episode with its tracking code. The report shows the start time.
// Screenshots programme-admin.png, programme-wait.png, console-carry.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, hub, newPage, online, card } from './helpers.mjs';
import { decodePng, opaqueBox } from './png.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const PHONE = { width: 360, height: 740 };
const CONSOLE = { width: 1440, height: 900 };
const HD = { width: 1920, height: 1080 };
const TRACKING = /^[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}$/;

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

let seq = 0;
const uniq = (p) => `${p}-${Date.now().toString(36)}${(++seq).toString(36)}`;

async function call(method, p, body, key) {
  const { base, token } = await hub();
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${key || token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let json = null;
  try { json = await res.json(); } catch { json = null; }
  return { status: res.status, body: json };
}

/** A link of the hub's JSON, on the address this test reaches the hub at. */
async function rebase(url) {
  const { base } = await hub();
  const u = new URL(url);
  return `${base}${u.pathname}${u.search}${u.hash}`;
}

async function createProgramme(title, extra = {}) {
  const slug = uniq('prog');
  const r = await call('POST', '/api/programmes', { title, slug, ...extra });
  assert.equal(r.status, 201, `POST /api/programmes: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.slug, slug);
  return r.body;
}

async function newEpisode(slug, body) {
  const r = await call('POST', `/api/programmes/${slug}/episodes`, body);
  assert.equal(r.status, 201, `POST /api/programmes/${slug}/episodes: ${JSON.stringify(r.body)}`);
  assert.ok(r.body.session, 'the new episode');
  const s = r.body.session.session || r.body.session;
  return { programme: r.body.programme, session: s, raw: r.body.session };
}

async function makeCurrent(slug, id) {
  const r = await call('PATCH', `/api/programmes/${slug}`, { current: id });
  assert.equal(r.status, 200, `PATCH /api/programmes/${slug}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.current, id);
  return r.body;
}

/** A page that also records CSP violations; the moderator's name is set (no name dialog). */
async function page(opts, problems) {
  const { ctx, page: p } = await newPage(browser, { locale: 'id-ID', ...opts }, problems);
  await p.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => { (window.__csp ||= []).push(`${e.violatedDirective} ${e.blockedURI}`); });
    try { localStorage.setItem('tanya:moderator-name', 'Uji Program'); } catch { /* ignore */ }
  });
  return { ctx, page: p };
}
const csp = (p) => p.evaluate(() => window.__csp || []);

/** Ask from the phone and wait for the hub's reply; the tracking code of the question. */
async function askFrom(phone, text) {
  await phone.fill('#question-text', text);
  await phone.click('#ask-btn');
  await phone.locator('#ask-status[data-kind=ok]').waitFor({ timeout: 10000 });
  return phone.evaluate((t) => {
    const q = [...window.tanya.client.view.questions.values()].find((x) => x.text === t);
    return q ? q.tracking || '' : '';
  }, text);
}

async function approve(mod, text) {
  const c = card(mod, 'pending', text);
  await c.waitFor({ timeout: 10000 });
  await c.locator('[data-act=approve]').click();
  await card(mod, 'approved', text).waitFor();
}

async function goLiveAndTake(mod, text) {
  await approve(mod, text);
  await card(mod, 'approved', text).locator('[data-act=live]').click();
  await card(mod, 'live', text).waitFor();
  await mod.click('#overlay-take');
  await mod.locator('#overlay-state[data-visible=true]').waitFor();
}

const shot = async (p) => decodePng(await p.screenshot({ omitBackground: true }));

test('/admin: a programme created through the form; its links, episodes, "make current", next date, join code and a new link; screenshot programme-admin.png', async () => {
  const { base, token } = await hub();
  const problems = [];
  const { page: admin } = await newPage(browser, { locale: 'id-ID', viewport: { width: 1280, height: 900 } }, []);
  admin.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  admin.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  admin.removeAllListeners('dialog');
  const dialogs = [];
  admin.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  await admin.goto(`${base}/admin`);
  await admin.fill('#admin-token', token);
  await admin.click('#token-save');
  await admin.locator('#programmes').waitFor();

  // the form checks the address before asking the hub
  const slug = uniq('wongkito');
  const code = `WK${Date.now().toString(36).toUpperCase().slice(-6)}`.replace(/[^A-Z0-9]/g, '').slice(0, 12);
  await admin.fill('#prog-title', 'Wong Kito Betanyo');
  await admin.fill('#prog-slug', 'Bad Slug!');
  await admin.click('#prog-create');
  await admin.locator('#prog-slug-error', { hasText: 'huruf kecil' }).waitFor();
  assert.equal(await admin.getAttribute('#prog-slug', 'aria-invalid'), 'true');
  await admin.fill('#prog-slug', slug);
  await admin.fill('#prog-code', code.toLowerCase());
  await admin.click('#prog-create');
  const li = admin.locator(`#programme-list li[data-programme="${slug}"]`);
  await li.waitFor({ timeout: 10000 });
  await admin.locator('#prog-status', { hasText: 'Wong Kito Betanyo' }).waitFor();
  assert.equal(await admin.inputValue('#prog-slug'), '', 'the form is reset');
  assert.equal((await li.locator('[data-field=join-code]').textContent()).trim(), code, 'the join code in upper case');
  assert.match(await li.locator('[data-field=current-episode]').textContent(), /Tidak ada episode aktif/);

  // the programme's links: the stable /p/{slug} addresses with copy buttons and new links
  const links = {};
  for (const k of ['audience', 'press', 'moderator', 'screen', 'overlay', 'desk']) {
    const input = li.locator(`input[data-link=${k}]`);
    assert.equal(await input.count(), 1, `${k} link`);
    links[k] = await input.inputValue();
  }
  assert.match(links.audience, new RegExp(`/p/${slug}$`));
  assert.match(links.press, new RegExp(`/p/${slug}#p=[\\w-]{16,}$`));
  assert.match(links.moderator, new RegExp(`/p/${slug}/m#k=[\\w-]{16,}$`));
  assert.match(links.screen, new RegExp(`/p/${slug}/screen#k=[\\w-]{16,}$`));
  assert.match(links.overlay, new RegExp(`/p/${slug}/overlay#k=[\\w-]{16,}$`));
  assert.match(links.desk, new RegExp(`/p/${slug}/desk#k=[\\w-]{16,}$`));
  for (const k of ['press', 'moderator', 'screen', 'overlay', 'desk']) assert.equal(await li.locator(`[data-rotate=${k}]`).count(), 1, `new ${k} link`);
  assert.ok(await li.locator('[data-copy=audience]').count() === 1, 'copy button');

  // two episodes through the form: the first current at once (ticked by default while none is)
  let form = li.locator('form[data-act=new-episode]');
  assert.equal(await form.locator('[name=ep-current]').isChecked(), true, '"make current" ticked while there is no current episode');
  await form.locator('[name=ep-title]').fill('Episode 1: Banjir');
  await form.locator('[name=ep-start]').fill('2031-03-07T19:00');
  await form.locator('[data-act=episode-create]').click();
  await li.locator('[data-field=prog-status]', { hasText: 'Episode 1: Banjir' }).waitFor({ timeout: 10000 });
  let eps = li.locator('ol[data-field=episodes] li[data-episode-id]');
  assert.equal(await eps.count(), 1);
  assert.equal(await eps.first().getAttribute('data-current'), 'true');
  assert.match(await eps.first().locator('[data-field=starts-at]').textContent(), /7 Maret 2031 19\.00 WIB/);
  assert.match(await li.locator('[data-field=current-episode]').textContent(), /Episode aktif: Episode 1: Banjir/);

  form = li.locator('form[data-act=new-episode]');
  assert.equal(await form.locator('[name=ep-current]').isChecked(), false, 'not ticked once one is current');
  await form.locator('[name=ep-title]').fill('Episode 2: Jalan');
  await form.locator('[name=ep-rehearsal]').check();
  await form.locator('[data-act=episode-create]').click();
  await li.locator('[data-field=prog-status]', { hasText: 'Episode 2: Jalan' }).waitFor({ timeout: 10000 });
  eps = li.locator('ol[data-field=episodes] li[data-episode-id]');
  assert.equal(await eps.count(), 2);
  const ep2 = li.locator('ol[data-field=episodes] li', { hasText: 'Episode 2: Jalan' });
  assert.equal(await ep2.getAttribute('data-current'), 'false');
  assert.equal(await ep2.locator('[data-field=rehearsal]').count(), 1, 'rehearsal badge');
  const ep2Id = await ep2.getAttribute('data-episode-id');

  // "Jadikan episode aktif" asks first, then moves the programme
  await ep2.locator('[data-act=make-current]').click();
  await li.locator('[data-field=prog-status]', { hasText: 'Episode aktif sekarang' }).waitFor({ timeout: 10000 });
  assert.ok(dialogs.some((d) => /Episode 2: Jalan/.test(d)), 'asked before making it current');
  let r = await call('GET', `/api/programmes/${slug}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.current, ep2Id, 'the hub has episode 2 current');
  assert.equal(await admin.locator(`#programme-list li[data-programme="${slug}"] ol[data-field=episodes] li[data-current=true]`).getAttribute('data-episode-id'), ep2Id);

  // the next date, in WIB
  const nextForm = admin.locator(`#programme-list li[data-programme="${slug}"] form[data-form=next-at]`);
  await nextForm.locator('[name=next-at]').fill('2031-03-14T19:30');
  await nextForm.locator('[data-act=next-save]').click();
  await admin.locator(`#programme-list li[data-programme="${slug}"] [data-field=next-at]`, { hasText: '14 Maret 2031 19.30 WIB' }).waitFor({ timeout: 10000 });
  r = await call('GET', `/api/programmes/${slug}`);
  assert.equal(new Date(r.body.next_at).toISOString(), '2031-03-14T12:30:00.000Z', 'next_at saved as 19:30 WIB');

  // the join code: a malformed one is explained here; a new one saved
  const codeForm = admin.locator(`#programme-list li[data-programme="${slug}"] form[data-form=join-code]`);
  await codeForm.locator('[name=join-code]').fill('ab');
  await codeForm.locator('[data-act=code-save]').click();
  await admin.locator(`#programme-list li[data-programme="${slug}"] [data-field=prog-error]`, { hasText: '4–16' }).waitFor();
  const code2 = `${code.slice(0, 10)}X2`;
  await codeForm.locator('[name=join-code]').fill(code2);
  await codeForm.locator('[data-act=code-save]').click();
  await admin.locator(`#programme-list li[data-programme="${slug}"] [data-field=join-code]`, { hasText: code2 }).waitFor({ timeout: 10000 });
  r = await call('GET', `/api/programmes/${slug}`);
  assert.equal(r.body.join_code, code2);

  // a new overlay link: asked first; the old key is gone
  const oldOverlay = r.body.keys.overlay;
  await admin.locator(`#programme-list li[data-programme="${slug}"] [data-rotate=overlay]`).click();
  await admin.locator(`#programme-list li[data-programme="${slug}"] [data-field=prog-status]`, { hasText: 'Tautan baru' }).waitFor({ timeout: 10000 });
  r = await call('GET', `/api/programmes/${slug}`);
  assert.notEqual(r.body.keys.overlay, oldOverlay, 'a new overlay key');
  assert.equal(await admin.locator(`#programme-list li[data-programme="${slug}"] input[data-link=overlay]`).inputValue(), r.body.links.overlay);

  // English
  await admin.click('#lang-en');
  await admin.locator('#programmes-heading', { hasText: 'Programmes' }).waitFor();
  await admin.locator(`#programme-list li[data-programme="${slug}"] [data-act=make-current]`, { hasText: 'Make current episode' }).waitFor();
  await admin.click('#lang-id');
  await admin.locator(`#programme-list li[data-programme="${slug}"] [data-act=make-current]`, { hasText: 'Jadikan episode aktif' }).waitFor();

  await admin.locator('#programmes').screenshot({ path: path.join(OUT, 'programme-admin.png') });
  assert.deepEqual(await csp(admin).catch(() => []), []);
  assert.deepEqual(problems, []);
});

test('a phone asks into episode 1 on /p/{slug}; the overlay goes transparent at once when episode 2 becomes current, never shows episode 1 again, and shows episode 2 without a reload; console and screen follow', async () => {
  const p = await createProgramme('Dialog Interaktif Wong Kito', { speakers: [{ name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' }] });
  const e1 = await newEpisode(p.slug, { title: 'Episode satu', current: true });
  const e2 = await newEpisode(p.slug, { title: 'Episode dua' });
  const prog = e2.programme;
  assert.equal(prog.current, e1.session.id, 'episode 1 stays current');
  const problems = [];
  const { page: phone } = await page({ viewport: PHONE }, problems);
  const { page: mod } = await page({ viewport: CONSOLE }, problems);
  const { page: overlay } = await page({ viewport: HD }, problems);
  const { page: screen } = await page({ viewport: { width: 1280, height: 720 } }, problems);

  await phone.goto(await rebase(prog.links.audience));
  await online(phone);
  await phone.locator('#session-title', { hasText: 'Episode satu' }).waitFor();
  assert.equal(await phone.isHidden('#programme-wait'), true);
  await mod.goto(await rebase(prog.links.moderator));
  await online(mod);
  await mod.locator('#session-title', { hasText: 'Episode satu' }).waitFor();
  assert.equal(new URL(mod.url()).hash, '', 'the key left the address bar');
  await screen.goto(await rebase(prog.links.screen));
  await screen.locator('#conn[data-state=online]').waitFor({ timeout: 15000 });
  await overlay.goto(await rebase(prog.links.overlay));
  await overlay.locator('body[data-conn=online]').waitFor({ timeout: 15000 });
  assert.equal(opaqueBox(await shot(overlay)), null, 'transparent before the take');

  // episode 1: ask, approve, live, on air
  const Q1 = 'Kapan normalisasi Sungai Bendung selesai? (episode satu)';
  const tracking1 = await askFrom(phone, Q1);
  assert.match(tracking1, TRACKING);
  assert.equal(await phone.evaluate(() => localStorage.getItem(`tanya:dev:p:${window.tanya.programme.slug}`) !== null), true, 'device token kept as dev:p:{slug}');
  await goLiveAndTake(mod, Q1);
  await overlay.locator('body[data-visible=true]').waitFor({ timeout: 10000 });
  await overlay.locator('#lt-text', { hasText: Q1 }).waitFor();
  await overlay.waitForTimeout(600); // animated in
  assert.notEqual(opaqueBox(await shot(overlay)), null, 'episode 1 on air');
  await screen.locator('#live-text', { hasText: Q1 }).waitFor();

  // watch the overlay across the switch: every frame and every mutation, and the moment the
  // page learns of the switch (its own `episode` handler runs first)
  await overlay.evaluate((q1) => {
    window.__marker = 'kept';
    window.__navs = performance.getEntriesByType('navigation').length;
    const lt = document.getElementById('lower-third');
    const stage = document.getElementById('stage');
    const shows = () => !stage.hidden && lt.classList.contains('on') && parseFloat(getComputedStyle(lt).opacity) > 0.01 && document.getElementById('lt-text').textContent.includes(q1);
    const texts = () => document.body.textContent.includes(q1);
    window.__switch = null;
    window.__samples = [];
    window.tanyaOverlay.client.on('episode', () => {
      window.__switch = { at: performance.now(), stageHidden: stage.hidden, text: document.getElementById('lt-text').textContent, on: lt.classList.contains('on') };
    });
    const sample = (how) => window.__samples.push({ t: performance.now(), how, shows: shows(), text: texts() });
    new MutationObserver(() => sample('mutation')).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    const frame = () => { sample('frame'); if (window.__samplesOn !== false) requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
  }, Q1);

  // the office makes episode 2 current: screenshots taken while the switch happens
  const pixels = [];
  let shooting = true;
  const shooter = (async () => {
    while (shooting) {
      // the switch known to the page before this screenshot began: nothing may be drawn
      const sw = await overlay.evaluate(() => window.__switch);
      const png = await shot(overlay);
      pixels.push({ afterSwitch: !!sw, opaque: opaqueBox(png) });
    }
  })();
  await makeCurrent(p.slug, e2.session.id);
  await overlay.waitForFunction(() => window.__switch !== null, null, { timeout: 10000 });
  await overlay.waitForFunction((id) => window.tanyaOverlay.client.view.session && window.tanyaOverlay.client.view.session.id === id, e2.session.id, { timeout: 10000 });
  await overlay.waitForTimeout(800);
  shooting = false;
  await shooter;

  const sw = await overlay.evaluate(() => window.__switch);
  assert.equal(sw.stageHidden, true, 'the stage is hidden at once, in the same task as the close');
  assert.equal(sw.on, false, 'the lower third is off at once');
  assert.equal(sw.text, '', "episode 1's text is emptied at once");
  const samples = await overlay.evaluate(() => window.__samples);
  const after = samples.filter((s) => s.t >= sw.at);
  assert.ok(after.length > 10, `sampled after the switch (${after.length})`);
  assert.deepEqual(after.filter((s) => s.shows || s.text), [], "episode 1's question never in the page after the switch");
  const shotsAfter = pixels.filter((x) => x.afterSwitch);
  assert.ok(shotsAfter.length >= 3, `screenshots after the switch (${shotsAfter.length})`);
  assert.deepEqual(shotsAfter.filter((x) => x.opaque !== null), [], 'every screenshot after the switch is fully transparent');
  assert.equal(await overlay.getAttribute('body', 'data-visible'), 'false');

  // the phone, the console and the screen are in episode 2 (no reload)
  await phone.locator('#session-title', { hasText: 'Episode dua' }).waitFor({ timeout: 10000 });
  await online(phone);
  assert.equal(await phone.locator('#questions li', { hasText: Q1 }).count(), 0, "episode 1's questions gone from the phone");
  await mod.locator('#session-title', { hasText: 'Episode dua' }).waitFor({ timeout: 10000 });
  assert.equal(await mod.locator('#board .card', { hasText: Q1 }).count(), 0, "episode 1's cards gone from the console");
  await screen.locator('#live[data-empty=true]').waitFor({ timeout: 10000 });
  assert.equal((await screen.textContent('body')).includes(Q1), false, "episode 1's question gone from the screen");

  // episode 2's question reaches the air on the same overlay page
  const Q2 = 'Bagaimana perbaikan Jalan Demang Lebar Daun? (episode dua)';
  const tracking2 = await askFrom(phone, Q2);
  assert.match(tracking2, TRACKING);
  await goLiveAndTake(mod, Q2);
  await overlay.locator('#lt-text', { hasText: Q2 }).waitFor({ timeout: 10000 });
  await overlay.locator('body[data-visible=true]').waitFor();
  await overlay.waitForTimeout(600);
  assert.notEqual(opaqueBox(await shot(overlay)), null, 'episode 2 on air');
  const kept = await overlay.evaluate(() => ({ marker: window.__marker, navs: performance.getEntriesByType('navigation').length, before: window.__navs }));
  assert.equal(kept.marker, 'kept', 'the same page (no reload)');
  assert.equal(kept.navs, kept.before);
  const late = (await overlay.evaluate(() => { window.__samplesOn = false; return window.__samples; })).filter((s) => s.t >= sw.at && (s.shows || s.text));
  assert.deepEqual(late, [], "episode 1's question never came back");
  await screen.locator('#live-text', { hasText: Q2 }).waitFor({ timeout: 10000 });

  // the hub agrees: the question of episode 2 is in episode 2
  const r = await call('GET', `/api/track/${encodeURIComponent(tracking2)}`);
  if (r.status === 200) assert.equal(r.body.session.code, e2.session.code);

  for (const pg of [phone, mod, overlay, screen]) assert.deepEqual(await csp(pg), []);
  assert.deepEqual(problems, []);
});

test('the phone waits while no episode is open: programme title, next date in WIB, the board and /lacak; English; connects by itself when an episode opens; a closed episode waits too; screenshot programme-wait.png', async () => {
  const p = await createProgramme('Palembang Menjawab');
  let r = await call('PATCH', `/api/programmes/${p.slug}`, { next_at: '2031-01-17T12:00:00Z' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await call('GET', `/api/p/${p.slug}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.current, null);
  assert.equal(r.body.title, 'Palembang Menjawab');
  const problems = [];
  const { page: phone } = await page({ viewport: PHONE }, problems);
  const frames = [];
  phone.on('websocket', (ws) => ws.on('framesent', (f) => frames.push(String(f.payload))));
  await phone.goto(await rebase(p.links.audience));
  await phone.locator('#programme-wait').waitFor({ timeout: 15000 });
  await phone.locator('#programme-title', { hasText: 'Palembang Menjawab' }).waitFor();
  assert.equal(await phone.isHidden('#app'), true, 'no ask form without an episode');
  assert.equal(await phone.isHidden('#fatal'), true, 'not an error');
  await phone.locator('#programme-next', { hasText: 'Episode berikutnya: Jumat, 17 Januari 2031 19.00 WIB' }).waitFor();
  assert.equal(await phone.getAttribute('#programme-board', 'href'), '/tindak-lanjut');
  assert.equal(await phone.getAttribute('#programme-track', 'href'), '/lacak');
  assert.equal(await phone.getAttribute('#conn', 'data-state'), 'waiting');
  assert.equal(await phone.textContent('#conn-label'), 'Menunggu episode');
  const hello = frames.map((f) => JSON.parse(f)).find((f) => f.type === 'hello');
  assert.equal(hello.programme, p.slug, 'hello with programme');
  assert.equal('session' in hello, false, 'and no session');
  // no horizontal scroll at 360 px
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
  await phone.screenshot({ path: path.join(OUT, 'programme-wait.png') });

  await phone.click('#lang-en');
  await phone.locator('#programme-next', { hasText: 'Next episode: Friday, 17 January 2031 19:00 WIB' }).waitFor();
  await phone.locator('#programme-board', { hasText: 'follow-up' }).waitFor();
  await phone.click('#lang-id');
  await phone.locator('#programme-state', { hasText: 'Belum ada episode' }).waitFor();

  // an episode opens: the page connects by itself (retry every 5-10 s) and shows the form
  const e1 = await newEpisode(p.slug, { title: 'Palembang Menjawab · Januari', current: true });
  await phone.locator('#session-title', { hasText: 'Palembang Menjawab · Januari' }).waitFor({ timeout: 25000 });
  await online(phone);
  assert.equal(await phone.isHidden('#programme-wait'), true);
  assert.equal(await phone.isVisible('#ask-form'), true);

  // the episode is closed: waiting again, with the episode's title
  r = await call('PATCH', `/api/sessions/${e1.session.id}`, { status: 'closed' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await phone.locator('#programme-wait').waitFor({ timeout: 10000 });
  await phone.locator('#programme-state', { hasText: 'Palembang Menjawab · Januari' }).waitFor();
  assert.equal(await phone.isHidden('#app'), true);

  // a new episode made current: the phone follows (4307) without a reload
  await phone.evaluate(() => { window.__marker = 'kept'; });
  await newEpisode(p.slug, { title: 'Palembang Menjawab · Februari', current: true });
  await phone.locator('#session-title', { hasText: 'Palembang Menjawab · Februari' }).waitFor({ timeout: 15000 });
  assert.equal(await phone.isHidden('#programme-wait'), true);
  assert.equal(await phone.evaluate(() => window.__marker), 'kept');

  // an unknown programme: said in words, not a crash
  const { page: lost } = await page({ viewport: PHONE }, problems);
  await lost.goto(`${(await hub()).base}/p/${uniq('nothing-here')}`);
  await lost.locator('#programme-state', { hasText: 'tidak ditemukan' }).waitFor({ timeout: 15000 });

  assert.deepEqual(await csp(phone), []);
  // the unknown programme's 404 from /api/p is the browser's own console line, not the page's
  assert.deepEqual(problems.filter((x) => !/404/.test(x)), []);
});

test("the console's carry-over panel brings a queued question of the previous episode with its tracking code; cards say where it came from; screenshot console-carry.png", async () => {
  const p = await createProgramme('Ngobrol Bareng Wako');
  const e1 = await newEpisode(p.slug, { title: 'Ngobrol Bareng Wako · Maret', current: true });
  const problems = [];
  const { page: phone } = await page({ viewport: PHONE }, problems);
  const { page: mod } = await page({ viewport: CONSOLE }, problems);
  await phone.goto(await rebase(p.links.audience));
  await online(phone);
  await mod.goto(await rebase(p.links.moderator));
  await online(mod);
  assert.equal(await mod.isHidden('#carry-panel'), true, 'no panel without anything to carry');

  const QA = 'Kapan pasar Cinde selesai dibangun kembali?';
  const QB = 'Apakah ada bantuan untuk pedagang kecil di Pasar 16 Ilir?';
  const QC = 'Bagaimana jadwal angkutan sungai ke Kertapati?';
  const trA = await askFrom(phone, QA);
  await askFrom(phone, QB);
  await askFrom(phone, QC);
  assert.match(trA, TRACKING);
  for (const q of [QA, QB, QC]) await approve(mod, q);
  // QC answered on air: not carried
  await card(mod, 'approved', QC).locator('[data-act=live]').click();
  await card(mod, 'live', QC).waitFor();
  await card(mod, 'live', QC).locator('[data-act=answered]').click();
  await mod.locator('#col-answered .card', { hasText: QC }).waitFor();

  // episode 2 current: the console follows and offers the two queued questions
  const e2 = await newEpisode(p.slug, { title: 'Ngobrol Bareng Wako · April', current: true });
  await mod.locator('#session-title', { hasText: 'April' }).waitFor({ timeout: 10000 });
  await mod.locator('#carry-panel').waitFor({ state: 'visible', timeout: 10000 });
  const items = mod.locator('#carry-list li[data-qid]');
  assert.equal(await items.count(), 2, 'the two queued questions, not the answered one');
  await mod.locator('#carry-from', { hasText: 'Maret' }).waitFor();
  const liA = mod.locator('#carry-list li[data-qid]', { hasText: QA });
  assert.match(await liA.textContent(), new RegExp(trA), 'the tracking code in the list');
  const qidA = await liA.getAttribute('data-qid');
  await liA.locator('input[type=checkbox]').check();
  assert.equal(await mod.locator('#carry-all').evaluate((el) => el.indeterminate), true, 'some ticked');
  await mod.screenshot({ path: path.join(OUT, 'console-carry.png') });

  await mod.click('#carry-submit');
  await mod.locator('#carry-status', { hasText: '1 pertanyaan dibawa' }).waitFor({ timeout: 10000 });
  const carried = card(mod, 'approved', QA);
  await carried.waitFor({ timeout: 10000 });
  assert.equal(await carried.getAttribute('data-qid'), qidA, 'the same id');
  assert.equal((await carried.locator('[data-field=tracking]').textContent()).trim(), trA, 'the same tracking code');
  assert.match(await carried.locator('[data-field=carried]').textContent(), /Dari: Ngobrol Bareng Wako · Maret/);
  assert.equal(await items.count(), 1, 'the other one still offered');
  // "Pilih semua" ticks the rest
  await mod.locator('#carry-all').check();
  assert.equal(await mod.locator('#carry-list input[type=checkbox]:checked').count(), 1);

  // the hub: the carried question is in episode 2, with its tracking code
  const r = await call('GET', `/api/sessions/${e2.session.id}/carry`, null, p.keys.moderator);
  assert.equal(r.status, 200, 'carry list with the programme moderator key');
  assert.equal(r.body.questions.length, 1);
  const tr = await call('GET', `/api/track/${encodeURIComponent(trA)}`);
  assert.equal(tr.status, 200);
  // the phone that asked it sees it in episode 2 under "my questions" (same device, same id)
  await phone.locator('#session-title', { hasText: 'April' }).waitFor({ timeout: 10000 });
  await phone.locator(`#my-questions li[data-qid="${qidA}"]`).waitFor({ timeout: 10000 });
  assert.ok(e1.session.id !== e2.session.id);

  assert.deepEqual(await csp(mod), []);
  assert.deepEqual(problems, []);
});

test("the report /r/{id} shows the session's start time in WIB", async () => {
  const p = await createProgramme('Laporan Program');
  const e = await newEpisode(p.slug, { title: 'Laporan Program · Mei', starts_at: '2031-05-09T12:00:00Z', current: true });
  const rep = await call('GET', `/api/sessions/${e.session.id}/report`);
  assert.equal(rep.status, 200);
  assert.equal(new Date(rep.body.session.starts_at).toISOString(), '2031-05-09T12:00:00.000Z', 'the report JSON has session.starts_at');
  const problems = [];
  const { page: r } = await page({ viewport: { width: 1000, height: 1200 } }, problems);
  await r.goto(`${(await hub()).base}/r/${e.session.id}#k=${p.keys.moderator}`);
  await r.locator('#report[data-state=ready]').waitFor({ timeout: 15000 });
  await r.locator('#report-start', { hasText: 'Jumat, 9 Mei 2031 19.00 WIB' }).waitFor();
  assert.deepEqual(problems, []);
});

test("the console on a programme link shows and renews the programme's links: a new overlay link stops the old programme overlay (4401), a new moderator link keeps this console working; screenshot console-programme-links.png", async () => {
  const joinCode = `SW${Date.now().toString(36).toUpperCase()}`.slice(0, 16);
  const p = await createProgramme('Sapa Warga Palembang', { join_code: joinCode });
  const e1 = await newEpisode(p.slug, { title: 'Sapa Warga · Juni', current: true });
  const problems = [];
  const clip = { permissions: ['clipboard-read', 'clipboard-write'] };
  const { page: mod } = await page({ viewport: CONSOLE, ...clip }, problems);
  mod.removeAllListeners('dialog');
  const dialogs = [];
  mod.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  await mod.goto(await rebase(p.links.moderator));
  await online(mod);
  await mod.locator('#session-title', { hasText: 'Sapa Warga · Juni' }).waitFor();

  // the links panel: the programme's links (as the hub's programme JSON has them), with a note
  let r = await call('GET', `/api/programmes/${p.slug}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const prog = r.body;
  await mod.locator('#programme-links').waitFor({ state: 'visible' });
  assert.match(await mod.textContent('#programme-links'), /episode yang sedang aktif/);
  for (const k of ['audience', 'press', 'screen', 'overlay', 'moderator', 'desk', 'intake']) {
    assert.equal(await mod.inputValue(`#link-${k}`), prog.links[k], `the programme's ${k} link`);
  }
  assert.match(await mod.inputValue('#link-overlay'), new RegExp(`/p/${p.slug}/overlay#k=`));
  assert.notEqual(await mod.inputValue('#link-overlay'), e1.raw.links.overlay, "not the episode's own overlay link");
  assert.equal((await mod.textContent('#join-code')).trim(), joinCode, "the programme's join code");
  // Salin copies the programme's link
  await mod.click('[data-copy=link-overlay]');
  await mod.locator('#copy-status', { hasText: 'Disalin.' }).waitFor();
  assert.equal(await mod.evaluate(() => navigator.clipboard.readText()), prog.links.overlay);

  // an overlay (vMix/OBS) on the programme's overlay link, and a second console on its moderator link
  const overlayProblems = [];
  const { page: overlay } = await page({ viewport: HD }, overlayProblems);
  await overlay.goto(await rebase(prog.links.overlay));
  await overlay.locator('body[data-conn=online]').waitFor({ timeout: 15000 });
  const { page: mod2 } = await page({ viewport: CONSOLE }, problems);
  await mod2.goto(await rebase(prog.links.moderator));
  await online(mod2);

  // a new overlay link from the console: the programme's overlay key, asked first
  await mod.click('[data-rotate=overlay]');
  await mod.waitForFunction((old) => document.querySelector('#link-overlay').value !== old, prog.links.overlay, { timeout: 10000 });
  assert.equal(dialogs.length, 1);
  assert.match(dialogs[0], /^Buat tautan program baru untuk overlay siaran\?/);
  await mod.locator('#notice', { hasText: 'Tautan baru dibuat' }).waitFor();
  // the old programme overlay stops: 4401, its notice
  await overlay.locator('body[data-conn=stopped]').waitFor({ timeout: 10000 });
  assert.deepEqual(overlayProblems.filter((x) => !/tanya overlay: stopped 4401/.test(x)), []);
  assert.ok(overlayProblems.some((x) => /tanya overlay: stopped 4401/.test(x)), `the overlay's notice: ${JSON.stringify(overlayProblems)}`);
  // the console shows the new one, which is the hub's; the episode's own overlay key is untouched
  r = await call('GET', `/api/programmes/${p.slug}`);
  const prog2 = r.body;
  assert.notEqual(prog2.keys.overlay, p.keys.overlay, 'a new programme overlay key');
  assert.equal(await mod.inputValue('#link-overlay'), prog2.links.overlay);
  assert.equal(prog2.keys.moderator, p.keys.moderator, 'the moderator key unchanged');
  const ep = await call('GET', `/api/programmes/${p.slug}/live.json?k=${encodeURIComponent(prog2.keys.overlay)}`);
  assert.equal(ep.status, 200, 'live.json takes the new programme overlay key');
  const { page: overlay2 } = await page({ viewport: HD }, problems);
  await overlay2.goto(await rebase(prog2.links.overlay));
  await overlay2.locator('body[data-conn=online]').waitFor({ timeout: 15000 });
  // every programme console gets the new links
  await mod2.waitForFunction((v) => document.querySelector('#link-overlay').value === v, prog2.links.overlay, { timeout: 10000 });
  // the links panel alone (the console's sticky bar and key line would cover part of it)
  const cover = (v) => mod.evaluate((on) => { for (const el of document.querySelectorAll('header.bar, footer.shortcuts, .toast')) el.style.setProperty('visibility', on ? '' : 'hidden'); }, v);
  await cover(false);
  await mod.locator('.panel.links').screenshot({ path: path.join(OUT, 'console-programme-links.png') });
  await cover(true);

  // a new moderator link from this console: the other programme console stops, this one stays
  await mod.click('[data-rotate=moderator]');
  await mod.waitForFunction((old) => document.querySelector('#link-moderator').value !== old, prog.links.moderator, { timeout: 10000 });
  assert.equal(dialogs.length, 2);
  assert.match(dialogs[1], /konsol moderator/);
  await mod2.locator('#fatal').waitFor({ state: 'visible', timeout: 10000 });
  assert.match(await mod2.textContent('#fatal'), /sudah diganti/);
  r = await call('GET', `/api/programmes/${p.slug}`);
  const prog3 = r.body;
  assert.notEqual(prog3.keys.moderator, p.keys.moderator);
  assert.equal(await mod.inputValue('#link-moderator'), prog3.links.moderator);
  const kept = await mod.evaluate((slug) => ({ key: window.tanya.client.key, stored: sessionStorage.getItem(`tanya:key:/p/${slug}/m:k`), hash: location.hash }), p.slug);
  assert.equal(kept.key, prog3.keys.moderator, 'the console uses the new programme moderator key');
  assert.equal(kept.stored, prog3.keys.moderator, 'kept for this tab as the page keeps its key');
  assert.equal(kept.hash, '', 'no key in the address bar');
  assert.equal(await mod.getAttribute('#conn', 'data-state'), 'online');

  // the console still works: approve a question on the same socket, and again after a reload
  const { page: phone } = await page({ viewport: PHONE }, problems);
  await phone.goto(await rebase(prog3.links.audience));
  await online(phone);
  const QA = 'Kapan lampu jalan di Jalan Sudirman diperbaiki?';
  const QB = 'Apakah ada jadwal baru bus Trans Musi?';
  await askFrom(phone, QA);
  await approve(mod, QA);
  await mod.reload();
  await online(mod);
  assert.equal(await mod.evaluate(() => window.tanya.client.key), prog3.keys.moderator, 'the new key read back after a reload');
  assert.equal(await mod.inputValue('#link-overlay'), prog2.links.overlay);
  await askFrom(phone, QB);
  await approve(mod, QB);
  // the programme's key also opens the report and the export of the episode
  assert.match(await mod.getAttribute('#report-link', 'href'), new RegExp(`#k=${prog3.keys.moderator}$`));

  for (const pg of [mod, overlay2, phone]) assert.deepEqual(await csp(pg), []);
  assert.deepEqual(problems, []);
});

test("the console on an episode's own link shows the episode's links and renews the episode's keys, even while that episode is a programme's current one", async () => {
  const p = await createProgramme('Tautan Episode');
  const e = await newEpisode(p.slug, { title: 'Tautan Episode · Juli', current: true });
  const problems = [];
  const { page: mod } = await page({ viewport: CONSOLE }, problems);
  mod.removeAllListeners('dialog');
  mod.on('dialog', (d) => d.accept());
  await mod.goto(await rebase(e.raw.links.moderator));
  await online(mod);
  assert.equal(await mod.isHidden('#programme-links'), true, 'no programme note');
  assert.equal(await mod.inputValue('#link-overlay'), e.raw.links.overlay, "the episode's own overlay link");
  await mod.click('[data-rotate=overlay]');
  await mod.waitForFunction((old) => document.querySelector('#link-overlay').value !== old, e.raw.links.overlay, { timeout: 10000 });
  assert.match(await mod.inputValue('#link-overlay'), /\/overlay\/[^/#]+#k=/);
  const r = await call('GET', `/api/programmes/${p.slug}`);
  assert.equal(r.body.keys.overlay, p.keys.overlay, "the programme's overlay key untouched");
  assert.deepEqual(problems, []);
});
