//! Test harness: the real `tanya` binary on 127.0.0.1 with a real SQLite file in a temporary
//! folder, and a WebSocket client speaking docs/protocol.md.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const ADMIN: &str = "test-admin-token-0123456789";

/// Whether the hubs of this run keep their journal in PostgreSQL (`TANYA_TEST_STORE=postgres`):
/// each test hub gets a fresh database on the server `TANYA_TEST_PG` names (default the
/// machine's own, `postgres://root@127.0.0.1:5432`), dropped when the test ends.
pub fn on_postgres() -> bool {
    std::env::var("TANYA_TEST_STORE").is_ok_and(|v| v == "postgres")
}

pub fn pg_server() -> String {
    std::env::var("TANYA_TEST_PG").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432".into())
}

/// Runs one SQL statement on the PostgreSQL server's `postgres` database (psql).
pub fn pg_admin(sql: &str) {
    let out = Command::new("psql")
        .arg(format!("{}/postgres", pg_server()))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql runs (tests/run.sh installs postgresql-client)");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The database URL of a test hub whose files are in `dir`: its SQLite file, or (on
/// PostgreSQL) a database named after the folder, made at the first start.
fn database_url(dir: &tempfile::TempDir) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.path().join("tanya.db").display());
    }
    let name = pg_name(dir);
    let marker = dir.path().join("pg-database");
    if !marker.exists() {
        pg_admin(&format!("CREATE DATABASE {name}"));
        std::fs::write(&marker, &name).unwrap();
    }
    format!("{}/{name}", pg_server())
}

fn pg_name(dir: &tempfile::TempDir) -> String {
    let base = dir.path().file_name().unwrap().to_string_lossy();
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("tanya_test_{clean}")
}

/// The database URL of a test hub (`TANYA_DATABASE` for a command run beside it).
pub fn database_of(server: &TestServer) -> String {
    database_url(&server.dir)
}

