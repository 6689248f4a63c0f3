// Tanya hub client: the one module every page uses.
//
//   const c = new TanyaClient({ role: 'audience', session: 'K7M2QX' });
//   c.on('change', () => render(c.view));
//   c.on('state', (s) => showState(s));
//   c.start();
//   await c.send({ type: 'vote', question: id, on: true });   // ok / error
//   c.submit({ type: 'ask', text });  // kept in localStorage until ok / final error
//
// A programme link (/p/{slug}...): `new TanyaClient({ role, programme: slug, key })` says
// `programme` in the hello instead of `session` and follows the programme's current episode: on
// close 4307 (another episode is current) it emits `episode`, forgets the old episode's view and
// sends the same hello again at once; on 4404 (no current episode) it emits `noepisode` and tries
// again every 5-10 s (state `waiting`, `noEpisode: true`) instead of stopping.
//
// Protocol: docs/protocol.md in the repository ("hello", "welcome", "Events" with seq,
// "Resume" with since {epoch, seq}, "Slow readers", "Close codes").

const STORE = 'tanya:';
const FATAL_CLOSE = new Set([4401, 4404]);
/** The programme's current episode changed: send the same hello again at once. */
const EPISODE_CLOSE = 4307;
/** A programme link with no current episode: try again after 5-10 s. */
const NO_EPISODE_MS = [5000, 10000];
/** Errors after which a stored command is dropped (not retried). */
const FINAL_ERRORS = new Set(['invalid', 'forbidden', 'not_found', 'conflict', 'closed', 'banned']);
const MAX_INTERNAL_RETRIES = 5;

export function newRef() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') {
    try { return crypto.randomUUID(); } catch { /* insecure context */ }
  }
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** localStorage that never throws (private mode, quota, disabled storage). */
export const store = {
  get(k) { try { return localStorage.getItem(STORE + k); } catch { return null; } },
  set(k, v) { try { localStorage.setItem(STORE + k, v); } catch { /* ignore */ } },
  del(k) { try { localStorage.removeItem(STORE + k); } catch { /* ignore */ } },
  json(k, dflt) { const s = this.get(k); if (!s) return dflt; try { return JSON.parse(s); } catch { return dflt; } },
  setJson(k, v) { this.set(k, JSON.stringify(v)); },
};

/** A programme's slug as pages and storage use it (slugs are lower case). */
export function programmeSlug(s) {
  return String(s || '').trim().toLowerCase();
}

/** The programme of a page opened on `/p/{slug}{rest}` (rest: '' for the phone page, '/m',
 *  '/screen', '/overlay', '/desk'); '' when the address is not such a link. */
export function programmeFromPath(rest = '') {
  const m = /^\/p\/([^/]+)(\/.*)?$/.exec(location.pathname);
  if (!m) return '';
  if ((m[2] || '').replace(/\/+$/, '') !== rest) return '';
  let slug = '';
  try { slug = decodeURIComponent(m[1]); } catch { return ''; }
  return programmeSlug(slug);
}

/** Storage key for a session reference: codes are case-insensitive, ids are UUIDs. */
export function sessionKey(s) {
  const v = String(s || '').trim();
  return /^[0-9a-f-]{36}$/i.test(v) ? v.toLowerCase() : v.toUpperCase();
}

export function wsUrl() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}

export class TanyaClient {
  /**
   * @param {object} o
   * @param {string} o.role audience | press | moderator | screen | overlay | desk
   * @param {string} o.session join code or session id
   * @param {string} [o.programme] a programme's slug instead of `session`: the socket follows the
   *   programme's current episode (docs in the head of this file)
   * @param {string} [o.key] the role's secret
   * @param {string} [o.url] WebSocket URL (default ws(s)://host/ws)
   * @param {string} [o.name] a moderator's name, sent in the hello when set ("who did what")
   */
  constructor(o) {
    this.role = o.role;
    this.programme = programmeSlug(o.programme);
    this.sessionRef = this.programme ? '' : String(o.session || '').trim();
    this.key = o.key || null;
    this.name = o.name || null;    // may be set later: the next hello carries it
    this.url = o.url || wsUrl();
    // A programme's device token, outbox and own questions are kept under `p:{slug}`, whatever
    // episode is current.
    this.skey = this.programme ? `p:${this.programme}` : sessionKey(this.sessionRef);
    // The desk and the console both name a session by its id: the desk's outbox and entries are
    // kept apart (`outbox:desk:{id}`), or a console in the same browser would send them as its own.
    this.box = this.role === 'desk' ? `desk:${this.skey}` : this.skey;
    this.listeners = new Map();
    this.view = emptyView();
    this.noEpisode = false;        // programme link: the last close said there is no current episode
    this.epoch = null;
    this.seq = null;
    this.ws = null;
    this.ready = false;            // welcome received on the current socket
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.helloTimer = null;
    this.pending = new Map();      // ref -> {resolve, reject, timer}
    this.outbox = store.json(`outbox:${this.box}`, []); // [{ref, cmd, tries}]
    this.outboxWaiters = new Map(); // ref -> {resolve, reject}
    this.sentOn = new Map();       // ref -> socket serial it was sent on
    this.retryTimers = new Map();
    this.serial = 0;
    this.mine = new Set(store.json(`mine:${this.box}`, []));
    this.state = { state: 'idle' };
    this.fatal = null;
    this._onOnline = () => { if (!this.stopped && !this.ready) this.reconnectNow(); };
    this._onOffline = () => { if (!this.stopped && this.ws) this.ws.close(4000, 'offline'); };
    this._onVisible = () => { if (document.visibilityState === 'visible' && !this.stopped && !this.ws) this.reconnectNow(); };
  }

