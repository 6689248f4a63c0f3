//! Bad input, black-box through real sockets: every error code and every close code of
//! docs/protocol.md, and the hub keeps serving everyone else through all of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Every error code docs/protocol.md allows.
const CODES: &[&str] = &[
    "invalid",
    "forbidden",
    "not_found",
    "conflict",
    "rate_limited",
    "closed",
    "banned",
    "internal",
];

/// A hub whose ask quota does not get in the way of tests that ask a lot.
fn roomy_server() -> TestServer {
    TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "1000")])
}

/// Sends a text frame as is (not necessarily JSON).
async fn send_text(c: &mut Client, text: &str) {
    c.ws.send(Message::text(text.to_string())).await.unwrap();
}

/// The next `ok` or `error` reply, whatever its ref (events in between are skipped).
async fn next_reply(c: &mut Client) -> Value {
    loop {
        let v = c.recv().await;
        if v["type"] == "ok" || v["type"] == "error" {
            return v;
        }
    }
}

/// Asserts an `error` frame with `code` and a message for a person.
fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| !m.trim().is_empty()),
        "an error says what was wrong: {v}"
    );
}

/// A command's `invalid` reply names the field.
/// (`call` adds a ref; a command without one is sent as is and its reply has `ref: null`.)
async fn invalid_naming(c: &mut Client, cmd: Value, field: &str) {
    let v = if cmd.get("ref").is_some() {
        c.err(cmd.clone(), "invalid").await
    } else {
        c.send(cmd.clone()).await;
        let v = next_reply(c).await;
        assert_error(&v, "invalid");
        assert_eq!(v["ref"], Value::Null, "{v}");
        v
    };
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains(field),
        "the message of {cmd} should name `{field}`: {msg:?}"
    );
}

/// Proves the socket still works: a harmless command gets its reply.
async fn still_usable(c: &mut Client) {
    let v = c
        .call(json!({"type":"vote","question":uuid::Uuid::new_v4().to_string(),"on":false}))
        .await;
    assert!(v["type"] == "ok" || v["type"] == "error", "{v}");
}

/// Proves the hub still serves: a fresh phone asks and the (long connected) moderator sees it.
async fn still_serving(server: &TestServer, s: &Session, m: &mut Client) {
    let mut a = Client::audience(server, s).await;
    let id = a.ask("Masih melayani? (pertanyaan kontrol)").await;
    loop {
        let (q, _) = m.until("question").await;
        if q["question"]["id"] == json!(id) {
            break;
        }
    }
    assert_no_panic(server);
}

/// A bare socket with a first frame sent; returns the close code.
async fn close_after(server: &TestServer, first: Message) -> u16 {
    let mut ws = raw(&server.ws_url()).await;
    ws.send(first).await.unwrap();
    expect_close(&mut ws).await
}

/// The hub never panics, whatever it was sent.
fn assert_no_panic(server: &TestServer) {
    let lines = server.stderr.lock().unwrap();
    let bad: Vec<&String> = lines.iter().filter(|l| l.contains("panicked")).collect();
    assert!(bad.is_empty(), "hub stderr: {bad:#?}");
}

fn hello(role: &str, session: &str, key: Option<&str>) -> Value {
    let mut h = json!({"type":"hello","role":role,"session":session});
    if let Some(k) = key {
        h["key"] = json!(k);
    }
    h
}

// ---------------------------------------------------------------------------------------------
// invalid
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn not_json_gets_invalid_and_the_socket_stays_open() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    for junk in [
        "this is not JSON",
        "{\"type\":",
        "",
        "\u{0}",
        "[1,2",
        "{'type':'ask'}",
    ] {
        send_text(&mut a, junk).await;
        let v = next_reply(&mut a).await;
        assert_error(&v, "invalid");
        assert_eq!(v["ref"], Value::Null, "nothing to echo for {junk:?}: {v}");
    }
    // JSON, but not an object with a type.
    for junk in [
        "[1,2,3]",
        "42",
        "\"ask\"",
        "null",
        "{}",
        "{\"type\":7,\"ref\":\"t7\"}",
    ] {
        send_text(&mut a, junk).await;
        assert_error(&next_reply(&mut a).await, "invalid");
    }
    // The socket still takes a valid command.
    let id = a.ask("Setelah sampah, apakah masih bisa bertanya?").await;
    assert!(uuid::Uuid::parse_str(&id).is_ok());
}

#[tokio::test]
async fn unknown_type_gets_invalid_with_its_ref() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let mut m = Client::moderator(&server, &s).await;
    for c in [&mut a, &mut m] {
        let v = c.err(json!({"type":"fly","ref":"r-fly"}), "invalid").await;
        assert_eq!(v["ref"], "r-fly");
        assert!(v["message"].as_str().unwrap().contains("fly"), "{v}");
        let v = c
            .err(json!({"type":"ASK","ref":"r-case","text":"x"}), "invalid")
            .await;
        assert_eq!(v["ref"], "r-case");
        still_usable(c).await;
    }
}

#[tokio::test]
async fn binary_frame_after_hello_gets_invalid() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let body = json!({"type":"ask","ref":"bin","text":"biner"}).to_string();
    a.ws.send(Message::binary(body.into_bytes())).await.unwrap();
    let v = next_reply(&mut a).await;
    assert_error(&v, "invalid");
    a.ws.send(Message::binary(vec![0xff, 0x00, 0x13]))
        .await
        .unwrap();
    assert_error(&next_reply(&mut a).await, "invalid");
    // The binary ask created nothing: the same ref with other text is a new question, not a conflict.
    let v = a
        .ok(json!({"type":"ask","ref":"bin","text":"teks lain"}))
        .await;
    assert_eq!(v["question"]["text"], "teks lain");
}

