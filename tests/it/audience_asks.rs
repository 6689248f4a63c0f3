//! Journey: a phone in the audience (and a journalist with the press code) asks questions.
//! Black-box through real sockets; the contract is docs/protocol.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use serde_json::{Value, json};

/// An `ask` command with a fresh `ref`.
fn ask_cmd(text: &str) -> Value {
    json!({"type":"ask","ref":new_ref(),"text":text})
}

fn ids(qs: &Value) -> Vec<String> {
    qs.as_array()
        .expect("a question list")
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_string())
        .collect()
}

fn find<'a>(qs: &'a Value, id: &str) -> Option<&'a Value> {
    qs.as_array()
        .expect("a question list")
        .iter()
        .find(|q| q["id"] == json!(id))
}

fn assert_time(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("a time string: {v}"));
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(t.offset().local_minus_utc(), 0, "UTC: {s}");
}

/// The author's own view: every question field plus `reason` and `edited`, nothing of the
/// moderator view.
fn assert_author_view(q: &Value) {
    for k in [
        "id",
        "rev",
        "text",
        "name",
        "source",
        "channel",
        "outlet",
        "to",
        "status",
        "votes",
        "position",
        "merged_into",
        "created_at",
        "updated_at",
        "reason",
        "edited",
    ] {
        assert!(q.get(k).is_some(), "author view lacks `{k}`: {q}");
    }
    for k in ["flags", "author", "banned", "original_text"] {
        assert!(q.get(k).is_none(), "author view must not carry `{k}`: {q}");
    }
    uuid::Uuid::parse_str(q["id"].as_str().unwrap()).unwrap();
    assert!(q["rev"].is_u64(), "{q}");
    assert_time(&q["created_at"]);
    assert_time(&q["updated_at"]);
}

#[tokio::test]
async fn ask_ok_carries_the_question_in_the_authors_view() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;

    let r = new_ref();
    let (ok, before) = act(
        &mut a,
        json!({"type":"ask","ref":r,"text":"  Kapan jalan di Plaju diperbaiki?  ","name":"Budi"}),
    )
    .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    assert_eq!(ok["ref"], json!(r));
    let q = &ok["question"];
    assert_author_view(q);
    assert_eq!(q["text"], "Kapan jalan di Plaju diperbaiki?");
    assert_eq!(q["name"], "Budi");
    assert_eq!(q["status"], "pending");
    assert_eq!(q["reason"], Value::Null);
    assert_eq!(q["edited"], false);
    assert_eq!(q["source"], "audience");
    assert_eq!(q["channel"], Value::Null);
    assert_eq!(q["outlet"], Value::Null);
    assert_eq!(q["to"], Value::Null);
    assert_eq!(q["votes"], 0);
    assert_eq!(q["position"], Value::Null);
    assert_eq!(q["merged_into"], Value::Null);
    let id = q["id"].as_str().unwrap().to_string();

    // The question entered the author's view: its event came before the ok, in the author's view.
    let ev = before
        .iter()
        .find(|f| f["type"] == "question" && f["question"]["id"] == json!(id))
        .unwrap_or_else(|| panic!("no question event before ok: {before:?}"));
    assert_author_view(&ev["question"]);
    assert_eq!(ev["question"]["status"], "pending");

    // The moderator sees it with the moderator view.
    let (ev, _) = m.until("question").await;
    let mq = &ev["question"];
    assert_eq!(mq["id"], json!(id));
    assert_eq!(mq["status"], "pending");
    assert_eq!(mq["source"], "audience");
    assert!(mq["flags"].is_array(), "{mq}");
    assert_eq!(mq["banned"], false);
    assert_eq!(mq["original_text"], Value::Null);
    let author = mq["author"].as_str().expect("an author id");
    assert_ne!(
        author,
        a.device(),
        "the author id is never the device token"
    );

    // Another phone does not see a pending question.
    barrier(&mut m, &mut [&mut other]).await;
}

#[tokio::test]
async fn name_is_optional_and_empty_means_anonymous() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    for name in [None, Some(json!("")), Some(json!("   ")), Some(Value::Null)] {
        let mut cmd = ask_cmd("Bagaimana dengan izin usaha mikro?");
        if let Some(n) = &name {
            cmd["name"] = n.clone();
        }
        let ok = a.ok(cmd).await;
        assert_eq!(ok["question"]["name"], Value::Null, "name {name:?}: {ok}");
    }
    let mut cmd = ask_cmd("Berapa lama izin keluar?");
    cmd["name"] = json!("  Siti Aminah ");
    let ok = a.ok(cmd).await;
    assert_eq!(ok["question"]["name"], "Siti Aminah");
    // 61 characters is too long.
    let mut cmd = ask_cmd("Nama terlalu panjang?");
    cmd["name"] = json!("x".repeat(61));
    a.err(cmd, "invalid").await;
}

