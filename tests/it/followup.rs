//! After the hour (docs/followup.md): a journey per role through real sockets and HTTP: the
//! citizen and the tracking code, the moderator and the agencies, the office's board, report,
//! export and purge; and the privacy of the contact in every frame and every answer.

use serde_json::{Value, json};

use crate::common::{ADMIN, Client, Session, TestServer, act_ok, http, http_json, new_ref};

/// A phone number no other text of a test contains.
const CONTACT: &str = "0812 9988 7766";
/// The contact as the hub stores it.
const STORED: &str = "081299887766";

async fn agency(server: &TestServer, name: &str, short: &str) -> Value {
    server.create_agency(name, short).await
}

async fn moderator_named(server: &TestServer, s: &Session, name: &str) -> Client {
    Client::connect(
        server,
        json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator,"name":name}),
    )
    .await
}

/// An audience question with contact, place and topic; its `ok`.
async fn ask_with_contact(phone: &mut Client, text: &str) -> Value {
    phone
        .ok(
            json!({"type":"ask","ref":new_ref(),"text":text,"contact":CONTACT,
                   "place":{"kecamatan":"sako","kelurahan":"SAKO"},"topic":"Jalan"}),
        )
        .await
}

async fn track(server: &TestServer, code: &str) -> (u16, Value) {
    let path = format!("/api/track/{}", code.replace(' ', "%20"));
    http_json("GET", &server.http(&path), None, None).await
}

async fn case_act(server: &TestServer, path: &str, key: &str, body: Value) -> (u16, Value) {
    http_json(
        "POST",
        &server.http(path),
        Some(key),
        Some(&body.to_string()),
    )
    .await
}

#[tokio::test]
async fn a_citizen_asks_with_a_contact_and_finds_the_question_by_its_code() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut phone = Client::audience(&server, &s).await;
    let ok = ask_with_contact(&mut phone, "Jalan di depan pasar Sako berlubang besar").await;
    let code = ok["tracking"]
        .as_str()
        .expect("ok carries the tracking code");
    assert_eq!(code.len(), 11, "{code}");
    assert_eq!(ok["question"]["tracking"], json!(code), "the author's view");
    assert!(ok["question"].get("contact").is_none(), "{ok}");
    // The moderator sees the contact, place and topic as the lists spell them.
    let mut m = Client::moderator(&server, &s).await;
    let q = m.welcome["questions"][0].clone();
    assert_eq!(q["contact"], json!(STORED));
    assert_eq!(q["place"], json!({"kecamatan":"Sako","kelurahan":"Sako"}));
    assert_eq!(q["topic"], json!("jalan"));
    assert_eq!(q["tracking"], json!(code));
    assert_eq!(q["case"]["status"], json!("received"));
    // Typed as a person would: lower case, spaces instead of dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let (st, t) = track(&server, &typed).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["tracking"], json!(code));
    assert_eq!(
        t["question"]["text"],
        json!("Jalan di depan pasar Sako berlubang besar")
    );
    assert_eq!(t["case"]["status"], json!("received"));
    assert_eq!(
        t["session"]["title"],
        json!("Diskusi Wong Kito #12: Perizinan")
    );
    let body = t.to_string();
    assert!(!body.contains(STORED) && !body.contains("author"), "{body}");
    // The phone keeps it: a fresh welcome of the same device lists the question with its code.
    let again = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":phone.device()}),
    )
    .await;
    let mine = &again.welcome["questions"][0];
    assert_eq!(mine["tracking"], json!(code), "{mine}");
    // A malformed code and an unknown one.
    let (st, e) = track(&server, "K7Q-M3X").await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{e}"
    );
    let (st, e) = track(&server, "AAA-AAA-AAA").await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    m.quiet(0).await;
}

