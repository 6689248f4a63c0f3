//! The HTTP API: sessions (admin), export, the vMix data source, health and metrics.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use crate::domain::view::{self, QuestionViewKind};
use crate::hub::frames::SessionBody;
use crate::hub::secrets::same_secret;
use crate::hub::{HubError, session_json};

/// An HTTP error: `{"error":{"code","message"}}`. A 500 says little and logs much.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// With `429 rate_limited`: milliseconds until the next one is let through.
    retry_after_ms: Option<u64>,
    /// The session is served by another node of the cluster: the answer is theirs to give.
    elsewhere: Option<uuid::Uuid>,
}

impl ApiError {
    /// An error with a status, a code and a message for a person.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_ms: None,
            elsewhere: None,
        }
    }

    /// The same error with `retry_after_ms`.
    pub fn retry_after(mut self, ms: Option<u64>) -> Self {
        self.retry_after_ms = ms;
        self
    }
    fn invalid(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", m)
    }
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid token is required: Authorization: Bearer TOKEN",
        )
    }
    fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", m)
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Invalid(m) => Self::invalid(m),
            HubError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            HubError::Elsewhere(session) => Self {
                elsewhere: Some(session),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the session is served by another node; try again",
                )
            },
            HubError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            HubError::ShuttingDown | HubError::SessionStopped => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the session is not running; try again",
            ),
            other => {
                tracing::error!(error = %other, "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        HubError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(match self.retry_after_ms {
                None => json!({"error":{"code":self.code,"message":self.message}}),
                Some(ms) => json!({"error":{"code":self.code,"message":self.message,
                                   "retry_after_ms":ms}}),
            }),
        )
            .into_response();
        if let Some(s) = self.elsewhere {
            r.extensions_mut()
                .insert(super::forward::ServedElsewhere(s));
        }
        r
    }
}

/// The token of `Authorization: Bearer TOKEN`, when there is one.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The token of `Authorization: Bearer TOKEN`; 401 when there is none.
#[derive(Debug)]
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        bearer_token(&parts.headers)
            .map(|t| Bearer(t.to_string()))
            .ok_or_else(ApiError::unauthorized)
    }
}

/// A request with the admin token; 401 otherwise.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let Bearer(t) = Bearer::from_request_parts(parts, app).await?;
        if app.admin.accepts(&app.hub, &t).await {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized())
        }
    }
}

/// A request for a session (`{id}` in the path) with the admin token or that session's
/// moderator key; 404 for no such session, 401 for any other token. Holds the running session.
#[derive(Debug)]
pub struct SessionStaff(pub crate::hub::SessionHandle);

impl FromRequestParts<AppState> for SessionStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let Bearer(token) = Bearer::from_request_parts(parts, app).await?;
        let Path(id) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| ApiError::not_found("no such session"))?;
        let s = running(app, &id).await?;
        let allowed =
            moderates(app, &s, &token).await? || app.admin.accepts(&app.hub, &token).await;
        if allowed {
            Ok(SessionStaff(s))
        } else {
            Err(ApiError::unauthorized())
        }
    }
}

/// Whether `token` is the session's moderator key, or that of the programme it is an episode of.
pub(super) async fn moderates(
    app: &AppState,
    s: &crate::hub::SessionHandle,
    token: &str,
) -> Result<bool, ApiError> {
    let presented = token.to_string();
    let (own, programme) = s
        .query(move |v| {
            (
                same_secret(&presented, &v.record.keys.moderator),
                v.record.programme,
            )
        })
        .await?;
    Ok(own
        || programme
            .and_then(|p| app.hub.shared().programmes.by_id(p))
            .is_some_and(|p| same_secret(token, &p.keys.moderator)))
}

/// `POST /api/sessions`.
pub async fn create_session(
    State(app): State<AppState>,
    _: Admin,
    body: Bytes,
) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))?;
    let o = v
        .as_object()
        .ok_or_else(|| ApiError::invalid("the body must be an object {title, speakers?}"))?;
    let title = match o.get("title") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(ApiError::invalid("`title` must be a string")),
        None => return Err(ApiError::invalid("`title` is missing")),
    };
    let speakers = match o.get("speakers") {
        None | Some(Value::Null) => vec![],
        Some(s) => super::protocol::speakers_input(s).map_err(ApiError::invalid)?,
    };
    let rehearsal = match o.get("rehearsal") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("`rehearsal` must be true or false")),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut rec = app.hub.new_session(title, &speakers, now).await?;
    if rehearsal {
        rec = app.hub.begin_rehearsal(rec).await?;
    }
    tracing::info!(session = %rec.info.id, rehearsal, "session created");
    Ok((
        StatusCode::CREATED,
        Json(session_json(&app.cfg.base_url(), &rec)),
    )
        .into_response())
}

