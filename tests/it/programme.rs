//! Programmes with episodes (docs/programmes.md): the office's routes, sockets that join
//! through a programme and follow its current episode (4307), the memorable join code, the
//! stable intake and `live.json`, the carry-over of questions with their tracking codes and
//! cases, and key rotation; bad input named.

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{ADMIN, Client, TestServer, http, http_json, new_ref, raw};

async fn api(server: &TestServer, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = (!body.is_null()).then(|| body.to_string());
    http_json(method, &server.http(path), Some(ADMIN), body.as_deref()).await
}

/// A programme with two episodes, the first current.
async fn programme(server: &TestServer) -> (Value, Value, Value) {
    let (st, p) = api(
        server,
        "POST",
        "/api/programmes",
        json!({"title":"Diskusi Wong Kito","slug":"wongkito","join_code":"wong-kito",
               "speakers":[{"name":"Wali Kota","role":"Wali Kota Palembang"}]}),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let (st, e1) = api(
        server,
        "POST",
        "/api/programmes/wongkito/episodes",
        json!({"title":"Wong Kito November","current":true}),
    )
    .await;
    assert_eq!(st, 201, "{e1}");
    let (st, e2) = api(
        server,
        "POST",
        "/api/programmes/wongkito/episodes",
        json!({"title":"Wong Kito Desember","starts_at":"2026-12-18T19:00:00+07:00"}),
    )
    .await;
    assert_eq!(st, 201, "{e2}");
    (
        e2["programme"].clone(),
        e1["session"].clone(),
        e2["session"].clone(),
    )
}

fn key(p: &Value, role: &str) -> String {
    p["keys"][role].as_str().unwrap().to_string()
}

fn sid(s: &Value) -> String {
    s["session"]["id"].as_str().unwrap().to_string()
}

async fn via(server: &TestServer, role: &str, key: Option<&str>) -> Client {
    let mut hello = json!({"type":"hello","role":role,"programme":"wongkito"});
    if let Some(k) = key {
        hello["key"] = json!(k);
    }
    Client::connect(server, hello).await
}

/// A hello that must be refused: the close code and its reason.
async fn refused(server: &TestServer, hello: Value) -> (u16, String) {
    use futures_util::StreamExt;
    let mut ws = raw(&server.ws_url()).await;
    ws.send(Message::text(hello.to_string())).await.unwrap();
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string()),
            Some(Ok(Message::Text(t))) => panic!("expected a close, got {t}"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_office_sets_up_a_programme_and_bad_input_is_named() {
    let server = TestServer::start();
    let (p, e1, e2) = programme(&server).await;
    assert_eq!(p["slug"], "wongkito");
    assert_eq!(p["join_code"], "WONGKITO");
    assert_eq!(p["current"], e1["session"]["id"]);
    assert_eq!(p["episodes"].as_array().unwrap().len(), 2);
    assert_eq!(
        p["episodes"][0]["title"], "Wong Kito Desember",
        "newest first"
    );
    assert_eq!(p["episodes"][0]["starts_at"], "2026-12-18T12:00:00.000Z");
    let base = server.http("");
    assert_eq!(p["links"]["audience"], json!(format!("{base}/p/wongkito")));
    assert_eq!(
        p["links"]["overlay"],
        json!(format!(
            "{base}/p/wongkito/overlay#k={}",
            key(&p, "overlay")
        ))
    );
    // Episodes take the programme's speakers; their own keys differ from the programme's.
    assert_eq!(e2["session"]["speakers"][0]["name"], "Wali Kota");
    assert_ne!(e1["keys"]["overlay"], p["keys"]["overlay"]);
    // The public answer: no key, no id.
    let (st, pub_) = http_json("GET", &server.http("/api/p/WONGKITO"), None, None).await;
    assert_eq!(st, 200, "{pub_}");
    assert_eq!(pub_["current"]["title"], "Wong Kito November");
    assert_eq!(pub_["next_at"], "2026-12-18T12:00:00.000Z");
    let text = pub_.to_string();
    assert!(
        !text.contains(&key(&p, "moderator")) && !text.contains(&sid(&e1)),
        "{text}"
    );
    // The memorable code: /j/ sends the phone to the programme's page.
    let (st, headers, _) = http("GET", &server.http("/j/WONGKITO"), None, None).await;
    assert_eq!(st, 303, "{headers:?}");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("location") && v == "/p/wongkito"),
        "{headers:?}"
    );
    for page in [
        "/p/wongkito",
        "/p/wongkito/m",
        "/p/wongkito/overlay",
        "/p/wongkito/screen",
        "/p/wongkito/desk",
    ] {
        let (st, _, body) = http("GET", &server.http(page), None, None).await;
        assert_eq!(st, 200, "{page}");
        assert!(body.contains("<html"), "{page}");
    }
    // Bad input, each named.
    for (body, field, status) in [
        (json!({"title":"X","slug":"Bad Slug!"}), "slug", 400),
        (json!({"title":"X","slug":"-x"}), "slug", 400),
        (
            json!({"title":"X","slug":"ok","join_code":"ABC"}),
            "join_code",
            400,
        ),
        (json!({"title":"","slug":"ok2"}), "title", 400),
        (json!({"slug":"ok3"}), "title", 400),
        (
            json!({"title":"X","slug":"ok4","colour":"red"}),
            "colour",
            400,
        ),
        (json!({"title":"X","slug":"wongkito"}), "slug", 409),
        (
            json!({"title":"X","slug":"other","join_code":"WONGKITO"}),
            "join code",
            409,
        ),
    ] {
        let (st, e) = api(&server, "POST", "/api/programmes", body.clone()).await;
        assert_eq!(st, status, "{body}: {e}");
        let m = e["error"]["message"].as_str().unwrap_or_default();
        assert!(m.contains(field), "{body}: {m}");
    }
    let (st, e) = api(
        &server,
        "PATCH",
        "/api/programmes/wongkito",
        json!({"current":"nope"}),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{e}"
    );
    let other = server.create_session("Bukan episode", json!([])).await;
    let (st, e) = api(
        &server,
        "PATCH",
        "/api/programmes/wongkito",
        json!({"current": other["session"]["id"]}),
    )
    .await;
    assert_eq!(st, 400, "a session of no programme cannot be current: {e}");
    let (st, e) = api(
        &server,
        "PATCH",
        "/api/programmes/wongkito",
        json!({"next_at":"besok"}),
    )
    .await;
    assert_eq!(st, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("next_at"));
    let (st, e) = api(&server, "POST", "/api/programmes/nope/episodes", json!({})).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    let (st, _) = http_json(
        "POST",
        &server.http("/api/programmes"),
        Some("wrong"),
        Some("{}"),
    )
    .await;
    assert_eq!(st, 401);
    let (st, _) = http_json("GET", &server.http("/api/p/nope"), None, None).await;
    assert_eq!(st, 404);
    let (st, e) = api(
        &server,
        "POST",
        "/api/programmes/wongkito/keys/admin",
        Value::Null,
    )
    .await;
    assert_eq!(st, 400, "{e}");
}