#[tokio::test]
async fn lookups_are_limited_per_address() {
    let server = TestServer::start_with(&[("TANYA_LOOKUPS_PER_MINUTE", "5")]);
    let mut last = (0, Value::Null);
    for _ in 0..6 {
        last = track(&server, "AAA-AAA-AAA").await;
    }
    assert_eq!(last.0, 429, "{}", last.1);
    assert_eq!(last.1["error"]["code"], "rate_limited");
    assert!(last.1["error"]["retry_after_ms"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_moderator_forwards_the_agency_answers_and_the_citizen_reads_the_answer() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let pupr = agency(&server, "Dinas Pekerjaan Umum dan Penataan Ruang", "PUPR").await;
    let dlh = agency(&server, "Dinas Lingkungan Hidup", "DLH").await;
    assert_eq!(pupr["id"], "pupr");
    let (pupr_key, dlh_key) = (
        pupr["key"].as_str().unwrap().to_string(),
        dlh["key"].as_str().unwrap().to_string(),
    );
    let mut m = moderator_named(&server, &s, "Rina").await;
    assert_eq!(
        m.welcome["agencies"],
        json!([{"id":"dlh","name":"Dinas Lingkungan Hidup","short":"DLH"},
               {"id":"pupr","name":"Dinas Pekerjaan Umum dan Penataan Ruang","short":"PUPR"}])
    );
    let mut phone = Client::audience(&server, &s).await;
    let ok = ask_with_contact(&mut phone, "Kapan jalan Sako diperbaiki?").await;
    let (qid, code) = (
        ok["question"]["id"].as_str().unwrap().to_string(),
        ok["tracking"].as_str().unwrap().to_string(),
    );
    let other = phone
        .ok(json!({"type":"ask","ref":new_ref(),"text":"Sampah menumpuk di pasar"}))
        .await;
    let other_id = other["question"]["id"].as_str().unwrap().to_string();
    m.ok(json!({"type":"approve","question":qid})).await;
    m.ok(json!({"type":"live","question":qid})).await;
    m.ok(json!({"type":"answered","question":qid})).await;
    // Answered on air, and forwarded all the same ("we will fix it next week").
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"case","question":qid,"action":"forward","agency":"pupr",
               "due":"2026-12-20","note":"Mohon ditinjau minggu ini"}),
    )
    .await;
    let card = before
        .iter()
        .find(|v| v["type"] == "question" && v["question"]["id"] == json!(qid))
        .expect("the moderators get the question with its case")["question"]
        .clone();
    assert_eq!(
        card["case"],
        json!({"agency":"pupr","due":"2026-12-20","public":false,"status":"forwarded"})
    );
    m.ok(json!({"type":"case","question":other_id,"action":"forward","agency":"dlh"}))
        .await;
    // Each agency sees its own case, with the contact, and nothing of the other's.
    let (st, inbox) = http_json(
        "GET",
        &server.http("/api/agency/pupr/cases"),
        Some(&pupr_key),
        None,
    )
    .await;
    assert_eq!(st, 200, "{inbox}");
    let cases = inbox["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{inbox}");
    assert_eq!(cases[0]["question"], json!(qid));
    assert_eq!(cases[0]["contact"], json!(STORED));
    assert_eq!(cases[0]["note"], json!("Mohon ditinjau minggu ini"));
    assert_eq!(
        cases[0]["history"][0]["by"],
        json!({"name":"Rina","role":"moderator"})
    );
    let (_, dlh_inbox) = http_json(
        "GET",
        &server.http("/api/agency/dlh/cases"),
        Some(&dlh_key),
        None,
    )
    .await;
    assert_eq!(dlh_inbox["cases"].as_array().unwrap().len(), 1);
    assert!(!dlh_inbox.to_string().contains(&qid), "{dlh_inbox}");
    // The default due date is due_days (14) from today.
    let due = dlh_inbox["cases"][0]["due"].as_str().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    assert_eq!(due, (today + chrono::Days::new(14)).to_string());
    // Another agency's key, on its own route or on this one, cannot act on the case.
    let (st, e) = case_act(
        &server,
        &format!("/api/agency/dlh/cases/{qid}"),
        &dlh_key,
        json!({"action":"resolve","answer":"Sudah"}),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    let (st, _) = case_act(
        &server,
        &format!("/api/agency/pupr/cases/{qid}"),
        &dlh_key,
        json!({"action":"resolve","answer":"Sudah"}),
    )
    .await;
    assert_eq!(st, 401);
    // The agency acknowledges, then answers.
    let (st, c) = case_act(
        &server,
        &format!("/api/agency/pupr/cases/{qid}"),
        &pupr_key,
        json!({"action":"acknowledge","by":"Budi"}),
    )
    .await;
    assert_eq!(
        (st, c["case"]["status"].as_str()),
        (200, Some("in_progress")),
        "{c}"
    );
    let answer = "Perbaikan dijadwalkan 15 Desember oleh Dinas PUPR.";
    let (st, c) = case_act(
        &server,
        &format!("/api/agency/pupr/cases/{qid}"),
        &pupr_key,
        json!({"action":"resolve","answer":answer,"by":"Budi"}),
    )
    .await;
    assert_eq!(
        (st, c["case"]["status"].as_str()),
        (200, Some("resolved")),
        "{c}"
    );
    // A resolved case cannot be acknowledged again.
    let (st, e) = case_act(
        &server,
        &format!("/api/agency/pupr/cases/{qid}"),
        &pupr_key,
        json!({"action":"acknowledge"}),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{e}"
    );
    // The citizen reads the answer, the agency and the history; never a name.
    let (_, t) = track(&server, &code).await;
    assert_eq!(t["case"]["status"], "resolved");
    assert_eq!(t["case"]["answer"], json!(answer));
    assert_eq!(
        t["case"]["agency"],
        json!({"name":"Dinas Pekerjaan Umum dan Penataan Ruang","short":"PUPR"})
    );
    let steps: Vec<&str> = t["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["forward", "acknowledge", "resolve"]);
    assert!(
        !t.to_string().contains("Budi") && !t.to_string().contains("Rina"),
        "{t}"
    );
    // Who did what: the question's history names the moderator and the agency's officer.
    let (st, h) = http_json(
        "GET",
        &server.http(&format!("/api/sessions/{}/questions/{qid}/history", s.id)),
        Some(&s.moderator),
        None,
    )
    .await;
    assert_eq!(st, 200, "{h}");
    let hist: Vec<(String, Value)> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["action"].as_str().unwrap().to_string(), x["by"].clone()))
        .collect();
    let acts: Vec<&str> = hist.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        acts,
        [
            "ask",
            "approve",
            "live",
            "answered",
            "forward",
            "acknowledge",
            "resolve"
        ]
    );
    assert_eq!(hist[1].1, json!({"name":"Rina","role":"moderator"}));
    assert_eq!(
        hist[6].1,
        json!({"agency":"pupr","name":"Budi","role":"agency"})
    );
    // The board counts what happened.
    let (_, board) = http_json("GET", &server.http("/api/board"), None, None).await;
    assert_eq!(
        board["total"],
        json!({"answered_on_air":1,"declined":0,"forwarded":2,"left":0,"overdue":0,"received":2,"resolved":1})
    );
    let pupr_row = board["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "pupr")
        .unwrap();
    assert_eq!(pupr_row["resolved"], 1);
    assert_eq!(pupr_row["forwarded"], 1);
    assert!(pupr_row["median_days"].as_f64().unwrap() < 0.1);
    assert_eq!(board["public_cases"], json!([]));
    // Published by the office: on the board with its text masked, never the name.
    let (st, _) = case_act(
        &server,
        &format!("/api/cases/{qid}"),
        ADMIN,
        json!({"action":"publish","public":true,"by":"Humas"}),
    )
    .await;
    assert_eq!(st, 200);
    let (_, board) = http_json("GET", &server.http("/api/board"), None, None).await;
    assert_eq!(board["public_cases"][0]["tracking"], json!(code));
    assert_eq!(board["public_cases"][0]["answer"], json!(answer));
    assert!(!board.to_string().contains(STORED));
}

