// The phone page's follow-up (docs/followup.md): the optional contact, place and topic under
// the question box, the tracking code after an ask and in "my questions" (also after a reload),
// the contact kept on the phone only on request, never on another phone or the speaker screen,
// and the hub's refusal of a bad contact shown next to the form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, createSession, newPage, online, ask, BASE } from './helpers.mjs';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const PHONE = { width: 360, height: 740 };
const DESK = { width: 1440, height: 900 };
/** A tracking code as the hub shows it: 9 of 28 symbols, in threes. */
const TRACKING = /^[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}$/;

let browser;
before(async () => { browser = await launch(); fs.mkdirSync(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await stopHub(); });

/** A phone page that also records CSP violations and every request it makes. */
async function phonePage(opts, problems) {
  const { ctx, page } = await newPage(browser, { viewport: PHONE, locale: 'id-ID', ...opts }, problems);
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => { (window.__csp ||= []).push(`${e.violatedDirective} ${e.blockedURI}`); });
  });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  return { ctx, page, requests };
}
const csp = (page) => page.evaluate(() => window.__csp || []);
const cmd = (mod, frame) => mod.evaluate((f) => window.tanya.client.send(f), frame);
const modQuestion = (mod, text) => mod.evaluate((t) => [...window.tanya.client.view.questions.values()].find((q) => q.text === t) || null, text);
/** Everything a person can read on the page, options and labels included. */
const readable = (page) => page.evaluate(() => [
  document.title, document.body.innerText,
  ...[...document.querySelectorAll('[aria-label], [title], [placeholder]')].map((el) => `${el.getAttribute('aria-label') || ''} ${el.title || ''} ${el.getAttribute('placeholder') || ''}`),
  ...[...document.querySelectorAll('option')].map((o) => o.textContent),
].join('\n'));

async function options() {
  const r = await fetch(`${BASE}/api/followup/options`);
  assert.equal(r.status, 200, 'GET /api/followup/options');
  const body = await r.json();
  assert.ok(Array.isArray(body.places) && body.places.length >= 1 && Array.isArray(body.topics) && body.topics.length >= 1, JSON.stringify(body).slice(0, 300));
  return body;
}

