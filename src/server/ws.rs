//! `GET /ws`: the upgrade (Origin check, small buffers, 16 KiB limit), the hello deadline, then
//! one task per socket that writes queued frames and reads commands. The socket code never
//! decides a rule.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::protocol::{self, ClientMsg, Hello, WireError};
use super::{AppState, ConnGuard};
use crate::domain::{ErrorCode, Role};
use crate::hub::fanout::{self, Close, Out, OutRx, OutTx};
use crate::hub::join::Refusal;
use crate::hub::{JoinRequest, SessionHandle};
use uuid::Uuid;

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
    // Phones are counted against `max_connections` once they say who they are (`hello`);
    // sockets as such may go `staff_connections` beyond it, so moderators, screens and
    // overlays with a valid key always get in.
    let all = app.cfg.limits.max_connections + app.cfg.limits.staff_connections;
    let Some(guard) = app.conns.try_acquire(all) else {
        return super::api::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "too many connections",
        )
        .into_response();
    };
    // The client's own address (through a trusted proxy, the one it names): per-address quotas.
    let client = super::client::client_ip(&app.cfg, peer.ip(), &headers);
    let b = &app.cfg.buffers;
    let max = app.cfg.limits.max_message_bytes;
    ws.read_buffer_size(b.read_buffer)
        .write_buffer_size(b.write_buffer)
        .max_write_buffer_size(b.max_write_buffer)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| run(app, socket, client, guard))
}

/// The close frame of a [`Close`].
fn close(why: &Close) -> Message {
    Message::Close(Some(CloseFrame {
        code: why.code(),
        reason: Utf8Bytes::from(why.reason()),
    }))
}

/// Tells the peer why the socket closes, waiting at most `wait` (it may not be reading).
async fn send_close(socket: &mut WebSocket, why: &Close, wait: Duration) {
    let _ = tokio::time::timeout(wait, socket.send(close(why))).await;
}

/// The close a read error deserves, when the peer can still be told: 1009 for a message over
/// the limit, 1007 for text that is not UTF-8.
fn read_error_close(e: &axum::Error) -> Option<Close> {
    use std::error::Error as _;
    use tokio_tungstenite::tungstenite::Error as WsError;
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(t) = s.downcast_ref::<WsError>() {
            return match t {
                WsError::Capacity(_) => Some(Close::TooLarge),
                WsError::Utf8(_) => Some(Close::InvalidUtf8),
                _ => None,
            };
        }
        src = s.source();
    }
    None
}

/// Why no `hello` was taken.
enum NoHello {
    /// The peer went away or broke the protocol: nothing to tell it.
    Gone,
    /// Tell the peer, then close.
    Close(Close),
}

