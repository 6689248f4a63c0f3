//! SIGTERM: every socket is closed with 4503, the process exits 0 within 5 s, and everything
//! acknowledged before the close is there after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
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

/// A frame from the hub, or the end of the socket with its close code.
enum Frame {
    Json(Value),
    Closed(u16),
}

async fn next_frame(ws: &mut Ws) -> Frame {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame or a close within 10 s");
        match m {
            Some(Ok(Message::Text(t))) => return Frame::Json(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(Some(f)))) => return Frame::Closed(f.code.into()),
            // 1005: a close frame without a code (RFC 6455 7.1.5); 0: no close frame at all.
            Some(Ok(Message::Close(None))) => return Frame::Closed(1005),
            Some(Err(_)) | None => return Frame::Closed(0),
            Some(Ok(_)) => continue,
        }
    }
}

async fn connect(url: &str, hello: Value) -> (Ws, Value) {
    let mut ws = raw(url).await;
    ws.send(Message::text(hello.to_string())).await.unwrap();
    match next_frame(&mut ws).await {
        Frame::Json(w) if w["type"] == "welcome" => (ws, w),
        Frame::Json(v) => panic!("expected a welcome: {v}"),
        Frame::Closed(c) => panic!("closed with {c} instead of a welcome"),
    }
}

fn audience_hello(code: &str) -> Value {
    json!({"type":"hello","role":"audience","session":code})
}

#[derive(Debug)]
struct PhoneLog {
    code: String,
    device: String,
    acked: Vec<AckedAsk>,
    close: u16,
}

