//! Shared code of the fault and abuse suites (`tests/it/faults_*.rs`): the quick and soak profiles,
//! the `FIGURES` line, a fault-injecting TCP proxy (`proxy.rs`), a raw WebSocket speaker (for
//! frames no well-behaved library sends), a phone that survives a dying hub, checks on the
//! SQLite file, and a load of phones and a moderator with the check of what the hub acknowledged
//! to them across restarts (`ledger.rs`). The client-side view of docs/protocol.md is
//! `common::ClientView`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod ledger;
pub mod proxy;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{ADMIN, Client, TestServer, http_json};

// ---------------------------------------------------------------------------------------------
// profiles and figures
// ---------------------------------------------------------------------------------------------

/// True with `TANYA_SOAK=1`: the long profile.
pub fn soak() -> bool {
    crate::common::soak_profile()
}

/// `quick` in the default profile, `soak` with `TANYA_SOAK=1`.
pub fn pick<T>(quick: T, soak_value: T) -> T {
    if soak() { soak_value } else { quick }
}

/// The profile's name.
pub fn profile() -> &'static str {
    if soak() { "soak" } else { "quick" }
}

/// Prints one `FIGURES <test> profile=.. k=v ...` line (run with `--nocapture` to see it).
pub fn figures(test: &str, pairs: &[(&str, String)]) {
    let mut line = format!("FIGURES {test} profile={}", profile());
    for (k, v) in pairs {
        line.push_str(&format!(" {k}={v}"));
    }
    println!("{line}");
}

/// A seeded, `Send` random source; the seed is printed so a failing run can be told apart.
pub fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// A fresh seed.
pub fn seed() -> u64 {
    rand::rng().random()
}

/// A random duration in `[lo, hi]`.
pub fn between(r: &mut impl Rng, lo: Duration, hi: Duration) -> Duration {
    let (a, b) = (lo.as_millis() as u64, hi.as_millis() as u64);
    Duration::from_millis(if b > a { r.random_range(a..=b) } else { a })
}

/// Percentile (0..=100) of a sorted-in-place sample, in the sample's unit.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

// ---------------------------------------------------------------------------------------------
// the store and the process
// ---------------------------------------------------------------------------------------------

async fn open_db(db: &Path) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("open the SQLite file")
}

/// `PRAGMA integrity_check` on the hub's file, through sqlx: "ok" when sound.
pub async fn integrity_check(db: &Path) -> String {
    use sqlx::Connection;
    let mut c = open_db(db).await;
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut c)
        .await
        .expect("integrity_check");
    let _ = c.close().await;
    rows.join("; ")
}

/// Journal rows that create a second question for one (session, device, ref) or one
/// (session, ref) of the operator: 0 when idempotency held in the store itself.
pub async fn db_duplicate_questions(db: &Path) -> u64 {
    use sqlx::Connection;
    let mut c = open_db(db).await;
    let n: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(n - 1), 0) FROM (
           SELECT COUNT(DISTINCT json_extract(body, '$.question.id')) AS n
           FROM events WHERE json_extract(body, '$.e') = 'put'
           GROUP BY session_id, json_extract(body, '$.question.author'),
                    json_extract(body, '$.question.ref'),
                    json_extract(body, '$.question.source') = 'operator')",
    )
    .fetch_one(&mut c)
    .await
    .expect("duplicate query");
    let _ = c.close().await;
    n as u64
}

/// Resident memory of a process, KiB (`VmRSS` in /proc/PID/status).
pub fn vm_rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time a process used so far (user + system), in clock ticks (1/100 s here).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The kernel's view of one TCP connection (from /proc/net/tcp): state and queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    /// 1 ESTABLISHED, 4 FIN_WAIT1, 7 CLOSE, 8 CLOSE_WAIT, ...
    pub state: u8,
    pub tx_queue: u64,
    pub rx_queue: u64,
}

/// The socket with local port `local` and remote port `remote` on 127.0.0.1, if it exists.
/// Asks the kernel for that one socket (netlink sock_diag, a few µs); /proc/net/tcp, which
/// lists every socket of the machine (tens of ms with many in TIME_WAIT), is the fallback.
pub fn tcp_info(local: u16, remote: u16) -> Option<TcpInfo> {
    match sock_diag(local, remote) {
        Ok(found) => found,
        Err(_) => proc_net_tcp(local, remote),
    }
}

/// Whether `tcp_info` can ask the kernel directly (else it reads /proc/net/tcp).
pub fn sock_diag_works() -> bool {
    sock_diag(1, 1).is_ok()
}

