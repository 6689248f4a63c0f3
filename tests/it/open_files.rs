//! Connections that cannot be hoarded. One client must not lock everyone out by holding
//! sockets: the hub raises its soft limit of open files at start and says so; a connection that
//! sends no request (or only part of one) is closed after `limits.header_timeout_ms`; one
//! address holds at most `limits.unsent_per_address` connections that have not sent a request,
//! and more are closed at once; meanwhile `/healthz` answers and the moderator joins.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::*;

/// A TCP connection to the hub from the loopback address `from` (all of 127/8 is loopback).
async fn connect_from(server: &TestServer, from: Ipv4Addr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    sock.connect(server.addr.parse().unwrap()).await.unwrap()
}

/// Whether the hub has closed `s` (EOF or reset) within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut b = [0u8; 256];
    loop {
        match tokio::time::timeout(wait, s.read(&mut b)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_low_soft_limit_of_open_files_is_raised_at_start() {
    let _load = loads_the_machine().await;
    let server = TestServer::start_with_open_files(256);
    let lines = server.stderr.lock().unwrap().clone();
    let hard = rlimit_hard();
    let want = format!("open files: soft limit raised from 256 to {hard}");
    assert!(
        lines.iter().any(|l| l == &want),
        "a line {want:?} in {lines:?}"
    );
    let s = server.demo_session().await;
    // More silent connections than the soft limit it was started with, from 8 addresses.
    let mut silent = Vec::new();
    for i in 0..400u32 {
        let from = Ipv4Addr::new(127, 0, 1, 1 + (i % 8) as u8);
        silent.push(connect_from(&server, from).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (st, _, body) = http("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200, "{body}");
    let m = Client::moderator(&server, &s).await;
    assert_eq!(m.welcome["type"], "welcome");
    for c in &mut silent {
        assert!(
            !closed_within(c, Duration::from_millis(1)).await,
            "still held"
        );
    }
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_and_one_address_cannot_hoard() {
    let _load = loads_the_machine().await;
    let server = TestServer::start_with_config(
        "[limits]\nheader_timeout_ms = 1000\nunsent_per_address = 50\n",
        &[],
    );
    let s = server.demo_session().await;
    let attacker = Ipv4Addr::new(127, 0, 2, 7);
    // A silent connection and a half-sent request are closed after the header timeout.
    let t = Instant::now();
    let mut silent = connect_from(&server, attacker).await;
    let mut half = connect_from(&server, attacker).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    assert!(closed_within(&mut half, Duration::from_secs(5)).await);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "closed after the 1 s header timeout: {took:?}"
    );
    // A kept-alive connection that goes quiet after a request is closed too.
    let mut idle = connect_from(&server, attacker).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut b = [0u8; 64];
    let n = idle.read(&mut b).await.unwrap();
    assert!(b[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &b[..n]);
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await);

    // One address holds at most 50 connections that sent nothing; the 51st is closed at once.
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(connect_from(&server, attacker).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = connect_from(&server, attacker).await;
    assert!(
        closed_within(&mut extra, Duration::from_millis(500)).await,
        "the 51st silent connection of one address is closed at once"
    );
    // Everyone else is served meanwhile: health, a moderator, a phone.
    let (st, _, body) = http("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200, "{body}");
    let m = Client::moderator(&server, &s).await;
    assert_eq!(m.welcome["type"], "welcome");
    let mut a = Client::audience(&server, &s).await;
    a.ask("Masih bisa bertanya?").await;
    // Once they time out, the address may connect again.
    for c in &mut held {
        assert!(closed_within(c, Duration::from_secs(5)).await);
    }
    let mut again = connect_from(&server, attacker).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    again.read_to_end(&mut out).await.unwrap();
    assert!(out.starts_with(b"HTTP/1.1 200"));
}

/// The hard limit of open files of this process (the hub inherits it).
fn rlimit_hard() -> u64 {
    let out = std::process::Command::new("prlimit")
        .args(["--nofile", "--output=HARD", "--noheadings"])
        .output()
        .expect("prlimit");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// When `max_connections` phones are connected, a further phone is told 4503 after its hello;
/// moderator, screen and overlay still get in, and a phone gets in again once one has left.
#[tokio::test]
async fn staff_are_never_refused_for_capacity() {
    let server = TestServer::start_with_config("[limits]\nmax_connections = 3\n", &[]);
    let s = server.demo_session().await;
    let mut phones = Vec::new();
    for _ in 0..3 {
        phones.push(Client::audience(&server, &s).await);
    }
    let mut ws = raw(&server.ws_url()).await;
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        serde_json::json!({"type":"hello","role":"press","session":s.code,"key":s.press})
            .to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(expect_close(&mut ws).await, 4503, "a fourth phone");
    let m = Client::moderator(&server, &s).await;
    assert_eq!(m.welcome["type"], "welcome");
    let sc = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    assert_eq!(sc.welcome["type"], "welcome");
    let ov = Client::connect(&server, keyed_hello("overlay", &s, &s.overlay)).await;
    assert_eq!(ov.welcome["type"], "welcome");
    drop(phones.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut ws = raw(&server.ws_url()).await;
        ws.send(tokio_tungstenite::tungstenite::Message::text(
            serde_json::json!({"type":"hello","role":"audience","session":s.code}).to_string(),
        ))
        .await
        .unwrap();
        if next_frame_or_close(&mut ws).await {
            break;
        }
        assert!(Instant::now() < deadline, "a phone gets in once one left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// True for a welcome, false for a close.
async fn next_frame_or_close(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> bool {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return t.contains("\"welcome\""),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => {
                return false;
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}
