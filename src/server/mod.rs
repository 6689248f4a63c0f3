//! axum: the router, its layers (Origin, limits, CSP, tracing), and the serve loop with
//! graceful shutdown.

pub mod accept;
pub mod admin;
pub mod api;
pub mod client;
pub mod followup;
pub mod forward;
pub mod intake;
pub mod office;
pub mod pages;
pub mod programme;
pub mod protocol;
pub mod ws;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Request, header};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::hub::Hub;

/// The Content-Security-Policy of every response: nothing from another host, no inline script,
/// sockets only to the page's own origin (`'self'` covers `ws:`/`wss:` to it), and no page may
/// frame these (broadcast tools load the overlay as a page of its own, not in a frame).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Counts open WebSockets against `max_connections`.
#[derive(Debug, Default)]
pub struct ConnCount(AtomicUsize);

/// Releases one connection slot on drop.
#[derive(Debug)]
pub struct ConnGuard(Arc<ConnCount>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnCount {
    /// Takes a slot when fewer than `max` are open.
    pub fn try_acquire(self: &Arc<Self>, max: usize) -> Option<ConnGuard> {
        let n = self.0.fetch_add(1, Ordering::AcqRel);
        let g = ConnGuard(self.clone());
        (n < max).then_some(g)
    }

    /// Open sockets.
    pub fn open(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The hub: its sessions and their actors.
    pub hub: Arc<Hub>,
    /// Settings.
    pub cfg: Arc<Config>,
    /// How the admin token is checked (configured, or generated and kept as a hash).
    pub admin: Arc<admin::AdminToken>,
    /// Open WebSockets, held under `limits.max_connections`.
    pub conns: Arc<ConnCount>,
    /// Open audience and press sockets, against `max_connections`.
    pub phones: Arc<ConnCount>,
    /// Tracking lookups per address (`followup.lookups_per_minute`).
    pub lookups: Arc<followup::Lookups>,
}

impl AppState {
    /// Whether an `Origin` may open `/ws`: the hub's own (the request's Host, `public_url`) or allowed.
    pub fn origin_allowed(&self, origin: &str, host: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        if !host.is_empty()
            && (origin == format!("http://{host}") || origin == format!("https://{host}"))
        {
            return true;
        }
        if self
            .cfg
            .public_url
            .as_deref()
            .is_some_and(|u| origin_of(u) == origin)
        {
            return true;
        }
        self.cfg
            .allowed_origins
            .iter()
            .any(|o| o.trim_end_matches('/') == origin)
    }
}

fn origin_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

/// The process-wide Prometheus recorder (installed once, shared by every hub in the process).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        let secs = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        let b = PrometheusBuilder::new()
            .set_buckets(&secs)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = b.build_recorder();
        let handle = recorder.handle();
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Makes the hub's series exist from the first second, so `/metrics` lists them (at 0) before
/// the first event: a dashboard or an alert can tell "no phones" from "no data". Increments by
/// nothing, so a second hub in the same process changes no count.
fn register_metrics() {
    metrics::gauge!("tanya_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    for role in crate::domain::Role::ALL {
        metrics::gauge!("tanya_connections", "role" => role.as_str()).increment(0.0);
    }
    metrics::gauge!("tanya_sessions_running").increment(0.0);
    for name in [
        "tanya_socket_lagged_total",
        "tanya_resyncs_total",
        "tanya_slow_sockets_dropped_total",
        "tanya_silent_sockets_dropped_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    for why in ["max_connections", "new_devices", "unsent_per_address"] {
        metrics::counter!("tanya_connections_refused_total", "why" => why).increment(0);
    }
}

/// The router.
pub fn router(app: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::audience))
        .route("/j/{code}", get(programme::join_page))
        .route("/p/{slug}", get(pages::audience))
        .route("/p/{slug}/m", get(pages::moderator))
        .route("/p/{slug}/screen", get(pages::screen))
        .route("/p/{slug}/overlay", get(pages::overlay))
        .route("/p/{slug}/desk", get(pages::desk))
        .route("/api/p/{slug}", get(programme::public))
        .route("/m/{id}", get(pages::moderator))
        .route("/screen/{id}", get(pages::screen))
        .route("/overlay/{id}", get(pages::overlay))
        .route("/admin", get(pages::admin))
        .route("/join/{code}", get(pages::join))
        .route("/desk/{id}", get(pages::desk))
        .route("/lacak", get(pages::track))
        .route("/lacak/{code}", get(pages::track))
        .route("/a/{agency}", get(pages::agency))
        .route("/tindak-lanjut", get(pages::board))
        .route("/r/{id}", get(pages::report))
        .route("/api/followup/options", get(followup::options))
        .route("/api/join/{code}", get(api::join_info))
        .route("/assets/{*path}", get(pages::asset))
        .layer(CompressionLayer::new());
    // Answers that hold keys or questions are never kept by a browser or a proxy.
    let api = Router::new()
        .route(
            "/api/sessions",
            get(api::list_sessions).post(api::create_session),
        )
        .route(
            "/api/sessions/{id}",
            axum::routing::patch(api::patch_session),
        )
        .route("/api/sessions/{id}/export", get(api::export))
        .route(
            "/api/sessions/{id}/keys/{role}",
            axum::routing::post(api::rotate_key),
        )
        .route("/api/sessions/{id}/live.json", get(api::live_json))
        .route("/api/sessions/{id}/report", get(followup::report))
        .route(
            "/api/sessions/{id}/questions/{question}/history",
            get(followup::history),
        )
        .route("/api/track/{code}", get(followup::track))
        .route(
            "/api/agencies",
            get(followup::list_agencies).post(followup::create_agency),
        )
        .route(
            "/api/agencies/{id}/key",
            axum::routing::post(followup::rotate_agency_key),
        )
        .route("/api/agency/{id}/cases", get(followup::agency_cases))
        .route(
            "/api/agency/{id}/cases/{question}",
            axum::routing::post(followup::agency_act),
        )
        .route("/api/cases", get(followup::cases))
        .route(
            "/api/cases/{question}",
            axum::routing::post(followup::office_act),
        )
        .route("/api/purge", axum::routing::post(followup::purge))
        .route(
            "/api/programmes",
            get(programme::list).post(programme::create),
        )
        .route(
            "/api/programmes/{slug}",
            get(programme::get).patch(programme::patch),
        )
        .route(
            "/api/programmes/{slug}/keys/{role}",
            axum::routing::post(programme::rotate_key),
        )
        .route(
            "/api/programmes/{slug}/episodes",
            axum::routing::post(programme::new_episode),
        )
        .route(
            "/api/programmes/{slug}/intake",
            axum::routing::post(programme::intake),
        )
        .route(
            "/api/programmes/{slug}/whatsapp",
            get(programme::whatsapp_verify).post(programme::whatsapp),
        )
        .route(
            "/api/programmes/{slug}/live.json",
            get(programme::live_json),
        )
        .route(
            "/api/sessions/{id}/carry",
            get(programme::carry_list).post(programme::carry),
        )
        .route("/api/board", get(followup::board))
        .route(
            "/api/sessions/{id}/intake",
            axum::routing::post(intake::post),
        )
        .route(
            "/api/sessions/{id}/whatsapp",
            get(intake::verify).post(intake::deliver),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route("/ws", get(ws::upgrade))
        .merge(api)
        .route("/qr/{file}", get(api::qr))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .merge(pages)
        .fallback(|| async {
            api::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such route")
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            forward::forward,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
        .layer(axum::middleware::from_fn_with_state(app.clone(), known_host))
        .layer(axum::middleware::map_response(json_errors))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(
            // Only the path is logged: never a query string or a fragment (keys travel there).
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                tracing::debug_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(app)
}

/// Refuses a request whose `Host` is a name the hub does not answer to ([`Config::host_allowed`]):
/// a page at another name pointed at this hub by DNS rebinding gets `403` before any route.
async fn known_host(
    axum::extract::State(app): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    if app.cfg.host_allowed(host) {
        return next.run(req).await;
    }
    api::ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "forbidden",
        "this hub does not answer to that host name: add it to public_url or allowed_hosts",
    )
    .into_response()
}

/// Turns every error response that is not JSON yet (axum's own: 405, 413, query and upgrade
/// rejections) into `{"error":{"code","message"}}`, so every HTTP error has the contract's shape.
async fn json_errors(res: axum::response::Response) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let detail = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&detail).trim().to_string();
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (
            "invalid",
            if detail.is_empty() {
                "bad request".to_string()
            } else {
                detail
            },
        ),
        StatusCode::UNAUTHORIZED => ("unauthorized", "a valid token is required".to_string()),
        StatusCode::FORBIDDEN => ("forbidden", "forbidden".to_string()),
        StatusCode::NOT_FOUND => ("not_found", "no such route".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "invalid",
            "this method is not allowed on this path".to_string(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "invalid",
            "the body is too large: at most 64 KiB".to_string(),
        ),
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests".to_string()),
        s if s.is_client_error() => (
            "invalid",
            if detail.is_empty() {
                s.to_string()
            } else {
                detail
            },
        ),
        _ => ("internal", "internal error".to_string()),
    };
    api::ApiError::new(status, code, message).into_response()
}

/// Runs the hub on `listener` until `shutdown` resolves; then stops taking commands, commits and
/// answers what is in flight, closes every socket with 4503 and returns.
pub async fn serve(
    cfg: Arc<Config>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _ = metrics_handle();
    // Links and origins use the port actually bound (`:0` picks one).
    let mut bound = (*cfg).clone();
    bound.listen = listener.local_addr()?;
    let cfg = Arc::new(bound);
    let store = crate::store::open(&cfg.database).await?;
    let hub = Hub::serving(cfg.clone(), store).await?;
    if let Some(url) = &cfg.bus {
        hub.join_bus(url, protocol::relayed_command).await?;
    }
    let (token, generated) = admin::prepare(&cfg, &hub).await?;
    if let Some(t) = generated {
        eprintln!("admin token: {t}");
    }
    serve_hub(cfg, listener, hub, token, shutdown).await
}

/// Like [`serve`], with a hub already made.
///
/// Shutdown, once `shutdown` resolves: the hub's actors stop taking commands, answer what is in
/// flight and close their sockets with 4503 (within 3 s); then the server stops accepting and
/// the sockets deliver their close (within 1 s more).
pub async fn serve_hub(
    cfg: Arc<Config>,
    listener: tokio::net::TcpListener,
    hub: Arc<Hub>,
    admin_token: admin::AdminToken,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = AppState {
        hub: hub.clone(),
        cfg: cfg.clone(),
        admin: Arc::new(admin_token),
        conns: Arc::new(ConnCount::default()),
        phones: Arc::new(ConnCount::default()),
        lookups: followup::lookups(cfg.followup.lookups_per_minute),
    };
    let local = listener.local_addr()?;
    register_metrics();
    if cfg.base_is_loopback() {
        let base = cfg.base_url();
        tracing::warn!(%base, "the public address is a loopback address");
        eprintln!(
            "warning: links and QR codes point to {base}, which phones cannot open: \
             set public_url (TANYA_PUBLIC_URL) to an address they reach (docs/deploy.md)"
        );
    }
    tracing::info!(addr = %local, "listening");
    eprintln!("listening on http://{local}");
    let stopping = hub.clone();
    let stop = async move {
        shutdown.await;
        tracing::info!("shutting down");
        stopping.shutdown(Duration::from_secs(3)).await;
    };
    let routes = router(app.clone());
    forward::serve(&app, routes.clone());
    accept::serve(listener, routes, cfg, stop, Duration::from_secs(1)).await;
    // Sockets were told 4503 by their sessions; give them a moment to deliver it.
    hub.tasks().finish(Duration::from_secs(1)).await;
    Ok(())
}
