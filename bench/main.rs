//! `tanya-bench`: a load tool that speaks the wire contract (docs/protocol.md) as real clients do.
//!
//! The coordinator (this process) starts or reaches a hub and the floor (`tanya-floor`), creates
//! a session, and holds the staff clients itself: moderator, screen, overlay, one observer
//! phone, short-lived askers, and the floor's control socket. The N phones live in worker
//! processes (`--worker`, this same binary), at most `--per-process` phones per server in each,
//! because one process may hold at most 20,000 open files here. Workers take commands as JSON
//! lines on stdin and answer on stdout (`bench/wire.rs`).
//!
//! Times are nanoseconds of one clock shared by every process of the run (`net::now_ns`: the
//! wall clock at process start plus CLOCK_MONOTONIC), read in whichever process saw the event.
//!
//! Scenarios, in this order:
//! - held: N phones connected to Tanya (and N to the floor), each from its own 127.x.y.z
//!   address; server RSS before and after, per idle phone;
//! - broadcast: R rounds; each round a moderator `approve` (Tanya) and a control frame of the
//!   same size (floor), in alternating order; per round the time from the trigger to the last
//!   phone holding the frame, and every phone's own latency; moderator, screen and overlay
//!   latencies during Tanya's rounds (an `overlay` command follows each `approve`);
//! - votes: bursts (every phone votes at once for a fresh question) and one paced run (votes
//!   spread at `--vote-rate`); acknowledgements per second, vote → `votes` tally at the
//!   observer phone;
//! - asks: every phone asks at once; acknowledgements (`ok` after commit) per second and ask →
//!   the moderator sees it.
//!
//! A human summary goes to stdout, then one JSON line with every figure. Progress goes to stderr.

mod net;
mod staff;
mod stats;
mod wire;
mod worker;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use net::now_ns;
use staff::Staff;
use stats::{Lat, ms, per_second, round};
use wire::{ConnectPlan, FromWorker, Target, Task, ToWorker};

/// Load tool for Tanya: phones, moderator, screen and overlay over real WebSockets.
#[derive(Parser, Debug, Clone)]
#[command(name = "tanya-bench", version, about)]
struct Args {
    /// Phones (audience sockets) to connect [default: 1000; 300 with --smoke].
    #[arg(long)]
    phones: Option<usize>,
    /// A running hub (`http://IP:PORT`); needs --admin-token. Default: spawn one (--spawn).
    #[arg(long)]
    server: Option<String>,
    /// The admin token of --server.
    #[arg(long, env = "TANYA_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// PID of --server, for its memory and CPU figures.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The `tanya` binary to start on a temporary database with raised quotas
    /// [default: `tanya` next to this binary].
    #[arg(long)]
    spawn: Option<PathBuf>,
    /// Per-device ask and vote quotas (per minute) of the spawned hub.
    #[arg(long, default_value_t = 1_000_000)]
    quota: u32,
    /// The `tanya-floor` binary to start [default: `tanya-floor` next to this binary].
    #[arg(long)]
    floor: Option<PathBuf>,
    /// A running floor (`ws://IP:PORT`) instead of starting one.
    #[arg(long)]
    floor_url: Option<String>,
    /// PID of --floor-url, for its memory and CPU figures.
    #[arg(long)]
    floor_pid: Option<u32>,
    /// Skip the floor.
    #[arg(long)]
    no_floor: bool,
    /// Broadcast rounds measured (after one warm-up round) [default: 20; 3 with --smoke].
    #[arg(long)]
    rounds: Option<usize>,
    /// Scenarios after connecting: any of broadcast, votes, asks.
    #[arg(long, value_delimiter = ',', default_value = "broadcast,votes,asks")]
    scenarios: Vec<String>,
    /// Vote bursts (every phone votes at once, each burst on a fresh question).
    #[arg(long, default_value_t = 2)]
    vote_bursts: usize,
    /// Aggregate rate of the paced vote run, votes per second (0: no paced run).
    #[arg(long, default_value_t = 20_000.0)]
    vote_rate: f64,
    /// Ask bursts (every phone asks once at the same moment).
    #[arg(long, default_value_t = 1)]
    ask_bursts: usize,
    /// Phones per server per worker process (a worker holds this many for Tanya and as many
    /// for the floor; keep 2x under the 20,000 open-file limit).
    #[arg(long, default_value_t = 9_000)]
    per_process: usize,
    /// Worker processes [default: enough for --per-process; at least 2 from 1,000 phones].
    #[arg(long)]
    workers: Option<usize>,
    /// Runtime threads per worker process.
    #[arg(long, default_value_t = 1)]
    worker_threads: usize,
    /// Phones sharing one source address (a venue's Wi-Fi NAT); 1: every phone its own.
    #[arg(long, default_value_t = 1)]
    per_address: u64,
    /// Connections being opened at once, over all workers (Tanya's listen backlog is 128:
    /// more at once overflow it and wait for a SYN retransmission, 1 s).
    #[arg(long, default_value_t = 96)]
    connect_concurrency: usize,
    /// Quiet time before each trigger, milliseconds [default: 300; 100 with --smoke].
    #[arg(long)]
    settle_ms: Option<u64>,
    /// A small, quick run (300 phones, 3 rounds, 2 workers) that exits non-zero when anything
    /// fails: a phone misses a broadcast, a command gets an error, a socket closes.
    #[arg(long)]
    smoke: bool,
    /// Internal: run as a worker process.
    #[arg(long, hide = true)]
    worker: bool,
    /// Internal: this worker's number.
    #[arg(long, hide = true, default_value_t = 0)]
    worker_id: u32,
}

fn main() -> anyhow::Result<()> {
    // Fix this process's clock base first (see `net::now_ns`).
    let _ = now_ns();
    let args = Args::parse();
    if args.worker {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.worker_threads.max(1))
            .enable_all()
            .build()?;
        return rt.block_on(worker::run(args.worker_id));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = rt.block_on(coordinator(args));
    drop(rt);
    match code {
        Ok(0) => Ok(()),
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("tanya-bench: {e:#}");
            std::process::exit(2);
        }
    }
}

