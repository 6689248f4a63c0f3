//! `GET /ws`: the upgrade (Origin check, small buffers, 16 KiB limit), the hello deadline, then
//! one task per socket that writes queued frames and reads commands. The socket code never
//! decides a rule.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::protocol::{self, ClientMsg, Hello};
use super::{AppState, ConnGuard};
use crate::domain::{ErrorCode, Role};
use crate::hub::actor::Refusal;
use crate::hub::fanout::{self, Out, OutRx, OutTx};

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
        .on_upgrade(move |socket| run(app, socket, peer, guard))
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

async fn run(app: AppState, mut socket: WebSocket, peer: SocketAddr, guard: ConnGuard) {
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
    let Some(joined) = join(&app, &mut socket, peer, hello).await else {
        return;
    };
    // The socket lives on in a task of its own that holds only `serve`'s state: this upgrade
    // task (the hello and join phase) ends here. Staff sockets run on the priority runtime,
    // beside the session actors, so phone sockets never queue ahead of them.
    let device = joined.role.is_device();
    let task = serve(app, socket, joined, guard);
    if device {
        tokio::spawn(task);
    } else {
        crate::hub::priority().spawn(task);
    }
}

/// A socket that has joined its session.
struct Joined {
    session: crate::hub::SessionHandle,
    conn: u64,
    role: Role,
    /// The socket's own sender, for replies that come from this loop.
    tx: OutTx,
    rx: OutRx,
    lagged: Arc<AtomicBool>,
}

/// The most frames written with one flush.
const BATCH: usize = 64;

/// A joined socket: one loop that writes queued frames (first) and reads commands. One task
/// per socket, and its future is kept small (each write and each wait for a full actor queue
/// are boxed, a frame is handled before anything is awaited): a room of phones is mostly idle
/// sockets.
async fn serve(app: AppState, mut socket: WebSocket, joined: Joined, guard: ConnGuard) {
    let Joined {
        session,
        conn,
        role,
        tx,
        rx,
        lagged,
    } = joined;
    let gauge = metrics::gauge!("tanya_connections", "role" => role.as_str());
    gauge.increment(1.0);
    tracing::debug!(conn, role = role.as_str(), session = %session.id, "joined");

    let drain = Duration::from_millis(app.cfg.limits.drain_timeout_ms);
    let limiter = crate::hub::quota::frame_limiter(
        app.cfg.limits.frames_burst,
        app.cfg.limits.frames_per_second,
    );
    // One receiving stream for the socket's life: it stays registered while the loop reads.
    let mut queued = rx.stream();
    // The loop ends when the peer has gone, a command is refused by a stopped session, or a
    // queued close was written (at shutdown the session answers what is in flight, then queues
    // 4503 to every socket it holds). Its value: whether the peer may still be written to (false
    // once a write failed, timed out or delivered a close).
    let writable = loop {
        let msg = tokio::select! {
            biased;
            first = queued.next() => {
                // Never the end here: this loop holds a sender.
                let Some(first) = first else { break true };
                if !Box::pin(write_batch(&mut socket, first, &rx, drain, conn)).await {
                    break false;
                }
                if rx.is_empty() && lagged.load(Ordering::Relaxed) {
                    session.resync(conn).await;
                }
                continue;
            }
            m = socket.recv() => m,
        };
        match on_frame(msg, role, &limiter, &tx, &session, conn) {
            Step::Next => {}
            Step::Leave => break true,
            Step::Command(sent) => {
                if !sent.await {
                    break true;
                }
            }
        }
    };
    drop(queued);
    // (After a shutdown the session has stopped and this is a no-op.)
    session.leave(conn).await;
    drop(tx);
    if writable {
        Box::pin(finish(socket, rx, drain, conn)).await;
    }
    gauge.decrement(1.0);
    drop(guard);
}

/// Delivers what is still queued for a socket that is leaving (a 4429 or 1009 close among it),
/// once the session has let go of it, within the drain time; then closes it.
async fn finish(mut socket: WebSocket, rx: OutRx, drain: Duration, conn: u64) {
    let last = async {
        while let Ok(first) = rx.recv_async().await {
            if !write_batch(&mut socket, first, &rx, drain, conn).await {
                return;
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), socket.close()).await;
    };
    let _ = tokio::time::timeout(drain + Duration::from_secs(1), last).await;
}