/// `GET /api/sessions`.
pub async fn list_sessions(State(app): State<AppState>, _: Admin) -> Result<Response, ApiError> {
    let base = app.cfg.base_url();
    let records = app.hub.list_sessions().await?;
    let list: Vec<_> = records.iter().map(|r| session_json(&base, r)).collect();
    Ok(Json(json!({ "sessions": list })).into_response())
}

/// `POST /api/sessions/{id}/keys/{role}`: a new key for `role` (moderator, screen, overlay,
/// press); the old one stops working at once and the sockets that joined with it are closed
/// with 4401. The answer is the session JSON, with the new key and links.
pub async fn rotate_key(
    State(app): State<AppState>,
    _: Admin,
    Path((id, role)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let role = crate::domain::role::KeyRole::parse(&role).ok_or_else(|| {
        ApiError::invalid("the role must be one of moderator, screen, overlay, press, desk, intake")
    })?;
    let s = running(&app, &id).await?;
    let rec = s.rotate_key(role).await?;
    Ok(Json(session_json(&app.cfg.base_url(), &rec)).into_response())
}

/// `PATCH /api/sessions/{id}` (admin) `{title?, speakers?, starts_at?, status?}`: the office
/// changes a session as a moderator's `session` command does (the same checks); the session
/// JSON after it.
pub async fn patch_session(
    State(app): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let s = running(&app, &id).await?;
    let mut v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))?;
    let o = v.as_object_mut().ok_or_else(|| {
        ApiError::invalid("the body must be an object {title?, speakers?, starts_at?, status?}")
    })?;
    o.retain(|k, _| matches!(k.as_str(), "title" | "speakers" | "starts_at" | "status"));
    o.insert("type".into(), json!("session"));
    let cmd = match super::protocol::parse(&v.to_string(), Some(crate::domain::Role::Moderator)) {
        Ok(super::protocol::ClientMsg::Command { cmd, .. }) => cmd,
        Ok(_) => return Err(ApiError::invalid("not a session change")),
        Err(e) => return Err(e.rejection.into()),
    };
    s.request(crate::hub::followup::RequestKind::Session { cmd })
        .await??;
    let rec = s.query(|v| v.record.clone()).await?;
    Ok(Json(session_json(&app.cfg.base_url(), &rec)).into_response())
}

/// Query of the export route.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    /// CSV: `questions` (the default) or `polls` (one row per option).
    table: Option<String>,
    /// CSV: `office` for the office's table (docs/followup.md); absent: the raw table.
    layout: Option<String>,
    /// The office's CSV: `semicolon` (the default) or `comma`.
    sep: Option<String>,
}

async fn running(app: &AppState, id: &str) -> Result<crate::hub::SessionHandle, ApiError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::not_found("no such session"));
    }
    app.hub
        .session(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such session"))
}

