//! The speaker screen (role `screen`), black-box through real sockets, against docs/protocol.md:
//! its welcome, the events it gets, its key, and that it may not send commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use crate::common::*;
use serde_json::{Value, json};

/// Fields only the author's or the moderator's view may carry.
const PRIVATE_FIELDS: [&str; 6] = [
    "author",
    "flags",
    "banned",
    "original_text",
    "reason",
    "edited",
];

/// The channel of the operator's entries.
const CHANNEL: &str = "phone";

fn screen_hello(s: &Session, key: &str) -> Value {
    keyed_hello("screen", s, key)
}

async fn screen(server: &TestServer, s: &Session) -> Client {
    Client::connect(server, screen_hello(s, &s.screen)).await
}

/// Runs `cmd` as the moderator, then a marker; returns what the screen got for it.
async fn step(m: &mut Client, scr: &mut Client, cmd: Value, n: &mut u32) -> Vec<Value> {
    m.ok(cmd).await;
    *n += 1;
    let title = format!("marker {n}");
    marker(m, &title).await;
    until_marker(scr, &title).await
}

fn assert_public(q: &Value) {
    for f in PRIVATE_FIELDS {
        assert!(
            q.get(f).is_none(),
            "the screen must not see `{f}` of a question: {q}"
        );
    }
}

#[tokio::test]
async fn welcome_has_session_overlay_and_only_public_questions_in_queue_order() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;

    let q1 = enter_approved(&mut m, CHANNEL, "Satu: kapan jalan diperbaiki?").await;
    let q2 = enter_approved(&mut m, CHANNEL, "Dua: berapa lama izin keluar?").await;
    let q3 = enter_approved(&mut m, CHANNEL, "Tiga: siapa yang mengawasi?").await;
    // Queue: q3, q1, q2.
    m.ok(json!({"type":"move","question":q3,"after":null}))
        .await;
    let live = enter_approved(&mut m, CHANNEL, "Empat: yang sedang dijawab").await;
    m.ok(json!({"type":"live","question":live})).await;
    let answered = enter_approved(&mut m, CHANNEL, "Lima: sudah dijawab").await;
    m.ok(json!({"type":"answered","question":answered})).await;
    let rejected = enter(&mut m, CHANNEL, "Enam: ditolak").await;
    m.ok(json!({"type":"reject","question":rejected,"reason":"di luar topik"}))
        .await;
    let pending = enter(&mut m, CHANNEL, "Tujuh: masih menunggu").await;
    let withdrawn = a.ask("Delapan: saya tarik kembali").await;
    a.ok(json!({"type":"withdraw","question":withdrawn})).await;
    let merged = enter_approved(&mut m, CHANNEL, "Sembilan: sama dengan satu").await;
    m.ok(json!({"type":"merge","question":merged,"into":q1}))
        .await;
    let own_pending = a
        .ask("Sepuluh: pertanyaan audiens yang belum disetujui")
        .await;
    let edited_rejected = enter(&mut m, CHANNEL, "Sebelas: disunting lalu ditolak").await;
    m.ok(json!({"type":"edit","question":edited_rejected,"text":"Sebelas (suntingan)"}))
        .await;
    m.ok(json!({"type":"reject","question":edited_rejected}))
        .await;
    m.ok(json!({"type":"overlay","visible":true})).await;

    let scr = screen(&server, &s).await;
    let w = &scr.welcome;
    assert_eq!(w["type"], "welcome");
    assert_eq!(w["role"], "screen");
    assert_eq!(w["resumed"], false, "{w}");
    assert!(w["epoch"].as_str().is_some_and(|e| !e.is_empty()), "{w}");
    assert!(w["seq"].as_u64().is_some(), "{w}");
    assert!(
        w.get("you").is_none(),
        "`you` is for audience and press: {w}"
    );

    let sess = &w["session"];
    assert_eq!(sess["id"], json!(s.id));
    assert_eq!(sess["code"], json!(s.code));
    assert_eq!(sess["title"], "Diskusi Wong Kito #12: Perizinan");
    assert_eq!(sess["status"], "open");
    let speakers = sess["speakers"].as_array().expect("speakers");
    assert_eq!(speakers.len(), 2, "{sess}");
    assert_eq!(speakers[0]["name"], "Drs Ratu Dewa MSi");
    assert_eq!(speakers[0]["role"], "Sekretaris Daerah");
    assert!(speakers[0]["id"].as_str().is_some_and(|i| !i.is_empty()));

    assert_eq!(w["overlay"]["visible"], true, "{w}");
    assert_eq!(w["overlay"]["question"]["id"], json!(live), "{w}");
    assert_eq!(
        w["overlay"]["question"]["text"],
        "Empat: yang sedang dijawab"
    );

    let qs = w["questions"]
        .as_array()
        .expect("questions in a screen welcome");
    let ids: BTreeSet<String> = qs
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = [&q1, &q2, &q3, &live, &answered]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        ids, want,
        "the screen sees approved, live and answered questions only (never pending {pending} \
         or {own_pending}, rejected {rejected} or {edited_rejected}, withdrawn {withdrawn}, \
         merged {merged}): {qs:#?}"
    );
    assert_eq!(qs.len(), 5, "no duplicates: {qs:#?}");
    let approved_order: Vec<&str> = qs
        .iter()
        .filter(|q| q["status"] == "approved")
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        approved_order,
        vec![q3.as_str(), q1.as_str(), q2.as_str()],
        "approved questions in queue order"
    );
    let positions: Vec<f64> = qs
        .iter()
        .filter(|q| q["status"] == "approved")
        .map(|q| {
            q["position"]
                .as_f64()
                .expect("an approved question has a position")
        })
        .collect();
    assert!(
        positions.windows(2).all(|p| p[0] < p[1]),
        "ascending position is top first: {positions:?}"
    );
    for q in qs {
        assert_public(q);
        let st = q["status"].as_str().unwrap();
        let id = q["id"].as_str().unwrap();
        if id == live {
            assert_eq!(st, "live");
        } else if id == answered {
            assert_eq!(st, "answered");
        } else {
            assert_eq!(st, "approved");
        }
    }
    // The merged question's vote-less merge left q1 approved with its text.
    let q1v = qs.iter().find(|q| q["id"] == json!(q1)).unwrap();
    assert_eq!(q1v["text"], "Satu: kapan jalan diperbaiki?");
}

