//! `GET /ws`: the upgrade (Origin check, small buffers, 16 KiB limit), the hello deadline, then
//! one reader loop and one writer task per socket. The socket code never decides a rule.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::AppState;
use super::protocol::{self, ClientMsg, Hello};
use crate::domain::ErrorCode;
use crate::hub::actor::Refusal;
use crate::hub::fanout::Out;

/// The upgrade handler.
pub async fn upgrade(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !app.origin_allowed(origin.to_str().unwrap_or(""), host) {
            return super::api::ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this origin may not open /ws",
            )
            .into_response();
        }
    }
    let Some(guard) = app.conns.try_acquire(app.cfg.limits.max_connections) else {
        return super::api::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "too many connections",
        )
        .into_response();
    };
    let b = &app.cfg.buffers;
    let max = app.cfg.limits.max_message_bytes;
    ws.read_buffer_size(b.read_buffer)
        .write_buffer_size(b.write_buffer)
        .max_write_buffer_size(b.max_write_buffer)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            run(app, socket, peer).await;
            drop(guard);
        })
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }))
}

/// The close code and reason a read error deserves, when the peer can still be told:
/// 1009 for a message over the limit, 1007 for text that is not UTF-8.
fn read_error_close(e: &axum::Error) -> Option<(u16, &'static str)> {
    use std::error::Error as _;
    use tokio_tungstenite::tungstenite::Error as WsError;
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(t) = s.downcast_ref::<WsError>() {
            return match t {
                WsError::Capacity(_) => Some((1009, "message too large")),
                WsError::Utf8(_) => Some((1007, "a text frame must be valid UTF-8")),
                _ => None,
            };
        }
        src = s.source();
    }
    None
}

/// Waits for `hello`: the first frame, within the deadline.
async fn read_hello(app: &AppState, socket: &mut WebSocket) -> Result<Hello, (u16, String)> {
    let deadline = Duration::from_millis(app.cfg.limits.hello_timeout_ms);
    let first = tokio::time::timeout(deadline, async {
        loop {
            match socket.recv().await {
                Some(Ok(Message::Text(t))) => return Ok(t),
                Some(Ok(Message::Binary(_))) => {
                    return Err((4400, "the first frame must be a text `hello`".to_string()));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None => return Err((1000, String::new())),
                Some(Err(e)) => {
                    return Err(match read_error_close(&e) {
                        Some((1007, _)) => {
                            (4400, "the first frame must be a valid UTF-8 `hello`".into())
                        }
                        Some((code, reason)) => (code, reason.into()),
                        None => (1002, String::new()),
                    });
                }
            }
        }
    })
    .await
    .map_err(|_| (4408, "no hello in time".to_string()))??;
    match protocol::parse(&first, None) {
        Ok(ClientMsg::Hello(h)) => Ok(h),
        Ok(ClientMsg::Command { .. }) => Err((4400, "the first frame must be `hello`".into())),
        Err(e) => Err((4400, truncate(&e.message))),
    }
}

/// A close reason fits in a control frame (123 bytes).
fn truncate(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() + c.len_utf8() > 120 {
            break;
        }
        out.push(c);
    }
    out
}

async fn run(app: AppState, mut socket: WebSocket, peer: SocketAddr) {
    let hello = match read_hello(&app, &mut socket).await {
        Ok(h) => h,
        Err((code, reason)) => {
            if code != 1000 && code != 1002 {
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), socket.send(close(code, &reason)))
                        .await;
            }
            return;
        }
    };
    if hello.role.is_device() {
        serve(app, socket, peer, hello).await;
    } else {
        // Staff sockets live on the priority runtime, beside the session actors.
        let _ = crate::hub::priority()
            .spawn(serve(app, socket, peer, hello))
            .await;
    }
}

