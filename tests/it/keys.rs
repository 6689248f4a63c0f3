//! Key rotation: a moderator (over its socket) or the admin (over HTTP) gives a role a new key.
//! The old key stops working at once, for sockets and HTTP alike; the sockets that joined with
//! it are closed with 4401; moderators get the new links; the new key is stored.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::common::*;

/// The close code and reason the socket gets next (skipping other frames), within 5 s.
async fn close_of(c: &mut Client) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), c.ws.next())
            .await
            .expect("a close within 5 s")
        {
            Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                return (code.into(), reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => return (0, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before a close: {e}"),
        }
    }
}

/// The close code a `hello` gets (0: it was welcomed).
async fn hello_answer(server: &TestServer, hello: Value) -> u16 {
    let mut ws = raw(&server.ws_url()).await;
    ws.send(Message::text(hello.to_string())).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => {
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(v["type"], "welcome", "{v}");
            0
        }
        Ok(Some(Ok(Message::Close(Some(f))))) => f.code.into(),
        other => panic!("no answer to hello: {other:?}"),
    }
}

/// The key in a link's fragment (`#k=` or `#p=`).
fn key_of(link: &Value) -> String {
    let l = link.as_str().unwrap();
    l.split_once('#').unwrap().1[2..].to_string()
}

/// The `session` event moderators get after a rotation.
async fn session_event(m: &mut Client) -> Value {
    m.until("session").await.0
}

/// `rotate_key` from a moderator: the new links of the `session` event that came before `ok`.
async fn rotate(m: &mut Client, role: &str) -> Value {
    let (_, before) = act_ok(m, json!({"type":"rotate_key","role":role})).await;
    let ev: Vec<&Value> = before.iter().filter(|f| f["type"] == "session").collect();
    assert_eq!(ev.len(), 1, "one session event before ok: {before:?}");
    ev[0]["session"]["links"].clone()
}

#[tokio::test]
async fn a_moderator_rotates_each_role_and_the_old_key_stops_at_once() {
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut other_m = Client::moderator(&server, &s).await;
    let mut screen = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    let mut overlay = Client::connect(&server, keyed_hello("overlay", &s, &s.overlay)).await;
    let mut press = Client::connect(
        &server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
    )
    .await;
    let mut phone = Client::audience(&server, &s).await;

    // The screen: closed 4401 with a reason, the old key refused, the new key welcomed.
    let links = &rotate(&mut m, "screen").await;
    let (code, reason) = close_of(&mut screen).await;
    assert_eq!(code, 4401);
    assert!(reason.contains("changed"), "{reason}");
    let new_screen = key_of(&links["screen"]);
    assert_ne!(new_screen, s.screen);
    assert_eq!(key_of(&links["overlay"]), s.overlay, "other keys stay");
    assert_eq!(key_of(&links["moderator"]), s.moderator);
    assert_eq!(
        session_event(&mut other_m).await["session"]["links"],
        *links
    );
    assert_eq!(
        hello_answer(&server, keyed_hello("screen", &s, &s.screen)).await,
        4401
    );
    assert_eq!(
        hello_answer(&server, keyed_hello("screen", &s, &new_screen)).await,
        0
    );

    // The overlay: its socket and live.json.
    let new_overlay = key_of(&rotate(&mut m, "overlay").await["overlay"]);
    assert_eq!(close_of(&mut overlay).await.0, 4401);
    let live = |k: &str| format!("/api/sessions/{}/live.json?k={k}", s.id);
    assert_eq!(
        http("GET", &server.http(&live(&s.overlay)), None, None)
            .await
            .0,
        401
    );
    assert_eq!(
        http("GET", &server.http(&live(&new_overlay)), None, None)
            .await
            .0,
        200
    );

    // The press code: journalists' sockets closed; the audience is not touched.
    let new_press = key_of(&rotate(&mut m, "press").await["press"]);
    assert_eq!(close_of(&mut press).await.0, 4401);
    let press_hello = |k: &str| json!({"type":"hello","role":"press","session":s.code,"key":k});
    assert_eq!(hello_answer(&server, press_hello(&s.press)).await, 4401);
    assert_eq!(hello_answer(&server, press_hello(&new_press)).await, 0);
    phone
        .ask("Masih tersambung setelah kunci pers diganti")
        .await;

    // The moderator key: the console that asked keeps its socket; the other one is closed.
    let new_mod = key_of(&rotate(&mut m, "moderator").await["moderator"]);
    assert_eq!(close_of(&mut other_m).await.0, 4401);
    enter_approved(&mut m, "room", "Masih bisa memoderasi").await;
    assert_eq!(
        hello_answer(&server, keyed_hello("moderator", &s, &s.moderator)).await,
        4401
    );
    let export = format!("/api/sessions/{}/export", s.id);
    assert_eq!(
        http("GET", &server.http(&export), Some(&s.moderator), None)
            .await
            .0,
        401
    );
    assert_eq!(
        http("GET", &server.http(&export), Some(&new_mod), None)
            .await
            .0,
        200
    );

    // Nobody but moderators ever saw a new key.
    marker(&mut m, "keys").await;
    for c in [&mut phone] {
        for f in until_marker(c, "keys").await {
            for k in [&new_screen, &new_overlay, &new_press, &new_mod] {
                assert!(
                    !f.to_string().contains(k.as_str()),
                    "a phone saw a key: {f}"
                );
            }
        }
    }

    // Stored: after kill -9 the new keys hold and the old ones do not.
    server.kill9();
    server.restart();
    for (role, old, new) in [
        ("moderator", &s.moderator, &new_mod),
        ("screen", &s.screen, &new_screen),
        ("overlay", &s.overlay, &new_overlay),
    ] {
        assert_eq!(
            hello_answer(&server, keyed_hello(role, &s, old)).await,
            4401,
            "{role}"
        );
        assert_eq!(
            hello_answer(&server, keyed_hello(role, &s, new)).await,
            0,
            "{role}"
        );
    }
    assert_eq!(hello_answer(&server, press_hello(&new_press)).await, 0);
}

