//! A steady load on a hub that dies again and again, and the check of what it acknowledged:
//! phones ask and vote, a moderator approves, each reconnecting when its socket ends and sending
//! again, with the same `ref`, what got no reply. The `Ledger` keeps every `ok` they got and what
//! they tried; `Losses` compares a moderator's welcome after a restart with it.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use super::{
    Acks, Lost, audience_hello, by_id, enter_approved_many, hello, keep_device, reply, rng,
};
use crate::common::{Client, Session, TestServer, keyed_hello};

/// How the phones and the moderator of a test go about it.
pub struct Pace {
    /// Share of a phone's new commands that are asks (the others vote on approved questions).
    pub ask_share: f64,
    /// The text of phone `i`'s `n`-th ask (unique per phone and `n`).
    pub text: fn(usize, u64) -> String,
    /// A phone's pause between two commands, in ms.
    pub think_ms: Range<u64>,
    /// The moderator's pause before each approval.
    pub approve_every: Duration,
    /// The pause before the next try when a socket got no welcome.
    pub redial: Duration,
}

/// What the phones and the moderator were told `ok`, what they tried, and what got no answer.
pub struct Ledger {
    pub pace: Pace,
    pub acks: Acks,
    /// Question id -> phones that sent a vote for it (acknowledged or not).
    pub tried: Mutex<HashMap<String, HashSet<usize>>>,
    pub stop: AtomicBool,
    pub asks_sent: AtomicU64,
    pub votes_sent: AtomicU64,
    /// Commands sent again on a new socket after getting no reply.
    pub resent: AtomicU64,
    /// Clients holding a socket to the hub.
    pub connected: AtomicUsize,
    /// Hub processes killed so far, for a test that counts them. A command sent while this was
    /// `k` that got no answer once it had moved on was in flight at the kill.
    pub kills: AtomicU64,
    /// Commands in flight at the kills counted in `kills` (a test takes them after each one).
    pub in_flight: Mutex<Vec<Value>>,
    /// Commands without a reply within 5 s from a hub not killed (as `kills` tells) meanwhile.
    pub timeouts: AtomicU64,
}

impl Ledger {
    pub fn new(pace: Pace) -> Self {
        Self {
            pace,
            acks: Acks::default(),
            tried: Mutex::default(),
            stop: AtomicBool::new(false),
            asks_sent: AtomicU64::new(0),
            votes_sent: AtomicU64::new(0),
            resent: AtomicU64::new(0),
            connected: AtomicUsize::new(0),
            kills: AtomicU64::new(0),
            in_flight: Mutex::default(),
            timeouts: AtomicU64::new(0),
        }
    }

    /// Enters `questions` approved questions for the phones to vote on, then starts `phones`
    /// phones and the moderator on the session `s` of `server`.
    pub async fn start(
        self: &Arc<Self>,
        server: &TestServer,
        s: &Session,
        phones: usize,
        questions: usize,
        seed: u64,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        {
            let mut m = Client::moderator(server, s).await;
            let ids = enter_approved_many(&mut m, questions, None, |k| {
                format!("Pertanyaan ruangan {k}")
            })
            .await;
            self.acks.pool.lock().unwrap().extend(ids);
        }
        let url = server.ws_url();
        let mut tasks = Vec::new();
        for i in 0..phones {
            let l = self.clone();
            tasks.push(tokio::spawn(phone(url.clone(), s.code.clone(), i, l, seed)));
        }
        tasks.push(tokio::spawn(moderator(url, s.clone(), self.clone())));
        tasks
    }

    /// Stops the phones and the moderator, waiting up to 10 s for each.
    pub async fn halt(&self, tasks: Vec<tokio::task::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }

