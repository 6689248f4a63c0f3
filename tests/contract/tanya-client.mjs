// A small third-party client for a Tanya hub, written only from the wire contract
// (docs/protocol.md, "Tanya wire and operating contract (v1)"). It knows nothing of the hub's source.
//
//   const c = new TanyaClient({ url: 'ws://127.0.0.1:8080/ws', role: 'audience', session: 'K7M2QX' });
//   const welcome = await c.connect();            // hello -> welcome, local view filled
//   const reply = await c.send('ask', { text: 'Kapan jalan diperbaiki?' });  // ref-matched ok/error
//   await c.waitFor((c) => c.questions.size > 0); // the view is kept current by events
//   c.drop(); await c.connect();                  // resumes with `since` from the last applied frame
//
// The local view: `session`, `questions` (Map id -> question), `overlay`, `stage`, `you`, and the resume
// position `epoch`/`seq`. Events are applied as the contract says: `question` upserts by id,
// `removed` deletes, `votes` sets counts, `overlay`, `stage` and `session` replace. Unknown types and
// fields are ignored. Anything that breaks the contract's ordering (an event whose seq does not
// increase, a resumed welcome whose seq is not since.seq, a reply to no pending ref) is recorded
// in `anomalies` rather than thrown, so a test can assert on it.

import { EventEmitter } from 'node:events';
import WebSocket from 'ws';

const EVENT_TYPES = new Set(['question', 'removed', 'votes', 'overlay', 'session', 'stage']);

export class TanyaError extends Error {
  constructor(reply) {
    super(`${reply.code}: ${reply.message}`);
    this.reply = reply;
    this.code = reply.code;
  }
}

export class TanyaClient extends EventEmitter {
  /**
   * @param {object} o
   * @param {string} o.url      ws://host:port/ws
   * @param {string} o.role     audience | press | moderator | screen | overlay
   * @param {string} o.session  join code or session id
   * @param {string} [o.key]    the role's secret (press, moderator, screen, overlay)
   * @param {string} [o.device] a device token from an earlier welcome (audience, press)
   * @param {string} [o.name]   a label for messages and refs
   */
  constructor({ url, role, session, key, device, name }) {
    super();
    this.url = url;
    this.role = role;
    this.sessionRef = session;
    this.key = key;
    this.device = device;
    this.name = name ?? role;

    this.ws = null;
    this.epoch = null;
    this.seq = null;
    this.session = null;
    this.questions = new Map();
    this.overlay = undefined;
    this.stage = undefined;
    this.you = undefined;
    this.presence = null;

    this.welcome = null;         // the last welcome frame
    this.frames = [];            // every frame received on the current connection
    this.eventsSinceWelcome = []; // the seq-carrying events applied since the last welcome
    this.anomalies = [];
    this.closeInfo = null;       // {code, reason} of the last close
    this.closed = null;          // a promise of closeInfo for the current connection

    this._pending = new Map();   // ref -> {resolve, reject, cmd}
    this._refCounter = 0;
    this._waiters = new Set();
  }

  /** The resume position, from the last frame applied, or undefined before any welcome. */
  position() {
    return this.epoch == null ? undefined : { epoch: this.epoch, seq: this.seq };
  }