/// Waits for `hello`: the first frame, within the deadline.
async fn read_hello(app: &AppState, socket: &mut WebSocket) -> Result<Hello, NoHello> {
    let deadline = Duration::from_millis(app.cfg.limits.hello_timeout_ms);
    let bad = |reason: &str| NoHello::Close(Close::BadHello(reason.to_string()));
    let first = tokio::time::timeout(deadline, async {
        loop {
            match socket.recv().await {
                Some(Ok(Message::Text(t))) => return Ok(t),
                Some(Ok(Message::Binary(_))) => {
                    return Err(bad("the first frame must be a text `hello`"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None => return Err(NoHello::Gone),
                Some(Err(e)) => {
                    return Err(match read_error_close(&e) {
                        Some(Close::InvalidUtf8) => {
                            bad("the first frame must be a valid UTF-8 `hello`")
                        }
                        Some(why) => NoHello::Close(why),
                        None => NoHello::Gone,
                    });
                }
            }
        }
    })
    .await
    .map_err(|_| NoHello::Close(Close::HelloTimeout))??;
    match protocol::parse(&first, None) {
        Ok(ClientMsg::Hello(h)) => Ok(h),
        Ok(ClientMsg::Command { .. }) => Err(bad("the first frame must be `hello`")),
        Err(e) => Err(bad(&truncate(&e.message))),
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

async fn run(app: AppState, mut socket: WebSocket, client: IpAddr, guard: ConnGuard) {
    let hello = match read_hello(&app, &mut socket).await {
        Ok(h) => h,
        Err(NoHello::Gone) => return,
        Err(NoHello::Close(why)) => {
            send_close(&mut socket, &why, Duration::from_secs(1)).await;
            return;
        }
    };
    let phone = if hello.role.is_device() {
        match app.phones.try_acquire(app.cfg.limits.max_connections) {
            Some(g) => Some(g),
            None => {
                metrics::counter!("tanya_connections_refused_total", "why" => "max_connections")
                    .increment(1);
                send_close(&mut socket, &Close::Full, Duration::from_secs(1)).await;
                return;
            }
        }
    } else {
        None
    };
    let joined = match join(&app, client, hello).await {
        Ok(j) => j,
        Err(why) => {
            let _ = socket.send(close(&why)).await;
            return;
        }
    };
    // The socket lives on in a task of its own that holds only `serve`'s state: this upgrade
    // task (the hello and join phase) ends here. Where it runs is the hub's choice (staff
    // sockets beside the session actors, so phone sockets never queue ahead of them).
    let role = joined.role;
    let hub = app.hub.clone();
    hub.tasks()
        .spawn_socket(role, serve(app, socket, joined, (guard, phone)));
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
async fn serve(
    app: AppState,
    mut socket: WebSocket,
    joined: Joined,
    guard: (ConnGuard, Option<ConnGuard>),
) {
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
    // Liveness: a socket silent for `ping_interval` is pinged; silent as long again, dropped.
    // The timer is re-armed only when it fires (frames just note the time), boxed to keep the
    // socket's future small.
    let ping_interval = Duration::from_millis(app.cfg.limits.ping_interval_ms);
    let mut heard = tokio::time::Instant::now();
    // When the last ping went out, while it is unanswered.
    let mut pinged_at: Option<tokio::time::Instant> = None;
    let mut alive_check = Box::pin(tokio::time::sleep(ping_interval));
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
            () = &mut alive_check => {
                let now = tokio::time::Instant::now();
                if pinged_at.is_some_and(|p| heard < p) {
                    metrics::counter!("tanya_silent_sockets_dropped_total").increment(1);
                    tracing::debug!(conn, "no answer to a ping: dropped");
                    break false;
                }
                if now.duration_since(heard) < ping_interval {
                    pinged_at = None;
                    alive_check.as_mut().reset(heard + ping_interval);
                    continue;
                }
                pinged_at = Some(now);
                alive_check.as_mut().reset(now + ping_interval);
                let ping = socket.send(Message::Ping(axum::body::Bytes::new()));
                match tokio::time::timeout(drain, ping).await {
                    Ok(Ok(())) => continue,
                    _ => break false,
                }
            }
            m = socket.recv() => m,
        };
        heard = tokio::time::Instant::now();
        match on_frame(msg, role, &limiter, &tx, &session, conn) {
            Step::Next => {}
            Step::Leave => break true,
            Step::Command(sent) => {
                if !sent.await {
                    // The session has stopped: shutting down (its 4503 is queued already), or
                    // its actor failed: the client reconnects and the session starts again.
                    if !app.hub.is_shutting_down() {
                        let _ = tx.try_send(Out::Close(Close::Restarting));
                    }
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
    let reply = |e: WireError| {
        let _ = tx.try_send(Out::Frame(e.frame()));
    };
    let msg = match msg {
        Some(Ok(
            m @ (Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_)),
        )) => m,
        Some(Ok(Message::Close(_))) | None => return Step::Leave,
        Some(Err(e)) => {
            if let Some(why) = read_error_close(&e) {
                let _ = tx.try_send(Out::Close(why));
            }
            return Step::Leave;
        }
    };
    // Every frame from the peer counts toward the flood limit: text, binary, ping and pong.
    if limiter.check().is_err() {
        let _ = tx.try_send(Out::Close(Close::Flooding));
        return Step::Leave;
    }
    let text = match msg {
        Message::Text(t) => t,
        Message::Binary(_) => {
            reply(WireError::new(
                None,
                ErrorCode::Invalid,
                "binary frames are not accepted: send JSON text",
            ));
            return Step::Next;
        }
        _ => return Step::Next,
    };
    match protocol::parse(&text, Some(role)) {
        Ok(ClientMsg::Command { client_ref, cmd }) => {
            let raw = session.relayed.then(|| text.clone());
            return Step::Command(session.command(conn, client_ref, cmd, raw));
        }
        Ok(ClientMsg::Hello(_)) => reply(WireError::new(
            None,
            ErrorCode::Invalid,
            "`hello` was already sent on this socket",
        )),
        Err(e) => {
            metrics::counter!("tanya_commands_total", "type" => "unparsed", "outcome" => e.code.as_str()).increment(1);
            reply(e)
        }
    }
    Step::Next
}

/// Joins the socket to its session, or says why not (4503, 4404, 4401).
async fn join(app: &AppState, client: IpAddr, hello: Hello) -> Result<Joined, Close> {
    if app.hub.is_shutting_down() {
        return Err(Close::ShuttingDown);
    }
    let (session, via) = target(app, &hello).await?;
    match join_session(app, client, &hello, session, via).await {
        // The session stopped as this socket joined (idle, or its actor failed), or the
        // programme moved to another episode meanwhile: once more, which starts it again
        // from its journal or finds the new episode.
        Err(Refusal::Stopped | Refusal::EpisodeChanged) if !app.hub.is_shutting_down() => {
            let (session, via) = target(app, &hello).await?;
            join_session(app, client, &hello, session, via).await
        }
        r => r,
    }
    .map_err(|r| match r {
        Refusal::EpisodeChanged => Close::EpisodeChanged,
        Refusal::BadKey => Close::BadKey,
        Refusal::TooManyDevices(_) => {
            metrics::counter!("tanya_connections_refused_total", "why" => "new_devices")
                .increment(1);
            Close::TooManyDevices
        }
        Refusal::Stopped if app.hub.is_shutting_down() => Close::ShuttingDown,
        Refusal::Stopped => Close::Restarting,
    })
}

/// The session `hello` names: by `session`, or the current episode of its `programme` (with
/// the programme's id, whose keys the socket is checked against).
async fn target(app: &AppState, hello: &Hello) -> Result<(SessionHandle, Option<Uuid>), Close> {
    let Some(name) = &hello.programme else {
        return Ok((running_session(app, &hello.session).await?, None));
    };
    match app.hub.programme_session(name).await {
        Ok(Some((p, s))) => Ok((s, Some(p.id))),
        Ok(None) => Err(Close::NoEpisode),
        Err(crate::hub::HubError::NotFound(_)) => Err(Close::NoProgramme),
        Err(crate::hub::HubError::ShuttingDown) => Err(Close::ShuttingDown),
        Err(crate::hub::HubError::Elsewhere(_)) => Err(Close::Elsewhere),
        Err(e) => {
            tracing::warn!(error = %e, "session start failed");
            Err(Close::Unavailable)
        }
    }
}

/// The running actor of the session `hello` names (started when needed).
async fn running_session(app: &AppState, id_or_code: &str) -> Result<SessionHandle, Close> {
    match app.hub.session(id_or_code).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Close::NoSession),
        Err(crate::hub::HubError::ShuttingDown) => Err(Close::ShuttingDown),
        Err(crate::hub::HubError::Elsewhere(_)) => Err(Close::Elsewhere),
        Err(e) => {
            tracing::warn!(error = %e, "session start failed");
            Err(Close::Unavailable)
        }
    }
}

/// One attempt to join a running session.
async fn join_session(
    app: &AppState,
    client: IpAddr,
    hello: &Hello,
    session: SessionHandle,
    via: Option<Uuid>,
) -> Result<Joined, Refusal> {
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
    let req = JoinRequest {
        conn,
        role,
        key: hello.key.clone(),
        device: hello.device.clone(),
        since: hello.since.clone(),
        addr: client,
        tx: tx.clone(),
        remote: None,
        lagged: lagged.clone(),
        name: hello.name.clone(),
        via,
    };
    session.join(req).await?;
    tracing::debug!(conn, role = role.as_str(), addr = %client, "client address");
    Ok(Joined {
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
                Out::Close(why) => {
                    closing = Some(why);
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
            send_close(socket, &Close::TooSlow, Duration::from_millis(100)).await;
            return false;
        }
    }
    match closing {
        Some(why) => {
            send_close(socket, &why, Duration::from_secs(1)).await;
            false
        }
        None => true,
    }
}