    /// Records a command that got no answer: in flight at a kill when one happened since it was
    /// sent (else it went to a socket of a hub already dead, or the hub was slow).
    fn unanswered(&self, cmd: &Value, sent_at_kills: u64, why: Lost) {
        if self.kills.load(Ordering::SeqCst) > sent_at_kills {
            self.in_flight.lock().unwrap().push(cmd.clone());
        } else if why == Lost::Timeout {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Phone `i` asks and votes until `ledger.stop`, keeping its device token across sockets.
async fn phone(url: String, code: String, i: usize, ledger: Arc<Ledger>, seed: u64) {
    let pace = &ledger.pace;
    let mut r = rng(seed ^ (i as u64).wrapping_mul(0x9e37_79b9));
    let mut device: Option<String> = None;
    let mut pending: Option<Value> = None;
    let mut n = 0u64;
    while !ledger.stop.load(Ordering::Relaxed) {
        let h = audience_hello(&code, device.as_deref(), None);
        let Ok((mut ws, w)) = hello(&url, &h, Duration::from_secs(3)).await else {
            tokio::time::sleep(pace.redial).await;
            continue;
        };
        ledger.connected.fetch_add(1, Ordering::SeqCst);
        if !keep_device(&mut device, &w) {
            ledger
                .acks
                .error(format!("phone {i}: device token not kept"));
        }
        // The welcome's own votes hold every vote this phone was told ok for.
        let mine: HashSet<&str> = w["you"]["votes"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (q, who) in ledger.acks.votes.lock().unwrap().iter() {
            if who.contains(&i) && !mine.contains(q.as_str()) {
                ledger.acks.error(format!(
                    "phone {i}: acknowledged vote on {q} not in you.votes"
                ));
            }
        }
        while !ledger.stop.load(Ordering::Relaxed) {
            let cmd = match pending.take() {
                Some(c) => {
                    ledger.resent.fetch_add(1, Ordering::Relaxed);
                    c
                }
                None => {
                    n += 1;
                    let pool = ledger.acks.pool.lock().unwrap().clone();
                    if r.random_bool(pace.ask_share) || pool.is_empty() {
                        ledger.asks_sent.fetch_add(1, Ordering::Relaxed);
                        json!({"type":"ask","ref":format!("r{n}"),"text":(pace.text)(i, n)})
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
            let sent_at = ledger.kills.load(Ordering::SeqCst);
            match reply(&mut ws, &cmd, Duration::from_secs(5)).await {
                Ok(v) if v["type"] == "ok" => ledger.acks.phone_ok(i, &cmd, &v),
                Ok(v) => ledger.acks.error(format!("phone {i}: {cmd} -> {v}")),
                Err(why) => {
                    ledger.unanswered(&cmd, sent_at, why);
                    // Retried on the next socket with the same ref (asks are idempotent per ref,
                    // a vote sets a state).
                    pending = Some(cmd);
                    break;
                }
            }
            let think = r.random_range(pace.think_ms.clone());
            tokio::time::sleep(Duration::from_millis(think)).await;
        }
        ledger.connected.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Approves acknowledged asks, one every `approve_every`, so there is always something new to
/// vote on.
async fn moderator(url: String, s: Session, ledger: Arc<Ledger>) {
    let h = keyed_hello("moderator", &s, &s.moderator);
    let mut tried: HashSet<String> = HashSet::new();
    while !ledger.stop.load(Ordering::Relaxed) {
        let Ok((mut ws, _)) = hello(&url, &h, Duration::from_secs(3)).await else {
            tokio::time::sleep(ledger.pace.redial).await;
            continue;
        };
        ledger.connected.fetch_add(1, Ordering::SeqCst);
        while !ledger.stop.load(Ordering::Relaxed) {
            tokio::time::sleep(ledger.pace.approve_every).await;
            let Some(id) = ledger.acks.next_ask(&tried) else {
                continue;
            };
            tried.insert(id.clone());
            let cmd = json!({"type":"approve","ref":format!("a-{id}"),"question":id});
            let sent_at = ledger.kills.load(Ordering::SeqCst);
            match reply(&mut ws, &cmd, Duration::from_secs(5)).await {
                Ok(v) if v["type"] == "ok" => ledger.acks.approve_ok(id),
                Ok(_) => {} // approved before a kill whose reply was lost: conflict
                Err(why) => {
                    ledger.unanswered(&cmd, sent_at, why);
                    break;
                }
            }
        }
        ledger.connected.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What was acknowledged up to a moment.
pub struct Acked {
    /// Question text -> id.
    pub asks: HashMap<String, String>,
    /// Question id -> phones.
    pub votes: HashMap<String, HashSet<usize>>,
    pub approved: HashSet<String>,
}

impl Acked {
    pub fn of(l: &Ledger) -> Self {
        Self {
            asks: l.acks.asks.lock().unwrap().clone(),
            votes: l.acks.votes.lock().unwrap().clone(),
            approved: l.acks.approved.lock().unwrap().clone(),
        }
    }

    /// Acknowledged votes, over every question.
    pub fn votes(&self) -> u64 {
        self.votes.values().map(|s| s.len() as u64).sum()
    }
}

/// What the checks found, summed over the restarts.
#[derive(Default)]
pub struct Losses {
    /// Acknowledged changes compared with the hub after a restart.
    pub checked: u64,
    pub missing_asks: u64,
    pub missing_votes: u64,
    pub lost_approvals: u64,
    /// Votes above the number of phones that ever sent one for the question.
    pub phantom_votes: u64,
    /// Questions with the same text (each ask's text is unique).
    pub duplicates: u64,
    /// What was found, each after the moment it was found at.
    pub notes: Vec<String>,
}

impl Losses {
    /// Compares the moderator's welcome `w` with what was acknowledged (`acked`) and tried.
    pub fn check(&mut self, w: &Value, acked: &Acked, ledger: &Ledger, when: &str) {
        let qs = by_id(w);
        let mut note = |s: String| self.notes.push(format!("{when}: {s}"));
        let mut missing_asks = 0;
        for (text, id) in &acked.asks {
            if qs.get(id).is_none_or(|q| q["text"] != json!(text)) {
                missing_asks += 1;
                note(format!("acknowledged ask {id} {text:?} missing"));
            }
        }
        let mut missing_votes = 0;
        for (id, who) in &acked.votes {
            let n = qs.get(id).and_then(|q| q["votes"].as_u64()).unwrap_or(0);
            if n < who.len() as u64 {
                missing_votes += who.len() as u64 - n;
                note(format!("{id}: {n} votes, {} acknowledged", who.len()));
            }
        }
        let mut lost_approvals = 0;
        for id in &acked.approved {
            if qs.get(id).is_none_or(|q| q["status"] != "approved") {
                lost_approvals += 1;
                note(format!("acknowledged approval of {id} lost"));
            }
        }
        let tried = ledger.tried.lock().unwrap();
        let mut phantom = 0;
        for (id, q) in &qs {
            let n = q["votes"].as_u64().unwrap_or(0);
            let t = tried.get(id).map_or(0, |s| s.len() as u64);
            if n > t {
                phantom += n - t;
                note(format!("{id}: {n} votes, only {t} phones voted"));
            }
        }
        let mut texts: HashMap<&str, u64> = HashMap::new();
        for q in qs.values() {
            *texts.entry(q["text"].as_str().unwrap_or("")).or_default() += 1;
        }
        let duplicates: u64 = texts.values().map(|n| n - 1).sum();
        if duplicates > 0 {
            let twice: Vec<_> = texts.iter().filter(|(_, n)| **n > 1).collect();
            note(format!("{duplicates} duplicated question texts: {twice:?}"));
        }
        self.checked += acked.asks.len() as u64 + acked.votes() + acked.approved.len() as u64;
        self.missing_asks += missing_asks;
        self.missing_votes += missing_votes;
        self.lost_approvals += lost_approvals;
        self.phantom_votes += phantom;
        self.duplicates += duplicates;
    }

    /// Prints the first 20 notes, then the first 20 of `errors` (replies that should not happen).
    pub fn print(&self, errors: &[String]) {
        for n in self.notes.iter().take(20) {
            println!("  {n}");
        }
        for e in errors.iter().take(20) {
            println!("  error: {e}");
        }
    }

    /// Fails unless the SQLite file stayed sound (`integrity`), nothing acknowledged was lost, no
    /// vote came from nowhere, no question was made twice (`db_duplicates`: in the journal) and
    /// no reply was unexpected (`errors`).
    #[track_caller]
    pub fn assert_none(&self, integrity: &str, db_duplicates: u64, errors: &[String]) {
        assert_eq!(integrity, "ok");
        assert_eq!(
            (self.missing_asks, self.missing_votes, self.lost_approvals),
            (0, 0, 0),
            "acknowledged changes lost"
        );
        assert_eq!(self.phantom_votes, 0, "votes no phone sent");
        assert_eq!(
            (self.duplicates, db_duplicates),
            (0, 0),
            "duplicate questions"
        );
        assert!(errors.is_empty(), "unexpected replies: {errors:?}");
    }
}
