//! Journey: two moderators act on the same question at the same moment, with the same `rev`.
//! Exactly one wins; the other gets `conflict` with the current `rev`; both end with the same
//! view, and so does a moderator who joins afterwards. Black-box through real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use serde_json::{Value, json};

/// A moderator console: a socket and the view it builds from its welcome and the events.
type Console = Tracked;

/// Both consoles read everything up to a fresh `session` event, so their views are current.
async fn settle(m1: &mut Console, m2: &mut Console) {
    let title = format!("Sync {}", new_ref());
    m1.ok(json!({"type":"session","title":title})).await;
    m2.through_marker(&title).await;
}

/// Settles both consoles and gives `c1` and `c2` the question `id` and the `rev` it has in
/// both views; then sends `c1` from `m1` and `c2` from `m2` at once and asserts exactly one `ok`
/// and a `conflict` carrying the rev the question has after the winner's change. Returns which
/// one won (1 or 2). `flip` lets `m2` send first, so that both sides get to win.
async fn race(
    m1: &mut Console,
    m2: &mut Console,
    id: &str,
    (mut c1, mut c2): (Value, Value),
    flip: bool,
) -> u8 {
    settle(m1, m2).await;
    let r = rev(m1, id);
    assert_eq!(r, rev(m2, id));
    for c in [&mut c1, &mut c2] {
        c["question"] = json!(id);
        c["rev"] = json!(r);
    }
    let ((r1, b1), (r2, b2)) = if flip {
        let (b, a) = tokio::join!(m2.act(c2.clone()), m1.act(c1.clone()));
        (a, b)
    } else {
        tokio::join!(m1.act(c1.clone()), m2.act(c2.clone()))
    };
    let oks = [&r1, &r2].iter().filter(|r| r["type"] == "ok").count();
    assert_eq!(oks, 1, "exactly one ok:\n{c1} -> {r1}\n{c2} -> {r2}");
    let (won, winner_before, loser) = if r1["type"] == "ok" {
        (1, &b1, &r2)
    } else {
        (2, &b2, &r1)
    };
    assert_eq!(loser["type"], "error", "{loser}");
    assert_eq!(loser["code"], "conflict", "{loser}");
    assert!(loser["message"].as_str().is_some_and(|m| !m.is_empty()));
    // The winner's events reached it before its ok; the conflict names the rev after them.
    let ev = winner_before
        .iter()
        .rev()
        .find(|f| f["type"] == "question" && f["question"]["id"] == json!(id))
        .unwrap_or_else(|| panic!("winner got no event before ok: {winner_before:?}"));
    assert_eq!(
        loser["rev"], ev["question"]["rev"],
        "conflict carries the current rev: {loser} vs {ev}"
    );
    won
}

/// Both consoles and a moderator who joins now have the same view.
async fn assert_same_views(server: &TestServer, s: &Session, m1: &mut Console, m2: &mut Console) {
    settle(m1, m2).await;
    let fresh = Console::moderator(server, s).await;
    assert_eq!(
        m1.view.summary(),
        m2.view.summary(),
        "the two consoles differ"
    );
    assert_eq!(
        m1.view.summary(),
        fresh.view.summary(),
        "a fresh welcome differs"
    );
    // Beyond id/rev/status: every field of every question.
    assert_eq!(m1.view.questions, m2.view.questions);
    assert_eq!(m1.view.questions, fresh.view.questions);
    assert_eq!(m1.view.overlay, m2.view.overlay);
    assert_eq!(m1.view.overlay, fresh.view.overlay);
    for k in ["title", "status", "speakers"] {
        assert_eq!(m1.view.session[k], m2.view.session[k]);
        assert_eq!(m1.view.session[k], fresh.view.session[k]);
    }
}

/// A hub (100 asks a minute per device) with a session, two moderator consoles and a phone.
async fn two_consoles_and_a_phone() -> (TestServer, Session, Console, Console, Client) {
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "100")]);
    let s = server.demo_session().await;
    let m1 = Console::moderator(&server, &s).await;
    let m2 = Console::moderator(&server, &s).await;
    let a = Client::audience(&server, &s).await;
    (server, s, m1, m2, a)
}

fn rev(m: &Console, id: &str) -> u64 {
    m.view.questions[id]["rev"].as_u64().unwrap()
}