fn sock_diag(local: u16, remote: u16) -> std::io::Result<Option<TcpInfo>> {
    use std::io::{Read, Write};
    const AF_NETLINK: i32 = 16;
    const NETLINK_SOCK_DIAG: i32 = 4;
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLMSG_ERROR: u16 = 2;
    let mut sock = socket2::Socket::new(
        socket2::Domain::from(AF_NETLINK),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::from(NETLINK_SOCK_DIAG)),
    )?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut req = Vec::with_capacity(72);
    req.extend_from_slice(&72u32.to_ne_bytes()); // nlmsg_len
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req.extend_from_slice(&1u16.to_ne_bytes()); // NLM_F_REQUEST: one socket, no dump
    req.extend_from_slice(&1u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // pid
    req.extend_from_slice(&[2, 6, 0, 0]); // AF_INET, IPPROTO_TCP, no extensions, pad
    req.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    req.extend_from_slice(&local.to_be_bytes());
    req.extend_from_slice(&remote.to_be_bytes());
    for _ in 0..2 {
        req.extend_from_slice(&[127, 0, 0, 1]);
        req.extend_from_slice(&[0; 12]);
    }
    req.extend_from_slice(&0u32.to_ne_bytes()); // interface
    req.extend_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    sock.write_all(&req)?;
    let mut buf = [0u8; 8192];
    let n = sock.read(&mut buf)?;
    let b = &buf[..n];
    if b.len() < 16 {
        return Err(std::io::Error::other("short netlink answer"));
    }
    let ty = u16::from_ne_bytes([b[4], b[5]]);
    if ty == NLMSG_ERROR {
        let errno = i32::from_ne_bytes([b[16], b[17], b[18], b[19]]);
        return if errno == -2 {
            Ok(None) // ENOENT: no such socket
        } else {
            Err(std::io::Error::from_raw_os_error(-errno))
        };
    }
    if ty != SOCK_DIAG_BY_FAMILY || b.len() < 16 + 72 {
        return Err(std::io::Error::other("unexpected netlink answer"));
    }
    let m = &b[16..];
    let u32_at = |o: usize| u32::from_ne_bytes([m[o], m[o + 1], m[o + 2], m[o + 3]]) as u64;
    Ok(Some(TcpInfo {
        state: m[1],
        rx_queue: u32_at(56),
        tx_queue: u32_at(60),
    }))
}

fn proc_net_tcp(local: u16, remote: u16) -> Option<TcpInfo> {
    let text = std::fs::read_to_string("/proc/net/tcp").ok()?;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 {
            continue;
        }
        let port = |s: &str| {
            s.rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
        };
        if port(f[1]) == Some(local) && port(f[2]) == Some(remote) {
            let (tx, rx) = f[4].split_once(':')?;
            return Some(TcpInfo {
                state: u8::from_str_radix(f[3], 16).ok()?,
                tx_queue: u64::from_str_radix(tx, 16).ok()?,
                rx_queue: u64::from_str_radix(rx, 16).ok()?,
            });
        }
    }
    None
}

/// A hub whose per-device ask and vote quotas (1,000,000 a minute) never get in the way.
pub fn unlimited_hub() -> TestServer {
    TestServer::start_with(&[
        ("TANYA_ASKS_PER_MINUTE", "1000000"),
        ("TANYA_VOTES_PER_MINUTE", "1000000"),
    ])
}

/// The moderator enters `n` questions (ref `e{k}`, channel `room`, text `text(k)`) and
/// approves each, `pace` apart; returns their ids.
pub async fn enter_approved_many(
    m: &mut Client,
    n: usize,
    pace: Option<Duration>,
    text: impl Fn(usize) -> String,
) -> Vec<String> {
    let mut ids = Vec::new();
    for k in 0..n {
        let v = m
            .ok(json!({"type":"enter","ref":format!("e{k}"),"channel":"room","text":text(k)}))
            .await;
        let id = v["question"]["id"].as_str().unwrap().to_string();
        m.ok(json!({"type":"approve","question":id})).await;
        ids.push(id);
        if let Some(p) = pace {
            tokio::time::sleep(p).await;
        }
    }
    ids
}

/// What the hub told phones and a moderator `ok` under load (shared by the tasks of a test).
#[derive(Default)]
pub struct Acks {
    /// Question text (unique per device and ref) -> id from the `ok`.
    pub asks: Mutex<HashMap<String, String>>,
    /// Question id -> phones whose `vote` got `ok`.
    pub votes: Mutex<HashMap<String, HashSet<usize>>>,
    /// Questions the moderator's `approve` got `ok` for.
    pub approved: Mutex<HashSet<String>>,
    /// Approved questions: what phones vote on.
    pub pool: Mutex<Vec<String>>,
    /// Replies that should not happen (an `error` for a well-formed command).
    pub errors: Mutex<Vec<String>>,
}

