//! Shutdown under load: 50 phones ask and vote, a moderator approves, screens and an overlay
//! watch; then SIGTERM. The process exits 0 within 10 s, every socket gets 4503, and after a
//! restart every acknowledged change is there.
//!
//! Quick profile: 2 s of load before SIGTERM, 3 rounds. Soak (`TANYA_SOAK=1`): 10 rounds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::*;
use rand::Rng;
use serde_json::{Value, json};

#[derive(Default)]
struct Ledger {
    acks: Acks,
    /// Close code -> sockets.
    closes: Mutex<BTreeMap<String, u64>>,
    /// Commands whose socket closed before their reply: when each was sent.
    unanswered: Mutex<Vec<Instant>>,
    /// When SIGTERM was sent.
    sigterm: Mutex<Option<Instant>>,
}

impl Ledger {
    fn closed(&self, code: String) {
        *self.closes.lock().unwrap().entry(code).or_default() += 1;
    }
}

fn code_of(e: &Lost) -> String {
    match e {
        Lost::Closed(c) => c.to_string(),
        Lost::Timeout => "timeout".into(),
    }
}

/// A phone that asks and votes until its socket closes; returns nothing, records everything.
async fn phone(url: String, code: String, i: usize, round: usize, l: Arc<Ledger>) {
    let mut r = rng(seed() ^ i as u64);
    let Ok((mut ws, _)) = join_phone(&url, &code, None).await else {
        l.acks.error(format!("phone {i}: no welcome"));
        return;
    };
    for n in 0.. {
        let pool = l.acks.pool.lock().unwrap().clone();
        let cmd = if pool.is_empty() || r.random_bool(0.3) {
            json!({"type":"ask","ref":format!("r{n}"),
                   "text":format!("Ronde {round} warga {i} nomor {n}: kapan lampu jalan dipasang?")})
        } else {
            let q = &pool[r.random_range(0..pool.len())];
            json!({"type":"vote","ref":format!("r{n}"),"question":q,"on":true})
        };
        let sent = Instant::now();
        match reply(&mut ws, &cmd, Duration::from_secs(15)).await {
            Ok(v) if v["type"] == "ok" => l.acks.phone_ok(i, &cmd, &v),
            Ok(v) => l.acks.error(format!("phone {i}: {cmd} -> {v}")),
            Err(e) => {
                l.unanswered.lock().unwrap().push(sent);
                l.closed(code_of(&e));
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(r.random_range(5..30))).await;
    }
}

/// A socket that only watches (screen, overlay, an idle phone) until it is closed.
async fn watcher(url: String, h: Value, l: Arc<Ledger>) {
    let Ok((mut ws, _)) = hello(&url, &h, Duration::from_secs(10)).await else {
        l.acks.error(format!("watcher {h}: no welcome"));
        return;
    };
    loop {
        if let Err(e) = recv(&mut ws, Duration::from_secs(30)).await {
            l.closed(code_of(&e));
            return;
        }
    }
}

async fn moderator(url: String, s: Session, l: Arc<Ledger>) {
    let h = keyed_hello("moderator", &s, &s.moderator);
    let Ok((mut ws, _)) = hello(&url, &h, Duration::from_secs(10)).await else {
        l.acks.error("moderator: no welcome".into());
        return;
    };
    let mut done: HashSet<String> = HashSet::new();
    loop {
        let r = match l.acks.next_ask(&done) {
            Some(id) => {
                done.insert(id.clone());
                let cmd = json!({"type":"approve","ref":format!("a-{id}"),"question":id});
                reply(&mut ws, &cmd, Duration::from_secs(15))
                    .await
                    .map(|v| (v, Some(id)))
            }
            None => recv(&mut ws, Duration::from_millis(50))
                .await
                .map(|v| (v, None))
                .or_else(|e| {
                    if e == Lost::Timeout {
                        Ok((Value::Null, None))
                    } else {
                        Err(e)
                    }
                }),
        };
        match r {
            Ok((v, Some(id))) if v["type"] == "ok" => l.acks.approve_ok(id),
            Ok(_) => {}
            Err(e) => {
                l.closed(code_of(&e));
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_keeps_every_acknowledged_change_and_says_4503_to_every_socket() {
    let _machine = loads_the_machine().await;
    let rounds = pick(3, 10);
    let phones = 50;
    let mut server = unlimited_hub();
    let url = server.ws_url();
    let mut exits = Vec::new();
    let mut notes = Vec::new();
    let (mut total_sockets, mut total_4503, mut total_asks, mut total_votes) = (0, 0, 0, 0);
    let mut missing = 0;
    let (mut unanswered, mut unanswered_before, mut unanswered_old) = (0, 0, 0);
    for round in 0..rounds {
        // A session per round, all in one store that every round restarts.
        let s = server.demo_session().await;
        let l = Arc::new(Ledger::default());
        let mut tasks = Vec::new();
        for i in 0..phones {
            tasks.push(tokio::spawn(phone(
                url.clone(),
                s.code.clone(),
                i,
                round,
                l.clone(),
            )));
        }
        let watchers = [
            keyed_hello("screen", &s, &s.screen),
            keyed_hello("overlay", &s, &s.overlay),
            json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
            audience_hello(&s.code, None, None),
            audience_hello(&s.code, None, None),
        ];
        for h in watchers.iter() {
            tasks.push(tokio::spawn(watcher(url.clone(), h.clone(), l.clone())));
        }
        tasks.push(tokio::spawn(moderator(url.clone(), s.clone(), l.clone())));
        let sockets = tasks.len() as u64;
        tokio::time::sleep(Duration::from_millis(2000)).await;

        *l.sigterm.lock().unwrap() = Some(Instant::now());
        let (st, took) = blocking(|| server.terminate());
        exits.push((st.code(), took));
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(15), t)
                .await
                .expect("every socket ends after SIGTERM")
                .unwrap();
        }
        let closes = l.closes.lock().unwrap().clone();
        let n4503 = closes.get("4503").copied().unwrap_or(0);
        total_sockets += sockets;
        total_4503 += n4503;
        let term = l.sigterm.lock().unwrap().unwrap();
        for sent in l.unanswered.lock().unwrap().iter() {
            unanswered += 1;
            if *sent < term {
                unanswered_before += 1;
            }
            if *sent + Duration::from_millis(200) < term {
                unanswered_old += 1;
            }
        }
        if n4503 != sockets {
            notes.push(format!(
                "round {round}: closes {closes:?} of {sockets} sockets"
            ));
        }
        let errs = l.acks.errors.lock().unwrap().clone();
        notes.extend(errs.into_iter().map(|e| format!("round {round}: {e}")));

        // Everything acknowledged is there after the restart.
        blocking(|| server.restart());
        let qs = export_questions(&server, &s.id).await;
        let asks = l.acks.asks.lock().unwrap().clone();
        let votes = l.acks.votes.lock().unwrap().clone();
        total_asks += asks.len();
        total_votes += votes.values().map(HashSet::len).sum::<usize>();
        for (text, id) in &asks {
            if qs.get(id).is_none_or(|q| q["text"] != json!(text)) {
                missing += 1;
                notes.push(format!("round {round}: acknowledged ask {id} missing"));
            }
        }
        for (id, who) in &votes {
            let n = qs.get(id).and_then(|q| q["votes"].as_u64()).unwrap_or(0);
            if n < who.len() as u64 {
                missing += who.len() as u64 - n;
                notes.push(format!(
                    "round {round}: {id} has {n} votes, {} acknowledged",
                    who.len()
                ));
            }
        }
        for id in l.acks.approved.lock().unwrap().iter() {
            if qs.get(id).is_none_or(|q| q["status"] != "approved") {
                missing += 1;
                notes.push(format!("round {round}: acknowledged approve of {id} lost"));
            }
        }
    }
    let worst = exits.iter().map(|(_, d)| *d).max().unwrap_or_default();
    figures(
        "faults_shutdown",
        &[
            ("rounds", rounds.to_string()),
            ("sockets", total_sockets.to_string()),
            ("got_4503", total_4503.to_string()),
            ("acked_asks", total_asks.to_string()),
            ("acked_votes", total_votes.to_string()),
            ("unanswered", unanswered.to_string()),
            (
                "unanswered_sent_before_sigterm",
                unanswered_before.to_string(),
            ),
            ("unanswered_sent_200ms_before", unanswered_old.to_string()),
            ("missing", missing.to_string()),
            (
                "exit_codes",
                exits
                    .iter()
                    .map(|(c, _)| c.map_or("signal".into(), |c| c.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("worst_exit_s", format!("{:.2}", worst.as_secs_f64())),
        ],
    );
    for n in notes.iter().take(20) {
        println!("  {n}");
    }
    assert!(total_asks > 100 && total_votes > 100, "the load ran");
    assert!(
        exits.iter().all(|(c, _)| *c == Some(0)),
        "exit codes: {exits:?}"
    );
    assert!(worst < Duration::from_secs(10), "exit took {worst:?}");
    assert_eq!(missing, 0, "acknowledged changes lost: {notes:?}");
    assert_eq!(
        unanswered_old, 0,
        "commands sent well before SIGTERM are answered before the 4503"
    );
    assert_eq!(
        total_4503, total_sockets,
        "every socket gets 4503: {notes:?}"
    );
}
