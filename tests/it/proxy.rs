//! Behind a reverse proxy: only from `trusted_proxies` is `X-Forwarded-For` / `Forwarded`
//! believed, for per-address quotas; `/metrics` is never readable through a proxy by accident,
//! and reads with `TANYA_METRICS_TOKEN` from anywhere.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::*;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A phone that says it comes through a proxy for `client`.
async fn phone_for(server: &TestServer, code: &str, client: &str) -> Ws {
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("X-Forwarded-For", client.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text(
        json!({"type":"hello","role":"audience","session":code}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "welcome" {
                return ws;
            }
        }
    }
}

/// The reply code of one ask from `ws` ("ok" or the error code).
async fn ask(ws: &mut Ws, text: &str) -> String {
    ws.send(Message::text(
        json!({"type":"ask","ref":"a","text":text}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let v: Value = serde_json::from_str(&t).unwrap();
            match v["type"].as_str() {
                Some("ok") => return "ok".into(),
                Some("error") => return v["code"].as_str().unwrap().into(),
                _ => continue,
            }
        }
    }
}

/// With one ask a minute per device and 100 per address: 100 fresh devices from one client
/// address fill its quota and the 101st is refused, while another client behind the same proxy
/// is not affected. Without the proxy trusted, the header is ignored: every phone is the proxy.
#[tokio::test]
async fn per_address_quotas_use_the_address_a_trusted_proxy_names() {
    let _load = loads_the_machine().await;
    let env = [
        ("TANYA_ASKS_PER_MINUTE", "1"),
        ("TANYA_TRUSTED_PROXIES", "127.0.0.0/8"),
    ];
    let server = TestServer::start_with(&env);
    let s = server.demo_session().await;
    for i in 0..100 {
        let mut p = phone_for(&server, &s.code, "203.0.113.9").await;
        assert_eq!(ask(&mut p, &format!("Pertanyaan {i}")).await, "ok", "#{i}");
    }
    let mut p = phone_for(&server, &s.code, "203.0.113.9").await;
    assert_eq!(ask(&mut p, "Satu lagi").await, "rate_limited");
    let mut other = phone_for(&server, &s.code, "198.51.100.20").await;
    assert_eq!(ask(&mut other, "Dari alamat lain").await, "ok");
    // A client cannot pick its address: the proxy appends what it sees, and that is believed.
    let mut forged = phone_for(&server, &s.code, "198.51.100.77, 203.0.113.9").await;
    assert_eq!(
        ask(&mut forged, "Alamat palsu di depan").await,
        "rate_limited"
    );

    // Not trusted: the header means nothing, all phones share the peer's address.
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "1")]);
    let s = server.demo_session().await;
    for i in 0..100 {
        let mut p = phone_for(&server, &s.code, &format!("203.0.113.{i}")).await;
        assert_eq!(ask(&mut p, &format!("Pertanyaan {i}")).await, "ok", "#{i}");
    }
    let mut p = phone_for(&server, &s.code, "192.0.2.1").await;
    assert_eq!(ask(&mut p, "Satu lagi").await, "rate_limited");
}

/// `/metrics`: loopback directly; never through a proxy (a request with forwarding headers is
/// not "loopback" because its proxy is); from anywhere with the metrics token.
#[tokio::test]
async fn metrics_are_not_published_through_a_proxy() {
    let token = "metrics-token-0123456789abcdef";
    let server = TestServer::start_with(&[
        ("TANYA_METRICS_TOKEN", token),
        ("TANYA_TRUSTED_PROXIES", "127.0.0.1"),
        ("TANYA_METRICS_ALLOW", "192.0.2.50"),
    ]);
    let get = |extra: String| metrics_status(server.addr.clone(), extra);
    assert_eq!(get("".to_string()).await, 200, "loopback, directly");
    assert_eq!(
        get("X-Forwarded-For: 203.0.113.9\r\n".to_string()).await,
        403,
        "a public client through the proxy"
    );
    assert_eq!(
        get("X-Forwarded-For: 127.0.0.1\r\n".to_string()).await,
        403,
        "loopback, but through the proxy"
    );
    assert_eq!(
        get("Forwarded: for=192.0.2.50\r\n".to_string()).await,
        200,
        "an allowed address through the proxy"
    );
    let bearer = format!("X-Forwarded-For: 203.0.113.9\r\nAuthorization: Bearer {token}\r\n");
    assert_eq!(get(bearer).await, 200, "the token, from anywhere");
    assert_eq!(
        get(
            "X-Forwarded-For: 203.0.113.9\r\nAuthorization: Bearer wrong-token-0123456789abc\r\n"
                .to_string()
        )
        .await,
        403
    );
}

/// The status of `GET /metrics` with extra header lines.
async fn metrics_status(addr: String, extra: String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let head = String::from_utf8_lossy(&out).to_string();
    head.split(' ').nth(1).unwrap().parse::<u16>().unwrap()
}
