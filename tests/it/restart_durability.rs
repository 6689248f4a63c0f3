//! Durability across `kill -9`: nothing acknowledged is ever lost, nothing is duplicated, the
//! store stays consistent, and retries, bans, session status, the overlay and votes survive.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The next JSON frame, or `None` once the socket is gone (the hub was killed).
async fn try_recv(ws: &mut Ws) -> Option<Value> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame or the end of the socket within 10 s");
        match m {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => continue,
        }
    }
}

/// What one phone did before the hub died.
#[derive(Debug)]
struct PhoneLog {
    device: String,
    acked: Vec<AckedAsk>,
    /// The ask sent but not answered when the socket died, if any.
    in_flight: Option<(String, String)>,
}

/// A phone asking in a loop until the hub goes away.
async fn phone(url: String, code: String, n: usize, count: Arc<AtomicUsize>) -> PhoneLog {
    let mut ws = raw(&url).await;
    ws.send(Message::text(
        json!({"type":"hello","role":"audience","session":code}).to_string(),
    ))
    .await
    .unwrap();
    let w = try_recv(&mut ws).await.expect("welcome");
    assert_eq!(w["type"], "welcome", "{w}");
    let device = w["you"]["device"].as_str().unwrap().to_string();
    let mut log = PhoneLog {
        device,
        acked: Vec::new(),
        in_flight: None,
    };
    for i in 0.. {
        let r = format!("p{n}-{i}-{}", uuid::Uuid::new_v4().simple());
        let text = format!("Ponsel {n} bertanya nomor {i}: kapan jalan diperbaiki?");
        log.in_flight = Some((r.clone(), text.clone()));
        let cmd = json!({"type":"ask","ref":r,"text":text});
        if ws.send(Message::text(cmd.to_string())).await.is_err() {
            return log;
        }
        loop {
            let Some(v) = try_recv(&mut ws).await else {
                return log;
            };
            if v["ref"] == json!(r) {
                assert_eq!(v["type"], "ok", "{v}");
                assert_eq!(v["question"]["text"], json!(text));
                log.acked.push(AckedAsk {
                    r#ref: r.clone(),
                    text: text.clone(),
                    id: v["question"]["id"].as_str().unwrap().to_string(),
                });
                log.in_flight = None;
                count.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    log
}

/// A moderator approving every new question; returns the ids whose approval was acknowledged.
async fn approver(mut m: Client) -> Vec<String> {
    let mut approved = Vec::new();
    let mut asked: HashSet<String> = HashSet::new();
    loop {
        let Some(v) = try_recv(&mut m.ws).await else {
            return approved;
        };
        match v["type"].as_str() {
            Some("question") if v["question"]["status"] == "pending" => {
                let id = v["question"]["id"].as_str().unwrap().to_string();
                if asked.insert(id.clone()) {
                    let cmd =
                        json!({"type":"approve","ref":format!("ap-{id}"),"question":id,"rev":1});
                    if m.ws.send(Message::text(cmd.to_string())).await.is_err() {
                        return approved;
                    }
                }
            }
            Some("ok") => {
                let r = v["ref"].as_str().unwrap();
                approved.push(r.strip_prefix("ap-").unwrap().to_string());
            }
            Some("error") => panic!("approve refused: {v}"),
            _ => {}
        }
    }
}

/// `PRAGMA integrity_check` on a copy of the database files (the hub's own recovery of the
/// original is part of what the restart tests).
/// The store after a crash: the SQLite file passes `integrity_check` and `foreign_key_check`
/// (on a copy, with the `sqlite3` CLI); a PostgreSQL journal has no gap.
async fn sound(server: &TestServer) {
    if crate::common::on_postgres() {
        assert_eq!(crate::faults::store_check(server).await, "ok");
    } else {
        integrity_check(&server.db_path());
    }
}

fn integrity_check(db: &Path) {
    let copy = tempfile::tempdir().unwrap();
    let name = db.file_name().unwrap().to_str().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = db.with_file_name(format!("{name}{suffix}"));
        if from.exists() {
            std::fs::copy(&from, copy.path().join(format!("{name}{suffix}"))).unwrap();
        }
    }
    let target = copy.path().join(name);
    match std::process::Command::new("sqlite3")
        .arg(&target)
        .arg("PRAGMA integrity_check; PRAGMA foreign_key_check;")
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "sqlite3 failed: {out:?}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                stdout.trim(),
                "ok",
                "integrity_check then foreign_key_check (no rows): {stdout}"
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Without the CLI the restart (which replays the whole journal) and /healthz below
            // are the check.
            eprintln!("sqlite3 CLI not found: integrity checked through restart and /healthz");
        }
        Err(e) => panic!("sqlite3: {e}"),
    }
}

