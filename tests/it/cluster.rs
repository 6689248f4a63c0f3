//! Several hubs as one cluster (docs/cluster.md): one PostgreSQL database, one NATS (a private
//! `nats-server` on a free port, so that the test can kill and restart it). Any node serves any
//! socket of any session: the node holding the session's lease runs it, the others relay it.
//!
//! Journeys: a phone, a moderator and the overlay on a node that does not own the session, and
//! a resume on the other node; the owner killed (`kill -9`) under them, another node taking the
//! session over with nothing acknowledged lost and the overlay as it was; NATS restarted under a
//! live session.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{
    ADMIN, Client, Session, TestServer, http, http_json, pg_admin, pg_server, questions_by_id, raw,
};

/// A private NATS server.
pub struct Nats {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Nats {
    /// Starts `nats-server` on a free port (tests/run.sh installs Debian's).
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut n = Self {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        n.run();
        n
    }

    fn run(&mut self) {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (tests/run.sh installs it)");
        self.child = Some(child);
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of hubs on a fresh database and a private NATS.
pub struct Cluster {
    pub db: String,
    pub url: String,
    pub nats: Nats,
    pub nodes: Vec<TestServer>,
}

impl Cluster {
    pub fn start(n: usize) -> Self {
        Self::start_with(n, &[])
    }

    /// Nodes with extra environment variables.
    pub fn start_with(n: usize, extra: &[(&str, &str)]) -> Self {
        let db = format!("tanya_cluster_{}", uuid::Uuid::new_v4().simple());
        pg_admin(&format!("CREATE DATABASE {db}"));
        let url = format!("{}/{db}", pg_server());
        let mut c = Self::on_database(&url, n, extra);
        c.db = db;
        c
    }

    /// Nodes on a database of a server of the test's own (not dropped at the end).
    pub fn on_database(url: &str, n: usize, extra: &[(&str, &str)]) -> Self {
        let (db, url) = (String::new(), url.to_string());
        let nats = Nats::start();
        let bus = nats.url();
        let nodes = (0..n)
            .map(|_| {
                let mut env = vec![
                    ("TANYA_DATABASE", url.as_str()),
                    ("TANYA_BUS", bus.as_str()),
                ];
                env.extend_from_slice(extra);
                TestServer::start_with(&env)
            })
            .collect();
        Self {
            db,
            url,
            nats,
            nodes,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill9();
        }
        if self.db.is_empty() {
            return;
        }
        pg_admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db));
    }
}

fn phone_hello(s: &Session) -> Value {
    json!({"type":"hello","role":"audience","session":s.code})
}

fn mod_hello(s: &Session) -> Value {
    json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator})
}

fn overlay_hello(s: &Session) -> Value {
    json!({"type":"hello","role":"overlay","session":s.id,"key":s.overlay})
}

/// A hello to `server`: the welcome, or the close code and reason.
async fn hello(server: &TestServer, h: &Value) -> Result<Client, (u16, String)> {
    let mut ws = raw(&server.ws_url()).await;
    ws.send(Message::text(h.to_string())).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "welcome" {
                    let last_seq = v["seq"].as_u64().unwrap();
                    return Ok(Client {
                        ws,
                        welcome: v,
                        last_seq,
                    });
                }
            }
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                return Err((f.code.into(), f.reason.to_string()));
            }
            Ok(Some(Ok(_))) => {}
            _ => return Err((0, String::new())),
        }
    }
}