  // ---- events ------------------------------------------------------------
  /** Types: state, welcome, change, question, removed, votes, overlay, session,
   *  presence, error (unmatched error frames), outbox, fatal, frame (every frame);
   *  programme links also: episode ({code, reason}: the current episode changed, the view is
   *  empty until the next welcome), noepisode ({code, reason}: no current episode). */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }
  emit(type, arg) {
    const set = this.listeners.get(type);
    if (set) for (const fn of Array.from(set)) { try { fn(arg, this); } catch (e) { console.error(e); } }
  }
  setState(state, detail = {}) {
    this.state = { state, ...detail };
    this.emit('state', this.state);
  }

  // ---- lifecycle ---------------------------------------------------------
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.fatal = null;
    window.addEventListener('online', this._onOnline);
    window.addEventListener('offline', this._onOffline);
    document.addEventListener('visibilitychange', this._onVisible);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this._onOnline);
    window.removeEventListener('offline', this._onOffline);
    document.removeEventListener('visibilitychange', this._onVisible);
    clearTimeout(this.timer);
    clearTimeout(this.helloTimer);
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    if (this.ws) { const ws = this.ws; this.ws = null; try { ws.close(1000, 'bye'); } catch { /* ignore */ } }
    this.ready = false;
    this.failPending('stopped');
    this.setState('stopped');
  }

  get deviceToken() {
    return store.get(`dev:${this.skey}`);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    // navigator.onLine is only a hint (a venue LAN without internet may report
    // false): try anyway; the 'online' event retries at once.
    const serial = ++this.serial;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.ready = false;
    if (this.state.state !== 'offline') this.setState(this.attempt ? 'reconnecting' : 'connecting', { attempt: this.attempt });
    ws.onopen = () => {
      if (this.ws !== ws) return;
      const hello = { type: 'hello', role: this.role };
      if (this.programme) hello.programme = this.programme; else hello.session = this.sessionRef;
      if (this.key) hello.key = this.key;
      if (this.name) hello.name = this.name;
      if (this.role === 'audience' || this.role === 'press') {
        const dev = this.deviceToken;
        if (dev) hello.device = dev;
      }
      if (this.epoch !== null && this.seq !== null) hello.since = { epoch: this.epoch, seq: this.seq };
      ws.send(JSON.stringify(hello));
      // No welcome within 10 s: treat the socket as dead.
      this.helloTimer = setTimeout(() => { if (this.ws === ws && !this.ready) ws.close(4000, 'no welcome'); }, 10000);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg.type !== 'string') return;
      this.handle(msg, serial);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      clearTimeout(this.helloTimer);
      this.ws = null;
      this.ready = false;
      this.failPending('disconnected');
      if (this.stopped) return;
      if (this.programme && ev.code === EPISODE_CLOSE) {
        // Another episode is current: nothing of the old one may stay on a page. The hello is
        // sent again at once, without `since` (a full welcome of the new episode).
        this.noEpisode = false;
        this.forgetEpisode();
        this.emit('episode', { code: ev.code, reason: ev.reason });
        this.emit('change', { type: 'episode' });
        this.attempt = 0;
        this.connect();
        return;
      }
      if (this.programme && ev.code === 4404) {
        // No current episode (yet): wait and ask again; not the end of the page.
        const first = !this.noEpisode;
        this.noEpisode = true;
        if (first) this.forgetEpisode();
        this.emit('noepisode', { code: ev.code, reason: ev.reason });
        if (first) this.emit('change', { type: 'noepisode' });
        clearTimeout(this.timer);
        this.attempt++;
        const delay = Math.round(NO_EPISODE_MS[0] + Math.random() * (NO_EPISODE_MS[1] - NO_EPISODE_MS[0]));
        this.setState(navigator.onLine === false ? 'offline' : 'waiting', { attempt: this.attempt, delay, code: ev.code, reason: ev.reason, noEpisode: true });
        this.timer = setTimeout(() => this.connect(), delay);
        return;
      }
      if (FATAL_CLOSE.has(ev.code)) {
        this.stopped = true;
        this.fatal = { code: ev.code, reason: ev.reason };
        this.setState('stopped', { code: ev.code, reason: ev.reason });
        this.emit('fatal', this.fatal);
        return;
      }
      this.scheduleReconnect(ev.code);
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  scheduleReconnect(code) {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.attempt++;
    // jittered exponential backoff: 0.5 s, 1 s, 2 s ... capped at 15 s, times 0.5-1.0
    const base = Math.min(15000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    let delay = Math.round(base * (0.5 + Math.random() * 0.5));
    if (code === 4429) delay = Math.max(delay, 5000 + Math.random() * 5000); // too slow / flooding: pause
    this.setState(navigator.onLine === false ? 'offline' : 'waiting', { attempt: this.attempt, delay, code });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    clearTimeout(this.timer);
    if (this.ws) return;
    this.connect();
  }

  /** A programme link's episode is gone: forget its view and its place in the event stream
   *  (the outbox, this device's votes of other questions and `mine` stay). */
  forgetEpisode() {
    this.view = emptyView();
    this.epoch = null;
    this.seq = null;
  }

  /** Drop the current socket to test resume (used by tests; harmless otherwise). */
  dropConnection() { if (this.ws) this.ws.close(4000, 'drop'); }

  failPending(code) {
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject({ type: 'error', ref, code, message: code });
    }
    this.pending.clear();
    this.sentOn.clear();
  }

  // ---- frames ------------------------------------------------------------
  handle(msg, serial) {
    this.emit('frame', msg);
    switch (msg.type) {
      case 'welcome': return this.onWelcome(msg, serial);
      case 'ok': return this.onReply(msg, true);
      case 'error': return this.onReply(msg, false);
      case 'presence':
        this.view.presence = msg.counts || null;
        this.emit('presence', msg);
        this.emit('change', msg);
        return;
      default:
        return this.onEvent(msg);
    }
  }

  onWelcome(msg) {
    clearTimeout(this.helloTimer);
    this.noEpisode = false;
    const v = this.view;
    if (!msg.resumed) {
      v.questions = new Map();
      for (const q of msg.questions || []) v.questions.set(q.id, q);
      v.polls = new Map();
      for (const p of msg.polls || []) v.polls.set(p.id, p);
    }
    if (msg.session) v.session = msg.session;
    if ('overlay' in msg) v.overlay = msg.overlay;
    if (Array.isArray(msg.agencies)) v.agencies = msg.agencies; // moderators: [{id, name, short}]
    v.stage = msg.stage || null;
    v.stageAt = Date.now();
    if (msg.you) {
      v.you = msg.you;
      v.votes = new Set(msg.you.votes || []);
      if (msg.you.device) {
        store.set(`dev:${this.skey}`, msg.you.device);
        if (msg.session && msg.session.id) store.set(`dev:${sessionKey(msg.session.id)}`, msg.you.device);
        if (msg.session && msg.session.code) store.set(`dev:${sessionKey(msg.session.code)}`, msg.you.device);
      }
    }
    this.epoch = msg.epoch;
    this.seq = msg.seq;
    this.ready = true;
    this.attempt = 0;
    this.setState('online', { resumed: !!msg.resumed });
    this.emit('welcome', msg);
    this.emit('change', msg);
    this.flushOutbox();
  }

  onEvent(msg) {
    if (typeof msg.seq === 'number') {
      if (this.seq !== null && msg.seq <= this.seq) return; // already applied
    }
    const v = this.view;
    let known = true;
    switch (msg.type) {
      case 'question':
        if (msg.question && msg.question.id) v.questions.set(msg.question.id, msg.question);
        break;
      case 'removed':
        v.questions.delete(msg.id);
        break;
      case 'votes':
        for (const [id, n] of Object.entries(msg.counts || {})) {
          const q = v.questions.get(id);
          if (q) v.questions.set(id, { ...q, votes: n });
        }
        break;
      case 'overlay':
        v.overlay = { visible: !!msg.visible, question: msg.question || null, poll: msg.poll || null, graphic: msg.graphic || null };
        if (msg.poll) v.polls.set(msg.poll.id, { ...(v.polls.get(msg.poll.id) || {}), ...msg.poll });
        break;
      case 'session':
        if (msg.session) { v.session = { ...v.session, ...msg.session }; if (!("starts_at" in msg.session)) delete v.session.starts_at; }
        break;
      case 'stage':
        // The answer timer and the backstage message; `stageAt` is when it arrived (a running
        // timer counts down from there).
        v.stage = msg.stage || null;
        v.stageAt = Date.now();
        break;
      case 'poll': {
        // Events carry no `choice`: keep this device's own.
        const before = v.polls.get(msg.poll.id);
        const p = { ...msg.poll };
        if (before && 'choice' in before) p.choice = before.choice;
        v.polls.set(p.id, p);
        break;
      }
      case 'poll_removed':
        v.polls.delete(msg.poll);
        break;
      default:
        known = false; // ignore event types we do not know
    }
    if (typeof msg.seq === 'number') this.seq = msg.seq;
    if (known) {
      this.emit(msg.type, msg);
      this.emit('change', msg);
    }
  }

  onReply(msg, ok) {
    const ref = msg.ref;
    if (ok && msg.poll && msg.poll.id) {
      this.view.polls.set(msg.poll.id, msg.poll);
      this.emit('change', msg);
    }
    if (ref !== undefined && this.pending.has(ref)) {
      const p = this.pending.get(ref);
      this.pending.delete(ref);
      clearTimeout(p.timer);
      if (ok) p.resolve(msg); else p.reject(msg);
      return;
    }
    const idx = ref === undefined ? -1 : this.outbox.findIndex((e) => e.ref === ref);
    if (idx >= 0) return this.onOutboxReply(idx, msg, ok);
    if (!ok) this.emit('error', msg);
  }

  // ---- commands ----------------------------------------------------------
  /** Send a command now. Resolves with the ok frame, rejects with the error
   *  frame (or {code:'offline'|'disconnected'|'timeout'}). */
  send(cmd, { timeout = 15000 } = {}) {
    const ref = cmd.ref || newRef();
    const frame = { ...cmd, ref };
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject({ type: 'error', ref, code: 'offline', message: 'not connected' });
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(ref)) reject({ type: 'error', ref, code: 'timeout', message: 'no reply' });
      }, timeout);
      this.pending.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify(frame));
      this.applyOptimistic(frame);
    });
  }

  /** Local effects that the server's reply will confirm (own votes). */
  applyOptimistic(frame) {
    if (frame.type === 'vote') {
      if (frame.on) this.view.votes.add(frame.question); else this.view.votes.delete(frame.question);
    }
  }

  /** The open poll, if any (at most one is open). */
  openPoll() {
    for (const p of this.view.polls.values()) if (p.status === 'open') return p;
    return null;
  }

  /** choose with an optimistic choice and rollback. */
  choose(poll, option) {
    const p = this.view.polls.get(poll);
    const before = p ? p.choice : undefined;
    if (p) this.view.polls.set(poll, { ...p, choice: option });
    this.emit('change', { type: 'choose' });
    return this.send({ type: 'choose', poll, option }).catch((err) => {
      const now = this.view.polls.get(poll);
      if (now) this.view.polls.set(poll, { ...now, choice: before });
      this.emit('change', { type: 'choose' });
      throw err;
    });
  }

  /** vote with optimistic toggle and rollback. */
  vote(question, on) {
    const before = this.view.votes.has(question);
    const p = this.send({ type: 'vote', question, on });
    this.emit('change', { type: 'vote' });
    return p.catch((err) => {
      if (before) this.view.votes.add(question); else this.view.votes.delete(question);
      this.emit('change', { type: 'vote' });
      throw err;
    });
  }

  /** A command that needs a ref (ask, enter): stored in localStorage with its
   *  ref until ok or a final error, re-sent with the same ref after reconnect. */
  submit(cmd) {
    const ref = cmd.ref || newRef();
    const entry = { ref, cmd: { ...cmd, ref }, tries: 0, at: Date.now() };
    this.outbox.push(entry);
    this.saveOutbox();
    const p = new Promise((resolve, reject) => this.outboxWaiters.set(ref, { resolve, reject }));
    this.emit('outbox', this.outbox);
    this.emit('change', { type: 'outbox' });
    this.flushOutbox();
    return p;
  }

  saveOutbox() {
    if (this.outbox.length) store.setJson(`outbox:${this.box}`, this.outbox);
    else store.del(`outbox:${this.box}`);
  }

  flushOutbox() {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    for (const e of this.outbox) {
      if (this.sentOn.get(e.ref) === this.serial || this.retryTimers.has(e.ref)) continue;
      this.sentOn.set(e.ref, this.serial);
      this.ws.send(JSON.stringify(e.cmd));
    }
  }

  onOutboxReply(idx, msg, ok) {
    const e = this.outbox[idx];
    if (!ok && !FINAL_ERRORS.has(msg.code)) {
      // rate_limited / internal / unknown: keep it and try again later
      e.tries = (e.tries || 0) + 1;
      if (msg.code !== 'rate_limited' && e.tries >= MAX_INTERNAL_RETRIES) {
        return this.finishOutbox(idx, msg, false);
      }
      const wait = msg.code === 'rate_limited' ? Math.max(1000, Number(msg.retry_after_ms) || 5000) : 3000 * e.tries;
      this.saveOutbox();
      this.sentOn.delete(e.ref);
      this.retryTimers.set(e.ref, setTimeout(() => { this.retryTimers.delete(e.ref); this.flushOutbox(); }, wait));
      this.emit('outbox', this.outbox);
      this.emit('change', { type: 'outbox', ref: e.ref, error: msg, retrying: true, wait });
      return;
    }
    this.finishOutbox(idx, msg, ok);
  }

  finishOutbox(idx, msg, ok) {
    const e = this.outbox[idx];
    this.outbox.splice(idx, 1);
    this.saveOutbox();
    this.sentOn.delete(e.ref);
    if (ok && msg.question && msg.question.id) {
      const q = msg.question;
      const cur = this.view.questions.get(q.id);
      if (!cur || (q.rev || 0) >= (cur.rev || 0)) this.view.questions.set(q.id, cur ? { ...q, votes: cur.votes } : q);
      this.mine.add(q.id);
      store.setJson(`mine:${this.box}`, Array.from(this.mine).slice(-200));
    }
    const w = this.outboxWaiters.get(e.ref);
    this.outboxWaiters.delete(e.ref);
    if (w) { if (ok) w.resolve(msg); else w.reject(msg); }
    this.emit('outbox', this.outbox);
    this.emit('change', { type: 'outbox', ref: e.ref, ok, reply: msg, cmd: e.cmd });
  }

  /** Remove a stored command that has not been confirmed (user gave up). */
  discard(ref) {
    const idx = this.outbox.findIndex((e) => e.ref === ref);
    if (idx < 0) return;
    this.finishOutbox(idx, { type: 'error', ref, code: 'discarded', message: 'discarded' }, false);
  }

  /** Is this question the current device's own? (author view or remembered ask) */
  isMine(q) {
    return this.mine.has(q.id) || Object.prototype.hasOwnProperty.call(q, 'edited');
  }

  questions() { return Array.from(this.view.questions.values()); }

  speaker(id) {
    const s = this.view.session;
    if (!s || !id) return null;
    return (s.speakers || []).find((sp) => sp.id === id) || null;
  }
}

function emptyView() {
  return { session: null, questions: new Map(), polls: new Map(), overlay: null, you: null, votes: new Set(), presence: null };
}

const keySlot = (name) => `tanya:key:${location.pathname}:${name}`;

/** The page's key. From the fragment (#k=KEY) it is kept in this tab's sessionStorage and taken
 *  out of the address bar and history; a reload in the tab reads it from there. `query` also
 *  takes ?k=KEY, for a broadcast tool that drops fragments (the overlay page only). */
export function pageKey(name = 'k', { query = false } = {}) {
  const h = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromHash = h.get(name);
  if (fromHash) {
    if (storePageKey(fromHash, name)) {
      h.delete(name);
      const rest = h.toString();
      history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    }
    return fromHash;
  }
  const fromQuery = query ? new URLSearchParams(location.search).get(name) : null;
  if (fromQuery) return fromQuery;
  try { return sessionStorage.getItem(keySlot(name)); } catch { return null; }
}

/** Keeps a page's (new) key for this tab; false when the browser keeps nothing. */
export function storePageKey(key, name = 'k') {
  try { sessionStorage.setItem(keySlot(name), key); return sessionStorage.getItem(keySlot(name)) === key; } catch { return false; }
}
