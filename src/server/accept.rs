//! The accept loop: HTTP/1.1 connections that cannot be hoarded. Each connection must send its
//! request headers within `limits.header_timeout_ms` (also between two requests of a kept-alive
//! connection), one address may hold at most `limits.unsent_per_address` connections that have
//! not sent a request yet, and an accept error (out of files, say) pauses the loop instead of
//! spinning. Sockets get `TCP_NODELAY`, a bounded send buffer and TCP keepalive.
//!
//! HTTP/2 is not served: browsers speak it only over TLS, which a reverse proxy ends; the proxy
//! speaks HTTP/1.1 to the hub, and WebSockets are HTTP/1.1 upgrades.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use dashmap::DashMap;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::domain::net::Net;

/// Connections per address that have not sent a request yet.
#[derive(Debug, Default)]
pub struct Unsent {
    counts: DashMap<Net, usize>,
}

impl Unsent {
    /// Counts a new connection of `ip`; `None` when that address already holds `max`.
    pub fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<UnsentGuard> {
        let key = Net::of(ip);
        let mut n = self.counts.entry(key).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(UnsentGuard {
            unsent: self.clone(),
            key,
            released: AtomicBool::new(false),
        })
    }

    /// Connections of `ip`'s address that have not sent a request yet.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.counts.get(&Net::of(ip)).map_or(0, |n| *n)
    }
}

/// One connection counted in [`Unsent`] until its first request (or its end).
#[derive(Debug)]
pub struct UnsentGuard {
    unsent: Arc<Unsent>,
    key: Net,
    released: AtomicBool,
}

impl UnsentGuard {
    /// The connection sent a request: it no longer counts (once).
    pub fn release(&self) {
        if self.released.swap(true, Ordering::AcqRel) {
            return;
        }
        if let dashmap::Entry::Occupied(mut e) = self.unsent.counts.entry(self.key) {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
    }
}

impl Drop for UnsentGuard {
    fn drop(&mut self) {
        self.release();
    }
}

/// Accepts connections and serves `router` on each until `stop` resolves; then stops
/// accepting, lets every connection finish the request it is in (up to `drain`), and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    cfg: Arc<Config>,
    stop: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) {
    let unsent = Arc::new(Unsent::default());
    let closing = CancellationToken::new();
    let conns = TaskTracker::new();
    let header_timeout = Duration::from_millis(cfg.limits.header_timeout_ms);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(10));
    let mut last_error_log: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of files or memory: wait a little for sockets to close, log once a
                    // second at most.
                    if last_error_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "accept failed");
                        last_error_log = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // A trusted proxy carries many clients: it is not bounded like one.
        let bound = if cfg.is_trusted_proxy(peer.ip()) {
            usize::MAX
        } else {
            cfg.limits.unsent_per_address
        };
        let Some(guard) = unsent.enter(peer.ip(), bound) else {
            metrics::counter!("tanya_connections_refused_total", "why" => "unsent_per_address")
                .increment(1);
            drop(tcp);
            continue;
        };
        let sock = socket2::SockRef::from(&tcp);
        let _ = tcp.set_nodelay(true);
        let _ = sock.set_send_buffer_size(cfg.buffers.socket_send_buffer);
        let _ = sock.set_tcp_keepalive(&keepalive);
        conns.spawn(connection(
            tcp,
            peer,
            router.clone(),
            Arc::new(guard),
            header_timeout,
            closing.clone(),
        ));
    }
    closing.cancel();
    conns.close();
    let _ = tokio::time::timeout(drain, conns.wait()).await;
}

/// Serves one connection: HTTP/1.1 with upgrades (a WebSocket lives on in its own task).
async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    guard: Arc<UnsentGuard>,
    header_timeout: Duration,
    closing: CancellationToken,
) {
    let first = guard.clone();
    let svc = tower::ServiceBuilder::new()
        .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            first.release();
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        })
        .service(router);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(svc))
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = closing.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_max_unsent_connections_and_a_request_frees_one() {
        let u = Arc::new(Unsent::default());
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let guards: Vec<_> = (0..3).map(|_| u.enter(a, 3).unwrap()).collect();
        assert!(u.enter(a, 3).is_none(), "a fourth is refused");
        assert!(u.enter("203.0.113.8".parse().unwrap(), 3).is_some());
        guards[0].release();
        guards[0].release();
        assert_eq!(u.count(a), 2, "released once");
        let again = u.enter(a, 3).unwrap();
        drop(guards);
        assert_eq!(u.count(a), 1);
        drop(again);
        assert_eq!(u.count(a), 0);
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let k = |s: &str| Net::of(s.parse().unwrap());
        assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff::9"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:198.51.100.4"), k("198.51.100.4"));
    }
}
