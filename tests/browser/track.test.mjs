// The tracking page /lacak and /lacak/{code}: a typed code (lower case, spaces) finds the case
// with its agency, answer and history, and the address becomes /lacak/{CODE}; a forwarded case
// past its due date says "terlambat"; a declined one gives the reason; a wrong code, a malformed
// code (on the page and from the hub), a failed network (with "Coba lagi"), too many lookups
// (how many seconds to wait); never a name or contact in the page's text or in any response it
// received; usable 320 px wide; English with ?lang=en.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, stopHub, hub, createSession, newPage, online } from './helpers.mjs';

// Generous for the lookups below; the last test runs out of it on purpose (unless TANYA_URL).
process.env.TANYA_LOOKUPS_PER_MINUTE ||= '40';

const OUT = process.env.TANYA_SCREENSHOTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const ALPHABET = '23456789ACDEFGHJKMNPQRTUVWXY';
const PHONE = { viewport: { width: 360, height: 740 }, locale: 'id-ID', deviceScaleFactor: 2 };
const DESK = { viewport: { width: 1280, height: 900 }, locale: 'id-ID' };

// Personal data that must never reach the tracking page.
const CITIZEN = 'Siti Rahmawati Zulkarnain';
const CONTACT = '081377712345';
const CALLER = 'Rudi Hartono Wijaya';
const CALLER_MAIL = 'rudi.hartono.w@example.com';
const OFFICER = 'Ahmad Fauzi Nasution';
const CLERK = 'Dewi Lestari Humas';
const SECRETS = [CITIZEN, CONTACT, CALLER, CALLER_MAIL, OFFICER, CLERK, '0813 7771 2345', '+6281377712345'];

let browser;
let world;
before(async () => {
  browser = await launch();
  fs.mkdirSync(OUT, { recursive: true });
  world = await setUp();
});
after(async () => { await world?.close(); await browser?.close(); await stopHub(); });

// ---- helpers of this file --------------------------------------------------------------------
async function api(method, p, body, token) {
  const { base, token: admin } = await hub();
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token ?? admin}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

async function must(method, p, body, token, want = 200) {
  const r = await api(method, p, body, token);
  assert.equal(r.status, want, `${method} ${p} ${JSON.stringify(body)} → ${r.status} ${r.text}`);
  return r.body;
}

/** A command through a page's own client (phone or moderator); resolves with the ok frame. */
function send(page, cmd) {
  return page.evaluate((c) => window.tanya.client.send(c).catch((e) => ({ failed: e })), cmd).then((r) => {
    if (r && r.failed) throw new Error(`${cmd.type}: ${JSON.stringify(r.failed)}`);
    return r;
  });
}

function randomCode(not) {
  for (;;) {
    let s = '';
    for (let i = 0; i < 9; i++) s += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
    const c = `${s.slice(0, 3)}-${s.slice(3, 6)}-${s.slice(6)}`;
    if (!not.includes(c)) return c;
  }
}

/** Everything the page received from the hub, as text, for the privacy checks. */
function recordResponses(page) {
  const bodies = [];
  page.on('response', async (r) => {
    try { bodies.push({ url: r.url(), text: await r.text() }); } catch { /* redirects, aborted */ }
  });
  return bodies;
}

/** Console errors that are the page's own business (not the expected 4xx of a lookup). */
const real = (problems) => problems.filter((p) => !/Failed to load resource/.test(p));

async function noSecrets(page, bodies, where) {
  await page.waitForTimeout(100); // let the last response bodies be read
  const text = await page.evaluate(() => document.body.innerText + document.title + location.href);
  const html = await page.content();
  for (const s of SECRETS) {
    assert.ok(!text.includes(s), `${where}: "${s}" in the page's text`);
    assert.ok(!html.includes(s), `${where}: "${s}" in the page's HTML`);
    for (const b of bodies) assert.ok(!b.text.includes(s), `${where}: "${s}" in the response of ${b.url}`);
  }
  assert.ok(bodies.some((b) => b.url.includes('/api/track/')), `${where}: the page looked the code up`);
}

