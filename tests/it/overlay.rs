//! The broadcast overlay (role `overlay`) and its vMix data source, black-box through real
//! sockets, against docs/protocol.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use serde_json::{Value, json};

/// The channel of the operator's entries.
const CHANNEL: &str = "radio";

async fn overlay(server: &TestServer, s: &Session) -> Client {
    Client::connect(server, keyed_hello("overlay", s, &s.overlay)).await
}

async fn live(m: &mut Client, text: &str) -> String {
    let id = enter_approved(m, CHANNEL, text).await;
    m.ok(json!({"type":"live","question":id})).await;
    id
}

fn overlay_events(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["type"] == "overlay").collect()
}

/// GET live.json with a key.
async fn live_json(server: &TestServer, s: &Session, key: &str) -> (u16, Value) {
    http_json(
        "GET",
        &server.http(&format!("/api/sessions/{}/live.json?k={key}", s.id)),
        None,
        None,
    )
    .await
}

/// The row with nothing on air: the question's columns, then the poll's (docs/protocol.md, HTTP).
fn empty_row(s: &Session) -> Value {
    let mut row =
        json!({"visible":false,"text":"","name":"","outlet":"","speaker":"","speaker_role":""});
    row["air_text"] = json!("");
    row["credit"] = json!("");
    row["graphic"] = json!("");
    row["strap_name"] = json!("");
    row["strap_role"] = json!("");
    row["join_code"] = json!(s.code);
    row["join_url"] = json!(s.raw["links"]["audience"]);
    row["join_sms"] = json!("");
    row["join_whatsapp"] = json!("");
    row["poll_visible"] = json!(false);
    row["poll_question"] = json!("");
    for i in 1..=6 {
        for col in ["poll_option", "poll_count", "poll_percent"] {
            row[format!("{col}{i}")] = json!("");
        }
    }
    json!([row])
}