/// A child process (hub or floor) that is killed, and its folder removed, on drop.
struct Proc {
    child: std::process::Child,
    dir: Option<PathBuf>,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    /// SIGTERM (a graceful stop: profilers such as valgrind write their output), SIGKILL after 10 s.
    fn drop(&mut self) {
        let term = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        if term.is_ok_and(|s| s.success()) {
            for _ in 0..200 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Starts `path` and waits for `listening on ADDR` on its stderr (other lines are forwarded).
fn start(
    name: &'static str,
    path: &Path,
    args: &[&str],
    env: &[(&str, String)],
    dir: Option<PathBuf>,
) -> anyhow::Result<(Proc, String)> {
    let path = path
        .canonicalize()
        .with_context(|| format!("{name}: {}", path.display()))?;
    let mut cmd = std::process::Command::new(&path);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(d) = &dir {
        cmd.current_dir(d);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("start {}", path.display()))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow!("{name}: no stderr"))?;
    let proc = Proc { child, dir };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            match line.split_once("listening on ") {
                Some((_, addr)) => {
                    let _ = tx.send(addr.trim().to_string());
                }
                None => eprintln!("[{name}] {line}"),
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| anyhow!("{name} did not print `listening on` within 60 s"))?;
    Ok((proc, addr))
}

/// A binary next to this one.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let p = me
        .parent()
        .ok_or_else(|| anyhow!("no folder for {}", me.display()))?
        .join(name);
    if !p.exists() {
        bail!(
            "{} not found: build it (cargo build --release) or pass its path",
            p.display()
        );
    }
    Ok(p)
}

/// The worker processes.
struct Workers {
    kids: Vec<tokio::process::Child>,
    stdins: Vec<tokio::process::ChildStdin>,
    rx: mpsc::UnboundedReceiver<(usize, FromWorker)>,
    /// Global number of each worker's first phone, and its phone count.
    first: Vec<u64>,
    count: Vec<usize>,
}

impl Workers {
    fn spawn(n_phones: usize, n_workers: usize, threads: usize) -> anyhow::Result<Self> {
        let me = std::env::current_exe()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (mut kids, mut stdins, mut first, mut count) = (vec![], vec![], vec![], vec![]);
        let mut next = 0u64;
        for w in 0..n_workers {
            let n = n_phones / n_workers + usize::from(w < n_phones % n_workers);
            let mut child = tokio::process::Command::new(&me)
                .arg("--worker")
                .arg("--worker-id")
                .arg(w.to_string())
                .arg("--worker-threads")
                .arg(threads.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()?;
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| anyhow!("worker stdout"))?;
            stdins.push(child.stdin.take().ok_or_else(|| anyhow!("worker stdin"))?);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    match serde_json::from_str::<FromWorker>(&l) {
                        Ok(ev) => {
                            let _ = tx.send((w, ev));
                        }
                        Err(e) => eprintln!("worker {w}: bad line ({e}): {l}"),
                    }
                }
                let _ = tx.send((
                    w,
                    FromWorker::Fatal {
                        message: "worker exited".into(),
                    },
                ));
            });
            kids.push(child);
            first.push(next);
            count.push(n);
            next += n as u64;
        }
        Ok(Self {
            kids,
            stdins,
            rx,
            first,
            count,
        })
    }

    fn len(&self) -> usize {
        self.kids.len()
    }

    async fn send(&mut self, w: usize, cmd: &ToWorker) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(cmd)?;
        line.push('\n');
        let s = self
            .stdins
            .get_mut(w)
            .ok_or_else(|| anyhow!("no worker {w}"))?;
        s.write_all(line.as_bytes()).await?;
        s.flush().await?;
        Ok(())
    }

    /// One answer per worker, picked by `pick`; other reports are dropped.
    async fn gather<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pick: impl FnMut(usize, FromWorker) -> Option<T>,
    ) -> anyhow::Result<Vec<T>> {
        let mut got: Vec<Option<T>> = (0..self.len()).map(|_| None).collect();
        let deadline = tokio::time::Instant::now() + timeout;
        while got.iter().any(Option::is_none) {
            let (w, ev) = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .map_err(|_| anyhow!("workers: no {what} within {timeout:?}"))?
                .ok_or_else(|| anyhow!("workers gone"))?;
            if let FromWorker::Fatal { message } = &ev {
                bail!("worker {w}: {message}");
            }
            if let Some(t) = pick(w, ev)
                && let Some(slot) = got.get_mut(w)
            {
                *slot = Some(t);
            }
        }
        Ok(got.into_iter().flatten().collect())
    }

    async fn quit(&mut self) {
        for w in 0..self.len() {
            let _ = self.send(w, &ToWorker::Quit).await;
        }
        for k in &mut self.kids {
            let _ = tokio::time::timeout(Duration::from_secs(3), k.wait()).await;
        }
    }
}

/// What one task returned, all workers concatenated in global phone order.
struct Outcome {
    sent: Vec<u64>,
    got: Vec<u64>,
    errors: BTreeMap<String, usize>,
    samples: Vec<String>,
}