/// Asks in a loop until the hub closes the socket.
async fn asking_phone(url: String, code: String, n: usize, count: Arc<AtomicUsize>) -> PhoneLog {
    let (mut ws, w) = connect(&url, audience_hello(&code)).await;
    let mut log = PhoneLog {
        code: code.clone(),
        device: w["you"]["device"].as_str().unwrap().to_string(),
        acked: Vec::new(),
        close: 0,
    };
    for i in 0.. {
        let r = format!("s{n}-{i}");
        let text = format!("Ponsel {n}, pertanyaan {i}: bagaimana nasib pasar 16 Ilir?");
        let cmd = json!({"type":"ask","ref":r,"text":text});
        match call_ok(&mut ws, &cmd).await {
            Err(c) => {
                log.close = c;
                return log;
            }
            Ok(v) => {
                log.acked.push(AckedAsk {
                    r#ref: r.clone(),
                    text: text.clone(),
                    id: v["question"]["id"].as_str().unwrap().to_string(),
                });
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    log
}

/// Sends `cmd` and reads up to its reply, which must be `ok`; `Err(close code)` when the hub
/// closed the socket first.
async fn call_ok(ws: &mut Ws, cmd: &Value) -> Result<Value, u16> {
    if ws.send(Message::text(cmd.to_string())).await.is_err() {
        // The hub closed first; the close frame may still be readable.
        return Err(drain_to_close(ws).await);
    }
    loop {
        match next_frame(ws).await {
            Frame::Closed(c) => return Err(c),
            Frame::Json(v) if v["ref"] == cmd["ref"] => {
                assert_eq!(v["type"], "ok", "{v}");
                return Ok(v);
            }
            Frame::Json(_) => {}
        }
    }
}

async fn drain_to_close(ws: &mut Ws) -> u16 {
    loop {
        if let Frame::Closed(c) = next_frame(ws).await {
            return c;
        }
    }
}

/// Approves every new question; returns the acknowledged approvals and the close code.
async fn approver(url: String, s: Session) -> (Vec<String>, u16) {
    let (mut ws, _) = connect(
        &url,
        json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator}),
    )
    .await;
    let mut approved = Vec::new();
    let mut sent = HashSet::new();
    loop {
        match next_frame(&mut ws).await {
            Frame::Closed(c) => return (approved, c),
            Frame::Json(v) => match v["type"].as_str() {
                Some("question") if v["question"]["status"] == "pending" => {
                    let id = v["question"]["id"].as_str().unwrap().to_string();
                    if sent.insert(id.clone()) {
                        let cmd = json!({"type":"approve","ref":format!("ap-{id}"),"question":id,"rev":1});
                        // A failed send is followed by the close frame, read above.
                        let _ = ws.send(Message::text(cmd.to_string())).await;
                    }
                }
                Some("ok") => {
                    let r = v["ref"].as_str().unwrap();
                    approved.push(r.strip_prefix("ap-").unwrap().to_string());
                }
                Some("error") => panic!("approve refused: {v}"),
                _ => {}
            },
        }
    }
}

#[derive(Debug)]
struct VoterLog {
    device: String,
    /// The state of the last acknowledged vote.
    last_acked: Option<bool>,
    /// A vote was sent and not answered.
    in_flight: bool,
    close: u16,
}

/// Toggles its vote on `question` until the hub closes the socket.
async fn voter(url: String, code: String, question: String) -> VoterLog {
    let (mut ws, w) = connect(&url, audience_hello(&code)).await;
    let mut log = VoterLog {
        device: w["you"]["device"].as_str().unwrap().to_string(),
        last_acked: None,
        in_flight: false,
        close: 0,
    };
    for i in 0u64.. {
        let on = i % 2 == 0;
        let r = format!("v-{i}");
        log.in_flight = true;
        let cmd = json!({"type":"vote","ref":r,"question":question,"on":on});
        match call_ok(&mut ws, &cmd).await {
            Err(c) => {
                log.close = c;
                return log;
            }
            Ok(_) => {
                log.last_acked = Some(on);
                log.in_flight = false;
            }
        }
    }
    log
}

/// A client that only listens; returns its close code and how many frames it saw.
async fn idle(url: String, hello: Value) -> (u16, usize) {
    let (mut ws, _) = connect(&url, hello).await;
    let mut n = 0;
    loop {
        match next_frame(&mut ws).await {
            Frame::Closed(c) => return (c, n),
            Frame::Json(_) => n += 1,
        }
    }
}

/// Panics and errors the hub logged (taken before a restart replaces the process).
fn bad_log_lines(server: &TestServer) -> Vec<String> {
    let lines = server.stderr.lock().unwrap();
    lines
        .iter()
        .filter(|l| l.contains("panicked") || l.contains("ERROR"))
        .cloned()
        .collect()
}

fn terminate(server: &mut TestServer) {
    let (status, took) = tokio::task::block_in_place(|| server.terminate());
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert_eq!(status.code(), Some(0));
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM to exit took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_closes_with_4503_exits_0_and_keeps_every_ok() {
    let mut server = TestServer::start_with(&[
        ("TANYA_ASKS_PER_MINUTE", "100000"),
        ("TANYA_VOTES_PER_MINUTE", "100000"),
    ]);
    let s = server.demo_session().await;
    let s2 = server.demo_session().await;
    let url = server.ws_url();

    // A question to vote on.
    let mut seed_phone = Client::audience(&server, &s).await;
    let seed = seed_phone.ask("Pertanyaan untuk dipilih").await;
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"approve","question":seed})).await;
    drop(seed_phone);
    drop(m);

    let count = Arc::new(AtomicUsize::new(0));
    let phones: Vec<_> = (0..6)
        .map(|n| {
            let s = if n % 3 == 2 { &s2 } else { &s };
            tokio::spawn(asking_phone(url.clone(), s.code.clone(), n, count.clone()))
        })
        .collect();
    let approvers = vec![
        tokio::spawn(approver(url.clone(), s.clone())),
        tokio::spawn(approver(url.clone(), s2.clone())),
    ];
    let voters: Vec<_> = (0..4)
        .map(|_| tokio::spawn(voter(url.clone(), s.code.clone(), seed.clone())))
        .collect();
    let idles: Vec<_> = [
        json!({"type":"hello","role":"screen","session":s.id,"key":s.screen}),
        json!({"type":"hello","role":"overlay","session":s.id,"key":s.overlay}),
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
        json!({"type":"hello","role":"moderator","session":s2.id,"key":s2.moderator}),
        audience_hello(&s.code),
        audience_hello(&s2.code),
    ]
    .into_iter()
    .map(|h| tokio::spawn(idle(url.clone(), h)))
    .collect();

    tokio::time::timeout(Duration::from_secs(15), async {
        while count.load(Ordering::Relaxed) < 150 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("150 asks acknowledged within 15 s");

    terminate(&mut server);

    let mut phone_logs = Vec::new();
    for p in phones {
        phone_logs.push(p.await.unwrap());
    }
    let mut approved = Vec::new();
    let mut codes = Vec::new();
    for a in approvers {
        let (ids, code) = a.await.unwrap();
        approved.extend(ids);
        codes.push(("approver", code));
    }
    let mut voter_logs = Vec::new();
    for v in voters {
        voter_logs.push(v.await.unwrap());
    }
    for i in idles {
        let (code, _) = i.await.unwrap();
        codes.push(("idle", code));
    }
    codes.extend(phone_logs.iter().map(|l| ("phone", l.close)));
    codes.extend(voter_logs.iter().map(|l| ("voter", l.close)));
    let bad_lines = bad_log_lines(&server);

    // Everything acknowledged is there after a restart.
    server.restart();
    let m = Client::moderator(&server, &s).await;
    let m2 = Client::moderator(&server, &s2).await;
    let mut qs = questions_by_id(&m.welcome);
    qs.extend(questions_by_id(&m2.welcome));
    let acked: Vec<&AckedAsk> = phone_logs.iter().flat_map(|l| &l.acked).collect();
    assert!(acked.len() >= 150);
    let missing: Vec<&&AckedAsk> = acked.iter().filter(|a| !qs.contains_key(&a.id)).collect();
    assert_eq!(missing.len(), 0, "acknowledged but lost: {missing:?}");
    for a in &acked {
        assert_eq!(qs[&a.id]["text"], json!(a.text));
    }
    let mut texts = HashSet::new();
    for q in qs.values() {
        assert!(texts.insert(q["text"].as_str().unwrap()), "duplicate: {q}");
    }
    assert!(!approved.is_empty());
    for id in &approved {
        assert_eq!(qs[id]["status"], "approved", "{}", qs[id]);
    }
    // Each phone's last acknowledged ask, retried: the same question.
    for log in &phone_logs {
        let Some(last) = log.acked.last() else {
            continue;
        };
        let mut p = Client::connect(
            &server,
            json!({"type":"hello","role":"audience","session":log.code,"device":log.device}),
        )
        .await;
        let v = p
            .ok(json!({"type":"ask","ref":last.r#ref,"text":last.text}))
            .await;
        assert_eq!(v["question"]["id"], json!(last.id));
    }
    // Votes: each voter's last acknowledged state (or the one in flight, which may have been
    // committed before the close).
    let mut on = 0;
    for log in &voter_logs {
        let p = Client::connect(
            &server,
            json!({"type":"hello","role":"audience","session":s.code,"device":log.device}),
        )
        .await;
        let has = p.welcome["you"]["votes"]
            .as_array()
            .unwrap()
            .contains(&json!(seed));
        on += usize::from(has);
        if !log.in_flight {
            assert_eq!(Some(has), log.last_acked, "{log:?}");
        }
    }
    assert_eq!(
        qs[&seed]["votes"], on,
        "vote count equals the devices voting"
    );

    // Checked last, so that a failure here does not hide the durability checks above.
    assert!(bad_lines.is_empty(), "hub stderr: {bad_lines:#?}");
    let not_4503: Vec<_> = codes.iter().filter(|(_, c)| *c != 4503).collect();
    assert!(
        not_4503.is_empty(),
        "every socket closes with 4503; these did not: {not_4503:?} (of {})",
        codes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_idle_sockets_of_every_role_with_4503() {
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    let s2 = server.demo_session().await;
    let url = server.ws_url();
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Sebelum penutupan").await;
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"approve","question":id})).await;
    m.ok(json!({"type":"live","question":id})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    a.ok(json!({"type":"vote","question":id,"on":true})).await;

    let hellos = [
        json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator}),
        json!({"type":"hello","role":"screen","session":s.code,"key":s.screen}),
        json!({"type":"hello","role":"overlay","session":s.id,"key":s.overlay}),
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
        audience_hello(&s.code),
        json!({"type":"hello","role":"moderator","session":s2.id,"key":s2.moderator}),
        audience_hello(&s2.code),
    ];
    let mut sockets = Vec::new();
    for h in &hellos {
        sockets.push(connect(&url, h.clone()).await.0);
    }
    terminate(&mut server);
    let mut codes = Vec::new();
    for (h, ws) in hellos.iter().zip(sockets.iter_mut()) {
        codes.push((h["role"].clone(), drain_to_close(ws).await));
    }
    codes.push((
        json!("audience (asked, voted)"),
        drain_to_close(&mut a.ws).await,
    ));
    codes.push((json!("moderator (acted)"), drain_to_close(&mut m.ws).await));
    let bad_lines = bad_log_lines(&server);

    // No new connection is taken: the port is closed.
    assert!(TcpStream::connect(&server.addr).await.is_err());

    // State from before is intact, the overlay included.
    server.restart();
    let m = Client::moderator(&server, &s).await;
    let q = &questions_by_id(&m.welcome)[&id];
    assert_eq!(q["status"], "live");
    assert_eq!(q["votes"], 1);
    assert_eq!(m.welcome["overlay"]["visible"], true);

    // Checked last, so that a failure here does not hide the checks above.
    assert!(bad_lines.is_empty(), "hub stderr: {bad_lines:#?}");
    let not_4503: Vec<_> = codes.iter().filter(|(_, c)| *c != 4503).collect();
    assert!(
        not_4503.is_empty(),
        "every socket closes with 4503; these did not: {not_4503:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_right_after_commands_answers_or_drops_them_never_half() {
    // Commands pipelined right before SIGTERM: each one is either answered `ok` (and durable)
    // or unanswered; after the restart, an unanswered ask retried with its ref gets ok.
    let mut server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "100000")]);
    let s = server.demo_session().await;
    let url = server.ws_url();
    let (mut ws, w) = connect(&url, audience_hello(&s.code)).await;
    let device = w["you"]["device"].as_str().unwrap().to_string();
    let n = 200;
    for i in 0..n {
        let cmd = json!({"type":"ask","ref":format!("burst-{i}"),"text":format!("Pertanyaan beruntun {i}")});
        ws.feed(Message::text(cmd.to_string())).await.unwrap();
    }
    ws.flush().await.unwrap();
    // Wait for the first answer, then stop the hub while the rest are in flight.
    let mut acked: BTreeMap<String, String> = BTreeMap::new();
    loop {
        match next_frame(&mut ws).await {
            Frame::Json(v) if v["type"] == "ok" => {
                acked.insert(
                    v["ref"].as_str().unwrap().to_string(),
                    v["question"]["id"].as_str().unwrap().to_string(),
                );
                break;
            }
            Frame::Json(v) => assert_ne!(v["type"], "error", "{v}"),
            Frame::Closed(c) => panic!("closed early: {c}"),
        }
    }
    terminate(&mut server);
    let close = loop {
        match next_frame(&mut ws).await {
            Frame::Json(v) if v["type"] == "ok" => {
                acked.insert(
                    v["ref"].as_str().unwrap().to_string(),
                    v["question"]["id"].as_str().unwrap().to_string(),
                );
            }
            Frame::Json(v) => assert_ne!(v["type"], "error", "{v}"),
            Frame::Closed(c) => break c,
        }
    };
    let bad_lines = bad_log_lines(&server);
    server.restart();
    let mut p = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":device}),
    )
    .await;
    let mine = questions_by_id(&p.welcome);
    for (r, id) in &acked {
        assert!(mine.contains_key(id), "acknowledged {r} ({id}) was lost");
    }
    // Every ask retried: the acknowledged ones keep their question, none is duplicated.
    for i in 0..n {
        let r = format!("burst-{i}");
        let v = p
            .ok(json!({"type":"ask","ref":r,"text":format!("Pertanyaan beruntun {i}")}))
            .await;
        if let Some(id) = acked.get(&r) {
            assert_eq!(v["question"]["id"], json!(id));
        }
    }
    let m = Client::moderator(&server, &s).await;
    assert_eq!(questions_by_id(&m.welcome).len(), n, "one question per ref");
    assert!(bad_lines.is_empty(), "hub stderr: {bad_lines:#?}");
    assert_eq!(close, 4503, "the close code after SIGTERM");
}