#[tokio::test]
async fn second_hello_gets_invalid() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let mut h = hello("audience", &s.code, None);
    h["ref"] = json!("h2");
    let v = a.err(h, "invalid").await;
    assert_eq!(v["ref"], "h2");
    assert!(v["message"].as_str().unwrap().contains("hello"), "{v}");
    // Even a hello for another role changes nothing: still an audience socket.
    let mut h = hello("moderator", &s.id, Some(&s.moderator));
    h["ref"] = json!("h3");
    a.err(h, "invalid").await;
    a.err(
        json!({"type":"approve","question":uuid::Uuid::new_v4().to_string()}),
        "forbidden",
    )
    .await;
    still_usable(&mut a).await;
}

#[tokio::test]
async fn wrong_missing_and_too_long_fields_name_the_field() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let mut m = Client::moderator(&server, &s).await;
    let q = uuid::Uuid::new_v4().to_string();

    // ask
    invalid_naming(&mut a, json!({"type":"ask","ref":new_ref()}), "text").await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":5}),
        "text",
    )
    .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":["a"]}),
        "text",
    )
    .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":""}),
        "text",
    )
    .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":" \n\t "}),
        "text",
    )
    .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":"x".repeat(301)}),
        "text",
    )
    .await;
    invalid_naming(&mut a, json!({"type":"ask","text":"tanpa ref"}), "ref").await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":"ok","name":"n".repeat(61)}),
        "name",
    )
    .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":"ok","name":12}),
        "name",
    )
    .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":"ok","to":"no-such-speaker"}),
        "to",
    )
    .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":"ok","to":3}),
        "to",
    )
    .await;
    // vote / withdraw
    invalid_naming(&mut a, json!({"type":"vote","on":true}), "question").await;
    invalid_naming(
        &mut a,
        json!({"type":"vote","question":"abc","on":true}),
        "question",
    )
    .await;
    invalid_naming(&mut a, json!({"type":"vote","question":q}), "on").await;
    invalid_naming(&mut a, json!({"type":"vote","question":q,"on":"yes"}), "on").await;
    invalid_naming(&mut a, json!({"type":"vote","question":q,"on":1}), "on").await;
    invalid_naming(&mut a, json!({"type":"withdraw"}), "question").await;
    invalid_naming(&mut a, json!({"type":"withdraw","question":7}), "question").await;

    // moderator commands
    invalid_naming(&mut m, json!({"type":"approve"}), "question").await;
    invalid_naming(
        &mut m,
        json!({"type":"approve","question":q,"rev":"1"}),
        "rev",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"approve","question":q,"rev":-1}),
        "rev",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"approve","question":q,"rev":1.5}),
        "rev",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"reject","question":q,"reason":"r".repeat(201)}),
        "reason",
    )
    .await;
    invalid_naming(&mut m, json!({"type":"edit","question":q}), "text").await;
    invalid_naming(
        &mut m,
        json!({"type":"edit","question":q,"text":"y".repeat(301)}),
        "text",
    )
    .await;
    invalid_naming(&mut m, json!({"type":"move","question":q}), "after").await;
    invalid_naming(
        &mut m,
        json!({"type":"move","question":q,"after":5}),
        "after",
    )
    .await;
    invalid_naming(&mut m, json!({"type":"assign","question":q}), "to").await;
    invalid_naming(&mut m, json!({"type":"merge","question":q}), "into").await;
    invalid_naming(
        &mut m,
        json!({"type":"merge","question":q,"into":q}),
        "merge",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"enter","text":"tanpa ref","channel":"sms"}),
        "ref",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"enter","ref":new_ref(),"text":"lewat fax"}),
        "channel",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"enter","ref":new_ref(),"text":"lewat fax","channel":"fax"}),
        "channel",
    )
    .await;
    invalid_naming(&mut m, json!({"type":"overlay"}), "visible").await;
    invalid_naming(
        &mut m,
        json!({"type":"overlay","visible":"true"}),
        "visible",
    )
    .await;
    invalid_naming(&mut m, json!({"type":"session","status":"done"}), "status").await;
    invalid_naming(&mut m, json!({"type":"session","title":""}), "title").await;
    invalid_naming(
        &mut m,
        json!({"type":"session","title":"t".repeat(201)}),
        "title",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"session","speakers":"all"}),
        "speakers",
    )
    .await;
    invalid_naming(
        &mut m,
        json!({"type":"session","speakers":[{"name":"Tanpa Jabatan"}]}),
        "role",
    )
    .await;
    invalid_naming(&mut m, json!({"type":"ban"}), "question").await;

    // The sockets are still fine after all that.
    still_usable(&mut a).await;
    still_usable(&mut m).await;
    a.ask("Pertanyaan yang sah").await;
}