#[tokio::test]
async fn text_is_stored_trimmed_and_in_nfc() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    // Text is stored in NFC and counted after it: 300 decomposed "é" (600 scalar values) fit.
    let ok = a.ok(ask_cmd("  Cafe\u{301} di Jakabaring?")).await;
    assert_eq!(ok["question"]["text"], "Caf\u{e9} di Jakabaring?");
    let ok = a.ok(ask_cmd(&"e\u{301}".repeat(300))).await;
    assert_eq!(ok["question"]["text"], json!("\u{e9}".repeat(300)));
    // 301 is too long; white space alone is empty.
    a.err(ask_cmd(&"\u{e9}".repeat(301)), "invalid").await;
    a.err(ask_cmd(" \n\t "), "invalid").await;
}

#[tokio::test]
async fn outlet_from_an_audience_device_is_ignored() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let mut m = Client::moderator(&server, &s).await;
    let mut cmd = ask_cmd("Apakah ada biaya tambahan?");
    cmd["outlet"] = json!("Sumatera Ekspres");
    let ok = a.ok(cmd).await;
    assert_eq!(ok["question"]["outlet"], Value::Null, "{ok}");
    assert_eq!(ok["question"]["source"], "audience");
    let (ev, _) = m.until("question").await;
    assert_eq!(ev["question"]["outlet"], Value::Null, "{ev}");
    assert_eq!(ev["question"]["source"], "audience");
}

#[tokio::test]
async fn to_names_a_speaker() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let sp = speaker_ids(&a);
    assert_eq!(sp.len(), 2);
    let mut cmd = ask_cmd("Untuk Ibu Kepala Dinas: kapan sistem online?");
    cmd["to"] = json!(sp[1]);
    let ok = a.ok(cmd).await;
    assert_eq!(ok["question"]["to"], json!(sp[1]));
    let mut cmd = ask_cmd("Untuk siapa saja");
    cmd["to"] = Value::Null;
    let ok = a.ok(cmd).await;
    assert_eq!(ok["question"]["to"], Value::Null);
    let mut cmd = ask_cmd("Untuk pembicara yang tidak ada");
    cmd["to"] = json!("no-such-speaker");
    a.err(cmd, "invalid").await;
}

#[tokio::test]
async fn author_sees_its_pending_question_after_reconnect_other_phones_do_not() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let device = a.device();
    let id = a.ask("Kapan pasar Cinde selesai dibangun?").await;
    drop(a);

    let again = phone_with(&server, &s, &device).await;
    assert_eq!(again.device(), device, "the same device token is kept");
    let q = find(&again.welcome["questions"], &id)
        .unwrap_or_else(|| panic!("own pending question missing: {}", again.welcome));
    assert_author_view(q);
    assert_eq!(q["status"], "pending");
    assert_eq!(q["text"], "Kapan pasar Cinde selesai dibangun?");

    let other = Client::audience(&server, &s).await;
    assert_ne!(other.device(), device);
    assert!(
        find(&other.welcome["questions"], &id).is_none(),
        "another phone sees a pending question: {}",
        other.welcome
    );
    // A forged token is not accepted: it gets a fresh device and not the question.
    let forged = phone_with(&server, &s, &format!("{device}x")).await;
    assert_ne!(forged.device(), device);
    assert!(find(&forged.welcome["questions"], &id).is_none());
}

#[tokio::test]
async fn withdraw_own_pending_question() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let id = a.ask("Pertanyaan yang saya tarik").await;
    let (ev, _) = m.until("question").await;
    let rev = ev["question"]["rev"].as_u64().unwrap();

    // Another device may not withdraw it: it cannot even see a pending question of another
    // device, so it is `not_found` for it (docs/protocol.md, Commands, `withdraw`: "a question
    // the device cannot see: `not_found`"). A moderator's role may not withdraw.
    other
        .err(json!({"type":"withdraw","question":id}), "not_found")
        .await;
    m.err(json!({"type":"withdraw","question":id}), "forbidden")
        .await;

    // A stale rev: conflict with the current one.
    let e = a
        .err(
            json!({"type":"withdraw","question":id,"rev":rev + 1}),
            "conflict",
        )
        .await;
    assert_eq!(e["rev"], rev, "{e}");
    let (ok, before) = act(&mut a, json!({"type":"withdraw","question":id,"rev":rev})).await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let ev = before
        .iter()
        .find(|f| f["type"] == "question" && f["question"]["id"] == json!(id))
        .unwrap_or_else(|| panic!("author got no event before ok: {before:?}"));
    assert_eq!(ev["question"]["status"], "withdrawn");
    assert_author_view(&ev["question"]);
    assert!(ev["question"]["rev"].as_u64().unwrap() > rev);

    let (ev, _) = m.until("question").await;
    assert_eq!(ev["question"]["id"], json!(id));
    assert_eq!(ev["question"]["status"], "withdrawn");

    // The other phone got nothing at all.
    barrier(&mut m, &mut [&mut other]).await;

    // Withdrawing again: its status no longer allows it.
    let e = a
        .err(json!({"type":"withdraw","question":id}), "conflict")
        .await;
    assert_eq!(e["rev"], ev["question"]["rev"], "{e}");

    // After a reconnect the author still sees it, withdrawn.
    let device = a.device();
    drop(a);
    let again = phone_with(&server, &s, &device).await;
    let q = find(&again.welcome["questions"], &id).expect("own withdrawn question");
    assert_eq!(q["status"], "withdrawn");
}

