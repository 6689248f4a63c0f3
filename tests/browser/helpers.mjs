// Shared helpers for the browser tests (node:test + playwright-core + Debian chromium).
// The hub: TANYA_URL + TANYA_ADMIN_TOKEN of a running hub, or else this process
// starts one from TANYA_BIN (default ../../target/debug/tanya) on a free
// 127.0.0.1 port with a fresh SQLite file, and stops it on exit.
// CHROMIUM: the browser (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export let BASE = (process.env.TANYA_URL || '').replace(/\/$/, '');
export let ADMIN_TOKEN = process.env.TANYA_ADMIN_TOKEN || '';
let hubProcess = null;
let hubStarting = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Make sure a hub is there: the one in TANYA_URL, or one started here. */
export function hub() {
  if (BASE) return Promise.resolve({ base: BASE, token: ADMIN_TOKEN });
  if (!hubStarting) hubStarting = startHub();
  return hubStarting;
}

async function startHub() {
  const bin = process.env.TANYA_BIN || path.resolve(HERE, '../../target/debug/tanya');
  if (!fs.existsSync(bin)) throw new Error(`no hub: set TANYA_URL (+ TANYA_ADMIN_TOKEN) or build ${bin}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tanya-browser-'));
  const port = await freePort();
  const token = crypto.randomBytes(24).toString('base64url');
  const base = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, 'hub.log'), 'a');
  hubProcess = spawn(bin, ['serve'], {
    cwd: dir,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      TANYA_LISTEN: `127.0.0.1:${port}`,
      TANYA_DATABASE: `sqlite://${path.join(dir, 'tanya.db')}`,
      TANYA_ADMIN_TOKEN: token,
      TANYA_PUBLIC_URL: base,
      TANYA_ASKS_PER_MINUTE: process.env.TANYA_ASKS_PER_MINUTE || '60',
      RUST_LOG: process.env.RUST_LOG || 'warn',
    },
  });
  const exited = new Promise((resolve) => hubProcess.once('exit', (code) => resolve(code)));
  process.once('exit', () => { try { hubProcess.kill('SIGTERM'); } catch { /* gone */ } });
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch { /* not yet */ }
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 100))]);
    if (code !== undefined) throw new Error(`hub exited with ${code}; log: ${fs.readFileSync(path.join(dir, 'hub.log'), 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`hub did not answer /healthz at ${base}`);
  }
  BASE = base;
  ADMIN_TOKEN = token;
  return { base, token, dir };
}

/** Stop the hub this process started (if any). */
export async function stopHub() {
  if (!hubProcess || hubProcess.exitCode !== null) return;
  const p = new Promise((resolve) => hubProcess.once('exit', resolve));
  hubProcess.kill('SIGTERM');
  await Promise.race([p, new Promise((r) => setTimeout(r, 6000))]);
}

export async function launch() {
  await hub();
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Create a session through the admin API; links rebased onto TANYA_URL. */
export async function createSession(title = `Browser test ${new Date().toISOString()}`, speakers = [
  { name: 'Drs Ratu Dewa MSi', role: 'Sekretaris Daerah' },
  { name: 'Ir. Budi Santoso', role: 'Kepala Dinas PUPR' },
]) {
  await hub();
  if (!ADMIN_TOKEN) throw new Error('set TANYA_ADMIN_TOKEN to the admin token of the hub in TANYA_URL');
  const res = await fetch(`${BASE}/api/sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title, speakers }),
  });
  if (res.status !== 201) throw new Error(`POST /api/sessions: ${res.status} ${await res.text()}`);
  const body = await res.json();
  const links = {};
  for (const [k, v] of Object.entries(body.links)) {
    const u = new URL(v);
    links[k] = `${BASE}${u.pathname}${u.search}${u.hash}`;
  }
  return { ...body, links };
}

/** A page that fails the test on any page error, console error or dialog (alert). */
export async function newPage(browser, opts = {}, problems = []) {
  const ctx = await browser.newContext(opts);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('dialog', async (d) => { problems.push(`dialog: ${d.type()} ${d.message()}`); await d.dismiss(); });
  return { ctx, page };
}

export const online = (page) => page.waitForSelector('#conn[data-state=online]', { timeout: 15000 });

export async function ask(phone, text, { name } = {}) {
  if (name !== undefined) await phone.fill('#name', name);
  await phone.fill('#question-text', text);
  await phone.click('#ask-btn');
}

/** The card of the question with this exact text in a moderator column. */
export function card(mod, col, text) {
  return mod.locator(`#col-${col} .card`, { has: mod.locator('[data-field=text]', { hasText: text }) });
}

export function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}