/// `GET /api/sessions/{id}/export?format=json|csv|xlsx[&layout=office][&sep=comma]`: admin
/// token or the session's moderator key; contacts only with the admin token (office layout).
pub async fn export(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let (s, admin) = super::followup::staff_session(&app, &headers, &id).await?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some("xlsx") => return office_export(&app, &s, admin, true, None).await,
        Some(_) => return Err(ApiError::invalid("`format` must be json, csv or xlsx")),
    };
    match q.layout.as_deref() {
        None | Some("raw") => {
            if q.sep.is_some() {
                return Err(ApiError::invalid("`sep` goes with layout=office"));
            }
        }
        Some("office") if csv => {
            let sep = match q.sep.as_deref() {
                None | Some("semicolon") => b';',
                Some("comma") => b',',
                Some(_) => return Err(ApiError::invalid("`sep` must be semicolon or comma")),
            };
            return office_export(&app, &s, admin, false, Some(sep)).await;
        }
        Some("office") => return Err(ApiError::invalid("`layout` is for format=csv")),
        Some(_) => return Err(ApiError::invalid("`layout` must be office or raw")),
    }
    let poll_table = match q.table.as_deref() {
        None | Some("questions") => false,
        Some("polls") if csv => true,
        Some("polls") => return Err(ApiError::invalid("`table` is for format=csv only")),
        Some(_) => return Err(ApiError::invalid("`table` must be questions or polls")),
    };
    let (session, mut questions, polls) = s
        .query(move |v| {
            let qs: Vec<Value> = v
                .state
                .questions()
                .map(|q| {
                    json!(view::question(
                        v.state,
                        q,
                        QuestionViewKind::Moderator,
                        v.authors
                    ))
                })
                .collect();
            let polls = json!(view::polls(v.state, view::PollViewer::Staff));
            (json!(SessionBody::new(&v.state.info, None)), qs, polls)
        })
        .await?;
    if !admin {
        // Contacts leave in an export only for the office (docs/followup.md): the moderator's
        // export has the field, always `null`.
        for q in &mut questions {
            if let Some(c) = q.get_mut("contact") {
                *c = Value::Null;
            }
        }
    }
    if !csv {
        return Ok(
            Json(json!({"session": session, "questions": questions, "polls": polls}))
                .into_response(),
        );
    }
    let code = session["code"].as_str().unwrap_or("session").to_string();
    if poll_table {
        return csv_response(&format!("tanya-{code}-polls.csv"), &poll_rows(&polls));
    }
    let cols = [
        "id",
        "created_at",
        "updated_at",
        "status",
        "source",
        "channel",
        "name",
        "outlet",
        "to",
        "text",
        "original_text",
        "reason",
        "votes",
        "merged_into",
        "air_text",
    ];
    let mut rows: Vec<Vec<String>> = vec![cols.iter().map(|c| c.to_string()).collect()];
    for q in &questions {
        rows.push(cols.iter().map(|c| cell(&q[*c])).collect());
    }
    csv_response(&format!("tanya-{code}.csv"), &rows)
}

/// The office's export of a session as XLSX or as CSV with `sep`.
async fn office_export(
    app: &AppState,
    s: &crate::hub::SessionHandle,
    admin: bool,
    xlsx: bool,
    sep: Option<u8>,
) -> Result<Response, ApiError> {
    use super::office;
    let agencies = app.hub.agencies();
    let tz = app.cfg.tz();
    let (rows, code, title) = s
        .query(move |v| {
            (
                office::rows(v.state, &agencies, tz, admin),
                v.state.info.code.clone(),
                v.state.info.title.clone(),
            )
        })
        .await?;
    if xlsx {
        let bytes = office::xlsx(&rows, &title).map_err(office::failed)?;
        return Ok(office::download(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("tanya-{code}.xlsx"),
        ));
    }
    let bytes = office::csv(&rows, sep.unwrap_or(b';')).map_err(office::failed)?;
    Ok(office::download(
        bytes,
        "text/csv; charset=utf-8",
        &format!("tanya-{code}-office.csv"),
    ))
}

/// A JSON value as a CSV cell: text made spreadsheet-safe, `null` empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => spreadsheet_safe(s),
        other => other.to_string(),
    }
}

/// The polls table of the CSV export: a header, then one row per option of every poll.
fn poll_rows(polls: &Value) -> Vec<Vec<String>> {
    let cols = [
        "poll_id",
        "question",
        "status",
        "results",
        "created_at",
        "updated_at",
        "option",
        "text",
        "count",
        "percent",
    ];
    let mut rows: Vec<Vec<String>> = vec![cols.iter().map(|c| c.to_string()).collect()];
    for p in polls.as_array().into_iter().flatten() {
        let options = p["options"].as_array().cloned().unwrap_or_default();
        let counts: Vec<usize> = options
            .iter()
            .map(|o| o["count"].as_u64().unwrap_or(0) as usize)
            .collect();
        let pct = crate::domain::poll::percents(&counts);
        for (i, o) in options.iter().enumerate() {
            rows.push(vec![
                cell(&p["id"]),
                cell(&p["question"]),
                cell(&p["status"]),
                cell(&p["results"]),
                cell(&p["created_at"]),
                cell(&p["updated_at"]),
                (i + 1).to_string(),
                cell(&o["text"]),
                counts[i].to_string(),
                pct[i].to_string(),
            ]);
        }
    }
    rows
}

