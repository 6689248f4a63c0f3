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
//! With `--cluster N` the hub runs as a cluster: N `tanya serve` nodes on one fresh PostgreSQL
//! database and the machine's NATS, compared in the same run with a single node (its own fresh
//! PostgreSQL database, no bus). The coordinator creates the session through node 0's admin
//! API and connects the staff to node 0 first, so node 0 owns the session (holds its lease);
//! the other nodes relay it over NATS. `--phones P` is then the phones per node: P on the
//! single node (phase A) and N x P on the cluster (phase B), phone g on node g % N. Both sets
//! are held at once and the broadcast rounds alternate A, B, A, B (see `Bench::ab_broadcast`).
//! Phones connect to the nodes directly, not through a balancer: a balancer in front of 30,000
//! phones holds 60,000 open files in one process (a socket to the phone and one to the node),
//! three times this machine's per-process limit, so the balancer is tested functionally
//! (tests/it/cluster.rs) and the bench measures the nodes.
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
use wire::{ConnectPlan, Endpoint, FromWorker, Target, Task, ToWorker};

/// Load tool for Tanya: phones, moderator, screen and overlay over real WebSockets.
#[derive(Parser, Debug, Clone)]
#[command(name = "tanya-bench", version, about)]
struct Args {
    /// Phones (audience sockets) to connect [default: 1000; 300 with --smoke]. With --cluster:
    /// phones per node (the single node gets as many, the cluster N times as many).
    #[arg(long)]
    phones: Option<usize>,
    /// Cluster mode: start N nodes (`tanya serve` sharing a fresh PostgreSQL database and the
    /// bus) and, to compare with, a single node on its own fresh database without a bus; hold
    /// --phones phones per node on each and alternate broadcast rounds between the single node
    /// (A) and the cluster (B). Needs --spawn or `tanya` next to this binary; no floor.
    #[arg(long, value_name = "N")]
    cluster: Option<usize>,
    /// The PostgreSQL server of --cluster: a database per hub is created for the run and
    /// dropped at its end.
    #[arg(long, default_value = "postgres://root@127.0.0.1:5432")]
    pg: String,
    /// The NATS server the --cluster nodes share (TANYA_BUS).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    bus: String,
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
    /// Scenarios after connecting: any of broadcast, votes, asks [default: broadcast,votes,asks;
    /// broadcast with --cluster, where votes and asks run on the cluster alone].
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
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
    /// for the floor; keep 2x under the 20,000 open-file limit). With --cluster a worker holds
    /// at most 2x this many, its share of the single node's and of the cluster's phones.
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
    name: &str,
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
    let name = name.to_string();
    let prefix = name.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            match line.split_once("listening on ") {
                Some((_, addr)) => {
                    let _ = tx.send(addr.trim().to_string());
                }
                None => eprintln!("[{prefix}] {line}"),
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| anyhow!("{name} did not print `listening on` within 60 s"))?;
    Ok((proc, addr))
}

/// Starts `tanya serve` at `path` on a fresh folder with raised quotas: on `database`
/// (default: a SQLite file in the folder), a node of the cluster on `bus` when given.
fn spawn_hub(
    name: &str,
    path: &Path,
    quota: u32,
    token: &str,
    database: Option<String>,
    bus: Option<&str>,
) -> anyhow::Result<(Proc, SocketAddr)> {
    let dir = std::env::temp_dir().join(format!("tanya-bench-{}-{}", std::process::id(), now_ns()));
    std::fs::create_dir_all(&dir)?;
    let q = quota.to_string();
    let database = database.unwrap_or_else(|| format!("sqlite://{}/tanya.db", dir.display()));
    let mut env = vec![
        ("TANYA_LISTEN", "127.0.0.1:0".to_string()),
        ("TANYA_DATABASE", database),
        ("TANYA_ADMIN_TOKEN", token.to_string()),
        ("TANYA_ASKS_PER_MINUTE", q.clone()),
        ("TANYA_VOTES_PER_MINUTE", q),
        (
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ];
    if let Some(b) = bus {
        env.push(("TANYA_BUS", b.to_string()));
    }
    let (p, addr) = start(name, path, &["serve"], &env, Some(dir))?;
    Ok((p, net::parse_addr(&addr)?))
}

/// A PostgreSQL database made for this run; dropped (`WITH (FORCE)`) on drop.
struct PgDb {
    server: String,
    name: String,
}

impl PgDb {
    fn create(server: &str) -> anyhow::Result<Self> {
        let db = Self {
            server: server.trim_end_matches('/').to_string(),
            name: format!("tanya_bench_{}", uuid::Uuid::new_v4().simple()),
        };
        psql(&db.server, &format!("CREATE DATABASE {}", db.name))?;
        Ok(db)
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Err(e) = psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ) {
            eprintln!("tanya-bench: {e:#}");
        }
    }
}