impl Acks {
    /// Records the `ok` phone `i` got for `cmd` (an `ask` or a `vote`); a retried ask that got
    /// another question than before is an error.
    pub fn phone_ok(&self, i: usize, cmd: &Value, ok: &Value) {
        if cmd["type"] == "ask" {
            let text = cmd["text"].as_str().unwrap().to_string();
            let id = ok["question"]["id"].as_str().unwrap_or("").to_string();
            let mut asks = self.asks.lock().unwrap();
            if let Some(old) = asks.insert(text, id.clone())
                && old != id
            {
                self.errors.lock().unwrap().push(format!(
                    "phone {i}: a retried ask got another question: {old} then {id}"
                ));
            }
        } else {
            let q = cmd["question"].as_str().unwrap().to_string();
            self.votes.lock().unwrap().entry(q).or_default().insert(i);
        }
    }

    /// An acknowledged ask not in `done`, if any.
    pub fn next_ask(&self, done: &HashSet<String>) -> Option<String> {
        self.asks
            .lock()
            .unwrap()
            .values()
            .find(|id| !done.contains(*id))
            .cloned()
    }

    /// Records the moderator's acknowledged `approve` of `id`: phones may vote on it now.
    pub fn approve_ok(&self, id: String) {
        self.approved.lock().unwrap().insert(id.clone());
        self.pool.lock().unwrap().push(id);
    }

    /// Records a reply that should not happen.
    pub fn error(&self, e: String) {
        self.errors.lock().unwrap().push(e);
    }
}

/// Runs a blocking closure (process control of `TestServer`) off the async workers.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

// ---------------------------------------------------------------------------------------------
// WebSocket frames, by hand
// ---------------------------------------------------------------------------------------------

/// One WebSocket frame as it travelled.
#[derive(Debug, Clone)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
    /// The whole frame as read (header and payload).
    pub raw: Vec<u8>,
}

impl Frame {
    /// The close code of a close frame (None: no code or not a close).
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Encodes a frame; clients mask (`mask` Some), servers do not.
pub fn encode_frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0f));
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Reads one frame from `r` (payloads up to `max` bytes).
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, max: usize) -> std::io::Result<Frame> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h).await?;
    let mut raw = h.to_vec();
    let masked = h[1] & 0x80 != 0;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).await?;
            raw.extend_from_slice(&b);
            u16::from_be_bytes(b) as u64
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b).await?;
            raw.extend_from_slice(&b);
            u64::from_be_bytes(b)
        }
        n => n as u64,
    };
    if len > max as u64 {
        return Err(std::io::Error::other(format!("frame of {len} bytes")));
    }
    let mut key = [0u8; 4];
    if masked {
        r.read_exact(&mut key).await?;
        raw.extend_from_slice(&key);
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).await?;
    raw.extend_from_slice(&payload);
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    Ok(Frame {
        fin: h[0] & 0x80 != 0,
        opcode: h[0] & 0x0f,
        payload,
        raw,
    })
}

/// A WebSocket spoken by hand over TCP: any bytes, any frame, any header.
pub struct RawWs {
    pub stream: tokio::io::BufReader<TcpStream>,
}

/// How a raw socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code (0: without a code).
    Close(u16),
    /// The TCP connection ended (EOF or reset) without a close frame.
    Dropped,
    /// Still open after the wait.
    Open,
}