#[tokio::test]
async fn overlay_welcome_has_session_and_overlay_but_no_questions() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    enter_approved(&mut m, CHANNEL, "Disetujui, menunggu").await;
    let q = live(&mut m, "Sedang dijawab sekarang").await;
    enter(&mut m, CHANNEL, "Masih menunggu moderasi").await;

    let o = overlay(&server, &s).await;
    let w = &o.welcome;
    assert_eq!(w["role"], "overlay");
    assert_eq!(w["resumed"], false);
    assert!(w["epoch"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(w["seq"].as_u64().is_some());
    assert_eq!(w["session"]["id"], json!(s.id));
    assert_eq!(w["session"]["code"], json!(s.code));
    assert_eq!(w["session"]["status"], "open");
    assert!(w["session"]["speakers"].is_array());
    assert!(w["session"].get("links").is_none(), "links carry keys: {w}");
    assert!(w.get("you").is_none(), "{w}");
    match w.get("questions") {
        None => {}
        Some(Value::Array(a)) => assert!(a.is_empty(), "the overlay sees no questions: {w}"),
        Some(other) => panic!("questions must be absent or []: {other}"),
    }
    let ov = &w["overlay"];
    assert_eq!(ov["visible"], false);
    let oq = &ov["question"];
    assert_eq!(oq["id"], json!(q));
    assert_eq!(oq["text"], "Sedang dijawab sekarang");
    for f in ["name", "outlet", "to"] {
        assert!(oq.get(f).is_some(), "overlay question has `{f}`: {oq}");
    }
    assert_eq!(oq["source"], "operator");
    for f in ["author", "flags", "banned", "original_text", "reason"] {
        assert!(
            oq.get(f).is_none(),
            "overlay question must not carry `{f}`: {oq}"
        );
    }
}

#[tokio::test]
async fn overlay_gets_only_overlay_and_session_events() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut o = overlay(&server, &s).await;

    let q1 = a.ask("Pertanyaan dari ponsel").await;
    m.ok(json!({"type":"approve","question":q1})).await;
    a.ok(json!({"type":"vote","question":q1,"on":true})).await;
    // The vote's count reaches the moderator at once or after the coalescing gap: wait for it,
    // so the votes frame is published well before the markers below.
    let (v, _) = m.until("votes").await;
    assert_eq!(v["counts"][&q1], 1);
    let q2 = enter(&mut m, CHANNEL, "Pertanyaan lewat radio").await;
    m.ok(json!({"type":"edit","question":q2,"text":"Pertanyaan lewat radio (disunting)"}))
        .await;
    m.ok(json!({"type":"approve","question":q2})).await;
    m.ok(json!({"type":"move","question":q2,"after":null}))
        .await;
    m.ok(json!({"type":"assign","question":q2,"to":"s1"})).await;
    m.ok(json!({"type":"live","question":q1})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    m.ok(json!({"type":"live","question":q2})).await;
    m.ok(json!({"type":"requeue","question":q1})).await;
    m.ok(json!({"type":"reject","question":q1})).await;
    marker(&mut m, "akhir").await;
    marker(&mut m, "akhir 2").await;

    let mut got = until_marker(&mut o, "akhir").await;
    got.extend(until_marker(&mut o, "akhir 2").await);
    let types: Vec<&str> = got.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert!(
        types.iter().all(|t| *t == "overlay" || *t == "session"),
        "the overlay gets overlay and session events only: {types:?}"
    );
    let ov = overlay_events(&got);
    assert!(ov.len() >= 3, "live, on air, live replaced: {got:#?}");
    for f in &got {
        assert!(f["seq"].as_u64().is_some(), "{f}");
        if let Some(q) = f.get("question").filter(|q| q.is_object()) {
            for k in ["author", "flags", "banned", "original_text", "reason"] {
                assert!(
                    q.get(k).is_none(),
                    "overlay question must not carry `{k}`: {f}"
                );
            }
        }
    }
    // The final state: q2 live, off air.
    let last = ov.last().unwrap();
    assert_eq!(last["visible"], false);
    assert_eq!(last["question"]["id"], json!(q2));
    assert_eq!(last["question"]["to"], "s1");
    assert_eq!(
        last["question"]["text"],
        "Pertanyaan lewat radio (disunting)"
    );
}

#[tokio::test]
async fn take_on_air_only_while_a_question_is_live() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut o = overlay(&server, &s).await;

    // Nothing live: conflict.
    m.err(json!({"type":"overlay","visible":true}), "conflict")
        .await;
    let q = enter_approved(&mut m, CHANNEL, "Siap dijawab").await;
    m.err(json!({"type":"overlay","visible":true}), "conflict")
        .await;

    // Live: the overlay learns its question, still off air.
    m.ok(json!({"type":"live","question":q})).await;
    let (ev, before) = o.until("overlay").await;
    assert!(before.is_empty(), "{before:#?}");
    assert_eq!(ev["visible"], false, "nothing goes on air without a take");
    assert_eq!(ev["question"]["id"], json!(q));

    // Take: on air, and the sender gets the event before its ok.
    m.send(json!({"type":"overlay","visible":true,"ref":"take"}))
        .await;
    let (ok, before) = m.until("ok").await;
    assert_eq!(ok["ref"], "take");
    let mine = overlay_events(&before);
    assert_eq!(mine.len(), 1, "{before:#?}");
    assert_eq!(mine[0]["visible"], true);
    let (ev, before) = o.until("overlay").await;
    assert!(before.is_empty());
    assert_eq!(ev["visible"], true);
    assert_eq!(ev["question"]["id"], json!(q));
    assert_eq!(ev["question"]["text"], "Siap dijawab");

    // Clear: off air, the live question stays the overlay's question.
    m.ok(json!({"type":"overlay","visible":false})).await;
    let (ev, _) = o.until("overlay").await;
    assert_eq!(ev["visible"], false);
    assert_eq!(ev["question"]["id"], json!(q));

    // After the answer nothing is live: a take is a conflict again.
    m.ok(json!({"type":"answered","question":q})).await;
    let (ev, _) = o.until("overlay").await;
    assert_eq!(ev["visible"], false);
    assert!(ev["question"].is_null(), "{ev}");
    m.err(json!({"type":"overlay","visible":true}), "conflict")
        .await;
}

