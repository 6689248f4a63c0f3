//! `tanya-bench --worker`: a process holding phones for the coordinator. Commands arrive as JSON
//! lines on stdin, reports leave as JSON lines on stdout ([`crate::wire`]).
//!
//! A phone is one task owning its socket. It never parses a frame: it looks for the substring
//! the current task names (a question id, its command's `ref`) and stores a timestamp in a
//! shared slot. Nothing per frame is allocated beyond what tungstenite itself does.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite::Message;

use crate::net::{self, Space, Ws, now_ns};
use crate::wire::{ConnectPlan, FromWorker, Target, Task, ToWorker};

/// One task on every phone of a group.
struct Job {
    id: u64,
    task: Task,
    /// `"ref":"jID"`: how a phone recognizes the reply to its command.
    reply_ref: String,
    /// The `ref` of its command.
    cmd_ref: String,
    sent: Vec<AtomicU64>,
    got: Vec<AtomicU64>,
    /// Phones still to answer; `done` fires at zero.
    remaining: AtomicUsize,
    done: Notify,
    errors: Mutex<BTreeMap<String, usize>>,
    samples: Mutex<Vec<String>>,
}

impl Job {
    fn finish_one(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }

    fn got(&self, idx: usize) {
        if let Some(slot) = self.got.get(idx)
            && slot
                .compare_exchange(0, now_ns(), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.finish_one();
        }
    }

    fn error(&self, frame: &str) {
        let code = net::raw_str(frame, "code").unwrap_or("unknown").to_string();
        *lock(&self.errors).entry(code).or_default() += 1;
        let mut s = lock(&self.samples);
        if s.len() < 5 {
            s.push(frame.chars().take(300).collect());
        }
        self.finish_one();
    }

    /// When phone `idx` (global rank `rank_base + idx`) sends its command, if the task has one.
    fn send_at(&self, idx: usize) -> Option<u64> {
        let (t0, rate, base) = match &self.task {
            Task::Watch { .. } => return None,
            Task::Vote {
                t0,
                rate,
                rank_base,
                ..
            }
            | Task::Ask {
                t0,
                rate,
                rank_base,
                ..
            } => (*t0, *rate, *rank_base),
        };
        let offset = if rate > 0.0 {
            ((base + idx as u64) as f64 * 1e9 / rate) as u64
        } else {
            0
        };
        Some(t0 + offset)
    }

