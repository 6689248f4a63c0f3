//! On air, on stage and in public views (docs/protocol.md, "Commands" and "Views"): a flagged
//! question goes on air only with a confirmation; personal data never reaches a public frame
//! unless a moderator unmasks it; the short air text; the call to action and name strap; the
//! speaker screen's timer and message; how to join; `/metrics` from the first second.

use crate::common::*;
use serde_json::{Value, json};

/// Personal data written into the journey's texts, and the pieces of it no public frame may hold.
const PHONE: &str = "0812-3456-7890";
const NIK: &str = "1671012345678901";
const SECRETS: [&str; 4] = ["3456-7890", "34567890", "1671012345678901", "3456"];

fn holds_secret(frame: &Value) -> Option<&'static str> {
    let s = frame.to_string();
    SECRETS.into_iter().find(|x| s.contains(x))
}

/// `live.json` of the session, which must answer 200.
async fn live_json(server: &TestServer, s: &Session) -> String {
    let (st, _, body) = http(
        "GET",
        &server.http(&format!("/api/sessions/{}/live.json?k={}", s.id, s.overlay)),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    body
}

async fn press(server: &TestServer, s: &Session) -> Client {
    Client::connect(
        server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
    )
    .await
}

#[tokio::test]
async fn a_flagged_question_goes_on_air_only_after_a_confirmation() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let q = ask_approved(
        &mut m,
        &mut a,
        &format!("Jalan rusak, telepon saya {PHONE}"),
    )
    .await;
    m.ok(json!({"type":"live","question":q})).await;
    let e = m
        .err(json!({"type":"overlay","visible":true}), "unconfirmed")
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("personal_data"),
        "the error names the flag: {e}"
    );
    m.err(
        json!({"type":"overlay","visible":true,"confirm":false}),
        "unconfirmed",
    )
    .await;
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"overlay","visible":true,"confirm":true}),
    )
    .await;
    let o = before
        .iter()
        .find(|f| f["type"] == "overlay")
        .expect("an overlay event");
    assert_eq!(o["visible"], true);
    // profanity too
    let q2 = ask_approved(&mut m, &mut a, "Dasar bangsat, sampah tidak diangkut").await;
    m.ok(json!({"type":"live","question":q2})).await;
    let e = m
        .err(json!({"type":"overlay","visible":true}), "unconfirmed")
        .await;
    assert!(e["message"].as_str().unwrap().contains("profanity"), "{e}");
    // an unflagged question needs nothing
    let q3 = ask_approved(&mut m, &mut a, "Kapan pasar Cinde selesai dibangun?").await;
    m.ok(json!({"type":"live","question":q3})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
}

