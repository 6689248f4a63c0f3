//! Static pages from web/, embedded in the binary (read from disk in debug builds).

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

/// Everything under web/.
#[derive(RustEmbed)]
#[folder = "web/"]
struct Web;

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Web::get(path) else {
        return super::api::ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such page")
            .into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mime = file.metadata.mimetype().to_string();
    let mime = if mime.starts_with("text/") || mime.contains("javascript") || mime.contains("json")
    {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::ETAG, etag),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

/// `/` and `/j/{code}`: the phone page.
pub async fn audience(headers: HeaderMap) -> Response {
    serve("audience/index.html", &headers)
}

/// `/m/{id}`: the moderator console.
pub async fn moderator(headers: HeaderMap) -> Response {
    serve("moderator/index.html", &headers)
}

/// `/screen/{id}`: the speaker screen.
pub async fn screen(headers: HeaderMap) -> Response {
    serve("screen/index.html", &headers)
}

/// `/overlay/{id}`: the broadcast overlay.
pub async fn overlay(headers: HeaderMap) -> Response {
    serve("overlay/index.html", &headers)
}

/// `/join/{code}`: the join slide for the room's projector.
pub async fn join(headers: HeaderMap) -> Response {
    serve("join/index.html", &headers)
}

/// `/lacak` and `/lacak/{code}`: the citizen's tracking page.
pub async fn track(headers: HeaderMap) -> Response {
    serve("track/index.html", &headers)
}

/// `/a/{agency}`: an agency's inbox.
pub async fn agency(headers: HeaderMap) -> Response {
    serve("agency/index.html", &headers)
}

/// `/tindak-lanjut`: the public follow-up board.
pub async fn board(headers: HeaderMap) -> Response {
    serve("board/index.html", &headers)
}

/// `/r/{id}`: a session's printable report.
pub async fn report(headers: HeaderMap) -> Response {
    serve("report/index.html", &headers)
}

/// `/desk/{id}`: the radio desk.
pub async fn desk(headers: HeaderMap) -> Response {
    serve("desk/index.html", &headers)
}

/// `/admin`: the admin page.
pub async fn admin(headers: HeaderMap) -> Response {
    serve("admin/index.html", &headers)
}

/// The kinds of file the pages load: nothing else under web/ (a README, say) is served.
const ASSET_TYPES: [&str; 5] = [".js", ".css", ".svg", ".png", ".woff2"];

/// `/assets/{*path}`: scripts, styles, images.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.contains("..") || !ASSET_TYPES.iter().any(|t| path.ends_with(t)) {
        return super::api::ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such file")
            .into_response();
    }
    serve(&path, &headers)
}
