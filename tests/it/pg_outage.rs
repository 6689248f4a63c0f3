//! The PostgreSQL store when the database goes away and comes back (docs/reliability.md): a
//! private server from Debian's binaries, stopped with `pg_ctl stop -m immediate` (as a crash
//! would) while phones and a moderator work. Commands get `internal` or a 4503, never a false
//! `ok`; `/healthz` says 503; the hub stays up, and once the server is back the session starts
//! again from its journal with everything acknowledged, by itself.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Client, TestServer, http, new_ref};

/// A PostgreSQL server of its own, in a temporary folder, on a free port.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PgServer {
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect(
                "PostgreSQL's binaries in /usr/lib/postgresql (tests/run.sh installs postgresql)",
            )
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("initdb");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = is_root();
        if root {
            Command::new("chown")
                .args(["postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let s = Self { dir, bin, port };
        s.run(&["initdb", "-D", &s.data(), "-A", "trust", "-U", "postgres"]);
        s.up();
        let out = Command::new("psql")
            .arg(format!("postgres://postgres@127.0.0.1:{}/postgres", s.port))
            .args(["-qc", "CREATE DATABASE tanya"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        s
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs one of the server's programs, as `postgres` when this is root.
    fn run(&self, args: &[&str]) {
        let prog = self.bin.join(args[0]);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(prog);
            c
        } else {
            Command::new(prog)
        };
        let out = cmd.args(&args[1..]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    }

    pub fn up(&self) {
        let log = self.dir.path().join("log").display().to_string();
        let opts = format!(
            "-h 127.0.0.1 -p {} -k {}",
            self.port,
            self.dir.path().display()
        );
        self.run(&[
            "pg_ctl",
            "-D",
            &self.data(),
            "-l",
            &log,
            "-w",
            "-o",
            &opts,
            "start",
        ]);
    }

    /// Stops the server at once, without a shutdown checkpoint (as a crash does).
    pub fn crash(&self) {
        self.run(&["pg_ctl", "-D", &self.data(), "-m", "immediate", "stop"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/tanya", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run(&["pg_ctl", "-D", &self.data(), "-m", "immediate", "stop"])
        }));
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The outcome of one command while the database may be down: the reply frame, or the close
/// code when the socket was closed first.
async fn attempt(c: &mut Client, cmd: Value) -> Result<Value, u16> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let r = cmd["ref"].clone();
    c.ws.send(Message::text(cmd.to_string()))
        .await
        .map_err(|_| 0u16)?;
    loop {
        match tokio::time::timeout(Duration::from_secs(15), c.ws.next()).await {
            Err(_) => panic!("no answer in 15 s to {cmd}"),
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if matches!(v["type"].as_str(), Some("ok" | "error")) && v["ref"] == r {
                    return Ok(v);
                }
            }
            Ok(Some(Ok(Message::Close(f)))) => return Err(f.map_or(0, |f| f.code.into())),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return Err(0),
        }
    }
}

#[tokio::test]
async fn a_database_outage_gives_errors_not_false_oks_and_the_hub_recovers_by_itself() {
    let pg = PgServer::start();
    let url = pg.url();
    let mut server = TestServer::start_with(&[("TANYA_DATABASE", url.as_str())]);
    let s = server.demo_session().await;
    let mut phone = Client::audience(&server, &s).await;
    let mut m = Client::moderator(&server, &s).await;
    let before = phone.ask("Kapan pasar Cinde dibuka lagi?").await;
    m.ok(json!({"type":"approve","question":before})).await;

    pg.crash();
    // Every command gets an error or a 4503 close within the store's timeout: never `ok`.
    let outcome = attempt(
        &mut phone,
        json!({"type":"ask","ref":new_ref(),"text":"Pertanyaan saat basis data mati"}),
    )
    .await;
    match &outcome {
        Ok(v) => assert_eq!(v["type"], "error", "{v}"),
        Err(code) => assert_eq!(*code, 4503, "closed with {code}"),
    }
    if let Ok(v) = &outcome {
        assert_eq!(v["code"], "internal", "{v}");
    }
    let (st, _, body) = http("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 503, "{body}");
    // A new phone cannot join a session that cannot be loaded: 4503, not a welcome.
    let (code, _) = {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let mut ws = crate::common::raw(&server.ws_url()).await;
        ws.send(Message::text(
            json!({"type":"hello","role":"audience","session":s.code}).to_string(),
        ))
        .await
        .unwrap();
        let mut code = (0u16, String::new());
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
            match m {
                Ok(Message::Close(Some(f))) => {
                    code = (f.code.into(), f.reason.to_string());
                    break;
                }
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    assert_ne!(
                        v["type"], "welcome",
                        "a welcome while the store is down: {v}"
                    );
                }
                _ => {}
            }
        }
        code
    };
    assert_eq!(code, 4503);

    // The server comes back; the hub has stayed up and serves again by itself.
    pg.up();
    let t = Instant::now();
    let mut joined = None;
    while t.elapsed() < Duration::from_secs(20) {
        let (st, _, _) = http("GET", &server.http("/healthz"), None, None).await;
        if st == 200 {
            joined = Some(Client::moderator(&server, &s).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let m2 = joined.expect("the hub serves again within 20 s of the database's return");
    println!(
        "FIGURES pg_outage command_outcome={} recovered_after_ms={}",
        match &outcome {
            Ok(v) => v["code"].as_str().unwrap_or("?").to_string(),
            Err(c) => format!("close_{c}"),
        },
        t.elapsed().as_millis()
    );
    let qs = crate::common::questions_by_id(&m2.welcome);
    assert_eq!(
        qs[&before]["status"], "approved",
        "the acknowledged approval is kept"
    );
    assert!(
        !qs.values()
            .any(|q| q["text"] == "Pertanyaan saat basis data mati"),
        "what was refused is not there"
    );
    let mut phone = Client::audience(&server, &s).await;
    let after = phone.ask("Pertanyaan setelah pulih").await;
    assert_ne!(after, before);
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the hub process is the one started before the outage, still running"
    );
}