/** A session with three questions: resolved by the agency, forwarded past due, declined. */
async function setUp() {
  const title = `Dialog Wong Kito: Jalan dan Banjir ${Date.now()}`;
  const s = await createSession(title);
  const problems = [];
  const { ctx: phoneCtx, page: phone } = await newPage(browser, PHONE, problems);
  const { ctx: modCtx, page: mod } = await newPage(browser, DESK, problems);
  await Promise.all([phone.goto(s.links.audience), mod.goto(s.links.moderator)]);
  await Promise.all([online(phone), online(mod)]);

  const roadText = 'Jalan di depan SD Negeri Bukit Lama berlubang besar sejak Januari, kapan diperbaiki?';
  const asked = await send(phone, {
    type: 'ask', text: roadText, name: CITIZEN, contact: CONTACT,
    place: { kecamatan: 'Ilir Barat I', kelurahan: 'Bukit Lama' }, topic: 'jalan',
  });
  assert.match(asked.tracking, /^[2-9A-Y]{3}-[2-9A-Y]{3}-[2-9A-Y]{3}$/, 'the ok of an ask carries the tracking code');
  const road = { id: asked.question.id, tracking: asked.tracking, text: roadText };

  const floodText = 'Saluran air di Jalan Mayor Ruslan tersumbat, setiap hujan rumah warga kebanjiran.';
  const entered = await send(mod, {
    type: 'enter', text: floodText, name: CALLER, channel: 'sms', contact: CALLER_MAIL,
    place: { kecamatan: 'Ilir Timur I' }, topic: 'banjir',
  });
  const flood = { id: entered.question.id, tracking: entered.tracking, text: floodText };

  const otherText = 'Apakah ada lomba kebersihan kampung tahun ini?';
  const other = await send(mod, { type: 'enter', text: otherText, name: CALLER, channel: 'phone', contact: CONTACT });
  const declined = { id: other.question.id, tracking: other.tracking, text: otherText };

  const suffix = Math.random().toString(36).slice(2, 7);
  const pupr = await must('POST', '/api/agencies', { name: 'Dinas Pekerjaan Umum dan Penataan Ruang', short: 'PUPR', id: `pupr-${suffix}` }, undefined, 201);
  const dlh = await must('POST', '/api/agencies', { name: 'Dinas Lingkungan Hidup', short: 'DLH', id: `dlh-${suffix}` }, undefined, 201);

  // the road: forwarded, taken up and answered by the agency
  const answer = 'Perbaikan dijadwalkan minggu depan oleh tim UPTD Jalan. Terima kasih atas laporannya.';
  await must('POST', `/api/cases/${road.id}`, { action: 'forward', agency: pupr.id, due: '2099-12-31', note: 'Mohon dicek ke lokasi.', by: CLERK });
  await must('POST', `/api/agency/${pupr.id}/cases/${road.id}`, { action: 'acknowledge', by: OFFICER }, pupr.key);
  await must('POST', `/api/agency/${pupr.id}/cases/${road.id}`, { action: 'resolve', answer, by: OFFICER }, pupr.key);
  // the flood: forwarded with a due date already past
  await must('POST', `/api/cases/${flood.id}`, { action: 'forward', agency: dlh.id, due: '2024-01-15', by: CLERK });
  // the contest: declined by the office
  const reason = 'Pertanyaan ini bukan keluhan layanan; informasi lomba ada di situs resmi Pemkot.';
  await must('POST', `/api/cases/${declined.id}`, { action: 'decline', reason, by: CLERK });

  await phoneCtx.close();
  await modCtx.close();
  assert.deepEqual(problems, []);
  return { s, title, road, flood, declined, pupr, dlh, answer, reason, close: async () => {} };
}