    fn command(&self, worker: u32, idx: usize) -> String {
        match &self.task {
            Task::Watch { .. } => String::new(),
            Task::Vote { question, on, .. } => format!(
                r#"{{"type":"vote","ref":"{}","question":"{question}","on":{on}}}"#,
                self.cmd_ref
            ),
            Task::Ask { tag, .. } => format!(
                r#"{{"type":"ask","ref":"{}","text":"Uji beban {tag}-{worker}-{idx}: kapan jalan di Plaju diperbaiki?"}}"#,
                self.cmd_ref
            ),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The phones of one target in this worker.
struct Group {
    target: Target,
    current: RwLock<Option<Arc<Job>>>,
    /// Bumped when a task needs the phones to send something.
    kick: watch::Sender<u64>,
    /// Phone slots (connected or not).
    slots: AtomicUsize,
    open: AtomicUsize,
    closes: Mutex<BTreeMap<String, usize>>,
}

impl Group {
    fn new(target: Target) -> Self {
        Self {
            target,
            current: RwLock::new(None),
            kick: watch::channel(0).0,
            slots: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            closes: Mutex::new(BTreeMap::new()),
        }
    }

    fn job(&self) -> Option<Arc<Job>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn on_frame(&self, idx: usize, frame: &str) {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        let Some(job) = guard.as_ref() else {
            return;
        };
        match &job.task {
            Task::Watch { token } => {
                if frame.contains(token.as_str())
                    && (self.target == Target::Floor || frame.contains(r#""type":"question""#))
                {
                    job.got(idx);
                }
            }
            Task::Vote { .. } | Task::Ask { .. } => {
                if frame.contains(job.reply_ref.as_str()) {
                    if frame.contains(r#""type":"ok""#) {
                        job.got(idx);
                    } else if frame.contains(r#""type":"error""#) {
                        job.error(frame);
                    }
                }
            }
        }
    }

    fn closed(&self, why: String) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        *lock(&self.closes).entry(why).or_default() += 1;
    }
}

type Pending = Option<(Arc<Job>, Pin<Box<Sleep>>)>;

async fn wait_pending(p: &mut Pending) {
    match p {
        Some((_, s)) => s.as_mut().await,
        None => std::future::pending().await,
    }
}

/// One phone: reads every frame, acts on the group's tasks.
async fn phone(group: Arc<Group>, worker: u32, idx: usize, mut ws: Ws) {
    let mut kick = group.kick.subscribe();
    let mut pending: Pending = None;
    let why = loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => group.on_frame(idx, t.as_str()),
                Some(Ok(Message::Close(f))) => {
                    break match f {
                        Some(f) => format!("{}", u16::from(f.code)),
                        None => "close".into(),
                    };
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("error: {e}"),
                None => break "eof".into(),
            },
            r = kick.changed() => {
                if r.is_err() {
                    break "quit".into();
                }
                pending = group.job().and_then(|job| {
                    let t = job.send_at(idx)?;
                    Some((job, Box::pin(tokio::time::sleep(net::until(t)))))
                });
            }
            _ = wait_pending(&mut pending) => {
                if let Some((job, _)) = pending.take() {
                    let cmd = job.command(worker, idx);
                    if let Some(slot) = job.sent.get(idx) {
                        slot.store(now_ns(), Ordering::Release);
                    }
                    if let Err(e) = ws.send(Message::Text(cmd.into())).await {
                        break format!("send: {e}");
                    }
                }
            }
        }
    };
    group.closed(why);
}

/// Opens one phone: connect from its source address, `hello`, wait for `welcome`.
async fn open_phone(
    target: Target,
    server: std::net::SocketAddr,
    url: &str,
    hello: &str,
    global: u64,
    per_address: u64,
) -> anyhow::Result<Ws> {
    let space = match target {
        Target::Tanya => Space::Tanya,
        Target::Floor => Space::Floor,
        Target::Single => Space::Single,
    };
    let src = net::source(space, global, per_address);
    let mut ws = net::connect(server, src, url, net::phone_config()).await?;
    ws.send(Message::Text(hello.to_string().into())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains(r#""type":"welcome""#) => {
                return Ok(ws);
            }
            Some(Ok(Message::Close(f))) => anyhow::bail!("closed before welcome: {f:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("eof before welcome"),
        }
    }
}

/// Runs the worker until `quit` or the end of stdin.
pub async fn run(worker: u32) -> anyhow::Result<()> {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<FromWorker>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(ev) = out_rx.recv().await {
            let mut line = serde_json::to_string(&ev).unwrap_or_default();
            line.push('\n');
            if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let groups: BTreeMap<&'static str, Arc<Group>> = [Target::Tanya, Target::Floor, Target::Single]
        .into_iter()
        .map(|t| (t.as_str(), Arc::new(Group::new(t))))
        .collect();
    let group = |t: Target| groups.get(t.as_str()).cloned();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let cmd: ToWorker = match serde_json::from_str(&line) {
            Ok(c) => c,
            Err(e) => {
                let _ = out_tx.send(FromWorker::Fatal {
                    message: format!("bad command {line:?}: {e}"),
                });
                continue;
            }
        };
        match cmd {
            ToWorker::Connect(plan) => {
                let Some(g) = group(plan.target) else {
                    continue;
                };
                let mut servers = Vec::with_capacity(plan.servers.len());
                for e in &plan.servers {
                    servers.push((
                        net::parse_addr(&e.server)?,
                        Arc::<str>::from(e.url.as_str()),
                    ));
                }
                if servers.is_empty() {
                    anyhow::bail!("connect: no server");
                }
                tokio::spawn(connect_all(g, worker, servers, plan, out_tx.clone()));
            }
            ToWorker::Run {
                id,
                target,
                task,
                timeout_ms,
            } => {
                let Some(g) = group(target) else { continue };
                let n = g.slots.load(Ordering::Acquire);
                let job = Arc::new(Job {
                    id,
                    reply_ref: format!(r#""ref":"j{id}""#),
                    cmd_ref: format!("j{id}"),
                    sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
                    got: (0..n).map(|_| AtomicU64::new(0)).collect(),
                    remaining: AtomicUsize::new(g.open.load(Ordering::Acquire)),
                    done: Notify::new(),
                    errors: Mutex::new(BTreeMap::new()),
                    samples: Mutex::new(Vec::new()),
                    task,
                });
                if job.remaining.load(Ordering::Acquire) == 0 {
                    job.done.notify_one();
                }
                let acts = !matches!(job.task, Task::Watch { .. });
                *g.current.write().unwrap_or_else(|e| e.into_inner()) = Some(job.clone());
                if acts {
                    g.kick.send_modify(|v| *v += 1);
                }
                let _ = out_tx.send(FromWorker::Started { id });
                let out = out_tx.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_millis(timeout_ms),
                        job.done.notified(),
                    )
                    .await;
                    {
                        let mut cur = g.current.write().unwrap_or_else(|e| e.into_inner());
                        if cur.as_ref().is_some_and(|c| c.id == job.id) {
                            *cur = None;
                        }
                    }
                    let _ = out.send(FromWorker::Done {
                        id: job.id,
                        sent: job.sent.iter().map(|a| a.load(Ordering::Acquire)).collect(),
                        got: job.got.iter().map(|a| a.load(Ordering::Acquire)).collect(),
                        errors: lock(&job.errors).clone(),
                        samples: lock(&job.samples).clone(),
                    });
                });
            }
            ToWorker::Status => {
                let mut open = BTreeMap::new();
                let mut closes = BTreeMap::new();
                for (name, g) in &groups {
                    open.insert(name.to_string(), g.open.load(Ordering::Acquire));
                    for (k, v) in lock(&g.closes).iter() {
                        *closes.entry(format!("{name}:{k}")).or_insert(0) += v;
                    }
                }
                let _ = out_tx.send(FromWorker::Status { open, closes });
            }
            ToWorker::Quit => break,
        }
    }
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    Ok(())
}

