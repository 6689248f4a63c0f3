//! After the hour, the office's side (docs/followup.md): the contact's privacy in every frame
//! and every HTTP answer of a whole session, the report, the export that opens in Excel, the
//! retention promise (the value gone from the database file), and cases across a crash.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{ADMIN, Client, Session, TestServer, http, http_json, new_ref};

const CONTACT: &str = "+62 813-7766-5544";
const STORED: &str = "+6281377665544";
const EMAIL: &str = "rahasia.warga@contoh.id";

/// A new agency's key.
async fn agency(server: &TestServer, name: &str, short: &str) -> String {
    server.create_agency(name, short).await["key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every text frame a socket receives within `ms` of quiet.
async fn drain(c: &mut Client, ms: u64) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(ms), c.ws.next()).await {
        if let Message::Text(t) = m {
            out.push(t.to_string());
        }
    }
    out
}

async fn get(server: &TestServer, path: &str, key: Option<&str>) -> (u16, String) {
    let (st, _, body) = http("GET", &server.http(path), key, None).await;
    (st, body)
}

async fn post(server: &TestServer, path: &str, key: &str, body: Value) -> (u16, Value) {
    http_json(
        "POST",
        &server.http(path),
        Some(key),
        Some(&body.to_string()),
    )
    .await
}

/// The cells of an XLSX workbook's first sheet, and its formulas.
fn xlsx_cells(bytes: Vec<u8>) -> (Vec<Vec<String>>, usize) {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an xlsx");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("a sheet");
    let rows = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let formulas = wb
        .worksheet_formula(&name)
        .map(|f| f.used_cells().filter(|(_, _, s)| !s.is_empty()).count())
        .unwrap_or(0);
    (rows, formulas)
}