impl RawWs {
    /// Sends an upgrade request to `addr` ("host:port") with `extra` header lines (each ending
    /// in CRLF); returns the socket and the HTTP status (101 when upgraded).
    pub async fn connect(addr: &str, extra: &str) -> std::io::Result<(Self, u16)> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let mut stream = tokio::io::BufReader::new(s);
        let req = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        );
        stream.get_mut().write_all(req.as_bytes()).await?;
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = tokio::io::AsyncBufReadExt::read_until(&mut stream, b'\n', &mut line).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&line);
            if line == b"\r\n" {
                break;
            }
        }
        let text = String::from_utf8_lossy(&head);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((Self { stream }, status))
    }

    /// Sends one masked frame.
    pub async fn send(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let f = encode_frame(fin, opcode, payload, Some([0x37, 0xfa, 0x21, 0x3d]));
        self.send_bytes(&f).await
    }

    /// Sends a text frame.
    pub async fn text(&mut self, s: &str) -> std::io::Result<()> {
        self.send(true, 1, s.as_bytes()).await
    }

    /// Sends raw bytes.
    pub async fn send_bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        let s = self.stream.get_mut();
        s.write_all(b).await?;
        s.flush().await
    }

    /// The next frame within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Result<Frame, Ending> {
        match tokio::time::timeout(wait, read_frame(&mut self.stream, 1 << 24)).await {
            Err(_) => Err(Ending::Open),
            Ok(Err(_)) => Err(Ending::Dropped),
            Ok(Ok(f)) => Ok(f),
        }
    }

    /// The next text frame as JSON within `wait` (skipping presence and control frames).
    pub async fn json(&mut self, wait: Duration) -> Result<Value, Ending> {
        let end = Instant::now() + wait;
        loop {
            let f = self
                .next(end.saturating_duration_since(Instant::now()))
                .await?;
            match f.opcode {
                1 => {
                    let v: Value = serde_json::from_slice(&f.payload).unwrap_or(Value::Null);
                    if v["type"] != "presence" {
                        return Ok(v);
                    }
                }
                8 => return Err(Ending::Close(f.close_code().unwrap_or(0))),
                _ => {}
            }
        }
    }

    /// Reads until the socket ends (or `wait` passes); text frames are skipped.
    pub async fn ending(&mut self, wait: Duration) -> Ending {
        let end = Instant::now() + wait;
        loop {
            match self
                .next(end.saturating_duration_since(Instant::now()))
                .await
            {
                Ok(f) if f.opcode == 8 => return Ending::Close(f.close_code().unwrap_or(0)),
                Ok(_) => continue,
                Err(e) => return e,
            }
        }
    }
}

/// A WebSocket to `addr` from the loopback source address `src` (127.x.y.z: every one is
/// loopback, so thousands of sockets do not run out of ephemeral ports).
pub async fn ws_from(
    addr: &str,
    src: std::net::Ipv4Addr,
) -> Result<WebSocketStream<TcpStream>, String> {
    let sock = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    sock.bind((src, 0).into()).map_err(|e| e.to_string())?;
    let to: std::net::SocketAddr = addr.parse().map_err(|e| format!("{e}"))?;
    let tcp = sock.connect(to).await.map_err(|e| e.to_string())?;
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// The `i`-th spread loopback source address (127.0.1.1 and up).
pub fn loopback(i: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8)
}

// ---------------------------------------------------------------------------------------------
// a phone that survives a dying hub
// ---------------------------------------------------------------------------------------------

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// No reply within the wait; the socket looks open.
    Timeout,
    /// The socket ended (close code, 0 without one).
    Closed(u16),
}

/// Opens a socket and says hello; the welcome, or why not.
pub async fn hello(url: &str, hello: &Value, wait: Duration) -> Result<(Ws, Value), Lost> {
    let (mut ws, _) = match tokio::time::timeout(wait, tokio_tungstenite::connect_async(url)).await
    {
        Ok(Ok(x)) => x,
        Ok(Err(_)) => return Err(Lost::Closed(0)),
        Err(_) => return Err(Lost::Timeout),
    };
    if ws.send(Message::text(hello.to_string())).await.is_err() {
        return Err(Lost::Closed(0));
    }
    let w = recv(&mut ws, wait).await?;
    if w["type"] != "welcome" {
        return Err(Lost::Closed(0));
    }
    Ok((ws, w))
}

