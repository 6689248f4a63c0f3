//! A cluster under load behind Debian's haproxy (docs/cluster.md): three nodes, phones that ask
//! all the time through the balancer (no stickiness), and the node that runs the session killed
//! with `kill -9` again and again (3 times in the quick profile, 20 with `TANYA_SOAK=1`), then
//! started again. Every phone retries an unanswered `ask` with the same `ref`, as the contract
//! says; at the end every acknowledged question is in the session: 0 acknowledged commands
//! lost. The time from each kill until every phone has had an answer again is printed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::cluster::{Cluster, hello_until_welcome};
use crate::common::{Session, TestServer, loads_the_machine, soak_profile};

/// haproxy in front of the nodes: round robin, health checks on /healthz, no stickiness.
struct Balancer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Balancer {
    fn start(nodes: &[TestServer]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let servers: String = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("  server n{i} {} check inter 300 fall 2 rise 1\n", n.addr))
            .collect();
        let cfg = format!(
            "global\n  maxconn 4000\n\
             defaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  \
             timeout server 60s\n  timeout tunnel 1h\n  retries 3\n  option redispatch\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  default_backend tanya\n\
             backend tanya\n  balance roundrobin\n  option httpchk GET /healthz\n{servers}"
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let child = std::process::Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("haproxy runs (tests/run.sh installs it)");
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "haproxy did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The node id a hub listening on `addr` holds leases with (docs/cluster.md: from the host
/// name and the listen address).
fn node_id(addr: &str) -> uuid::Uuid {
    use sha2::Digest;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let d = sha2::Sha256::digest(format!("{}|{addr}", host.trim()).as_bytes());
    uuid::Uuid::from_slice(&d[..16]).unwrap()
}

/// Which node holds the session's lease now.
async fn owner(db_url: &str, session: &str) -> Option<uuid::Uuid> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(db_url).await.ok()?;
    let n: Option<String> = sqlx::query_scalar(
        "SELECT node FROM leases WHERE session_id = $1 \
         AND expires_at > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
    )
    .bind(session)
    .fetch_optional(&mut c)
    .await
    .ok()?;
    c.close().await.ok();
    n.and_then(|n| uuid::Uuid::parse_str(&n).ok())
}

/// What the phones acknowledged: question id, when.
type Acked = Arc<Mutex<Vec<(String, Instant)>>>;

/// A phone that asks one question after another through the balancer, and after any failure
/// reconnects and sends the same `ask` (same `ref`) again until it is answered.
async fn phone(url: String, code: String, i: usize, acked: Acked, stop: Arc<AtomicBool>) {
    let mut device: Option<String> = None;
    let mut pending: Option<(String, String)> = None;
    let mut n = 0;
    'connect: loop {
        if stop.load(Ordering::Relaxed) && pending.is_none() {
            return;
        }
        let Ok(Ok((mut ws, _))) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut hello = json!({"type":"hello","role":"audience","session":code});
        if let Some(d) = &device {
            hello["device"] = json!(d);
        }
        if ws.send(Message::text(hello.to_string())).await.is_err() {
            continue;
        }
        // The welcome (or a close: try again).
        loop {
            match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "welcome" {
                        if let Some(d) = v["you"]["device"].as_str() {
                            device = Some(d.to_string());
                        }
                        break;
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'connect;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
        loop {
            if pending.is_none() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                n += 1;
                pending = Some((
                    uuid::Uuid::new_v4().to_string(),
                    format!("Pertanyaan warga {i} nomor {n}"),
                ));
            }
            let (r, text) = pending.clone().unwrap();
            let ask = json!({"type":"ask","ref":r,"text":text});
            if ws.send(Message::text(ask.to_string())).await.is_err() {
                continue 'connect;
            }
            loop {
                match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        if v["ref"] != json!(r) {
                            continue;
                        }
                        if v["type"] == "ok" {
                            let id = v["question"]["id"].as_str().unwrap().to_string();
                            acked.lock().unwrap().push((id, Instant::now()));
                            pending = None;
                            tokio::time::sleep(Duration::from_millis(150)).await;
                        } else {
                            assert!(
                                ["internal", "rate_limited"]
                                    .contains(&v["code"].as_str().unwrap_or("")),
                                "only a retryable error may answer an ask: {v}"
                            );
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        break;
                    }
                    Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => {
                        continue 'connect;
                    }
                    Ok(Some(Ok(_))) => {}
                }
            }
        }
    }
}