async fn healthy(server: &TestServer) {
    let (st, body) = http_json("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_question_survives_kill_9() {
    let mut server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "100000")]);
    let s = server.demo_session().await;
    let m = Client::moderator(&server, &s).await;
    let count = Arc::new(AtomicUsize::new(0));
    let phones: Vec<_> = (0..8)
        .map(|n| tokio::spawn(phone(server.ws_url(), s.code.clone(), n, count.clone())))
        .collect();
    let approvals = tokio::spawn(approver(m));

    // Kill mid-stream, once a good number of asks were acknowledged.
    tokio::time::timeout(Duration::from_secs(15), async {
        while count.load(Ordering::Relaxed) < 200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("200 asks acknowledged within 15 s");
    server.kill9();

    let mut logs = Vec::new();
    for p in phones {
        logs.push(p.await.unwrap());
    }
    let approved = approvals.await.unwrap();
    let acked: Vec<AckedAsk> = logs.iter().flat_map(|l| l.acked.clone()).collect();
    assert!(acked.len() >= 200);
    assert!(
        logs.iter().any(|l| l.in_flight.is_some()),
        "the kill should catch some asks in flight"
    );

    sound(&server).await;
    server.restart();
    healthy(&server).await;

    // Every acknowledged question is there, once; every acknowledged approval too.
    let m = Client::moderator(&server, &s).await;
    let qs = questions_by_id(&m.welcome);
    let missing: Vec<&AckedAsk> = acked.iter().filter(|a| !qs.contains_key(&a.id)).collect();
    assert_eq!(missing.len(), 0, "acknowledged but lost: {missing:?}");
    let mut texts = HashSet::new();
    for q in qs.values() {
        assert!(
            texts.insert(q["text"].as_str().unwrap().to_string()),
            "duplicate question: {q}"
        );
    }
    for a in &acked {
        assert_eq!(qs[&a.id]["text"], json!(a.text));
    }
    for id in &approved {
        assert_eq!(qs[id]["status"], "approved", "{}", qs[id]);
    }
    let before = qs.len();

    // Retries with the same ref, from the same device after the restart: ok, same question.
    let mut retried_in_flight = 0;
    for log in &logs {
        let mut p = Client::connect(
            &server,
            json!({"type":"hello","role":"audience","session":s.code,"device":log.device}),
        )
        .await;
        assert_eq!(
            p.device(),
            log.device,
            "the device token survives a restart"
        );
        let mine: HashSet<String> = p.welcome["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap().to_string())
            .collect();
        for a in &log.acked {
            assert!(
                mine.contains(&a.id),
                "the author sees its question {}",
                a.id
            );
            let v = p
                .ok(json!({"type":"ask","ref":a.r#ref,"text":a.text}))
                .await;
            assert_eq!(v["question"]["id"], json!(a.id), "retry of {}", a.r#ref);
        }
        if let Some((r, text)) = &log.in_flight {
            // Committed or not before the kill: a retry gets ok, and at most one question.
            let v = p.ok(json!({"type":"ask","ref":r,"text":text})).await;
            let id = v["question"]["id"].as_str().unwrap().to_string();
            let again = p.ok(json!({"type":"ask","ref":r,"text":text})).await;
            assert_eq!(again["question"]["id"], json!(id));
            retried_in_flight += 1;
        }
    }
    assert!(retried_in_flight > 0);

    // Nothing was duplicated by the retries: only in-flight asks that had not been stored are new.
    let mut m2 = Client::moderator(&server, &s).await;
    let after = questions_by_id(&m2.welcome);
    assert!(after.len() >= before && after.len() <= before + retried_in_flight);
    let mut texts = HashSet::new();
    for q in after.values() {
        assert!(
            texts.insert(q["text"].as_str().unwrap().to_string()),
            "duplicate question after retries: {q}"
        );
    }
    // And the store keeps taking changes.
    let id = approved.first().expect("some approvals were acknowledged");
    let rev = after[id]["rev"].as_u64().unwrap();
    m2.ok(json!({"type":"answered","question":id,"rev":rev}))
        .await;
}

/// Everything a moderator, a phone, the screen and the overlay see, minus what names the history.
async fn every_view(server: &TestServer, s: &Session, devices: &[&str]) -> Value {
    let m = Client::moderator(server, s).await;
    let screen = Client::connect(server, keyed_hello("screen", s, &s.screen)).await;
    let overlay = Client::connect(server, keyed_hello("overlay", s, &s.overlay)).await;
    let mut phones = Vec::new();
    for d in devices {
        let p = phone_with(server, s, d).await;
        let votes = you_votes(&p);
        phones.push(
            json!({"questions": questions_by_id(&p.welcome), "votes": votes, "device": p.device()}),
        );
    }
    // `links` derive from the listen address, not from stored state (and the first start
    // listens on port 0): compared without them.
    let mut session = m.welcome["session"].clone();
    assert!(session["links"]["moderator"].is_string(), "{session}");
    session.as_object_mut().unwrap().remove("links");
    json!({
        "moderator": {"session": session, "overlay": m.welcome["overlay"], "questions": questions_by_id(&m.welcome)},
        "screen": {"session": screen.welcome["session"], "overlay": screen.welcome["overlay"], "questions": screen.welcome["questions"]},
        "overlay": {"session": overlay.welcome["session"], "overlay": overlay.welcome["overlay"]},
        "phones": phones,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_status_overlay_and_votes_survive_kill_9() {
    let mut server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "1000")]);
    let s = server.demo_session().await;
    let s1 = s.raw["session"]["speakers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut b = Client::audience(&server, &s).await;
    let mut c = Client::audience(&server, &s).await;

    let q1 = a.ask("Kapan perizinan bisa selesai dalam sehari?").await;
    let q2 = a.ask("Berapa biaya izin mendirikan bangunan?").await;
    let b_ref = "b-first".to_string();
    let v = b
        .ok(json!({"type":"ask","ref":b_ref,"text":"Pertanyaan yang akan diblokir"}))
        .await;
    let q3 = v["question"]["id"].as_str().unwrap().to_string();
    let q4 = c.ask("Apakah ada layanan malam?").await;

    m.ok(json!({"type":"approve","question":q1})).await;
    m.ok(json!({"type":"approve","question":q2})).await;
    m.ok(json!({"type":"approve","question":q4})).await;
    m.ok(json!({"type":"move","question":q2,"after":null}))
        .await;
    m.ok(json!({"type":"assign","question":q1,"to":s1})).await;
    m.ok(json!({"type":"edit","question":q2,"text":"Berapa biaya IMB sekarang?"}))
        .await;
    m.ok(json!({"type":"reject","question":q3,"reason":"tidak sopan"}))
        .await;
    // Votes: q1 has a, b, c; q2 has b; q4 had c, withdrawn.
    for p in [&mut a, &mut b, &mut c] {
        p.ok(json!({"type":"vote","question":q1,"on":true})).await;
    }
    b.ok(json!({"type":"vote","question":q2,"on":true})).await;
    c.ok(json!({"type":"vote","question":q4,"on":true})).await;
    c.ok(json!({"type":"vote","question":q4,"on":false})).await;
    // q1 live and on air; the author of q3 banned; the session renamed and paused.
    m.ok(json!({"type":"live","question":q1})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    m.ok(json!({"type":"ban","question":q3})).await;
    m.ok(json!({"type":"session","status":"paused","title":"Diskusi #12 (lanjutan)"}))
        .await;

    let devices = [a.device(), b.device(), c.device()];
    let devs: Vec<&str> = devices.iter().map(String::as_str).collect();
    let before = every_view(&server, &s, &devs).await;
    // Spot checks of what the snapshot holds.
    let mq = &before["moderator"]["questions"];
    assert_eq!(mq[&q1]["votes"], 3);
    assert_eq!(mq[&q1]["status"], "live");
    assert_eq!(mq[&q2]["votes"], 1);
    assert_eq!(mq[&q4]["votes"], 0);
    assert_eq!(mq[&q3]["banned"], true);
    assert_eq!(before["moderator"]["overlay"]["visible"], true);
    assert_eq!(before["moderator"]["overlay"]["question"]["id"], json!(q1));
    assert_eq!(before["moderator"]["session"]["status"], "paused");
    let epoch = m.welcome["epoch"].clone();

    server.kill9();
    sound(&server).await;
    server.restart();
    healthy(&server).await;

    let after = every_view(&server, &s, &devs).await;
    assert_eq!(
        after, before,
        "every view is the same after kill -9 and restart"
    );

    let mut m = Client::moderator(&server, &s).await;
    assert_ne!(m.welcome["epoch"], epoch, "a restart starts a new history");
    let mut b = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":devices[1]}),
    )
    .await;
    // Paused survives: a new ask is closed; a retried one is ok with the same question.
    b.err(
        json!({"type":"ask","ref":"b-2","text":"Saat jeda"}),
        "closed",
    )
    .await;
    let v = b
        .ok(json!({"type":"ask","ref":b_ref,"text":"Pertanyaan yang akan diblokir"}))
        .await;
    assert_eq!(v["question"]["id"], json!(q3));
    // Open again: the ban survives.
    m.ok(json!({"type":"session","status":"open"})).await;
    b.err(
        json!({"type":"ask","ref":"b-3","text":"Setelah restart"}),
        "banned",
    )
    .await;
    // A vote already cast is not cast twice; a vote cleared stays cleared.
    b.ok(json!({"type":"vote","question":q1,"on":true})).await;
    let mut c = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":devices[2]}),
    )
    .await;
    c.ok(json!({"type":"vote","question":q2,"on":true})).await;
    let (v, _) = m.until("votes").await;
    assert_eq!(v["counts"][&q2], 2, "{v}");
    let rev1 = m.welcome["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == json!(q1))
        .unwrap()["rev"]
        .as_u64()
        .unwrap();

    // A second cycle: the session closed, the overlay off, q1 answered, then kill -9 again.
    m.ok(json!({"type":"answered","question":q1,"rev":rev1}))
        .await;
    m.ok(json!({"type":"session","status":"closed"})).await;
    let before = every_view(&server, &s, &devs).await;
    assert_eq!(before["moderator"]["overlay"]["visible"], false);
    assert_eq!(before["moderator"]["questions"][&q1]["votes"], 3);
    assert_eq!(before["moderator"]["questions"][&q2]["votes"], 2);
    assert_eq!(before["moderator"]["session"]["status"], "closed");
    server.kill9();
    sound(&server).await;
    server.restart();
    let after = every_view(&server, &s, &devs).await;
    assert_eq!(after, before, "the second restart changes nothing either");
    let mut m = Client::moderator(&server, &s).await;
    m.err(json!({"type":"requeue","question":q1}), "closed")
        .await;
    m.ok(json!({"type":"session","status":"open"})).await;
    let mut b = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":devices[1]}),
    )
    .await;
    b.err(
        json!({"type":"ask","ref":"b-4","text":"Masih diblokir?"}),
        "banned",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_retry_and_votes_under_load_survive_kill_9() {
    let mut server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "1000")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let target = a.ask("Pertanyaan yang didukung banyak orang").await;
    m.ok(json!({"type":"approve","question":target})).await;
    let v = m
        .ok(json!({"type":"enter","ref":"radio-1","text":"Dari pendengar radio","channel":"radio"}))
        .await;
    let entered = v["question"]["id"].clone();

    // Many phones vote at once; every acknowledged vote must count after the kill.
    let url = server.ws_url();
    let mut voters = Vec::new();
    for _ in 0..30 {
        let (url, code, target) = (url.clone(), s.code.clone(), target.clone());
        voters.push(tokio::spawn(async move {
            let mut ws = raw(&url).await;
            ws.send(Message::text(
                json!({"type":"hello","role":"audience","session":code}).to_string(),
            ))
            .await
            .unwrap();
            let w = try_recv(&mut ws).await.unwrap();
            let device = w["you"]["device"].as_str().unwrap().to_string();
            ws.send(Message::text(
                json!({"type":"vote","ref":"v","question":target,"on":true}).to_string(),
            ))
            .await
            .unwrap();
            loop {
                let v = try_recv(&mut ws).await.unwrap();
                if v["ref"] == "v" {
                    assert_eq!(v["type"], "ok", "{v}");
                    return device;
                }
            }
        }));
    }
    let mut devices = Vec::new();
    for v in voters {
        devices.push(v.await.unwrap());
    }
    server.kill9();
    server.restart();

    let mut m = Client::moderator(&server, &s).await;
    let qs = questions_by_id(&m.welcome);
    assert_eq!(qs[&target]["votes"], 30);
    let mut per_device: HashMap<String, usize> = HashMap::new();
    for d in &devices {
        let p = Client::connect(
            &server,
            json!({"type":"hello","role":"audience","session":s.code,"device":d}),
        )
        .await;
        assert_eq!(p.welcome["you"]["votes"], json!([target]), "{d}");
        *per_device.entry(d.clone()).or_default() += 1;
    }
    assert_eq!(per_device.len(), 30, "30 different devices");
    // `enter` is idempotent per ref across the restart, also with the text re-normalized.
    let v = m
        .ok(json!({"type":"enter","ref":"radio-1","text":" Dari pendengar radio ","channel":"radio"}))
        .await;
    assert_eq!(v["question"]["id"], entered);
    m.err(
        json!({"type":"enter","ref":"radio-1","text":"Teks lain","channel":"radio"}),
        "conflict",
    )
    .await;
    assert_eq!(
        questions_by_id(&Client::moderator(&server, &s).await.welcome).len(),
        2
    );
}