/// One SQL statement on the `postgres` database of `server`, through `psql`.
fn psql(server: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .context("psql (postgresql-client) is needed for --cluster")?;
    if !out.status.success() {
        bail!("{sql}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// What the run started: the hubs (stopped first), then their databases (dropped after).
#[derive(Default)]
struct Spawned {
    procs: Vec<Proc>,
    dbs: Vec<PgDb>,
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
    /// Per target: the global number of each worker's first phone, and its phone count.
    layout: BTreeMap<Target, (Vec<u64>, Vec<usize>)>,
}

impl Workers {
    /// Workers holding, for each `(target, n)` of `sets`, n phones split evenly between them.
    fn spawn(sets: &[(Target, usize)], n_workers: usize, threads: usize) -> anyhow::Result<Self> {
        let me = std::env::current_exe()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (mut kids, mut stdins) = (vec![], vec![]);
        let mut layout = BTreeMap::new();
        for &(target, n_phones) in sets {
            let (mut first, mut count) = (vec![], vec![]);
            let mut next = 0u64;
            for w in 0..n_workers {
                let n = n_phones / n_workers + usize::from(w < n_phones % n_workers);
                first.push(next);
                count.push(n);
                next += n as u64;
            }
            layout.insert(target, (first, count));
        }
        for w in 0..n_workers {
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
        }
        Ok(Self {
            kids,
            stdins,
            rx,
            layout,
        })
    }

    fn len(&self) -> usize {
        self.kids.len()
    }

    /// The global number of worker `w`'s first phone of `target`.
    fn first(&self, target: Target, w: usize) -> u64 {
        self.layout
            .get(&target)
            .and_then(|l| l.0.get(w))
            .copied()
            .unwrap_or(0)
    }

    /// Worker `w`'s phones of `target`.
    fn count(&self, target: Target, w: usize) -> usize {
        self.layout
            .get(&target)
            .and_then(|l| l.1.get(w))
            .copied()
            .unwrap_or(0)
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

/// One side's broadcast figures under --cluster, over its measured rounds.
struct Acc {
    /// Approve → the last of the side's phones, per round.
    last: Lat,
    /// Approve → the median phone, per round.
    median: Lat,
    /// Every phone's own latency, all rounds pooled.
    phone: Lat,
    /// Phone-receipts missing (warm-up included).
    missing: usize,
    /// Per node (phone g is on node g % N): phones, the last phone per round, missing
    /// receipts, CPU ms over the measured rounds (None when a pid is unknown).
    node_phones: Vec<usize>,
    node_last: Vec<Lat>,
    node_missing: Vec<usize>,
    node_cpu: Vec<Option<u64>>,
    staff: BTreeMap<&'static str, Lat>,
    rounds: usize,
}

impl Acc {
    fn new(nodes: usize) -> Self {
        let nodes = nodes.max(1);
        Self {
            last: Lat::default(),
            median: Lat::default(),
            phone: Lat::default(),
            missing: 0,
            node_phones: vec![0; nodes],
            node_last: vec![Lat::default(); nodes],
            node_missing: vec![0; nodes],
            node_cpu: vec![Some(0); nodes],
            staff: BTreeMap::new(),
            rounds: 0,
        }
    }

    /// Adds a round: its missing receipts always, its times when `measured` (not the warm-up).
    fn add(&mut self, round: &Round, measured: bool) {
        let n = self.node_last.len();
        let mut node_max: Vec<Option<u64>> = vec![None; n];
        let mut lats = Vec::with_capacity(round.o.got.len());
        self.node_phones = vec![0; n];
        for (g, got) in round.o.got.iter().enumerate() {
            let k = g % n;
            self.node_phones[k] += 1;
            if *got == 0 {
                self.missing += 1;
                self.node_missing[k] += 1;
                continue;
            }
            let l = got.saturating_sub(round.t0);
            lats.push(l);
            node_max[k] = Some(node_max[k].map_or(l, |m| m.max(l)));
        }
        if !measured {
            return;
        }
        self.rounds += 1;
        lats.sort_unstable();
        if let Some(m) = lats.last() {
            self.last.push(*m);
            self.median.push(lats[lats.len() / 2]);
        }
        self.phone.0.extend(lats);
        for (k, m) in node_max.into_iter().enumerate() {
            if let Some(m) = m {
                self.node_last[k].push(m);
            }
        }
        for (k, c) in round.cpu.iter().enumerate().take(n) {
            self.node_cpu[k] = self.node_cpu[k].zip(*c).map(|(a, b)| a + b);
        }
        for (k, v) in &round.staff {
            self.staff.entry(k).or_default().push(*v);
        }
    }

    /// Node `k`'s CPU per measured round, ms.
    fn cpu_per_round(&self, k: usize) -> Option<f64> {
        let c = self.node_cpu.get(k).copied().flatten()?;
        (self.rounds > 0).then(|| c as f64 / self.rounds as f64)
    }

    fn json(&self) -> Value {
        let cpu: Option<f64> = (0..self.node_cpu.len())
            .map(|k| self.cpu_per_round(k))
            .sum();
        json!({
            "phones": self.node_phones.iter().sum::<usize>(),
            "rounds": self.last.len(),
            "last_phone_median_ms": round(self.last.pct(50.0)),
            "last_phone_p99_ms": round(self.last.pct(99.0)),
            "last_phone_max_ms": round(self.last.max()),
            "median_phone_median_ms": round(self.median.pct(50.0)),
            "per_phone_p50_ms": round(self.phone.pct(50.0)),
            "per_phone_p99_ms": round(self.phone.pct(99.0)),
            "missing": self.missing,
            "missing_per_node": self.node_missing,
            "cpu_ms_per_broadcast": cpu.map_or(Value::Null, round),
            "staff_during_broadcast": self
                .staff
                .iter()
                .map(|(k, v)| (k.to_string(), v.json()))
                .collect::<Map<String, Value>>(),
        })
    }
}

/// The run: the servers, the session, the clients and what was measured.
struct Bench {
    args: Args,
    /// Phones of `Target::Tanya` (with --cluster: of the whole cluster).
    phones: usize,
    settle: Duration,
    /// The hub under test (with --cluster: the cluster).
    main: Side,
    /// With --cluster: the single node it is compared with.
    single: Option<Side>,
    floor: Option<(SocketAddr, String, Staff)>,
    floor_pid: Option<u32>,
    workers: Workers,
    next_job: u64,
    next_staff: u64,
    report: Map<String, Value>,
    lines: Vec<String>,
    failures: Vec<String>,
}

fn tanya_hello(code: &str) -> String {
    json!({"type":"hello","role":"audience","session":code}).to_string()
}

/// A hub under test (one process, or the nodes of a cluster), its session and its staff.
struct Side {
    target: Target,
    /// Every node's address (one for a single hub); phone g connects to `nodes[g % len]`. The
    /// staff and askers connect to node 0.
    nodes: Vec<SocketAddr>,
    /// Every node's pid, where known, in node order.
    pids: Vec<Option<u32>>,
    url: String,
    code: String,
    moderator: Staff,
    screen: Staff,
    overlay: Staff,
    observer: Staff,
    /// One more observer phone on each node but node 0 (a cluster's relays): each round checks
    /// that it got the very frame node 0's observer got.
    relay_observers: Vec<Staff>,
    /// A question kept live so `overlay` can be toggled, and the overlay's current state.
    live: Option<bool>,
}

/// One broadcast round on one side: the trigger time, the phones' outcome, the observer's
/// frame, the question id, the staff latencies, and each node's CPU time (ms) from just before
/// the trigger until every phone and staff client had its frames.
struct Round {
    t0: u64,
    o: Outcome,
    frame: String,
    id: String,
    staff: Vec<(&'static str, u64)>,
    cpu: Vec<Option<u64>>,
}

impl Side {
    /// Creates a session through node 0's admin API and connects the staff to node 0 (the first
    /// `hello`s of the session: node 0 owns it). Staff source addresses from `staff_base`.
    async fn open(
        target: Target,
        nodes: Vec<SocketAddr>,
        pids: Vec<Option<u32>>,
        token: &str,
        staff_base: u64,
    ) -> anyhow::Result<Self> {
        let hub = *nodes.first().ok_or_else(|| anyhow!("no hub"))?;
        let (status, body) = net::http(
            hub,
            "POST",
            "/api/sessions",
            Some(token),
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
        let n = staff_base;
        let (moderator, _) =
            Staff::open("moderator", hub, &url, n, &staff_hello("moderator")).await?;
        let (screen, _) = Staff::open("screen", hub, &url, n + 1, &staff_hello("screen")).await?;
        let (overlay, _) =
            Staff::open("overlay", hub, &url, n + 2, &staff_hello("overlay")).await?;
        let (observer, _) = Staff::open(
            "observer",
            hub,
            &url,
            n + 3,
            &json!({"type":"hello","role":"audience","session":code}),
        )
        .await?;
        Ok(Self {
            target,
            nodes,
            pids,
            url,
            code,
            moderator,
            screen,
            overlay,
            observer,
            relay_observers: Vec::new(),
            live: None,
        })
    }

    fn hub(&self) -> SocketAddr {
        self.nodes[0]
    }

    /// Where the phones connect, in node order.
    fn endpoints(&self) -> Vec<Endpoint> {
        self.nodes
            .iter()
            .map(|a| Endpoint {
                server: a.to_string(),
                url: format!("ws://{a}/ws"),
            })
            .collect()
    }

    /// Every node's CPU time so far (ms), in node order.
    fn cpu(&self) -> Vec<Option<u64>> {
        self.pids.iter().map(|p| p.and_then(net::cpu_ms)).collect()
    }

    /// The CPU time of every node together (ms), when every pid is known.
    fn cpu_total(&self) -> Option<u64> {
        self.cpu().into_iter().sum()
    }

    /// A fresh pending question from a fresh device (staff address `n`); returns its id.
    async fn ask(&mut self, n: u64, text: &str) -> anyhow::Result<String> {
        let hello = json!({"type":"hello","role":"audience","session":self.code});
        let (mut a, _) = Staff::open("asker", self.hub(), &self.url, n, &hello).await?;
        let ok = a
            .command(json!({"type":"ask","ref":"q","text":text}))
            .await?;
        a.close().await;
        ok["question"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("ask: no question id in {ok}"))
    }

    /// Opens an observer phone on every node but node 0, retrying until the node welcomes it
    /// (a node relays a session only once it has heard its owner beat), 20 s at most. Staff
    /// source addresses from `n`.
    async fn open_relay_observers(&mut self, n: u64) -> anyhow::Result<()> {
        let hello = json!({"type":"hello","role":"audience","session":self.code});
        for (k, addr) in self.nodes.clone().into_iter().enumerate().skip(1) {
            let url = format!("ws://{addr}/ws");
            let t = tokio::time::Instant::now();
            let name = format!("observer on node {k}");
            loop {
                match Staff::open(&name, addr, &url, n + k as u64, &hello).await {
                    Ok((c, _)) => {
                        self.relay_observers.push(c);
                        break;
                    }
                    Err(e) if t.elapsed() > Duration::from_secs(20) => {
                        bail!("node {k} ({addr}) does not relay the session: {e:#}")
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
        Ok(())
    }

    /// Forgets every frame the staff received so far.
    fn drain(&mut self) {
        for s in [
            &mut self.moderator,
            &mut self.screen,
            &mut self.overlay,
            &mut self.observer,
        ] {
            s.drain();
        }
        for s in &mut self.relay_observers {
            s.drain();
        }
    }

    /// Sends `approve` of `id` (and an `overlay` toggle while a question is live); returns
    /// the send times of both and the approve's `ref`.
    async fn trigger(&mut self, r: usize, id: &str) -> anyhow::Result<(u64, Option<u64>, String)> {
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
        Ok((t0, t1, aref))
    }

    /// What the staff got after a `trigger`: the observer's frame, the staff latencies, and
    /// what was missed.
    async fn staff_check(
        &mut self,
        r: usize,
        id: &str,
        aref: &str,
        t0: u64,
        t1: Option<u64>,
    ) -> (String, Vec<(&'static str, u64)>, Vec<String>) {
        let side = self.target.as_str();
        let mut failures = Vec::new();
        let wait = Duration::from_secs(10);
        let is_q = |f: &str| f.contains(id) && f.contains(r#""type":"question""#);
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
            None => failures.push(format!("{side} round {r}: moderator missed the approve")),
        }
        match first(&frames, &|f: &str| {
            f.contains(&ok_pat) && f.contains(r#""type":"ok""#)
        }) {
            Some(t) => st.push(("moderator_ok", t.saturating_sub(t0))),
            None => failures.push(format!(
                "{side} round {r}: no ok for approve: {:?}",
                frames.iter().find(|(_, f)| f.contains(&ok_pat))
            )),
        }
        if let Some(t1) = t1 {
            match first(&frames, &is_ov) {
                Some(t) => st.push(("moderator_overlay", t.saturating_sub(t1))),
                None => failures.push(format!(
                    "{side} round {r}: moderator missed the overlay event"
                )),
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
            None => failures.push(format!("{side} round {r}: screen missed the approve")),
        }
        if let Some(t1) = t1 {
            match first(&frames, &is_ov) {
                Some(t) => st.push(("screen_overlay", t.saturating_sub(t1))),
                None => failures.push(format!("{side} round {r}: screen missed the overlay event")),
            }
            let frames = self.overlay.collect(wait, is_ov).await;
            match first(&frames, &is_ov) {
                Some(t) => st.push(("overlay", t.saturating_sub(t1))),
                None => failures.push(format!("{side} round {r}: overlay missed its event")),
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
            failures.push(format!("{side} round {r}: observer missed the approve"));
        }
        // A relay's sockets get the owner's frames, byte for byte.
        for (i, o) in self.relay_observers.iter_mut().enumerate() {
            let k = i + 1;
            let frames = o.collect(wait, is_q).await;
            match frames.iter().find(|(_, f)| is_q(f)) {
                None => failures.push(format!(
                    "{side} round {r}: the observer on node {k} missed the approve"
                )),
                Some((_, f)) if !frame.is_empty() && *f != frame => failures.push(format!(
                    "{side} round {r}: the observer on node {k} got {f}, node 0's got {frame}"
                )),
                Some(_) => {}
            }
        }
        (frame, st, failures)
    }
}

async fn coordinator(args: Args) -> anyhow::Result<i32> {
    let cluster = args.cluster;
    if cluster == Some(0) {
        bail!("--cluster needs at least one node");
    }
    if cluster.is_some() && args.server.is_some() {
        bail!("--cluster starts its own nodes: not with --server");
    }
    // With --cluster: phones per node.
    let phones = args.phones.unwrap_or(if args.smoke { 300 } else { 1000 });
    let rounds = args.rounds.unwrap_or(if args.smoke { 3 } else { 20 });
    let settle =
        Duration::from_millis(args.settle_ms.unwrap_or(if args.smoke { 100 } else { 300 }));
    let per = args.per_process.max(1);
    // The phones of each target. Without --cluster a worker holds a phone to Tanya and one to
    // the floor per phone: at most --per-process of each. With --cluster it holds its share of
    // the single node's and of the cluster's phones: at most 2 x --per-process together (the
    // same open files). Both sets are held at once: 30,000 cluster phones and 10,000 single
    // ones take 3 workers of ~13,300 sockets each.
    let sets: Vec<(Target, usize)> = match cluster {
        Some(n) => vec![(Target::Tanya, n * phones), (Target::Single, phones)],
        None => vec![(Target::Tanya, phones), (Target::Floor, phones)],
    };
    let (held, budget) = match cluster {
        Some(n) => ((n + 1) * phones, 2 * per),
        None => (phones, per),
    };
    let n_workers = args
        .workers
        .unwrap_or_else(|| {
            let need = held.div_ceil(budget);
            if args.smoke || held >= 1000 {
                need.max(2)
            } else {
                need.max(1)
            }
        })
        .max(1);
    if held.div_ceil(n_workers) > budget {
        bail!(
            "{held} phones need at least {} workers at --per-process {per}",
            held.div_ceil(budget)
        );
    }
    let scenarios = args.scenarios.clone().unwrap_or_else(|| {
        let all: &[&str] = if cluster.is_some() {
            &["broadcast"]
        } else {
            &["broadcast", "votes", "asks"]
        };
        all.iter().map(|s| s.to_string()).collect()
    });

    // The hub (or the cluster's nodes and the single node), and their databases.
    let mut spawned = Spawned::default();
    let mut single_at = None;
    let (nodes, pids, token) = match (&args.server, cluster) {
        (Some(url), _) => {
            let token = args
                .admin_token
                .clone()
                .ok_or_else(|| anyhow!("--server needs --admin-token (or TANYA_ADMIN_TOKEN)"))?;
            (vec![net::parse_addr(url)?], vec![args.server_pid], token)
        }
        (None, None) => {
            let path = match &args.spawn {
                Some(p) => p.clone(),
                None => sibling("tanya")?,
            };
            let token = uuid::Uuid::new_v4().simple().to_string();
            let (p, addr) = spawn_hub("tanya", &path, args.quota, &token, None, None)?;
            let pid = p.pid();
            spawned.procs.push(p);
            eprintln!("hub at {addr}");
            (vec![addr], vec![Some(pid)], token)
        }
        (None, Some(n)) => {
            let path = match &args.spawn {
                Some(p) => p.clone(),
                None => sibling("tanya")?,
            };
            // The same admin token and quotas on every node.
            let token = uuid::Uuid::new_v4().simple().to_string();
            let single_db = PgDb::create(&args.pg)?;
            let single_url = single_db.url();
            spawned.dbs.push(single_db);
            let (p, addr) = spawn_hub("single", &path, args.quota, &token, Some(single_url), None)?;
            single_at = Some((addr, p.pid()));
            spawned.procs.push(p);
            eprintln!("single node at {addr} (PostgreSQL, no bus)");
            let cluster_db = PgDb::create(&args.pg)?;
            let cluster_url = cluster_db.url();
            spawned.dbs.push(cluster_db);
            let (mut addrs, mut pids) = (vec![], vec![]);
            for k in 0..n {
                let (p, addr) = spawn_hub(
                    &format!("node {k}"),
                    &path,
                    args.quota,
                    &token,
                    Some(cluster_url.clone()),
                    Some(&args.bus),
                )?;
                eprintln!("node {k} at {addr} (bus {})", args.bus);
                addrs.push(addr);
                pids.push(Some(p.pid()));
                spawned.procs.push(p);
            }
            (addrs, pids, token)
        }
    };

    // The floor (not with --cluster: there the single node is the reference).
    let mut _floor_proc = None;
    let floor_at = if args.no_floor || cluster.is_some() {
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

    // The sessions and the staff: on node 0 first, so that node 0 owns the cluster's session;
    // then each other node must relay it before phones come.
    let mut main = Side::open(Target::Tanya, nodes, pids, &token, 1).await?;
    let single = match single_at {
        Some((addr, pid)) => {
            Some(Side::open(Target::Single, vec![addr], vec![Some(pid)], &token, 11).await?)
        }
        None => None,
    };
    if cluster.is_some() {
        main.open_relay_observers(20).await?;
    }
    let floor = match floor_at {
        Some((addr, _)) => {
            let furl = format!("ws://{addr}/ws");
            let (c, _) =
                Staff::open("floor-control", addr, &furl, 5, &json!({"type":"control"})).await?;
            Some((addr, furl, c))
        }
        None => None,
    };

    let workers = Workers::spawn(&sets, n_workers, args.worker_threads)?;
    let (cores, model) = net::machine();
    let mut args = args;
    args.scenarios = Some(scenarios);
    let mut b = Bench {
        phones: sets.first().map_or(phones, |s| s.1),
        settle,
        main,
        single,
        floor,
        floor_pid: floor_at.and_then(|f| f.1),
        workers,
        next_job: 0,
        next_staff: 100,
        report: Map::new(),
        lines: Vec::new(),
        failures: Vec::new(),
        args: args.clone(),
    };
    b.report.insert("tool".into(), json!("tanya-bench"));
    b.report.insert("smoke".into(), json!(args.smoke));
    b.report.insert("phones".into(), json!(b.phones));
    b.report.insert(
        "machine".into(),
        json!({"cores": cores, "cpu": model, "workers": n_workers, "worker_threads": args.worker_threads}),
    );
    match cluster {
        None => b.lines.push(format!(
            "tanya-bench: {phones} phones in {n_workers} worker processes; machine: {cores} cores, {model}"
        )),
        Some(n) => b.lines.push(format!(
            "tanya-bench --cluster {n}: {phones} phones on a single node (A) and {phones} on each of \
             {n} nodes (B, {} phones), held at once in {n_workers} worker processes; machine: \
             {cores} cores, {model}",
            n * phones
        )),
    }

    // CPU used on the machine by processes other than this run's (a shared machine).
    let ours = |b: &Bench| -> Option<u64> {
        let mut pids = vec![std::process::id()];
        pids.extend(b.main.pids.iter().flatten());
        pids.extend(b.single.iter().flat_map(|s| s.pids.iter().flatten()));
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
    // Issue 5's targets are about one hub, not a cluster.
    let t = if b.single.is_some() {
        Value::Null
    } else {
        b.targets()
    };
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
        if self.single.is_some() {
            "stated for one hub, not a cluster"
        } else if self.phones >= 10_000 {
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
        let want = |s: &str| self.args.scenarios.iter().flatten().any(|x| x == s);
        let (bc, votes, asks) = (want("broadcast"), want("votes"), want("asks"));
        if bc && self.single.is_some() {
            self.ab_broadcast(rounds).await?;
        } else if bc {
            self.broadcast(rounds).await?;
        }
        if (votes || asks) && self.single.is_some() {
            self.lines.push(format!(
                "votes and asks below: on the cluster's {} phones alone (no single-node comparison)",
                self.phones
            ));
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
        let (servers, hello) = match target {
            Target::Tanya => (self.main.endpoints(), tanya_hello(&self.main.code)),
            Target::Single => {
                let s = self.side(target)?;
                (s.endpoints(), tanya_hello(&s.code))
            }
            Target::Floor => match &self.floor {
                Some((a, u, _)) => (
                    vec![Endpoint {
                        server: a.to_string(),
                        url: u.clone(),
                    }],
                    tanya_hello(&self.main.code),
                ),
                None => bail!("no floor"),
            },
        };
        let n: usize = (0..self.workers.len())
            .map(|w| self.workers.count(target, w))
            .sum();
        for w in 0..self.workers.len() {
            let cmd = ToWorker::Connect(ConnectPlan {
                target,
                servers: servers.clone(),
                hello: hello.clone(),
                first: self.workers.first(target, w),
                count: self.workers.count(target, w),
                per_address: self.args.per_address,
                concurrency: (self.args.connect_concurrency / self.workers.len()).max(1),
            });
            self.workers.send(w, &cmd).await?;
        }
        let timeout = Duration::from_secs(60 + n as u64 / 100);
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

    /// The side holding `target`'s phones.
    fn side(&self, target: Target) -> anyhow::Result<&Side> {
        match target {
            Target::Tanya => Ok(&self.main),
            Target::Single => self
                .single
                .as_ref()
                .ok_or_else(|| anyhow!("no single node")),
            Target::Floor => bail!("the floor has no staff"),
        }
    }

    fn side_mut(&mut self, target: Target) -> anyhow::Result<&mut Side> {
        match target {
            Target::Tanya => Ok(&mut self.main),
            Target::Single => self
                .single
                .as_mut()
                .ok_or_else(|| anyhow!("no single node")),
            Target::Floor => bail!("the floor has no staff"),
        }
    }

    /// A target's name in the summary.
    fn label(&self, target: Target) -> &'static str {
        match target {
            Target::Tanya if self.single.is_some() => "cluster",
            t => t.as_str(),
        }
    }

    /// Phones of `target` over all workers.
    fn count(&self, target: Target) -> usize {
        (0..self.workers.len())
            .map(|w| self.workers.count(target, w))
            .sum()
    }

    /// Held connections and memory per idle phone (per node for a cluster).
    async fn held(&mut self) -> anyhow::Result<()> {
        let mut held = Map::new();
        let targets = if self.single.is_some() {
            vec![Target::Single, Target::Tanya]
        } else if self.floor.is_some() {
            vec![Target::Tanya, Target::Floor]
        } else {
            vec![Target::Tanya]
        };
        for target in targets {
            let pids = match target {
                Target::Floor => vec![self.floor_pid],
                t => self.side(t)?.pids.clone(),
            };
            let n = self.count(target);
            let rss = |pids: &[Option<u32>]| -> Vec<Option<u64>> {
                pids.iter().map(|p| p.and_then(net::rss_bytes)).collect()
            };
            tokio::time::sleep(Duration::from_millis(500)).await;
            let before_each = rss(&pids);
            eprintln!("connecting {n} phones to {}", self.label(target));
            let (ok, failed, took) = self.connect(target).await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after_each = rss(&pids);
            let before: Option<u64> = before_each.iter().copied().sum();
            let after: Option<u64> = after_each.iter().copied().sum();
            let per = match (before, after) {
                (Some(b), Some(a)) if ok > 0 => Some(a.saturating_sub(b) as f64 / ok as f64),
                _ => None,
            };
            if failed > 0 {
                self.failures.push(format!(
                    "{}: {failed} phones failed to connect",
                    self.label(target)
                ));
            }
            let mut entry = json!({
                "connected": ok, "failed": failed, "connect_ms": took,
                "rss_before_mib": before.map(|b| round(mib(b))),
                "rss_after_mib": after.map(|a| round(mib(a))),
                "rss_per_idle_phone_kib": per.map(|p| round(p / 1024.0)),
            });
            let mem = match (before, after, per) {
                (Some(b), Some(a), Some(p)) => format!(
                    "RSS {:.1} → {:.1} MiB: {:.2} KiB per idle phone",
                    mib(b),
                    mib(a),
                    p / 1024.0
                ),
                _ => "RSS unknown (no PID)".into(),
            };
            let target_note = if target == Target::Tanya && self.single.is_none() {
                per.map_or(String::new(), |p| {
                    format!(" [target ≤ 8 KiB: {}]", met(p <= 8192.0))
                })
            } else {
                String::new()
            };
            self.lines.push(format!(
                "held {:<5}: {ok}/{n} phones in {:.1} s; {mem}{target_note}",
                self.label(target),
                took as f64 / 1000.0
            ));
            if pids.len() > 1 {
                // Phone g is on node g % N.
                let k_nodes = pids.len();
                let mut nodes = Vec::new();
                for (k, (b, a)) in before_each.iter().zip(&after_each).enumerate() {
                    let on = n / k_nodes + usize::from(k < n % k_nodes);
                    let per = match (b, a) {
                        (Some(b), Some(a)) if on > 0 => {
                            Some(a.saturating_sub(*b) as f64 / on as f64)
                        }
                        _ => None,
                    };
                    nodes.push(json!({
                        "node": k, "phones": on,
                        "rss_before_mib": b.map(|b| round(mib(b))),
                        "rss_after_mib": a.map(|a| round(mib(a))),
                        "rss_per_idle_phone_kib": per.map(|p| round(p / 1024.0)),
                    }));
                    if let (Some(b), Some(a), Some(p)) = (b, a, per) {
                        self.lines.push(format!(
                            "  node {k}: {on} phones; RSS {:.1} → {:.1} MiB: {:.2} KiB per idle phone",
                            mib(*b),
                            mib(*a),
                            p / 1024.0
                        ));
                    }
                }
                entry["nodes"] = json!(nodes);
            }
            held.insert(self.label(target).into(), entry);
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
        if self.single.is_none() {
            open.remove("single");
        } else {
            open.remove("floor");
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
        let single = self.count(Target::Single);
        if self.single.is_some() && open.get("single").copied().unwrap_or(0) < single {
            self.failures
                .push(format!("single-node phones closed: {closes:?}"));
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
                task: task(w, self.workers.first(target, w)),
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
        let before = self.main.cpu_total();
        let o = self.finish_task(id, timeout_ms).await?;
        let cpu = self
            .main
            .cpu_total()
            .zip(before)
            .map(|(after, before)| after.saturating_sub(before));
        Ok((o, cpu))
    }

    /// A fresh pending question from a fresh device on `target`'s hub; returns its id.
    async fn ask_on(&mut self, target: Target, text: &str) -> anyhow::Result<String> {
        self.next_staff += 1;
        let n = self.next_staff;
        self.side_mut(target)?.ask(n, text).await
    }

    /// A fresh pending question from a fresh device; returns its id.
    async fn ask(&mut self, text: &str) -> anyhow::Result<String> {
        self.ask_on(Target::Tanya, text).await
    }

    /// A question made live on `target`'s hub, so each round can also toggle the overlay.
    async fn go_live(&mut self, target: Target) -> anyhow::Result<()> {
        let live = self
            .ask_on(target, "Pertanyaan yang sedang dijawab untuk uji beban?")
            .await?;
        let side = self.side_mut(target)?;
        side.moderator
            .command(json!({"type":"approve","question":live,"ref":"live-a"}))
            .await?;
        side.moderator
            .command(json!({"type":"live","question":live,"ref":"live-l"}))
            .await?;
        side.live = Some(false);
        Ok(())
    }

    /// A fresh approved question that every phone has.
    async fn approved(&mut self, text: &str) -> anyhow::Result<String> {
        let id = self.ask(text).await?;
        let job = self
            .start_task(Target::Tanya, 20_000, |_, _| Task::Watch {
                token: id.clone(),
            })
            .await?;
        self.main
            .moderator
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
        self.go_live(Target::Tanya).await?;

        let (mut t_last, mut f_last) = (Lat::default(), Lat::default());
        let (mut t_median, mut f_median) = (Lat::default(), Lat::default());
        let (mut t_phone, mut f_phone) = (Lat::default(), Lat::default());
        let mut staff: BTreeMap<&'static str, Lat> = BTreeMap::new();
        let (mut t_missing, mut f_missing) = (0usize, 0usize);
        let mut template: Option<(String, String)> = None;
        let cpu0 = (self.main.cpu_total(), self.floor_pid.and_then(net::cpu_ms));
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
                        let Round {
                            t0,
                            o,
                            frame,
                            id,
                            staff: st,
                            ..
                        } = self.hub_round(Target::Tanya, r).await?;
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
                    Target::Single => continue,
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
                    Target::Floor => (&mut f_last, &mut f_phone, &mut f_median, &mut f_missing),
                    _ => (&mut t_last, &mut t_phone, &mut t_median, &mut t_missing),
                };
                *missing += o.missing();
                if let Some(m) = sorted.last() {
                    last.push(*m);
                    median.push(sorted[sorted.len() / 2]);
                }
                phone.0.extend(lats);
            }
        }
        let cpu1 = (self.main.cpu_total(), self.floor_pid.and_then(net::cpu_ms));
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

    /// With --cluster: broadcast rounds on the single node (A) and on the cluster (B), in the
    /// order A B A B (a warm-up pair first), both sets of phones held the whole time, so the
    /// two are measured under the same conditions minutes apart at most. Per side: approve →
    /// the last of its phones (and the last phone of each node), every phone's own latency,
    /// phones that missed an approve (warm-up included), and each node's CPU per broadcast:
    /// utime + stime from just before the `approve` until every phone and staff client had its
    /// frames (the approve, the `overlay` toggle sent with it, their fan-out and, in the
    /// cluster, their relay over NATS), summed over the rounds and divided by them.
    async fn ab_broadcast(&mut self, rounds: usize) -> anyhow::Result<()> {
        self.go_live(Target::Single).await?;
        self.go_live(Target::Tanya).await?;
        let sides = [Target::Single, Target::Tanya];
        let mut acc: BTreeMap<Target, Acc> = BTreeMap::new();
        for t in sides {
            acc.insert(t, Acc::new(self.side(t)?.nodes.len()));
        }
        let mut order = String::new();
        let mut frame_bytes = 0;
        eprintln!("broadcast A/B: 1 warm-up pair + {rounds} pairs: single node (A), cluster (B)");
        for r in 0..=rounds {
            for target in sides {
                let round = self.hub_round(target, r).await?;
                frame_bytes = round.frame.len().max(frame_bytes);
                if r > 0 {
                    order.push(if target == Target::Single { 'A' } else { 'B' });
                }
                if let Some(a) = acc.get_mut(&target) {
                    a.add(&round, r > 0);
                }
            }
        }

        let held = self.report.get("held").cloned().unwrap_or(Value::Null);
        let (Some(a), Some(b)) = (acc.get(&Target::Single), acc.get(&Target::Tanya)) else {
            bail!("no figures");
        };
        for (t, x) in [(Target::Single, a), (Target::Tanya, b)] {
            if x.missing > 0 {
                let per_node: Vec<String> = x
                    .node_missing
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| **m > 0)
                    .map(|(k, m)| format!("node {k}: {m}"))
                    .collect();
                self.failures.push(format!(
                    "{}: {} phone-receipts missing over {} rounds and the warm-up ({})",
                    self.label(t),
                    x.missing,
                    rounds,
                    per_node.join(", ")
                ));
            }
        }
        let a_cpu = a.cpu_per_round(0);
        let a_last = a.last.pct(50.0);
        let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
        let mut nodes = Vec::new();
        for k in 0..b.node_last.len() {
            let cpu = b.cpu_per_round(k);
            let addr = self.main.nodes.get(k).map(|a| a.to_string());
            nodes.push(json!({
                "node": k,
                "role": if k == 0 { "owner" } else { "relay" },
                "addr": addr,
                "pid": self.main.pids.get(k).copied().flatten(),
                "phones": b.node_phones[k],
                "last_phone_median_ms": round(b.node_last[k].pct(50.0)),
                "last_phone_p99_ms": round(b.node_last[k].pct(99.0)),
                "missing": b.node_missing[k],
                "cpu_ms_per_broadcast": cpu.map_or(Value::Null, round),
                "ratio_last_phone_median_to_single": round(ratio(b.node_last[k].pct(50.0), a_last)),
                "ratio_cpu_to_single": match (cpu, a_cpu) {
                    (Some(c), Some(s)) => round(ratio(c, s)),
                    _ => Value::Null,
                },
                "held": held["cluster"]["nodes"].get(k).cloned().unwrap_or(Value::Null),
            }));
        }
        let all_cpu: Option<f64> = (0..b.node_last.len()).map(|k| b.cpu_per_round(k)).sum();
        self.report.insert(
            "cluster".into(),
            json!({
                "nodes": b.node_last.len(),
                "phones_per_node": self.count(Target::Single),
                "bus": self.args.bus,
                "database": "postgresql, a fresh database per side",
                "mode": "interleaved: both sets of phones held at once, rounds A B A B",
                "order": order,
                "rounds": rounds,
                "frame_bytes": frame_bytes,
                "single": a.json(),
                "cluster": b.json(),
                "per_node": nodes,
                "ratio_last_phone_median": round(ratio(b.last.pct(50.0), a_last)),
                "ratio_last_phone_p99": round(ratio(b.last.pct(99.0), a.last.pct(99.0))),
                "cpu_ms_per_broadcast_all_nodes": all_cpu.map_or(Value::Null, round),
                "ratio_cpu_all_nodes_to_single": match (all_cpu, a_cpu) {
                    (Some(c), Some(s)) => round(ratio(c, s)),
                    _ => Value::Null,
                },
                "held": {"single": held["single"], "cluster": held["cluster"]},
            }),
        );

        let n = b.node_last.len();
        let p = self.count(Target::Single);
        self.lines.push(format!(
            "approve → last phone, A = single node ({p} phones), B = cluster ({n} nodes × {p} phones); \
             {rounds} rounds each, alternating A B A B, both sets held at once ({frame_bytes}-byte frame):"
        ));
        let cpu_s = |c: Option<f64>| c.map_or("unknown".to_string(), |c| format!("{c:.1} ms"));
        self.lines.push(format!(
            "  A single      median {:.1} ms, p99 {:.1} ms; per phone p50 {:.1} ms, p99 {:.1} ms; missing {}; CPU per broadcast {}",
            a.last.pct(50.0),
            a.last.pct(99.0),
            a.phone.pct(50.0),
            a.phone.pct(99.0),
            a.missing,
            cpu_s(a_cpu)
        ));
        self.lines.push(format!(
            "  B cluster     median {:.1} ms, p99 {:.1} ms; per phone p50 {:.1} ms, p99 {:.1} ms; missing {}; CPU per broadcast, all nodes {}; ratio B/A (median last phone) {:.2}",
            b.last.pct(50.0),
            b.last.pct(99.0),
            b.phone.pct(50.0),
            b.phone.pct(99.0),
            b.missing,
            cpu_s(all_cpu),
            ratio(b.last.pct(50.0), a_last)
        ));
        for k in 0..n {
            let cpu = b.cpu_per_round(k);
            let cpu_ratio = match (cpu, a_cpu) {
                (Some(c), Some(s)) => format!("{:.2}", ratio(c, s)),
                _ => "unknown".into(),
            };
            self.lines.push(format!(
                "    node {k} ({}) median {:.1} ms, p99 {:.1} ms; missing {}; CPU per broadcast {}; node/single: last phone {:.2}, CPU {cpu_ratio}",
                if k == 0 { "owner" } else { "relay" },
                b.node_last[k].pct(50.0),
                b.node_last[k].pct(99.0),
                b.node_missing[k],
                cpu_s(cpu),
                ratio(b.node_last[k].pct(50.0), a_last)
            ));
        }
        for (k, v) in &a.staff {
            let w = b.staff.get(k).map_or("none".to_string(), Lat::human);
            self.lines
                .push(format!("  {k:<16} A {} | B {w}", v.human()));
        }
        Ok(())
    }

    /// One round on `target`'s hub: a fresh pending question, then `approve` (and an `overlay`
    /// toggle), every phone of `target` watching for it.
    async fn hub_round(&mut self, target: Target, r: usize) -> anyhow::Result<Round> {
        let id = self
            .ask_on(target, &format!(
                "Putaran {r}: kapan jalan di Plaju diperbaiki, berapa anggarannya tahun ini, dan siapa yang mengawasi pekerjaannya di lapangan?"
            ))
            .await?;
        let job = self
            .start_task(target, 20_000, |_, _| Task::Watch { token: id.clone() })
            .await?;
        tokio::time::sleep(self.settle).await;
        let side = self.side_mut(target)?;
        side.drain();
        let cpu0 = side.cpu();
        let (t0, t1, aref) = side.trigger(r, &id).await?;
        let o = self.finish_task(job, 20_000).await?;
        let side = self.side_mut(target)?;
        let (frame, staff, failures) = side.staff_check(r, &id, &aref, t0, t1).await;
        let cpu = side
            .cpu()
            .into_iter()
            .zip(cpu0)
            .map(|(b, a)| Some(b?.saturating_sub(a?)))
            .collect();
        self.failures.extend(failures);
        Ok(Round {
            t0,
            o,
            frame,
            id,
            staff,
            cpu,
        })
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
            self.main.observer.drain();
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
                .main
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
            self.main.moderator.drain();
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
                .main
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
                for p in 0..self.workers.count(Target::Tanya, w) {
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