#[tokio::test]
async fn screen_gets_question_removed_votes_overlay_and_session_events() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut scr = screen(&server, &s).await;
    let mut n = 0;

    // A pending question never reaches the screen.
    let q = enter(&mut m, CHANNEL, "Apakah izin usaha bisa daring?").await;
    n += 1;
    marker(&mut m, &format!("marker {n}")).await;
    let got = until_marker(&mut scr, &format!("marker {n}")).await;
    assert!(
        got.is_empty(),
        "nothing pending reaches the screen: {got:#?}"
    );

    // An audience question, pending, then rejected: never on the screen.
    let hidden = a.ask("Pertanyaan yang akan ditolak").await;
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"reject","question":hidden,"reason":"tidak relevan"}),
        &mut n,
    )
    .await;
    assert!(got.is_empty(), "a rejected pending question: {got:#?}");

    // Approval: a question event.
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"approve","question":q}),
        &mut n,
    )
    .await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["type"], "question");
    assert_eq!(got[0]["question"]["id"], json!(q));
    assert_eq!(got[0]["question"]["status"], "approved");
    assert!(got[0]["seq"].as_u64().is_some());
    assert_public(&got[0]["question"]);

    // A vote: a votes event with the new count.
    a.ok(json!({"type":"vote","question":q,"on":true})).await;
    let (v, before) = scr.until("votes").await;
    assert!(before.is_empty(), "{before:#?}");
    assert_eq!(v["counts"][&q], 1, "{v}");
    assert!(v["seq"].as_u64().is_some());

    // Live: the question changes and the overlay gets its question (still off air).
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"live","question":q}),
        &mut n,
    )
    .await;
    let types: Vec<&str> = got.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["question", "overlay"], "{got:#?}");
    assert_eq!(got[0]["question"]["status"], "live");
    assert_eq!(got[0]["question"]["votes"], 1, "votes stay with a question");
    assert_eq!(got[1]["visible"], false);
    assert_eq!(got[1]["question"]["id"], json!(q));

    // On air.
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"overlay","visible":true}),
        &mut n,
    )
    .await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["type"], "overlay");
    assert_eq!(got[0]["visible"], true);
    assert_eq!(got[0]["question"]["id"], json!(q));

    // An edit of the live question on air: the question and the overlay show the new text.
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"edit","question":q,"text":"Apakah izin usaha bisa diurus daring?"}),
        &mut n,
    )
    .await;
    let q_ev = got
        .iter()
        .find(|f| f["type"] == "question")
        .expect("{got:#?}");
    assert_eq!(
        q_ev["question"]["text"],
        "Apakah izin usaha bisa diurus daring?"
    );
    assert_public(&q_ev["question"]);
    let o_ev = got
        .iter()
        .find(|f| f["type"] == "overlay")
        .expect("{got:#?}");
    assert_eq!(o_ev["visible"], true);
    assert_eq!(
        o_ev["question"]["text"],
        "Apakah izin usaha bisa diurus daring?"
    );

    // Rejecting the live question: removed, and the overlay goes off.
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"reject","question":q,"reason":"sudah dijawab di sesi lain"}),
        &mut n,
    )
    .await;
    let removed = got
        .iter()
        .find(|f| f["type"] == "removed")
        .expect("{got:#?}");
    assert_eq!(removed["id"], json!(q));
    assert!(removed["seq"].as_u64().is_some());
    let o_ev = got
        .iter()
        .find(|f| f["type"] == "overlay")
        .expect("{got:#?}");
    assert_eq!(o_ev["visible"], false);
    assert!(o_ev["question"].is_null(), "{o_ev}");
    assert!(
        got.iter().all(|f| f["type"] != "question"),
        "a rejected question is removed, not shown: {got:#?}"
    );

    // A merge removes the merged question from the screen.
    let target = enter_approved(&mut m, CHANNEL, "Target penggabungan").await;
    let dup = enter_approved(&mut m, CHANNEL, "Duplikat yang digabung").await;
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"merge","question":dup,"into":target}),
        &mut n,
    )
    .await;
    // Frames for the two approvals came before this step's marker too.
    let removed: Vec<&Value> = got.iter().filter(|f| f["type"] == "removed").collect();
    assert_eq!(removed.len(), 1, "{got:#?}");
    assert_eq!(removed[0]["id"], json!(dup));

    // A move: a question event for the moved question, now above the target.
    let last = enter_approved(&mut m, CHANNEL, "Dipindah ke atas").await;
    let got = step(
        &mut m,
        &mut scr,
        json!({"type":"move","question":last,"after":null}),
        &mut n,
    )
    .await;
    let moved = got
        .iter()
        .rfind(|f| f["type"] == "question" && f["question"]["id"] == json!(last))
        .expect("{got:#?}");
    let target_pos = got
        .iter()
        .rfind(|f| f["type"] == "question" && f["question"]["id"] == json!(target))
        .map(|f| f["question"]["position"].as_f64().unwrap());
    let fresh = screen(&server, &s).await;
    let order: Vec<&str> = fresh.welcome["questions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["status"] == "approved")
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [last.as_str(), target.as_str()]);
    let target_pos = target_pos.unwrap_or_else(|| {
        fresh.welcome["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == json!(target))
            .unwrap()["position"]
            .as_f64()
            .unwrap()
    });
    assert!(
        moved["question"]["position"].as_f64().unwrap() < target_pos,
        "{got:#?}"
    );

    // Session changes.
    m.ok(json!({"type":"session","status":"paused"})).await;
    let (ev, before) = scr.until("session").await;
    assert!(before.is_empty(), "{before:#?}");
    assert_eq!(ev["session"]["status"], "paused");
    assert_eq!(ev["session"]["id"], json!(s.id));
    assert!(
        ev["session"].get("links").is_none(),
        "links (with keys) are for moderators only: {ev}"
    );
}

