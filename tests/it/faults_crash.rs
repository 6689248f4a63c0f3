//! Crashes: the hub is killed with SIGKILL at random moments while 50 phones send a steady
//! stream of asks and votes and a moderator approves. After every restart: every acknowledged
//! ask, vote and approval is there (missing 0), no (device, ref) made two questions, and
//! `PRAGMA integrity_check` says ok. Phones retry what got no reply with the same `ref`,
//! reconnecting with their device token.
//!
//! Quick profile: 20 kills. Soak (`TANYA_SOAK=1`): 100 kills.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::*;
use rand::Rng;
use serde_json::{Value, json};

/// What the phones and the moderator were told `ok`, and what they tried.
#[derive(Default)]
struct Ledger {
    acks: Acks,
    /// Question id -> phones that sent a vote for it (acknowledged or not).
    tried: Mutex<HashMap<String, HashSet<usize>>>,
    stop: AtomicBool,
    asks_sent: AtomicU64,
    votes_sent: AtomicU64,
    resent: AtomicU64,
    reconnects: AtomicU64,
    timeouts: AtomicU64,
}

async fn phone(url: String, code: String, i: usize, ledger: Arc<Ledger>, seed: u64) {
    let mut r = rng(seed ^ (i as u64).wrapping_mul(0x9e37_79b9));
    let mut device: Option<String> = None;
    let mut pending: Option<Value> = None;
    let mut n = 0u64;
    // The soak keeps the session under ~5,000 questions, so the moderator welcome that checks it
    // stays a few MiB (about 650 bytes a question; `buffers.max_write_buffer` is 64 MiB).
    let ask_share = pick(0.25, 0.05);
    while !ledger.stop.load(Ordering::Relaxed) {
        let h = audience_hello(&code, device.as_deref(), None);
        let Ok((mut ws, w)) = hello(&url, &h, Duration::from_secs(3)).await else {
            tokio::time::sleep(Duration::from_millis(30)).await;
            continue;
        };
        ledger.reconnects.fetch_add(1, Ordering::Relaxed);
        if !keep_device(&mut device, &w) {
            ledger
                .acks
                .error(format!("phone {i}: device token not kept"));
        }
        // The welcome's own votes hold every vote this phone was told ok for.
        let mine: HashSet<String> = w["you"]["votes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for (q, who) in ledger.acks.votes.lock().unwrap().iter() {
            if who.contains(&i) && !mine.contains(q) {
                ledger.acks.error(format!(
                    "phone {i}: acknowledged vote on {q} not in you.votes"
                ));
            }
        }
        loop {
            if ledger.stop.load(Ordering::Relaxed) {
                return;
            }
            let cmd = match pending.take() {
                Some(c) => {
                    ledger.resent.fetch_add(1, Ordering::Relaxed);
                    c
                }
                None => {
                    n += 1;
                    let pool = ledger.acks.pool.lock().unwrap().clone();
                    if r.random_bool(ask_share) || pool.is_empty() {
                        ledger.asks_sent.fetch_add(1, Ordering::Relaxed);
                        json!({"type":"ask","ref":format!("r{n}"),
                               "text":format!("Pertanyaan {i}-{n}: kapan izin usaha selesai?")})
                    } else {
                        ledger.votes_sent.fetch_add(1, Ordering::Relaxed);
                        let q = pool[r.random_range(0..pool.len())].clone();
                        json!({"type":"vote","ref":format!("r{n}"),"question":q,"on":true})
                    }
                }
            };
            if cmd["type"] == "vote" {
                let q = cmd["question"].as_str().unwrap().to_string();
                ledger.tried.lock().unwrap().entry(q).or_default().insert(i);
            }
            match reply(&mut ws, &cmd, Duration::from_secs(5)).await {
                Ok(v) if v["type"] == "ok" => ledger.acks.phone_ok(i, &cmd, &v),
                Ok(v) => ledger.acks.error(format!("phone {i}: {cmd} -> {v}")),
                Err(e) => {
                    if e == Lost::Timeout {
                        ledger.timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    pending = Some(cmd);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(r.random_range(10..50))).await;
        }
    }
}

/// Approves phones' questions now and then, so there is always something new to vote on.
async fn moderator(url: String, s: Session, ledger: Arc<Ledger>) {
    let h = keyed_hello("moderator", &s, &s.moderator);
    let mut tried: HashSet<String> = HashSet::new();
    while !ledger.stop.load(Ordering::Relaxed) {
        let Ok((mut ws, _)) = hello(&url, &h, Duration::from_secs(3)).await else {
            tokio::time::sleep(Duration::from_millis(30)).await;
            continue;
        };
        loop {
            if ledger.stop.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Some(id) = ledger.acks.next_ask(&tried) else {
                continue;
            };
            tried.insert(id.clone());
            let cmd = json!({"type":"approve","ref":format!("a-{id}"),"question":id});
            match reply(&mut ws, &cmd, Duration::from_secs(5)).await {
                Ok(v) if v["type"] == "ok" => ledger.acks.approve_ok(id),
                Ok(_) => {} // e.g. approved before a crash whose reply was lost: conflict
                Err(_) => break,
            }
        }
    }
}

/// What was acknowledged up to a moment.
struct Acked {
    asks: HashMap<String, String>,
    votes: HashMap<String, HashSet<usize>>,
    approved: HashSet<String>,
}

impl Acked {
    fn of(l: &Ledger) -> Self {
        Self {
            asks: l.acks.asks.lock().unwrap().clone(),
            votes: l.acks.votes.lock().unwrap().clone(),
            approved: l.acks.approved.lock().unwrap().clone(),
        }
    }
}

/// Compares the hub's moderator view with the ledger: (missing asks, missing votes, phantom
/// votes, missing approvals, duplicates by text).
fn check(
    welcome: &Value,
    acked: &Acked,
    ledger: &Ledger,
) -> (u64, u64, u64, u64, u64, Vec<String>) {
    let qs = by_id(welcome);
    let mut notes = Vec::new();
    let mut missing = 0;
    for (text, id) in &acked.asks {
        if qs.get(id).is_none_or(|q| q["text"] != json!(text)) {
            missing += 1;
            notes.push(format!("acknowledged ask {id} {text:?} missing"));
        }
    }
    let tried = ledger.tried.lock().unwrap();
    let (mut missing_votes, mut phantom) = (0, 0);
    for (id, who) in &acked.votes {
        let n = qs.get(id).and_then(|q| q["votes"].as_u64()).unwrap_or(0);
        if n < who.len() as u64 {
            missing_votes += who.len() as u64 - n;
            notes.push(format!("{id}: {n} votes, {} acknowledged", who.len()));
        }
    }
    for (id, q) in &qs {
        let n = q["votes"].as_u64().unwrap_or(0);
        let t = tried.get(id).map_or(0, |s| s.len() as u64);
        if n > t {
            phantom += n - t;
            notes.push(format!("{id}: {n} votes, only {t} phones voted"));
        }
    }
    let mut missing_approvals = 0;
    for id in &acked.approved {
        if qs.get(id).is_none_or(|q| q["status"] != "approved") {
            missing_approvals += 1;
            notes.push(format!("acknowledged approve of {id} lost"));
        }
    }
    let mut texts: HashMap<&str, u64> = HashMap::new();
    for q in qs.values() {
        *texts.entry(q["text"].as_str().unwrap_or("")).or_default() += 1;
    }
    let dups = texts.values().map(|n| n - 1).sum();
    if dups > 0 {
        notes.push(format!(
            "duplicated texts: {:?}",
            texts.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
        ));
    }
    (
        missing,
        missing_votes,
        phantom,
        missing_approvals,
        dups,
        notes,
    )
}

/// What the checks found, summed.
#[derive(Default)]
struct Losses {
    missing: u64,
    missing_votes: u64,
    phantom: u64,
    lost_approvals: u64,
    dups: u64,
}

impl Losses {
    /// Adds what `check` finds; its notes go to `notes`, each after `when`.
    fn check(
        &mut self,
        welcome: &Value,
        acked: &Acked,
        ledger: &Ledger,
        when: &str,
        notes: &mut Vec<String>,
    ) {
        let (a, b, c, d, e, n) = check(welcome, acked, ledger);
        self.missing += a;
        self.missing_votes += b;
        self.phantom += c;
        self.lost_approvals += d;
        self.dups += e;
        notes.extend(n.into_iter().map(|n| format!("{when}: {n}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_kill_9_at_random_moments() {
    let _machine = loads_the_machine().await;
    let kills = pick(20, 100);
    let phones = 50;
    let seed = seed();
    let t0 = Instant::now();
    let mut server = unlimited_hub();
    let s = server.demo_session().await;
    let ledger = Arc::new(Ledger::default());
    {
        let mut m = Client::moderator(&server, &s).await;
        let ids =
            enter_approved_many(&mut m, 30, None, |k| format!("Pertanyaan ruangan {k}")).await;
        ledger.acks.pool.lock().unwrap().extend(ids);
    }
    let url = server.ws_url();
    let mut tasks = Vec::new();
    for i in 0..phones {
        tasks.push(tokio::spawn(phone(
            url.clone(),
            s.code.clone(),
            i,
            ledger.clone(),
            seed,
        )));
    }
    tasks.push(tokio::spawn(moderator(
        url.clone(),
        s.clone(),
        ledger.clone(),
    )));

    let mut r = rng(seed);
    let mut losses = Losses::default();
    let mut db_dups = 0;
    let mut integrity = "ok".to_string();
    let mut notes = Vec::new();
    for k in 0..kills {
        // Let the load run a random while (the phones reconnect first).
        tokio::time::sleep(between(
            &mut r,
            Duration::from_millis(200),
            Duration::from_millis(900),
        ))
        .await;
        blocking(|| server.kill9());
        // Replies already in the phones' socket buffers are acknowledgements too.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let ic = integrity_check(&server.db_path()).await;
        if ic != "ok" {
            integrity = ic.clone();
            notes.push(format!("kill {k}: integrity_check: {ic}"));
        }
        db_dups += db_duplicate_questions(&server.db_path()).await;
        // What was acknowledged up to the kill (taken before the new process can add more).
        let acked = Acked::of(&ledger);
        blocking(|| server.restart());
        let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
        losses.check(&w, &acked, &ledger, &format!("after kill {k}"), &mut notes);
    }
    // The phones finish their retries on the last process, then stop.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ledger.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    let acked = Acked::of(&ledger);
    let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
    losses.check(&w, &acked, &ledger, "at the end", &mut notes);
    blocking(|| server.kill9());
    let ic = integrity_check(&server.db_path()).await;
    if ic != "ok" {
        integrity = ic;
    }
    db_dups += db_duplicate_questions(&server.db_path()).await;

    let acked_votes: usize = ledger
        .acks
        .votes
        .lock()
        .unwrap()
        .values()
        .map(HashSet::len)
        .sum();
    let errors = ledger.acks.errors.lock().unwrap().clone();
    figures(
        "faults_crash",
        &[
            ("kills", kills.to_string()),
            ("phones", phones.to_string()),
            (
                "acked_asks",
                ledger.acks.asks.lock().unwrap().len().to_string(),
            ),
            ("acked_votes", acked_votes.to_string()),
            (
                "acked_approvals",
                ledger.acks.approved.lock().unwrap().len().to_string(),
            ),
            (
                "sent",
                (ledger.asks_sent.load(Ordering::Relaxed)
                    + ledger.votes_sent.load(Ordering::Relaxed))
                .to_string(),
            ),
            ("resent", ledger.resent.load(Ordering::Relaxed).to_string()),
            ("missing", losses.missing.to_string()),
            ("missing_votes", losses.missing_votes.to_string()),
            ("phantom_votes", losses.phantom.to_string()),
            ("lost_approvals", losses.lost_approvals.to_string()),
            ("duplicates", losses.dups.to_string()),
            ("db_duplicates", db_dups.to_string()),
            ("integrity", integrity.clone()),
            ("errors", errors.len().to_string()),
            ("seed", seed.to_string()),
            ("secs", format!("{:.1}", t0.elapsed().as_secs_f64())),
        ],
    );
    for n in notes.iter().take(20) {
        println!("  {n}");
    }
    for e in errors.iter().take(20) {
        println!("  error: {e}");
    }
    assert!(
        ledger.acks.asks.lock().unwrap().len() > 100,
        "the load ran (acknowledged asks)"
    );
    assert!(acked_votes > 100, "the load ran (acknowledged votes)");
    assert_eq!(integrity, "ok");
    assert_eq!(
        (losses.missing, losses.missing_votes, losses.lost_approvals),
        (0, 0, 0),
        "acknowledged changes lost"
    );
    assert_eq!(losses.phantom, 0, "votes no phone sent");
    assert_eq!((losses.dups, db_dups), (0, 0), "duplicate questions");
    assert!(errors.is_empty(), "unexpected replies: {errors:?}");
}