test('ask with contact, place and topic: the tracking code shown and kept; the contact private', async () => {
  const s = await createSession('Tindak lanjut dari ponsel');
  const opts = await options();
  const place = opts.places.find((p) => Array.isArray(p.kelurahan) && p.kelurahan.length >= 2) || opts.places[0];
  const kelurahan = place.kelurahan[1] || place.kelurahan[0];
  const topic = opts.topics[0];
  const contact = '081234567890';
  const problems = [];
  const { page, requests } = await phonePage({}, problems);
  const { page: other } = await phonePage({}, problems);
  const { page: mod } = await newPage(browser, { viewport: DESK, locale: 'id-ID' }, problems);
  const { page: screen } = await newPage(browser, { viewport: { width: 1920, height: 1080 } }, problems);
  await mod.addInitScript(() => localStorage.setItem('tanya:moderator-name', 'Uji'));
  // the other phone records every frame it is sent: the contact must be in none
  const sent = []; // what this phone sends
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
  const otherFrames = [];
  other.on('websocket', (ws) => ws.on('framereceived', (f) => otherFrames.push(String(f.payload))));
  await Promise.all([page.goto(s.links.audience), other.goto(s.links.audience), mod.goto(s.links.moderator), screen.goto(s.links.screen)]);
  await Promise.all([online(page), online(other), online(mod), online(screen)]);

  // closed at first, and nothing fetched until it is opened
  const section = page.locator('#followup');
  assert.equal(await section.evaluate((d) => d.open), false, 'the section starts closed');
  assert.equal(await page.textContent('#followup-summary'), 'Ingin ditindaklanjuti? (opsional)');
  assert.ok(await page.locator('#contact').isHidden(), 'the fields are folded away');
  assert.equal(requests.filter((u) => u.includes('/api/followup/options')).length, 0, 'no list fetched before the section is opened');
  await page.click('#followup-summary');
  await page.waitForFunction(() => document.querySelectorAll('#kecamatan option').length > 1);
  assert.equal(requests.filter((u) => u.includes('/api/followup/options')).length, 1, 'fetched once, when opened');
  const cached = await page.evaluate(() => JSON.parse(localStorage.getItem('tanya:places')));
  assert.deepEqual(cached, opts, 'the lists are kept in localStorage tanya:places as the hub sent them');
  assert.equal(await page.textContent('#contact-hint'), 'Nomor Anda hanya dilihat oleh humas dan instansi yang menangani, tidak ditampilkan di layar atau siaran.');
  assert.equal(await page.getAttribute('#contact-remember', 'type'), 'checkbox');
  assert.equal(await page.isChecked('#contact-remember'), false, '"Ingat di HP ini" is off by default');
  assert.deepEqual(await page.$$eval('#kecamatan option', (os) => os.slice(1).map((o) => o.value)), opts.places.map((p) => p.kecamatan));
  assert.ok(await page.locator('#kelurahan').isDisabled(), 'kelurahan waits for a kecamatan');
  await page.selectOption('#kecamatan', place.kecamatan);
  assert.ok(await page.locator('#kelurahan').isEnabled());
  assert.deepEqual(await page.$$eval('#kelurahan option', (os) => os.slice(1).map((o) => o.value)), place.kelurahan, 'only the kelurahan of that kecamatan');
  await page.selectOption('#kelurahan', kelurahan);
  await page.selectOption('#topic', topic);
  await page.fill('#contact', contact);
  // the open section fits the phone: no horizontal scroll, every field inside 360 px
  const fit = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    out: [...document.querySelectorAll('#followup *')].filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > innerWidth + 0.5).map((el) => el.id || el.tagName),
  }));
  assert.ok(fit.scroll <= PHONE.width, `scrollWidth ${fit.scroll}`);
  assert.deepEqual(fit.out, []);

  const text = 'Jalan di depan pasar rusak parah, kapan diperbaiki?';
  await ask(page, text, { name: 'Siti' });
  await page.locator('#ask-status[data-kind=ok]').waitFor();
  await page.locator('#ask-tracking:not([hidden])').waitFor();
  const code = await page.textContent('#ask-tracking-code');
  assert.match(code, TRACKING);
  assert.equal(await page.getAttribute('#ask-tracking-code', 'href'), `/lacak/${code}`);
  assert.equal((await page.innerText("#ask-tracking")).replace(/\s+/g, " "), `Kode lacak: ${code} Salin Simpan kode ini untuk melihat tindak lanjut di /lacak`);
  assert.equal(await page.evaluate(() => localStorage.getItem('tanya:contact')), null, 'not remembered without the tick');
  // what went over the wire: the three fields, in the ask
  const askFrame = sent.map((x) => { try { return JSON.parse(x); } catch { return null; } }).find((f) => f && f.type === 'ask' && f.text === text);
  assert.deepEqual({ contact: askFrame.contact, place: askFrame.place, topic: askFrame.topic }, { contact, place: { kecamatan: place.kecamatan, kelurahan }, topic });
  // my questions show it too
  const mine = page.locator('#my-questions li[data-qid]', { hasText: text });
  await mine.locator('[data-field=tracking]', { hasText: code }).waitFor();
  assert.equal(await mine.locator('[data-field=tracking]').getAttribute('href'), `/lacak/${code}`);
  assert.match(await mine.locator('.tracking-hint').textContent(), /Simpan kode ini untuk melihat tindak lanjut di \/lacak/);

  // the moderator sees all of it
  await mod.waitForFunction((t) => [...window.tanya.client.view.questions.values()].some((q) => q.text === t), text);
  const q = await modQuestion(mod, text);
  assert.equal(q.contact, contact);
  assert.deepEqual(q.place, { kecamatan: place.kecamatan, kelurahan });
  assert.equal(q.topic, topic);
  assert.equal(q.tracking, code);

  // public, then live: the other phone and the speaker screen show the question, never the contact
  await cmd(mod, { type: 'approve', question: q.id });
  await other.locator('#questions li', { hasText: text }).waitFor();
  await screen.locator('#next li', { hasText: text }).waitFor();
  await cmd(mod, { type: 'live', question: q.id });
  await screen.waitForFunction((t) => document.querySelector('#live-text').textContent === t, text);
  await other.locator('#live-box:not([hidden])').waitFor();
  for (const [name, p] of [['other phone', other], ['screen', screen]]) {
    const words = await readable(p);
    assert.ok(words.includes(text.slice(0, 20)), `${name} shows the question`);
    assert.ok(!words.includes(contact), `${name} never shows the contact`);
    assert.ok(!words.includes('1234567890'), `${name} never shows the number in any form`);
  }
  assert.ok(otherFrames.length > 0 && !otherFrames.some((f) => f.includes('1234567890')), 'no frame to the other phone carries the contact');
  assert.ok(!JSON.stringify([...await other.evaluate(() => [...window.tanya.client.view.questions.values()])]).includes(contact));

  // "Ingat di HP ini": kept, and prefilled after a reload; untick forgets it
  await page.check('#contact-remember');
  await ask(page, 'Kapan lampu jalan di lorong kami dipasang?');
  await page.locator('#my-questions li[data-qid]', { hasText: 'lampu jalan' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('tanya:contact')), contact);
  await page.reload();
  await online(page);
  assert.equal(await page.inputValue('#contact'), contact, 'prefilled from this phone');
  assert.equal(await page.isChecked('#contact-remember'), true);
  // the tracking code is kept in "my questions" after the reload (the author's view carries it)
  const again = page.locator('#my-questions li[data-qid]', { hasText: text });
  await again.locator('[data-field=tracking]', { hasText: code }).waitFor();
  assert.equal(await again.locator('[data-field=tracking]').getAttribute('href'), `/lacak/${code}`);
  assert.equal(await page.locator('#my-questions li[data-qid] [data-field=tracking]').count(), 2, 'each of my questions has its code');
  await page.click('#followup-summary');
  await page.uncheck('#contact-remember');
  assert.equal(await page.evaluate(() => localStorage.getItem('tanya:contact')), null, 'unticked: forgotten at once');

  // English
  await page.click('#lang-en');
  assert.equal(await page.textContent('#followup-summary'), 'Want a follow-up? (optional)');
  assert.match(await page.textContent('#contact-hint'), /never on the screen or on air/);
  assert.equal((await again.locator('.tracking-line').innerText()).replace(/\s+/g, ' '), `Tracking code: ${code} Copy`);
  await page.click('#lang-id');

  // the screenshot: the open section, and the code of the last ask under the send button
  await page.selectOption('#kecamatan', place.kecamatan);
  await page.selectOption('#kelurahan', kelurahan);
  await page.selectOption('#topic', topic);
  await ask(page, 'Banjir di simpang lima setiap hujan deras, mohon ditangani.');
  await page.locator('#ask-tracking:not([hidden])').waitFor();
  await page.evaluate(() => {
    document.activeElement?.blur();
    const y = document.querySelector('label[for=question-text]').getBoundingClientRect().top + scrollY - document.querySelector('.top').offsetHeight - 8;
    window.scrollTo(0, y);
  });
  await page.screenshot({ path: path.join(OUT, 'phone-followup.png') });
  assert.ok(fs.statSync(path.join(OUT, 'phone-followup.png')).size > 1000);
  assert.deepEqual([...problems, ...await csp(page), ...await csp(other)], []);
});