#[tokio::test]
async fn personal_data_reaches_no_public_frame_unless_a_moderator_unmasks_it() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut author = Client::audience(&server, &s).await;
    let mut phone = Client::audience(&server, &s).await;
    let mut p = press(&server, &s).await;
    let mut screen = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    let mut overlay = Client::connect(&server, keyed_hello("overlay", &s, &s.overlay)).await;

    let text = format!("Air PDAM mati seminggu. Hubungi {PHONE}, NIK {NIK}");
    let asked = author
        .ok(json!({"type":"ask","ref":new_ref(),"text":text,"name":"Budi 0812 3456 7890"}))
        .await;
    assert_eq!(
        asked["question"]["text"],
        json!(text),
        "the author sees what it wrote"
    );
    let q = asked["question"]["id"].as_str().unwrap().to_string();
    m.ok(json!({"type":"approve","question":q})).await;
    m.ok(json!({"type":"live","question":q})).await;
    m.ok(json!({"type":"air_text","question":q,"text":format!("Air mati, hubungi {PHONE}")}))
        .await;
    m.ok(json!({"type":"overlay","visible":true,"confirm":true}))
        .await;
    phone
        .ok(json!({"type":"vote","question":q,"on":true}))
        .await;
    let title = format!("Penanda {}", new_ref());
    marker(&mut m, &title).await;

    // The moderator sees it all, and what the public sees.
    let fresh = Client::moderator(&server, &s).await;
    let mv = fresh.welcome["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == json!(q))
        .unwrap()
        .clone();
    assert_eq!(mv["text"], json!(text));
    assert_eq!(mv["unmasked"], false);
    assert!(
        mv["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("personal_data"))
    );
    let masked = mv["masked_text"]
        .as_str()
        .expect("the masked text")
        .to_string();
    assert!(holds_secret(&json!(masked)).is_none(), "{masked}");
    assert!(
        masked.starts_with("Air PDAM mati seminggu. Hubungi "),
        "{masked}"
    );

    // Every frame of every public role, from its welcome to the marker.
    for (who, c) in [
        ("audience", &mut phone),
        ("press", &mut p),
        ("screen", &mut screen),
        ("overlay", &mut overlay),
    ] {
        assert_eq!(holds_secret(&c.welcome), None, "{who} welcome");
        let frames = through_marker(c, &title).await;
        assert!(!frames.is_empty());
        for f in &frames {
            assert_eq!(holds_secret(f), None, "{who}: {f}");
        }
        if who != "audience" && who != "press" {
            let o = frames
                .iter()
                .rev()
                .find(|f| f["type"] == "overlay")
                .unwrap();
            assert_eq!(o["question"]["text"], json!(masked), "{who}: {o}");
            assert!(
                o["question"]["air_text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Air mati, hubungi ")
            );
        }
    }
    // Fresh welcomes of every public role, live.json, the join information.
    for hello in [
        json!({"type":"hello","role":"audience","session":s.code}),
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
        keyed_hello("screen", &s, &s.screen),
        keyed_hello("overlay", &s, &s.overlay),
    ] {
        let c = Client::connect(&server, hello.clone()).await;
        assert_eq!(holds_secret(&c.welcome), None, "{hello}: {}", c.welcome);
    }
    let body = live_json(&server, &s).await;
    assert!(!SECRETS.iter().any(|x| body.contains(x)), "{body}");
    assert!(body.contains("Air PDAM mati seminggu"), "{body}");

    // Unmasked deliberately: the public sees it as written.
    m.ok(json!({"type":"unmask","question":q,"on":true})).await;
    let (ev, _) = phone.until("question").await;
    assert_eq!(ev["question"]["text"], json!(text));
    m.ok(json!({"type":"unmask","question":q,"on":false})).await;
    let (ev, _) = phone.until("question").await;
    assert_eq!(ev["question"]["text"], json!(masked));
}

#[tokio::test]
async fn the_call_to_action_and_the_name_strap_reach_the_overlay_one_at_a_time() {
    let server = TestServer::start_with(&[
        ("TANYA_JOIN_WHATSAPP", "0811 7000 123"),
        ("TANYA_JOIN_SMS", "0811 7000 124"),
    ]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut overlay = Client::connect(&server, keyed_hello("overlay", &s, &s.overlay)).await;
    let join = &overlay.welcome["session"]["join"];
    assert_eq!(join["url"], s.raw["links"]["audience"]);
    assert_eq!(join["whatsapp"], "0811 7000 123");
    assert_eq!(join["sms"], "0811 7000 124");
    assert_eq!(overlay.welcome["overlay"]["graphic"], Value::Null);

    m.ok(json!({"type":"graphic","graphic":"join"})).await;
    let (o, _) = overlay.until("overlay").await;
    assert_eq!(o["graphic"], json!({"type":"join"}));
    m.ok(json!({"type":"graphic","graphic":"speaker","speaker":"s2"}))
        .await;
    let (o, _) = overlay.until("overlay").await;
    assert_eq!(
        o["graphic"],
        json!({"type":"speaker","speaker":{"id":"s2","name":"Ir Rina","role":"Kepala Dinas"}})
    );
    let body = live_json(&server, &s).await;
    let row: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(row[0]["graphic"], "speaker");
    assert_eq!(row[0]["strap_name"], "Ir Rina");
    assert_eq!(row[0]["join_whatsapp"], "0811 7000 123");
    assert_eq!(row[0]["join_code"], json!(s.code));
    // Taking the question takes the strap off, in the same overlay event.
    let q = ask_approved(&mut m, &mut a, "Kapan pasar Cinde selesai?").await;
    m.ok(json!({"type":"live","question":q})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let o = loop {
        let (o, _) = overlay.until("overlay").await;
        if o["visible"] == true {
            break o;
        }
        // `live` changed the question under the strap, still on air.
        assert_eq!(o["graphic"]["type"], "speaker", "{o}");
    };
    assert_eq!(o["graphic"], Value::Null, "{o}");
    // Bad input names the field.
    for (cmd, field) in [
        (json!({"type":"graphic"}), "graphic"),
        (json!({"type":"graphic","graphic":"qr"}), "graphic"),
        (json!({"type":"graphic","graphic":"speaker"}), "speaker"),
        (
            json!({"type":"graphic","graphic":"speaker","speaker":"s9"}),
            "speaker",
        ),
    ] {
        let e = m.err(cmd.clone(), "invalid").await;
        assert!(e["message"].as_str().unwrap().contains(field), "{cmd}: {e}");
    }
    // Phones never get overlay events.
    let title = format!("Penanda {}", new_ref());
    marker(&mut m, &title).await;
    for f in until_marker(&mut a, &title).await {
        assert_ne!(f["type"], "overlay", "{f}");
    }
    // Roles that may not.
    a.err(json!({"type":"graphic","graphic":"join"}), "forbidden")
        .await;
}

#[tokio::test]
async fn the_timer_and_the_message_reach_the_moderators_and_the_screen_only() {
    let server = TestServer::start_with(&[("TANYA_TIMER_SECONDS", "120")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut screen = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    let mut overlay = Client::connect(&server, keyed_hello("overlay", &s, &s.overlay)).await;
    let mut a = Client::audience(&server, &s).await;
    assert_eq!(
        screen.welcome["stage"],
        json!({"message":null,"timer":{"duration_ms":120000,"remaining_ms":120000,"running":false}})
    );
    assert_eq!(m.welcome["stage"], screen.welcome["stage"]);
    assert!(overlay.welcome.get("stage").is_none());
    assert!(a.welcome.get("stage").is_none());

    m.ok(json!({"type":"timer","action":"start","seconds":60}))
        .await;
    let (st, _) = screen.until("stage").await;
    assert_eq!(st["stage"]["timer"]["running"], true);
    assert_eq!(st["stage"]["timer"]["duration_ms"], 60000);
    let left = st["stage"]["timer"]["remaining_ms"].as_i64().unwrap();
    assert!((55_000..=60_000).contains(&left), "{st}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    m.ok(json!({"type":"timer","action":"pause"})).await;
    let (st, _) = screen.until("stage").await;
    assert_eq!(st["stage"]["timer"]["running"], false);
    let paused = st["stage"]["timer"]["remaining_ms"].as_i64().unwrap();
    assert!(paused <= 59_700, "time went by while it ran: {st}");
    // A screen that joins now gets the paused time.
    let late = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    assert_eq!(
        late.welcome["stage"]["timer"]["remaining_ms"],
        json!(paused)
    );

    m.ok(json!({"type":"message","text":"1 menit lagi"})).await;
    let (st, _) = screen.until("stage").await;
    assert_eq!(st["stage"]["message"], "1 menit lagi");
    m.ok(json!({"type":"message","text":""})).await;
    let (st, _) = screen.until("stage").await;
    assert_eq!(st["stage"]["message"], Value::Null);
    let title = format!("Penanda {}", new_ref());
    marker(&mut m, &title).await;
    for (who, c) in [("overlay", &mut overlay), ("audience", &mut a)] {
        for f in until_marker(c, &title).await {
            assert_ne!(f["type"], "stage", "{who}: {f}");
        }
    }
    // Bad input.
    for (cmd, field) in [
        (json!({"type":"timer","action":"stop"}), "action"),
        (
            json!({"type":"timer","action":"reset","seconds":3601}),
            "seconds",
        ),
        (json!({"type":"message","text":"x".repeat(101)}), "text"),
        (json!({"type":"message"}), "text"),
    ] {
        let e = m.err(cmd.clone(), "invalid").await;
        assert!(e["message"].as_str().unwrap().contains(field), "{cmd}: {e}");
    }
    screen
        .err(json!({"type":"message","text":"x"}), "forbidden")
        .await;
}

#[tokio::test]
async fn the_join_slide_and_its_information() {
    let server = TestServer::start_with(&[("TANYA_JOIN_SMS", "0811 7000 124")]);
    let s = server.demo_session().await;
    let (st, headers, body) = http(
        "GET",
        &server.http(&format!("/api/join/{}", s.code.to_lowercase())),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], json!(s.code));
    assert_eq!(v["url"], s.raw["links"]["audience"]);
    assert_eq!(v["title"], "Diskusi Wong Kito #12: Perizinan");
    assert_eq!(v["sms"], "0811 7000 124");
    assert_eq!(v["whatsapp"], Value::Null);
    assert!(format!("{headers:?}").to_lowercase().contains("no-store"));
    for bad in ["ZZZZZZ", "not-a-code"] {
        let (st, _, body) =
            http("GET", &server.http(&format!("/api/join/{bad}")), None, None).await;
        assert_eq!(st, 404, "{bad}: {body}");
        assert!(body.contains("not_found"), "{body}");
    }
    let (st, _, body) = http(
        "GET",
        &server.http(&format!("/join/{}", s.code)),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert!(body.contains("<html"), "{body}");
}

#[tokio::test]
async fn metrics_list_the_hubs_series_from_the_start_and_a_loopback_address_is_told() {
    let server = TestServer::start();
    let (st, _, body) = http("GET", &server.http("/metrics"), None, None).await;
    assert_eq!(st, 200);
    for line in [
        "tanya_connections{role=\"audience\"} 0",
        "tanya_connections{role=\"moderator\"} 0",
        "tanya_connections{role=\"overlay\"} 0",
        "tanya_sessions_running 0",
        "tanya_silent_sockets_dropped_total 0",
        "tanya_connections_refused_total{why=\"max_connections\"} 0",
    ] {
        assert!(body.lines().any(|l| l == line), "{line:?} in:\n{body}");
    }
    assert!(
        body.lines()
            .any(|l| l.starts_with("tanya_build_info{version=\"") && l.ends_with("} 1")),
        "{body}"
    );
    let lines = server.stderr.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning: links and QR codes point to http://127.0.0.1:")),
        "{lines:?}"
    );
    let public = TestServer::start_with(&[("TANYA_PUBLIC_URL", "https://tanya.palembang.go.id")]);
    let lines = public.stderr.lock().unwrap().clone();
    assert!(
        !lines.iter().any(|l| l.contains("QR codes point to")),
        "{lines:?}"
    );
}