/// The next JSON text frame (presence skipped) within `wait`.
pub async fn recv(ws: &mut Ws, wait: Duration) -> Result<Value, Lost> {
    let end = Instant::now() + wait;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return Err(Lost::Timeout),
            Ok(None) | Ok(Some(Err(_))) => return Err(Lost::Closed(0)),
            Ok(Some(Ok(Message::Close(c)))) => {
                return Err(Lost::Closed(c.map(|f| u16::from(f.code)).unwrap_or(0)));
            }
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                if v["type"] != "presence" {
                    return Ok(v);
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// A phone's socket (with `device`, its token, when it has one) and its welcome, within 10 s.
pub async fn join_phone(url: &str, code: &str, device: Option<&str>) -> Result<(Ws, Value), Lost> {
    hello(
        url,
        &audience_hello(code, device, None),
        Duration::from_secs(10),
    )
    .await
}

/// Keeps the device token of a welcome in `device`; false when a token was kept before and the
/// welcome's is another one.
pub fn keep_device(device: &mut Option<String>, welcome: &Value) -> bool {
    let d = welcome["you"]["device"].as_str().unwrap_or("").to_string();
    let same = device.as_ref().is_none_or(|old| *old == d);
    *device = Some(d);
    same
}

/// Sends `cmd` and waits for the reply with its `ref`; other frames are dropped.
pub async fn reply(ws: &mut Ws, cmd: &Value, wait: Duration) -> Result<Value, Lost> {
    call(ws, cmd, wait, &mut |_| {}).await
}

/// Sends `cmd` and waits for the reply with its `ref`; other frames go to `seen`.
pub async fn call(
    ws: &mut Ws,
    cmd: &Value,
    wait: Duration,
    seen: &mut (dyn FnMut(&Value) + Send),
) -> Result<Value, Lost> {
    let r = cmd["ref"].clone();
    if ws.send(Message::text(cmd.to_string())).await.is_err() {
        return Err(Lost::Closed(0));
    }
    let end = Instant::now() + wait;
    loop {
        let v = recv(ws, end.saturating_duration_since(Instant::now())).await?;
        if (v["type"] == "ok" || v["type"] == "error") && v["ref"] == r {
            return Ok(v);
        }
        seen(&v);
    }
}

/// A hello of the audience role with an optional device and resume position.
pub fn audience_hello(code: &str, device: Option<&str>, since: Option<(&str, u64)>) -> Value {
    let mut h = json!({"type":"hello","role":"audience","session":code});
    if let Some(d) = device {
        h["device"] = json!(d);
    }
    if let Some((epoch, seq)) = since {
        h["since"] = json!({"epoch": epoch, "seq": seq});
    }
    h
}

/// The moderator's welcome on a fresh socket, retried until the hub answers (`wait` at most).
pub async fn moderator_welcome(url: &str, id: &str, key: &str, wait: Duration) -> Value {
    let h = json!({"type":"hello","role":"moderator","session":id,"key":key});
    let end = Instant::now() + wait;
    loop {
        match hello(url, &h, Duration::from_secs(10)).await {
            Ok((mut ws, w)) => {
                let _ = ws.close(None).await;
                return w;
            }
            Err(e) => {
                assert!(Instant::now() < end, "no moderator welcome: {e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Question id -> question of a welcome.
pub fn by_id(welcome: &Value) -> HashMap<String, Value> {
    welcome["questions"]
        .as_array()
        .map(|qs| {
            qs.iter()
                .map(|q| (q["id"].as_str().unwrap_or("").to_string(), q.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Every question of a session in the moderator's view, from the JSON export (admin token):
/// unlike a welcome, not bounded by the socket's write buffer.
pub async fn export_questions(server: &TestServer, session_id: &str) -> HashMap<String, Value> {
    let url = server.http(&format!("/api/sessions/{session_id}/export"));
    let (st, body) = http_json("GET", &url, Some(ADMIN), None).await;
    assert_eq!(st, 200, "export: {body}");
    by_id(&body)
}

/// The store of a test hub is sound: "ok", else what is wrong. SQLite: `PRAGMA
/// integrity_check` on its file; PostgreSQL: every session's journal numbered from 0 without a
/// gap.
pub async fn store_check(server: &crate::common::TestServer) -> String {
    if !crate::common::on_postgres() {
        return integrity_check(&server.db_path()).await;
    }
    let bad = crate::common::db_text(
        server,
        "SELECT string_agg(session_id, ', ') FROM (SELECT session_id FROM events \
         GROUP BY session_id HAVING MIN(seq) <> 0 OR MAX(seq) + 1 <> COUNT(*)) t",
        &[],
    )
    .await;
    bad.map_or("ok".into(), |s| format!("journals with gaps: {s}"))
}

/// [`db_duplicate_questions`] in a test hub's store, SQLite or PostgreSQL.
pub async fn store_duplicate_questions(server: &crate::common::TestServer) -> u64 {
    if !crate::common::on_postgres() {
        return db_duplicate_questions(&server.db_path()).await;
    }
    let n = crate::common::db_text(
        server,
        "SELECT CAST(COALESCE(SUM(n - 1), 0) AS TEXT) FROM (
           SELECT COUNT(DISTINCT body::jsonb #>> '{question,id}') AS n
           FROM events WHERE body::jsonb ->> 'e' = 'put'
           GROUP BY session_id, body::jsonb #>> '{question,author}',
                    body::jsonb #>> '{question,ref}',
                    (body::jsonb #>> '{question,source}') = 'operator') t",
        &[],
    )
    .await;
    n.and_then(|n| n.parse().ok()).expect("a count")
}