// ---- tests ---------------------------------------------------------------------------------
test('a typed lower-case code with spaces finds the resolved case: status, agency, answer, history; the address becomes /lacak/{CODE}; no name or contact anywhere', async () => {
  const { base } = await hub();
  const { road, title, answer } = world;
  const problems = [];
  const { page } = await newPage(browser, PHONE, problems);
  const bodies = recordResponses(page);
  await page.goto(`${base}/lacak`);
  assert.equal(await page.getAttribute('html', 'lang'), 'id');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'track-code', 'the code field has the focus');
  assert.equal(await page.isHidden('#case'), true);

  const typed = road.tracking.toLowerCase().replace(/-/g, ' ');   // "k7q m3x r9t"
  assert.notEqual(typed, road.tracking);
  await page.fill('#track-code', typed);
  await page.click('#track-btn');
  await page.waitForSelector('#result[data-state=ready]');
  assert.equal(new URL(page.url()).pathname, `/lacak/${road.tracking}`, 'the address names the case');
  assert.equal(await page.inputValue('#track-code'), road.tracking, 'the field shows the code as printed');
  assert.equal(await page.textContent('#case-code'), road.tracking);
  assert.equal(await page.textContent('#case-status'), 'Selesai');
  assert.equal(await page.getAttribute('#case-status', 'data-status'), 'resolved');
  assert.equal(await page.textContent('#sr-status'), `Kode lacak ${road.tracking}: Selesai`, 'announced in a few words');
  assert.equal(await page.textContent('#case-agency'), 'Dinas Pekerjaan Umum dan Penataan Ruang (PUPR)');
  assert.equal(await page.textContent('#case-answer'), answer);
  assert.equal(await page.isVisible('#case-answer-box'), true);
  assert.equal(await page.isHidden('#case-reason-box'), true);
  assert.equal(await page.isHidden('#case-overdue'), true);
  assert.equal(await page.isHidden('#case-due'), true, 'no due date once resolved');
  assert.equal(await page.textContent('#case-question'), road.text);
  assert.equal(await page.textContent('#case-session'), title);
  assert.equal(await page.textContent('#case-topic'), 'Jalan');
  assert.equal(await page.textContent('#case-place'), 'Bukit Lama, Ilir Barat I');
  assert.match(await page.textContent('#case-asked'), /\d{4}/);
  const steps = await page.$$eval('#case-history li', (lis) => lis.map((li) => [li.dataset.action, li.querySelector('.what').textContent]));
  assert.deepEqual(steps, [
    ['asked', 'Pertanyaan diterima'],
    ['forward', 'Diteruskan ke Dinas Pekerjaan Umum dan Penataan Ruang'],
    ['acknowledge', 'Mulai ditangani oleh Dinas Pekerjaan Umum dan Penataan Ruang'],
    ['resolve', 'Dijawab'],
  ]);
  assert.match(await page.textContent('#case-history li[data-action=resolve]'), /Perbaikan dijadwalkan/);
  await noSecrets(page, bodies, '/lacak typed');
  // a cheap phone on a weak connection: the whole page (HTML, CSS, scripts, the answer) stays small
  const bytes = bodies.reduce((n, b) => n + Buffer.byteLength(b.text), 0);
  assert.ok(bytes < 80 * 1024, `the page and its lookup are ${bytes} bytes before compression`);
  assert.ok(bodies.every((b) => new URL(b.url).origin === base), 'nothing from another host');

  // the address opens the same case directly; 320 px wide still fits
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto(`${base}/lacak/${road.tracking}`);
  await page.waitForSelector('#result[data-state=ready]');
  assert.equal(await page.textContent('#case-status'), 'Selesai');
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(over <= 0, `no horizontal scroll at 320 px (${over} px too wide)`);
  const small = await page.$$eval('button', (bs) => bs.filter((b) => b.offsetParent && b.getBoundingClientRect().height < 36).map((b) => b.id || b.textContent));
  assert.deepEqual(small, [], 'buttons are big enough to tap');
  await noSecrets(page, bodies, '/lacak/{code}');

  await page.setViewportSize({ width: 360, height: 740 });
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(OUT, 'track-phone.png') });
  assert.deepEqual(real(problems), []);
});

test('a forwarded case past its due date says "Diteruskan ke …" and terlambat; a declined one gives the reason; English with ?lang=en', async () => {
  const { base } = await hub();
  const { flood, declined, reason } = world;
  const problems = [];
  const { page } = await newPage(browser, DESK, problems);
  const bodies = recordResponses(page);
  await page.goto(`${base}/lacak/${flood.tracking.replace(/-/g, '').toLowerCase()}`);
  await page.waitForSelector('#result[data-state=ready]');
  assert.equal(new URL(page.url()).pathname, `/lacak/${flood.tracking}`, 'the address is tidied');
  assert.equal(await page.textContent('#case-status'), 'Diteruskan ke Dinas Lingkungan Hidup');
  assert.equal(await page.getAttribute('#case-status', 'data-status'), 'forwarded');
  assert.equal(await page.isVisible('#case-overdue'), true);
  assert.match(await page.textContent('#case-overdue'), /Terlambat/);
  assert.equal(await page.textContent('#case-due [data-field=overdue]'), 'terlambat');
  assert.match(await page.textContent('#case-due'), /15 Januari 2024/);
  assert.equal(await page.textContent('#case-agency'), 'Dinas Lingkungan Hidup (DLH)');
  assert.equal(await page.isHidden('#case-answer-box'), true);
  assert.equal(await page.textContent('#case-topic'), 'Banjir');
  assert.equal(await page.textContent('#case-place'), 'Ilir Timur I');
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(OUT, 'track.png') });

  await page.fill('#track-code', declined.tracking);
  await page.press('#track-code', 'Enter');
  await page.waitForFunction((c) => document.querySelector('#case-code').textContent === c, declined.tracking);
  assert.equal(await page.textContent('#case-status'), 'Ditolak');
  assert.equal(await page.textContent('#case-reason'), reason);
  assert.equal(await page.textContent('#case-agency'), 'Belum diteruskan ke instansi');
  assert.equal(await page.isHidden('#case-overdue'), true);
  assert.equal(new URL(page.url()).pathname, `/lacak/${declined.tracking}`);
  await noSecrets(page, bodies, 'declined');

  await page.goto(`${base}/lacak/${flood.tracking}?lang=en`);
  await page.waitForSelector('#result[data-state=ready]');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('#case-status'), 'Forwarded to Dinas Lingkungan Hidup');
  assert.equal(await page.textContent('#case-due [data-field=overdue]'), 'overdue');
  assert.equal(await page.textContent('#track-btn'), 'Track');
  await page.click('#lang-id');
  assert.equal(await page.textContent('#case-status'), 'Diteruskan ke Dinas Lingkungan Hidup', 'the switch redraws the case');
  assert.deepEqual(real(problems), []);
});