#[tokio::test]
async fn text_length_counts_unicode_scalar_values_after_nfc() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;

    // 300 'é' (600 bytes) is fine; 301 is not.
    let v = a
        .ok(json!({"type":"ask","ref":new_ref(),"text":"é".repeat(300)}))
        .await;
    assert_eq!(v["question"]["text"], "é".repeat(300));
    let v = a
        .err(
            json!({"type":"ask","ref":new_ref(),"text":"é".repeat(301)}),
            "invalid",
        )
        .await;
    assert!(v["message"].as_str().unwrap().contains("text"), "{v}");

    // "e" + U+0301 is one scalar value after NFC: 300 of them (600 raw scalars) are fine, and
    // stored composed.
    let decomposed = "e\u{301}".repeat(300);
    let v = a
        .ok(json!({"type":"ask","ref":new_ref(),"text":decomposed}))
        .await;
    assert_eq!(v["question"]["text"], "\u{e9}".repeat(300), "stored in NFC");
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"e\u{301}".repeat(301)}),
        "invalid",
    )
    .await;

    // Counted after trimming: 300 characters with white space around are fine, stored trimmed.
    let v = a
        .ok(json!({"type":"ask","ref":new_ref(),"text":format!("  \n{}\t ", "a".repeat(300))}))
        .await;
    assert_eq!(v["question"]["text"], "a".repeat(300));

    // Astral characters count once each (not as UTF-16 pairs, not as bytes).
    a.ok(json!({"type":"ask","ref":new_ref(),"text":"🙏".repeat(300)}))
        .await;
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"🙏".repeat(301)}),
        "invalid",
    )
    .await;

    // name: 60 fine, 61 not (also counted after NFC).
    a.ok(json!({"type":"ask","ref":new_ref(),"text":"nama panjang","name":"e\u{301}".repeat(60)}))
        .await;
    invalid_naming(
        &mut a,
        json!({"type":"ask","ref":new_ref(),"text":"nama terlalu panjang","name":"é".repeat(61)}),
        "name",
    )
    .await;
}

#[tokio::test]
async fn ref_must_be_a_string_of_1_to_100() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let mut m = Client::moderator(&server, &s).await;
    for bad in [
        json!(5),
        json!(true),
        json!(["r"]),
        json!({"r":1}),
        json!(""),
    ] {
        a.send(json!({"type":"ask","ref":bad,"text":"ref aneh"}))
            .await;
        let v = next_reply(&mut a).await;
        assert_error(&v, "invalid");
        assert!(v["message"].as_str().unwrap().contains("ref"), "{bad}: {v}");
    }
    a.send(json!({"type":"ask","ref":"r".repeat(101),"text":"ref panjang"}))
        .await;
    let v = next_reply(&mut a).await;
    assert_error(&v, "invalid");
    assert!(v["message"].as_str().unwrap().contains("ref"), "{v}");
    // Also on a command whose ref is optional.
    m.send(json!({"type":"overlay","visible":false,"ref":"x".repeat(101)}))
        .await;
    assert_error(&next_reply(&mut m).await, "invalid");
    m.send(json!({"type":"overlay","visible":false,"ref":17}))
        .await;
    assert_error(&next_reply(&mut m).await, "invalid");

    // 100 characters is fine, counted in scalar values (100 'é' are 200 bytes); echoed exactly,
    // untrimmed.
    for r in [
        "r".repeat(100),
        "é".repeat(100),
        format!(" {} ", "s".repeat(98)),
    ] {
        let v = a
            .ok(json!({"type":"ask","ref":r.clone(),"text":format!("ref {}", r.len())}))
            .await;
        assert_eq!(v["ref"], json!(r));
    }
}

// ---------------------------------------------------------------------------------------------
// forbidden, not_found, conflict, rate_limited, closed, banned
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn forbidden_for_roles_that_may_not() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut b = Client::audience(&server, &s).await;
    let mut screen = Client::connect(&server, hello("screen", &s.id, Some(&s.screen))).await;
    let mut overlay = Client::connect(&server, hello("overlay", &s.id, Some(&s.overlay))).await;
    let id = a.ask("Siapa yang boleh menyetujui?").await;

    // Role checks come before field and existence checks.
    let v = a
        .err(
            json!({"type":"approve","ref":"f1","question":id}),
            "forbidden",
        )
        .await;
    assert_eq!(v["ref"], "f1");
    a.err(json!({"type":"approve"}), "forbidden").await;
    for cmd in [
        "reject", "live", "overlay", "session", "ban", "enter", "move",
    ] {
        a.err(json!({"type":cmd}), "forbidden").await;
    }
    screen
        .err(json!({"type":"approve","question":id}), "forbidden")
        .await;
    screen
        .err(
            json!({"type":"ask","ref":new_ref(),"text":"layar"}),
            "forbidden",
        )
        .await;
    overlay
        .err(json!({"type":"overlay","visible":true}), "forbidden")
        .await;
    overlay
        .err(json!({"type":"vote","question":id,"on":true}), "forbidden")
        .await;
    m.err(
        json!({"type":"ask","ref":new_ref(),"text":"moderator bertanya"}),
        "forbidden",
    )
    .await;
    m.err(json!({"type":"vote","question":id,"on":true}), "forbidden")
        .await;

    // Another device withdrawing a question it can see: forbidden.
    m.ok(json!({"type":"approve","question":id})).await;
    b.err(json!({"type":"withdraw","question":id}), "forbidden")
        .await;
    // Nothing changed.
    let v = m.ok(json!({"type":"live","question":id,"rev":2})).await;
    assert_eq!(v["type"], "ok");
}

