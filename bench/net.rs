//! Sockets, clocks and small HTTP for the load tool.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A client WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// Nanoseconds on a clock shared by every process of the run: the wall clock read once at
/// process start, advanced by the monotonic clock (`Instant`, CLOCK_MONOTONIC). Inside a process
/// it never steps; across processes it agrees because Linux slews CLOCK_MONOTONIC and
/// CLOCK_REALTIME alike and only a clock step (none expected during a run) would move one
/// against the other. A trigger taken in the coordinator and a receive time taken in a worker
/// compare directly.
pub fn now_ns() -> u64 {
    static BASE: OnceLock<(Instant, u64)> = OnceLock::new();
    let (at, wall) = BASE.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        (Instant::now(), wall)
    });
    wall + at.elapsed().as_nanos() as u64
}

/// How long until instant `t_ns` of [`now_ns`]'s clock (zero when it has passed).
pub fn until(t_ns: u64) -> Duration {
    Duration::from_nanos(t_ns.saturating_sub(now_ns()))
}

/// Source-address spaces inside 127/8 (all of it is loopback), one per kind of client, so
/// thousands of clients never run out of ephemeral ports and count as different addresses.
#[derive(Debug, Clone, Copy)]
pub enum Space {
    /// Phones connected to Tanya.
    Tanya = 16,
    /// Phones connected to the floor.
    Floor = 64,
    /// With `--cluster`: phones connected to the single hub of phase A (the cluster's phones
    /// are `Tanya`).
    Single = 40,
    /// Moderator, screen, overlay, observer, askers: the coordinator's own clients.
    Staff = 100,
}

/// The source address of client `index` of a space, `per_address` clients per address.
pub fn source(space: Space, index: u64, per_address: u64) -> Ipv4Addr {
    let n = index / per_address.max(1);
    // 127.S.0.1, 127.S.0.2, ... ; S+1 after 65,535 addresses (never 127.255.255.255).
    let base = u32::from(Ipv4Addr::new(127, space as u8, 0, 0));
    Ipv4Addr::from(base + 1 + (n as u32 % 0x003f_fffe))
}

/// WebSocket settings of a phone: small buffers (thousands per process), Tanya's 16 KiB frames.
pub fn phone_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(4 * 1024 * 1024))
        .max_frame_size(Some(4 * 1024 * 1024))
}

/// WebSocket settings of the coordinator's clients (a moderator's welcome can be large).
pub fn staff_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(64 * 1024)
        .write_buffer_size(0)
}

/// Opens a WebSocket to `server` (`url` names the path) from source address `src`.
pub async fn connect(
    server: SocketAddr,
    src: Ipv4Addr,
    url: &str,
    cfg: WebSocketConfig,
) -> anyhow::Result<Ws> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(src.into(), 0))
        .with_context(|| format!("bind {src}"))?;
    let tcp = sock
        .connect(server)
        .await
        .with_context(|| format!("connect {server} from {src}"))?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(cfg))
        .await
        .with_context(|| format!("upgrade {url}"))?;
    Ok(ws)
}

/// `http://HOST:PORT[/...]` or `ws://HOST:PORT[/...]` or `HOST:PORT` to a socket address.
pub fn parse_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = hostport.replace("localhost", "127.0.0.1");
    hostport
        .parse()
        .map_err(|e| anyhow!("{url}: expected http://IP:PORT ({e})"))
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let mut tcp = TcpStream::connect(addr).await?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = bearer {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    tcp.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("bad HTTP response from {addr}{path}");
    };
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad HTTP status line from {addr}{path}"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(len.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Resident memory of a process, bytes (`VmRSS` of /proc/PID/status).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time (user + system) a process has used, milliseconds (/proc/PID/stat, 100 ticks a second).
pub fn cpu_ms(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) * 10)
}

/// The machine, for the report: cores and CPU model.
pub fn machine() -> (usize, String) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_default();
    (cores, model)
}

/// The `"id":"..."`-style string value after `key` in a raw JSON frame, without parsing it.
pub fn raw_str<'a>(frame: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let i = frame.find(&pat)? + pat.len();
    let rest = &frame[i..];
    Some(&rest[..rest.find('"')?])
}

/// CPU time of the whole machine, milliseconds, from /proc/stat: (user + nice + system + steal,
/// irq + softirq). Interrupt time is not charged to any process (the loopback traffic of the
/// run is mostly softirq time), so it is kept apart.
pub fn machine_busy_ms() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<u64> = s
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let tasks = f.first()? + f.get(1)? + f.get(2)? + f.get(7)?;
    let irq = f.get(5)? + f.get(6)?;
    Some((tasks * 10, irq * 10))
}

/// CPU time of every kernel thread (children of kthreadd, PID 2), milliseconds: the loopback
/// traffic of the run partly runs in `ksoftirqd`.
pub fn kernel_threads_ms() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = s.rfind(')') else { continue };
        let ppid = s[close + 2..].split_whitespace().nth(1);
        if pid == 2 || ppid == Some("2") {
            total += cpu_ms(pid).unwrap_or(0);
        }
    }
    total
}