/// Phones asking through the balancer, each in its own task.
struct Phones {
    acked: Acked,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Phones {
    /// `n` phones of the session `code`; returns once each has had an answer.
    async fn start(lb: &Balancer, code: &str, n: usize) -> Self {
        let acked: Acked = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..n)
            .map(|i| {
                tokio::spawn(phone(
                    lb.ws_url(),
                    code.to_string(),
                    i,
                    acked.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        let t = Instant::now();
        while acked.lock().unwrap().len() < n {
            assert!(t.elapsed() < Duration::from_secs(30), "phones answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { acked, stop, tasks }
    }

    /// Waits (30 s at most) until some phone has an answer given after `t`.
    async fn answered_after(&self, t: Instant, what: &str) {
        while !self.acked.lock().unwrap().iter().any(|(_, at)| *at > t) {
            assert!(t.elapsed() < Duration::from_secs(30), "{what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops asking once each phone's last ask is answered; every acknowledged ask, and those
    /// missing from the session as `server` welcomes a moderator now.
    async fn finish(self, server: &TestServer, s: &Session) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("every phone has its last ask answered")
                .unwrap();
        }
        // (A node that has just started again may tell a hello to come back: 4503, as any
        // client handles it.)
        let (m, _) = hello_until_welcome(
            server,
            &json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator}),
        )
        .await;
        let have = crate::common::questions_by_id(&m.welcome);
        let acked: Vec<String> = self
            .acked
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        let lost = acked
            .iter()
            .filter(|id| !have.contains_key(*id))
            .cloned()
            .collect();
        (acked, lost)
    }
}

#[tokio::test]
async fn the_owner_killed_again_and_again_under_load_loses_no_acknowledged_command() {
    let _machine = loads_the_machine().await;
    let (phones, kills) = if soak_profile() { (60, 20) } else { (18, 3) };
    let mut cl = Cluster::start_with(3, &[("TANYA_ASKS_PER_MINUTE", "100000")]);
    let lb = Balancer::start(&cl.nodes);
    let s: Session = cl.nodes[0].demo_session().await;
    let db_url = cl.url.clone();

    let asking = Phones::start(&lb, &s.code, phones).await;

    let mut recoveries = Vec::new();
    for k in 0..kills {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let Some(o) = owner(&db_url, &s.id).await else {
            panic!("kill {k}: no node holds the session");
        };
        let i = cl
            .nodes
            .iter()
            .position(|n| node_id(&n.addr) == o)
            .expect("the owner is one of the nodes");
        cl.nodes[i].kill9();
        let killed = Instant::now();
        // Recovered: some phone answered after the kill (the session runs again somewhere).
        asking
            .answered_after(killed, &format!("kill {k}: no answer within 30 s"))
            .await;
        recoveries.push(killed.elapsed());
        cl.nodes[i].restart();
    }
    // Every acknowledged question is in the session, once.
    let (acked, lost) = asking.finish(&cl.nodes[0], &s).await;
    let mut ids: Vec<&String> = acked.iter().collect();
    ids.sort();
    ids.dedup();
    recoveries.sort();
    println!(
        "FIGURES cluster_failover kills={kills} phones={phones} acked={} lost={} \
         recovery_ms_p50={} recovery_ms_max={}",
        acked.len(),
        lost.len(),
        recoveries[recoveries.len() / 2].as_millis(),
        recoveries.last().unwrap().as_millis()
    );
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert_eq!(ids.len(), acked.len(), "one question per acknowledged ask");
}

#[tokio::test]
async fn the_database_restarted_under_a_loaded_cluster_loses_no_acknowledged_command() {
    let _machine = loads_the_machine().await;
    let pg = crate::pg_outage::PgServer::start();
    let mut cl = Cluster::on_database(&pg.url(), 2, &[("TANYA_ASKS_PER_MINUTE", "100000")]);
    let lb = Balancer::start(&cl.nodes);
    let s: Session = cl.nodes[0].demo_session().await;
    let phones = Phones::start(&lb, &s.code, 12).await;
    // The database crashes for three seconds under the phones' asks.
    pg.crash();
    let crashed = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = phones
        .acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at > crashed + Duration::from_millis(500))
        .count();
    pg.up();
    let back = Instant::now();
    phones.answered_after(back, "served again by itself").await;
    println!(
        "FIGURES cluster_pg_restart acked_while_down={during} served_again_after_ms={}",
        back.elapsed().as_millis()
    );
    // Nothing is acknowledged while the database cannot commit.
    assert_eq!(during, 0, "an ok while the database was down");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (acked, lost) = phones.finish(&cl.nodes[1], &s).await;
    let lost = lost.len();
    println!(
        "FIGURES cluster_pg_restart acked={} lost={lost}",
        acked.len()
    );
    assert_eq!(lost, 0);
    cl.nodes.clear();
}
