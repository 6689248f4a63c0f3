// The SMS recipes of docs/intake.md, run as an office would run them, against a real hub:
// contrib/sms/gammu-tanya.sh started the way Gammu SMSD starts a RunOnReceive script (its
// environment variables, the inbox file names as arguments), and contrib/sms/webhook-relay.py
// receiving a provider's webhook, and the WhatsApp Cloud API webhook set up as that page says.
// A moderator's socket (tanya-client.mjs) checks what arrives.
//
// Needs bash, python3 and curl (tests/run.sh installs them on Debian); nothing is skipped: when
// one is missing the first step fails and says which.
//
// Run: cd tests/contract && TANYA_BIN=../../target/debug/tanya node --test intake-recipe.test.mjs
// (KEEP_TANYA_TMP=1 keeps the temp dir with hub.log and relay.log.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, existsSync, readdirSync, readFileSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { TanyaClient } from './tanya-client.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TANYA_BIN = process.env.TANYA_BIN || resolve(HERE, '../../target/debug/tanya');
const GAMMU_SCRIPT = resolve(HERE, '../../contrib/sms/gammu-tanya.sh');
const RELAY_SCRIPT = resolve(HERE, '../../contrib/sms/webhook-relay.py');

// The tracking code: 9 of 28 symbols, shown as K7Q-M3X-R9T (docs/followup.md).
const TRACKING = /\b[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}-[23456789ACDEFGHJKMNPQRTUVWXY]{3}\b/;
const KEY = /^[A-Za-z0-9_-]{22,}$/;
const WA_VERIFY = randomBytes(12).toString('hex');
const WA_SECRET = randomBytes(16).toString('hex');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => ok(port)); });
  });
}

/** Lines of a child's stdout and stderr, collected into `lines`. */
function collect(proc, lines, prefix = '') {
  for (const s of [proc.stdout, proc.stderr]) {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(prefix + buf.slice(0, i)); buf = buf.slice(i + 1); }
    });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tanya-intake-'));
const hubLog = [];
const relayLog = [];
let hub = null;
let relay = null;
let moderator = null;

async function stop(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
  await exited;
  clearTimeout(timer);
}

