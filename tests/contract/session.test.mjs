// Run, from the repository root: cd tests/contract && npm install && node --test
// (it starts ../../target/debug/tanya, or TANYA_BIN; build the hub first if it is missing:
// cargo build --bin tanya; `npm test` runs the same with --test-concurrency=1; KEEP_TANYA_TMP=1
// keeps the temp dir with hub.log and the DB)
//
// One whole live Q&A session through a real hub, driven only by what docs/protocol.md
// ("Tanya wire and operating contract (v1)") promises: HTTP session creation, phones, press, two moderators,
// a speaker screen and a broadcast overlay; votes, queue order, live, overlay, live.json, export,
// a SIGTERM restart with `since`, a brief disconnect with `resumed:true`, and finally every
// client's local view against a fresh client of the same role (and device).
//
// Every assertion is the contract's word. Where the hub disagrees, the assertion fails.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { TanyaClient, parseCsv } from './tanya-client.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TANYA_BIN = process.env.TANYA_BIN || resolve(HERE, '../../target/debug/tanya');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CODE = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/;
const KEY = /^[A-Za-z0-9_-]{22,}$/; // >= 128 random bits, URL-safe
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$/;
const CSV_HEADER = ['id', 'created_at', 'updated_at', 'status', 'source', 'channel', 'name', 'outlet',
  'to', 'text', 'original_text', 'reason', 'votes', 'merged_into', 'air_text'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** The hub as a child process: `tanya serve` with the contract's environment variables. */
class Hub {
  constructor({ bin, port, dir, adminToken }) {
    this.bin = bin;
    this.port = port;
    this.dir = dir;
    this.env = {
      ...process.env,
      TANYA_LISTEN: `127.0.0.1:${port}`,
      TANYA_DATABASE: `sqlite://${join(dir, 'tanya.db')}`,
      TANYA_ADMIN_TOKEN: adminToken,
      RUST_LOG: process.env.RUST_LOG || 'info',
      NO_COLOR: '1',
    };
    this.base = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/ws`;
    this.proc = null;
    this.log = [];
    this.starts = 0;
  }

  async start() {
    this.starts += 1;
    const n = this.starts;
    // cwd is the temp dir, so no config/tanya.toml of the repository is read.
    const proc = spawn(this.bin, ['serve'], { cwd: this.dir, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal, at: Date.now() })));
    for (const stream of [proc.stdout, proc.stderr]) {
      let buf = '';
      stream.on('data', (d) => {
        buf += d.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) { this.log.push(`[run ${n}] ${buf.slice(0, i)}`); buf = buf.slice(i + 1); }
      });
    }
    let exitedEarly = null;
    proc.exited.then((e) => { exitedEarly = e; });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (exitedEarly) throw new Error(`hub exited before it was healthy: ${JSON.stringify(exitedEarly)}\n${this.tail(30)}`);
      try {
        const r = await fetch(`${this.base}/healthz`);
        await r.arrayBuffer();
        if (r.status === 200) return;
      } catch { /* not listening yet */ }
      await sleep(100);
    }
    throw new Error(`hub not healthy within 30 s\n${this.tail(30)}`);
  }

  /** SIGTERM; resolves with {code, signal, ms}. */
  async stop() {
    const proc = this.proc;
    const t0 = Date.now();
    proc.kill('SIGTERM');
    const e = await proc.exited;
    this.proc = null;
    return { code: e.code, signal: e.signal, ms: e.at - t0 };
  }

  kill() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    this.proc = null;
  }

  tail(n) { return this.log.slice(-n).join('\n'); }

  async http(method, path, { token, body } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: r.status, headers: r.headers, text, json };
  }
}

// ---------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'tanya-contract-'));
let hub = null;
const clients = [];

function cleanup() {
  for (const c of clients) { try { c.terminate(); } catch { /* already gone */ } }
  if (hub) hub.kill();
}
process.on('exit', cleanup);

after(async () => {
  for (const c of clients) { try { c.terminate(); } catch { /* already gone */ } }
  if (hub && hub.proc) {
    try { await Promise.race([hub.stop(), sleep(6000)]); } catch { /* killed below */ }
  }
  if (hub) {
    writeFileSync(join(dir, 'hub.log'), hub.log.join('\n') + '\n');
    hub.kill();
  }
  if (!process.env.KEEP_TANYA_TMP) rmSync(dir, { recursive: true, force: true });
});

/** Waits until the client's view equals `want` (events may still be in flight), then asserts it. */
async function converges(client, want, what, timeout = 3000) {
  try {
    await client.waitFor((c) => isDeepStrictEqual(c.view(), want), { timeout, what });
  } catch { /* the assertion below shows the difference */ }
  assert.deepEqual(client.view(), want, `${client.name}: ${what}`);
}

test('one whole session through a real hub, as the contract describes it', { timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(TANYA_BIN), `TANYA_BIN ${TANYA_BIN} does not exist (cargo build --bin tanya)`);
  let abort = false;
  const step = (name, fn, { essential = false } = {}) => t.test(name, async (st) => {
    if (abort) { st.skip('an essential earlier step failed'); return; }
    try {
      await fn(st);
    } catch (e) {
      if (essential) abort = true;
      st.diagnostic(`hub log (last lines):\n${hub ? hub.tail(25) : '(no hub)'}`);
      throw e;
    }
  });

  const S = {}; // state shared by the steps
  const adminToken = randomBytes(16).toString('hex'); // 32 characters

  await step('the hub starts and /healthz answers 200', async () => {
    hub = new Hub({ bin: TANYA_BIN, port: await freePort(), dir, adminToken });
    await hub.start();
  }, { essential: true });

  await step('an admin creates a session with two speakers over HTTP', async () => {
    const speakers = [
      { name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' },
      { name: 'Ir. Hasan Basri', role: 'Kepala Dinas PUPR' },
    ];
    const title = 'Diskusi Wong Kito #12: Perizinan';
    const noAuth = await hub.http('POST', '/api/sessions', { body: { title, speakers } });
    assert.equal(noAuth.status, 401, 'no admin token: 401');
    assert.equal(noAuth.json?.error?.code, 'unauthorized');

    const r = await hub.http('POST', '/api/sessions', { token: adminToken, body: { title, speakers } });
    assert.equal(r.status, 201, r.text);
    const { session, code, keys, links } = r.json;
    assert.match(session.id, UUID);
    assert.match(session.code, CODE);
    assert.equal(code, session.code);
    assert.equal(session.title, title);
    assert.equal(session.status, 'open');
    assert.equal(session.speakers.length, 2);
    session.speakers.forEach((s, i) => {
      assert.equal(typeof s.id, 'string');
      assert.ok(s.id.length > 0);
      assert.equal(s.name, speakers[i].name);
      assert.equal(s.role, speakers[i].role);
    });
    assert.notEqual(session.speakers[0].id, session.speakers[1].id);
    for (const k of ['moderator', 'screen', 'overlay', 'press']) assert.match(keys[k], KEY, `keys.${k}`);
    // Every key differs from every other (the contract adds roles: desk, intake).
    assert.equal(new Set(Object.values(keys)).size, Object.keys(keys).length, 'different keys');
    for (const l of ['audience', 'press', 'moderator', 'screen', 'overlay']) assert.equal(typeof links[l], 'string', `links.${l}`);
    assert.ok(links.press.endsWith(`/j/${code}#p=${keys.press}`), `links.press: ${links.press}`);
    assert.ok(links.moderator.endsWith(`/m/${session.id}#k=${keys.moderator}`), `links.moderator: ${links.moderator}`);

    const list = await hub.http('GET', '/api/sessions', { token: adminToken });
    assert.equal(list.status, 200);
    assert.ok(list.json.sessions.some((s) => s.session.id === session.id), 'GET /api/sessions lists it');

    Object.assign(S, { session, code, keys, sp: session.speakers });
  }, { essential: true });

  await step('every client says hello and gets its welcome', async () => {
    const mk = (name, role, session, key) => {
      const c = new TanyaClient({ url: hub.wsUrl, role, session, key, name });
      clients.push(c);
      return c;
    };
    const { session, code, keys } = S;
    S.phoneA = mk('phoneA', 'audience', code.toLowerCase(), undefined); // codes in any letter case
    S.phoneB = mk('phoneB', 'audience', code, undefined);
    S.press = mk('press', 'press', session.id, keys.press);
    S.modA = mk('modA', 'moderator', session.id, keys.moderator);
    S.modB = mk('modB', 'moderator', code, keys.moderator);
    S.screen = mk('screen', 'screen', session.id, keys.screen);
    S.overlay = mk('overlay', 'overlay', code, keys.overlay);

    const welcomes = await Promise.all(clients.map((c) => c.connect()));
    welcomes.forEach((w, i) => {
      const c = clients[i];
      assert.equal(w.type, 'welcome');
      assert.equal(w.role, c.role, `${c.name} role`);
      assert.equal(typeof w.epoch, 'string', `${c.name} epoch`);
      assert.ok(Number.isInteger(w.seq), `${c.name} seq`);
      assert.equal(w.resumed, false, `${c.name} resumed`);
      assert.equal(w.session.id, session.id);
      assert.equal(w.session.code, code);
      assert.deepEqual(w.session.speakers, S.sp);
      if (c.role === 'overlay') assert.ok(w.questions === undefined || (Array.isArray(w.questions) && w.questions.length === 0));
      else assert.deepEqual(w.questions, [], `${c.name}: no questions yet`);
      if (['moderator', 'screen', 'overlay'].includes(c.role)) assert.deepEqual(w.overlay, { visible: false, question: null, poll: null, graphic: null }, `${c.name} overlay`);
      else assert.equal(w.overlay, undefined, `${c.name}: no overlay`);
      if (['audience', 'press'].includes(c.role)) {
        assert.equal(typeof w.you?.device, 'string', `${c.name} you.device`);
        assert.deepEqual(w.you.votes, []);
      } else assert.equal(w.you, undefined, `${c.name}: no you`);
    });
    assert.equal(new Set(welcomes.map((w) => w.epoch)).size, 1, 'one history, one epoch');
    assert.notEqual(S.phoneA.device, S.phoneB.device, 'two phones, two devices');
  }, { essential: true });

  await step('two phones ask (one to a speaker), the press asks with its outlet', async () => {
    const { phoneA, phoneB, press, modA, modB, screen, sp } = S;
    const expectOwn = (c, ok, fields) => {
      assert.equal(ok.type, 'ok');
      const q = ok.question;
      assert.match(q.id, UUID);
      assert.ok(Number.isInteger(q.rev));
      assert.equal(q.status, 'pending');
      assert.equal(q.votes, 0);
      assert.equal(q.merged_into, null);
      assert.equal(q.position, null, 'never approved: position null');
      assert.equal(q.channel, null);
      assert.match(q.created_at, RFC3339_UTC);
      assert.match(q.updated_at, RFC3339_UTC);
      assert.equal(q.reason, null, 'author view: reason');
      assert.equal(q.edited, false, 'author view: edited');
      for (const [k, v] of Object.entries(fields)) assert.deepEqual(q[k], v, `question.${k}`);
      // "The events a command causes reach the sender before its ok."
      assert.deepEqual(c.questions.get(q.id), q, `${c.name}: its own question event came before ok`);
      return q.id;
    };

    S.qA1text = 'Kapan jalan di Jakabaring diperbaiki, Pak?';
    S.qA1 = expectOwn(phoneA, await phoneA.send('ask', { ref: 'a-1', text: S.qA1text, name: 'Budi', to: sp[0].id }),
      { text: S.qA1text, name: 'Budi', source: 'audience', outlet: null, to: sp[0].id });
    S.qA2text = 'Bagaimana nasib tenaga honorer tahun depan?';
    S.qA2 = expectOwn(phoneA, await phoneA.send('ask', { ref: 'a-2', text: `  ${S.qA2text}\n`, name: 'Budi', outlet: 'Radio Hoaks' }),
      { text: S.qA2text, name: 'Budi', source: 'audience', outlet: null, to: null }); // trimmed; audience outlet ignored
    S.qBtext = 'Apakah izin usaha bisa diurus online?';
    S.qB = expectOwn(phoneB, await phoneB.send('ask', { ref: 'b-1', text: S.qBtext }),
      { text: S.qBtext, name: null, source: 'audience', outlet: null, to: null });
    S.qPtext = 'Berapa lama proses izin mendirikan bangunan sekarang?';
    S.qP = expectOwn(press, await press.send('ask', { ref: 'p-1', text: S.qPtext, name: 'Sari', outlet: 'Sumatera Ekspres', to: sp[1].id }),
      { text: S.qPtext, name: 'Sari', source: 'press', outlet: 'Sumatera Ekspres', to: sp[1].id });
    S.all = [S.qA1, S.qA2, S.qB, S.qP];

    // idempotent ask: the same ref again returns the same question and creates nothing
    const again = await phoneA.send('ask', { ref: 'a-1', text: S.qA1text, name: 'Budi', to: sp[0].id });
    assert.equal(again.question.id, S.qA1);

    for (const m of [modA, modB]) {
      await m.waitFor((c) => S.all.every((id) => c.questions.has(id)), { what: 'four pending questions' });
      assert.equal(m.questions.size, 4, `${m.name}: exactly four questions`);
      for (const id of S.all) {
        const q = m.questions.get(id);
        assert.equal(q.status, 'pending');
        assert.ok(Array.isArray(q.flags), 'moderator view: flags is a list');
        assert.equal(q.original_text, null);
        assert.equal(q.reason, null);
        assert.equal(q.banned, false);
        assert.equal(typeof q.author, 'string', 'moderator view: author');
        for (const token of [phoneA.device, phoneB.device, press.device]) assert.notEqual(q.author, token, 'author is never the device token');
      }
      assert.equal(m.questions.get(S.qA1).author, m.questions.get(S.qA2).author, 'one device, one author');
      assert.notEqual(m.questions.get(S.qA1).author, m.questions.get(S.qB).author);
    }
    // pending questions are for their authors and moderators only
    assert.deepEqual([...phoneA.questions.keys()].sort(), [S.qA1, S.qA2].sort());
    assert.deepEqual([...phoneB.questions.keys()], [S.qB]);
    assert.deepEqual([...press.questions.keys()], [S.qP]);
    assert.equal(screen.questions.size, 0);
  }, { essential: true });

  await step('two moderators approve one question with the same rev: one ok, one conflict', async () => {
    const { modA, modB } = S;
    const rev = modA.questions.get(S.qA1).rev;
    assert.equal(modB.questions.get(S.qA1).rev, rev);
    const replies = await Promise.all([
      modA.request('approve', { question: S.qA1, rev }),
      modB.request('approve', { question: S.qA1, rev }),
    ]);
    const oks = replies.filter((r) => r.type === 'ok');
    const errs = replies.filter((r) => r.type === 'error');
    assert.equal(oks.length, 1, `exactly one ok: ${JSON.stringify(replies)}`);
    assert.equal(errs.length, 1, `exactly one error: ${JSON.stringify(replies)}`);
    assert.equal(errs[0].code, 'conflict');
    assert.equal(typeof errs[0].message, 'string');
    for (const m of [modA, modB]) {
      await m.waitFor((c) => c.questions.get(S.qA1).status === 'approved', { what: 'qA1 approved' });
      const q = m.questions.get(S.qA1);
      assert.equal(q.rev, rev + 1, 'one change, rev + 1');
      assert.equal(typeof q.position, 'number');
    }
    assert.equal(errs[0].rev, rev + 1, 'the conflict carries the current rev');
  });

  await step('the moderator approves the rest; phones and screen see the queue', async () => {
    const { modA, phoneA, phoneB, press, screen } = S;
    for (const id of [S.qA2, S.qB, S.qP]) {
      const rev = modA.questions.get(id).rev;
      await modA.send('approve', { question: id, rev });
      assert.equal(modA.questions.get(id).status, 'approved', 'events before ok');
      assert.equal(modA.questions.get(id).rev, rev + 1);
    }
    assert.deepEqual(modA.queue().map((q) => q.id), S.all, 'approved at the end of the queue, in order');
    for (const c of [phoneA, phoneB, press, screen]) {
      await c.waitFor((x) => S.all.every((id) => x.questions.get(id)?.status === 'approved'), { what: 'four approved' });
      assert.deepEqual(c.queue().map((q) => q.id), S.all, `${c.name} queue`);
    }
  });

  await step('phones vote, one vote per device; votes reach the other phone', async () => {
    const { phoneA, phoneB, press, modA, screen } = S;
    const revP = modA.questions.get(S.qP).rev;
    await phoneA.send('vote', { question: S.qB, on: true });
    await phoneB.waitFor((c) => c.questions.get(S.qB).votes === 1, { what: 'a votes event for qB' });
    assert.ok(phoneB.frames.some((f) => f.type === 'votes' && f.counts?.[S.qB] === 1), 'phoneB got a votes event');

    await phoneA.send('vote', { question: S.qP, on: true });
    await phoneA.send('vote', { question: S.qP, on: true }); // again: still one vote from this device
    await phoneB.send('vote', { question: S.qP, on: true });
    await press.send('vote', { question: S.qP, on: true });
    await phoneB.send('vote', { question: S.qA1, on: true });
    const want = { [S.qA1]: 1, [S.qA2]: 0, [S.qB]: 1, [S.qP]: 3 };
    for (const c of [phoneA, phoneB, press, modA, S.modB, screen]) {
      await c.waitFor((x) => Object.entries(want).every(([id, n]) => x.questions.get(id)?.votes === n), { what: 'vote counts' });
    }
    assert.equal(modA.questions.get(S.qP).rev, revP, 'votes do not change rev');
    assert.deepEqual([...phoneA.you.votes].sort(), [S.qB, S.qP].sort());
    assert.deepEqual([...phoneB.you.votes].sort(), [S.qA1, S.qP].sort());
  });

  await step('the moderator moves a question to the top', async () => {
    const { modA, modB, screen, phoneA } = S;
    await modA.send('move', { question: S.qP, after: null });
    const order = [S.qP, S.qA1, S.qA2, S.qB];
    assert.deepEqual(modA.queue().map((q) => q.id), order, 'position events before ok');
    for (const c of [modB, screen, phoneA]) {
      await c.waitFor((x) => isDeepStrictEqual(x.queue().map((q) => q.id), order), { what: 'qP on top' });
    }
  });

  await step('the moderator takes it live and the overlay on air; the overlay client sees it', async () => {
    const { modA, overlay, screen, phoneB, sp } = S;
    await modA.send('live', { question: S.qP, rev: modA.questions.get(S.qP).rev });
    assert.equal(modA.questions.get(S.qP).status, 'live');
    assert.equal(modA.overlay.visible, false, 'nothing reaches the air without an explicit take');
    assert.equal(modA.overlay.question?.id, S.qP, "the overlay's question is the live question");
    await phoneB.waitFor((c) => c.questions.get(S.qP).status === 'live', { what: 'qP live' });

    await modA.send('overlay', { visible: true });
    assert.equal(modA.overlay.visible, true, 'overlay event before ok');
    const expected = { id: S.qP, text: S.qPtext, name: 'Sari', outlet: 'Sumatera Ekspres', source: 'press', to: sp[1].id };
    for (const c of [overlay, screen]) {
      await c.waitFor((x) => x.overlay?.visible === true, { what: 'overlay on air' });
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(c.overlay.question[k], v, `${c.name} overlay.question.${k}`);
    }
    assert.equal(overlay.questions.size, 0, 'the overlay role sees no questions');
  });

  await step('GET live.json shows what is on air', async () => {
    const { session, keys, sp } = S;
    const noKey = await hub.http('GET', `/api/sessions/${session.id}/live.json?k=${keys.screen}`);
    assert.ok([401, 403].includes(noKey.status), `wrong key: ${noKey.status}`);
    const r = await hub.http('GET', `/api/sessions/${session.id}/live.json?k=${keys.overlay}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json) && r.json.length === 1, `one row: ${r.text}`);
    const row = r.json[0];
    assert.equal(row.visible, true);
    assert.equal(row.text, S.qPtext);
    assert.equal(row.name, 'Sari');
    assert.equal(row.outlet, 'Sumatera Ekspres');
    assert.equal(row.speaker, sp[1].name);
    assert.equal(row.speaker_role, sp[1].role);
  });

  await step('editing the live question changes what the overlay shows', async () => {
    const { modA, overlay, press, phoneA, screen, session, keys } = S;
    S.qPnew = 'Berapa hari proses izin mendirikan bangunan (PBG) sekarang?';
    const rev = modA.questions.get(S.qP).rev;
    await modA.send('edit', { question: S.qP, text: S.qPnew, rev });
    const mq = modA.questions.get(S.qP);
    assert.equal(mq.text, S.qPnew);
    assert.equal(mq.original_text, S.qPtext, 'the original is kept');
    assert.equal(mq.rev, rev + 1);
    assert.equal(mq.status, 'live');
    await overlay.waitFor((c) => c.overlay?.question?.text === S.qPnew, { what: 'the new text on the overlay' });
    assert.equal(overlay.overlay.visible, true, 'still on air');
    await press.waitFor((c) => c.questions.get(S.qP)?.text === S.qPnew, { what: 'author sees the new text' });
    assert.equal(press.questions.get(S.qP).edited, true, 'author view: edited');
    for (const c of [phoneA, S.phoneB, screen, S.modB]) {
      await c.waitFor((x) => x.questions.get(S.qP)?.text === S.qPnew, { what: 'the new text' });
    }
    await screen.waitFor((c) => c.overlay?.question?.text === S.qPnew, { what: 'the new text on the screen overlay' });
    const r = await hub.http('GET', `/api/sessions/${session.id}/live.json?k=${keys.overlay}`);
    assert.equal(r.json?.[0]?.text, S.qPnew, 'live.json shows the new text');
  });

  await step('export as JSON and CSV holds every question', async () => {
    const { session, keys, modA } = S;
    const j = await hub.http('GET', `/api/sessions/${session.id}/export?format=json`, { token: adminToken });
    assert.equal(j.status, 200, j.text);
    assert.equal(j.json.session.id, session.id);
    assert.deepEqual(j.json.questions.map((q) => q.id).sort(), [...S.all].sort());
    for (const q of j.json.questions) assert.deepEqual(q, modA.questions.get(q.id), `export is the moderator view of ${q.id}`);

    const d = await hub.http('GET', `/api/sessions/${session.id}/export`, { token: keys.moderator });
    assert.equal(d.status, 200, 'JSON is the default; the moderator key works');
    assert.deepEqual(d.json.questions.map((q) => q.id).sort(), [...S.all].sort());

    const bad = await hub.http('GET', `/api/sessions/${session.id}/export?format=csv`, { token: keys.screen });
    assert.equal(bad.status, 401, `the screen key may not export: ${bad.status}`);

    const c = await hub.http('GET', `/api/sessions/${session.id}/export?format=csv`, { token: keys.moderator });
    assert.equal(c.status, 200, c.text);
    const rows = parseCsv(c.text).filter((r) => !(r.length === 1 && r[0] === ''));
    assert.deepEqual(rows[0], CSV_HEADER, 'the contract CSV header');
    const body = rows.slice(1).map((r) => Object.fromEntries(CSV_HEADER.map((h, i) => [h, r[i]])));
    assert.deepEqual(body.map((r) => r.id).sort(), [...S.all].sort(), 'one row per question');
    for (const r of body) {
      const q = modA.questions.get(r.id);
      assert.equal(r.status, q.status);
      assert.equal(r.source, q.source);
      assert.equal(r.text, q.text);
      assert.equal(r.votes, String(q.votes));
      assert.equal(r.created_at, q.created_at);
      assert.equal(r.name, q.name ?? '');
      assert.equal(r.outlet, q.outlet ?? '');
      assert.equal(r.to, q.to ?? '');
      assert.equal(r.original_text, q.original_text ?? '');
    }
  });

  await step('SIGTERM: every socket gets 4503, the hub exits 0; restarted, `since` gets a full welcome with the same state', async () => {
    const snapshots = clients.map((c) => c.view());
    const devices = clients.map((c) => c.device);
    const oldEpoch = S.modA.epoch;
    const closes = clients.map((c) => c.closed);
    const stopped = await hub.stop();
    const infos = await Promise.race([Promise.all(closes), sleep(2000).then(() => null)]);
    assert.ok(infos, 'every socket closed');
    assert.deepEqual(infos.map((info, i) => `${clients[i].name}:${info.code}`), clients.map((c) => `${c.name}:4503`), 'every socket closed with 4503');
    assert.equal(stopped.signal, null, 'exited by itself, not by the signal');
    assert.equal(stopped.code, 0, 'exit code 0');
    assert.ok(stopped.ms <= 5000 + 250, `exits within 5 s (took ${stopped.ms} ms)`);

    await hub.start();
    const sinces = clients.map((c) => c.position());
    const welcomes = await Promise.all(clients.map((c) => c.connect()));
    welcomes.forEach((w, i) => {
      const c = clients[i];
      assert.ok(sinces[i], `${c.name} sent since`);
      assert.equal(w.resumed, false, `${c.name}: a new history, a full welcome`);
      assert.notEqual(w.epoch, oldEpoch, `${c.name}: a new epoch`);
      if (c.role !== 'overlay') assert.ok(Array.isArray(w.questions), `${c.name}: full welcome carries questions`);
      if (devices[i] !== undefined) assert.equal(w.you?.device, devices[i], `${c.name}: the same device`);
    });
    assert.equal(new Set(welcomes.map((w) => w.epoch)).size, 1, 'one epoch for all');
    const screenApproved = welcomes[clients.indexOf(S.screen)].questions.filter((q) => q.status === 'approved');
    assert.deepEqual(screenApproved.map((q) => q.id), S.screen.queue().map((q) => q.id), 'the screen gets approved questions in queue order');
    clients.forEach((c, i) => assert.deepEqual(c.view(), snapshots[i], `${c.name}: the same state after the restart`));
  }, { essential: true });

  await step('a phone drops briefly; the moderator acts; `since` resumes with the missed events', async () => {
    const { phoneA, phoneB, press, modA, overlay, sp } = S;
    const since = phoneB.position();
    const info = await phoneB.drop();
    assert.equal(info.code, 1000);

    await modA.send('live', { question: S.qB, rev: modA.questions.get(S.qB).rev });
    assert.equal(modA.questions.get(S.qB).status, 'live');
    assert.equal(modA.questions.get(S.qP).status, 'answered', 'the question live before it is answered');
    assert.equal(modA.overlay.visible, false, 'the overlay goes off by itself');
    assert.equal(modA.overlay.question?.id, S.qB);
    await modA.send('reject', { question: S.qA2, rev: modA.questions.get(S.qA2).rev, reason: 'Di luar topik' });
    await modA.send('assign', { question: S.qA1, to: sp[1].id });
    await press.send('vote', { question: S.qB, on: true });
    await modA.waitFor((c) => c.questions.get(S.qB).votes === 2, { what: 'qB 2 votes' });
    await phoneA.waitFor((c) => c.questions.get(S.qA2)?.status === 'rejected', { what: 'own rejected question' });
    assert.equal(phoneA.questions.get(S.qA2).reason, 'Di luar topik', 'the author sees the reason');
    await overlay.waitFor((c) => c.overlay?.visible === false, { what: 'overlay off air' });

    const w = await phoneB.connect();
    assert.equal(w.resumed, true, 'same hub, same epoch: resumed');
    assert.equal(w.epoch, since.epoch);
    assert.equal(w.seq, since.seq, 'resumed welcome seq = since.seq');
    assert.ok(w.questions === undefined, 'a resumed welcome has no questions');
    assert.equal(w.session.id, S.session.id);
    assert.equal(w.you?.device, phoneB.device);
    await phoneB.waitFor((c) => c.questions.get(S.qB)?.status === 'live'
      && c.questions.get(S.qP)?.status === 'answered'
      && !c.questions.has(S.qA2)
      && c.questions.get(S.qA1)?.to === sp[1].id
      && c.questions.get(S.qB)?.votes === 2, { what: 'the missed events applied' });
    const missed = phoneB.eventsSinceWelcome;
    const types = new Set(missed.map((e) => e.type));
    for (const ty of ['question', 'removed', 'votes']) assert.ok(types.has(ty), `missed ${ty} event replayed`);
    assert.ok(missed.every((e) => e.seq > since.seq), 'only events after since');
    assert.ok(missed.find((e) => e.type === 'removed')?.id === S.qA2, 'qA2 removed');
  });

  await step("every client's local view equals a fresh client's of the same role and device", async () => {
    for (const c of clients) {
      const fresh = new TanyaClient({ url: hub.wsUrl, role: c.role, session: c.sessionRef, key: c.key, device: c.device, name: `fresh-${c.name}` });
      try {
        const w = await fresh.connect({ since: null });
        assert.equal(w.resumed, false);
        if (c.device !== undefined) assert.equal(w.you?.device, c.device, `${c.name}: same device`);
        await converges(c, fresh.view(), 'local view = fresh view');
      } finally {
        await fresh.drop();
      }
    }
    for (const c of clients) assert.deepEqual(c.anomalies, [], `${c.name}: no duplicate, gap-free order, every reply matched`);
  });

  await step('a final SIGTERM closes everything with 4503 and exits 0', async () => {
    const closes = clients.map((c) => c.closed);
    const stopped = await hub.stop();
    const infos = await Promise.race([Promise.all(closes), sleep(2000).then(() => null)]);
    assert.ok(infos, 'every socket closed');
    assert.deepEqual(infos.map((info, i) => `${clients[i].name}:${info.code}`), clients.map((c) => `${c.name}:4503`), 'every socket closed with 4503');
    assert.equal(stopped.code, 0);
  });
});