/// A CSV download.
fn csv_response(filename: &str, rows: &[Vec<String>]) -> Result<Response, ApiError> {
    let csv_err = |e: csv::Error| {
        tracing::error!(error = %e, "csv");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row).map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| csv_err(e.into_error().into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A CSV cell a spreadsheet shows as text, never runs as a formula: a cell that starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's rule for CSV
/// injection). Every text cell of the export goes through this.
pub fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Query of live.json.
#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    k: Option<String>,
}

/// `GET /api/sessions/{id}/live.json?k=KEY`: the vMix data source.
pub async fn live_json(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Response, ApiError> {
    let key = q.k.ok_or_else(ApiError::unauthorized)?;
    let s = running(&app, &id).await?;
    live_rows(&app, &s, Some(key), None).await
}

/// The rows of `live.json` for a session: `key` checked against its overlay key (`None`: the
/// caller checked a programme's); `join` the code and address to show instead of the
/// session's (a programme's).
pub(super) async fn live_rows(
    app: &AppState,
    s: &crate::hub::SessionHandle,
    key: Option<String>,
    join: Option<(String, String)>,
) -> Result<Response, ApiError> {
    let base = app.cfg.base_url();
    let (sms, whatsapp) = (app.cfg.join.sms.clone(), app.cfg.join.whatsapp.clone());
    let row = s
        .query(move |v| {
            if let Some(key) = &key
                && !same_secret(key, &v.record.keys.overlay)
            {
                return None;
            }
            let o = view::overlay(v.state);
            let q = o.question.as_ref().filter(|_| o.visible);
            let speaker = q
                .and_then(|q| q.to)
                .and_then(|to| v.state.info.speakers.iter().find(|s| s.id == to));
            let graphic = o.graphic.as_ref().map_or("", |g| g.kind);
            let strap = o.graphic.as_ref().and_then(|g| g.speaker);
            let (code, url) = join.unwrap_or_else(|| {
                let code = v.state.info.code.clone();
                let url = format!("{base}/j/{code}");
                (code, url)
            });
            let mut row = json!({
                "visible": o.visible,
                "text": q.map_or("", |q| q.text),
                "air_text": q.map_or("", |q| q.air_text.unwrap_or(q.text)),
                "credit": q.and_then(|q| q.credit.as_deref()).unwrap_or(""),
                "graphic": graphic,
                "strap_name": strap.map_or("", |s| s.name.as_str()),
                "strap_role": strap.map_or("", |s| s.role.as_str()),
                "join_code": code,
                "join_url": url,
                "join_sms": sms.as_deref().unwrap_or(""),
                "join_whatsapp": whatsapp.as_deref().unwrap_or(""),
                "name": q.and_then(|q| q.name).unwrap_or(""),
                "outlet": q.and_then(|q| q.outlet).unwrap_or(""),
                "speaker": speaker.map_or("", |s| s.name.as_str()),
                "speaker_role": speaker.map_or("", |s| s.role.as_str()),
            });
            poll_columns(&mut row, o.poll.as_ref());
            Some(json!([row]))
        })
        .await?;
    let row = row.ok_or_else(ApiError::unauthorized)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(row)).into_response())
}

/// The poll on air as flat columns of a data source (vMix reads one row of plain fields):
/// `poll_visible`, `poll_question`, and for options 1 to 6 `poll_option{i}`, `poll_count{i}`
/// and `poll_percent{i}` (whole percent of all choices); empty strings when absent.
fn poll_columns(row: &mut Value, poll: Option<&view::PollView<'_>>) {
    let counts: Vec<usize> = poll.map_or(vec![], |p| {
        p.options.iter().map(|o| o.count.unwrap_or(0)).collect()
    });
    let pct = crate::domain::poll::percents(&counts);
    row["poll_visible"] = json!(poll.is_some());
    row["poll_question"] = json!(poll.map_or("", |p| p.question));
    for i in 0..crate::domain::poll::limits::OPTIONS.1 {
        let option = poll.and_then(|p| p.options.get(i));
        let n = counts.get(i).copied();
        row[format!("poll_option{}", i + 1)] = json!(option.map_or("", |o| o.text));
        row[format!("poll_count{}", i + 1)] = json!(n.map_or(String::new(), |n| n.to_string()));
        row[format!("poll_percent{}", i + 1)] =
            json!(pct.get(i).map_or(String::new(), |p| p.to_string()));
    }
}