#[tokio::test]
async fn withdraw_by_another_device_is_forbidden_and_of_an_approved_question_a_conflict() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let id = a.ask("Sudah disetujui").await;
    m.ok(json!({"type":"approve","question":id})).await;
    let (ev, _) = a.until("question").await;
    assert_eq!(ev["question"]["status"], "approved");
    // The other phone sees it now, and may not withdraw it.
    let (seen, _) = other.until("question").await;
    assert_eq!(seen["question"]["id"], json!(id));
    other
        .err(json!({"type":"withdraw","question":id}), "forbidden")
        .await;
    let e = a
        .err(json!({"type":"withdraw","question":id}), "conflict")
        .await;
    assert_eq!(e["rev"], ev["question"]["rev"], "{e}");
}

#[tokio::test]
async fn ask_is_idempotent_per_ref() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let r = new_ref();
    let cmd = json!({"type":"ask","ref":r,"text":"Kapan lampu jalan dipasang?","name":"Andi"});
    let first = a.ok(cmd.clone()).await;
    let id = first["question"]["id"].as_str().unwrap().to_string();
    let (ev, _) = m.until("question").await;
    assert_eq!(ev["question"]["id"], json!(id));

    // The same ref again: ok with the same question, nothing new.
    let (second, before) = act(&mut a, cmd.clone()).await;
    assert_eq!(second["type"], "ok", "{second}");
    assert_eq!(second["question"]["id"], json!(id));
    assert_eq!(second["question"]["rev"], first["question"]["rev"]);
    assert_eq!(second["question"]["text"], first["question"]["text"]);
    assert!(before.is_empty(), "a retry causes no event: {before:?}");
    // Same text after normalizing (white space around) is the same ask.
    let padded = json!({"type":"ask","ref":r,"text":"  Kapan lampu jalan dipasang?\n"});
    let third = a.ok(padded).await;
    assert_eq!(third["question"]["id"], json!(id));

    // After a reconnect with the device token, too.
    let device = a.device();
    drop(a);
    let mut a = phone_with(&server, &s, &device).await;
    let again = a.ok(cmd.clone()).await;
    assert_eq!(again["question"]["id"], json!(id));

    // The same ref with other text: conflict, with the question's rev.
    let e = a
        .err(
            json!({"type":"ask","ref":r,"text":"Pertanyaan lain sama sekali"}),
            "conflict",
        )
        .await;
    assert_eq!(e["rev"], first["question"]["rev"], "{e}");

    // After a moderator's edit, the retry is compared with the text as asked, and answered
    // with the question as it is now.
    m.ok(json!({"type":"edit","question":id,"text":"Kapan lampu jalan di Plaju dipasang?"}))
        .await;
    let edited = a.ok(cmd.clone()).await;
    assert_eq!(edited["question"]["id"], json!(id));
    assert_eq!(
        edited["question"]["text"],
        "Kapan lampu jalan di Plaju dipasang?"
    );
    assert_eq!(edited["question"]["edited"], true);

    // The same ref from another device is a new question.
    let mut b = Client::audience(&server, &s).await;
    let other = b
        .ok(json!({"type":"ask","ref":r,"text":"Kapan lampu jalan dipasang?"}))
        .await;
    assert_ne!(other["question"]["id"], json!(id));

    // The moderator saw exactly one new question since the edit: the other device's.
    let (ev, before) = m.until("question").await;
    assert!(before.iter().all(|f| f["type"] != "question"), "{before:?}");
    assert_eq!(ev["question"]["id"], other["question"]["id"]);
    let fresh = Client::moderator(&server, &s).await;
    assert_eq!(fresh.welcome["questions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn press_asks_with_source_press_and_outlet() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut p = Client::connect(
        &server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
    )
    .await;
    assert_eq!(p.welcome["role"], "press");
    assert!(p.welcome["you"]["device"].is_string(), "{}", p.welcome);
    let ok = p
        .ok(
            json!({"type":"ask","ref":new_ref(),"text":"Berapa anggaran perizinan tahun ini?",
            "name":"Rudi","outlet":"  Sumatera Ekspres "}),
        )
        .await;
    let q = &ok["question"];
    assert_author_view(q);
    assert_eq!(q["source"], "press");
    assert_eq!(q["outlet"], "Sumatera Ekspres");
    assert_eq!(q["name"], "Rudi");
    assert_eq!(q["channel"], Value::Null);
    let (ev, _) = m.until("question").await;
    assert_eq!(ev["question"]["source"], "press");
    assert_eq!(ev["question"]["outlet"], "Sumatera Ekspres");

    // Without an outlet: null.
    let ok = p.ok(ask_cmd("Tanpa media?")).await;
    assert_eq!(ok["question"]["source"], "press");
    assert_eq!(ok["question"]["outlet"], Value::Null);

    // The press code is checked.
    let mut ws = raw(&server.ws_url()).await;
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"type":"hello","role":"press","session":s.code,"key":"wrong-key"}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(expect_close(&mut ws).await, 4401);
}

