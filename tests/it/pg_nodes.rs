//! Two hubs on one PostgreSQL database (docs/reliability.md, "Several hubs on one database"):
//! a live session has one owner at a time, holding a lease; the other hub refuses its sockets
//! (4503, they reconnect) until the lease runs out, then takes the session over from the
//! journal; and the old owner, paused past its lease (SIGSTOP) and resumed, cannot write to
//! the session again: the database refuses its appends (the fencing token), so no `ok` of it
//! follows the takeover.

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Client, TestServer, new_ref, pg_admin, pg_server, questions_by_id, raw};

/// A hello to `server` that must end in a close: its code and reason.
async fn refused(server: &TestServer, hello: &Value) -> Option<(u16, String)> {
    let mut ws = raw(&server.ws_url()).await;
    ws.send(Message::text(hello.to_string())).await.unwrap();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match m {
            Ok(Message::Close(Some(f))) => return Some((f.code.into(), f.reason.to_string())),
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "welcome" {
                    return None;
                }
            }
            Ok(_) => {}
            Err(_) => return Some((0, String::new())),
        }
    }
    Some((0, String::new()))
}

fn signal(server: &TestServer, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
}

#[tokio::test]
async fn one_owner_per_session_a_takeover_after_the_lease_and_the_old_owner_fenced() {
    let db = format!("tanya_nodes_{}", uuid::Uuid::new_v4().simple());
    pg_admin(&format!("CREATE DATABASE {db}"));
    let url = format!("{}/{db}", pg_server());
    let a = TestServer::start_with(&[("TANYA_DATABASE", url.as_str())]);
    let b = TestServer::start_with(&[("TANYA_DATABASE", url.as_str())]);
    let s = a.demo_session().await;
    let phone_hello = json!({"type":"hello","role":"audience","session":s.code});
    let mod_hello = json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator});
    let mut phone = Client::connect(&a, phone_hello.clone()).await;
    let mut ma = Client::connect(&a, mod_hello.clone()).await;
    let q1 = phone.ask("Kapan jalan Sukabangun diperbaiki?").await;
    ma.ok(json!({"type":"approve","question":q1})).await;

    // The other hub refuses the session while its owner holds the lease.
    let r = refused(&b, &phone_hello).await;
    assert_eq!(
        r,
        Some((4503, "session served by another node: reconnect".into()))
    );

    // The owner stops answering (paused, as a hung machine would); the other hub takes over
    // once the lease has run out.
    signal(&a, "STOP");
    let paused = Instant::now();
    let mut mb = None;
    while paused.elapsed() < Duration::from_secs(15) {
        if refused(&b, &mod_hello).await.is_none() {
            mb = Some(Client::connect(&b, mod_hello.clone()).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let taken_after = paused.elapsed();
    let mut mb = mb.expect("the other hub serves the session within 15 s");
    println!(
        "FIGURES pg_nodes takeover_after_pause_ms={}",
        taken_after.as_millis()
    );
    assert!(
        taken_after >= Duration::from_millis(4_000),
        "not before the lease ran out: {taken_after:?}"
    );
    let qs = questions_by_id(&mb.welcome);
    assert_eq!(qs[&q1]["status"], "approved", "the acknowledged approval");
    let mut phone_b = Client::connect(&b, phone_hello.clone()).await;
    let q2 = phone_b.ask("Pertanyaan di hub kedua").await;
    mb.ok(json!({"type":"approve","question":q2})).await;

    // The old owner comes back: nothing it does reaches the journal, and it says no `ok`.
    signal(&a, "CONT");
    let cmd = json!({"type":"reject","question":q1,"ref":new_ref()});
    ma.ws.send(Message::text(cmd.to_string())).await.unwrap();
    let mut outcome = None;
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(10), ma.ws.next()).await {
        match m {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["ref"] == cmd["ref"] {
                    outcome = Some(v);
                    break;
                }
            }
            Ok(Message::Close(f)) => {
                outcome = Some(json!({"closed": f.map(|f| u16::from(f.code))}));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let outcome = outcome.expect("an answer or a close from the old owner");
    println!("FIGURES pg_nodes old_owner_after_resume={outcome}");
    assert_ne!(
        outcome["type"], "ok",
        "the fenced owner acknowledged: {outcome}"
    );
    assert!(
        outcome["code"] == "internal" || outcome["closed"] == 4503,
        "{outcome}"
    );
    // The session as the new owner has it: q1 still approved, q2 there.
    let m = Client::connect(&b, mod_hello.clone()).await;
    let qs = questions_by_id(&m.welcome);
    assert_eq!(qs[&q1]["status"], "approved");
    assert_eq!(qs[&q2]["status"], "approved");
    // The journal has one writer's rows in one order: no gap, no duplicate seq.
    let gaps = {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT session_id FROM events GROUP BY session_id \
             HAVING MIN(seq) <> 0 OR MAX(seq) + 1 <> COUNT(*)) t",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        c.close().await.ok();
        n
    };
    assert_eq!(gaps, 0);
    drop((phone, ma, mb, phone_b, m, a, b));
    pg_admin(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}