#[tokio::test]
async fn an_agency_hands_a_case_back_and_the_office_reopens_a_declined_one() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let pupr = agency(&server, "Dinas PUPR", "PUPR").await;
    let key = pupr["key"].as_str().unwrap();
    let mut m = Client::moderator(&server, &s).await;
    let ok = m
        .ok(
            json!({"type":"enter","ref":new_ref(),"text":"Lampu jalan mati","channel":"sms",
                   "contact":"budi@contoh.id","topic":"listrik"}),
        )
        .await;
    let qid = ok["question"]["id"].as_str().unwrap().to_string();
    assert!(ok["tracking"].is_string(), "{ok}");
    assert_eq!(ok["question"]["contact"], json!("budi@contoh.id"));
    m.ok(json!({"type":"case","question":qid,"action":"forward","agency":"pupr"}))
        .await;
    let (st, c) = case_act(
        &server,
        &format!("/api/agency/pupr/cases/{qid}"),
        key,
        json!({"action":"return","note":"Bukan wewenang kami: PLN"}),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["case"]["status"], "received");
    assert_eq!(c["case"]["agency"], Value::Null);
    // Returned: no longer in the agency's inbox, and it may not act on it.
    let (_, inbox) = http_json(
        "GET",
        &server.http("/api/agency/pupr/cases"),
        Some(key),
        None,
    )
    .await;
    assert_eq!(inbox["cases"], json!([]));
    // The office declines it, then reopens it.
    let (st, c) = case_act(
        &server,
        &format!("/api/cases/{qid}"),
        ADMIN,
        json!({"action":"decline","reason":"Ditangani PLN, bukan pemerintah kota"}),
    )
    .await;
    assert_eq!(
        (st, c["case"]["status"].as_str()),
        (200, Some("declined")),
        "{c}"
    );
    let (st, c) = case_act(
        &server,
        &format!("/api/cases/{qid}"),
        ADMIN,
        json!({"action":"reopen"}),
    )
    .await;
    assert_eq!(
        (st, c["case"]["status"].as_str()),
        (200, Some("reopened")),
        "{c}"
    );
    // Only an agency returns a case.
    m.err(
        json!({"type":"case","question":qid,"action":"return"}),
        "forbidden",
    )
    .await;
    let (_, list) = http_json(
        "GET",
        &server.http("/api/cases?status=reopened"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(list["cases"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["cases"][0]["contact"], json!("budi@contoh.id"));
}

#[tokio::test]
async fn bad_follow_up_input_gets_a_clear_error_and_changes_nothing() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    agency(&server, "Dinas PUPR", "PUPR").await;
    let mut phone = Client::audience(&server, &s).await;
    for (cmd, word) in [
        (json!({"contact":"abc"}), "contact"),
        (json!({"contact":"0812"}), "contact"),
        (json!({"contact": 812}), "contact"),
        (json!({"contact": "9".repeat(101)}), "contact"),
        (json!({"place":"Sako"}), "place"),
        (json!({"place":{"kelurahan":"Sako"}}), "place.kecamatan"),
        (json!({"place":{"kecamatan":"Atlantis"}}), "place.kecamatan"),
        (
            json!({"place":{"kecamatan":"Sako","kelurahan":"Gandus"}}),
            "place.kelurahan",
        ),
        (json!({"topic":"cuaca"}), "topic"),
        (json!({"topic":7}), "topic"),
    ] {
        let mut ask = json!({"type":"ask","ref":new_ref(),"text":"Pertanyaan uji"});
        for (k, v) in cmd.as_object().unwrap() {
            ask[k] = v.clone();
        }
        let e = phone.err(ask.clone(), "invalid").await;
        assert!(
            e["message"].as_str().unwrap().contains(word),
            "{ask} -> {e}"
        );
    }
    let mut m = Client::moderator(&server, &s).await;
    assert_eq!(m.welcome["questions"], json!([]), "nothing was created");
    let qid = m
        .ok(json!({"type":"enter","ref":new_ref(),"text":"Uji","channel":"phone"}))
        .await["question"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (cmd, code, word) in [
        (json!({"action":"fly"}), "invalid", "action"),
        (json!({}), "invalid", "action"),
        (json!({"action":"forward"}), "invalid", "agency"),
        (
            json!({"action":"forward","agency":"pupr","due":"besok"}),
            "invalid",
            "due",
        ),
        (
            json!({"action":"forward","agency":"nope"}),
            "not_found",
            "agency",
        ),
        (json!({"action":"resolve"}), "invalid", "answer"),
        (
            json!({"action":"resolve","answer":"  "}),
            "invalid",
            "answer",
        ),
        (
            json!({"action":"resolve","answer":"x".repeat(2001)}),
            "invalid",
            "answer",
        ),
        (json!({"action":"decline"}), "invalid", "reason"),
        (
            json!({"action":"forward","agency":"pupr","note":"x".repeat(501)}),
            "invalid",
            "note",
        ),
        (json!({"action":"publish"}), "invalid", "public"),
        (json!({"action":"acknowledge"}), "conflict", "received"),
        (json!({"action":"reopen"}), "conflict", "received"),
    ] {
        let mut c = json!({"type":"case","question":qid});
        for (k, v) in cmd.as_object().unwrap() {
            c[k] = v.clone();
        }
        let e = m.err(c.clone(), code).await;
        assert!(e["message"].as_str().unwrap().contains(word), "{c} -> {e}");
    }
    // The same through HTTP, with the status codes.
    for (body, status, word) in [
        ("{", 400, "JSON"),
        ("[]", 400, "object"),
        (r#"{"action":"resolve"}"#, 400, "answer"),
        (r#"{"action":"forward","agency":"nope"}"#, 404, "agency"),
        (r#"{"action":"publish","public":"ya"}"#, 400, "public"),
        (r#"{"action":"resolve","answer":"ok","by":5}"#, 400, "by"),
    ] {
        let (st, _, b) = http(
            "POST",
            &server.http(&format!("/api/cases/{qid}")),
            Some(ADMIN),
            Some(body),
        )
        .await;
        assert_eq!(st, status, "{body} -> {b}");
        assert!(b.contains(word), "{body} -> {b}");
    }
    let (st, _, _) = http(
        "POST",
        &server.http(&format!("/api/cases/{}", uuid::Uuid::new_v4())),
        Some(ADMIN),
        Some(r#"{"action":"publish","public":true}"#),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _, _) = http("GET", &server.http("/api/cases"), Some("wrong"), None).await;
    assert_eq!(st, 401);
    let (st, b) = http_json(
        "POST",
        &server.http("/api/agencies"),
        Some(ADMIN),
        Some(r#"{"name":"Dinas PUPR lagi","short":"PUPR"}"#),
    )
    .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{b}"
    );
    for (body, word) in [
        (r#"{"short":"X"}"#, "name"),
        (r#"{"name":"X"}"#, "short"),
        (r#"{"name":"X","short":"X","id":"X Y"}"#, "id"),
    ] {
        let (st, b) = http_json(
            "POST",
            &server.http("/api/agencies"),
            Some(ADMIN),
            Some(body),
        )
        .await;
        assert_eq!(st, 400, "{body} -> {b}");
        assert!(b.to_string().contains(word), "{body} -> {b}");
    }
    let (st, _) = case_act(&server, "/api/purge", ADMIN, json!({"before":"kemarin"})).await;
    assert_eq!(st, 400);
    // The question's case is untouched by all of it.
    let (_, c) = http_json(
        "GET",
        &server.http(&format!("/api/cases?session={}", s.id)),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(c["cases"][0]["status"], "received");
    assert_eq!(c["cases"][0]["history"], json!([]));
}

/// The case row of a question lags an edit by at most a second (the live frames never wait for
/// it), and a crash in that second loses nothing: the session is marked before the edit is
/// journaled, and the next start catches its rows up before anyone asks.
#[tokio::test]
async fn edits_reach_the_case_table_behind_the_live_frames_and_survive_a_crash() {
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    let mut phone = Client::audience(&server, &s).await;
    let ok = ask_with_contact(&mut phone, "Lampu jalan di Plaju padam").await;
    let code = ok["tracking"].as_str().unwrap().to_string();
    let qid = ok["question"]["id"].as_str().unwrap().to_string();
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"edit","question":qid,"text":"Lampu jalan di Plaju padam sejak Senin"}))
        .await;
    let mut seen = Value::Null;
    for _ in 0..40 {
        let (st, t) = track(&server, &code).await;
        assert_eq!(st, 200, "{t}");
        seen = t["question"]["text"].clone();
        if seen == json!("Lampu jalan di Plaju padam sejak Senin") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen,
        json!("Lampu jalan di Plaju padam sejak Senin"),
        "the tracking page follows the edit within the write-behind gap"
    );
    // An edit, then kill -9 at once: its row is either written or its session marked.
    m.ok(json!({"type":"edit","question":qid,"text":"Lampu jalan di Plaju padam tiga hari"}))
        .await;
    server.kill9();
    let behind = crate::common::db_text(
        &server,
        "SELECT CAST(cases_behind AS TEXT) FROM sessions WHERE id = ?1",
        &[&s.id],
    )
    .await
    .expect("the session's row");
    let body = crate::common::db_text(
        &server,
        "SELECT body FROM cases WHERE question_id = ?1",
        &[&qid],
    )
    .await
    .expect("the question's case row");
    assert!(
        behind == "1" || body.contains("padam tiga hari"),
        "a lagging row with no mark: behind {behind}, {body}"
    );
    server.restart();
    // No socket has joined the session: the start caught its rows up.
    let (st, t) = track(&server, &code).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(
        t["question"]["text"],
        json!("Lampu jalan di Plaju padam tiga hari")
    );
    // The office's case list reads the same row, with the contact (admin key).
    let (st, list) = http_json(
        "GET",
        &server.http(&format!("/api/cases?session={}", s.id)),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(st, 200, "{list}");
    let text = list.to_string();
    assert!(
        text.contains("padam tiga hari") && text.contains(STORED),
        "{list}"
    );
}