/// An overlay and a phone opened on the programme's links follow it from one episode to the
/// next without a new link: 4307, hello again, the new episode's welcome.
#[tokio::test]
async fn programme_links_follow_the_current_episode() {
    let server = TestServer::start();
    let (p, e1, e2) = programme(&server).await;
    let mut overlay = via(&server, "overlay", Some(&key(&p, "overlay"))).await;
    assert_eq!(overlay.welcome["session"]["id"], e1["session"]["id"]);
    assert_eq!(
        overlay.welcome["session"]["programme"],
        json!({"slug":"wongkito","title":"Diskusi Wong Kito"})
    );
    assert_eq!(overlay.welcome["session"]["join"]["code"], "WONGKITO");
    assert_eq!(
        overlay.welcome["session"]["join"]["url"],
        json!(server.http("/p/wongkito"))
    );
    let mut phone = via(&server, "audience", None).await;
    let mut m = via(&server, "moderator", Some(&key(&p, "moderator"))).await;
    let ok = phone
        .ok(json!({"type":"ask","ref":new_ref(),"text":"Kapan jalan Sako diperbaiki?"}))
        .await;
    let q = ok["question"]["id"].as_str().unwrap().to_string();
    m.ok(json!({"type":"approve","question":q})).await;
    m.ok(json!({"type":"live","question":q})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    // The programme's key is not the episode's, and the episode's is not the programme's.
    let (code, _) = refused(
        &server,
        json!({"type":"hello","role":"overlay","programme":"wongkito","key":e1["keys"]["overlay"]}),
    )
    .await;
    assert_eq!(code, 4401);
    let (code, _) = refused(
        &server,
        json!({"type":"hello","role":"overlay","session":sid(&e1),"key":key(&p, "overlay")}),
    )
    .await;
    assert_eq!(code, 4401);
    // An overlay on the episode's own link stays with the episode.
    let mut own = Client::connect(
        &server,
        json!({"type":"hello","role":"overlay","session":sid(&e1),"key":e1["keys"]["overlay"]}),
    )
    .await;
    // The office makes episode 2 current.
    let (st, after) = api(
        &server,
        "PATCH",
        "/api/programmes/wongkito",
        json!({"current": e2["session"]["id"]}),
    )
    .await;
    assert_eq!(
        (st, &after["current"]),
        (200, &e2["session"]["id"]),
        "{after}"
    );
    for c in [&mut overlay, &mut phone, &mut m] {
        assert_eq!(c.expect_close().await, 4307);
    }
    assert!(own.quiet(500).await, "the episode's own link is not moved");
    let overlay = via(&server, "overlay", Some(&key(&p, "overlay"))).await;
    assert_eq!(overlay.welcome["session"]["id"], e2["session"]["id"]);
    assert_eq!(overlay.welcome["overlay"]["visible"], false);
    assert!(
        overlay.welcome["overlay"]["question"].is_null(),
        "{}",
        overlay.welcome
    );
    let phone = via(&server, "audience", None).await;
    assert_eq!(phone.welcome["questions"], json!([]));
    // The earlier episode, no longer current, shows its own join line again.
    assert_eq!(
        own.welcome["session"]["join"]["url"],
        json!(server.http("/p/wongkito")),
        "while it was current"
    );
    // The join code names the current episode; then none is current.
    let hello = json!({"type":"hello","role":"audience","session":"wongkito"});
    let c = Client::connect(&server, hello).await;
    assert_eq!(c.welcome["session"]["id"], e2["session"]["id"]);
    let (st, _) = api(
        &server,
        "PATCH",
        "/api/programmes/wongkito",
        json!({"current":null}),
    )
    .await;
    assert_eq!(st, 200);
    let mut overlay = overlay;
    assert_eq!(overlay.expect_close().await, 4307);
    let (code, reason) = refused(
        &server,
        json!({"type":"hello","role":"overlay","programme":"wongkito","key":key(&p, "overlay")}),
    )
    .await;
    assert_eq!(
        (code, reason.as_str()),
        (4404, "the programme has no current episode")
    );
    let (code, reason) = refused(
        &server,
        json!({"type":"hello","role":"audience","programme":"nope"}),
    )
    .await;
    assert_eq!((code, reason.as_str()), (4404, "no such programme"));
    let (code, _) = refused(
        &server,
        json!({"type":"hello","role":"audience","programme":"wongkito","session":"ABCDEF"}),
    )
    .await;
    assert_eq!(code, 4400);
    // The programme's live.json: nothing on air while there is no current episode.
    let (st, rows) = http_json(
        "GET",
        &server.http(&format!(
            "/api/programmes/wongkito/live.json?k={}",
            key(&p, "overlay")
        )),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{rows}");
    assert_eq!(rows[0]["visible"], false);
    assert_eq!(rows[0]["join_code"], "WONGKITO");
    let (st, _) = http_json(
        "GET",
        &server.http("/api/programmes/wongkito/live.json?k=wrong"),
        None,
        None,
    )
    .await;
    assert_eq!(st, 401);
}

/// The programme's intake key feeds its current episode; a rotated programme key closes the
/// programme-link sockets of its role (4401) and leaves the episode's own links alone.
#[tokio::test]
async fn programme_intake_live_json_and_key_rotation() {
    let server = TestServer::start();
    let (p, e1, _e2) = programme(&server).await;
    let intake = |k: String, body: Value| {
        let url = server.http("/api/programmes/wongkito/intake");
        async move { http_json("POST", &url, Some(&k), Some(&body.to_string())).await }
    };
    let body = json!({"ref":"sms-1","channel":"sms","text":"Sampah menumpuk di Pasar 16","contact":"081234560001"});
    let (st, r) = intake(key(&p, "intake"), body.clone()).await;
    assert_eq!(st, 200, "{r}");
    assert!(
        r["reply_text"]
            .as_str()
            .unwrap()
            .contains(r["tracking"].as_str().unwrap())
    );
    let (st, again) = intake(key(&p, "intake"), body.clone()).await;
    assert_eq!(
        (st, &again["question"]["id"]),
        (200, &r["question"]["id"]),
        "idempotent per ref"
    );
    let (st, _) = intake(e1["keys"]["intake"].as_str().unwrap().to_string(), body).await;
    assert_eq!(st, 401, "the episode's intake key is not the programme's");
    let mut m = via(&server, "moderator", Some(&key(&p, "moderator"))).await;
    let entered = &m.welcome["questions"][0];
    assert_eq!(entered["text"], "Sampah menumpuk di Pasar 16");
    assert_eq!(entered["contact"], "081234560001");
    let q = entered["id"].as_str().unwrap().to_string();
    m.ok(json!({"type":"approve","question":q})).await;
    m.ok(json!({"type":"live","question":q})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let (st, rows) = http_json(
        "GET",
        &server.http(&format!(
            "/api/programmes/wongkito/live.json?k={}",
            key(&p, "overlay")
        )),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{rows}");
    assert_eq!(rows[0]["visible"], true);
    assert_eq!(rows[0]["text"], "Sampah menumpuk di Pasar 16");
    assert_eq!(rows[0]["join_url"], json!(server.http("/p/wongkito")));
    assert!(!rows.to_string().contains("081234560001"), "{rows}");
    // The moderator key of the programme opens the episode's HTTP routes too.
    let (st, _, _) = http(
        "GET",
        &server.http(&format!("/api/sessions/{}/export?format=csv", sid(&e1))),
        Some(&key(&p, "moderator")),
        None,
    )
    .await;
    assert_eq!(st, 200);
    // Rotation.
    let mut overlay = via(&server, "overlay", Some(&key(&p, "overlay"))).await;
    let mut own = Client::connect(
        &server,
        json!({"type":"hello","role":"overlay","session":sid(&e1),"key":e1["keys"]["overlay"]}),
    )
    .await;
    let (st, p2) = api(
        &server,
        "POST",
        "/api/programmes/wongkito/keys/overlay",
        Value::Null,
    )
    .await;
    assert_eq!(st, 200, "{p2}");
    assert_ne!(p2["keys"]["overlay"], p["keys"]["overlay"]);
    assert_eq!(overlay.expect_close().await, 4401);
    assert!(own.quiet(500).await, "the episode's own overlay stays");
    let (code, _) = refused(
        &server,
        json!({"type":"hello","role":"overlay","programme":"wongkito","key":key(&p, "overlay")}),
    )
    .await;
    assert_eq!(code, 4401, "the old key");
    let mut overlay = via(&server, "overlay", Some(&key(&p2, "overlay"))).await;
    // Moderators on the programme's link see its links (the new key); phones see no links.
    let (ev, _) = m.until("session").await;
    assert_eq!(
        ev["session"]["programme"]["links"]["overlay"], p2["links"]["overlay"],
        "{ev}"
    );
    let phone = via(&server, "audience", None).await;
    assert_eq!(
        phone.welcome["session"]["programme"],
        json!({"slug":"wongkito","title":"Diskusi Wong Kito"})
    );
    // The console rotates a programme key too; an episode-link console may not.
    let mut episode_console = Client::connect(
        &server,
        json!({"type":"hello","role":"moderator","session":sid(&e1),"key":e1["keys"]["moderator"]}),
    )
    .await;
    let e = episode_console
        .err(
            json!({"type":"rotate_key","role":"overlay","programme":true}),
            "forbidden",
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("programme's link"),
        "{e}"
    );
    let (_, events) = crate::common::act_ok(
        &mut m,
        json!({"type":"rotate_key","role":"overlay","programme":true}),
    )
    .await;
    assert_eq!(overlay.expect_close().await, 4401);
    assert!(own.quiet(300).await, "the episode's own overlay stays");
    let ev = events
        .iter()
        .find(|e| e["type"] == "session")
        .expect("moderators get the new links")
        .clone();
    let p3 = api(&server, "GET", "/api/programmes/wongkito", Value::Null)
        .await
        .1;
    assert_ne!(p3["keys"]["overlay"], p2["keys"]["overlay"]);
    assert_eq!(
        ev["session"]["programme"]["links"]["overlay"],
        p3["links"]["overlay"]
    );
    via(&server, "overlay", Some(&key(&p3, "overlay"))).await;
    // The join slide and the QR code of the join code name the programme's page.
    let (st, j) = http_json("GET", &server.http("/api/join/wongkito"), None, None).await;
    assert_eq!(st, 200, "{j}");
    assert_eq!(j["code"], "WONGKITO");
    assert_eq!(j["url"], json!(server.http("/p/wongkito")));
    assert_eq!(j["title"], "Wong Kito November");
    let (st, _, svg) = http("GET", &server.http("/qr/WONGKITO.svg"), None, None).await;
    assert_eq!(st, 200);
    assert!(svg.contains("<svg"));
    let (st, _, _) = http("GET", &server.http("/qr/NOPENOPE.svg"), None, None).await;
    assert_eq!(st, 404);
}

/// The moderator carries last month's approved, unanswered questions into the new episode:
/// the same tracking code, the case with its history, the agency's inbox; the earlier episode
/// marks them and refuses changes; the citizen's contact is erased from both journals.
#[tokio::test]
async fn carried_questions_keep_their_tracking_codes_and_cases() {
    let mut server = TestServer::start();
    let (p, e1, e2) = programme(&server).await;
    let agency_key = server.create_agency("Dinas PUPR", "PUPR").await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut phone = via(&server, "audience", None).await;
    let mut m1 = via(&server, "moderator", Some(&key(&p, "moderator"))).await;
    let mut ids = Vec::new();
    for text in [
        "Jembatan Ampera macet tiap sore",
        "Air PDAM mati di Plaju",
        "Sudah dijawab di udara",
    ] {
        let ok = phone
            .ok(json!({"type":"ask","ref":new_ref(),"text":text,"contact":"081299990000"}))
            .await;
        ids.push(ok["question"]["id"].as_str().unwrap().to_string());
    }
    for q in &ids {
        m1.ok(json!({"type":"approve","question":q})).await;
    }
    m1.ok(json!({"type":"live","question":ids[2]})).await;
    m1.ok(json!({"type":"answered","question":ids[2]})).await;
    m1.ok(json!({"type":"case","question":ids[0],"action":"forward","agency":"pupr","note":"Cek simpang"}))
        .await;
    let (_, t) = http_json(
        "GET",
        &server.http(&format!(
            "/api/track/{}",
            code_of(&server, &e1, &ids[0]).await
        )),
        None,
        None,
    )
    .await;
    assert_eq!(t["case"]["status"], "forwarded");
    // The office opens episode 2; the console there offers two questions.
    let (st, _) = api(
        &server,
        "PATCH",
        "/api/programmes/wongkito",
        json!({"current": e2["session"]["id"]}),
    )
    .await;
    assert_eq!(st, 200);
    let path = format!("/api/sessions/{}/carry", sid(&e2));
    let pkey = key(&p, "moderator");
    let (st, offer) = http_json("GET", &server.http(&path), Some(&pkey), None).await;
    assert_eq!(st, 200, "{offer}");
    assert_eq!(offer["from"]["title"], "Wong Kito November");
    let offered: Vec<&str> = offer["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        offered,
        vec![ids[0].as_str(), ids[1].as_str()],
        "approved, never answered"
    );
    assert_eq!(offer["questions"][0]["case"], "forwarded");
    // Bad carries.
    for (body, what) in [
        (json!({}), "questions"),
        (json!({"questions":[]}), "questions"),
        (json!({"questions":["nope"]}), "questions[0]"),
        (json!({"questions":[ids[0]],"extra":1}), "extra"),
    ] {
        let (st, e) = http_json(
            "POST",
            &server.http(&path),
            Some(&pkey),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(st, 400, "{body}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(what),
            "{e}"
        );
    }
    let (st, _) = http_json("POST", &server.http(&path), Some("wrong"), Some("{}")).await;
    assert_eq!(st, 401);
    let (st, done) = http_json(
        "POST",
        &server.http(&path),
        Some(&pkey),
        Some(&json!({"questions":[ids[0], ids[2]],"by":"Rina"}).to_string()),
    )
    .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["carried"], json!([ids[0]]));
    assert_eq!(done["skipped"][0]["id"], json!(ids[2]));
    // In episode 2: the same id and tracking code, approved, its case and history.
    let m2 = via(&server, "moderator", Some(&pkey)).await;
    let q = &m2.welcome["questions"][0];
    assert_eq!(q["id"], json!(ids[0]));
    assert_eq!(q["status"], "approved");
    assert_eq!(
        q["carried_from"],
        json!({"code": e1["code"], "title": "Wong Kito November"})
    );
    assert_eq!(q["case"]["status"], "forwarded");
    assert_eq!(q["contact"], "081299990000");
    let code = q["tracking"].as_str().unwrap().to_string();
    let (_, t) = http_json(
        "GET",
        &server.http(&format!("/api/track/{code}")),
        None,
        None,
    )
    .await;
    assert_eq!(t["session"]["title"], "Wong Kito Desember", "{t}");
    assert_eq!(t["case"]["history"][0]["action"], "forward", "{t}");
    // Episode 1 marks it and refuses changes to it.
    let mut old = Client::connect(
        &server,
        json!({"type":"hello","role":"moderator","session":sid(&e1),"key":e1["keys"]["moderator"]}),
    )
    .await;
    let q1 = crate::common::questions_by_id(&old.welcome)[&ids[0]].clone();
    assert_eq!(
        q1["carried_to"],
        json!({"code": e2["code"], "title": "Wong Kito Desember"})
    );
    let e = old
        .err(
            json!({"type":"case","question":ids[0],"action":"resolve","answer":"x"}),
            "conflict",
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("carried over"),
        "{e}"
    );
    old.err(json!({"type":"reject","question":ids[0]}), "conflict")
        .await;
    // The agency answers it where it now is; the citizen reads the answer.
    let (st, inbox) = http_json(
        "GET",
        &server.http("/api/agency/pupr/cases"),
        Some(&agency_key),
        None,
    )
    .await;
    assert_eq!(st, 200, "{inbox}");
    assert_eq!(inbox["cases"].as_array().unwrap().len(), 1, "{inbox}");
    let (st, r) = http_json(
        "POST",
        &server.http(&format!("/api/agency/pupr/cases/{}", ids[0])),
        Some(&agency_key),
        Some(&json!({"action":"resolve","answer":"Lampu lalu lintas diatur ulang"}).to_string()),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    let (_, t) = http_json(
        "GET",
        &server.http(&format!("/api/track/{code}")),
        None,
        None,
    )
    .await;
    assert_eq!(t["case"]["status"], "resolved", "{t}");
    // Carrying again changes nothing.
    let (st, again) = http_json(
        "POST",
        &server.http(&path),
        Some(&pkey),
        Some(&json!({"questions":[ids[0]]}).to_string()),
    )
    .await;
    assert_eq!((st, &again["carried"]), (200, &json!([])), "{again}");
    // Erasure reaches both episodes' journals, also after a restart.
    let tomorrow = (chrono::Utc::now() + chrono::Days::new(2))
        .date_naive()
        .to_string();
    let (st, r) = api(&server, "POST", "/api/purge", json!({"before": tomorrow})).await;
    assert_eq!(st, 200, "{r}");
    server.kill9();
    server.restart();
    if crate::common::on_postgres() {
        let n = crate::common::db_text(
            &server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM events WHERE body LIKE ?1",
            &["%081299990000%"],
        )
        .await;
        assert_eq!(
            n.as_deref(),
            Some("0"),
            "no journal row of either episode holds it"
        );
    } else {
        let db = server.db_path();
        let mut found = false;
        for suffix in ["", "-wal"] {
            let mut f = db.clone().into_os_string();
            f.push(suffix);
            let b = std::fs::read(&f).unwrap_or_default();
            found |= b.windows(12).any(|w| w == b"081299990000");
        }
        assert!(
            std::fs::metadata(&db).is_ok() && !found,
            "the contact is gone from the database file of both episodes"
        );
    }
    let old = Client::connect(
        &server,
        json!({"type":"hello","role":"moderator","session":sid(&e1),"key":e1["keys"]["moderator"]}),
    )
    .await;
    for q in old.welcome["questions"].as_array().unwrap() {
        assert!(q["contact"].is_null(), "{q}");
    }
}

async fn code_of(server: &TestServer, e: &Value, q: &str) -> String {
    let m = Client::connect(
        server,
        json!({"type":"hello","role":"moderator","session":sid(e),"key":e["keys"]["moderator"]}),
    )
    .await;
    crate::common::questions_by_id(&m.welcome)[q]["tracking"]
        .as_str()
        .unwrap()
        .to_string()
}
