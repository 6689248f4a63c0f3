//! HTTP requests about a session another node of the cluster runs (docs/cluster.md): answered
//! by that node, through the bus, so that any node behind the balancer answers any request.
//!
//! A request whose handler finds the session served elsewhere (`HubError::Elsewhere`) is sent
//! as it came (method, path and query, headers, body, the peer's address) to the owner on
//! `tanya.http.{owner}`; the owner runs it through its own router, once, and its answer is
//! returned as it is. A request that was forwarded once is never forwarded again.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use uuid::Uuid;

use super::AppState;
use super::api::ApiError;

/// Marks a request forwarded by another node.
const FORWARDED: &str = "x-tanya-forwarded";

/// How long a node waits for the owner's answer.
const WAIT: Duration = Duration::from_secs(10);

/// Set on an error answer when the session is served by another node: which session.
#[derive(Debug, Clone, Copy)]
pub struct ServedElsewhere(pub Uuid);

#[derive(Serialize, Deserialize)]
struct Head {
    /// Method.
    m: String,
    /// Path and query.
    u: String,
    /// Headers, or the status of an answer.
    h: Vec<(String, String)>,
    #[serde(default)]
    s: u16,
    /// The peer's address.
    #[serde(default)]
    p: Option<SocketAddr>,
}

fn pack(head: &Head, body: &[u8]) -> Bytes {
    let mut out = serde_json::to_vec(head).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// An answer: its status, headers and body.
fn pack_answer(status: StatusCode, h: &HeaderMap, body: &[u8]) -> Bytes {
    let head = Head {
        m: String::new(),
        u: String::new(),
        h: headers(h),
        s: status.as_u16(),
        p: None,
    };
    pack(&head, body)
}

fn unpack(msg: &[u8]) -> Option<(Head, Bytes)> {
    let cut = msg.iter().position(|b| *b == b'\n')?;
    let head: Head = serde_json::from_slice(&msg[..cut]).ok()?;
    Some((head, Bytes::copy_from_slice(&msg[cut + 1..])))
}

fn headers(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

fn header_map(h: &[(String, String)]) -> HeaderMap {
    let mut m = HeaderMap::new();
    for (k, v) in h {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            m.append(k, v);
        }
    }
    m
}

/// The middleware: runs the request here, and when its answer says the session is served by
/// another node, asks that node.
pub async fn forward(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let Some(bus) = app.hub.shared().bus.get().cloned() else {
        return next.run(req).await;
    };
    if req.headers().contains_key(FORWARDED) || req.uri().path() == "/ws" {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid",
                "the body is too large: at most 64 KiB",
            )
            .into_response();
        }
    };
    let head = Head {
        m: parts.method.to_string(),
        u: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.to_string()),
        h: headers(&parts.headers),
        s: 0,
        p: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
    };
    let res = next
        .run(Request::from_parts(parts, Body::from(body.clone())))
        .await;
    let Some(ServedElsewhere(session)) = res.extensions().get::<ServedElsewhere>().copied() else {
        return res;
    };
    let Some(owner) = app.hub.owner_of(session).await else {
        return res;
    };
    let subject = format!("tanya.http.{owner}");
    match tokio::time::timeout(WAIT, bus.client().request(subject, pack(&head, &body))).await {
        Ok(Ok(msg)) => match unpack(&msg.payload) {
            Some((h, body)) => {
                metrics::counter!("tanya_http_forwarded_total").increment(1);
                let mut r = Response::new(Body::from(body));
                *r.status_mut() = StatusCode::from_u16(h.s).unwrap_or(StatusCode::BAD_GATEWAY);
                *r.headers_mut() = header_map(&h.h);
                r
            }
            None => res,
        },
        _ => {
            tracing::warn!(%session, %owner, "the session's owner did not answer a forwarded request");
            res
        }
    }
}

/// Answers the requests other nodes forward to this one, through `router`.
pub fn serve(app: &AppState, router: Router) {
    let Some(bus) = app.hub.shared().bus.get().cloned() else {
        return;
    };
    let hub = app.hub.clone();
    tokio::spawn(async move {
        let subject = format!("tanya.http.{}", bus.node);
        let mut inbox = match bus.client().subscribe(subject).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot take forwarded requests");
                return;
            }
        };
        let cancel = hub.tasks().cancel_token().clone();
        loop {
            let msg = tokio::select! {
                m = inbox.next() => match m { Some(m) => m, None => break },
                () = cancel.cancelled() => break,
            };
            let (router, bus) = (router.clone(), bus.clone());
            tokio::spawn(async move {
                let Some(reply) = msg.reply else { return };
                let answer = match unpack(&msg.payload) {
                    Some((head, body)) => answer(router, head, body).await,
                    None => pack_answer(StatusCode::BAD_REQUEST, &HeaderMap::new(), b""),
                };
                let _ = bus.client().publish(reply, answer).await;
            });
        }
    });
}

async fn answer(router: Router, head: Head, body: Bytes) -> Bytes {
    let mut req = Request::new(Body::from(body));
    *req.method_mut() = Method::from_bytes(head.m.as_bytes()).unwrap_or(Method::GET);
    *req.uri_mut() = head.u.parse::<Uri>().unwrap_or_default();
    *req.headers_mut() = header_map(&head.h);
    req.headers_mut()
        .insert(FORWARDED, HeaderValue::from_static("1"));
    if let Some(p) = head.p {
        req.extensions_mut().insert(ConnectInfo(p));
    }
    let res = match router.oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let (parts, body) = res.into_parts();
    // NATS carries at most its max_payload (1 MiB by default) in a message.
    let body = match axum::body::to_bytes(body, 900 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            let e = ApiError::new(
                StatusCode::BAD_GATEWAY,
                "unavailable",
                "the answer is too large to pass between nodes: ask the node that runs the session",
            )
            .into_response();
            let (parts, body) = e.into_parts();
            let body = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            return pack_answer(parts.status, &parts.headers, &body);
        }
    };
    pack_answer(parts.status, &parts.headers, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back_as_it_was_sent() {
        let head = Head {
            m: "POST".into(),
            u: "/api/sessions/x/intake?y=1".into(),
            h: vec![("content-type".into(), "application/json".into())],
            s: 0,
            p: Some("203.0.113.9:5000".parse().unwrap()),
        };
        let body = b"{\"text\":\"line\nbreak\"}";
        let (back, b) = unpack(&pack(&head, body)).expect("reads back");
        assert_eq!(back.m, "POST");
        assert_eq!(back.u, head.u);
        assert_eq!(back.h, head.h);
        assert_eq!(back.p, head.p);
        assert_eq!(&b[..], body);
        assert!(unpack(b"no newline").is_none());
    }
}