/// Whether a test hub's store holds `needle` anywhere: SQLite, in the bytes of its file and
/// WAL (what a copied file would give away); PostgreSQL, in any journal, case or session row.
pub async fn store_holds(server: &TestServer, needle: &str) -> bool {
    if on_postgres() {
        let like = format!("%{needle}%");
        let n = db_text(
            server,
            "SELECT CAST((SELECT COUNT(*) FROM events WHERE body LIKE ?1) + \
             (SELECT COUNT(*) FROM cases WHERE body LIKE ?1) AS TEXT)",
            &[&like],
        )
        .await;
        return n.as_deref() != Some("0");
    }
    let db = server.db_path();
    ["", "-wal"].iter().any(|suffix| {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        std::fs::read(&p)
            .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

/// The first column of the first row of `sql` on a test hub's database, as text (`?1`, `?2`
/// are the binds, on either store).
pub async fn db_text(server: &TestServer, sql: &str, binds: &[&str]) -> Option<String> {
    use sqlx::{ConnectOptions, Connection, Row};
    if on_postgres() {
        let url = database_url(&server.dir);
        let sql = sql.replace('?', "$");
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(*b);
        }
        let r = q.fetch_optional(&mut c).await.expect("query");
        c.close().await.ok();
        r.and_then(|r| r.get::<Option<String>, _>(0))
    } else {
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(server.db_path())
            .connect()
            .await
            .expect("open the database");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
        for b in binds {
            q = q.bind(*b);
        }
        let r = q.fetch_optional(&mut c).await.expect("query");
        c.close().await.ok();
        r.and_then(|r| r.get::<Option<String>, _>(0))
    }
}

// ---------------------------------------------------------------------------------------------
// sharing the machine between tests that run at the same time
// ---------------------------------------------------------------------------------------------

static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// True with `TANYA_SOAK=1`: the long profile of the fault suites.
pub fn soak_profile() -> bool {
    std::env::var("TANYA_SOAK").is_ok_and(|v| v.trim() == "1")
}

/// Held for the whole of a test: see `loads_the_machine` and `measures_time`.
pub enum MachineGuard {
    Shared(tokio::sync::RwLockReadGuard<'static, ()>),
    Alone(tokio::sync::RwLockWriteGuard<'static, ()>),
}

/// For a test that puts the machine under load (many phones, kills and restarts, floods). In
/// the quick profile such tests may run beside each other (they wait on the clock more than
/// they compute), never beside a test that measures time; in the soak profile each runs alone.
pub async fn loads_the_machine() -> MachineGuard {
    if soak_profile() {
        measures_time().await
    } else {
        MachineGuard::Shared(MACHINE.read().await)
    }
}

/// For a test whose assertions measure time (latencies, rates, deadlines): no test that loads
/// the machine runs beside it.
pub async fn measures_time() -> MachineGuard {
    MachineGuard::Alone(MACHINE.write().await)
}

/// A running hub process. Killed on drop.
pub struct TestServer {
    pub dir: Arc<tempfile::TempDir>,
    pub addr: String,
    pub child: Child,
    pub stderr: Arc<Mutex<Vec<String>>>,
    pub env: Vec<(String, String)>,
}

impl TestServer {
    /// Starts a hub on a fresh database.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a hub with a config file (TOML text) and extra environment variables.
    pub fn start_with_config(toml: &str, env: &[(&str, &str)]) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        std::fs::write(dir.path().join("tanya.toml"), toml).unwrap();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::spawn(dir, env, None)
    }

    /// Starts a hub with extra environment variables.
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::spawn(dir, env, None)
    }

    /// Starts a hub under `prlimit --nofile=SOFT:` (a soft limit of open files of `soft`).
    pub fn start_with_open_files(soft: u64) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let wrapper = vec!["prlimit".to_string(), format!("--nofile={soft}:")];
        Self::spawn_wrapped(dir, Vec::new(), None, &wrapper)
    }

    /// Starts a hub on a copy of the SQLite file `db`; the file itself is left as it is.
    pub fn start_on_copy(db: &std::path::Path) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        std::fs::copy(db, dir.path().join("tanya.db"))
            .unwrap_or_else(|e| panic!("copy {}: {e}", db.display()));
        Self::spawn(dir, Vec::new(), None)
    }

    fn spawn(dir: Arc<tempfile::TempDir>, env: Vec<(String, String)>, port: Option<u16>) -> Self {
        Self::spawn_wrapped(dir, env, port, &[])
    }

    /// Like `spawn`, with the hub's command line after `wrapper` (a command and its arguments).
    fn spawn_wrapped(
        dir: Arc<tempfile::TempDir>,
        env: Vec<(String, String)>,
        port: Option<u16>,
        wrapper: &[String],
    ) -> Self {
        let database = database_url(&dir);
        let listen = format!("127.0.0.1:{}", port.unwrap_or(0));
        let bin = env!("CARGO_BIN_EXE_tanya");
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.arg("serve")
            .arg("--config")
            .arg(Self::config_file(&dir))
            .env("TANYA_LISTEN", &listen)
            .env("TANYA_DATABASE", database)
            .env("TANYA_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start tanya");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(a) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(a.to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("hub did not start: {:?}", stderr.lock().unwrap()));
        Self {
            dir,
            addr,
            child,
            stderr,
            env,
        }
    }

    fn config_file(dir: &tempfile::TempDir) -> PathBuf {
        let p = dir.path().join("tanya.toml");
        if !p.exists() {
            std::fs::write(&p, "").unwrap();
        }
        p
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("tanya.db")
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM; returns the exit status and the time it took.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, Duration) {
        let t = std::time::Instant::now();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let st = self.child.wait().unwrap();
        (st, t.elapsed())
    }

    /// Starts a new process on the same database and port (after kill9 or terminate).
    pub fn restart(&mut self) {
        let port: u16 = self.addr.rsplit(':').next().unwrap().parse().unwrap();
        let mut last = None;
        for _ in 0..50 {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => {
                    drop(l);
                    last = None;
                    break;
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        assert!(last.is_none(), "port {port} still busy: {last:?}");
        let next = Self::spawn(self.dir.clone(), self.env.clone(), Some(port));
        let old = std::mem::replace(self, next);
        drop(old);
    }

    /// Creates a session through the admin API; returns the POST body.
    pub async fn create_session(&self, title: &str, speakers: Value) -> Value {
        let (status, body) = http_json(
            "POST",
            &self.http("/api/sessions"),
            Some(ADMIN),
            Some(&json!({"title": title, "speakers": speakers}).to_string()),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Creates an agency (docs/followup.md) through the admin API; returns it with its key.
    pub async fn create_agency(&self, name: &str, short: &str) -> Value {
        let (status, body) = http_json(
            "POST",
            &self.http("/api/agencies"),
            Some(ADMIN),
            Some(&json!({"name": name, "short": short}).to_string()),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// A session with two speakers (s1, s2).
    pub async fn demo_session(&self) -> Session {
        let v = self
            .create_session(
                "Diskusi Wong Kito #12: Perizinan",
                json!([{"name":"Drs Ratu Dewa MSi","role":"Sekretaris Daerah"},{"name":"Ir Rina","role":"Kepala Dinas"}]),
            )
            .await;
        Session::from_json(&v)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The last holder of the folder (a restart hands it on) drops its PostgreSQL database.
        if on_postgres()
            && Arc::strong_count(&self.dir) == 1
            && self.dir.path().join("pg-database").exists()
        {
            pg_admin(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                pg_name(&self.dir)
            ));
        }
    }
}

/// What a test needs of a created session.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub code: String,
    pub moderator: String,
    pub screen: String,
    pub overlay: String,
    pub press: String,
    pub raw: Value,
}

impl Session {
    pub fn from_json(v: &Value) -> Self {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap().to_string();
        Self {
            id: s("/session/id"),
            code: s("/code"),
            moderator: s("/keys/moderator"),
            screen: s("/keys/screen"),
            overlay: s("/keys/overlay"),
            press: s("/keys/press"),
            raw: v.clone(),
        }
    }
}

/// A minimal HTTP/1.1 client over a real socket: (status, body as JSON or string).
pub async fn http(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(t) = bearer {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, headers, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n.min(rest.len())]);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}

/// HTTP with a JSON body in the answer.
pub async fn http_json(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let (st, _, b) = http(method, url, bearer, body).await;
    (st, serde_json::from_str(&b).unwrap_or(Value::String(b)))
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client of the hub.
pub struct Client {
    pub ws: Ws,
    /// The welcome frame.
    pub welcome: Value,
    /// Last seq seen (for resume).
    pub last_seq: u64,
}

/// Opens a bare socket (no hello yet).
pub async fn raw(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connect");
    ws
}

impl Client {
    /// Connects and says hello; panics unless the answer is a welcome.
    pub async fn connect(server: &TestServer, hello: Value) -> Self {
        Self::connect_ws(raw(&server.ws_url()).await, hello).await
    }

    /// Connects as if through a reverse proxy that saw `client` (the hub must trust 127.0.0.1
    /// as a proxy for the address to count), and says hello.
    pub async fn connect_from(server: &TestServer, client: &str, hello: Value) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = server.ws_url().into_client_request().unwrap();
        req.headers_mut()
            .insert("X-Forwarded-For", client.parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connect");
        Self::connect_ws(ws, hello).await
    }

    async fn connect_ws(mut ws: Ws, hello: Value) -> Self {
        ws.send(Message::text(hello.to_string())).await.unwrap();
        let welcome = next_json(&mut ws).await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let last_seq = welcome["seq"].as_u64().unwrap();
        Self {
            ws,
            welcome,
            last_seq,
        }
    }

    pub async fn audience(server: &TestServer, s: &Session) -> Self {
        Self::connect(
            server,
            json!({"type":"hello","role":"audience","session":s.code}),
        )
        .await
    }

    pub async fn moderator(server: &TestServer, s: &Session) -> Self {
        Self::connect(
            server,
            json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator}),
        )
        .await
    }

    pub fn device(&self) -> String {
        self.welcome["you"]["device"].as_str().unwrap().to_string()
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next JSON frame (presence frames skipped), within 5 s.
    pub async fn recv(&mut self) -> Value {
        loop {
            let v = next_json(&mut self.ws).await;
            if v["type"] == "presence" {
                continue;
            }
            if let Some(s) = v["seq"].as_u64() {
                if v["type"] != "welcome" {
                    assert!(
                        s > self.last_seq,
                        "seq must increase: {s} after {}: {v}",
                        self.last_seq
                    );
                }
                self.last_seq = s;
            }
            return v;
        }
    }

    /// Frames until one of type `ty`; returns it and the frames before it.
    pub async fn until(&mut self, ty: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let v = self.recv().await;
            if v["type"] == ty {
                return (v, before);
            }
            before.push(v);
        }
    }

    /// Sends a command and waits for its `ok` or `error` (matched by ref); returns it.
    pub async fn call(&mut self, mut cmd: Value) -> Value {
        let r = cmd
            .get("ref")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        cmd["ref"] = json!(r);
        self.send(cmd).await;
        loop {
            let v = self.recv().await;
            if (v["type"] == "ok" || v["type"] == "error") && v["ref"] == json!(r) {
                return v;
            }
        }
    }

    /// Like `call`, asserting `ok`.
    pub async fn ok(&mut self, cmd: Value) -> Value {
        let v = self.call(cmd.clone()).await;
        assert_eq!(v["type"], "ok", "{cmd} -> {v}");
        v
    }

    /// Like `call`, asserting an error with `code`.
    pub async fn err(&mut self, cmd: Value, code: &str) -> Value {
        let v = self.call(cmd.clone()).await;
        assert_eq!(
            (v["type"].as_str(), v["code"].as_str()),
            (Some("error"), Some(code)),
            "{cmd} -> {v}"
        );
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        v
    }

    /// Asks a question; returns its id.
    pub async fn ask(&mut self, text: &str) -> String {
        let v = self
            .ok(json!({"type":"ask","ref":uuid::Uuid::new_v4().to_string(),"text":text}))
            .await;
        v["question"]["id"].as_str().unwrap().to_string()
    }

    /// Waits for the socket to be closed; returns the close code.
    pub async fn expect_close(&mut self) -> u16 {
        expect_close(&mut self.ws).await
    }

    /// True when no frame (other than presence) arrives within `ms`.
    pub async fn quiet(&mut self, ms: u64) -> bool {
        loop {
            match tokio::time::timeout(Duration::from_millis(ms), self.ws.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] != "presence" {
                        return false;
                    }
                }
                Ok(_) => return false,
            }
        }
    }
}

