// The deployment of docs/deploy.md, run as written: Debian's nginx with the configuration of
// that page (only names, paths and ports changed), a self-signed certificate, the hub behind it
// with `trusted_proxies`, and a phone over wss:// from its own address. The hub must see the
// phone's address, not nginx's, and not what the phone claims in its own X-Forwarded-For.
//
// Needs `nginx` and `openssl` (tests/run.sh installs nginx from Debian when it is missing).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

const HERE = dirname(fileURLToPath(import.meta.url));
const TANYA_BIN = process.env.TANYA_BIN || resolve(HERE, '../../target/debug/tanya');
const DEPLOY = resolve(HERE, '../../docs/deploy.md');
const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => ok(port)); });
  });
}

/** The fenced `nginx` blocks of docs/deploy.md, in order. */
function nginxBlocks() {
  const md = readFileSync(DEPLOY, 'utf8');
  return [...md.matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Lines of a child's output, collected. */
function collect(proc) {
  const lines = [];
  for (const s of [proc.stdout, proc.stderr]) {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
    });
  }
  return lines;
}

const dir = mkdtempSync(join(tmpdir(), 'tanya-proxy-'));
const children = [];

/** Stops a child (SIGTERM: nginx's master stops its workers; the hub shuts down) and waits. */
async function stop(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

after(async () => {
  for (const c of children) await stop(c);
  rmSync(dir, { recursive: true, force: true });
});

test('the documented nginx in front: wss:// works and the hub sees each phone\'s own address', async () => {
  // A self-signed certificate for localhost.
  const cert = join(dir, 'fullchain.pem');
  const key = join(dir, 'privkey.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const ca = readFileSync(cert);

  const hubPort = await freePort();
  const tlsPort = await freePort();
  const admin = randomBytes(16).toString('hex');
  const hub = spawn(TANYA_BIN, ['serve'], {
    cwd: dir,
    env: {
      ...process.env,
      TANYA_LISTEN: `127.0.0.1:${hubPort}`,
      TANYA_DATABASE: `sqlite://${join(dir, 'tanya.db')}`,
      TANYA_ADMIN_TOKEN: admin,
      TANYA_PUBLIC_URL: `https://localhost:${tlsPort}`,
      TANYA_TRUSTED_PROXIES: '127.0.0.1',
      RUST_LOG: 'tanya::server::ws=debug,info',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(hub);
  const hubLog = collect(hub);

  // The configuration of docs/deploy.md: the TLS server block, with this test's names.
  const [tlsBlock] = nginxBlocks();
  assert.ok(tlsBlock && tlsBlock.includes('proxy_pass'), 'docs/deploy.md has the nginx server block');
  const site = tlsBlock
    .replaceAll('tanya.example.go.id', 'localhost')
    .replace('/etc/ssl/tanya/fullchain.pem', cert)
    .replace('/etc/ssl/tanya/privkey.pem', key)
    .replace('http://127.0.0.1:8080', `http://127.0.0.1:${hubPort}`)
    .replace('listen 443 ssl;', `listen 127.0.0.1:${tlsPort} ssl;`)
    .replace('listen [::]:443 ssl;', '');
  assert.ok(site.includes(`127.0.0.1:${tlsPort}`) && site.includes(cert), 'the placeholders were found');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
user root;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
${site}
}
`);
  // nginx writes to its error log, so no pipe of its workers keeps this test alive.
  const nginx = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: 'ignore' });
  children.push(nginx);
  const nginxLog = { join: () => { try { return readFileSync(join(dir, 'nginx-error.log'), 'utf8'); } catch { return ''; } } };

  // Both up: the hub's health through nginx, over TLS.
  const get = (path, opts = {}) => new Promise((ok, fail) => {
    const req = https.request({ host: '127.0.0.1', servername: 'localhost', port: tlsPort, path, ca, agent: false,
      method: opts.method || 'GET', headers: { host: `localhost:${tlsPort}`, ...(opts.headers || {}) } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => ok({ status: res.statusCode, body }));
    });
    req.on('error', fail);
    if (opts.body) req.write(opts.body);
    req.end();
  });
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    try { up = (await get('/healthz')).status === 200; } catch { await sleep(100); }
  }
  assert.ok(up, `hub healthy through nginx\nnginx: ${nginxLog.join('\n')}\nhub: ${hubLog.join('\n')}`);

  const created = await get('/api/sessions', {
    method: 'POST', body: JSON.stringify({ title: 'Lewat proxy' }),
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  });
  assert.equal(created.status, 201, created.body);
  const session = JSON.parse(created.body);
  assert.ok(session.links.audience.startsWith(`https://localhost:${tlsPort}/j/`), session.links.audience);

  // A phone from 127.0.0.5 over wss://, one that claims another address itself.
  const phone = (from, headers = {}) => new Promise((ok, fail) => {
    const ws = new WebSocket(`wss://localhost:${tlsPort}/ws`, {
      ca, localAddress: from, headers: { origin: `https://localhost:${tlsPort}`, ...headers },
    });
    ws.on('error', fail);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', role: 'audience', session: session.code })));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'welcome') ok({ ws, welcome: m });
    });
  });
  const a = await phone('127.0.0.5');
  const b = await phone('127.0.0.6', { 'x-forwarded-for': '198.51.100.99' });
  // The hub reads `Forwarded` before `X-Forwarded-For`: one the phone sends is dropped by nginx.
  const c = await phone('127.0.0.7', { forwarded: 'for=198.51.100.77' });
  const asked = await new Promise((ok) => {
    a.ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'ok' && m.ref === 'p1') ok(m); });
    a.ws.send(JSON.stringify({ type: 'ask', ref: 'p1', text: 'Pertanyaan lewat HTTPS' }));
  });
  assert.ok(asked.question && asked.question.id, JSON.stringify(asked));
  const closed = (ws) => new Promise((r) => { ws.once('close', r); ws.close(); });
  await Promise.all([closed(a.ws), closed(b.ws), closed(c.ws)]);

  // What the hub saw.
  await sleep(200);
  const seen = hubLog.filter((l) => l.includes('client address')).map((l) => (l.match(/addr=(\S+)/) || [])[1]);
  assert.deepEqual(seen, ['127.0.0.5', '127.0.0.6', '127.0.0.7'], hubLog.join('\n'));
});