#[tokio::test]
async fn not_found_for_unknown_and_invisible_questions() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut b = Client::audience(&server, &s).await;
    let ghost = uuid::Uuid::new_v4().to_string();
    for cmd in [
        "approve", "reject", "live", "answered", "requeue", "ban", "unban",
    ] {
        m.err(json!({"type":cmd,"question":ghost}), "not_found")
            .await;
    }
    m.err(
        json!({"type":"move","question":ghost,"after":null}),
        "not_found",
    )
    .await;
    m.err(
        json!({"type":"edit","question":ghost,"text":"x"}),
        "not_found",
    )
    .await;
    a.err(
        json!({"type":"vote","question":ghost,"on":true}),
        "not_found",
    )
    .await;
    a.err(json!({"type":"withdraw","question":ghost}), "not_found")
        .await;

    // Another device's pending question is not visible: not_found, not forbidden.
    let pending = a.ask("Pertanyaan yang belum disetujui").await;
    let v = b
        .err(
            json!({"type":"withdraw","ref":"w","question":pending}),
            "not_found",
        )
        .await;
    assert_eq!(v["ref"], "w");
    b.err(
        json!({"type":"vote","question":pending,"on":true}),
        "not_found",
    )
    .await;
    b.err(
        json!({"type":"vote","question":pending,"on":false}),
        "not_found",
    )
    .await;
    // Its author sees it (withdraw works), a merge into a ghost is not_found.
    let other = a.ask("Pertanyaan kedua").await;
    m.err(
        json!({"type":"merge","question":other,"into":ghost}),
        "not_found",
    )
    .await;
    a.ok(json!({"type":"withdraw","question":pending})).await;
}

#[tokio::test]
async fn conflict_carries_the_current_rev() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Kapan izin usaha bisa selesai sehari?").await;

    let v = m.ok(json!({"type":"approve","question":id,"rev":1})).await;
    assert_eq!(v["type"], "ok");
    // A second moderator acting on the old rev: conflict with the current rev (2).
    let v = m
        .err(
            json!({"type":"reject","ref":"stale","question":id,"rev":1}),
            "conflict",
        )
        .await;
    assert_eq!(v["rev"], 2, "{v}");
    assert_eq!(v["ref"], "stale");
    let v = m
        .err(
            json!({"type":"edit","question":id,"text":"baru","rev":7}),
            "conflict",
        )
        .await;
    assert_eq!(v["rev"], 2, "{v}");
    // A change its status does not allow: conflict, also with the rev.
    let v = m
        .err(json!({"type":"approve","question":id}), "conflict")
        .await;
    assert_eq!(v["rev"], 2, "{v}");
    let v = m
        .err(json!({"type":"requeue","question":id}), "conflict")
        .await;
    assert_eq!(v["rev"], 2, "{v}");
    // The rev did not move with the refused commands.
    m.ok(json!({"type":"edit","question":id,"text":"Teks baru","rev":2}))
        .await;
    let v = m
        .err(json!({"type":"live","question":id,"rev":2}), "conflict")
        .await;
    assert_eq!(v["rev"], 3, "{v}");

    // The same ask ref with other text: conflict.
    let r = new_ref();
    let v = a
        .ok(json!({"type":"ask","ref":r,"text":"Teks pertama"}))
        .await;
    let qid = v["question"]["id"].clone();
    let v = a
        .err(json!({"type":"ask","ref":r,"text":"Teks lain"}), "conflict")
        .await;
    assert_eq!(v["rev"], 1, "{v}");
    // Same text (after normalizing): the same question.
    let v = a
        .ok(json!({"type":"ask","ref":r,"text":"  Teks pertama \n"}))
        .await;
    assert_eq!(v["question"]["id"], qid);
    // A vote with a stale rev: conflict, with the question's rev.
    let mut b = Client::audience(&server, &s).await;
    let v = b
        .err(
            json!({"type":"vote","question":id,"on":true,"rev":1}),
            "conflict",
        )
        .await;
    assert_eq!(v["rev"], 3, "{v}");
}

#[tokio::test]
async fn rate_limited_with_retry_after() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let mut first = None;
    for i in 0..6 {
        let r = new_ref();
        let v = a
            .ok(json!({"type":"ask","ref":r,"text":format!("Pertanyaan nomor {i}")}))
            .await;
        first.get_or_insert((r, v["question"]["id"].clone(), i));
    }
    let v = a
        .err(
            json!({"type":"ask","ref":"seventh","text":"Pertanyaan ketujuh"}),
            "rate_limited",
        )
        .await;
    assert_eq!(v["ref"], "seventh");
    let ms = v["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(ms > 0 && ms <= 60_000, "{v}");
    // A retried ask is not a new change: ok with the same question even while limited.
    let (r, id, i) = first.unwrap();
    let v = a
        .ok(json!({"type":"ask","ref":r,"text":format!("Pertanyaan nomor {i}")}))
        .await;
    assert_eq!(v["question"]["id"], id);
    // The seventh created nothing: retrying its ref is still limited, not ok.
    a.err(
        json!({"type":"ask","ref":"seventh","text":"Pertanyaan ketujuh"}),
        "rate_limited",
    )
    .await;
    // Another phone (same address) is not limited by this one.
    let mut b = Client::audience(&server, &s).await;
    b.ask("Saya ponsel lain").await;
}