#[tokio::test]
async fn live_on_another_question_turns_the_overlay_off() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut o = overlay(&server, &s).await;
    let q1 = live(&mut m, "Pertama di udara").await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let q2 = enter_approved(&mut m, CHANNEL, "Berikutnya").await;
    marker(&mut m, "siap").await;
    until_marker(&mut o, "siap").await;

    m.send(json!({"type":"live","question":q2,"ref":"next"}))
        .await;
    let (ok, mine) = m.until("ok").await;
    assert_eq!(ok["ref"], "next");
    marker(&mut m, "sesudah").await;
    let got = until_marker(&mut o, "sesudah").await;
    let ov = overlay_events(&got);
    assert!(!ov.is_empty(), "the overlay hears of the change: {got:#?}");
    for e in &ov {
        assert_eq!(
            e["visible"], false,
            "`live` never puts a question on air by itself: {e}"
        );
    }
    let last = ov.last().unwrap();
    assert_eq!(last["question"]["id"], json!(q2));
    // The moderator saw the same before its ok, and the old question answered.
    let mov = overlay_events(&mine);
    assert_eq!(mov.last().unwrap()["visible"], false);
    assert_eq!(mov.last().unwrap()["question"]["id"], json!(q2));
    let old = mine
        .iter()
        .rfind(|f| f["type"] == "question" && f["question"]["id"] == json!(q1))
        .expect("the old live question changed");
    assert_eq!(old["question"]["status"], "answered");

    let fresh = overlay(&server, &s).await;
    assert_eq!(fresh.welcome["overlay"]["visible"], false);
    assert_eq!(fresh.welcome["overlay"]["question"]["id"], json!(q2));
    let (st, body) = live_json(&server, &s, &s.overlay).await;
    assert_eq!(st, 200);
    assert_eq!(body, empty_row(&s));
}

#[tokio::test]
async fn editing_the_live_question_on_air_shows_the_new_text() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut o = overlay(&server, &s).await;
    let q = live(&mut m, "Teks asli dengan salah ketik").await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    marker(&mut m, "siap").await;
    until_marker(&mut o, "siap").await;

    m.ok(json!({"type":"edit","question":q,"text":"Teks yang sudah dibetulkan"}))
        .await;
    let (ev, before) = o.until("overlay").await;
    assert!(before.is_empty(), "{before:#?}");
    assert_eq!(ev["visible"], true, "an edit does not take it off air");
    assert_eq!(ev["question"]["id"], json!(q));
    assert_eq!(ev["question"]["text"], "Teks yang sudah dibetulkan");
    let (st, body) = live_json(&server, &s, &s.overlay).await;
    assert_eq!(st, 200);
    assert_eq!(body[0]["visible"], true);
    assert_eq!(body[0]["text"], "Teks yang sudah dibetulkan");
}

#[tokio::test]
async fn the_overlay_goes_off_when_its_question_stops_being_live() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut o = overlay(&server, &s).await;
    for (i, cmd) in ["answered", "reject", "requeue"].into_iter().enumerate() {
        let q = live(&mut m, &format!("Pertanyaan {i} di udara")).await;
        m.ok(json!({"type":"overlay","visible":true})).await;
        let title = format!("siap {i}");
        marker(&mut m, &title).await;
        let got = until_marker(&mut o, &title).await;
        let last = *overlay_events(&got).last().unwrap();
        assert_eq!(last["visible"], true, "{cmd}: {got:#?}");

        m.ok(json!({"type":cmd,"question":q})).await;
        let (ev, before) = o.until("overlay").await;
        assert!(before.is_empty(), "{cmd}: {before:#?}");
        assert_eq!(ev["visible"], false, "{cmd} of the live question: {ev}");
        assert!(ev["question"].is_null(), "{cmd}: nothing live: {ev}");
        let (st, body) = live_json(&server, &s, &s.overlay).await;
        assert_eq!(st, 200);
        assert_eq!(body, empty_row(&s), "{cmd}");
    }
}