async fn bytes(server: &TestServer, path: &str, key: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = server.http(path);
    let rest = url.strip_prefix("http://").unwrap();
    let (host, p) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(
        format!(
            "GET {p} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).await.unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body = all[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        out
    } else {
        body
    }
}

/// A whole session: phones, press, screen and overlay never receive a contact; nor does any
/// public HTTP answer, an export for a moderator, another agency, or the hub's log (at debug).
#[tokio::test]
async fn no_frame_and_no_answer_but_the_staffs_and_its_agencys_ever_carries_a_contact() {
    let server = TestServer::start_with(&[("RUST_LOG", "debug")]);
    let s = server.demo_session().await;
    let pupr = agency(&server, "Dinas PUPR", "PUPR").await;
    let dlh = agency(&server, "Dinas Lingkungan Hidup", "DLH").await;
    let mut author = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let mut press = Client::connect(
        &server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
    )
    .await;
    let mut screen = Client::connect(
        &server,
        json!({"type":"hello","role":"screen","session":s.id,"key":s.screen}),
    )
    .await;
    let mut overlay = Client::connect(
        &server,
        json!({"type":"hello","role":"overlay","session":s.id,"key":s.overlay}),
    )
    .await;
    let mut m = Client::moderator(&server, &s).await;
    let ok = author
        .ok(
            json!({"type":"ask","ref":new_ref(),"text":"Air PDAM di Plaju mati tiga hari",
                   "contact":CONTACT,"topic":"air bersih","place":{"kecamatan":"Plaju"},
                   "name":"Sari"}),
        )
        .await;
    let qid = ok["question"]["id"].as_str().unwrap().to_string();
    let code = ok["tracking"].as_str().unwrap().to_string();
    let entry = m
        .ok(
            json!({"type":"enter","ref":new_ref(),"text":"Banjir di Sako setiap hujan",
                   "channel":"whatsapp","contact":EMAIL}),
        )
        .await;
    let eid = entry["question"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        entry["question"]["contact"],
        json!(EMAIL),
        "moderators see it"
    );
    for cmd in [
        json!({"type":"approve","question":qid}),
        json!({"type":"approve","question":eid}),
        json!({"type":"live","question":qid}),
        json!({"type":"overlay","visible":true}),
        json!({"type":"edit","question":eid,"text":"Banjir di Sako tiap hujan deras"}),
        json!({"type":"answered","question":qid}),
        json!({"type":"case","question":qid,"action":"forward","agency":"pupr"}),
        json!({"type":"case","question":eid,"action":"publish","public":true}),
    ] {
        m.ok(cmd).await;
    }
    let (st, _) = post(
        &server,
        &format!("/api/agency/pupr/cases/{qid}"),
        &pupr,
        json!({"action":"resolve","answer":"Pipa diganti, air mengalir lagi"}),
    )
    .await;
    assert_eq!(st, 200);
    // Frames, and the fresh welcomes of every role but the moderator.
    let mut frames = vec![author.welcome.to_string()];
    frames.extend(drain(&mut author, 300).await);
    // The author's own frames carry its tracking code; no other socket's do.
    assert!(frames.iter().any(|f| f.contains(&code)));
    let mut others = Vec::new();
    for c in [&mut other, &mut press, &mut screen, &mut overlay] {
        others.push(c.welcome.to_string());
        others.extend(drain(c, 300).await);
    }
    assert!(
        !others.iter().any(|f| f.contains(&code)),
        "a code in another's frame"
    );
    frames.extend(others);
    for hello in [
        json!({"type":"hello","role":"audience","session":s.code,"device":author.device()}),
        json!({"type":"hello","role":"audience","session":s.code}),
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
        json!({"type":"hello","role":"screen","session":s.id,"key":s.screen}),
        json!({"type":"hello","role":"overlay","session":s.id,"key":s.overlay}),
    ] {
        frames.push(Client::connect(&server, hello).await.welcome.to_string());
    }
    assert!(frames.len() > 20, "{} frames", frames.len());
    for f in &frames {
        assert!(
            !f.contains(STORED) && !f.contains(EMAIL) && !f.contains("\"contact\""),
            "a contact in a frame to a phone, the press, the screen or the overlay: {f}"
        );
    }
    // HTTP answers that are not the office's, its session's moderators' or its agency's.
    let mut answers = Vec::new();
    for (path, key) in [
        (
            format!("/api/sessions/{}/live.json?k={}", s.id, s.overlay),
            None,
        ),
        (format!("/api/track/{code}"), None),
        ("/api/board".to_string(), None),
        ("/api/followup/options".to_string(), None),
        (format!("/api/join/{}", s.code), None),
        (
            format!("/api/sessions/{}/report", s.id),
            Some(s.moderator.as_str()),
        ),
        (
            format!("/api/sessions/{}/export", s.id),
            Some(s.moderator.as_str()),
        ),
        (
            format!("/api/sessions/{}/export?format=csv", s.id),
            Some(s.moderator.as_str()),
        ),
        (
            format!("/api/sessions/{}/export?format=csv&layout=office", s.id),
            Some(s.moderator.as_str()),
        ),
        (format!("/api/sessions/{}/report", s.id), Some(ADMIN)),
        ("/api/agency/dlh/cases".to_string(), Some(dlh.as_str())),
    ] {
        let (st, body) = get(&server, &path, key).await;
        assert_eq!(st, 200, "{path}: {body}");
        answers.push((path, body));
    }
    for (path, body) in &answers {
        assert!(
            !body.contains(STORED) && !body.contains(EMAIL),
            "a contact in {path}: {body}"
        );
    }
    let (rows, _) = xlsx_cells(
        bytes(
            &server,
            &format!("/api/sessions/{}/export?format=xlsx", s.id),
            &s.moderator,
        )
        .await,
    );
    let flat = rows.concat().join("|");
    assert!(!flat.contains(STORED) && !flat.contains(EMAIL), "{flat}");
    assert!(!rows[0].contains(&"Kontak".to_string()));
    // Those who must call back do see it.
    let (_, inbox) = get(&server, "/api/agency/pupr/cases", Some(&pupr)).await;
    assert!(inbox.contains(STORED), "{inbox}");
    let (_, office) = get(
        &server,
        &format!("/api/sessions/{}/export?format=csv&layout=office", s.id),
        Some(ADMIN),
    )
    .await;
    assert!(
        office.contains(STORED) && office.contains(EMAIL),
        "{office}"
    );
    let (_, list) = get(&server, "/api/cases", Some(ADMIN)).await;
    assert!(list.contains(STORED) && list.contains(EMAIL));
    // Nor in the hub's log, at debug level.
    let log = server.stderr.lock().unwrap().join("\n");
    assert!(log.contains("case action"), "the log is at debug: {log}");
    assert!(
        // Eight of its digits, not four: a log line's microseconds may spell any four.
        !log.contains(STORED)
            && !log.contains(EMAIL)
            && !log.contains("99887766")
            && !log.contains(CONTACT),
        "{log}"
    );
}

/// `tanya purge --before` and `POST /api/purge`: the contact is erased, the erasure journaled,
/// and the value is in neither the database file nor its write-ahead log.
#[tokio::test]
async fn erased_contacts_are_gone_from_the_database_file() {
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    agency(&server, "Dinas PUPR", "PUPR").await;
    let mut phone = Client::audience(&server, &s).await;
    let ok = phone
        .ok(
            json!({"type":"ask","ref":new_ref(),"text":"Jalan rusak di Kertapati",
                   "contact":CONTACT}),
        )
        .await;
    let qid = ok["question"]["id"].as_str().unwrap().to_string();
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"approve","question":qid})).await;
    m.ok(json!({"type":"edit","question":qid,"text":"Jalan rusak di Kertapati, dekat pasar"}))
        .await;
    m.ok(json!({"type":"case","question":qid,"action":"resolve","answer":"Sudah ditambal"}))
        .await;
    assert!(
        crate::common::store_holds(&server, STORED).await,
        "the contact is stored before it is erased"
    );
    // A purge before the day it was asked erases nothing.
    let (st, r) = post(&server, "/api/purge", ADMIN, json!({"before":"2020-01-01"})).await;
    assert_eq!((st, r["erased"].as_u64()), (200, Some(0)), "{r}");
    let tomorrow = (chrono::Utc::now() + chrono::Days::new(2))
        .date_naive()
        .to_string();
    let (st, r) = post(&server, "/api/purge", ADMIN, json!({"before": tomorrow})).await;
    assert_eq!((st, r["erased"].as_u64()), (200, Some(1)), "{r}");
    assert!(
        !crate::common::store_holds(&server, STORED).await,
        "the value is gone from the file and its log"
    );
    let m2 = Client::moderator(&server, &s).await;
    assert_eq!(m2.welcome["questions"][0]["contact"], Value::Null);
    assert_eq!(m2.welcome["questions"][0]["case"]["status"], "resolved");
    // After a restart the journal replays without it.
    server.kill9();
    server.restart();
    let m3 = Client::moderator(&server, &s).await;
    assert_eq!(m3.welcome["questions"][0]["contact"], Value::Null);
    // The command line, on a stopped hub.
    let mut phone = Client::audience(&server, &s).await;
    phone
        .ok(json!({"type":"ask","ref":new_ref(),"text":"Sampah di Gandus","contact":EMAIL}))
        .await;
    let (status, _) = server.terminate();
    assert!(status.success());
    assert!(crate::common::store_holds(&server, EMAIL).await);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tanya"))
        .args(["purge", "--before", &tomorrow, "--config"])
        .arg(server.dir.path().join("tanya.toml"))
        .env("TANYA_DATABASE", crate::common::database_of(&server))
        .env("TANYA_ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("erased 1 contacts"),
        "{out:?}"
    );
    assert!(
        !crate::common::store_holds(&server, EMAIL).await,
        "the command line erased it from the file"
    );
}