/// What the loop does after a frame from the peer.
enum Step<F> {
    /// Read the next one.
    Next,
    /// Leave: the peer closed, failed or flooded (a close frame is queued when it can be told).
    Leave,
    /// Wait until the session has taken the command (false: the session has stopped).
    Command(F),
}

/// Handles one frame from the peer without awaiting anything, so nothing of it (the text, the
/// parsed message) is held in the socket's long-lived future. Replies go through the socket's
/// own queue, in order with the session's frames.
fn on_frame(
    msg: Option<Result<Message, axum::Error>>,
    role: Role,
    limiter: &governor::DefaultDirectRateLimiter,
    tx: &OutTx,
    session: &crate::hub::SessionHandle,
    conn: u64,
) -> Step<impl Future<Output = bool> + use<>> {
    let reply = |e: protocol::WireError| {
        let _ = tx.try_send(Out::Frame(Utf8Bytes::from(e.to_json().to_string())));
    };
    let text = match msg {
        Some(Ok(Message::Text(t))) => t,
        Some(Ok(Message::Binary(_))) => {
            reply(protocol::WireError {
                client_ref: None,
                code: ErrorCode::Invalid,
                message: "binary frames are not accepted: send JSON text".into(),
            });
            return Step::Next;
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Step::Next,
        Some(Ok(Message::Close(_))) | None => return Step::Leave,
        Some(Err(e)) => {
            if let Some((code, reason)) = read_error_close(&e) {
                let _ = tx.try_send(Out::Close(code, reason));
            }
            return Step::Leave;
        }
    };
    if limiter.check().is_err() {
        let _ = tx.try_send(Out::Close(4429, "flooding: too many frames"));
        return Step::Leave;
    }
    match protocol::parse(&text, Some(role)) {
        Ok(ClientMsg::Command {
            client_ref,
            cmd,
            kind,
        }) => return Step::Command(session.command(conn, client_ref, cmd, kind)),
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
    Step::Next
}

/// Joins the socket to its session; on a refusal tells the peer why (4503, 4404, 4401).
async fn join(
    app: &AppState,
    socket: &mut WebSocket,
    peer: SocketAddr,
    hello: Hello,
) -> Option<Joined> {
    if app.hub.is_shutting_down() {
        let _ = socket.send(close(4503, "hub shutting down")).await;
        return None;
    }
    let session = match app.hub.session(&hello.session).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let _ = socket.send(close(4404, "no such session")).await;
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "session start failed");
            let _ = socket.send(close(4503, "session unavailable")).await;
            return None;
        }
    };
    let conn = app.hub.conn_id();
    // Staff sockets are few and see every change: a long queue, so a burst never resyncs them.
    let queue = if hello.role.is_device() {
        app.cfg.limits.socket_queue
    } else {
        app.cfg.limits.staff_socket_queue
    };
    let (tx, rx) = fanout::queue(queue);
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
        return None;
    }
    Some(Joined {
        session,
        conn,
        role,
        tx,
        rx,
        lagged,
    })
}

/// Writes `first` and what else is queued (up to `BATCH` frames) with one flush; false when the
/// socket is done (a queued close was sent, the write failed, or the batch did not drain within
/// `drain`: then the peer gets 4429 when a close frame can still be delivered).
async fn write_batch(
    socket: &mut WebSocket,
    first: Out,
    rx: &OutRx,
    drain: Duration,
    conn: u64,
) -> bool {
    let mut closing = None;
    let write = async {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(out) = next.take() {
            match out {
                Out::Frame(f) => socket.feed(Message::Text(f)).await?,
                Out::Close(code, reason) => {
                    closing = Some((code, reason));
                    break;
                }
            }
            written += 1;
            if written < BATCH {
                next = rx.try_recv().ok();
            }
        }
        socket.flush().await
    };
    match tokio::time::timeout(drain, write).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return false,
        Err(_) => {
            metrics::counter!("tanya_slow_sockets_dropped_total").increment(1);
            tracing::debug!(conn, "socket did not drain in time: dropped");
            let _ = tokio::time::timeout(
                Duration::from_millis(100),
                socket.send(close(4429, "too slow to keep up")),
            )
            .await;
            return false;
        }
    }
    match closing {
        Some((code, reason)) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(close(code, reason)))
                .await;
            false
        }
        None => true,
    }
}