#[tokio::test]
async fn the_admin_rotates_a_key_over_http_and_bad_requests_say_why() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut screen = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    let path = |role: &str| format!("/api/sessions/{}/keys/{role}", s.id);

    let (status, headers, body) =
        http("POST", &server.http(&path("screen")), Some(ADMIN), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("cache-control") && v == "no-store"),
        "{headers:?}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    let new_screen = v["keys"]["screen"].as_str().unwrap().to_string();
    assert_ne!(new_screen, s.screen);
    assert_eq!(v["keys"]["moderator"], s.moderator.as_str());
    assert_eq!(key_of(&v["links"]["screen"]), new_screen);
    assert_eq!(close_of(&mut screen).await.0, 4401);
    let ev = session_event(&mut m).await;
    assert_eq!(key_of(&ev["session"]["links"]["screen"]), new_screen);
    // The session list shows it too.
    let (_, _, list) = http("GET", &server.http("/api/sessions"), Some(ADMIN), None).await;
    assert!(list.contains(&new_screen) && !list.contains(&s.screen));

    for (role, token, want) in [
        ("audience", Some(ADMIN), 400),
        ("admin", Some(ADMIN), 400),
        ("screen", None, 401),
        ("screen", Some("wrong-token-0123456789abcdef"), 401),
        // A moderator key is not the admin token.
        ("screen", Some(s.moderator.as_str()), 401),
    ] {
        let (status, _, body) = http("POST", &server.http(&path(role)), token, None).await;
        assert_eq!(status, want, "{role} {token:?}: {body}");
        let e: Value = serde_json::from_str(&body).unwrap();
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let unknown = format!("/api/sessions/{}/keys/screen", uuid::Uuid::new_v4());
    assert_eq!(
        http("POST", &server.http(&unknown), Some(ADMIN), None)
            .await
            .0,
        404
    );
    let get = http("GET", &server.http(&path("screen")), Some(ADMIN), None)
        .await
        .0;
    assert_eq!(get, 405, "rotation is a POST");
}