/// The socket after a valid `hello`: join the session, then read commands and write frames.
async fn serve(app: AppState, mut socket: WebSocket, peer: SocketAddr, hello: Hello) {
    if app.hub.is_shutting_down() {
        let _ = socket.send(close(4503, "hub shutting down")).await;
        return;
    }
    let session = match app.hub.session(&hello.session).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let _ = socket.send(close(4404, "no such session")).await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "session start failed");
            let _ = socket.send(close(4503, "session unavailable")).await;
            return;
        }
    };
    let conn = app.hub.conn_id();
    // Staff sockets are few and see every change: a long queue, so a burst never resyncs them.
    let queue = if hello.role.is_device() {
        app.cfg.limits.socket_queue
    } else {
        app.cfg.limits.staff_socket_queue
    };
    let (tx, rx) = mpsc::channel::<Out>(queue);
    let lagged = Arc::new(AtomicBool::new(false));
    let role = hello.role;
    let joined = session
        .join(
            conn,
            role,
            hello.key,
            hello.device,
            hello.since,
            peer.ip(),
            tx.clone(),
            lagged.clone(),
        )
        .await;
    if let Err(r) = joined {
        let (code, reason) = match r {
            Refusal::BadKey => (4401, "wrong or missing key"),
            Refusal::ShuttingDown => (4503, "hub shutting down"),
        };
        let _ = socket.send(close(code, reason)).await;
        return;
    }
    let gauge = metrics::gauge!("tanya_connections", "role" => role.as_str());
    gauge.increment(1.0);
    tracing::debug!(conn, role = role.as_str(), session = %session.id, "joined");

    let (sink, mut stream) = socket.split();
    let drain = Duration::from_millis(app.cfg.limits.drain_timeout_ms);
    let mut writer = tokio::spawn(write_loop(sink, rx, drain, lagged, session.clone(), conn));
    let limiter = crate::hub::quota::frame_limiter(
        app.cfg.limits.frames_burst,
        app.cfg.limits.frames_per_second,
    );
    let mut shutdown = app.hub.shutdown_signal();
    let reply = |e: protocol::WireError| {
        let _ = tx.try_send(Out::Frame(Utf8Bytes::from(e.to_json().to_string())));
    };
    let mut shutting_down = false;
    let mut writer_done = false;
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            _ = shutdown.changed() => {
                shutting_down = true;
                break;
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => {
                reply(protocol::WireError {
                    client_ref: None,
                    code: ErrorCode::Invalid,
                    message: "binary frames are not accepted: send JSON text".into(),
                });
                continue;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Err(e)) => {
                if let Some((code, reason)) = read_error_close(&e) {
                    let _ = tx.try_send(Out::Close(code, reason));
                }
                break;
            }
        };
        if limiter.check().is_err() {
            let _ = tx.try_send(Out::Close(4429, "flooding: too many frames"));
            break;
        }
        match protocol::parse(&text, Some(role)) {
            Ok(ClientMsg::Command {
                client_ref,
                cmd,
                kind,
            }) => {
                if !session.command(conn, client_ref, cmd, kind).await {
                    break;
                }
            }
            Ok(ClientMsg::Hello(_)) => reply(protocol::WireError {
                client_ref: None,
                code: ErrorCode::Invalid,
                message: "`hello` was already sent on this socket".into(),
            }),
            Err(e) => {
                metrics::counter!("tanya_commands_total", "type" => "unparsed", "outcome" => e.code.as_str()).increment(1);
                reply(e)
            }
        }
    }
    // At shutdown the session answers what is in flight and queues 4503 to every socket it
    // still holds: leaving now would lose that close frame.
    if !shutting_down {
        session.leave(conn).await;
    }
    drop(tx);
    // The writer ends once the actor and this loop have dropped their senders and it has
    // delivered what was queued (a 4503 or 4429 close among it).
    if !writer_done {
        let _ = tokio::time::timeout(drain + Duration::from_secs(1), &mut writer).await;
        writer.abort();
    }
    gauge.decrement(1.0);
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Writes queued frames, several per flush. A batch that does not drain within `drain` drops the
/// socket; a queue that overflowed asks the actor for a resync once it is empty.
async fn write_loop(
    mut sink: Sink,
    mut rx: mpsc::Receiver<Out>,
    drain: Duration,
    lagged: Arc<AtomicBool>,
    session: crate::hub::SessionHandle,
    conn: u64,
) {
    loop {
        // Allocated per batch, so an idle socket holds no batch buffer.
        let mut batch = Vec::new();
        if rx.recv_many(&mut batch, 64).await == 0 {
            let _ = tokio::time::timeout(Duration::from_millis(500), sink.close()).await;
            return;
        }
        let mut closing = None;
        let write = async {
            for out in batch.drain(..) {
                match out {
                    Out::Frame(f) => sink.feed(Message::Text(f)).await?,
                    Out::Close(code, reason) => {
                        closing = Some((code, reason));
                        break;
                    }
                }
            }
            sink.flush().await
        };
        match tokio::time::timeout(drain, write).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                metrics::counter!("tanya_slow_sockets_dropped_total").increment(1);
                tracing::debug!(conn, "socket did not drain in time: dropped");
                let _ = tokio::time::timeout(
                    Duration::from_millis(100),
                    sink.send(close(4429, "too slow to keep up")),
                )
                .await;
                return;
            }
        }
        if let Some((code, reason)) = closing {
            let _ =
                tokio::time::timeout(Duration::from_secs(1), sink.send(close(code, reason))).await;
            return;
        }
        if rx.is_empty() && lagged.load(Ordering::Relaxed) {
            session.resync(conn).await;
        }
    }
}
