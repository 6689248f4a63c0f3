//! A small fault-injecting TCP proxy for WebSocket traffic: it forwards client bytes as they
//! are, parses the server's frames (unmasked) and drops a share of the `ok` replies, and cuts
//! connections at random moments (FIN or RST) or all at once.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Counters and knobs shared with the connection tasks.
#[derive(Debug)]
pub struct Ctl {
    target: String,
    /// Share of `ok` replies dropped, per mille.
    drop_ok_permille: AtomicU32,
    /// Connection lifetime range in ms (None: connections live until an end closes them).
    life_ms: Mutex<Option<(u64, u64)>>,
    cut_all: watch::Sender<u64>,
    pub accepted: AtomicU64,
    pub oks_dropped: AtomicU64,
    pub oks_passed: AtomicU64,
    pub cuts: AtomicU64,
    pub frames: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    /// "127.0.0.1:PORT" to connect to instead of the hub.
    pub addr: String,
    pub ctl: Arc<Ctl>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_all();
    }
}

impl Proxy {
    /// Listens on a fresh loopback port, forwarding to `target` ("host:port").
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let ctl = Arc::new(Ctl {
            target: target.to_string(),
            drop_ok_permille: AtomicU32::new(0),
            life_ms: Mutex::new(None),
            cut_all: watch::channel(0).0,
            accepted: AtomicU64::new(0),
            oks_dropped: AtomicU64::new(0),
            oks_passed: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            frames: AtomicU64::new(0),
        });
        let c = ctl.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                c.accepted.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(handle(client, c.clone()));
            }
        });
        Self { addr, ctl, task }
    }

    /// The WebSocket URL through the proxy.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Drops this share (0.0-1.0) of the server's `ok` replies.
    pub fn set_drop_ok(&self, share: f64) {
        self.ctl
            .drop_ok_permille
            .store((share * 1000.0).round() as u32, Ordering::Relaxed);
    }

    /// Cuts every new connection after a random time in `[lo, hi]`; None: never.
    pub fn set_life(&self, range: Option<(Duration, Duration)>) {
        *self.ctl.life_ms.lock().expect("lock") =
            range.map(|(a, b)| (a.as_millis() as u64, b.as_millis() as u64));
    }

    /// Cuts every open connection now.
    pub fn cut_all(&self) {
        self.ctl.cut_all.send_modify(|g| *g += 1);
    }

    /// (oks dropped, oks passed, cuts, connections accepted).
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        let c = &self.ctl;
        (
            c.oks_dropped.load(Ordering::Relaxed),
            c.oks_passed.load(Ordering::Relaxed),
            c.cuts.load(Ordering::Relaxed),
            c.accepted.load(Ordering::Relaxed),
        )
    }
}

async fn handle(client: TcpStream, ctl: Arc<Ctl>) {
    let server =
        match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&ctl.target)).await {
            Ok(Ok(s)) => s,
            _ => return, // the hub is down: the client sees its connection end
        };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (life, rst) = {
        let mut r = rand::rng();
        let life = (*ctl.life_ms.lock().expect("lock"))
            .map(|(a, b)| Duration::from_millis(if b > a { r.random_range(a..=b) } else { a }));
        (life, r.random_bool(0.5))
    };
    let mut cut = ctl.cut_all.subscribe();
    let (mut cr, mut cw) = client.into_split();
    let (sr, mut sw) = server.into_split();
    let mut sr = BufReader::with_capacity(64 * 1024, sr);
    let cutted = {
        let up = async {
            let _ = tokio::io::copy(&mut cr, &mut sw).await;
            let _ = sw.shutdown().await;
        };
        let down = async {
            let _ = pump_down(&mut sr, &mut cw, &ctl).await;
            let _ = cw.shutdown().await;
        };
        let timer = async {
            match life {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = async { tokio::join!(up, down) } => false,
            _ = timer => true,
            _ = cut.changed() => true,
        }
    };
    if cutted {
        ctl.cuts.fetch_add(1, Ordering::Relaxed);
        if rst {
            // A reset, as when a phone's radio drops: SO_LINGER 0, then close.
            let _ = socket2::SockRef::from(cw.as_ref()).set_linger(Some(Duration::ZERO));
            let _ = socket2::SockRef::from(sw.as_ref()).set_linger(Some(Duration::ZERO));
        }
    }
}

/// Forwards the HTTP response head, then frame by frame, dropping some `ok` replies.
async fn pump_down(
    sr: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    cw: &mut tokio::net::tcp::OwnedWriteHalf,
    ctl: &Ctl,
) -> std::io::Result<()> {
    loop {
        let mut line = Vec::new();
        if sr.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        cw.write_all(&line).await?;
        if line == b"\r\n" {
            break;
        }
    }
    loop {
        let f = super::read_frame(sr, 1 << 26).await?;
        ctl.frames.fetch_add(1, Ordering::Relaxed);
        if f.opcode == 1 && f.fin && is_ok(&f.payload) {
            let p = ctl.drop_ok_permille.load(Ordering::Relaxed);
            if p > 0 && rand::rng().random_range(0..1000) < p {
                ctl.oks_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            ctl.oks_passed.fetch_add(1, Ordering::Relaxed);
        }
        cw.write_all(&f.raw).await?;
    }
}

fn is_ok(payload: &[u8]) -> bool {
    payload.windows(4).any(|w| w == b"\"ok\"")
        && serde_json::from_slice::<serde_json::Value>(payload).is_ok_and(|v| v["type"] == "ok")
}
