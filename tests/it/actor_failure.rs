//! Journey: a session's actor fails (a panic inside it). Its sockets are told 4503 "session
//! restarting", the session leaves the hub's registry, and the next join (or HTTP request)
//! starts it again from its journal: nothing acknowledged is lost and the session goes on. At
//! shutdown every actor, phone lane and socket task is accounted for.
//! The hub runs in this process over real sockets and a real SQLite file, so that the fault
//! can be injected through the library: a query that panics inside the actor.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tanya::hub::{Hub, HubError};
use tokio_tungstenite::tungstenite::Message;

use crate::common;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Frames until the reply with `ref`.
async fn reply(ws: &mut Ws, r: &str) -> Value {
    loop {
        let v = common::next_json(ws).await;
        if (v["type"] == "ok" || v["type"] == "error") && v["ref"] == json!(r) {
            return v;
        }
    }
}

/// Opens a socket and says hello; returns it with its welcome.
async fn join(url: &str, hello: Value) -> (Ws, Value) {
    let mut ws = common::raw(url).await;
    send(&mut ws, hello).await;
    let w = common::next_json(&mut ws).await;
    assert_eq!(w["type"], "welcome", "{w}");
    (ws, w)
}

/// The close frame's code and reason.
async fn close_of(ws: &mut Ws) -> (u16, String) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a close within 10 s")
        {
            Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                return (code.into(), reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return (0, String::new()),
            Some(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_actor_is_started_again_from_its_journal_and_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = tanya::store::open(&format!(
        "sqlite://{}",
        dir.path().join("tanya.db").display()
    ))
    .await
    .unwrap();
    let rec = Hub::create_session(store.as_ref(), "Uji kegagalan sesi", &[], 0)
        .await
        .unwrap();
    let mut server = common::InProcessHub::start(store.clone()).await;
    let (hub, url) = (server.hub.clone(), server.url.clone());
    let moderator_hello =
        json!({"type":"hello","role":"moderator","session":rec.info.id,"key":rec.keys.moderator});

    let (mut phone, w) = join(
        &url,
        json!({"type":"hello","role":"audience","session":rec.info.code}),
    )
    .await;
    let device = w["you"]["device"].as_str().unwrap().to_string();
    let first_epoch = w["epoch"].clone();
    let (mut moderator, _) = join(&url, moderator_hello.clone()).await;
    send(
        &mut phone,
        json!({"type":"ask","ref":"kept","text":"Kapan pasar Cinde selesai dibangun?"}),
    )
    .await;
    let ok = reply(&mut phone, "kept").await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let id = ok["question"]["id"].clone();
    send(
        &mut moderator,
        json!({"type":"approve","ref":"a1","question":id}),
    )
    .await;
    assert_eq!(reply(&mut moderator, "a1").await["type"], "ok");
    assert_eq!(hub.running_sessions(), 1);

    // The fault: the actor panics while it holds the session.
    let session = hub.session(&rec.info.code).await.unwrap().unwrap();
    let r = session
        .query(|_| -> () { panic!("fault injected by the test") })
        .await;
    assert!(matches!(r, Err(HubError::SessionStopped)), "{r:?}");

    // Both sockets are told to come back, with the code clients reconnect on.
    assert_eq!(
        close_of(&mut phone).await,
        (4503, "session restarting".to_string())
    );
    assert_eq!(
        close_of(&mut moderator).await,
        (4503, "session restarting".to_string())
    );
    // The session left the registry, and its old handle says so.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while hub.running_sessions() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the failed actor left the registry"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!session.command(0, None, approve_nothing(), None).await);

    // The next join starts the session again from its journal: a new epoch, the approved
    // question still approved, the phone's device still its author.
    let (mut phone, w) = join(
        &url,
        json!({"type":"hello","role":"audience","session":rec.info.code,"device":device}),
    )
    .await;
    assert_ne!(w["epoch"], first_epoch, "a new epoch after the restart");
    let qs = w["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 1, "{w}");
    assert_eq!(qs[0]["id"], id);
    assert_eq!(qs[0]["status"], "approved");
    assert_eq!(
        qs[0]["edited"], false,
        "the author view: the device is still its author"
    );
    let (mut moderator, _) = join(&url, moderator_hello).await;
    // And it goes on: a retried ask is the same question, a new one is stored.
    send(
        &mut phone,
        json!({"type":"ask","ref":"kept","text":"Kapan pasar Cinde selesai dibangun?"}),
    )
    .await;
    assert_eq!(reply(&mut phone, "kept").await["question"]["id"], id);
    send(
        &mut phone,
        json!({"type":"ask","ref":"new","text":"Bagaimana dengan parkirnya?"}),
    )
    .await;
    let ok = reply(&mut phone, "new").await;
    assert_eq!(ok["type"], "ok", "{ok}");
    send(
        &mut moderator,
        json!({"type":"live","ref":"l1","question":id}),
    )
    .await;
    assert_eq!(reply(&mut moderator, "l1").await["type"], "ok");
    assert_eq!(hub.running_sessions(), 1);

    // Shutdown: every actor, phone lane and socket task has ended when the server returns.
    server.stop();
    assert_eq!(close_of(&mut phone).await.0, 4503);
    assert_eq!(close_of(&mut moderator).await.0, 4503);
    server
        .stopped()
        .await
        .expect("the server stops in time")
        .unwrap();
    assert_eq!(hub.tasks().running(), (0, 0), "no task left behind");
    assert_eq!(hub.running_sessions(), 0);
    // And the journal holds what was acknowledged.
    // (Presence is journaled beside the commands: the report's peaks.)
    let events: Vec<_> = store
        .load_events(rec.info.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !matches!(e, tanya::domain::Event::Presence { .. }))
        .collect();
    assert_eq!(events.len(), 4, "ask, approve, ask, live: {events:?}");
}

/// A command for a stopped session's handle (it is never decided).
fn approve_nothing() -> tanya::domain::Command {
    tanya::domain::Command::Approve {
        question: uuid::Uuid::nil(),
        rev: None,
    }
}