/// The next text frame as JSON, within 5 s.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("socket open")
            .expect("no socket error");
        match m {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => continue,
        }
    }
}

/// Waits (10 s at most) for the close frame; returns its code (0 when the TCP connection ended without one).
pub async fn expect_close(ws: &mut Ws) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("close within 15 s")
        {
            Some(Ok(Message::Close(Some(CloseFrame { code, .. })))) => return code.into(),
            Some(Ok(Message::Close(None))) | None => return 0,
            Some(Ok(_)) => continue,
            Some(Err(_)) => return 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// journey helpers: commands, hellos, markers and welcomes
// ---------------------------------------------------------------------------------------------

/// A fresh command `ref`.
pub fn new_ref() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The id of the question an `ok` (or a `question` event) carries.
pub fn id_of(v: &Value) -> String {
    v["question"]["id"]
        .as_str()
        .expect("a question id")
        .to_string()
}

/// A hello of a role with a key (`moderator`, `screen`, `overlay`), naming the session by id.
pub fn keyed_hello(role: &str, s: &Session, key: &str) -> Value {
    json!({"type":"hello","role":role,"session":s.id,"key":key})
}

/// A phone reconnecting with its device token.
pub async fn phone_with(server: &TestServer, s: &Session, device: &str) -> Client {
    Client::connect(
        server,
        json!({"type":"hello","role":"audience","session":s.code,"device":device}),
    )
    .await
}

/// Sends `cmd` (a fresh `ref` when it has none); returns the reply and every frame before it.
pub async fn act(c: &mut Client, mut cmd: Value) -> (Value, Vec<Value>) {
    if cmd.get("ref").is_none() {
        cmd["ref"] = json!(new_ref());
    }
    let r = cmd["ref"].clone();
    c.send(cmd).await;
    let mut before = Vec::new();
    loop {
        let v = c.recv().await;
        if (v["type"] == "ok" || v["type"] == "error") && v["ref"] == r {
            return (v, before);
        }
        before.push(v);
    }
}

/// Like `act`, asserting `ok`.
pub async fn act_ok(c: &mut Client, cmd: Value) -> (Value, Vec<Value>) {
    let (v, before) = act(c, cmd.clone()).await;
    assert_eq!(v["type"], "ok", "{cmd} -> {v}");
    (v, before)
}

/// An operator entry on `channel` (pending); returns its id.
pub async fn enter(m: &mut Client, channel: &str, text: &str) -> String {
    let v = m
        .ok(json!({"type":"enter","text":text,"channel":channel}))
        .await;
    id_of(&v)
}

/// An operator entry on `channel`, approved; returns its id.
pub async fn enter_approved(m: &mut Client, channel: &str, text: &str) -> String {
    let id = enter(m, channel, text).await;
    m.ok(json!({"type":"approve","question":id})).await;
    id
}

/// Asks from `a`, approves as `m`; returns the id.
pub async fn ask_approved(m: &mut Client, a: &mut Client, text: &str) -> String {
    let id = a.ask(text).await;
    m.ok(json!({"type":"approve","question":id})).await;
    id
}

/// Changes the session title (an event every role sees) so a watcher can tell that everything
/// sent before it has arrived.
pub async fn marker(m: &mut Client, title: &str) {
    m.ok(json!({"type":"session","title":title})).await;
}

/// Frames `c` receives before the `session` event carrying `title`.
pub async fn until_marker(c: &mut Client, title: &str) -> Vec<Value> {
    let mut before = Vec::new();
    loop {
        let v = c.recv().await;
        if v["type"] == "session" && v["session"]["title"] == json!(title) {
            return before;
        }
        before.push(v);
    }
}

/// Frames `c` receives up to and including the `session` event carrying `title`.
pub async fn through_marker(c: &mut Client, title: &str) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let v = c.recv().await;
        let done = v["type"] == "session" && v["session"]["title"] == json!(title);
        got.push(v);
        if done {
            return got;
        }
    }
}