impl Outcome {
    fn missing(&self) -> usize {
        self.got.iter().filter(|t| **t == 0).count()
    }
    fn answered(&self) -> usize {
        self.got.iter().filter(|t| **t > 0).count()
    }
    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

/// The run: the servers, the session, the clients and what was measured.
struct Bench {
    args: Args,
    phones: usize,
    settle: Duration,
    hub: SocketAddr,
    hub_pid: Option<u32>,
    url: String,
    code: String,
    moderator: Staff,
    screen: Staff,
    overlay: Staff,
    observer: Staff,
    floor: Option<(SocketAddr, String, Staff)>,
    floor_pid: Option<u32>,
    workers: Workers,
    next_job: u64,
    next_staff: u64,
    /// A question kept live so `overlay` can be toggled, and the overlay's current state.
    live: Option<bool>,
    report: Map<String, Value>,
    lines: Vec<String>,
    failures: Vec<String>,
}

fn tanya_hello(code: &str) -> String {
    json!({"type":"hello","role":"audience","session":code}).to_string()
}

async fn coordinator(args: Args) -> anyhow::Result<i32> {
    let phones = args.phones.unwrap_or(if args.smoke { 300 } else { 1000 });
    let rounds = args.rounds.unwrap_or(if args.smoke { 3 } else { 20 });
    let settle =
        Duration::from_millis(args.settle_ms.unwrap_or(if args.smoke { 100 } else { 300 }));
    let per = args.per_process.max(1);
    let n_workers = args
        .workers
        .unwrap_or_else(|| {
            let need = phones.div_ceil(per);
            if args.smoke || phones >= 1000 {
                need.max(2)
            } else {
                need.max(1)
            }
        })
        .max(1);
    if phones.div_ceil(n_workers) > per {
        bail!(
            "{phones} phones need at least {} workers at --per-process {per}",
            phones.div_ceil(per)
        );
    }

    // The hub.
    let mut _hub_proc = None;
    let (hub, token, hub_pid) = match &args.server {
        Some(url) => {
            let token = args
                .admin_token
                .clone()
                .ok_or_else(|| anyhow!("--server needs --admin-token (or TANYA_ADMIN_TOKEN)"))?;
            (net::parse_addr(url)?, token, args.server_pid)
        }
        None => {
            let path = match &args.spawn {
                Some(p) => p.clone(),
                None => sibling("tanya")?,
            };
            let dir = std::env::temp_dir().join(format!(
                "tanya-bench-{}-{}",
                std::process::id(),
                now_ns()
            ));
            std::fs::create_dir_all(&dir)?;
            let token = uuid::Uuid::new_v4().simple().to_string();
            let q = args.quota.to_string();
            let env = [
                ("TANYA_LISTEN", "127.0.0.1:0".to_string()),
                (
                    "TANYA_DATABASE",
                    format!("sqlite://{}/tanya.db", dir.display()),
                ),
                ("TANYA_ADMIN_TOKEN", token.clone()),
                ("TANYA_ASKS_PER_MINUTE", q.clone()),
                ("TANYA_VOTES_PER_MINUTE", q),
                (
                    "RUST_LOG",
                    std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
                ),
            ];
            let (p, addr) = start("tanya", &path, &["serve"], &env, Some(dir))?;
            let pid = p.pid();
            _hub_proc = Some(p);
            (net::parse_addr(&addr)?, token, Some(pid))
        }
    };
    eprintln!("hub at {hub}");

    // The floor.
    let mut _floor_proc = None;
    let floor_at = if args.no_floor {
        None
    } else if let Some(u) = &args.floor_url {
        Some((net::parse_addr(u)?, args.floor_pid))
    } else {
        let path = match &args.floor {
            Some(p) => p.clone(),
            None => sibling("tanya-floor")?,
        };
        let (p, addr) = start("tanya-floor", &path, &[], &[], None)?;
        let pid = p.pid();
        _floor_proc = Some(p);
        Some((net::parse_addr(&addr)?, Some(pid)))
    };

    // The session and the staff.
    let (status, body) = net::http(
        hub,
        "POST",
        "/api/sessions",
        Some(&token),
        Some(r#"{"title":"tanya-bench","speakers":[{"name":"Drs Ratu Dewa MSi","role":"Sekretaris Daerah"}]}"#),
    )
    .await?;
    if status != 201 {
        bail!("POST /api/sessions: {status} {body}");
    }
    let s: Value = serde_json::from_str(&body)?;
    let code = s["code"]
        .as_str()
        .ok_or_else(|| anyhow!("no code in {body}"))?
        .to_string();
    let key = |k: &str| s["keys"][k].as_str().unwrap_or_default().to_string();
    let url = format!("ws://{hub}/ws");
    let staff_hello =
        |role: &str| json!({"type":"hello","role":role,"session":code,"key":key(role)});
    let (moderator, _) = Staff::open("moderator", hub, &url, 1, &staff_hello("moderator")).await?;
    let (screen, _) = Staff::open("screen", hub, &url, 2, &staff_hello("screen")).await?;
    let (overlay, _) = Staff::open("overlay", hub, &url, 3, &staff_hello("overlay")).await?;
    let (observer, _) = Staff::open(
        "observer",
        hub,
        &url,
        4,
        &json!({"type":"hello","role":"audience","session":code}),
    )
    .await?;
    let floor = match floor_at {
        Some((addr, _)) => {
            let furl = format!("ws://{addr}/ws");
            let (c, _) =
                Staff::open("floor-control", addr, &furl, 5, &json!({"type":"control"})).await?;
            Some((addr, furl, c))
        }
        None => None,
    };

    let workers = Workers::spawn(phones, n_workers, args.worker_threads)?;
    let (cores, model) = net::machine();
    let mut b = Bench {
        phones,
        settle,
        hub,
        hub_pid,
        url,
        code,
        moderator,
        screen,
        overlay,
        observer,
        floor,
        floor_pid: floor_at.and_then(|f| f.1),
        workers,
        next_job: 0,
        next_staff: 100,
        live: None,
        report: Map::new(),
        lines: Vec::new(),
        failures: Vec::new(),
        args: args.clone(),
    };
    b.report.insert("tool".into(), json!("tanya-bench"));
    b.report.insert("smoke".into(), json!(args.smoke));
    b.report.insert("phones".into(), json!(phones));
    b.report.insert(
        "machine".into(),
        json!({"cores": cores, "cpu": model, "workers": n_workers, "worker_threads": args.worker_threads}),
    );
    b.lines.push(format!(
        "tanya-bench: {phones} phones in {n_workers} worker processes; machine: {cores} cores, {model}"
    ));

    // CPU used on the machine by processes other than this run's (a shared machine).
    let ours = |b: &Bench| -> Option<u64> {
        let mut pids = vec![std::process::id()];
        pids.extend(b.hub_pid);
        pids.extend(b.floor_pid);
        pids.extend(b.workers.kids.iter().filter_map(|k| k.id()));
        pids.into_iter().map(net::cpu_ms).sum()
    };
    let (busy0, ours0, k0, wall0) = (
        net::machine_busy_ms(),
        ours(&b),
        net::kernel_threads_ms(),
        now_ns(),
    );
    let r = b.run(rounds).await;
    let (busy1, ours1, k1, wall1) = (
        net::machine_busy_ms(),
        ours(&b),
        net::kernel_threads_ms(),
        now_ns(),
    );
    if let (Some(b0), Some(b1), Some(o0), Some(o1)) = (busy0, busy1, ours0, ours1) {
        let kernel = k1.saturating_sub(k0);
        let irq = b1.1.saturating_sub(b0.1);
        let other = (b1.0.saturating_sub(b0.0))
            .saturating_sub(o1.saturating_sub(o0))
            .saturating_sub(kernel);
        let share = other as f64 / (ms(wall1 - wall0) * cores as f64);
        b.report.insert(
            "other_load".into(),
            json!({"cpu_ms": other, "share_of_machine": round(share),
                   "kernel_threads_cpu_ms": kernel, "irq_softirq_cpu_ms": irq}),
        );
        b.lines.push(format!(
            "other processes used {other} ms of CPU during the run ({:.0}% of the machine); \
             kernel threads {kernel} ms; interrupts (loopback traffic) {irq} ms",
            share * 100.0
        ));
    }
    if let Err(e) = &r {
        b.failures.push(format!("{e:#}"));
    }
    b.workers.quit().await;
    let t = b.targets();
    b.report.insert("targets".into(), t);
    b.report.insert("failures".into(), json!(b.failures));
    b.report.insert("ok".into(), json!(b.failures.is_empty()));
    println!();
    for l in &b.lines {
        println!("{l}");
    }
    for f in &b.failures {
        println!("FAILED: {f}");
    }
    println!("{}", Value::Object(b.report.clone()));
    Ok(if b.failures.is_empty() { 0 } else { 1 })
}

/// The (worker, phone) of every ask text `PAT{w}-{p}:` in a moderator's `question` event or
/// `welcome` (a resync).
fn ask_tokens(frame: &str, pat: &str) -> Vec<(usize, usize)> {
    if !(frame.contains(r#""type":"question""#) || frame.contains(r#""type":"welcome""#)) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, _) in frame.match_indices(pat) {
        let rest = &frame[i + pat.len()..];
        let Some(end) = rest.find(':') else { continue };
        let mut parts = rest[..end].split('-');
        if let (Some(Ok(w)), Some(Ok(p))) = (
            parts.next().map(str::parse::<usize>),
            parts.next().map(str::parse::<usize>),
        ) {
            out.push((w, p));
        }
    }
    out
}

/// `{"counts":{"ID":N}}` in a raw `votes` frame: N.
fn count_in(frame: &str, id: &str) -> Option<u64> {
    if !frame.contains(r#""type":"votes""#) {
        return None;
    }
    let pat = format!("\"{id}\":");
    let i = frame.find(&pat)? + pat.len();
    let digits: String = frame[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

impl Bench {
    /// A target of issue 5 stated for 10,000 phones: met or not, or not applicable.
    fn at10k(&self, ok: bool) -> &'static str {
        if self.phones >= 10_000 {
            met(ok)
        } else {
            "applies at 10,000 phones"
        }
    }

    /// Issue 5's targets from the figures: true (met), false (not met) or null (not measured,
    /// or stated for more phones than this run had).
    fn targets(&self) -> Value {
        // As a `Value`, a scenario that did not run reads as null instead of panicking.
        let r = &Value::Object(self.report.clone());
        let big = self.phones >= 10_000;
        let le = |v: &Value, max: f64, applies: bool| match v.as_f64() {
            Some(x) if applies => json!(x <= max),
            _ => Value::Null,
        };
        let ge = |v: Option<f64>, min: f64, applies: bool| match v {
            Some(x) if applies && x.is_finite() => json!(x >= min),
            _ => Value::Null,
        };
        let open = r["open_at_end"]["open"]["tanya"].as_u64().unwrap_or(0);
        let votes = r["votes"].as_array().cloned().unwrap_or_default();
        let slowest = votes
            .iter()
            .filter(|v| v["kind"] == "burst")
            .filter_map(|v| v["acked_per_s"].as_f64())
            .reduce(f64::min);
        let paced_tally = votes
            .iter()
            .find(|v| v["kind"] == "paced")
            .map(|v| v["tally_visible"]["p99_ms"].clone())
            .unwrap_or(Value::Null);
        let asks = r["asks"].as_array().and_then(|a| {
            a.iter()
                .filter_map(|v| v["acked_per_s"].as_f64())
                .reduce(f64::min)
        });
        let st = &r["broadcast"]["staff_during_broadcast"];
        let staff = ["moderator", "screen", "overlay"]
            .iter()
            .filter_map(|k| st[*k]["p99_ms"].as_f64())
            .reduce(f64::max)
            .map_or(Value::Null, |x| json!(x));
        json!({
            "phones_held_19000": if self.phones >= 19_000 { json!(open >= 19_000) } else { Value::Null },
            "rss_per_idle_phone_le_8_kib": le(&r["held"]["tanya"]["rss_per_idle_phone_kib"], 8.0, true),
            "fanout_ratio_le_1_25": le(&r["broadcast"]["ratio_last_phone_median"], 1.25, big),
            "votes_per_s_ge_20000": ge(slowest, 20_000.0, big),
            "vote_tally_p99_le_300_ms": le(&paced_tally, 300.0, big),
            "asks_per_s_ge_5000": ge(asks, 5_000.0, true),
            "staff_p99_le_20_ms": le(&staff, 20.0, big),
        })
    }

    async fn run(&mut self, rounds: usize) -> anyhow::Result<()> {
        self.held().await?;
        let want = |s: &str| self.args.scenarios.iter().any(|x| x == s);
        let (bc, votes, asks) = (want("broadcast"), want("votes"), want("asks"));
        if bc {
            self.broadcast(rounds).await?;
        }
        if votes {
            self.votes().await?;
        }
        if asks {
            self.asks().await?;
        }
        self.status().await?;
        Ok(())
    }

    fn job(&mut self) -> u64 {
        self.next_job += 1;
        self.next_job
    }

    /// Connects the phones of `target` in every worker.
    async fn connect(&mut self, target: Target) -> anyhow::Result<(usize, usize, u64)> {
        let (server, url, hello) = match target {
            Target::Tanya => (self.hub, self.url.clone(), tanya_hello(&self.code)),
            Target::Floor => match &self.floor {
                Some((a, u, _)) => (*a, u.clone(), tanya_hello(&self.code)),
                None => bail!("no floor"),
            },
        };
        for w in 0..self.workers.len() {
            let cmd = ToWorker::Connect(ConnectPlan {
                target,
                server: server.to_string(),
                url: url.clone(),
                hello: hello.clone(),
                first: self.workers.first[w],
                count: self.workers.count[w],
                per_address: self.args.per_address,
                concurrency: (self.args.connect_concurrency / self.workers.len()).max(1),
            });
            self.workers.send(w, &cmd).await?;
        }
        let timeout = Duration::from_secs(60 + self.phones as u64 / 100);
        let res = self
            .workers
            .gather(timeout, "connected", |_, ev| match ev {
                FromWorker::Connected {
                    target: t,
                    ok,
                    failed,
                    ms,
                    samples,
                } if t == target => Some((ok, failed, ms, samples)),
                _ => None,
            })
            .await?;
        let ok: usize = res.iter().map(|r| r.0).sum();
        let failed: usize = res.iter().map(|r| r.1).sum();
        let ms = res.iter().map(|r| r.2).max().unwrap_or(0);
        for s in res.iter().flat_map(|r| r.3.iter()).take(5) {
            eprintln!("{} connect failure: {s}", target.as_str());
        }
        Ok((ok, failed, ms))
    }

    /// Held connections and memory per idle phone.
    async fn held(&mut self) -> anyhow::Result<()> {
        let mut held = Map::new();
        for target in [Target::Tanya, Target::Floor] {
            if target == Target::Floor && self.floor.is_none() {
                continue;
            }
            let pid = match target {
                Target::Tanya => self.hub_pid,
                Target::Floor => self.floor_pid,
            };
            tokio::time::sleep(Duration::from_millis(500)).await;
            let before = pid.and_then(net::rss_bytes);
            eprintln!("connecting {} phones to {}", self.phones, target.as_str());
            let (ok, failed, took) = self.connect(target).await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = pid.and_then(net::rss_bytes);
            let per = match (before, after) {
                (Some(b), Some(a)) if ok > 0 => Some(a.saturating_sub(b) as f64 / ok as f64),
                _ => None,
            };
            if failed > 0 {
                self.failures.push(format!(
                    "{}: {failed} phones failed to connect",
                    target.as_str()
                ));
            }
            held.insert(
                target.as_str().into(),
                json!({
                    "connected": ok, "failed": failed, "connect_ms": took,
                    "rss_before_mib": before.map(|b| round(mib(b))),
                    "rss_after_mib": after.map(|a| round(mib(a))),
                    "rss_per_idle_phone_kib": per.map(|p| round(p / 1024.0)),
                }),
            );
            let mem = match (before, after, per) {
                (Some(b), Some(a), Some(p)) => format!(
                    "RSS {:.1} → {:.1} MiB: {:.2} KiB per idle phone",
                    mib(b),
                    mib(a),
                    p / 1024.0
                ),
                _ => "RSS unknown (no PID)".into(),
            };
            let target_note = if target == Target::Tanya {
                per.map_or(String::new(), |p| {
                    format!(" [target ≤ 8 KiB: {}]", met(p <= 8192.0))
                })
            } else {
                String::new()
            };
            self.lines.push(format!(
                "held {:<5}: {ok}/{} phones in {:.1} s; {mem}{target_note}",
                target.as_str(),
                self.phones,
                took as f64 / 1000.0
            ));
        }
        self.report.insert("held".into(), Value::Object(held));
        Ok(())
    }

    /// Phones open at the end, and how the others closed.
    async fn status(&mut self) -> anyhow::Result<()> {
        for w in 0..self.workers.len() {
            self.workers.send(w, &ToWorker::Status).await?;
        }
        let res = self
            .workers
            .gather(Duration::from_secs(10), "status", |_, ev| match ev {
                FromWorker::Status { open, closes } => Some((open, closes)),
                _ => None,
            })
            .await?;
        let mut open: BTreeMap<String, usize> = BTreeMap::new();
        let mut closes: BTreeMap<String, usize> = BTreeMap::new();
        for (o, c) in res {
            for (k, v) in o {
                *open.entry(k).or_default() += v;
            }
            for (k, v) in c {
                *closes.entry(k).or_default() += v;
            }
        }
        let tanya_open = open.get("tanya").copied().unwrap_or(0);
        if tanya_open < self.phones {
            self.failures.push(format!(
                "only {tanya_open} of {} Tanya phones open at the end; closes: {closes:?}",
                self.phones
            ));
        }
        if self.floor.is_some() && open.get("floor").copied().unwrap_or(0) < self.phones {
            self.failures
                .push(format!("floor phones closed: {closes:?}"));
        }
        self.lines.push(format!(
            "open at the end: {open:?}{}",
            if closes.is_empty() {
                String::new()
            } else {
                format!("; closed: {closes:?}")
            }
        ));
        self.report.insert(
            "open_at_end".into(),
            json!({"open": open, "closes": closes}),
        );
        Ok(())
    }

    /// Starts a task on every worker's phones of `target` and waits until each has it.
    async fn start_task(
        &mut self,
        target: Target,
        timeout_ms: u64,
        task: impl Fn(usize, u64) -> Task,
    ) -> anyhow::Result<u64> {
        let id = self.job();
        for w in 0..self.workers.len() {
            let cmd = ToWorker::Run {
                id,
                target,
                task: task(w, self.workers.first[w]),
                timeout_ms,
            };
            self.workers.send(w, &cmd).await?;
        }
        self.workers
            .gather(Duration::from_secs(10), "started", |_, ev| match ev {
                FromWorker::Started { id: i } if i == id => Some(()),
                _ => None,
            })
            .await?;
        Ok(id)
    }

    async fn finish_task(&mut self, id: u64, timeout_ms: u64) -> anyhow::Result<Outcome> {
        let parts = self
            .workers
            .gather(
                Duration::from_millis(timeout_ms + 15_000),
                "done",
                |_, ev| match ev {
                    FromWorker::Done {
                        id: i,
                        sent,
                        got,
                        errors,
                        samples,
                    } if i == id => Some((sent, got, errors, samples)),
                    _ => None,
                },
            )
            .await?;
        let mut o = Outcome {
            sent: vec![],
            got: vec![],
            errors: BTreeMap::new(),
            samples: vec![],
        };
        for (s, g, e, sm) in parts {
            o.sent.extend(s);
            o.got.extend(g);
            for (k, v) in e {
                *o.errors.entry(k).or_default() += v;
            }
            o.samples.extend(sm);
        }
        Ok(o)
    }

    /// Like `finish_task`, with the hub's CPU time (ms) over the wait when its pid is known.
    async fn finish_task_cpu(
        &mut self,
        id: u64,
        timeout_ms: u64,
    ) -> anyhow::Result<(Outcome, Option<u64>)> {
        let before = self.hub_pid.and_then(net::cpu_ms);
        let o = self.finish_task(id, timeout_ms).await?;
        let cpu = self
            .hub_pid
            .and_then(net::cpu_ms)
            .zip(before)
            .map(|(after, before)| after.saturating_sub(before));
        Ok((o, cpu))
    }

    /// A fresh pending question from a fresh device; returns its id.
    async fn ask(&mut self, text: &str) -> anyhow::Result<String> {
        self.next_staff += 1;
        let hello = json!({"type":"hello","role":"audience","session":self.code});
        let (mut a, _) = Staff::open("asker", self.hub, &self.url, self.next_staff, &hello).await?;
        let ok = a
            .command(json!({"type":"ask","ref":"q","text":text}))
            .await?;
        a.close().await;
        ok["question"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("ask: no question id in {ok}"))
    }

    /// A fresh approved question that every phone has.
    async fn approved(&mut self, text: &str) -> anyhow::Result<String> {
        let id = self.ask(text).await?;
        let job = self
            .start_task(Target::Tanya, 20_000, |_, _| Task::Watch {
                token: id.clone(),
            })
            .await?;
        self.moderator
            .command(json!({"type":"approve","question":id,"ref":format!("a-{id}")}))
            .await?;
        let o = self.finish_task(job, 20_000).await?;
        if o.missing() > 0 {
            self.failures
                .push(format!("{} phones missed the approve of {id}", o.missing()));
        }
        Ok(id)
    }

    /// Broadcast rounds against Tanya and the floor, alternating which goes first.
    async fn broadcast(&mut self, rounds: usize) -> anyhow::Result<()> {
        // A live question so each round can also toggle the overlay.
        let live = self
            .ask("Pertanyaan yang sedang dijawab untuk uji beban?")
            .await?;
        self.moderator
            .command(json!({"type":"approve","question":live,"ref":"live-a"}))
            .await?;
        self.moderator
            .command(json!({"type":"live","question":live,"ref":"live-l"}))
            .await?;
        self.live = Some(false);

        let (mut t_last, mut f_last) = (Lat::default(), Lat::default());
        let (mut t_median, mut f_median) = (Lat::default(), Lat::default());
        let (mut t_phone, mut f_phone) = (Lat::default(), Lat::default());
        let mut staff: BTreeMap<&'static str, Lat> = BTreeMap::new();
        let (mut t_missing, mut f_missing) = (0usize, 0usize);
        let mut template: Option<(String, String)> = None;
        let cpu0 = (
            self.hub_pid.and_then(net::cpu_ms),
            self.floor_pid.and_then(net::cpu_ms),
        );
        eprintln!("broadcast: 1 warm-up round + {rounds} rounds");
        for r in 0..=rounds {
            let order = if r % 2 == 0 {
                [Target::Tanya, Target::Floor]
            } else {
                [Target::Floor, Target::Tanya]
            };
            for target in order {
                let (t0, o) = match target {
                    Target::Tanya => {
                        let (t0, o, frame, id, st) = self.tanya_round(r).await?;
                        if template.is_none() {
                            template = Some((frame, id));
                        }
                        if r > 0 {
                            for (k, v) in st {
                                staff.entry(k).or_default().push(v);
                            }
                        }
                        (t0, o)
                    }
                    Target::Floor => {
                        let Some((frame, id)) = template.clone() else {
                            continue;
                        };
                        match self.floor_round(&frame, &id).await? {
                            Some(x) => x,
                            None => continue,
                        }
                    }
                };
                if r == 0 {
                    continue;
                }
                let lats: Vec<u64> = o
                    .got
                    .iter()
                    .filter(|g| **g > 0)
                    .map(|g| g.saturating_sub(t0))
                    .collect();
                let mut sorted = lats.clone();
                sorted.sort_unstable();
                let (last, phone, median, missing) = match target {
                    Target::Tanya => (&mut t_last, &mut t_phone, &mut t_median, &mut t_missing),
                    Target::Floor => (&mut f_last, &mut f_phone, &mut f_median, &mut f_missing),
                };
                *missing += o.missing();
                if let Some(m) = sorted.last() {
                    last.push(*m);
                    median.push(sorted[sorted.len() / 2]);
                }
                phone.0.extend(lats);
            }
        }
        let cpu1 = (
            self.hub_pid.and_then(net::cpu_ms),
            self.floor_pid.and_then(net::cpu_ms),
        );
        let per_round = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => round((b.saturating_sub(a)) as f64 / (rounds + 1) as f64),
            _ => Value::Null,
        };
        if t_missing > 0 {
            self.failures.push(format!(
                "tanya: {t_missing} phone-receipts missing over {rounds} rounds"
            ));
        }
        if f_missing > 0 {
            self.failures.push(format!(
                "floor: {f_missing} phone-receipts missing over {rounds} rounds"
            ));
        }
        let frame_bytes = template.as_ref().map_or(0, |t| t.0.len());
        let ratio = if self.floor.is_some() {
            t_last.pct(50.0) / f_last.pct(50.0)
        } else {
            f64::NAN
        };
        let ratio_p99 = t_last.pct(99.0) / f_last.pct(99.0);
        let side = |last: &Lat, median: &Lat, phone: &Lat, missing: usize, cpu: Value| {
            json!({
                "rounds": last.len(),
                "last_phone_median_ms": round(last.pct(50.0)),
                "last_phone_p99_ms": round(last.pct(99.0)),
                "last_phone_max_ms": round(last.max()),
                "median_phone_median_ms": round(median.pct(50.0)),
                "per_phone_p50_ms": round(phone.pct(50.0)),
                "per_phone_p99_ms": round(phone.pct(99.0)),
                "missing": missing,
                "server_cpu_ms_per_round": cpu,
            })
        };
        let staff_json: Map<String, Value> = staff
            .iter()
            .map(|(k, v)| (k.to_string(), v.json()))
            .collect();
        self.report.insert(
            "broadcast".into(),
            json!({
                "frame_bytes": frame_bytes,
                "tanya": side(&t_last, &t_median, &t_phone, t_missing, per_round(cpu0.0, cpu1.0)),
                "floor": if self.floor.is_some() {
                    side(&f_last, &f_median, &f_phone, f_missing, per_round(cpu0.1, cpu1.1))
                } else { Value::Null },
                "ratio_last_phone_median": round(ratio),
                "ratio_last_phone_p99": round(ratio_p99),
                "staff_during_broadcast": staff_json,
            }),
        );
        self.lines.push(format!(
            "approve → last phone, {} rounds of {} phones ({frame_bytes}-byte frame):",
            t_last.len(),
            self.phones
        ));
        self.lines.push(format!(
            "  tanya: per broadcast median {:.1} ms, p99 {:.1} ms; per phone p50 {:.1} ms, p99 {:.1} ms; missing {t_missing}",
            t_last.pct(50.0),
            t_last.pct(99.0),
            t_phone.pct(50.0),
            t_phone.pct(99.0)
        ));
        if self.floor.is_some() {
            self.lines.push(format!(
                "  floor: per broadcast median {:.1} ms, p99 {:.1} ms; per phone p50 {:.1} ms, p99 {:.1} ms; missing {f_missing}",
                f_last.pct(50.0),
                f_last.pct(99.0),
                f_phone.pct(50.0),
                f_phone.pct(99.0)
            ));
            self.lines.push(format!(
                "  ratio tanya/floor (median last phone): {ratio:.2} [target ≤ 1.25 at 10,000 phones: {}]",
                self.at10k(ratio <= 1.25)
            ));
        }
        for (k, v) in &staff {
            let target = if k.ends_with("_ok") {
                String::new()
            } else {
                format!(
                    " [target p99 ≤ 20 ms at 10,000 phones: {}]",
                    self.at10k(v.pct(99.0) <= 20.0)
                )
            };
            self.lines.push(format!("  {k:<16} {}{target}", v.human()));
        }
        Ok(())
    }

    /// One Tanya round: a fresh pending question, then `approve` (and an `overlay` toggle).
    /// Returns the trigger time, the phones' outcome, the observer's frame, the question id and
    /// the staff latencies.
    async fn tanya_round(
        &mut self,
        r: usize,
    ) -> anyhow::Result<(u64, Outcome, String, String, Vec<(&'static str, u64)>)> {
        let id = self
            .ask(&format!(
                "Putaran {r}: kapan jalan di Plaju diperbaiki, berapa anggarannya tahun ini, dan siapa yang mengawasi pekerjaannya di lapangan?"
            ))
            .await?;
        let job = self
            .start_task(Target::Tanya, 20_000, |_, _| Task::Watch {
                token: id.clone(),
            })
            .await?;
        tokio::time::sleep(self.settle).await;
        for s in [
            &mut self.moderator,
            &mut self.screen,
            &mut self.overlay,
            &mut self.observer,
        ] {
            s.drain();
        }
        let aref = format!("ap{r}");
        let t0 = self
            .moderator
            .send(&json!({"type":"approve","question":id,"rev":1,"ref":aref}))
            .await?;
        let t1 = match self.live {
            Some(v) => {
                self.live = Some(!v);
                Some(
                    self.moderator
                        .send(&json!({"type":"overlay","visible":!v,"ref":format!("ov{r}")}))
                        .await?,
                )
            }
            None => None,
        };
        let o = self.finish_task(job, 20_000).await?;
        let wait = Duration::from_secs(10);
        let is_q = |f: &str| f.contains(&id) && f.contains(r#""type":"question""#);
        let is_ov = |f: &str| f.contains(r#""type":"overlay""#);
        let ok_pat = format!(r#""ref":"{aref}""#);
        let want_ov = t1.is_some();
        let mut st = Vec::new();
        let first = |frames: &[(u64, String)], p: &dyn Fn(&str) -> bool| {
            frames.iter().find(|(_, f)| p(f)).map(|(t, _)| *t)
        };
        // Moderator: the approved question, the ok, the overlay event.
        let (mut q, mut k, mut ov) = (false, false, !want_ov);
        let frames = self
            .moderator
            .collect(wait, |f| {
                q |= is_q(f);
                k |= f.contains(&ok_pat);
                ov |= is_ov(f);
                q && k && ov
            })
            .await;
        match first(&frames, &is_q) {
            Some(t) => st.push(("moderator", t.saturating_sub(t0))),
            None => self
                .failures
                .push(format!("round {r}: moderator missed the approve")),
        }
        match first(&frames, &|f: &str| {
            f.contains(&ok_pat) && f.contains(r#""type":"ok""#)
        }) {
            Some(t) => st.push(("moderator_ok", t.saturating_sub(t0))),
            None => self.failures.push(format!(
                "round {r}: no ok for approve: {:?}",
                frames.iter().find(|(_, f)| f.contains(&ok_pat))
            )),
        }
        if let Some(t1) = t1 {
            match first(&frames, &is_ov) {
                Some(t) => st.push(("moderator_overlay", t.saturating_sub(t1))),
                None => self
                    .failures
                    .push(format!("round {r}: moderator missed the overlay event")),
            }
        }
        // Screen: the approved question and the overlay event.
        let (mut q, mut ov) = (false, !want_ov);
        let frames = self
            .screen
            .collect(wait, |f| {
                q |= is_q(f);
                ov |= is_ov(f);
                q && ov
            })
            .await;
        match first(&frames, &is_q) {
            Some(t) => st.push(("screen", t.saturating_sub(t0))),
            None => self
                .failures
                .push(format!("round {r}: screen missed the approve")),
        }
        if let Some(t1) = t1 {
            match first(&frames, &is_ov) {
                Some(t) => st.push(("screen_overlay", t.saturating_sub(t1))),
                None => self
                    .failures
                    .push(format!("round {r}: screen missed the overlay event")),
            }
            let frames = self.overlay.collect(wait, is_ov).await;
            match first(&frames, &is_ov) {
                Some(t) => st.push(("overlay", t.saturating_sub(t1))),
                None => self
                    .failures
                    .push(format!("round {r}: overlay missed its event")),
            }
        }
        // The observer phone: the frame every phone got (the floor sends its twin).
        let frames = self.observer.collect(wait, is_q).await;
        let frame = frames
            .iter()
            .find(|(_, f)| is_q(f))
            .map(|(_, f)| f.clone())
            .unwrap_or_default();
        if frame.is_empty() {
            self.failures
                .push(format!("round {r}: observer missed the approve"));
        }
        Ok((t0, o, frame, id, st))
    }

    /// One floor round: the same frame with a fresh id, sent by the control socket.
    async fn floor_round(
        &mut self,
        template: &str,
        template_id: &str,
    ) -> anyhow::Result<Option<(u64, Outcome)>> {
        if self.floor.is_none() {
            return Ok(None);
        }
        let token = uuid::Uuid::new_v4().to_string();
        let frame = template.replace(template_id, &token);
        let job = self
            .start_task(Target::Floor, 20_000, |_, _| Task::Watch {
                token: token.clone(),
            })
            .await?;
        tokio::time::sleep(self.settle).await;
        let Some((_, _, control)) = self.floor.as_mut() else {
            return Ok(None);
        };
        control.drain();
        let t0 = control.send_text(frame).await?;
        let o = self.finish_task(job, 20_000).await?;
        Ok(Some((t0, o)))
    }

    /// Votes: bursts and one paced run, each on a fresh approved question.
    async fn votes(&mut self) -> anyhow::Result<()> {
        let mut runs = Vec::new();
        let mut plan: Vec<f64> = vec![0.0; self.args.vote_bursts];
        if self.args.vote_rate > 0.0 {
            plan.push(self.args.vote_rate);
        }
        for (i, rate) in plan.into_iter().enumerate() {
            let id = self
                .approved(&format!(
                    "Pemungutan suara {i}: setuju jalan Plaju diperbaiki?"
                ))
                .await?;
            tokio::time::sleep(self.settle).await;
            self.observer.drain();
            let t0 = now_ns() + 300_000_000;
            let timeout = 30_000;
            let q = id.clone();
            let job = self
                .start_task(Target::Tanya, timeout, |_, first| Task::Vote {
                    question: q.clone(),
                    on: true,
                    t0,
                    rate,
                    rank_base: first,
                })
                .await?;
            if now_ns() > t0 {
                eprintln!("warning: vote task reached the workers after its start time");
            }
            let (o, cpu) = self.finish_task_cpu(job, timeout).await?;
            let acked = o.answered() as u64;
            // The observer's tally curve, until it shows every acknowledged vote.
            let frames = self
                .observer
                .collect(Duration::from_secs(5), |f| {
                    count_in(f, &id).is_some_and(|c| c >= acked)
                })
                .await;
            let curve: Vec<(u64, u64)> = frames
                .iter()
                .filter_map(|(t, f)| count_in(f, &id).map(|c| (*t, c)))
                .collect();
            let final_count = curve.iter().map(|c| c.1).max().unwrap_or(0);
            let mut ack = Lat::default();
            let mut sends = Vec::new();
            let mut last_ok = 0;
            for (s, g) in o.sent.iter().zip(&o.got) {
                if *g > 0 {
                    ack.push(g.saturating_sub(*s));
                    sends.push(*s);
                    last_ok = last_ok.max(*g);
                }
            }
            sends.sort_unstable();
            // Vote k (in send order) is visible once the tally reaches k.
            let mut tally = Lat::default();
            let mut ci = 0;
            let mut tally_missing = 0;
            for (k, s) in sends.iter().enumerate() {
                while ci < curve.len() && curve[ci].1 < k as u64 + 1 {
                    ci += 1;
                }
                match curve.get(ci) {
                    Some((t, _)) => tally.push(t.saturating_sub(*s)),
                    None => tally_missing += 1,
                }
            }
            let span = last_ok.saturating_sub(t0);
            let per_s = per_second(acked as f64, span);
            let kind = if rate > 0.0 {
                format!("paced at {rate:.0}/s")
            } else {
                "burst".to_string()
            };
            if o.error_count() > 0 || o.missing() > 0 {
                self.failures.push(format!(
                    "votes ({kind}): {} acked, {} errors {:?}, {} unanswered; {:?}",
                    acked,
                    o.error_count(),
                    o.errors,
                    o.missing().saturating_sub(o.error_count()),
                    o.samples
                ));
            }
            if final_count < acked || tally_missing > 0 {
                self.failures.push(format!(
                    "votes ({kind}): the observer's tally reached {final_count} of {acked}"
                ));
            }
            let cpu_note = cpu.map_or(String::new(), |c| format!("; hub CPU {c} ms"));
            self.lines.push(if rate > 0.0 {
                format!(
                    "votes {kind}: {acked} acked, the last {:.0} ms after the first was due{cpu_note}; ack {}; tally at another phone {}",
                    ms(span),
                    ack.human(),
                    tally.human()
                )
            } else {
                format!(
                    "votes {kind}: {acked} acked in {:.0} ms = {per_s:.0} votes/s{cpu_note}; ack {}; tally at another phone {}",
                    ms(span),
                    ack.human(),
                    tally.human()
                )
            });
            runs.push(json!({
                "kind": if rate > 0.0 { "paced" } else { "burst" },
                "rate": rate,
                "phones": self.phones,
                "acked": acked,
                "errors": o.errors,
                "span_ms": round(ms(span)),
                "acked_per_s": round(per_s),
                "ack": ack.json(),
                "tally_visible": tally.json(),
                "tally_final": final_count,
                "tally_frames": curve.len(),
                "server_cpu_ms": cpu,
            }));
        }
        // Targets: the slowest burst for votes/s; the paced run (a room voting within half a
        // second) for the tally, or the slowest burst when there is no paced run.
        let worst_burst = runs
            .iter()
            .filter(|r| r["kind"] == "burst")
            .filter_map(|r| r["acked_per_s"].as_f64())
            .fold(f64::NAN, f64::min);
        let paced = runs.iter().find(|r| r["kind"] == "paced");
        let tally_p99 = match paced {
            Some(p) => p["tally_visible"]["p99_ms"].as_f64().unwrap_or(f64::NAN),
            None => runs
                .iter()
                .filter_map(|r| r["tally_visible"]["p99_ms"].as_f64())
                .fold(f64::NAN, f64::max),
        };
        self.lines.push(format!(
            "  votes/s (slowest burst) {worst_burst:.0} [target ≥ 20,000 at 10,000 phones: {}]; tally p99 ({}) {tally_p99:.1} ms [target ≤ 300 ms at 10,000 phones: {}]",
            self.at10k(worst_burst >= 20_000.0),
            if paced.is_some() { "paced run" } else { "slowest burst" },
            self.at10k(tally_p99 <= 300.0)
        ));
        self.report.insert("votes".into(), json!(runs));
        Ok(())
    }

    /// Asks: every phone asks once at the same moment.
    async fn asks(&mut self) -> anyhow::Result<()> {
        let mut runs = Vec::new();
        for i in 0..self.args.ask_bursts {
            let tag = format!("a{i}");
            tokio::time::sleep(self.settle).await;
            self.moderator.drain();
            let t0 = now_ns() + 300_000_000;
            let timeout = 60_000;
            let tg = tag.clone();
            let job = self
                .start_task(Target::Tanya, timeout, |_, first| Task::Ask {
                    tag: tg.clone(),
                    t0,
                    rate: 0.0,
                    rank_base: first,
                })
                .await?;
            let (o, cpu) = self.finish_task_cpu(job, timeout).await?;
            let acked = o.answered();
            let pat = format!("Uji beban {tag}-");
            // The moderator gets one `question` event per ask, or, when its queue overflowed, a
            // fresh `welcome` holding every question (a resync): both count as seen.
            let mut seen: std::collections::HashSet<(usize, usize)> = Default::default();
            let frames = self
                .moderator
                .collect(Duration::from_secs(15), |f| {
                    seen.extend(ask_tokens(f, &pat));
                    seen.len() >= acked
                })
                .await;
            let resyncs = frames
                .iter()
                .filter(|(_, f)| f.contains(r#""type":"welcome""#))
                .count();
            // Moderator receipt per (worker, phone).
            let mut at: BTreeMap<(usize, usize), u64> = BTreeMap::new();
            for (t, f) in &frames {
                for k in ask_tokens(f, &pat) {
                    at.entry(k).or_insert(*t);
                }
            }
            let mut ack = Lat::default();
            let mut seen_lat = Lat::default();
            let mut last_ok = 0;
            let mut global = 0;
            for w in 0..self.workers.len() {
                for p in 0..self.workers.count[w] {
                    let (s, g) = (o.sent[global], o.got[global]);
                    global += 1;
                    if g == 0 {
                        continue;
                    }
                    ack.push(g.saturating_sub(s));
                    last_ok = last_ok.max(g);
                    if let Some(m) = at.get(&(w, p)) {
                        seen_lat.push(m.saturating_sub(s));
                    }
                }
            }
            let span = last_ok.saturating_sub(t0);
            let per_s = per_second(acked as f64, span);
            if o.error_count() > 0 || o.missing() > 0 {
                self.failures.push(format!(
                    "asks: {acked} acked, errors {:?}, {} unanswered; {:?}",
                    o.errors,
                    o.missing().saturating_sub(o.error_count()),
                    o.samples
                ));
            }
            if seen_lat.len() < acked {
                self.failures.push(format!(
                    "asks: the moderator saw {} of {acked} acknowledged questions",
                    seen_lat.len()
                ));
            }
            self.lines.push(format!(
                "asks burst: {acked} acked (after commit) in {:.0} ms = {per_s:.0} asks/s [target ≥ 5,000: {}]{}; ack {}; moderator sees it {}",
                ms(span),
                met(per_s >= 5000.0),
                cpu.map_or(String::new(), |c| format!("; hub CPU {c} ms")),
                ack.human(),
                seen_lat.human()
            ));
            if resyncs > 0 {
                self.lines.push(format!(
                    "  the moderator's queue overflowed: {resyncs} resync welcome(s) instead of events"
                ));
            }
            runs.push(json!({
                "phones": self.phones,
                "acked": acked,
                "errors": o.errors,
                "span_ms": round(ms(span)),
                "acked_per_s": round(per_s),
                "ack": ack.json(),
                "moderator_sees": seen_lat.json(),
                "moderator_resyncs": resyncs,
                "server_cpu_ms": cpu,
            }));
        }
        self.report.insert("asks".into(), json!(runs));
        Ok(())
    }
}