#[tokio::test]
async fn paused_session_refuses_asks_but_enter_works() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let earlier = ask_cmd("Ditanyakan sebelum jeda");
    let first = a.ok(earlier.clone()).await;

    m.ok(json!({"type":"session","status":"paused"})).await;
    let (ev, _) = a.until("session").await;
    assert_eq!(ev["session"]["status"], "paused");

    a.err(ask_cmd("Ditanyakan saat jeda"), "closed").await;
    // A retry of an earlier ask still gets its question.
    let again = a.ok(earlier.clone()).await;
    assert_eq!(again["question"]["id"], first["question"]["id"]);
    // The operator may still enter questions.
    let ok = m
        .ok(json!({"type":"enter","ref":new_ref(),"text":"Dari telepon","channel":"phone"}))
        .await;
    assert_eq!(ok["question"]["source"], "operator");
    assert_eq!(ok["question"]["status"], "pending");

    // Closed: the same, and the retry is still answered.
    m.ok(json!({"type":"session","status":"closed"})).await;
    let (ev, _) = a.until("session").await;
    assert_eq!(ev["session"]["status"], "closed");
    a.err(ask_cmd("Ditanyakan saat tutup"), "closed").await;
    let again = a.ok(earlier).await;
    assert_eq!(again["question"]["id"], first["question"]["id"]);

    m.ok(json!({"type":"session","status":"open"})).await;
    let (ev, _) = a.until("session").await;
    assert_eq!(ev["session"]["status"], "open");
    a.ask("Ditanyakan setelah jeda").await;
}

#[tokio::test]
async fn rejected_question_shows_its_reason_to_the_author() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let id = a.ask("Pertanyaan di luar topik").await;
    m.ok(json!({"type":"reject","question":id,"reason":"Di luar topik diskusi"}))
        .await;
    let (ev, _) = a.until("question").await;
    let q = &ev["question"];
    assert_author_view(q);
    assert_eq!(q["id"], json!(id));
    assert_eq!(q["status"], "rejected");
    assert_eq!(q["reason"], "Di luar topik diskusi");
    barrier(&mut m, &mut [&mut other]).await;

    let device = a.device();
    drop(a);
    let again = phone_with(&server, &s, &device).await;
    let q = find(&again.welcome["questions"], &id).expect("own rejected question");
    assert_eq!(q["status"], "rejected");
    assert_eq!(q["reason"], "Di luar topik diskusi");
}

#[tokio::test]
async fn edited_question_shows_new_text_and_edited_to_the_author() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("kapan jalan rusak di plaju diperbaiki??? pak").await;
    m.ok(json!({"type":"edit","question":id,"text":"Kapan jalan rusak di Plaju diperbaiki?"}))
        .await;
    let (ev, _) = a.until("question").await;
    let q = &ev["question"];
    assert_author_view(q);
    assert_eq!(q["text"], "Kapan jalan rusak di Plaju diperbaiki?");
    assert_eq!(q["edited"], true);
    assert_eq!(q["status"], "pending");

    // Once approved, other phones see the new text, without the author's fields.
    let mut other = Client::audience(&server, &s).await;
    m.ok(json!({"type":"approve","question":id})).await;
    let (ev, _) = other.until("question").await;
    assert_eq!(
        ev["question"]["text"],
        "Kapan jalan rusak di Plaju diperbaiki?"
    );
    for k in ["original_text", "flags", "author", "banned"] {
        assert!(
            ev["question"].get(k).is_none(),
            "public view has `{k}`: {ev}"
        );
    }

    let device = a.device();
    drop(a);
    let again = phone_with(&server, &s, &device).await;
    let q = find(&again.welcome["questions"], &id).expect("own question");
    assert_eq!(q["edited"], true);
    assert_eq!(q["text"], "Kapan jalan rusak di Plaju diperbaiki?");
    assert_eq!(ids(&again.welcome["questions"]), vec![id]);
}