test('a wrong code is not found; a malformed one is explained before any lookup, and by the hub from the address (400)', async () => {
  const { base } = await hub();
  const { road, flood, declined } = world;
  const problems = [];
  const { page } = await newPage(browser, PHONE, problems);
  const lookups = [];
  page.on('request', (r) => { if (r.url().includes('/api/track/')) lookups.push(r.url()); });
  await page.goto(`${base}/lacak`);

  const unknown = randomCode([road.tracking, flood.tracking, declined.tracking]);
  await page.fill('#track-code', unknown.toLowerCase());
  await page.click('#track-btn');
  await page.waitForSelector('#result[data-state=notfound]');
  assert.equal(await page.isVisible('#message'), true);
  assert.equal(await page.textContent('#message-text'), `Kode lacak ${unknown} tidak ditemukan. Periksa lagi kodenya: setiap huruf dan angka harus sama.`);
  assert.equal(await page.isHidden('#case'), true);
  assert.equal(await page.isHidden('#retry-btn'), true, 'nothing to retry');
  assert.equal(lookups.length, 1);

  // too short: said at once, nothing sent
  await page.fill('#track-code', 'K7Q-M3X');
  await page.click('#track-btn');
  assert.match(await page.textContent('#track-error'), /9 huruf dan angka/);
  assert.equal(await page.getAttribute('#track-code', 'aria-invalid'), 'true');
  // letters a code never has
  await page.fill('#track-code', 'K0Q-M3X-R1T');
  await page.click('#track-btn');
  assert.match(await page.textContent('#track-error'), /tidak memakai huruf I, L, O/);
  await page.fill('#track-code', '');
  await page.click('#track-btn');
  assert.equal(await page.textContent('#track-error'), 'Tulis kode lacak Anda dulu.');
  assert.equal(lookups.length, 1, 'no lookup for a malformed code');
  await page.type('#track-code', 'k');
  assert.equal(await page.textContent('#track-error'), '', 'typing clears the message');

  // from the address the hub decides: 400
  await page.goto(`${base}/lacak/ABC-DEF`);
  await page.waitForSelector('#result[data-state=invalid]');
  assert.match(await page.textContent('#message-text'), /tidak sah/);
  assert.equal(await page.isHidden('#case'), true);
  assert.deepEqual(real(problems), []);
});

test('flaky data: a lookup that fails on the network offers "Coba lagi", which then finds the case', async () => {
  const { base } = await hub();
  const { road } = world;
  const problems = [];
  const { page } = await newPage(browser, PHONE, problems);
  await page.route('**/api/track/**', (route) => route.abort('internetdisconnected'));
  await page.goto(`${base}/lacak`);
  await page.fill('#track-code', road.tracking);
  await page.click('#track-btn');
  await page.waitForSelector('#result[data-state=offline]');
  assert.match(await page.textContent('#message-text'), /Tidak dapat terhubung/);
  assert.equal(await page.isVisible('#retry-btn'), true);
  assert.equal(await page.textContent('#retry-btn'), 'Coba lagi');
  await page.unroute('**/api/track/**');
  await page.click('#retry-btn');
  await page.waitForSelector('#result[data-state=ready]');
  assert.equal(await page.textContent('#case-status'), 'Selesai');
  assert.equal(await page.isHidden('#message'), true);
  assert.deepEqual(real(problems).filter((p) => !/ERR_INTERNET_DISCONNECTED/.test(p)), []);
});