  /**
   * Opens a socket and sends hello. Resolves with the welcome; rejects if the socket closes
   * first (with the close code in `err.closeCode`).
   * @param {object} [o]
   * @param {{epoch:string, seq:number}|null} [o.since] default: this.position()
   * @param {number} [o.timeout]
   */
  connect({ since = this.position(), timeout = 10_000 } = {}) {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      throw new Error(`${this.name}: already connected`);
    }
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.frames = [];
    this.closeInfo = null;
    let resolveClosed;
    this.closed = new Promise((r) => { resolveClosed = r; });
    this._sentSince = since ?? null;

    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (!settled) { settled = true; reject(new Error(`${this.name}: no welcome within ${timeout} ms`)); }
      }, timeout);

      ws.on('open', () => {
        const hello = { type: 'hello', role: this.role, session: this.sessionRef };
        if (this.key != null) hello.key = this.key;
        if (this.device != null) hello.device = this.device;
        if (since) hello.since = since;
        ws.send(JSON.stringify(hello));
      });
      ws.on('message', (data, isBinary) => {
        if (ws !== this.ws) return;
        let frame;
        try {
          frame = JSON.parse(isBinary ? Buffer.from(data).toString('utf8') : data.toString('utf8'));
        } catch (e) {
          this.anomalies.push(`${this.name}: a frame that is not JSON: ${String(data).slice(0, 200)}`);
          return;
        }
        this._onFrame(frame);
        if (frame.type === 'welcome' && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve(frame);
        }
      });
      ws.on('error', (err) => {
        this.emit('socket-error', err);
        if (!settled) { settled = true; clearTimeout(timer); reject(err); }
      });
      ws.on('close', (code, reason) => {
        const info = { code, reason: reason.toString('utf8') };
        if (ws === this.ws) {
          this.closeInfo = info;
          for (const [ref, p] of this._pending) {
            const err = new Error(`${this.name}: socket closed (${code}) before the reply to ${ref}`);
            err.closeCode = code;
            p.reject(err);
          }
          this._pending.clear();
          this.emit('close', info);
          this._check();
        }
        resolveClosed(info);
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          const err = new Error(`${this.name}: socket closed (${code} ${info.reason}) before welcome`);
          err.closeCode = code;
          reject(err);
        }
      });
    });
  }

  _onFrame(frame) {
    this.frames.push(frame);
    switch (frame.type) {
      case 'welcome': this._applyWelcome(frame); break;
      case 'ok':
      case 'error': this._onReply(frame); break;
      case 'presence': this.presence = frame.counts; break;
      default:
        if (EVENT_TYPES.has(frame.type)) this._applyEvent(frame);
        // other types: ignored, as the contract asks.
    }
    this.emit('frame', frame);
    this._check();
  }

  _applyWelcome(w) {
    this.welcome = w;
    if (w.resumed === true) {
      const since = this._sentSince;
      if (!since || since.epoch !== w.epoch) {
        this.anomalies.push(`${this.name}: resumed welcome without a matching since (${JSON.stringify(since)} vs epoch ${w.epoch})`);
      } else if (w.seq !== since.seq) {
        this.anomalies.push(`${this.name}: resumed welcome seq ${w.seq} != since.seq ${since.seq}`);
      }
      if ('questions' in w && w.questions != null) {
        this.anomalies.push(`${this.name}: resumed welcome carries questions`);
      }
      // keep this.questions: the missed events follow.
    } else {
      this.questions = new Map();
      for (const q of w.questions ?? []) this.questions.set(q.id, q);
    }
    this.epoch = w.epoch;
    this.seq = w.seq;
    this.session = w.session;
    if ('overlay' in w) this.overlay = w.overlay;
    if ('stage' in w) this.stage = w.stage;
    if ('you' in w) {
      this.you = w.you;
      if (w.you && w.you.device) this.device = w.you.device;
    }
    this.eventsSinceWelcome = [];
  }

  _applyEvent(e) {
    if (typeof e.seq !== 'number') {
      this.anomalies.push(`${this.name}: ${e.type} event without a numeric seq`);
      return;
    }
    if (this.seq != null && e.seq <= this.seq) {
      this.anomalies.push(`${this.name}: ${e.type} event seq ${e.seq} not after ${this.seq} (duplicate or out of order)`);
      return;
    }
    switch (e.type) {
      case 'question': this.questions.set(e.question.id, e.question); break;
      case 'removed': this.questions.delete(e.id); break;
      case 'votes':
        for (const [id, n] of Object.entries(e.counts ?? {})) {
          const q = this.questions.get(id);
          if (q) this.questions.set(id, { ...q, votes: n });
        }
        break;
      case 'overlay': {
        // The overlay view is the event without its `type` and `seq`.
        const { type: _type, seq: _seq, ...view } = e;
        this.overlay = view;
        break;
      }
      case 'stage': this.stage = e.stage; break;
      case 'session': this.session = e.session; break;
    }
    this.seq = e.seq;
    this.eventsSinceWelcome.push(e);
    this.emit('event', e);
  }

  _onReply(r) {
    const p = r.ref != null ? this._pending.get(r.ref) : undefined;
    if (!p) {
      this.emit('unmatched-reply', r);
      if (r.ref != null) this.anomalies.push(`${this.name}: a reply to no pending ref: ${JSON.stringify(r)}`);
      return;
    }
    this._pending.delete(r.ref);
    if (r.type === 'ok' && p.cmd.type === 'vote' && this.you && Array.isArray(this.you.votes)) {
      // The only way this device's own votes change: its vote commands.
      const votes = new Set(this.you.votes);
      if (p.cmd.on) votes.add(p.cmd.question); else votes.delete(p.cmd.question);
      this.you = { ...this.you, votes: [...votes] };
    }
    p.resolve(r);
  }

  /** A ref unique to this client object. */
  nextRef() {
    this._refCounter += 1;
    return `${this.name}-${this._refCounter}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /**
   * Sends a command and resolves with its reply, `ok` or `error` (matched by `ref`).
   * A `ref` is added when the fields have none.
   */
  request(type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error(`${this.name}: not connected`));
    }
    const cmd = { type, ...fields };
    if (cmd.ref == null) cmd.ref = this.nextRef();
    return new Promise((resolve, reject) => {
      this._pending.set(cmd.ref, { resolve, reject, cmd });
      this.ws.send(JSON.stringify(cmd));
    });
  }

  /** Like request, but rejects with a TanyaError when the reply is an `error`. */
  async send(type, fields = {}) {
    const r = await this.request(type, fields);
    if (r.type === 'error') throw new TanyaError(r);
    return r;
  }

  /** Resolves when pred(this) is true, checked now and after every frame. */
  waitFor(pred, { timeout = 5000, what = 'condition' } = {}) {
    if (pred(this)) return Promise.resolve(this);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (v) => { clearTimeout(w.timer); this._waiters.delete(w); resolve(v); },
      };
      w.timer = setTimeout(() => {
        this._waiters.delete(w);
        reject(new Error(`${this.name}: timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
      this._waiters.add(w);
    });
  }

  /** Resolves with the first frame (from now on) for which pred(frame) is true. */
  nextFrame(pred, { timeout = 5000, what = 'frame' } = {}) {
    return new Promise((resolve, reject) => {
      const on = (f) => {
        if (pred(f)) { clearTimeout(timer); this.off('frame', on); resolve(f); }
      };
      const timer = setTimeout(() => {
        this.off('frame', on);
        reject(new Error(`${this.name}: timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
      this.on('frame', on);
    });
  }

  _check() {
    for (const w of [...this._waiters]) {
      try {
        if (w.pred(this)) w.resolve(this);
      } catch { /* a predicate may look at what is not there yet */ }
    }
  }

  /** Closes the socket from this side (the view and resume position are kept). */
  drop() {
    if (!this.ws) return Promise.resolve(this.closeInfo);
    const closed = this.closed;
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'bye');
    return closed;
  }

  /** Kills the socket without a close handshake. */
  terminate() {
    if (this.ws) this.ws.terminate();
    return this.closed;
  }

  get connected() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** The role's view, normalized for comparison: questions sorted by id, votes sorted. */
  view() {
    const v = { session: this.session };
    if (this.role !== 'overlay') {
      v.questions = [...this.questions.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    if (['moderator', 'screen', 'overlay'].includes(this.role)) v.overlay = this.overlay;
    if (['audience', 'press'].includes(this.role)) {
      v.you = this.you && { ...this.you, votes: [...(this.you.votes ?? [])].sort() };
    }
    return v;
  }

  /** Questions in queue order (approved, ascending position). */
  queue() {
    return [...this.questions.values()]
      .filter((q) => q.status === 'approved')
      .sort((a, b) => a.position - b.position);
  }
}

/** Reads CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into rows of strings. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let i = 0;
  let quoted = false;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}