/// Changes the session title (a `session` event reaches every role) and asserts that it is
/// the next frame of every client in `others`: nothing else was sent to them before it.
pub async fn barrier(m: &mut Client, others: &mut [&mut Client]) {
    let title = format!("Barrier {}", new_ref());
    m.ok(json!({"type":"session","title":title})).await;
    for (i, o) in others.iter_mut().enumerate() {
        let v = o.recv().await;
        assert_eq!(v["type"], "session", "client {i}: unexpected frame {v}");
        assert_eq!(v["session"]["title"], json!(title), "client {i}: {v}");
    }
}

/// Changes the session title and reads every client in `others` up to that `session` event:
/// afterwards, every frame caused before has been read.
pub async fn sync(m: &mut Client, others: &mut [&mut Client]) {
    let title = format!("Sync {}", new_ref());
    m.ok(json!({"type":"session","title":title})).await;
    for o in others.iter_mut() {
        loop {
            let (v, _) = o.until("session").await;
            if v["session"]["title"] == json!(title) {
                break;
            }
        }
    }
}

/// Question id -> question of a welcome, which must carry a `questions` list; panics on a
/// duplicate id.
pub fn questions_by_id(welcome: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for q in welcome["questions"].as_array().unwrap() {
        let id = q["id"].as_str().unwrap().to_string();
        assert!(
            out.insert(id.clone(), q.clone()).is_none(),
            "question {id} twice in a welcome"
        );
    }
    out
}