/// The office's export: CSV with a BOM and `;`, times in Asia/Jakarta, speakers by name, every
/// cell safe from formulas; the contact column for the office only; XLSX that reads back.
#[tokio::test]
async fn the_office_export_opens_in_excel_with_indonesian_settings() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    agency(&server, "Dinas PUPR", "PUPR").await;
    let mut m = Client::moderator(&server, &s).await;
    let ok = m
        .ok(
            json!({"type":"enter","ref":new_ref(),"text":"=HYPERLINK(\"http://x\",\"klik\")",
                   "channel":"radio","to":"s1","contact":CONTACT,"topic":"jalan",
                   "place":{"kecamatan":"Kemuning"}}),
        )
        .await;
    let qid = ok["question"]["id"].as_str().unwrap().to_string();
    let code = ok["tracking"].as_str().unwrap().to_string();
    m.ok(
        json!({"type":"case","question":qid,"action":"forward","agency":"pupr","due":"2027-01-05"}),
    )
    .await;
    let created = ok["question"]["created_at"].as_str().unwrap();
    let local = chrono::DateTime::parse_from_rfc3339(created)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let path = format!("/api/sessions/{}/export?format=csv&layout=office", s.id);
    let csv = bytes(&server, &path, &s.moderator).await;
    assert_eq!(&csv[..3], b"\xEF\xBB\xBF", "a UTF-8 BOM");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["No", "Waktu", "Kode lacak"]);
    assert!(!header.contains(&"Kontak".to_string()), "{header:?}");
    let row: Vec<String> = r
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    let col = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!(col("Waktu"), local, "office time");
    assert_eq!(col("Kode lacak"), code);
    assert_eq!(col("Untuk"), "Drs Ratu Dewa MSi (Sekretaris Daerah)");
    assert_eq!(col("Pertanyaan"), "'=HYPERLINK(\"http://x\",\"klik\")");
    assert_eq!(col("Status tindak lanjut"), "forwarded");
    assert_eq!(col("Instansi"), "PUPR");
    assert_eq!(col("Tenggat"), "2027-01-05");
    assert_eq!(col("Topik"), "jalan");
    assert_eq!(col("Kecamatan"), "Kemuning");
    assert!(col("Riwayat").contains("forward"), "{}", col("Riwayat"));
    // The office's, with commas: the contact column.
    let office = bytes(&server, &format!("{path}&sep=comma"), ADMIN).await;
    let mut r = csv::Reader::from_reader(&office[3..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header.last().map(String::as_str), Some("Kontak"));
    let row = r.records().next().unwrap().unwrap();
    // A cell that starts with `+` gets the leading `'` of every spreadsheet-safe cell.
    assert_eq!(
        row.get(header.len() - 1),
        Some(format!("'{STORED}").as_str())
    );
    // XLSX, read back with a reader: the same cells, no formula anywhere.
    let (rows, formulas) = xlsx_cells(
        bytes(
            &server,
            &format!("/api/sessions/{}/export?format=xlsx", s.id),
            ADMIN,
        )
        .await,
    );
    assert_eq!(formulas, 0);
    assert_eq!(rows[0][2], "Kode lacak");
    assert_eq!(rows[1][2], code);
    assert_eq!(
        rows[1][8], "=HYPERLINK(\"http://x\",\"klik\")",
        "kept as text"
    );
    assert_eq!(rows[1].last().map(String::as_str), Some(STORED));
    // Bad options say what was wrong.
    for (q, word) in [
        ("format=pdf", "format"),
        ("format=csv&layout=fancy", "layout"),
        ("format=csv&layout=office&sep=tab", "sep"),
        ("format=json&layout=office", "layout"),
    ] {
        let (st, body) = get(
            &server,
            &format!("/api/sessions/{}/export?{q}", s.id),
            Some(&s.moderator),
        )
        .await;
        assert_eq!(st, 400, "{q}: {body}");
        assert!(body.contains(word), "{q}: {body}");
    }
}