test('too many lookups: the page says how many seconds to wait, then lets the citizen try again', async () => {
  const { base } = await hub();
  const { road } = world;
  const problems = [];
  const { page } = await newPage(browser, PHONE, problems);
  await page.goto(`${base}/lacak`);
  await page.fill('#track-code', road.tracking);
  // use up this address's lookups, then look up at once
  const limited = await page.evaluate(async () => {
    for (let i = 0; i < 200; i++) {
      const r = await fetch('/api/track/AAA-AAA-AAA', { cache: 'no-store' });
      if (r.status === 429) return (await r.json()).error;
    }
    return null;
  });
  assert.ok(limited && limited.retry_after_ms > 0, 'the hub limits lookups per address');
  await page.click('#track-btn');
  await page.waitForSelector('#result[data-state=limited]');
  const text = await page.textContent('#message-text');
  const m = /Terlalu banyak pencarian dari jaringan Anda\. Coba lagi dalam (\d+) detik\./.exec(text);
  assert.ok(m, text);
  assert.ok(Number(m[1]) >= 1 && Number(m[1]) <= 60, text);
  assert.equal(await page.isDisabled('#track-btn'), true, 'no lookups while waiting');
  // the wait runs out: "try again" finds the case
  await page.waitForSelector('#retry-btn:visible', { timeout: 65000 });
  assert.equal(await page.textContent('#message-text'), 'Silakan coba lagi sekarang.');
  assert.equal(await page.isEnabled('#track-btn'), true);
  await page.click('#retry-btn');
  await page.waitForSelector('#result[data-state=ready]');
  assert.equal(await page.textContent('#case-code'), road.tracking);
  assert.deepEqual(real(problems), []);
});

test('wording: the tables of /lacak, /tindak-lanjut and /r/ are complete in both languages, in plain words (no developer words), with the statuses a citizen reads', async () => {
  const { base } = await hub();
  const problems = [];
  const { page } = await newPage(browser, DESK, problems);
  await page.goto(`${base}/lacak`);
  const tables = {};
  for (const name of ['track', 'board', 'report']) {
    tables[name] = await page.evaluate(async (u) => {
      const m = await import(u);
      const out = {};
      for (const [lang, table] of Object.entries(m.default)) {
        out[lang] = Object.fromEntries(Object.entries(table).map(([k, v]) => [k, typeof v === 'function' ? v({ n: 2, one: false }) : v]));
      }
      return out;
    }, `/assets/${name}/strings.js`);
  }
  const developerWords = (text, lang) => {
    const found = [];
    for (const [re, w] of [[/\bhub\b/i, 'hub'], [/#k=/, '#k='], [/TANYA_/, 'TANYA_'], [/\bkey\b/i, 'key'], [/\btoken\b/i, 'token'], [/\bAPI\b/, 'API'],
      [/\bJSON\b/, 'JSON'], [/\bHTTP\b/, 'HTTP'], [/\b(400|404|429|500)\b/, 'status code'], [/\bnull\b/, 'null'], [/\bundefined\b/, 'undefined']]) {
      if (re.test(text)) found.push(w);
    }
    if (lang === 'id' && /\bkunci\b/i.test(text)) found.push('kunci');
    if (lang === 'id' && /antrian/i.test(text)) found.push('antrian (baku: antrean)');
    return found;
  };
  for (const [name, tb] of Object.entries(tables)) {
    assert.deepEqual(Object.keys(tb.en).sort(), Object.keys(tb.id).sort(), `${name}: English complete`);
    for (const lang of ['id', 'en']) {
      const bad = Object.entries(tb[lang]).flatMap(([k, v]) => developerWords(v, lang).map((w) => `${name}.${lang}.${k}: ${w} in “${v}”`));
      assert.deepEqual(bad, [], `${name} ${lang}`);
    }
  }
  const id = tables.track.id;
  assert.deepEqual(['received', 'forwarded', 'in_progress', 'resolved', 'declined', 'reopened'].map((s) => id[`status.${s}`]),
    ['Diterima', 'Diteruskan ke {agency}', 'Sedang ditangani', 'Selesai', 'Ditolak', 'Dibuka kembali']);
  assert.equal(id.overdue, 'terlambat');
  assert.equal(tables.board.id['status.resolved'], 'Selesai', 'the board words a status as the tracking page does');
  assert.equal(tables.report.id.print, 'Cetak');
  assert.deepEqual(problems, []);
});