/// `GET /api/join/{code}`: how the public joins a session, for the join slide: `{code, title,
/// status, url, sms, whatsapp}`. Public: it holds nothing a phone with the code does not see.
pub async fn join_info(
    State(app): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let code = code.to_ascii_uppercase();
    if !crate::hub::secrets::looks_like_code(&code) {
        // A programme's join code: its page, with the current episode when there is one.
        let p = app
            .hub
            .programme(&code)
            .filter(|p| p.join_code.is_some())
            .ok_or_else(|| ApiError::not_found("no such session"))?;
        let current = match app.hub.programme_session(&p.slug).await? {
            Some((_, s)) => Some(
                s.query(|v| (v.state.info.title.clone(), v.state.info.status))
                    .await?,
            ),
            None => None,
        };
        let (title, status) =
            current.unwrap_or((p.title.clone(), crate::domain::SessionStatus::Closed));
        let body = json!({
            "code": p.join_code,
            "title": title,
            "status": status,
            "url": format!("{}/p/{}", app.cfg.base_url(), p.slug),
            "sms": app.cfg.join.sms,
            "whatsapp": app.cfg.join.whatsapp,
        });
        return Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response());
    }
    let s = app
        .hub
        .session(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("no such session"))?;
    let (title, status) = s
        .query(|v| (v.state.info.title.clone(), v.state.info.status))
        .await?;
    let body = json!({
        "code": code,
        "title": title,
        "status": status,
        "url": format!("{}/j/{code}", app.cfg.base_url()),
        "sms": app.cfg.join.sms,
        "whatsapp": app.cfg.join.whatsapp,
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `GET /healthz`: 200 when the store answers.
pub async fn healthz(State(app): State<AppState>) -> Response {
    match app.hub.ping().await {
        Ok(()) if !app.hub.is_shutting_down() => {
            (StatusCode::OK, Json(json!({"status":"ok"}))).into_response()
        }
        Ok(()) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status":"shutting down"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: store failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status":"store unavailable"})),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: loopback and `metrics_allow` only.
pub async fn metrics(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    // The metrics token reads them from anywhere.
    let by_token = matches!(
        (bearer_token(&headers), &app.cfg.metrics_token),
        (Some(t), Some(want)) if same_secret(t, want)
    );
    // By address: the client's own (through a trusted proxy, the one it names). A request that
    // came through a proxy is never "loopback" because the proxy is: a public deployment does
    // not publish its metrics by accident.
    let ip = super::client::client_ip(&app.cfg, peer.ip(), &headers);
    let ip = match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    };
    let proxied_loopback = ip.is_loopback() && super::client::is_forwarded(&headers);
    let by_address = (ip.is_loopback() && !proxied_loopback) || app.cfg.metrics_allow.contains(&ip);
    if !(by_token || by_address) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this address may not read /metrics",
        )
        .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        super::metrics_handle().render(),
    )
        .into_response()
}

/// `GET /qr/{code}.svg`: the audience link as a QR code.
pub async fn qr(
    State(app): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let code = file
        .strip_suffix(".svg")
        .unwrap_or(&file)
        .to_ascii_uppercase();
    // A session's code, or a programme's join code or slug: its page that never changes.
    let url = if crate::hub::secrets::looks_like_code(&code) {
        format!("{}/j/{code}", app.cfg.base_url())
    } else if let Some(p) = app.hub.programme(&code) {
        format!("{}/p/{}", app.cfg.base_url(), p.slug)
    } else {
        return Err(ApiError::not_found("no such session"));
    };
    let qr = qrcode::QrCode::new(url.as_bytes()).map_err(|e| ApiError::invalid(e.to_string()))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        svg,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn cells_a_spreadsheet_would_run_are_quoted() {
        for (cell, want) in [
            ("=1+1", "'=1+1"),
            ("+62 812", "'+62 812"),
            ("-", "'-"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Harga naik = 10%", "Harga naik = 10%"),
            ("", ""),
            ("'=already", "'=already"),
        ] {
            assert_eq!(spreadsheet_safe(cell), want, "{cell:?}");
        }
    }
}