#[tokio::test]
async fn votes_are_rate_limited_too() {
    let server = TestServer::start_with(&[("TANYA_VOTES_PER_MINUTE", "4")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Dukung pertanyaan ini").await;
    m.ok(json!({"type":"approve","question":id})).await;
    for i in 0..4 {
        a.ok(json!({"type":"vote","question":id,"on":i % 2 == 0}))
            .await;
    }
    let v = a
        .err(
            json!({"type":"vote","question":id,"on":true}),
            "rate_limited",
        )
        .await;
    assert!(v["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{v}");
}

#[tokio::test]
async fn closed_while_paused_or_closed() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Sebelum jeda").await;
    m.ok(json!({"type":"approve","question":id})).await;

    m.ok(json!({"type":"session","status":"paused"})).await;
    let v = a
        .err(
            json!({"type":"ask","ref":"p1","text":"Saat jeda"}),
            "closed",
        )
        .await;
    assert_eq!(v["ref"], "p1");
    // Votes and moderation go on; enter works while paused.
    a.ok(json!({"type":"vote","question":id,"on":true})).await;
    m.ok(json!({"type":"enter","ref":new_ref(),"text":"Dari telepon","channel":"phone"}))
        .await;

    m.ok(json!({"type":"session","status":"closed"})).await;
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"Sudah tutup"}),
        "closed",
    )
    .await;
    a.err(json!({"type":"vote","question":id,"on":false}), "closed")
        .await;
    m.err(json!({"type":"live","question":id}), "closed").await;
    m.err(json!({"type":"overlay","visible":false}), "closed")
        .await;
    m.err(
        json!({"type":"enter","ref":new_ref(),"text":"Sudah tutup","channel":"sms"}),
        "closed",
    )
    .await;
    // Closed comes before existence.
    m.err(
        json!({"type":"approve","question":uuid::Uuid::new_v4().to_string()}),
        "closed",
    )
    .await;
    // `session` still works: reopen.
    m.ok(json!({"type":"session","status":"open"})).await;
    a.ask("Dibuka lagi").await;
}

#[tokio::test]
async fn banned_device_may_not_ask() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let r = new_ref();
    let v = a
        .ok(json!({"type":"ask","ref":r,"text":"Pertanyaan kasar"}))
        .await;
    let id = v["question"]["id"].clone();
    m.ok(json!({"type":"ban","question":id})).await;
    let v = a
        .err(
            json!({"type":"ask","ref":"after-ban","text":"Lagi"}),
            "banned",
        )
        .await;
    assert_eq!(v["ref"], "after-ban");
    // Retry of an earlier ask: ok, same question.
    let v = a
        .ok(json!({"type":"ask","ref":r,"text":"Pertanyaan kasar"}))
        .await;
    assert_eq!(v["question"]["id"], id);
    // The ban follows the device, not the socket.
    let device = a.device();
    let mut a2 = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":device}),
    )
    .await;
    a2.err(
        json!({"type":"ask","ref":new_ref(),"text":"Socket baru"}),
        "banned",
    )
    .await;
    // Other devices are not banned; unban lifts it.
    let mut b = Client::audience(&server, &s).await;
    b.ask("Saya tidak diblokir").await;
    m.ok(json!({"type":"unban","question":id})).await;
    a2.ask("Sudah boleh lagi").await;
}

// ---------------------------------------------------------------------------------------------
// close codes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn message_over_16_kib_closes_with_1009() {
    let server = roomy_server();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;

    // Exactly 16 KiB is a message like any other (its text is too long: invalid).
    let mut a = Client::audience(&server, &s).await;
    let frame_of = |len: usize| {
        let head = r#"{"type":"ask","ref":"big","text":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    let exact = frame_of(16 * 1024);
    assert_eq!(exact.len(), 16384);
    send_text(&mut a, &exact).await;
    let v = next_reply(&mut a).await;
    assert_error(&v, "invalid");
    still_usable(&mut a).await;

    // One byte more: 1009.
    a.ws.send(Message::text(frame_of(16 * 1024 + 1)))
        .await
        .unwrap();
    assert_eq!(a.expect_close().await, 1009);

    // Also as a first frame, and also as a binary message.
    let big = hello("audience", &"A".repeat(20_000), None).to_string();
    assert_eq!(close_after(&server, Message::text(big)).await, 1009);
    let mut b = Client::audience(&server, &s).await;
    b.ws.send(Message::binary(vec![b'x'; 17 * 1024]))
        .await
        .unwrap();
    assert_eq!(b.expect_close().await, 1009);

    still_serving(&server, &s, &mut m).await;
}

