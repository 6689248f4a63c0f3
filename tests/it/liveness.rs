//! Sockets and sessions that are no longer used let go of what they hold: a phone that stops
//! answering (its network vanished) is pinged and dropped; a session nobody is joined to stops
//! its live state and comes back from its journal at the next join.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

/// Reads a moderator's socket for `d` (answering pings); the audience counts of its `presence`
/// frames.
async fn audience_counts(m: &mut Client, d: Duration) -> Vec<u64> {
    let mut counts = vec![];
    let until = Instant::now() + d;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, m.ws.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "presence" {
                    counts.push(v["counts"]["audience"].as_u64().unwrap());
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the moderator lost its socket: {other:?}"),
        }
    }
    counts
}

/// Reads a socket for `d`, answering pings as a browser does; counts the pings.
async fn keep_reading(c: &mut Client, d: Duration) -> usize {
    let mut pings = 0;
    let until = Instant::now() + d;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, c.ws.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the answering phone lost its socket: {other:?}"),
        }
    }
    pings
}

fn silent_dropped(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tanya_silent_sockets_dropped_total "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_phone_that_stops_answering_pings_is_dropped_and_one_that_answers_stays() {
    let server = TestServer::start_with_config("[limits]\nping_interval_ms = 300\n", &[]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut alive = Client::audience(&server, &s).await;
    // Joined, then never read again: it cannot answer a ping (as a phone whose network went).
    let mut gone = Client::audience(&server, &s).await;
    let joined = Instant::now();

    let dropped_after = async {
        loop {
            let metrics = http("GET", &server.http("/metrics"), None, None).await.2;
            if silent_dropped(&metrics) > 0 {
                return joined.elapsed();
            }
            assert!(
                joined.elapsed() < Duration::from_secs(10),
                "the silent phone is dropped"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (pings, after, counts) = tokio::join!(
        keep_reading(&mut alive, Duration::from_secs(3)),
        dropped_after,
        audience_counts(&mut m, Duration::from_secs(3)),
    );
    println!("silent phone dropped {after:?} after it joined (ping interval 300 ms)");
    assert!(
        after >= Duration::from_millis(600),
        "not before two ping intervals of silence: {after:?}"
    );
    assert_eq!(counts.last(), Some(&1), "the moderator sees one phone left");
    drop(m);
    assert!(
        pings >= 2,
        "the answering phone was pinged ({pings}) and stays"
    );
    alive.ask("Masih tersambung?").await;
    let metrics = http("GET", &server.http("/metrics"), None, None).await.2;
    assert_eq!(silent_dropped(&metrics), 1, "only the silent phone");
    // The silent phone's socket is gone: reading it now gives its last frames, then the end.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match gone.ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the dropped socket ended");
}

fn sessions_running(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tanya_sessions_running "))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

#[tokio::test]
async fn a_session_nobody_is_joined_to_unloads_and_comes_back_from_its_journal() {
    let server = TestServer::start_with_config("[limits]\nsession_idle_ms = 300\n", &[]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let first_epoch = m.welcome["epoch"].clone();
    let id = enter_approved(&mut m, "room", "Sebelum sesi diturunkan").await;
    let mut phone = Client::audience(&server, &s).await;
    let device = phone.device();
    act_ok(&mut phone, json!({"type":"vote","question":id,"on":true})).await;
    let metrics = || async { http("GET", &server.http("/metrics"), None, None).await.2 };
    assert_eq!(sessions_running(&metrics().await), 1);

    // While a socket is joined the session stays, however long.
    drop(phone);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sessions_running(&metrics().await),
        1,
        "the moderator is joined"
    );
    drop(m);

    // Then it unloads.
    let t = Instant::now();
    while sessions_running(&metrics().await) != 0 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the idle session unloads"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "idle session unloaded {:?} after its last socket left (session_idle_ms 300)",
        t.elapsed()
    );

    // A join brings it back from the journal: a new epoch, the same questions, the same vote.
    let m = Client::moderator(&server, &s).await;
    assert_ne!(m.welcome["epoch"], first_epoch, "a new history");
    let q = &questions_by_id(&m.welcome)[&id];
    assert_eq!(q["status"], "approved");
    assert_eq!(q["votes"], 1);
    let phone = phone_with(&server, &s, &device).await;
    assert_eq!(phone.welcome["you"]["votes"], json!([id]));
    assert_eq!(sessions_running(&metrics().await), 1);
}

/// Joins racing the unload: every one gets a welcome (a join that meets a stopping session asks
/// the hub once more and starts it again).
#[tokio::test]
async fn joins_racing_the_unload_all_get_in() {
    let server = TestServer::start_with_config("[limits]\nsession_idle_ms = 1\n", &[]);
    let s = server.demo_session().await;
    for round in 0..40 {
        let m = Client::moderator(&server, &s).await;
        assert_eq!(m.welcome["type"], "welcome", "round {round}");
        drop(m);
        // Around the presence tick (2 s) is when the actor looks; vary the moment.
        tokio::time::sleep(Duration::from_millis(50 * (round % 5))).await;
    }
}
