// Shared helpers for the browser tests (node:test + playwright-core + Debian chromium).
// Environment: TANYA_URL (the running hub, e.g. http://127.0.0.1:8080),
// TANYA_ADMIN_TOKEN (its admin token), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

export const BASE = (process.env.TANYA_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const ADMIN_TOKEN = process.env.TANYA_ADMIN_TOKEN || '';

export async function launch() {
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
  if (!ADMIN_TOKEN) throw new Error('set TANYA_ADMIN_TOKEN to the hub admin token');
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