#[tokio::test]
async fn first_frame_not_a_valid_hello_closes_with_4400() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let firsts = [
        json!({"type":"ask","ref":"r","text":"tanpa hello"}).to_string(),
        json!({"type":"vote","question":uuid::Uuid::new_v4().to_string(),"on":true}).to_string(),
        "not json at all".to_string(),
        "[]".to_string(),
        json!({"type":"fly"}).to_string(),
        json!({"role":"audience","session":s.code}).to_string(),
        json!({"type":"hello","session":s.code}).to_string(),
        json!({"type":"hello","role":"king","session":s.code}).to_string(),
        json!({"type":"hello","role":5,"session":s.code}).to_string(),
        json!({"type":"hello","role":"audience"}).to_string(),
        json!({"type":"hello","role":"audience","session":42}).to_string(),
        json!({"type":"hello","role":"audience","session":""}).to_string(),
        json!({"type":"hello","role":"moderator","session":s.id,"key":7}).to_string(),
        json!({"type":"hello","role":"audience","session":s.code,"device":false}).to_string(),
        json!({"type":"hello","role":"audience","session":s.code,"since":"yesterday"}).to_string(),
        json!({"type":"hello","role":"audience","session":s.code,"since":{"epoch":1,"seq":"x"}})
            .to_string(),
        json!({"type":"hello","role":"audience","session":s.code,"ref":99}).to_string(),
    ];
    for f in &firsts {
        assert_eq!(
            close_after(&server, Message::text(f.clone())).await,
            4400,
            "first frame {f}"
        );
    }
    // A binary first frame, even one holding a valid hello.
    let h = hello("audience", &s.code, None).to_string();
    assert_eq!(
        close_after(&server, Message::binary(h.into_bytes())).await,
        4400
    );
    still_serving(&server, &s, &mut m).await;
}

#[tokio::test]
async fn wrong_or_missing_key_closes_with_4401() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let other = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let cases = [
        hello("moderator", &s.id, None),
        hello("moderator", &s.id, Some("wrong-key")),
        hello("moderator", &s.code, Some("")),
        hello("moderator", &s.id, Some(&s.screen)),
        hello("moderator", &s.id, Some(&other.moderator)),
        hello(
            "moderator",
            &s.id,
            Some(&s.moderator[..s.moderator.len() - 1]),
        ),
        hello("moderator", &s.id, Some(&format!("{}x", s.moderator))),
        hello("screen", &s.id, None),
        hello("screen", &s.id, Some(&s.overlay)),
        hello("overlay", &s.code, Some(&s.moderator)),
        hello("overlay", &s.code, None),
        hello("press", &s.code, None),
        hello("press", &s.code, Some("nope")),
    ];
    for h in &cases {
        assert_eq!(
            close_after(&server, Message::text(h.to_string())).await,
            4401,
            "{h}"
        );
    }
    still_serving(&server, &s, &mut m).await;
}

#[tokio::test]
async fn unknown_session_closes_with_4404() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    // A code that could exist but does not (pick one different from the real one).
    let code = if s.code == "ZZZZZZ" {
        "YYYYYY"
    } else {
        "ZZZZZZ"
    };
    let cases = [
        hello("audience", code, None),
        hello("audience", &uuid::Uuid::new_v4().to_string(), None),
        hello("audience", "no such session!", None),
        hello(
            "moderator",
            &uuid::Uuid::new_v4().to_string(),
            Some(&s.moderator),
        ),
        hello("screen", code, Some(&s.screen)),
    ];
    for h in &cases {
        assert_eq!(
            close_after(&server, Message::text(h.to_string())).await,
            4404,
            "{h}"
        );
    }
    // The join code works in any letter case.
    Client::connect(&server, hello("audience", &s.code.to_lowercase(), None)).await;
    still_serving(&server, &s, &mut m).await;
}