test('a bad contact: the hub refuses it and the page says so next to the form; nothing is sent', async () => {
  const s = await createSession('Kontak tidak sah');
  const problems = [];
  const { page } = await phonePage({}, problems);
  const errors = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    try { const m = JSON.parse(String(f.payload)); if (m.type === 'error') errors.push(m); } catch { /* not JSON */ }
  }));
  await page.goto(s.links.audience);
  await online(page);
  await page.click('#followup-summary');
  await page.fill('#contact', 'abc');
  const text = 'Pertanyaan dengan kontak yang salah';
  await ask(page, text);
  const err = page.locator('#followup-error[data-field=contact]');
  await err.waitFor();
  // the hub said it: `invalid`, naming the contact
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].code, 'invalid');
  assert.match(`${errors[0].field || ''} ${errors[0].message}`, /contact/);
  assert.equal(await err.textContent(), 'Nomor HP/WhatsApp atau e-mail tidak dapat diterima. Tulis nomor yang diawali 08, 62 atau +62 (9 sampai 15 angka), atau alamat e-mail yang lengkap.');
  assert.ok(await err.isVisible(), 'shown next to the fields');
  assert.equal(await page.getAttribute('#contact', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'contact', 'the field to fix has the focus');
  assert.equal(await page.textContent('#ask-status'), 'Pertanyaan belum terkirim. Periksa isian tindak lanjut di bawah.');
  assert.equal(await page.inputValue('#question-text'), text, 'the question is kept to send again');
  assert.equal(await page.locator('#my-questions li[data-qid]').count(), 0, 'nothing was asked');
  assert.ok(await page.locator('#ask-tracking').isHidden());
  assert.ok(!(await page.innerText('body')).includes(errors[0].message), 'the hub\'s English message is not shown');
  // English wording too, then fixed: sent
  await page.click('#lang-en');
  assert.match(await err.textContent(), /^This number or e-mail was not accepted\./);
  await page.click('#lang-id');
  await page.fill('#contact', 'warga@example.id');
  assert.equal(await page.getAttribute('#contact', 'aria-invalid'), null, 'typing clears the mark');
  assert.equal(await page.textContent('#followup-error'), '');
  await page.click('#ask-btn');
  await page.locator('#ask-tracking:not([hidden])').waitFor();
  await page.locator('#my-questions li[data-qid]', { hasText: text }).waitFor();
  assert.deepEqual([...problems, ...await csp(page)], []);
});