/// Cases are journaled: after `kill -9` the case, its agency's inbox and the tracking page are
/// as they were; the report counts them, with the peak phones journaled while they were there,
/// and compares with the session before.
#[tokio::test]
async fn cases_outlive_a_crash_and_the_report_counts_them() {
    let mut server = TestServer::start_with_config("[followup]\npresence_every_ms = 200\n", &[]);
    let first = server
        .create_session("Diskusi Wong Kito #11", json!([]))
        .await;
    let first = Session::from_json(&first);
    let mut p = Client::audience(&server, &first).await;
    p.ok(json!({"type":"ask","ref":new_ref(),"text":"Pertanyaan bulan lalu"}))
        .await;
    let s = server.demo_session().await;
    let key = agency(&server, "Dinas PUPR", "PUPR").await;
    let mut phones = Vec::new();
    for _ in 0..3 {
        phones.push(Client::audience(&server, &s).await);
    }
    let mut m = Client::moderator(&server, &s).await;
    let mut ids = Vec::new();
    for (i, topic) in ["jalan", "jalan", "banjir"].iter().enumerate() {
        let ok = phones[i]
            .ok(
                json!({"type":"ask","ref":new_ref(),"text":format!("Keluhan nomor {i}"),
                       "topic":topic,"place":{"kecamatan":"Sako"}}),
            )
            .await;
        ids.push(ok["question"]["id"].as_str().unwrap().to_string());
    }
    m.ok(json!({"type":"enter","ref":new_ref(),"text":"Dari radio","channel":"radio"}))
        .await;
    m.ok(json!({"type":"approve","question":ids[0]})).await;
    m.ok(json!({"type":"answered","question":ids[0]})).await;
    m.ok(json!({"type":"case","question":ids[1],"action":"forward","agency":"pupr"}))
        .await;
    let (st, _) = post(
        &server,
        &format!("/api/agency/pupr/cases/{}", ids[1]),
        &key,
        json!({"action":"acknowledge"}),
    )
    .await;
    assert_eq!(st, 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill9();
    server.restart();
    let (_, inbox) = get(&server, "/api/agency/pupr/cases", Some(&key)).await;
    let inbox: Value = serde_json::from_str(&inbox).unwrap();
    assert_eq!(inbox["cases"][0]["status"], "in_progress", "{inbox}");
    let m = Client::moderator(&server, &s).await;
    let q = crate::common::questions_by_id(&m.welcome)[&ids[1]].clone();
    assert_eq!(q["case"]["status"], "in_progress");
    let (st, report) = get(
        &server,
        &format!("/api/sessions/{}/report", s.id),
        Some(&s.moderator),
    )
    .await;
    assert_eq!(st, 200, "{report}");
    let r: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        r["counts"],
        json!({"answered_on_air":1,"declined":0,"forwarded":1,"left":2,"overdue":0,"received":4,"resolved":0})
    );
    assert_eq!(r["by_topic"], json!({"banjir":1,"jalan":2}));
    assert_eq!(r["by_place"], json!({"Sako":3}));
    assert_eq!(r["by_source"], json!({"audience":3,"operator":1}));
    assert_eq!(r["by_channel"], json!({"radio":1,"web":3}));
    assert!(
        r["peak"]["audience"].as_u64().unwrap() >= 3,
        "{}",
        r["peak"]
    );
    assert!(
        r["peak"]["moderator"].as_u64().unwrap() >= 1,
        "{}",
        r["peak"]
    );
    assert_eq!(r["agencies"][0]["id"], "pupr");
    assert_eq!(r["agencies"][0]["open"], 1);
    assert_eq!(r["earlier"][0]["title"], "Diskusi Wong Kito #11");
    assert_eq!(r["earlier"][0]["counts"]["received"], 1);
    assert!(r["earlier"][0]["peak"]["audience"].as_u64().unwrap() >= 1);
    assert_eq!(r["time_zone"], "Asia/Jakarta");
    let (st, _) = get(
        &server,
        &format!("/api/sessions/{}/report", s.id),
        Some("nope"),
    )
    .await;
    assert_eq!(st, 401);
    let (st, _) = get(
        &server,
        &format!("/api/sessions/{}/report", s.id),
        Some(&first.moderator),
    )
    .await;
    assert_eq!(st, 401, "another session's moderator key");
}