/// The moderator view of every question, from a fresh moderator's welcome.
pub async fn snapshot(server: &TestServer, s: &Session) -> BTreeMap<String, Value> {
    let c = Client::moderator(server, s).await;
    questions_by_id(&c.welcome)
}

/// The speaker ids of a welcome's session.
pub fn speaker_ids(c: &Client) -> Vec<String> {
    c.welcome["session"]["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// `you.votes` of an audience welcome, sorted.
pub fn you_votes(c: &Client) -> Vec<String> {
    let mut v: Vec<String> = c.welcome["you"]["votes"]
        .as_array()
        .unwrap_or_else(|| panic!("you.votes is a list: {}", c.welcome))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// An acknowledged ask.
#[derive(Clone, Debug)]
pub struct AckedAsk {
    pub r#ref: String,
    pub text: String,
    pub id: String,
}

// ---------------------------------------------------------------------------------------------
// a client that applies what it receives (docs/protocol.md: "A client applies events to its copy
// of the view")
// ---------------------------------------------------------------------------------------------

/// A client's copy of its view, built from a welcome and kept current by the events after it:
/// the one reducer of server frames in the tests.
///
/// Strict by default: a frame the protocol rules out (an event whose `seq` is not above the
/// last one, a resumed welcome not at the view's position, the removal of a question the view
/// does not hold) panics. A lenient view (`ClientView::lenient`, the fault suites) counts them
/// instead and skips the out-of-order event.
///
/// Two views are equal when they show the same: session, overlay and questions. Their position
/// (`epoch`, `seq`) and counters are not compared.
#[derive(Debug, Clone, Default)]
pub struct ClientView {
    pub session: Value,
    pub overlay: Value,
    /// The speaker screen's timer and message (moderator and screen); not compared: a running
    /// timer's `remaining_ms` is as of each frame.
    pub stage: Value,
    pub questions: BTreeMap<String, Value>,
    /// The epoch of the last welcome.
    pub epoch: String,
    /// The seq of the last welcome or event applied.
    pub seq: u64,
    /// Count instead of panicking.
    pub lenient: bool,
    /// Events that arrived with a seq not above the last one (a duplicate or out of order).
    pub out_of_order: u64,
    /// Resumed welcomes that were not at the view's epoch and seq.
    pub bad_resumes: u64,
    /// `removed` events for a question the view did not hold.
    pub unknown_removed: u64,
    /// Welcomes applied, resumed and full.
    pub resumed: u64,
    pub full: u64,
}

impl PartialEq for ClientView {
    fn eq(&self, other: &Self) -> bool {
        self.session == other.session
            && self.overlay == other.overlay
            && self.questions == other.questions
    }
}

/// The fields `ClientView::essence` compares of each question.
pub const FIELDS: &[&str] = &["id", "rev", "status", "votes", "position", "text"];

impl ClientView {
    /// A view that counts what the protocol rules out instead of panicking.
    pub fn lenient() -> Self {
        Self {
            lenient: true,
            ..Self::default()
        }
    }

    /// From a full welcome (roles without questions get none).
    pub fn from_welcome(w: &Value) -> Self {
        assert_eq!(w["resumed"], false, "a full welcome: {w}");
        let mut v = Self::default();
        v.apply(w);
        v
    }

    /// A resumed welcome: the current session and overlay, the questions as they were.
    pub fn resume(&mut self, w: &Value) {
        assert_eq!(w["resumed"], true, "{w}");
        self.apply(w);
    }

    fn anomaly(&mut self, count: fn(&mut Self) -> &mut u64, what: String) {
        assert!(self.lenient, "{what}");
        *count(self) += 1;
    }

    /// Applies one frame, as a client would: a welcome replaces the view (a resumed one keeps
    /// the questions), events change it, other frames change nothing.
    pub fn apply(&mut self, e: &Value) {
        let ty = e["type"].as_str().unwrap_or("");
        let seq = e["seq"].as_u64();
        if ty == "welcome" {
            if e["resumed"] == true {
                self.resumed += 1;
                if e["epoch"] != self.epoch.as_str() || seq != Some(self.seq) {
                    let what = format!(
                        "a resumed welcome not at the view's epoch {} and seq {}: {e}",
                        self.epoch, self.seq
                    );
                    self.anomaly(|v| &mut v.bad_resumes, what);
                }
            } else {
                self.full += 1;
                self.questions = e
                    .get("questions")
                    .and_then(Value::as_array)
                    .map(|qs| {
                        qs.iter()
                            .map(|q| (q["id"].as_str().unwrap_or("").to_string(), q.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            self.epoch = e["epoch"].as_str().unwrap_or("").to_string();
            self.seq = seq.unwrap_or(0);
            self.session = e["session"].clone();
            self.overlay = e.get("overlay").cloned().unwrap_or(Value::Null);
            self.stage = e.get("stage").cloned().unwrap_or(Value::Null);
            return;
        }
        if !matches!(
            ty,
            "question" | "removed" | "votes" | "overlay" | "session" | "stage"
        ) {
            return;
        }
        if let Some(s) = seq {
            if s <= self.seq {
                let what = format!("an event with seq {s} after seq {}: {e}", self.seq);
                self.anomaly(|v| &mut v.out_of_order, what);
                return;
            }
            self.seq = s;
        }
        match ty {
            "question" => {
                let q = &e["question"];
                self.questions
                    .insert(q["id"].as_str().unwrap_or("").to_string(), q.clone());
            }
            "removed" => {
                let held = self.questions.remove(e["id"].as_str().unwrap_or(""));
                if held.is_none() {
                    let what = format!("removed a question not in the view: {e}");
                    self.anomaly(|v| &mut v.unknown_removed, what);
                }
            }
            "votes" => {
                if let Some(counts) = e["counts"].as_object() {
                    for (id, n) in counts {
                        if let Some(q) = self.questions.get_mut(id) {
                            q["votes"] = n.clone();
                        }
                    }
                }
            }
            "overlay" => {
                let mut o = e.clone();
                if let Some(m) = o.as_object_mut() {
                    m.remove("type");
                    m.remove("seq");
                }
                self.overlay = o;
            }
            "stage" => self.stage = e["stage"].clone(),
            "session" => self.session = e["session"].clone(),
            _ => {}
        }
    }

    pub fn apply_all(&mut self, es: &[Value]) {
        for e in es {
            self.apply(e);
        }
    }

    /// The (id, rev, status) of every question in the view.
    pub fn summary(&self) -> Vec<(String, u64, String)> {
        self.questions
            .values()
            .map(|q| {
                (
                    q["id"].as_str().unwrap().to_string(),
                    q["rev"].as_u64().unwrap(),
                    q["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The compared part: every question's FIELDS, the overlay and the session without its
    /// `links` (built from the address the hub listens on, which a restart may change).
    pub fn essence(&self) -> Value {
        let qs: BTreeMap<&String, Value> = self
            .questions
            .iter()
            .map(|(id, q)| {
                let m: serde_json::Map<String, Value> = FIELDS
                    .iter()
                    .map(|f| (f.to_string(), q[*f].clone()))
                    .collect();
                (id, Value::Object(m))
            })
            .collect();
        let mut session = self.session.clone();
        if let Some(m) = session.as_object_mut() {
            m.remove("links");
        }
        json!({"questions": qs, "overlay": self.overlay, "session": session})
    }

    /// A readable list of the differences of `essence` with `other`, a fresh client's view
    /// (empty when equal).
    pub fn diff(&self, other: &ClientView) -> Vec<String> {
        let mut out = Vec::new();
        let (a, b) = (self.essence(), other.essence());
        for key in ["overlay", "session"] {
            if a[key] != b[key] {
                out.push(format!("{key}: client {} / fresh {}", a[key], b[key]));
            }
        }
        let (qa, qb) = (a["questions"].as_object(), b["questions"].as_object());
        let empty = serde_json::Map::new();
        let (qa, qb) = (qa.unwrap_or(&empty), qb.unwrap_or(&empty));
        for (id, q) in qa {
            match qb.get(id) {
                None => out.push(format!("extra (stale) question {q}")),
                Some(f) if f != q => out.push(format!("stale question: client {q} / fresh {f}")),
                _ => {}
            }
        }
        for (id, q) in qb {
            if !qa.contains_key(id) {
                out.push(format!("missing question {q}"));
            }
        }
        out
    }
}

/// A client that applies what it receives, as a page would.
pub struct Tracked {
    pub c: Client,
    pub view: ClientView,
}

impl Tracked {
    pub async fn connect(server: &TestServer, h: Value) -> Self {
        let c = Client::connect(server, h).await;
        let view = ClientView::from_welcome(&c.welcome);
        Self { c, view }
    }

    /// A moderator console (its welcome must carry the questions).
    pub async fn moderator(server: &TestServer, s: &Session) -> Self {
        let c = Client::moderator(server, s).await;
        assert!(c.welcome["questions"].is_array(), "{}", c.welcome);
        let view = ClientView::from_welcome(&c.welcome);
        Self { c, view }
    }

    /// Reads and applies the frames up to and including the `session` event with `title`.
    pub async fn through_marker(&mut self, title: &str) -> Vec<Value> {
        let got = through_marker(&mut self.c, title).await;
        self.view.apply_all(&got);
        got
    }

    /// Sends `cmd` with a fresh ref; applies every frame up to its reply; returns the reply and
    /// the frames before it.
    pub async fn act(&mut self, mut cmd: Value) -> (Value, Vec<Value>) {
        let r = new_ref();
        cmd["ref"] = json!(r);
        self.c.send(cmd).await;
        let mut before = Vec::new();
        loop {
            let v = self.c.recv().await;
            if (v["type"] == "ok" || v["type"] == "error") && v["ref"] == json!(r) {
                return (v, before);
            }
            self.view.apply(&v);
            before.push(v);
        }
    }

    /// Like `act`, asserting `ok`; returns the reply.
    pub async fn ok(&mut self, cmd: Value) -> Value {
        let (v, _) = self.act(cmd.clone()).await;
        assert_eq!(v["type"], "ok", "{cmd} -> {v}");
        v
    }

    /// Asks a question; returns its id.
    pub async fn ask(&mut self, text: &str) -> String {
        id_of(&self.ok(json!({"type":"ask","text":text})).await)
    }

    /// Closes the socket; returns the view and the resume position.
    pub async fn leave(mut self) -> (ClientView, Value, u64) {
        let epoch = self.c.welcome["epoch"].clone();
        let seq = self.c.last_seq;
        let _ = self.c.ws.close(None).await;
        (self.view, epoch, seq)
    }
}

// ---------------------------------------------------------------------------------------------
// a hub in this process, for faults only the library can inject
// ---------------------------------------------------------------------------------------------

/// A hub served in this test's process on 127.0.0.1 over `store`, so a test can inject a fault
/// through the library (a store that fails, a panicking query).
pub struct InProcessHub {
    pub hub: Arc<tanya::hub::Hub>,
    /// `ws://ADDR/ws`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcessHub {
    /// Starts a hub over `store` with the default settings.
    pub async fn start(store: Arc<dyn tanya::store::Store>) -> Self {
        let cfg = Arc::new(tanya::config::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..tanya::config::Config::default()
        });
        let hub = tanya::hub::Hub::new(cfg.clone(), store).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tanya::server::serve_hub(
            cfg,
            listener,
            hub.clone(),
            ADMIN.into(),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            hub,
            url: format!("ws://{addr}/ws"),
            stop: Some(stop),
            server,
        }
    }

    /// Begins shutdown (as SIGTERM does).
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Stops the hub and waits (10 s at most) for the server to return; `None` when it did not.
    pub async fn stopped(mut self) -> Option<anyhow::Result<()>> {
        self.stop();
        let r = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        r.ok().map(|joined| joined.unwrap())
    }
}
