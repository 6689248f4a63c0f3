//! Resume (`since` in `hello`), black-box through real sockets, against docs/protocol.md: a client
//! that missed events gets exactly those of its view, in order, and ends with the same view as
//! a fresh client; anything the hub cannot resume gets a full welcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use futures_util::SinkExt;
use serde_json::{Value, json};

/// The channel of the operator's entries.
const CHANNEL: &str = "whatsapp";

/// Asserts that no frame but presence arrives within `ms`.
async fn assert_quiet(c: &mut Client, ms: u64, what: &str) {
    if let Ok(v) = tokio::time::timeout(std::time::Duration::from_millis(ms), c.recv()).await {
        panic!("{what}: unexpected frame {v}");
    }
}

fn hello(role: &str, s: &Session) -> Value {
    let key = match role {
        "moderator" => Some(&s.moderator),
        "screen" => Some(&s.screen),
        "overlay" => Some(&s.overlay),
        "press" => Some(&s.press),
        _ => None,
    };
    let mut h = json!({"type":"hello","role":role,"session":s.code});
    if let Some(k) = key {
        h["key"] = json!(k);
    }
    h
}

fn with_since(mut h: Value, epoch: &Value, seq: u64) -> Value {
    h["since"] = json!({"epoch": epoch, "seq": seq});
    h
}

/// Reconnects with `since` and checks the resumed welcome; returns the client.
async fn resume(server: &TestServer, h: Value, epoch: &Value, seq: u64) -> Client {
    let c = Client::connect(server, with_since(h, epoch, seq)).await;
    let w = &c.welcome;
    assert_eq!(w["resumed"], true, "{w}");
    assert_eq!(w["seq"], seq, "a resumed welcome has seq == since.seq: {w}");
    assert_eq!(&w["epoch"], epoch, "{w}");
    assert!(
        w.get("questions").is_none(),
        "a resumed welcome has no questions: {w}"
    );
    assert!(w["session"].is_object(), "{w}");
    c
}