/// Says hello to `server` until it welcomes (15 s at most); the welcome and when it came.
pub async fn hello_until_welcome(server: &TestServer, h: &Value) -> (Client, Instant) {
    let t = Instant::now();
    loop {
        match hello(server, h).await {
            Ok(c) => return (c, Instant::now()),
            Err(why) => {
                assert!(
                    t.elapsed() < Duration::from_secs(15),
                    "no welcome in 15 s: {why:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The next question event about `id` on `c` (other frames skipped).
async fn question_event(c: &mut Client, id: &str) -> Value {
    loop {
        let v = c.recv().await;
        if v["type"] == "question" && v["question"]["id"] == id {
            return v;
        }
    }
}

#[tokio::test]
async fn any_node_serves_any_socket_of_a_session_its_owner_runs() {
    let cl = Cluster::start(2);
    let (a, b) = (&cl.nodes[0], &cl.nodes[1]);
    let s = a.demo_session().await;
    // The first hello makes node A the owner.
    let mut mod_a = Client::connect(a, mod_hello(&s)).await;
    // Node B relays: its sockets get the owner's welcome, and their commands reach the owner.
    let mut phone_b = Client::connect(b, phone_hello(&s)).await;
    assert_eq!(phone_b.welcome["type"], "welcome");
    assert!(
        phone_b.welcome["you"]["device"].is_string(),
        "{}",
        phone_b.welcome
    );
    let mut mod_b = Client::connect(b, mod_hello(&s)).await;
    let mut phone_a = Client::connect(a, phone_hello(&s)).await;
    let q1 = phone_b.ask("Kapan lampu jalan di Plaju diperbaiki?").await;
    // Moderators on both nodes see the pending question, with the same seq.
    let on_a = question_event(&mut mod_a, &q1).await;
    let on_b = question_event(&mut mod_b, &q1).await;
    assert_eq!(
        on_a, on_b,
        "one frame for the moderator view, wherever the socket is"
    );
    assert_eq!(on_a["question"]["status"], "pending");
    // A moderator on the relaying node approves; every phone gets it, the author its own view.
    mod_b.ok(json!({"type":"approve","question":q1})).await;
    let pa = question_event(&mut phone_a, &q1).await;
    let pb = question_event(&mut phone_b, &q1).await;
    assert_eq!(pa["question"]["status"], "approved");
    assert_eq!(pb["question"]["status"], "approved");
    // The author's own view carries its tracking code; other phones never see it.
    assert!(pb["question"]["tracking"].is_string(), "{pb}");
    assert!(pa["question"]["tracking"].is_null(), "{pa}");
    // A vote through the relay is counted (votes go out on the owner's tick).
    phone_a
        .ok(json!({"type":"vote","question":q1,"on":true}))
        .await;
    loop {
        let v = mod_b.recv().await;
        if v["type"] == "votes" && v["counts"][&q1] == 1 {
            break;
        }
    }
    // Bad input is answered on the node the socket is on, naming what was wrong.
    let e = phone_b.call(json!({"type":"approve","question":q1})).await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["code"], "forbidden", "{e}");
    // A wrong key is refused through the relay, as on the owner.
    let mut bad = mod_hello(&s);
    bad["key"] = json!("not-the-key");
    let r = hello(b, &bad).await.err();
    assert_eq!(r.map(|r| r.0), Some(4401));
    // Resume on the other node: the phone of B comes back through A and gets what it missed.
    let epoch = phone_b.welcome["epoch"].clone();
    let seq = phone_b.last_seq;
    let device = phone_b.welcome["you"]["device"].clone();
    drop(phone_b);
    let q2 = phone_a.ask("Bagaimana dengan banjir di Sekip?").await;
    mod_a.ok(json!({"type":"approve","question":q2})).await;
    let mut h = phone_hello(&s);
    h["since"] = json!({"epoch": epoch, "seq": seq});
    h["device"] = device;
    let mut back = Client::connect(a, h.clone()).await;
    assert_eq!(back.welcome["resumed"], true, "{}", back.welcome);
    let got = question_event(&mut back, &q2).await;
    assert_eq!(got["question"]["status"], "approved");
    // And the same from A to B.
    let seq = back.last_seq;
    let epoch = back.welcome["epoch"].clone();
    drop(back);
    let q3 = phone_a.ask("Jadwal posyandu bulan depan?").await;
    mod_a.ok(json!({"type":"approve","question":q3})).await;
    h["since"] = json!({"epoch": epoch, "seq": seq});
    let mut again = Client::connect(b, h).await;
    assert_eq!(again.welcome["resumed"], true, "{}", again.welcome);
    assert_eq!(
        question_event(&mut again, &q3).await["question"]["status"],
        "approved"
    );
}

#[tokio::test]
async fn the_owner_killed_another_node_takes_the_session_over_with_nothing_lost() {
    let mut cl = Cluster::start(2);
    let s = cl.nodes[0].demo_session().await;
    let mod_a = Client::connect(&cl.nodes[0], mod_hello(&s)).await;
    let mut mod_b = Client::connect(&cl.nodes[1], mod_hello(&s)).await;
    let mut phone_b = Client::connect(&cl.nodes[1], phone_hello(&s)).await;
    let mut overlay_b = Client::connect(&cl.nodes[1], overlay_hello(&s)).await;
    let q1 = phone_b.ask("Kapan pasar Cinde selesai dibangun?").await;
    mod_b.ok(json!({"type":"approve","question":q1})).await;
    mod_b.ok(json!({"type":"live","question":q1})).await;
    mod_b.ok(json!({"type":"overlay","visible":true})).await;
    loop {
        let v = overlay_b.recv().await;
        if v["type"] == "overlay" && v["visible"] == true {
            break;
        }
    }
    // The last acknowledged command before the owner dies.
    let q2 = phone_b.ask("Apakah ada bus sekolah gratis?").await;
    mod_b.ok(json!({"type":"approve","question":q2})).await;
    drop(mod_a);

    cl.nodes[0].kill9();
    let killed = Instant::now();
    let b = &cl.nodes[1];
    // B's sockets are told to reconnect once the owner's lease has run out.
    let code = phone_b.expect_close().await;
    assert_eq!(code, 4503);
    let (mut m, welcomed) = hello_until_welcome(b, &mod_hello(&s)).await;
    let took = welcomed.duration_since(killed);
    println!(
        "FIGURES cluster takeover_after_kill_ms={}",
        took.as_millis()
    );
    assert!(
        took < Duration::from_secs(15),
        "another node serves the session: {took:?}"
    );
    let qs = questions_by_id(&m.welcome);
    assert_eq!(qs[&q1]["status"], "live", "{}", m.welcome);
    assert_eq!(
        qs[&q2]["status"], "approved",
        "the last acknowledged approval"
    );
    // The overlay comes back with what was on air, and nothing else.
    let (ov, _) = hello_until_welcome(b, &overlay_hello(&s)).await;
    assert_eq!(ov.welcome["overlay"]["visible"], true, "{}", ov.welcome);
    assert_eq!(
        ov.welcome["overlay"]["question"]["id"], q1,
        "{}",
        ov.welcome
    );
    // The session goes on from the new owner.
    let (mut p, _) = hello_until_welcome(b, &phone_hello(&s)).await;
    let q3 = p.ask("Pertanyaan setelah pengambilalihan").await;
    m.ok(json!({"type":"approve","question":q3})).await;
    drop((mod_b, overlay_b));
}

#[tokio::test]
async fn nats_restarted_under_a_live_session_loses_nothing_acknowledged() {
    let mut cl = Cluster::start(2);
    let s = cl.nodes[0].demo_session().await;
    let mut mod_a = Client::connect(&cl.nodes[0], mod_hello(&s)).await;
    let mut phone_b = Client::connect(&cl.nodes[1], phone_hello(&s)).await;
    let q1 = phone_b.ask("Kenapa air PDAM keruh?").await;
    question_event(&mut mod_a, &q1).await;

    cl.nats.kill();
    // The owner goes on: its own sockets do not need the bus.
    mod_a.ok(json!({"type":"approve","question":q1})).await;
    let mut phone_a = Client::connect(&cl.nodes[0], phone_hello(&s)).await;
    let q2 = phone_a.ask("Ditanya saat NATS mati").await;
    mod_a.ok(json!({"type":"approve","question":q2})).await;
    // The relaying node's sockets get no false answer: a command is answered by the owner or
    // not at all, and the socket is told to reconnect.
    let cmd = json!({"type":"ask","ref":uuid::Uuid::new_v4().to_string(),"text":"Terkirim saat NATS mati"});
    phone_b.send(cmd.clone()).await;
    let mut answered = None;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        match tokio::time::timeout(Duration::from_secs(10), phone_b.ws.next()).await {
            Ok(Some(Ok(Message::Text(txt)))) => {
                let v: Value = serde_json::from_str(&txt).unwrap();
                if v["ref"] == cmd["ref"] {
                    answered = Some(v);
                    break;
                }
            }
            Ok(Some(Ok(Message::Close(f)))) => {
                answered = Some(json!({"closed": f.map(|f| u16::from(f.code))}));
                break;
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    println!("FIGURES cluster relay_during_nats_outage={answered:?}");
    let answered = answered.expect("an answer or a close while NATS is down");
    assert!(
        answered["type"] == "ok" || answered["closed"] == 4503 || answered["code"] == "internal",
        "{answered}"
    );
    cl.nats.restart();
    let restarted = Instant::now();
    // Once NATS is back, the relaying node serves the session again by itself.
    let (mut back, at) = hello_until_welcome(&cl.nodes[1], &mod_hello(&s)).await;
    println!(
        "FIGURES cluster relay_back_after_nats_restart_ms={}",
        at.duration_since(restarted).as_millis()
    );
    let qs = questions_by_id(&back.welcome);
    assert_eq!(qs[&q1]["status"], "approved");
    assert_eq!(qs[&q2]["status"], "approved");
    // An `ok` given during the outage means the question is there.
    if answered["type"] == "ok" {
        let id = answered["question"]["id"].as_str().unwrap();
        assert!(qs.contains_key(id), "acknowledged but missing");
    }
    let mut p = Client::connect(&cl.nodes[1], phone_hello(&s)).await;
    let q3 = p.ask("Setelah NATS kembali").await;
    back.ok(json!({"type":"approve","question":q3})).await;
    question_event(&mut p, &q3).await;
}

#[tokio::test]
async fn http_requests_about_a_session_are_answered_by_its_owner_from_any_node() {
    let cl = Cluster::start(2);
    let (a, b) = (&cl.nodes[0], &cl.nodes[1]);
    let raw_session = a.create_session("Diskusi Wong Kito", json!([])).await;
    let s = Session::from_json(&raw_session);
    let intake_key = raw_session["keys"]["intake"].as_str().unwrap().to_string();
    let mut m = Client::connect(a, mod_hello(&s)).await;
    // A gateway posts an SMS to the node that does not run the session.
    let sms = json!({"ref":"gw-1","channel":"sms","text":"Jalan di Sako rusak, kapan diperbaiki?",
                     "contact":"0812-3456-7890"});
    let url = b.http(&format!("/api/sessions/{}/intake", s.id));
    let (st, first) = http_json("POST", &url, Some(&intake_key), Some(&sms.to_string())).await;
    assert_eq!(st, 200, "{first}");
    let id = first["question"]["id"].as_str().unwrap().to_string();
    assert!(!first.to_string().contains("3456"), "{first}");
    // Its retry through the same node is the same question (the owner decided both).
    let (_, again) = http_json("POST", &url, Some(&intake_key), Some(&sms.to_string())).await;
    assert_eq!(again["question"]["id"], first["question"]["id"]);
    let on_a = question_event(&mut m, &id).await;
    assert_eq!(on_a["question"]["channel"], "sms");
    // Bad input gets the owner's clear error, through the other node.
    let (st, bad) = http_json(
        "POST",
        &url,
        Some(&intake_key),
        Some(&json!({"ref":"gw-2","channel":"sms","text":""}).to_string()),
    )
    .await;
    assert_eq!(st, 400, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("text")),
        "{bad}"
    );
    // The vMix data source and the admin's export, read on the other node.
    m.ok(json!({"type":"approve","question":id})).await;
    m.ok(json!({"type":"live","question":id})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let (st, live) = http_json(
        "GET",
        &b.http(&format!("/api/sessions/{}/live.json?k={}", s.id, s.overlay)),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{live}");
    assert!(live.to_string().contains("Sako"), "{live}");
    let (st, _, body) = http(
        "GET",
        &b.http(&format!("/api/sessions/{}/export?format=csv", s.id)),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("Sako"), "{body}");
}

/// Waits until `check` holds (5 s at most).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !check().await {
        assert!(t.elapsed() < Duration::from_secs(5), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn programmes_and_agencies_changed_on_one_node_hold_on_every_node() {
    let cl = Cluster::start(2);
    let (a, b) = (&cl.nodes[0], &cl.nodes[1]);
    let admin = |server: &TestServer, method: &'static str, path: &str, body: Value| {
        let url = server.http(path);
        async move { http_json(method, &url, Some(ADMIN), Some(&body.to_string())).await }
    };
    // The office sets the programme up on node B.
    let (st, p) = admin(
        b,
        "POST",
        "/api/programmes",
        json!({"title":"Diskusi Wong Kito","slug":"wongkito","join_code":"wong-kito"}),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let (st, e1) = admin(
        b,
        "POST",
        "/api/programmes/wongkito/episodes",
        json!({"title":"Wong Kito November","current":true}),
    )
    .await;
    assert_eq!(st, 201, "{e1}");
    let first = e1["session"]["session"]["id"].clone();
    // A phone on node A joins through the programme's link.
    let hello_p = json!({"type":"hello","role":"audience","programme":"wongkito"});
    // (Node A reads the programme again once B's news has come: within 5 s.)
    let t = Instant::now();
    let mut phone = loop {
        if let Ok(c) = hello(a, &hello_p).await {
            break c;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "node A knows the programme"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(phone.welcome["session"]["id"], first, "{}", phone.welcome);
    // Node B makes another episode current: the phone on A is told to say hello again, and
    // its next hello on A joins the new one.
    let (st, e2) = admin(
        b,
        "POST",
        "/api/programmes/wongkito/episodes",
        json!({"title":"Wong Kito Desember","current":true}),
    )
    .await;
    assert_eq!(st, 201, "{e2}");
    assert_eq!(phone.expect_close().await, 4307);
    let second = e2["session"]["session"]["id"].clone();
    let (again, _) = hello_until_welcome(a, &hello_p).await;
    assert_eq!(again.welcome["session"]["id"], second, "{}", again.welcome);
    // An agency added on A can sign in on B.
    let ag = a.create_agency("Dinas Pekerjaan Umum", "PUPR").await;
    let key = ag["key"].as_str().unwrap().to_string();
    let id = ag["id"].as_str().unwrap().to_string();
    let url = b.http(&format!("/api/agency/{id}/cases"));
    eventually("node B knows the agency", || {
        let (url, key) = (url.clone(), key.clone());
        async move { http_json("GET", &url, Some(&key), None).await.0 == 200 }
    })
    .await;
}

#[tokio::test]
async fn an_owner_started_again_at_once_does_not_leave_other_nodes_sockets_frozen() {
    let mut cl = Cluster::start(2);
    let s = cl.nodes[0].demo_session().await;
    let _m = Client::connect(&cl.nodes[0], mod_hello(&s)).await;
    let screen_hello = json!({"type":"hello","role":"screen","session":s.id,"key":s.screen});
    // A screen that only watches, on the node that relays.
    let mut screen = Client::connect(&cl.nodes[1], screen_hello.clone()).await;
    // The owner dies and its process starts again on the same address (the same node) before
    // its lease runs out: it takes its session back, knowing nothing of the screen.
    cl.nodes[0].kill9();
    cl.nodes[0].restart();
    let restarted = Instant::now();
    // The screen is told to reconnect rather than left waiting for frames that never come.
    assert_eq!(screen.expect_close().await, 4503);
    println!(
        "FIGURES cluster relay_reset_after_owner_restart_ms={}",
        restarted.elapsed().as_millis()
    );
    let (mut screen, _) = hello_until_welcome(&cl.nodes[1], &screen_hello).await;
    let (mut m, _) = hello_until_welcome(&cl.nodes[0], &mod_hello(&s)).await;
    let (mut phone, _) = hello_until_welcome(&cl.nodes[0], &phone_hello(&s)).await;
    let q = phone.ask("Setelah hub pertama hidup lagi").await;
    m.ok(json!({"type":"approve","question":q})).await;
    assert_eq!(
        question_event(&mut screen, &q).await["question"]["status"],
        "approved"
    );
}