/// Retention: a contact is erased `followup.retention_days` (180) after its case closed, not
/// before, and not while the case is open.
#[tokio::test]
async fn contacts_are_erased_180_days_after_their_case_closes() {
    use tanya::domain::followup::{By, CaseAction};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tanya.db").display());
    let store = tanya::store::open(&url).await.unwrap();
    let rec = tanya::hub::Hub::create_session(store.as_ref(), "Uji retensi", &[], 0)
        .await
        .unwrap();
    let server = crate::common::InProcessHub::start(store.clone()).await;
    let mut phone = crate::common::raw(&server.url).await;
    use futures_util::SinkExt;
    phone
        .send(Message::text(
            json!({"type":"hello","role":"audience","session":rec.info.code}).to_string(),
        ))
        .await
        .unwrap();
    crate::common::next_json(&mut phone).await;
    let mut ids = Vec::new();
    for (i, contact) in [CONTACT, EMAIL].iter().enumerate() {
        phone
            .send(Message::text(
                json!({"type":"ask","ref":format!("r{i}"),"text":format!("Keluhan {i}"),
                       "contact":contact})
                .to_string(),
            ))
            .await
            .unwrap();
        let ok = loop {
            let v = crate::common::next_json(&mut phone).await;
            if v["type"] == "ok" {
                break v;
            }
        };
        ids.push(uuid::Uuid::parse_str(ok["question"]["id"].as_str().unwrap()).unwrap());
    }
    let hub = &server.hub;
    // The first is resolved now; the second stays open.
    hub.case_action(
        ids[0],
        By::office(None),
        CaseAction::Resolve {
            answer: "Selesai".into(),
        },
    )
    .await
    .unwrap()
    .unwrap();
    let day = 86_400_000i64;
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(hub.retention_at(now + 179 * day).await.unwrap(), 0);
    assert!(hub.case(ids[0]).await.unwrap().unwrap().has_contact);
    assert_eq!(hub.retention_at(now + 181 * day).await.unwrap(), 1);
    assert!(!hub.case(ids[0]).await.unwrap().unwrap().has_contact);
    assert!(
        hub.case(ids[1]).await.unwrap().unwrap().has_contact,
        "an open case keeps it"
    );
    assert_eq!(hub.retention_at(now + 400 * day).await.unwrap(), 0);
    let events = store.load_events(rec.info.id).await.unwrap();
    assert!(
        events.iter().any(
            |e| matches!(e, tanya::domain::Event::Erase { question, .. } if *question == ids[0])
        ),
        "the erasure is journaled"
    );
    let journal = serde_json::to_string(&events).unwrap();
    assert!(!journal.contains(STORED), "no journal row holds it");
    assert!(journal.contains(EMAIL), "the open case's contact is kept");
}
