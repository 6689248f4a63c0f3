//! Lost replies: phones talk to the hub through a proxy that drops 30% of the `ok` replies and
//! cuts connections at random. A phone that gets no reply sends the same `ask` again, with the
//! same `ref`, on the same socket or after reconnecting with its device token. In the end the
//! hub holds exactly one question per ask: duplicates 0, lost 0.
//!
//! Quick profile: 1,000 asks. Soak (`TANYA_SOAK=1`): 10,000.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::proxy::Proxy;
use crate::faults::*;
use serde_json::json;

#[derive(Default)]
struct Tally {
    /// Text -> the question id every `ok` for it carried.
    acked: Mutex<HashMap<String, String>>,
    /// An ask whose retry answered another question than before.
    changed: AtomicU64,
    errors: Mutex<Vec<String>>,
    resent: AtomicU64,
    reconnects: AtomicU64,
}

async fn phone(url: String, code: String, i: usize, asks: usize, tally: Arc<Tally>) {
    let mut device: Option<String> = None;
    let mut ws = None;
    let wait = Duration::from_millis(400);
    for k in 0..asks {
        let text = format!("Soal {i}-{k}: apakah jalan di kelurahan kami diperbaiki tahun ini?");
        let cmd = json!({"type":"ask","ref":format!("ask-{k}"),"text":text});
        let mut first = true;
        loop {
            if ws.is_none() {
                let h = audience_hello(&code, device.as_deref(), None);
                match hello(&url, &h, Duration::from_secs(3)).await {
                    Ok((s, w)) => {
                        if !keep_device(&mut device, &w) {
                            tally
                                .errors
                                .lock()
                                .unwrap()
                                .push(format!("phone {i}: device token not kept"));
                        }
                        ws = Some(s);
                        tally.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                }
            }
            if !first {
                tally.resent.fetch_add(1, Ordering::Relaxed);
            }
            first = false;
            let s = ws.as_mut().unwrap();
            match reply(s, &cmd, wait).await {
                Ok(v) if v["type"] == "ok" => {
                    let id = v["question"]["id"].as_str().unwrap_or("").to_string();
                    let mut acked = tally.acked.lock().unwrap();
                    if let Some(old) = acked.insert(text.clone(), id.clone())
                        && old != id
                    {
                        tally.changed.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                Ok(v) => {
                    tally
                        .errors
                        .lock()
                        .unwrap()
                        .push(format!("phone {i}: {cmd} -> {v}"));
                    break;
                }
                Err(Lost::Timeout) => continue, // the reply was dropped: same ref again
                Err(Lost::Closed(_)) => ws = None, // cut: reconnect, same ref again
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ask_lands_exactly_once_despite_lost_replies_and_cuts() {
    let _machine = loads_the_machine().await;
    let total = pick(1_000, 10_000);
    let phones = pick(25, 50);
    let t0 = Instant::now();
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "1000000")]);
    let s = server.demo_session().await;
    let proxy = Proxy::start(&server.addr).await;
    proxy.set_drop_ok(0.3);
    proxy.set_life(Some((
        Duration::from_millis(300),
        Duration::from_millis(3000),
    )));
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for i in 0..phones {
        let n = total / phones + usize::from(i < total % phones);
        tasks.push(tokio::spawn(phone(
            proxy.ws_url(),
            s.code.clone(),
            i,
            n,
            tally.clone(),
        )));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (dropped, passed, cuts, conns) = proxy.counts();
    drop(proxy);

    // What the hub holds, seen directly (not through the proxy): the export.
    let qs = export_questions(&server, &s.id).await;
    let acked = tally.acked.lock().unwrap().clone();
    let lost = acked
        .iter()
        .filter(|(text, id)| qs.get(*id).is_none_or(|q| q["text"] != json!(text)))
        .count();
    let mut per_text: HashMap<&str, usize> = HashMap::new();
    for q in qs.values() {
        *per_text
            .entry(q["text"].as_str().unwrap_or(""))
            .or_default() += 1;
    }
    let duplicates = per_text.values().map(|n| n - 1).sum::<usize>()
        + tally.changed.load(Ordering::Relaxed) as usize;
    let unacked = total - acked.len();
    let db_dups = store_duplicate_questions(&server).await;
    let errors = tally.errors.lock().unwrap().clone();
    figures(
        "faults_lost_replies",
        &[
            ("asks", total.to_string()),
            ("phones", phones.to_string()),
            ("acked", acked.len().to_string()),
            ("questions", qs.len().to_string()),
            ("oks_dropped", dropped.to_string()),
            (
                "drop_share",
                format!("{:.2}", dropped as f64 / (dropped + passed).max(1) as f64),
            ),
            ("cuts", cuts.to_string()),
            ("connections", conns.to_string()),
            ("resent", tally.resent.load(Ordering::Relaxed).to_string()),
            ("duplicates", duplicates.to_string()),
            ("db_duplicates", db_dups.to_string()),
            ("lost", lost.to_string()),
            ("errors", errors.len().to_string()),
            ("secs", format!("{:.1}", t0.elapsed().as_secs_f64())),
        ],
    );
    for e in errors.iter().take(10) {
        println!("  error: {e}");
    }
    assert!(dropped > (total as u64) / 5, "the proxy dropped replies");
    assert!(cuts > 0, "the proxy cut connections");
    assert_eq!(unacked, 0, "every ask was acknowledged in the end");
    assert_eq!(lost, 0, "acknowledged asks missing");
    assert_eq!((duplicates, db_dups), (0, 0), "duplicate questions");
    assert_eq!(qs.len(), total, "one question per ask, nothing else");
    assert!(errors.is_empty(), "unexpected replies: {errors:?}");
}
