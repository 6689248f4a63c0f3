//! Crashes: the hub is killed with SIGKILL at random moments while 50 phones send a steady
//! stream of asks and votes and a moderator approves. After every restart: every acknowledged
//! ask, vote and approval is there (missing 0), no (device, ref) made two questions, and
//! `PRAGMA integrity_check` says ok. Phones retry what got no reply with the same `ref`,
//! reconnecting with their device token.
//!
//! Quick profile: 20 kills. Soak (`TANYA_SOAK=1`): 100 kills.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::ledger::{Acked, Ledger, Losses, Pace};
use crate::faults::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_kill_9_at_random_moments() {
    let _machine = loads_the_machine().await;
    let kills = pick(20, 100);
    let phones = 50;
    let seed = seed();
    let t0 = Instant::now();
    let mut server = unlimited_hub();
    let s = server.demo_session().await;
    let ledger = Arc::new(Ledger::new(Pace {
        // The soak keeps the session under ~5,000 questions, so the moderator welcome that checks
        // it stays a few MiB (about 650 bytes a question; `buffers.max_write_buffer` is 64 MiB).
        ask_share: pick(0.25, 0.05),
        text: |i, n| format!("Pertanyaan {i}-{n}: kapan izin usaha selesai?"),
        think_ms: 10..50,
        approve_every: Duration::from_millis(100),
        redial: Duration::from_millis(30),
    }));
    let tasks = ledger.start(&server, &s, phones, 30, seed).await;
    let url = server.ws_url();

    let mut r = rng(seed);
    let mut losses = Losses::default();
    let mut db_dups = 0;
    let mut integrity = "ok".to_string();
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
        let ic = store_check(&server).await;
        if ic != "ok" {
            integrity = ic.clone();
            losses
                .notes
                .push(format!("kill {k}: integrity_check: {ic}"));
        }
        db_dups += store_duplicate_questions(&server).await;
        // What was acknowledged up to the kill (taken before the new process can add more).
        let acked = Acked::of(&ledger);
        blocking(|| server.restart());
        let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
        losses.check(&w, &acked, &ledger, &format!("after kill {k}"));
    }
    // The phones finish their retries on the last process, then stop.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ledger.halt(tasks).await;
    let acked = Acked::of(&ledger);
    let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
    losses.check(&w, &acked, &ledger, "at the end");
    blocking(|| server.kill9());
    let ic = store_check(&server).await;
    if ic != "ok" {
        integrity = ic;
    }
    db_dups += store_duplicate_questions(&server).await;

    let total = Acked::of(&ledger);
    let errors = ledger.acks.errors.lock().unwrap().clone();
    figures(
        "faults_crash",
        &[
            ("kills", kills.to_string()),
            ("phones", phones.to_string()),
            ("acked_asks", total.asks.len().to_string()),
            ("acked_votes", total.votes().to_string()),
            ("acked_approvals", total.approved.len().to_string()),
            (
                "sent",
                (ledger.asks_sent.load(Ordering::Relaxed)
                    + ledger.votes_sent.load(Ordering::Relaxed))
                .to_string(),
            ),
            ("resent", ledger.resent.load(Ordering::Relaxed).to_string()),
            ("missing", losses.missing_asks.to_string()),
            ("missing_votes", losses.missing_votes.to_string()),
            ("phantom_votes", losses.phantom_votes.to_string()),
            ("lost_approvals", losses.lost_approvals.to_string()),
            ("duplicates", losses.duplicates.to_string()),
            ("db_duplicates", db_dups.to_string()),
            ("integrity", integrity.clone()),
            ("errors", errors.len().to_string()),
            ("seed", seed.to_string()),
            ("secs", format!("{:.1}", t0.elapsed().as_secs_f64())),
        ],
    );
    losses.print(&errors);
    assert!(total.asks.len() > 100, "the load ran (acknowledged asks)");
    assert!(total.votes() > 100, "the load ran (acknowledged votes)");
    losses.assert_none(&integrity, db_dups, &errors);
}
