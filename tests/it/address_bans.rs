//! A moderator bans the network a question came from (an IPv4 address or an IPv6 /64): every
//! phone of that network is refused `ask`, other networks are not, the ban survives `kill -9`,
//! and no frame or HTTP answer ever shows the network itself.
//!
//! The phones come "through a reverse proxy" (`X-Forwarded-For` from a trusted 127.0.0.0/8), so
//! one test machine can be several networks.

use serde_json::{Value, json};

use crate::common::*;

const SPAMMER: &str = "2001:db8:77:1::10";
/// Another address in the spammer's /64: the same household or phone.
const SAME_64: &str = "2001:db8:77:1:ffff::99";
/// The next /64: another subscriber.
const NEXT_64: &str = "2001:db8:77:2::10";
const OTHER_V4: &str = "203.0.113.44";

/// What no client may ever see: any part of the addresses above.
const PRIVATE: [&str; 3] = ["2001:db8", "203.0.113", "db8:77"];

fn hello(s: &Session) -> Value {
    json!({"type":"hello","role":"audience","session":s.code})
}

fn assert_private(what: &str, text: &str) {
    for p in PRIVATE {
        assert!(!text.contains(p), "{what} shows an address ({p}): {text}");
    }
}

#[tokio::test]
async fn a_moderator_bans_a_network_and_only_that_network() {
    let mut server = TestServer::start_with(&[("TANYA_TRUSTED_PROXIES", "127.0.0.0/8")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut spammer = Client::connect_from(&server, SPAMMER, hello(&s)).await;
    let mut same = Client::connect_from(&server, SAME_64, hello(&s)).await;
    let mut next = Client::connect_from(&server, NEXT_64, hello(&s)).await;
    let mut v4 = Client::connect_from(&server, OTHER_V4, hello(&s)).await;

    let spam = spammer.ask("Iklan pinjol murah!!!").await;
    let honest = next.ask("Kapan jalan di Plaju diperbaiki?").await;
    for _ in 0..2 {
        let (q, _) = m.until("question").await;
        assert_eq!(q["question"]["address_banned"], false, "{q}");
    }

    // Ban the spammer's network: moderators see the flag on its questions.
    let (_, frames) = act_ok(&mut m, json!({"type":"ban","question":spam,"address":true})).await;
    let flagged: Vec<&Value> = frames.iter().filter(|f| f["type"] == "question").collect();
    assert_eq!(
        flagged.len(),
        1,
        "one question from that network: {frames:?}"
    );
    assert_eq!(flagged[0]["question"]["id"], spam.as_str());
    assert_eq!(flagged[0]["question"]["address_banned"], true);
    assert_eq!(
        flagged[0]["question"]["banned"], false,
        "the device itself is not banned"
    );

    // Every device of that /64 is refused, with a reason; the next /64 and IPv4 are not.
    let e = spammer
        .err(
            json!({"type":"ask","ref":new_ref(),"text":"Lagi"}),
            "banned",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("network"), "{e}");
    same.err(
        json!({"type":"ask","ref":new_ref(),"text":"Dari HP lain"}),
        "banned",
    )
    .await;
    // A fresh device token from the same network does not get around it.
    let mut fresh = Client::connect_from(&server, SAME_64, hello(&s)).await;
    fresh
        .err(
            json!({"type":"ask","ref":new_ref(),"text":"Token baru"}),
            "banned",
        )
        .await;
    next.ask("Pertanyaan kedua dari /64 berikutnya").await;
    v4.ask("Dari IPv4").await;
    // Votes still count from the banned network (a ban stops asking, as a device ban does).
    let (_, _) = act_ok(&mut m, json!({"type":"approve","question":honest})).await;
    act_ok(
        &mut same,
        json!({"type":"vote","question":honest,"on":true}),
    )
    .await;

    // A repeated ban is ok and changes nothing; an operator entry has no network.
    let (_, frames) = act_ok(&mut m, json!({"type":"ban","question":spam,"address":true})).await;
    assert!(frames.iter().all(|f| f["type"] != "question"), "{frames:?}");
    let entry = enter(&mut m, "phone", "Dari telepon").await;
    let e = m
        .err(
            json!({"type":"ban","question":entry,"address":true}),
            "invalid",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("device"), "{e}");

    // No client saw any address: every frame of every socket, and every HTTP answer.
    marker(&mut m, "privacy").await;
    for c in [&mut spammer, &mut same, &mut next, &mut v4, &mut fresh] {
        assert_private("a welcome", &c.welcome.to_string());
        for f in until_marker(c, "privacy").await {
            assert_private("a phone's frame", &f.to_string());
        }
    }
    assert_private("the moderator's welcome", &m.welcome.to_string());
    let again = Client::moderator(&server, &s).await;
    assert_private("a moderator's welcome", &again.welcome.to_string());
    for (path, token) in [
        (format!("/api/sessions/{}/export", s.id), ADMIN),
        (format!("/api/sessions/{}/export?format=csv", s.id), ADMIN),
        (
            format!("/api/sessions/{}/live.json?k={}", s.id, s.overlay),
            ADMIN,
        ),
        ("/api/sessions".to_string(), ADMIN),
    ] {
        let (status, _, body) = http("GET", &server.http(&path), Some(token), None).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_private(&path, &body);
    }

    // The ban is journaled: after kill -9 the network is still refused.
    server.kill9();
    server.restart();
    let mut after = Client::connect_from(&server, SAME_64, hello(&s)).await;
    after
        .err(
            json!({"type":"ask","ref":new_ref(),"text":"Setelah restart"}),
            "banned",
        )
        .await;
    let mut m = Client::moderator(&server, &s).await;
    let shown = questions_by_id(&m.welcome);
    assert_eq!(shown[&spam]["address_banned"], true);
    assert_eq!(shown[&honest]["address_banned"], false);
    assert_eq!(shown[&entry]["address_banned"], Value::Null);

    // Unban: the network may ask again.
    act_ok(
        &mut m,
        json!({"type":"unban","question":spam,"address":true}),
    )
    .await;
    after.ask("Sudah boleh lagi").await;
}