#[tokio::test]
async fn moderator_screen_and_overlay_resume_with_exactly_the_missed_events() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut voter = Client::audience(&server, &s).await;
    let roles = ["moderator", "screen", "overlay"];
    let mut observers = Vec::new();
    let mut leavers = Vec::new();
    for r in roles {
        observers.push(Client::connect(&server, hello(r, &s)).await);
        leavers.push(Tracked::connect(&server, hello(r, &s)).await);
    }

    let q1 = enter_approved(&mut m, CHANNEL, "Satu: sebelum putus").await;
    let q2 = enter_approved(&mut m, CHANNEL, "Dua: sebelum putus").await;
    let q3 = enter(&mut m, CHANNEL, "Tiga: menunggu").await;
    let q5 = voter.ask("Lima: dari ponsel").await;
    marker(&mut m, "sebelum").await;
    for o in &mut observers {
        through_marker(o, "sebelum").await;
    }
    let mut left = Vec::new();
    for mut l in leavers {
        l.through_marker("sebelum").await;
        left.push(l.leave().await);
    }

    // What the leavers miss.
    let q4 = enter_approved(&mut m, CHANNEL, "Empat: saat putus").await;
    m.ok(json!({"type":"edit","question":q1,"text":"Satu: disunting saat putus"}))
        .await;
    m.ok(json!({"type":"move","question":q2,"after":null}))
        .await;
    m.ok(json!({"type":"live","question":q1})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    m.ok(json!({"type":"edit","question":q1,"text":"Satu: disunting di udara"}))
        .await;
    voter
        .ok(json!({"type":"vote","question":q2,"on":true}))
        .await;
    let (v, _) = m.until("votes").await;
    assert_eq!(v["counts"][&q2], 1);
    m.ok(json!({"type":"reject","question":q3,"reason":"di luar topik"}))
        .await;
    m.ok(json!({"type":"approve","question":q5})).await;
    m.ok(json!({"type":"live","question":q2})).await;
    m.ok(json!({"type":"merge","question":q4,"into":q2})).await;
    m.ok(json!({"type":"assign","question":q5,"to":"s2"})).await;
    m.ok(json!({"type":"session","status":"paused"})).await;
    marker(&mut m, "sesudah").await;

    for ((r, o), (mut view, epoch, seq)) in roles.into_iter().zip(&mut observers).zip(left) {
        let expected = through_marker(o, "sesudah").await;
        assert!(!expected.is_empty());
        let mut c = resume(&server, hello(r, &s), &epoch, seq).await;
        assert!(c.welcome["overlay"].is_object(), "{r}: {}", c.welcome);
        let got = through_marker(&mut c, "sesudah").await;
        assert!(
            got.first()
                .and_then(|f| f["seq"].as_u64())
                .is_some_and(|f| f > seq),
            "{r}: {got:#?}"
        );
        assert_eq!(
            got, expected,
            "{r}: the resumed socket gets exactly what a connected one got after seq {seq}"
        );
        assert_quiet(
            &mut c,
            300,
            &format!("{r}: nothing more after the missed events"),
        )
        .await;
        view.resume(&c.welcome);
        view.apply_all(&got);
        let fresh = Client::connect(&server, hello(r, &s)).await;
        let want = ClientView::from_welcome(&fresh.welcome);
        assert_eq!(view, want, "{r}: resumed view equals a fresh client's view");
        assert_eq!(c.welcome["session"], fresh.welcome["session"], "{r}");
        assert_eq!(c.welcome["overlay"], fresh.welcome["overlay"], "{r}");
        match r {
            "screen" => {
                let ids: Vec<&str> = got
                    .iter()
                    .filter(|f| f["type"] == "question")
                    .map(|f| f["question"]["id"].as_str().unwrap())
                    .collect();
                assert!(
                    !ids.contains(&q3.as_str()),
                    "screen: never a pending or rejected question: {got:#?}"
                );
                assert!(
                    got.iter()
                        .any(|f| f["type"] == "removed" && f["id"] == json!(q4)),
                    "screen: the merged question is removed: {got:#?}"
                );
            }
            "overlay" => {
                assert!(
                    got.iter()
                        .all(|f| f["type"] == "overlay" || f["type"] == "session"),
                    "overlay: {got:#?}"
                );
            }
            _ => {
                assert!(
                    got.iter()
                        .any(|f| f["type"] == "question" && f["question"]["id"] == json!(q3)),
                    "moderator sees the rejection: {got:#?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn audience_resume_gets_its_own_questions_author_view() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Tracked::connect(&server, hello("audience", &s)).await;
    let device = a.c.device();
    let mut a_hello = hello("audience", &s);
    a_hello["device"] = json!(device);
    // Another socket of the same device stays connected: it sees what the leaver misses.
    let mut twin = Client::connect(&server, a_hello.clone()).await;
    assert!(twin.welcome["you"]["device"].as_str().is_some());
    let mut other = Client::audience(&server, &s).await;

    let mine1 = a.ask("Milik saya: satu").await;
    let mine2 = a.ask("Milik saya: dua").await;
    let mine3 = a.ask("Milik saya: tiga").await;
    let theirs = other.ask("Milik orang lain, menunggu").await;
    let public = enter_approved(&mut m, CHANNEL, "Pertanyaan publik").await;
    a.ok(json!({"type":"vote","question":public,"on":true}))
        .await;
    // Votes are coalesced: let the count arrive before the socket leaves.
    let (v, _) = twin.until("votes").await;
    assert_eq!(v["counts"][&public], 1);
    marker(&mut m, "sebelum").await;
    through_marker(&mut twin, "sebelum").await;
    a.through_marker("sebelum").await;
    let (mut view, epoch, seq) = a.leave().await;
    assert!(view.questions.contains_key(&mine1));

    // Missed: moderation of its own questions, and things it must never see.
    m.ok(json!({"type":"edit","question":mine1,"text":"Milik saya: satu (disunting)"}))
        .await;
    m.ok(json!({"type":"reject","question":mine2,"reason":"sudah ditanyakan"}))
        .await;
    m.ok(json!({"type":"edit","question":theirs,"text":"Milik orang lain (disunting)"}))
        .await;
    m.ok(json!({"type":"approve","question":mine1})).await;
    m.ok(json!({"type":"live","question":public})).await;
    m.ok(json!({"type":"ban","question":mine3})).await;
    marker(&mut m, "sesudah").await;
    let expected = through_marker(&mut twin, "sesudah").await;

    let mut c = resume(&server, a_hello.clone(), &epoch, seq).await;
    let you = &c.welcome["you"];
    assert!(
        you["device"].as_str().is_some_and(|d| !d.is_empty()),
        "{you}"
    );
    assert_eq!(you["votes"], json!([public]), "its own votes: {you}");
    let got = through_marker(&mut c, "sesudah").await;
    assert_eq!(got, expected, "exactly its view's missed events");
    assert_quiet(&mut c, 300, "after the missed events").await;

    let q_events = |id: &str| -> Vec<&Value> {
        got.iter()
            .filter(|f| f["type"] == "question" && f["question"]["id"] == json!(id))
            .collect()
    };
    let e1 = q_events(&mine1);
    assert_eq!(
        e1.len(),
        2,
        "edit and approve of its own question: {got:#?}"
    );
    assert_eq!(e1[0]["question"]["text"], "Milik saya: satu (disunting)");
    assert_eq!(e1[0]["question"]["edited"], true, "{}", e1[0]);
    assert_eq!(e1[0]["question"]["status"], "pending");
    assert!(e1[0]["question"].get("original_text").is_none());
    assert_eq!(e1[1]["question"]["status"], "approved");
    let e2 = q_events(&mine2);
    assert_eq!(e2.len(), 1, "{got:#?}");
    assert_eq!(e2[0]["question"]["status"], "rejected");
    assert_eq!(e2[0]["question"]["reason"], "sudah ditanyakan");
    assert!(
        got.iter().all(|f| !f.to_string().contains(&theirs)),
        "another device's pending question never reaches it: {got:#?}"
    );
    for f in &got {
        if let Some(q) = f.get("question") {
            for k in ["author", "flags", "banned", "original_text"] {
                assert!(q.get(k).is_none(), "moderator field `{k}` leaked: {f}");
            }
        }
    }
    assert_eq!(
        q_events(&public).last().unwrap()["question"]["status"],
        "live"
    );

    view.resume(&c.welcome);
    view.apply_all(&got);
    let fresh = Client::connect(&server, a_hello).await;
    assert_eq!(view, ClientView::from_welcome(&fresh.welcome));
    assert_eq!(c.welcome["you"]["votes"], fresh.welcome["you"]["votes"]);
    assert_eq!(view.questions[&mine2]["status"], "rejected");
    assert!(!view.questions.contains_key(&theirs));
}

#[tokio::test]
async fn nothing_missed_resumes_with_no_events() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    enter_approved(&mut m, CHANNEL, "Satu").await;
    marker(&mut m, "diam").await;
    let scr = Client::connect(&server, hello("screen", &s)).await;
    let epoch = scr.welcome["epoch"].clone();
    let seq = scr.welcome["seq"].as_u64().unwrap();
    let mut c = resume(&server, hello("screen", &s), &epoch, seq).await;
    assert_quiet(&mut c, 300, "nothing was missed").await;
}

async fn assert_full_welcome(server: &TestServer, h: Value, role: &str, s: &Session) -> Client {
    let c = Client::connect(server, h.clone()).await;
    let w = &c.welcome;
    assert_eq!(w["resumed"], false, "{h} -> {w}");
    assert!(
        w["questions"].is_array(),
        "a full welcome has questions: {w}"
    );
    let mut fh = hello(role, s);
    if let Some(d) = h.get("device").filter(|_| role == "audience") {
        fh["device"] = d.clone();
    }
    let fresh = Client::connect(server, fh).await;
    assert_eq!(
        w["seq"], fresh.welcome["seq"],
        "a full welcome's seq is the current one"
    );
    assert_eq!(
        ClientView::from_welcome(w),
        ClientView::from_welcome(&fresh.welcome)
    );
    c
}

#[tokio::test]
async fn unknown_epoch_or_unissued_seq_gets_a_full_welcome() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let q = enter_approved(&mut m, CHANNEL, "Satu").await;
    enter(&mut m, CHANNEL, "Dua, menunggu").await;
    marker(&mut m, "siap").await;
    let epoch = m.welcome["epoch"].clone();
    let now = m.last_seq;

    // Unknown epoch.
    for role in ["moderator", "screen", "overlay", "audience"] {
        let c = assert_full_welcome(
            &server,
            with_since(hello(role, &s), &json!("no-such-epoch"), 1),
            role,
            &s,
        )
        .await;
        assert_eq!(c.welcome["epoch"], epoch);
    }
    // A seq this epoch never issued.
    for role in ["moderator", "screen"] {
        let c = assert_full_welcome(
            &server,
            with_since(hello(role, &s), &epoch, now + 1000),
            role,
            &s,
        )
        .await;
        let qs = c.welcome["questions"].as_array().unwrap();
        assert!(qs.iter().any(|x| x["id"] == json!(q)), "{qs:#?}");
    }
    let c = assert_full_welcome(
        &server,
        with_since(hello("moderator", &s), &epoch, now + 1),
        "moderator",
        &s,
    )
    .await;
    assert_eq!(c.welcome["seq"], now);
    // An audience device the hub never issued, with a valid position: full welcome, new device.
    let mut h = with_since(hello("audience", &s), &epoch, now);
    h["device"] = json!("not-a-device-token");
    let c = Client::connect(&server, h).await;
    assert_eq!(c.welcome["resumed"], false, "{}", c.welcome);
    assert!(c.welcome["questions"].is_array());
    let d = c.device();
    assert!(!d.is_empty() && d != "not-a-device-token");
}

#[tokio::test]
async fn after_a_hub_restart_the_epoch_changes_and_resume_gets_a_full_welcome() {
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    let (mod_view, mod_epoch, mod_seq, a_device, a_epoch, a_seq, mine) = {
        let mut actor = Client::moderator(&server, &s).await;
        let mut m = Tracked::connect(&server, hello("moderator", &s)).await;
        let mut a = Tracked::connect(&server, hello("audience", &s)).await;
        let mine = a.ask("Pertanyaan saya, menunggu").await;
        let q = enter_approved(&mut actor, CHANNEL, "Disetujui").await;
        actor.ok(json!({"type":"live","question":q})).await;
        actor.ok(json!({"type":"overlay","visible":true})).await;
        marker(&mut actor, "sebelum mati").await;
        m.through_marker("sebelum mati").await;
        a.through_marker("sebelum mati").await;
        let device = a.c.device();
        let (av, ae, aseq) = a.leave().await;
        assert!(av.questions.contains_key(&mine));
        let (mv, me, mseq) = m.leave().await;
        (mv, me, mseq, device, ae, aseq, mine)
    };
    server.kill9();
    server.restart();

    let c = Client::connect(
        &server,
        with_since(hello("moderator", &s), &mod_epoch, mod_seq),
    )
    .await;
    let w = &c.welcome;
    assert_eq!(w["resumed"], false, "{w}");
    assert_ne!(w["epoch"], mod_epoch, "a restart begins a new history");
    // `session.links` is left out: the harness listens on port 0 before the restart and on
    // the bound port after it, and the hub builds links from the configured address.
    let strip = |mut v: ClientView| {
        if let Some(o) = v.session.as_object_mut() {
            o.remove("links");
        }
        v
    };
    assert_eq!(
        strip(ClientView::from_welcome(w)),
        strip(mod_view),
        "the full welcome after a restart equals the view before it"
    );

    let mut h = with_since(hello("audience", &s), &a_epoch, a_seq);
    h["device"] = json!(a_device);
    let c = Client::connect(&server, h).await;
    let w = &c.welcome;
    assert_eq!(w["resumed"], false, "{w}");
    let qs = w["questions"].as_array().unwrap();
    let own = qs
        .iter()
        .find(|q| q["id"] == json!(mine))
        .expect("its own pending question, by its device token, after a restart");
    assert_eq!(own["status"], "pending");
    assert!(own.get("edited").is_some(), "author view: {own}");
}

#[tokio::test]
async fn a_client_that_applies_resumes_repeatedly_without_gap_or_duplicate() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut t = Tracked::connect(&server, hello("screen", &s)).await;
    let mut ids = Vec::new();
    for round in 0..4 {
        let title = format!("putaran {round}");
        // Leave in the middle of a burst of changes; come back with since.
        let id = enter_approved(&mut m, CHANNEL, &format!("Pertanyaan putaran {round}")).await;
        ids.push(id.clone());
        if round % 2 == 1 {
            m.ok(json!({"type":"move","question":id,"after":null}))
                .await;
        }
        marker(&mut m, &title).await;
        let (view, epoch, seq) = t.leave().await;
        for k in 0..3 {
            enter_approved(&mut m, CHANNEL, &format!("Saat putus {round}.{k}")).await;
        }
        m.ok(json!({"type":"reject","question":ids[0]})).await;
        m.ok(json!({"type":"approve","question":ids[0]})).await;
        let after = format!("kembali {round}");
        marker(&mut m, &after).await;
        let c = resume(&server, hello("screen", &s), &epoch, seq).await;
        t = Tracked { c, view };
        t.view.resume(&t.c.welcome);
        // The first marker may still be among the missed events; read through the second.
        t.through_marker(&after).await;
        let fresh = Client::connect(&server, hello("screen", &s)).await;
        assert_eq!(
            t.view,
            ClientView::from_welcome(&fresh.welcome),
            "round {round}"
        );
    }
    let _ =
        t.c.ws
            .send(tokio_tungstenite::tungstenite::Message::Close(None))
            .await;
}