#[tokio::test]
async fn wrong_or_missing_screen_key_closes_4401() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    for hello in [
        screen_hello(&s, "wrong-key-AAAAAAAAAAAAAAAAAAAAAAAA"),
        screen_hello(&s, &s.moderator),
        screen_hello(&s, &s.overlay),
        json!({"type":"hello","role":"screen","session":s.id}),
        json!({"type":"hello","role":"screen","session":s.code,"key":""}),
    ] {
        let mut ws = raw(&server.ws_url()).await;
        use futures_util::SinkExt;
        ws.send(tokio_tungstenite::tungstenite::Message::text(
            hello.to_string(),
        ))
        .await
        .unwrap();
        assert_eq!(expect_close(&mut ws).await, 4401, "{hello}");
    }
    // The right key by join code works too.
    let c = Client::connect(
        &server,
        json!({"type":"hello","role":"screen","session":s.code,"key":s.screen}),
    )
    .await;
    assert_eq!(c.welcome["role"], "screen");
}

#[tokio::test]
async fn screen_may_not_send_commands() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let q = enter_approved(&mut m, CHANNEL, "Pertanyaan untuk dicoba").await;
    let mut scr = screen(&server, &s).await;
    let cmds = [
        json!({"type":"ask","ref":"r-ask","text":"Boleh bertanya?"}),
        json!({"type":"withdraw","question":q}),
        json!({"type":"vote","question":q,"on":true}),
        json!({"type":"approve","question":q}),
        json!({"type":"reject","question":q}),
        json!({"type":"edit","question":q,"text":"diubah"}),
        json!({"type":"live","question":q}),
        json!({"type":"answered","question":q}),
        json!({"type":"requeue","question":q}),
        json!({"type":"move","question":q,"after":null}),
        json!({"type":"assign","question":q,"to":null}),
        json!({"type":"merge","question":q,"into":q}),
        json!({"type":"enter","ref":"r-enter","text":"masuk","channel":"sms"}),
        json!({"type":"overlay","visible":false}),
        json!({"type":"session","title":"Judul baru"}),
        json!({"type":"ban","question":q}),
        json!({"type":"unban","question":q}),
    ];
    for cmd in cmds {
        let e = scr.err(cmd.clone(), "forbidden").await;
        assert!(e["ref"].is_string(), "the reply echoes ref: {e}");
    }
    // Nothing changed, and the socket stays open: it still gets events.
    m.ok(json!({"type":"session","title":"masih terbuka"}))
        .await;
    let got = until_marker(&mut scr, "masih terbuka").await;
    assert!(
        got.is_empty(),
        "forbidden commands change nothing: {got:#?}"
    );
    let fresh = screen(&server, &s).await;
    let qs = fresh.welcome["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 1);
    assert_eq!(qs[0]["status"], "approved");
    assert_eq!(qs[0]["rev"], 2, "approve made rev 2; nothing after it");
    assert_eq!(qs[0]["votes"], 0);
}