#[tokio::test]
async fn no_hello_in_time_closes_with_4408() {
    let server = TestServer::start_with_config("[limits]\nhello_timeout_ms = 500\n", &[]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;

    let t = Instant::now();
    let mut ws = raw(&server.ws_url()).await;
    assert_eq!(expect_close(&mut ws).await, 4408);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "closed after {took:?}, the deadline is 500 ms"
    );

    // Pings do not count as a hello.
    let mut ws = raw(&server.ws_url()).await;
    ws.send(Message::Ping(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(expect_close(&mut ws).await, 4408);

    // A hello in time is welcome, and that socket stays open past the deadline.
    let mut ws = raw(&server.ws_url()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws.send(Message::text(hello("audience", &s.code, None).to_string()))
        .await
        .unwrap();
    let w = next_json(&mut ws).await;
    assert_eq!(w["type"], "welcome", "{w}");
    let mut a = Client {
        ws,
        last_seq: w["seq"].as_u64().unwrap(),
        welcome: w,
    };
    assert!(a.quiet(800).await, "nothing but presence after the welcome");
    a.ask("Masih tersambung setelah batas waktu hello").await;
    still_serving(&server, &s, &mut m).await;
}

#[tokio::test]
async fn flooding_closes_with_4429() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let junk = json!({"type":"vote","question":"not-a-uuid","on":true}).to_string();

    // A burst of 300 frames is allowed: 300 replies, socket open.
    for _ in 0..300 {
        a.ws.feed(Message::text(junk.clone())).await.unwrap();
    }
    a.ws.flush().await.unwrap();
    for i in 0..300 {
        let v = next_reply(&mut a).await;
        assert_error(&v, "invalid");
        assert!(
            v["message"].as_str().unwrap().contains("question"),
            "#{i}: {v}"
        );
    }
    // Going on at once: more than 300 in a burst closes the socket with 4429.
    let code = close_code_while_sending(a, 100, move || Message::text(junk.clone())).await;
    assert_eq!(code, 4429);

    still_serving(&server, &s, &mut m).await;
}

/// Sends `n` frames made by `frame` as fast as the socket takes them, and returns the code of
/// the close frame the hub sends meanwhile (0 when the connection ended without one).
async fn close_code_while_sending(
    c: Client,
    n: usize,
    frame: impl Fn() -> Message + Send + 'static,
) -> u16 {
    let (mut sink, mut stream) = c.ws.split();
    let sender = tokio::spawn(async move {
        for _ in 0..n {
            if sink.feed(frame()).await.is_err() {
                return;
            }
        }
        let _ = sink.flush().await;
        // Keep the sink (and so the socket) alive until the reader is done.
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("the hub closes a flooding socket")
        {
            Some(Ok(Message::Close(Some(f)))) => break u16::from(f.code),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => break 0,
            Some(Ok(_)) => continue,
        }
    };
    sender.abort();
    code
}

/// Pings and pongs count toward the flood limit like any frame: a client that floods pings
/// (each of which the server would answer) is closed with 4429 too.
#[tokio::test]
async fn flooding_with_pings_or_pongs_closes_with_4429() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    for ping in [true, false] {
        let a = Client::audience(&server, &s).await;
        let frame = move || {
            if ping {
                Message::Ping(vec![1u8; 8].into())
            } else {
                Message::Pong(vec![1u8; 8].into())
            }
        };
        assert_eq!(
            close_code_while_sending(a, 400, frame).await,
            4429,
            "ping: {ping}"
        );
    }
    still_serving(&server, &s, &mut m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_does_not_read_is_dropped_and_the_hub_goes_on() {
    // The queue of a socket that does not read must drain within `drain_timeout_ms`, else the
    // socket is dropped (with 4429 when a close frame can still be delivered).
    let server = TestServer::start_with_config(
        "[limits]\ndrain_timeout_ms = 500\nasks_per_minute = 100000\n",
        &[],
    );
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;

    // A moderator socket with a tiny receive buffer that stops reading after its hello.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stream = sock.connect(server.addr.parse().unwrap()).await.unwrap();
    let (mut slow, _) = tokio_tungstenite::client_async(server.ws_url(), stream)
        .await
        .unwrap();
    slow.send(Message::text(
        hello("moderator", &s.id, Some(&s.moderator)).to_string(),
    ))
    .await
    .unwrap();

    // Lots of events for it: 400 long questions (about 300 KB of frames), pipelined from four
    // phones (each stays under the 300-frame burst).
    let long = "Mengapa antrean perizinan begitu panjang? ".repeat(7);
    let mut phones = Vec::new();
    for _ in 0..4 {
        phones.push(Client::audience(&server, &s).await);
    }
    for (p, a) in phones.iter_mut().enumerate() {
        for i in 0..100 {
            let cmd =
                json!({"type":"ask","ref":format!("slow-{i}"),"text":format!("{p}/{i} {long}")});
            a.ws.feed(Message::text(cmd.to_string())).await.unwrap();
        }
        a.ws.flush().await.unwrap();
    }
    for a in &mut phones {
        for _ in 0..100 {
            let v = next_reply(a).await;
            assert_eq!(v["type"], "ok", "{v}");
        }
    }
    // The hub went on serving the others meanwhile (the moderator that reads got them all).
    let mut seen = 0;
    while seen < 400 {
        let (q, _) = m.until("question").await;
        if q["question"]["status"] == "pending" {
            seen += 1;
        }
    }
    // Give the slow socket's queue time to miss its drain deadline, then read: what was
    // buffered arrives, then the end of the socket.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.next())
            .await
            .expect("the slow socket was dropped: it ends once its buffers are read")
        {
            Some(Ok(Message::Close(Some(f)))) => break u16::from(f.code),
            Some(Ok(Message::Close(None))) => break 1005,
            Some(Err(_)) | None => break 0,
            Some(Ok(_)) => continue,
        }
    };
    assert!(
        code == 4429 || code == 0,
        "a slow socket gets 4429 or, when no close frame fits, just the end: {code}"
    );
    still_serving(&server, &s, &mut m).await;
    let (st, _) = http_json("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200);
    assert_no_panic(&server);
}

#[tokio::test]
async fn the_hub_keeps_serving_through_every_kind_of_abuse() {
    let server = TestServer::start_with_config("[limits]\nhello_timeout_ms = 1000\n", &[]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut screen = Client::connect(&server, hello("screen", &s.id, Some(&s.screen))).await;

    // Many misbehaving sockets at once, while the moderator waits for events.
    let url = server.ws_url();
    let mut abusers = Vec::new();
    for i in 0..24 {
        let url = url.clone();
        let code = s.code.clone();
        abusers.push(tokio::spawn(async move {
            let mut ws = raw(&url).await;
            let first = match i % 6 {
                0 => Some(Message::text("garbage")),
                1 => Some(Message::text(
                    hello("moderator", &code, Some("bad")).to_string(),
                )),
                2 => Some(Message::text(hello("audience", "ZZZZZ2", None).to_string())),
                3 => Some(Message::text("x".repeat(20_000))),
                4 => Some(Message::binary(vec![1, 2, 3])),
                _ => None, // says nothing: 4408
            };
            if let Some(f) = first {
                ws.send(f).await.unwrap();
            }
            expect_close(&mut ws).await
        }));
    }
    // Meanwhile the good clients go on.
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Di tengah keributan").await;
    let (q, _) = m.until("question").await;
    assert_eq!(q["question"]["id"], json!(id));
    m.ok(json!({"type":"approve","question":id})).await;
    let (q, _) = screen.until("question").await;
    assert_eq!(q["question"]["id"], json!(id));

    let mut codes = Vec::new();
    for h in abusers {
        codes.push(h.await.unwrap());
    }
    let expected: Vec<u16> = (0..24)
        .map(|i| [4400, 4401, 4404, 1009, 4400, 4408][i % 6])
        .collect();
    assert_eq!(codes, expected);
    still_serving(&server, &s, &mut m).await;
    let (st, _) = http_json("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200);
}

// ---------------------------------------------------------------------------------------------
// property: arbitrary frames never break the hub
// ---------------------------------------------------------------------------------------------

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    const TYPES: &[&str] = &[
        "hello", "ask", "withdraw", "vote", "approve", "reject", "edit", "live", "answered",
        "requeue", "move", "assign", "merge", "enter", "overlay", "session", "ban", "unban", "fly",
        "",
    ];
    const FIELDS: &[&str] = &[
        "ref", "text", "name", "outlet", "to", "question", "rev", "on", "after", "into", "channel",
        "visible", "status", "title", "speakers", "reason", "role", "session", "key", "since",
    ];

    fn json_value(ids: Vec<String>) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            proptest::sample::select(ids).prop_map(Value::from),
            proptest::sample::select(vec![
                "s1", "s2", "open", "paused", "closed", "sms", "phone", "room",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A frame: any string, any JSON value, or a command-shaped object with random fields.
    fn frame(ids: Vec<String>) -> impl Strategy<Value = String> {
        let fields = proptest::collection::btree_map(
            proptest::sample::select(FIELDS),
            json_value(ids.clone()),
            0..6,
        );
        let command = (proptest::sample::select(TYPES), fields).prop_map(|(t, f)| {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), json!(t));
            for (k, v) in f {
                m.insert(k.to_string(), v);
            }
            Value::Object(m).to_string()
        });
        prop_oneof![
            1 => any::<String>(),
            1 => json_value(ids).prop_map(|v| v.to_string()),
            3 => command,
        ]
    }

    /// Sends `text`, then a probe; the frame must get exactly one `ok`/`error` reply before the
    /// probe's, and every reply must be well formed.
    async fn one_case(c: &mut Client, text: &str, n: u64) -> Result<(), TestCaseError> {
        c.ws.send(Message::text(text.to_string()))
            .await
            .map_err(|e| TestCaseError::fail(format!("send: {e}")))?;
        let probe = format!("probe-{n}");
        c.send(json!({"type":"vote","ref":probe,"question":uuid::Uuid::new_v4().to_string(),"on":false}))
            .await;
        let mut replies = 0;
        loop {
            let v = tokio::time::timeout(Duration::from_secs(5), c.recv())
                .await
                .map_err(|_| TestCaseError::fail("no reply within 5 s"))?;
            let ty = v["type"].as_str().unwrap_or("");
            if ty == "error" {
                let code = v["code"].as_str().unwrap_or("");
                prop_assert!(CODES.contains(&code), "unknown code: {}", v);
                prop_assert!(code != "internal", "internal error for {:?}: {}", text, v);
                prop_assert!(
                    v["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "no message: {}",
                    v
                );
            }
            if (ty == "ok" || ty == "error") && v["ref"] == json!(probe) {
                break;
            }
            if ty == "ok" || ty == "error" {
                replies += 1;
            } else {
                prop_assert!(
                    [
                        "question", "removed", "votes", "overlay", "session", "welcome"
                    ]
                    .contains(&ty),
                    "unexpected frame {}",
                    v
                );
            }
        }
        prop_assert_eq!(replies, 1, "frame {:?} got {} replies", text, replies);
        Ok(())
    }

    #[test]
    fn arbitrary_frames_get_a_reply_and_never_break_the_hub() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "100000")]);
        let (s, ids, a, m, mut watcher) = rt.block_on(async {
            let s = server.demo_session().await;
            let mut a = Client::audience(&server, &s).await;
            let mut m = Client::moderator(&server, &s).await;
            let watcher = Client::moderator(&server, &s).await;
            let mut ids = Vec::new();
            for i in 0..3 {
                ids.push(a.ask(&format!("Pertanyaan benih {i}")).await);
            }
            m.ok(json!({"type":"approve","question":ids[0]})).await;
            (s, ids, a, m, watcher)
        });
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        // The runner takes a `Fn`: the sockets live in RefCells.
        let n = std::cell::Cell::new(0u64);
        let (ca, cm) = (std::cell::RefCell::new(a), std::cell::RefCell::new(m));
        let strategy = (any::<bool>(), frame(ids));
        let result = runner.run(&strategy, |(as_moderator, text)| {
            n.set(n.get() + 1);
            let mut c = if as_moderator {
                cm.borrow_mut()
            } else {
                ca.borrow_mut()
            };
            rt.block_on(one_case(&mut c, &text, n.get()))
        });
        let mut m = cm.into_inner();
        rt.block_on(async {
            // Whatever happened, the hub answers /healthz and a fresh hello.
            let (st, body) = http_json("GET", &server.http("/healthz"), None, None).await;
            assert_eq!(st, 200, "{body}");
            assert_no_panic(&server);
            // (The fuzzing moderator may have paused or closed the session.)
            m.ok(json!({"type":"session","status":"open"})).await;
            let mut fresh = Client::audience(&server, &s).await;
            fresh.ask("Setelah fuzzing").await;
            // The moderator connected the whole time still gets events.
            loop {
                let (q, _) = watcher.until("question").await;
                if q["question"]["text"] == "Setelah fuzzing" {
                    break;
                }
            }
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