after(async () => {
  if (moderator) { try { moderator.terminate(); } catch { /* gone */ } }
  await stop(relay);
  await stop(hub);
  writeFileSync(join(dir, 'hub.log'), hubLog.join('\n') + '\n');
  writeFileSync(join(dir, 'relay.log'), relayLog.join('\n') + '\n');
  if (!process.env.KEEP_TANYA_TMP) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs gammu-tanya.sh as Gammu SMSD does: through /bin/sh -c, with only the environment it
 * sets (a plain PATH, the message's variables) and the stored file names as arguments.
 * No /etc/tanya/intake.env of this machine is read, and no spool folder exists unless given.
 */
function runGammu(vars, args = []) {
  return new Promise((ok, fail) => {
    const env = {
      PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      TMPDIR: dir,
      TANYA_INTAKE_ENV: join(dir, 'no-such-intake.env'),
      TANYA_SPOOL: join(dir, 'no-such-spool'),
      ...vars,
    };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const cmd = [GAMMU_SCRIPT, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const p = spawn('/bin/sh', ['-c', cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', fail);
    p.on('close', (code) => { clearTimeout(timer); ok({ code, stdout, stderr }); });
  });
}

/** The environment Gammu sets for one single-part SMS. */
const sms = (number, text) => ({
  SMS_MESSAGES: '1', SMS_1_NUMBER: number, SMS_1_TEXT: text, SMS_1_CLASS: '-1', SMS_1_REFERENCE: '0',
  DECODED_PARTS: '0',
});

test('the SMS recipes (Gammu RunOnReceive script, webhook relay) against a real hub', { timeout: 240_000 }, async (t) => {
  let abort = false;
  const step = (name, fn, { essential = false } = {}) => t.test(name, async (st) => {
    if (abort) { st.skip('an essential earlier step failed'); return; }
    try {
      await fn(st);
    } catch (e) {
      if (essential) abort = true;
      st.diagnostic(`hub log (last lines):\n${hubLog.slice(-20).join('\n')}`);
      if (relayLog.length) st.diagnostic(`relay log (last lines):\n${relayLog.slice(-20).join('\n')}`);
      throw e;
    }
  });
  const S = {};
  const admin = randomBytes(16).toString('hex');
  const questions = () => [...moderator.questions.values()];
  const byText = (text) => questions().filter((q) => q.text === text);
  const arrives = async (text, what) => {
    await moderator.waitFor(() => byText(text).length > 0, { timeout: 5000, what });
    return byText(text)[0];
  };

  await step('bash, python3 and curl are installed (tests/run.sh installs them)', async () => {
    const missing = ['bash', 'python3', 'curl'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
    assert.deepEqual(missing, [], `missing ${missing.join(', ')}: apt-get install ${missing.join(' ')} (the SMS recipes need them)`);
    assert.ok(existsSync(TANYA_BIN), `TANYA_BIN ${TANYA_BIN} does not exist (cargo build --bin tanya)`);
    assert.ok(existsSync(GAMMU_SCRIPT) && existsSync(RELAY_SCRIPT), 'contrib/sms has both scripts');
  }, { essential: true });

  await step('a hub starts, a session is made, and its JSON has the intake key and link', async () => {
    const port = await freePort();
    S.base = `http://127.0.0.1:${port}`;
    hub = spawn(TANYA_BIN, ['serve'], {
      cwd: dir,
      env: {
        ...process.env,
        TANYA_LISTEN: `127.0.0.1:${port}`,
        TANYA_DATABASE: `sqlite://${join(dir, 'tanya.db')}`,
        TANYA_ADMIN_TOKEN: admin,
        TANYA_WHATSAPP_VERIFY_TOKEN: WA_VERIFY,
        TANYA_WHATSAPP_APP_SECRET: WA_SECRET,
        // 2 new questions a minute per contact (default 5): one refill every 30 s, so the step
        // that goes over the limit cannot be outrun by a slow machine.
        TANYA_INTAKE_PER_CONTACT_PER_MINUTE: '2',
        RUST_LOG: 'info',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    collect(hub, hubLog);
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      if (hub.exitCode !== null) break;
      try { up = (await fetch(`${S.base}/healthz`)).status === 200; } catch { await sleep(100); }
    }
    assert.ok(up, `hub healthy\n${hubLog.join('\n')}`);

    const r = await fetch(`${S.base}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Diskusi Wong Kito: Jalan dan Banjir' }),
    });
    const text = await r.text();
    assert.equal(r.status, 201, text);
    const created = JSON.parse(text);
    S.session = created.session;
    S.keys = created.keys;
    assert.match(S.keys.intake, KEY, 'keys.intake');
    assert.equal(created.links.intake, `${S.base}/api/sessions/${S.session.id}/intake`, 'links.intake');
    S.url = created.links.intake;
    const others = ['moderator', 'screen', 'overlay', 'press'].map((k) => S.keys[k]);
    assert.ok(!others.includes(S.keys.intake), 'the intake key is a key of its own');

    moderator = new TanyaClient({ url: `ws://127.0.0.1:${port}/ws`, role: 'moderator', session: S.session.id, key: S.keys.moderator, name: 'moderator' });
    await moderator.connect();
    assert.equal(moderator.questions.size, 0);
  }, { essential: true });

  const intake = () => ({ TANYA_INTAKE_URL: S.url, TANYA_INTAKE_KEY: S.keys.intake });

  await step('gammu-tanya.sh: an SMS becomes one question; the citizen\'s reply with its tracking code is on stdout', async () => {
    const text = 'Jalan di Sako rusak parah';
    const r = await runGammu({ ...sms('+6281234567890', text), ...intake() });
    assert.equal(r.code, 0, r.stderr);
    const reply = r.stdout.trim();
    assert.match(reply, TRACKING, `stdout holds the reply with a tracking code:\n${r.stdout}\n${r.stderr}`);
    S.reply1 = reply;
    S.tracking1 = reply.match(TRACKING)[0];
    assert.match(r.stderr, new RegExp(`delivered: .*tracking ${S.tracking1}`), r.stderr);
    assert.ok(!r.stderr.includes('81234567890'), `the sender is masked in the log:\n${r.stderr}`);
    assert.ok(!r.stderr.includes(S.keys.intake), 'the key is never logged');

    const q = await arrives(text, 'the SMS question');
    assert.equal(questions().length, 1, 'exactly one question');
    assert.equal(q.channel, 'sms');
    assert.equal(q.contact, '+6281234567890');
    assert.equal(q.status, 'pending');
    if ('tracking' in q) assert.equal(q.tracking, S.tracking1, 'the moderator sees the same tracking code');
    S.q1 = q.id;

    // The citizen can look it up with the code from the reply.
    const tr = await fetch(`${S.base}/api/track/${S.tracking1}`);
    assert.equal(tr.status, 200, await tr.clone().text());
    assert.equal((await tr.json()).question.text, text);
  });

  await step('Gammu runs the script again for the same SMS: the same reply, still one question', async () => {
    const r = await runGammu({ ...sms('+6281234567890', 'Jalan di Sako rusak parah'), ...intake() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), S.reply1, 'the same reply and tracking code');
    await sleep(400);
    assert.equal(questions().length, 1, `still one question: ${JSON.stringify(questions().map((q) => q.text))}`);
    assert.equal(questions()[0].id, S.q1);
  });

  await step('a long SMS in three parts (DECODED_PARTS): one question with the whole text', async () => {
    const parts = [
      'Assalamualaikum Pak Wali. Saya warga Kelurahan Sukamaju, Kecamatan Sako. Sudah tiga bulan ',
      'saluran air di depan rumah kami tersumbat, setiap hujan deras air masuk ke rumah warga. Kami sudah ',
      'lapor ke kelurahan tapi belum ada tindakan. Mohon dibantu, terima kasih.',
    ];
    const whole = parts.join('');
    assert.ok(whole.length > 160 && whole.length <= 300, 'longer than one SMS, within the hub\'s limit');
    const number = '+6281234567890';
    const vars = { SMS_MESSAGES: '3', DECODED_PARTS: '1', DECODED_1_TEXT: whole, ...intake() };
    parts.forEach((p, i) => Object.assign(vars, {
      [`SMS_${i + 1}_NUMBER`]: number, [`SMS_${i + 1}_TEXT`]: p, [`SMS_${i + 1}_CLASS`]: '-1', [`SMS_${i + 1}_REFERENCE`]: '0',
    }));
    // The files backend appends the names it stored the parts under.
    const files = parts.map((_, i) => `IN20250114_091502_00_${number}_0${i}.txt`);
    const r = await runGammu(vars, files);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, TRACKING, r.stderr);
    const q = await arrives(whole, 'the long SMS as one question');
    assert.equal(q.channel, 'sms');
    assert.equal(q.contact, number);
    assert.equal(questions().length, 2, 'one question for three parts');

    // The same long SMS again (same stored names): nothing new.
    const again = await runGammu(vars, files);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, r.stdout);
    await sleep(300);
    assert.equal(questions().length, 2);
  });

  await step('parts without a decoded text are joined; senders that are not numbers are skipped', async () => {
    const vars = {
      SMS_MESSAGES: '2', DECODED_PARTS: '0', ...intake(),
      SMS_1_NUMBER: '+6285200001111', SMS_1_TEXT: 'Lampu jalan di Jalan Demang ', SMS_1_CLASS: '-1',
      SMS_2_NUMBER: '+6285200001111', SMS_2_TEXT: 'Lebar Daun mati sejak minggu lalu.', SMS_2_CLASS: '-1',
    };
    const r = await runGammu(vars);
    assert.equal(r.code, 0, r.stderr);
    await arrives('Lampu jalan di Jalan Demang Lebar Daun mati sejak minggu lalu.', 'the joined parts');

    const promo = await runGammu({ ...sms('TELKOMSEL', 'Paket internet 10GB hanya Rp10rb'), ...intake() });
    assert.equal(promo.code, 0, promo.stderr);
    assert.equal(promo.stdout, '');
    assert.match(promo.stderr, /skipped: the sender is not a phone number/);
    await sleep(300);
    assert.equal(byText('Paket internet 10GB hanya Rp10rb').length, 0);
    assert.equal(questions().length, 3);
  });

  await step('a wrong intake key: the script exits 0, logs the refusal, nothing is created', async () => {
    const text = 'Pertanyaan dengan kunci yang salah';
    const r = await runGammu({ ...sms('+6281300002222', text), ...intake(), TANYA_INTAKE_KEY: 'x'.repeat(32) });
    assert.equal(r.code, 0, `exit 0 so Gammu carries on:\n${r.stderr}`);
    assert.equal(r.stdout, '', 'no reply to print');
    assert.match(r.stderr, /refused by the hub: HTTP 401/, r.stderr);
    assert.match(r.stderr, /TANYA_INTAKE_KEY/, 'the log says what to check');
    assert.match(r.stderr, /NOT delivered/, 'and that the message is lost without a spool folder');
    await sleep(400);
    assert.equal(byText(text).length, 0, 'nothing created');
    assert.equal(questions().length, 3);
  });

  await step('no URL or key at all: exit 1 with a message naming the settings', async () => {
    const r = await runGammu(sms('+6281300002222', 'Tanpa pengaturan'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TANYA_INTAKE_URL and TANYA_INTAKE_KEY must be set/);
  });

  await step('the settings from /etc/tanya/intake.env (here: TANYA_INTAKE_ENV), quoted, with comments', async () => {
    const envFile = join(dir, 'intake.env');
    writeFileSync(envFile, `# Tanya intake, session ${S.session.code}\nTANYA_INTAKE_URL="${S.url}"\nexport TANYA_INTAKE_KEY='${S.keys.intake}'\nUNRELATED=$(touch ${join(dir, 'pwned')})\n`);
    const text = 'Kapan pasar Cinde selesai dibangun?';
    const r = await runGammu({ ...sms('+6281400003333', text), TANYA_INTAKE_ENV: envFile });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, TRACKING, r.stderr);
    await arrives(text, 'the question sent with the file\'s settings');
    assert.ok(!existsSync(join(dir, 'pwned')), 'the file is read as data, never run');
  });

  await step('TANYA_REPLY=1: the reply goes back through gammu-smsd-inject TEXT NUMBER -len 480 -text', async () => {
    const record = join(dir, 'inject-args');
    const fake = join(dir, 'fake-inject');
    writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > '${record}'\necho "Written message with ID OUTC1"\n`);
    chmodSync(fake, 0o755);
    const text = 'Bagaimana cara mengurus KTP yang hilang?';
    const r = await runGammu({ ...sms('+6281500004444', text), ...intake(), TANYA_REPLY: '1', TANYA_INJECT: fake });
    assert.equal(r.code, 0, r.stderr);
    await arrives(text, 'the question');
    const args = readFileSync(record, 'utf8').split('\0').slice(0, -1);
    assert.deepEqual(args, ['TEXT', '+6281500004444', '-len', '480', '-text', r.stdout.trim()]);
    assert.match(args[5], TRACKING);
    assert.match(r.stderr, /reply queued/);

    // Off by default: the same fake is not called without TANYA_REPLY=1.
    rmSync(record);
    const off = await runGammu({ ...sms('+6281500004444', 'Apakah ada pemutihan pajak kendaraan tahun ini?'), ...intake(), TANYA_INJECT: fake });
    assert.equal(off.code, 0, off.stderr);
    assert.ok(!existsSync(record), 'no reply SMS unless TANYA_REPLY=1');
  });

  await step('the hub unreachable: 3 attempts with waits, kept in the spool, sent at the next run', async () => {
    const spool = join(dir, 'spool');
    mkdirSync(spool);
    const text = 'Sampah menumpuk di pasar 16 Ilir';
    const dead = `http://127.0.0.1:${await freePort()}/api/sessions/${S.session.id}/intake`;
    const t0 = Date.now();
    const r = await runGammu({ ...sms('+6281600005555', text), ...intake(), TANYA_INTAKE_URL: dead, TANYA_SPOOL: spool, TANYA_RETRY_DELAY: '0.2', TANYA_TIMEOUT: '3' });
    const ms = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /attempt 1 of 3 failed: no answer .* again in 0\.2s/, r.stderr);
    assert.match(r.stderr, /attempt 2 of 3 failed: .* again in 0\.4s/, r.stderr);
    assert.match(r.stderr, /attempt 3 of 3 failed: .*giving up/, r.stderr);
    assert.match(r.stderr, /kept in .*spool/, r.stderr);
    assert.ok(ms >= 600, `waited between attempts (${ms} ms)`);
    const kept = readdirSync(spool);
    assert.equal(kept.length, 1, `one message kept: ${kept}`);
    assert.match(kept[0], /^sms-[0-9a-f]{64}\.json$/);

    // The next SMS arrives with the hub back: the kept one goes first, then the new one.
    const next = 'Air PDAM tidak mengalir di Plaju';
    const r2 = await runGammu({ ...sms('+6281600005555', next), ...intake(), TANYA_SPOOL: spool });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout.trim().split('\n').length, 2, `two replies:\n${r2.stdout}`);
    await arrives(text, 'the kept question');
    await arrives(next, 'the new question');
    assert.deepEqual(readdirSync(spool), [], 'the spool is empty again');
  });

  await step('more new questions a minute from one number than the limit: 429, exit 0, the reason logged', async () => {
    const number = '+6281700006666';
    const before = questions().length;
    for (let i = 1; i <= 2; i++) {
      const r = await runGammu({ ...sms(number, `Pertanyaan nomor ${i} dari warga Kertapati`), ...intake() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, TRACKING, `question ${i}: ${r.stderr}`);
    }
    // A Gammu retry of the second is not a new question: it does not count.
    const retry = await runGammu({ ...sms(number, 'Pertanyaan nomor 2 dari warga Kertapati'), ...intake() });
    assert.match(retry.stdout, TRACKING, retry.stderr);
    const r = await runGammu({ ...sms(number, 'Pertanyaan nomor 3 dari warga Kertapati'), ...intake() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /refused by the hub: HTTP 429 rate_limited: .*retry after \d+ ms.*dropped/, r.stderr);
    await arrives('Pertanyaan nomor 2 dari warga Kertapati', 'the second');
    await sleep(300);
    assert.equal(questions().length, before + 2);
    assert.equal(byText('Pertanyaan nomor 3 dari warga Kertapati').length, 0);
  });

  await step('webhook-relay.py starts and refuses to start without a secret', async () => {
    const noSecret = spawnSync('python3', [RELAY_SCRIPT], {
      env: { PATH: process.env.PATH, TANYA_INTAKE_ENV: join(dir, 'no-such-intake.env'), TANYA_INTAKE_URL: S.url, TANYA_INTAKE_KEY: S.keys.intake },
      encoding: 'utf8', timeout: 10_000,
    });
    assert.equal(noSecret.status, 2, noSecret.stderr);
    assert.match(noSecret.stderr, /TANYA_RELAY_SECRET must be set/);

    // As installed: the settings in a file (docs/intake.md), which the relay reads again when it changes.
    S.relayPort = await freePort();
    S.secret = randomBytes(18).toString('base64url');
    S.relayEnv = join(dir, 'relay.env');
    S.writeRelayEnv = (key, url = S.url) => writeFileSync(S.relayEnv, [
      '# the webhook relay', `TANYA_INTAKE_URL=${url}`, `TANYA_INTAKE_KEY=${key}`,
      `TANYA_RELAY_SECRET="${S.secret}"`, `TANYA_RELAY_LISTEN=127.0.0.1:${S.relayPort}`, '',
    ].join('\n'));
    S.writeRelayEnv(S.keys.intake);
    relay = spawn('python3', [RELAY_SCRIPT], {
      env: { PATH: process.env.PATH, TANYA_INTAKE_ENV: S.relayEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    collect(relay, relayLog);
    S.relay = `http://127.0.0.1:${S.relayPort}`;
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      if (relay.exitCode !== null) break;
      try { up = (await fetch(`${S.relay}/healthz`)).status === 200; } catch { await sleep(100); }
    }
    assert.ok(up, `relay up\n${relayLog.join('\n')}`);
  }, { essential: true });

  await step('a provider posts a form (msisdn, text, messageId): one question, the answer is the reply text', async () => {
    const text = 'Kapan jembatan Musi IV bisa dilewati kendaraan umum?';
    const form = new URLSearchParams({ msisdn: '6289876543210', to: '62811000000', text, messageId: '0B00000012345678', 'message-timestamp': '2025-01-14 09:15:02' });
    const post = () => fetch(`${S.relay}/sms?secret=${encodeURIComponent(S.secret)}`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
    });
    const r = await post();
    const reply = await r.text();
    assert.equal(r.status, 200, reply);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    assert.match(reply, TRACKING, `the relay answers with the reply text: ${reply}`);
    const q = await arrives(text, 'the webhook question');
    assert.equal(q.channel, 'sms');
    assert.equal(q.contact, '+6289876543210', 'the provider\'s 62... number with its plus');
    const count = questions().length;

    // The provider sends it again (it did not see our answer): the same reply, no new question.
    const again = await post();
    assert.equal(again.status, 200);
    assert.equal(await again.text(), reply);
    await sleep(300);
    assert.equal(questions().length, count);
    assert.ok(!relayLog.join('\n').includes(S.secret), 'the secret is never logged');
    assert.ok(!relayLog.join('\n').includes('9876543210'), 'the sender is masked in the log');
  });

  await step('the relay: JSON with the secret in a header; without the secret 403 and nothing created', async () => {
    const text = 'Mohon info jadwal vaksinasi di puskesmas Sako';
    const json = { from: '+6285711112222', message: text, id: 'ATXid_4f1c' };
    const bad = await fetch(`${S.relay}/sms?secret=wrong-secret-value`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json),
    });
    assert.equal(bad.status, 403);
    const none = await fetch(`${S.relay}/sms`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json),
    });
    assert.equal(none.status, 403);
    await sleep(300);
    assert.equal(byText(text).length, 0, 'nothing created without the secret');

    const ok = await fetch(`${S.relay}/sms`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-tanya-secret': S.secret }, body: JSON.stringify(json),
    });
    const reply = await ok.text();
    assert.equal(ok.status, 200, reply);
    assert.match(reply, TRACKING);
    const q = await arrives(text, 'the JSON webhook question');
    assert.equal(q.contact, '+6285711112222');
    assert.equal(q.channel, 'sms');

    const missing = await fetch(`${S.relay}/sms`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-tanya-secret': S.secret }, body: JSON.stringify({ from: '+6285711112222' }),
    });
    assert.equal(missing.status, 400, 'no text: 400');
  });

  await step('the next broadcast, a new session: the file gets its URL and key; relay (no restart) and script follow', async () => {
    const r = await fetch(`${S.base}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Diskusi Wong Kito: Sampah' }),
    });
    const body = await r.text();
    assert.equal(r.status, 201, body);
    const next = JSON.parse(body);
    const mod2 = new TanyaClient({ url: moderator.url, role: 'moderator', session: next.session.id, key: next.keys.moderator, name: 'moderator2' });
    await mod2.connect();
    try {
      const post = (t) => fetch(`${S.relay}/sms?secret=${encodeURIComponent(S.secret)}`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ from: '+6285799990000', text: t, id: 'ATXid_next_1' }).toString(),
      });
      const text = 'Kapan truk sampah masuk ke Kelurahan Talang Betutu?';

      // Half done: the new session's address with the old session's key. The relay refuses to
      // lose the message: 503, so the provider sends it again later.
      S.writeRelayEnv(S.keys.intake, next.links.intake);
      const refused = await post(text);
      assert.equal(refused.status, 503, await refused.text());
      await sleep(200);
      assert.match(relayLog.join('\n'), /NOT delivered.*HTTP 401.*check TANYA_INTAKE_URL and TANYA_INTAKE_KEY/, relayLog.join('\n'));
      const g0 = await runGammu({ ...sms('+6281800007777', text), TANYA_INTAKE_URL: next.links.intake, TANYA_INTAKE_KEY: S.keys.intake });
      assert.equal(g0.code, 0, g0.stderr);
      assert.match(g0.stderr, /refused by the hub: HTTP 401 unauthorized/, g0.stderr);

      // Done: the provider's retry arrives in the new session.
      S.writeRelayEnv(next.keys.intake, next.links.intake);
      const again = await post(text);
      const reply = await again.text();
      assert.equal(again.status, 200, `${reply}\n${relayLog.slice(-5).join('\n')}`);
      assert.match(reply, TRACKING);
      await mod2.waitFor((c) => [...c.questions.values()].some((q) => q.text === text), { timeout: 5000, what: 'the question in the new session' });
      assert.equal(mod2.questions.size, 1);
      assert.equal(byText(text).length, 0, 'nothing in the old session');

      const envFile = join(dir, 'intake-next.env');
      writeFileSync(envFile, `TANYA_INTAKE_URL=${next.links.intake}\nTANYA_INTAKE_KEY=${next.keys.intake}\n`);
      const g = await runGammu({ ...sms('+6281800007777', 'Bank sampah di Sukarami buka hari apa?'), TANYA_INTAKE_ENV: envFile });
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stdout, TRACKING, g.stderr);
      await mod2.waitFor((c) => c.questions.size === 2, { timeout: 5000, what: 'the SMS in the new session' });
    } finally {
      mod2.terminate();
      S.writeRelayEnv(S.keys.intake, S.url);
    }
  });

  await step('the intake key is rotated like the others (POST /api/sessions/{id}/keys/intake): the old key stops working', async () => {
    const old = S.keys.intake;
    const r = await fetch(`${S.base}/api/sessions/${S.session.id}/keys/intake`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    const body = await r.text();
    assert.equal(r.status, 200, body);
    const fresh = JSON.parse(body).keys.intake;
    assert.match(fresh, KEY);
    assert.notEqual(fresh, old, 'a new key');
    S.keys.intake = fresh;

    const text = 'Dengan kunci lama setelah diganti';
    const g = await runGammu({ ...sms('+6281900008888', text), TANYA_INTAKE_URL: S.url, TANYA_INTAKE_KEY: old });
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stderr, /refused by the hub: HTTP 401/, g.stderr);
    const g2 = await runGammu({ ...sms('+6281900008888', text), ...intake() });
    assert.equal(g2.code, 0, g2.stderr);
    assert.match(g2.stdout, TRACKING, g2.stderr);
    await arrives(text, 'the script with the new key');
  });

  await step('the WhatsApp Cloud API webhook as docs/intake.md sets it up: verification, a signed delivery', async () => {
    const hook = `${S.base}/api/sessions/${S.session.id}/whatsapp`;
    // Meta's "Verify and save".
    const v = await fetch(`${hook}?hub.mode=subscribe&hub.verify_token=${WA_VERIFY}&hub.challenge=1158201444`);
    assert.equal(v.status, 200);
    assert.equal(await v.text(), '1158201444');
    const wrong = await fetch(`${hook}?hub.mode=subscribe&hub.verify_token=not-the-token&hub.challenge=1158201444`);
    assert.equal(wrong.status, 403);
    await wrong.arrayBuffer();

    // A delivery: a text and a photo from one citizen (the photo is acknowledged and ignored).
    const text = 'Lampu merah di simpang Charitas mati sejak pagi';
    const delivery = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '6271100000', phone_number_id: '106540352242922' },
        contacts: [{ profile: { name: 'Siti Aminah' }, wa_id: '6281298765432' }],
        messages: [
          { from: '6281298765432', id: 'wamid.HBgNNjI4MTI5ODc2NTQzMhUCABIYFjNFQjBDMEE', timestamp: '1736840102', type: 'text', text: { body: text } },
          { from: '6281298765432', id: 'wamid.HBgNNjI4MTI5ODc2NTQzMhUCABIYFjNFQjBDMEB', timestamp: '1736840110', type: 'image', image: { id: '1479537139650973', mime_type: 'image/jpeg' } },
        ],
      } }] }],
    });
    const sign = (body, secret) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const bad = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(delivery, 'another-secret') }, body: delivery });
    assert.equal(bad.status, 401);
    await bad.arrayBuffer();
    await sleep(300);
    assert.equal(byText(text).length, 0, 'nothing from a badly signed delivery');

    const post = () => fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(delivery, WA_SECRET) }, body: delivery });
    const r = await post();
    const body = await r.text();
    assert.equal(r.status, 200, body);
    assert.deepEqual(JSON.parse(body), { accepted: 1, ignored: 1 });
    const q = await arrives(text, 'the WhatsApp question');
    assert.equal(q.channel, 'whatsapp');
    assert.equal(q.contact, '+6281298765432');
    assert.equal(q.name, 'Siti Aminah');
    // Meta delivers again when it did not see the 200: the same question, not a second one.
    const count = questions().length;
    const again = await post();
    assert.equal(again.status, 200);
    await again.arrayBuffer();
    await sleep(300);
    assert.equal(questions().length, count);
  });

  await step('the moderator saw no anomaly in the event stream', async () => {
    assert.deepEqual(moderator.anomalies, []);
    for (const q of questions()) assert.ok(['sms', 'whatsapp'].includes(q.channel), `${q.text}: channel ${q.channel}`);
  });
});