#[tokio::test]
async fn overlay_state_survives_a_restart() {
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    let q = {
        let mut m = Client::moderator(&server, &s).await;
        let q = live(&mut m, "Bertahan setelah mati listrik").await;
        m.ok(json!({"type":"overlay","visible":true})).await;
        q
    };
    server.kill9();
    server.restart();
    let o = overlay(&server, &s).await;
    assert_eq!(o.welcome["overlay"]["visible"], true, "{}", o.welcome);
    assert_eq!(o.welcome["overlay"]["question"]["id"], json!(q));
    let (_, body) = live_json(&server, &s, &s.overlay).await;
    assert_eq!(body[0]["visible"], true);
    assert_eq!(body[0]["text"], "Bertahan setelah mati listrik");

    // Off air survives a graceful restart too.
    {
        let mut m = Client::moderator(&server, &s).await;
        assert_eq!(m.welcome["overlay"]["visible"], true);
        m.ok(json!({"type":"overlay","visible":false})).await;
    }
    let (st, _) = server.terminate();
    assert!(st.success(), "{st:?}");
    server.restart();
    let o = overlay(&server, &s).await;
    assert_eq!(o.welcome["overlay"]["visible"], false, "{}", o.welcome);
    assert_eq!(o.welcome["overlay"]["question"]["id"], json!(q));
}

#[tokio::test]
async fn live_json_is_a_vmix_data_source() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let speaker = &s.raw["session"]["speakers"][0];
    let sid = speaker["id"].as_str().unwrap();

    let (st, body) = live_json(&server, &s, &s.overlay).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body, empty_row(&s), "nothing on air: empty strings");

    let mut m = Client::moderator(&server, &s).await;
    let mut p = Client::connect(
        &server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
    )
    .await;
    let v = p
        .ok(
            json!({"type":"ask","ref":"p1","text":"Berapa target PAD tahun ini?",
            "name":"Sari","outlet":"Sumatera Ekspres","to":sid}),
        )
        .await;
    let q = id_of(&v);
    m.ok(json!({"type":"approve","question":q})).await;
    m.ok(json!({"type":"live","question":q})).await;
    let (_, body) = live_json(&server, &s, &s.overlay).await;
    assert_eq!(body, empty_row(&s), "live but not on air: still empty");

    m.ok(json!({"type":"overlay","visible":true})).await;
    let (st, body) = live_json(&server, &s, &s.overlay).await;
    assert_eq!(st, 200);
    let mut want = empty_row(&s);
    for (k, v) in [
        ("visible", json!(true)),
        ("text", json!("Berapa target PAD tahun ini?")),
        ("air_text", json!("Berapa target PAD tahun ini?")),
        ("name", json!("Sari")),
        ("outlet", json!("Sumatera Ekspres")),
        ("speaker", speaker["name"].clone()),
        ("speaker_role", speaker["role"].clone()),
    ] {
        want[0][k] = v;
    }
    assert_eq!(body, want);

    // An anonymous question to nobody: empty strings for what it lacks.
    let q2 = enter_approved(&mut m, CHANNEL, "Tanpa nama").await;
    m.ok(json!({"type":"live","question":q2})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let (_, body) = live_json(&server, &s, &s.overlay).await;
    let mut want = empty_row(&s);
    want[0]["visible"] = json!(true);
    want[0]["text"] = json!("Tanpa nama");
    want[0]["air_text"] = json!("Tanpa nama");
    assert_eq!(body, want);

    for key in ["wrong-key", s.moderator.as_str(), s.screen.as_str(), ""] {
        let (st, body) = live_json(&server, &s, key).await;
        assert_eq!(st, 401, "key {key:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (st, body) = http_json(
        "GET",
        &server.http(&format!("/api/sessions/{}/live.json", s.id)),
        None,
        None,
    )
    .await;
    assert_eq!(st, 401, "no key: {body}");
    assert_eq!(body["error"]["code"], "unauthorized");
}