#[tokio::test]
async fn same_rev_on_a_pending_question_exactly_one_wins() {
    let (server, s, mut m1, mut m2, mut a) = two_consoles_and_a_phone().await;
    let sp = speaker_ids(&m1.c);
    let mut wins = [0u32; 2];
    for round in 0..3 {
        let pairs: Vec<(Value, Value)> = vec![
            (json!({"type":"approve"}), json!({"type":"approve"})),
            (
                json!({"type":"approve"}),
                json!({"type":"reject","reason":"Tidak relevan"}),
            ),
            (
                json!({"type":"edit","text":format!("Versi moderator satu {round}")}),
                json!({"type":"edit","text":format!("Versi moderator dua {round}")}),
            ),
            (
                json!({"type":"reject"}),
                json!({"type":"edit","text":"Dirapikan"}),
            ),
            (
                json!({"type":"assign","to":sp[0]}),
                json!({"type":"assign","to":sp[1]}),
            ),
        ];
        for (i, (c1, c2)) in pairs.into_iter().enumerate() {
            let id = a.ask(&format!("Pertanyaan {round} {c1}")).await;
            let won = race(&mut m1, &mut m2, &id, (c1, c2), (round + i) % 2 == 1).await;
            wins[usize::from(won - 1)] += 1;
        }
        assert_same_views(&server, &s, &mut m1, &mut m2).await;
    }
    assert_eq!(wins.iter().sum::<u32>(), 15);
}

#[tokio::test]
async fn same_rev_on_an_approved_question_exactly_one_wins() {
    let (server, s, mut m1, mut m2, mut a) = two_consoles_and_a_phone().await;
    let anchor = a.ask("Pertanyaan induk").await;
    m1.ok(json!({"type":"approve","question":anchor})).await;
    for round in 0..3 {
        let pairs: Vec<(Value, Value)> = vec![
            (json!({"type":"live"}), json!({"type":"answered"})),
            (json!({"type":"live"}), json!({"type":"live"})),
            (
                json!({"type":"move","after":null}),
                json!({"type":"reject"}),
            ),
            (
                json!({"type":"merge","into":anchor}),
                json!({"type":"edit","text":format!("Diedit {round}")}),
            ),
            (
                json!({"type":"answered"}),
                json!({"type":"merge","into":anchor}),
            ),
        ];
        for (i, (c1, c2)) in pairs.into_iter().enumerate() {
            let id = a.ask(&format!("Pertanyaan {round} {c1}")).await;
            m1.ok(json!({"type":"approve","question":id})).await;
            race(&mut m1, &mut m2, &id, (c1, c2), (round + i) % 2 == 1).await;
        }
        // Something live and on air, so the overlay is part of what must agree.
        let on_air = a.ask(&format!("Tayang {round}")).await;
        m2.ok(json!({"type":"approve","question":on_air})).await;
        m2.ok(json!({"type":"live","question":on_air})).await;
        m1.ok(json!({"type":"overlay","visible":true})).await;
        assert_same_views(&server, &s, &mut m1, &mut m2).await;
        assert_eq!(m1.view.overlay["visible"], true);
        assert_eq!(m1.view.overlay["question"]["id"], json!(on_air));
    }
}

#[tokio::test]
async fn without_rev_both_apply_in_order_and_views_agree() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m1 = Console::moderator(&server, &s).await;
    let mut m2 = Console::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Teks asli").await;
    let ((r1, _), (r2, _)) = tokio::join!(
        m1.act(json!({"type":"edit","question":id,"text":"Versi satu"})),
        m2.act(json!({"type":"edit","question":id,"text":"Versi dua"})),
    );
    assert_eq!(r1["type"], "ok", "{r1}");
    assert_eq!(r2["type"], "ok", "{r2}");
    assert_same_views(&server, &s, &mut m1, &mut m2).await;
    let q = &m1.view.questions[&id];
    assert_eq!(q["rev"], 3, "two changes: {q}");
    assert_eq!(q["original_text"], "Teks asli");
    assert!(q["text"] == "Versi satu" || q["text"] == "Versi dua", "{q}");

    // A stale rev after that loses, with the current one.
    let e = m2
        .act(json!({"type":"approve","question":id,"rev":2}))
        .await
        .0;
    assert_eq!(e["code"], "conflict", "{e}");
    assert_eq!(e["rev"], 3);
}