/// Opens the plan's phones; phone `g` (global number) to `servers[g % servers.len()]`.
async fn connect_all(
    g: Arc<Group>,
    worker: u32,
    servers: Vec<(std::net::SocketAddr, Arc<str>)>,
    plan: ConnectPlan,
    out: mpsc::UnboundedSender<FromWorker>,
) {
    let ConnectPlan {
        hello,
        first,
        count,
        per_address,
        concurrency,
        ..
    } = plan;
    let start = Instant::now();
    let base = g.slots.fetch_add(count, Ordering::AcqRel);
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let hello: Arc<str> = hello.into();
    let (res_tx, mut res_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    for i in 0..count {
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let global = first + i as u64;
        let (server, url) = servers[(global % servers.len() as u64) as usize].clone();
        let (g, hello, res_tx) = (g.clone(), hello.clone(), res_tx.clone());
        tokio::spawn(async move {
            let idx = base + i;
            let r = tokio::time::timeout(
                Duration::from_secs(30),
                open_phone(g.target, server, &url, &hello, global, per_address),
            )
            .await;
            drop(permit);
            match r {
                Ok(Ok(ws)) => {
                    g.open.fetch_add(1, Ordering::AcqRel);
                    let _ = res_tx.send(Ok(()));
                    drop(res_tx);
                    phone(g, worker, idx, ws).await;
                }
                Ok(Err(e)) => {
                    let _ = res_tx.send(Err(format!("{e:#}")));
                }
                Err(_) => {
                    let _ = res_tx.send(Err("no welcome within 30 s".into()));
                }
            }
        });
    }
    drop(res_tx);
    let (mut ok, mut failed, mut samples) = (0, 0, Vec::new());
    while let Some(r) = res_rx.recv().await {
        match r {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                if samples.len() < 5 {
                    samples.push(e);
                }
            }
        }
    }
    let _ = out.send(FromWorker::Connected {
        target: g.target,
        ok,
        failed,
        ms: start.elapsed().as_millis() as u64,
        samples,
    });
}
