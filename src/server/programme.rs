//! Programmes over HTTP (docs/programmes.md): the office's programme and episode routes, the
//! public programme answer, the stable intake, WhatsApp and `live.json` addresses that follow
//! the current episode, the carry-over of questions, and the `/p/{slug}` pages.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::AppState;
use super::api::{Admin, ApiError, bearer_token};
use crate::domain::followup::{By, ByRole};
use crate::domain::role::KeyRole;
use crate::domain::view::rfc3339;
use crate::hub::programme::{NewEpisode, ProgrammePatch};
use crate::hub::secrets::same_secret;
use crate::hub::{SessionHandle, session_json};
use crate::store::Programme;

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid", m)
}

fn object(body: &Bytes, shape: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid(format!("the body must be an object {shape}"))),
        Err(e) => Err(invalid(format!("the body is not valid JSON: {e}"))),
    }
}

/// A string field: `Ok(None)` when absent; `Some(None)` for `null` when `nullable`.
fn text(m: &Map<String, Value>, field: &str) -> Result<Option<Option<String>>, ApiError> {
    match m.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(invalid(format!("`{field}` must be a string or null"))),
    }
}

/// An RFC 3339 time field (`null` clears).
fn time(m: &Map<String, Value>, field: &str) -> Result<Option<Option<i64>>, ApiError> {
    Ok(match text(m, field)? {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(Some(
            chrono::DateTime::parse_from_rfc3339(&s)
                .map_err(|_| {
                    invalid(format!(
                        "`{field}` must be a date and time such as 2026-12-18T19:00:00+07:00"
                    ))
                })?
                .timestamp_millis(),
        )),
    })
}

fn flag(m: &Map<String, Value>, field: &str) -> Result<bool, ApiError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!("`{field}` must be true or false"))),
    }
}

fn only(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(format!(
            "unknown field `{k}`; the fields are {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// The programme as the office sees it: keys, links and episodes.
async fn programme_json(app: &AppState, p: &Programme) -> Result<Value, ApiError> {
    let base = app.cfg.base_url();
    let slug = &p.slug;
    let k = &p.keys;
    let episodes: Vec<Value> = app
        .hub
        .episodes(p.id)
        .await?
        .iter()
        .map(|r| {
            json!({"code": r.info.code, "created_at": rfc3339(r.info.created_at), "id": r.info.id,
                   "rehearsal": r.info.rehearsal, "starts_at": r.info.starts_at.map(rfc3339),
                   "status": r.info.status, "title": r.info.title})
        })
        .collect();
    Ok(json!({
        "created_at": rfc3339(p.created_at),
        "current": p.current,
        "episodes": episodes,
        "id": p.id,
        "join_code": p.join_code,
        "keys": k,
        "links": {
            "audience": format!("{base}/p/{slug}"),
            "desk": format!("{base}/p/{slug}/desk#k={}", k.desk),
            "intake": format!("{base}/api/programmes/{slug}/intake"),
            "live_json": format!("{base}/api/programmes/{slug}/live.json?k={}", k.overlay),
            "moderator": format!("{base}/p/{slug}/m#k={}", k.moderator),
            "overlay": format!("{base}/p/{slug}/overlay#k={}", k.overlay),
            "press": format!("{base}/p/{slug}#p={}", k.press),
            "screen": format!("{base}/p/{slug}/screen#k={}", k.screen),
            "whatsapp": format!("{base}/api/programmes/{slug}/whatsapp"),
        },
        "next_at": p.next_at.map(rfc3339),
        "slug": slug,
        "speakers": p.speakers,
        "title": p.title,
    }))
}

fn programme_or_404(app: &AppState, name: &str) -> Result<Programme, ApiError> {
    app.hub.programme(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no programme `{}`", name.trim()),
        )
    })
}

fn speakers(m: &Map<String, Value>) -> Result<Option<Vec<crate::domain::SpeakerInput>>, ApiError> {
    match m.get("speakers") {
        None | Some(Value::Null) => Ok(None),
        Some(s) => super::protocol::speakers_input(s)
            .map(Some)
            .map_err(invalid),
    }
}

/// `POST /api/programmes` (admin) `{title, slug, join_code?, speakers?}`.
pub async fn create(
    State(app): State<AppState>,
    _: Admin,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body, "{title, slug, join_code?, speakers?}")?;
    only(&m, &["title", "slug", "join_code", "speakers"])?;
    let title = text(&m, "title")?
        .flatten()
        .ok_or_else(|| invalid("`title` is missing"))?;
    let slug = text(&m, "slug")?
        .flatten()
        .ok_or_else(|| invalid("`slug` is missing"))?;
    let code = text(&m, "join_code")?.flatten();
    let sp = speakers(&m)?.unwrap_or_default();
    let now = chrono::Utc::now().timestamp_millis();
    let p = app
        .hub
        .create_programme(&title, &slug, code.as_deref(), &sp, now)
        .await?;
    Ok((StatusCode::CREATED, Json(programme_json(&app, &p).await?)).into_response())
}

/// `GET /api/programmes` (admin).
pub async fn list(State(app): State<AppState>, _: Admin) -> Result<Response, ApiError> {
    let mut out = Vec::new();
    for p in app.hub.programmes() {
        out.push(programme_json(&app, &p).await?);
    }
    Ok(Json(json!({ "programmes": out })).into_response())
}

/// `GET /api/programmes/{slug}` (admin).
pub async fn get(
    State(app): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let p = programme_or_404(&app, &slug)?;
    Ok(Json(programme_json(&app, &p).await?).into_response())
}

/// `PATCH /api/programmes/{slug}` (admin) `{title?, join_code?, speakers?, next_at?, current?}`.
pub async fn patch(
    State(app): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body, "{title?, join_code?, speakers?, next_at?, current?}")?;
    only(
        &m,
        &["title", "join_code", "speakers", "next_at", "current"],
    )?;
    let title = match text(&m, "title")? {
        Some(None) => return Err(invalid("`title` cannot be null")),
        t => t.flatten(),
    };
    let current = match text(&m, "current")? {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => {
            Some(Some(Uuid::parse_str(&s).map_err(|_| {
                invalid("`current` must be a session id or null")
            })?))
        }
    };
    let patch = ProgrammePatch {
        title,
        join_code: text(&m, "join_code")?,
        speakers: speakers(&m)?,
        next_at: time(&m, "next_at")?,
        current,
    };
    let p = app.hub.update_programme(&slug, patch).await?;
    Ok(Json(programme_json(&app, &p).await?).into_response())
}

/// `POST /api/programmes/{slug}/keys/{role}` (admin): a new key; the programme-link sockets
/// of that role are closed with 4401.
pub async fn rotate_key(
    State(app): State<AppState>,
    _: Admin,
    Path((slug, role)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let role = KeyRole::parse(&role).ok_or_else(|| {
        invalid("the role must be one of moderator, screen, overlay, press, desk, intake")
    })?;
    let p = app.hub.rotate_programme_key(&slug, role).await?;
    Ok(Json(programme_json(&app, &p).await?).into_response())
}

/// `POST /api/programmes/{slug}/episodes` (admin) `{title?, starts_at?, rehearsal?, current?}`.
pub async fn new_episode(
    State(app): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = if body.trim_ascii().is_empty() {
        Map::new()
    } else {
        object(&body, "{title?, starts_at?, rehearsal?, current?}")?
    };
    only(&m, &["title", "starts_at", "rehearsal", "current"])?;
    let e = NewEpisode {
        title: text(&m, "title")?.flatten(),
        starts_at: time(&m, "starts_at")?.flatten(),
        rehearsal: flag(&m, "rehearsal")?,
        current: flag(&m, "current")?,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let (p, rec) = app.hub.new_episode(&slug, e, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "programme": programme_json(&app, &p).await?,
            "session": session_json(&app.cfg.base_url(), &rec),
        })),
    )
        .into_response())
}

/// `GET /api/p/{slug}` (public; also by join code): the programme, its current episode and
/// the next date, for the phone page while no episode is open.
pub async fn public(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let p = programme_or_404(&app, &name)?;
    let episodes = app.hub.episodes(p.id).await?;
    let current = p
        .current
        .and_then(|id| episodes.iter().find(|r| r.info.id == id));
    let now = chrono::Utc::now().timestamp_millis();
    // The next date: the office's, else the start of a later episode not yet current.
    let next = p.next_at.filter(|t| *t > now).or_else(|| {
        episodes
            .iter()
            .filter(|r| Some(r.info.id) != p.current)
            .filter_map(|r| r.info.starts_at)
            .filter(|t| *t > now)
            .min()
    });
    Ok(Json(json!({
        "current": current.map(|r| json!({
            "code": r.info.code, "rehearsal": r.info.rehearsal,
            "starts_at": r.info.starts_at.map(rfc3339), "status": r.info.status,
            "title": r.info.title})),
        "join_code": p.join_code,
        "next_at": next.map(rfc3339),
        "slug": p.slug,
        "title": p.title,
    }))
    .into_response())
}

/// The current episode of a programme, for its stable addresses: 404 when there is none.
async fn current(app: &AppState, name: &str) -> Result<(Programme, SessionHandle), ApiError> {
    match app.hub.programme_session(name).await? {
        Some(x) => Ok(x),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the programme has no current episode",
        )),
    }
}

/// `POST /api/programmes/{slug}/intake` (the programme's intake key): into the current episode.
pub async fn intake(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = bearer_token(&headers).ok_or_else(ApiError::unauthorized)?;
    let p = programme_or_404(&app, &slug)?;
    if !same_secret(key, p.keys.of(KeyRole::Intake)) {
        return Err(ApiError::unauthorized());
    }
    let (_, s) = current(&app, &slug).await?;
    let m = super::intake::fields(&headers, &body)?;
    let by = By {
        agency: None,
        name: None,
        role: ByRole::Gateway,
    };
    Ok(Json(super::intake::intake(&app, &s, m, by).await?).into_response())
}

/// `GET /api/programmes/{slug}/whatsapp`: Meta's verification, as the session's.
pub async fn whatsapp_verify(
    State(app): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    programme_or_404(&app, &slug)?;
    super::intake::challenge(&app, &q)
}

/// `POST /api/programmes/{slug}/whatsapp`: signed deliveries into the current episode.
pub async fn whatsapp(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::intake::check_signature(&app, &headers, &body, &slug)?;
    let (_, s) = current(&app, &slug).await?;
    super::intake::messages(&app, &s, &body).await
}

/// `GET /api/programmes/{slug}/live.json?k=OVERLAYKEY`: the current episode's row; nothing on
/// air while there is none.
pub async fn live_json(
    State(app): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let p = programme_or_404(&app, &slug)?;
    let key = q.get("k").ok_or_else(ApiError::unauthorized)?;
    if !same_secret(key, &p.keys.overlay) {
        return Err(ApiError::unauthorized());
    }
    let base = app.cfg.base_url();
    let join = (
        p.join_code.clone().unwrap_or_default(),
        format!("{base}/p/{}", p.slug),
    );
    match app.hub.programme_session(&slug).await? {
        Some((_, s)) => super::api::live_rows(&app, &s, None, Some(join)).await,
        None => Ok((
            [(header::CACHE_CONTROL, "no-store")],
            Json(
                json!([{"visible": false, "text": "", "air_text": "", "graphic": "",
                         "join_code": join.0, "join_url": join.1, "poll_visible": false}]),
            ),
        )
            .into_response()),
    }
}

/// `GET /api/sessions/{id}/carry` (moderator key of the episode or its programme, or admin):
/// what may be carried over from the episode before.
pub async fn carry_list(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (s, _) = super::followup::staff_session(&app, &headers, &id).await?;
    let rec = record(&app, &id).await?;
    let (from, ids) = app.hub.carry_candidates(&s, &rec).await?;
    let questions = match &from {
        Some(prev) => {
            let prev_s = app
                .hub
                .session(&prev.info.id.to_string())
                .await?
                .ok_or_else(|| {
                    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such session")
                })?;
            prev_s
                .query(move |v| {
                    ids.iter()
                        .filter_map(|id| v.state.question(*id))
                        .map(|q| {
                            let mut view = serde_json::to_value(crate::domain::view::question(
                                v.state,
                                q,
                                crate::domain::view::QuestionViewKind::Moderator,
                                v.authors,
                            ))
                            .unwrap_or(Value::Null);
                            view["case"] = json!(v.state.case(q.id).map(|c| c.status));
                            view
                        })
                        .collect::<Vec<_>>()
                })
                .await?
        }
        None => vec![],
    };
    Ok(Json(json!({
        "from": from.map(|r| json!({"code": r.info.code, "starts_at": r.info.starts_at.map(rfc3339),
                                    "title": r.info.title})),
        "questions": questions,
    }))
    .into_response())
}

/// `POST /api/sessions/{id}/carry` `{questions: [ids], by?}`: carries them over.
pub async fn carry(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (s, admin) = super::followup::staff_session(&app, &headers, &id).await?;
    let m = object(&body, "{questions: [question ids], by?}")?;
    only(&m, &["questions", "by"])?;
    let list = m
        .get("questions")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`questions` must be a list of question ids"))?;
    if list.is_empty() || list.len() > 500 {
        return Err(invalid("`questions` must hold 1 to 500 question ids"));
    }
    let mut ids = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let id = v
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| invalid(format!("`questions[{i}]` must be a question id")))?;
        ids.push(id);
    }
    let name = match text(&m, "by")?.flatten() {
        Some(n) => crate::domain::followup::validate_by_name(&n).map_err(|e| invalid(e.0))?,
        None => None,
    };
    let by = if admin {
        By {
            agency: None,
            name,
            role: ByRole::Office,
        }
    } else {
        By::moderator(name)
    };
    let rec = record(&app, &id).await?;
    let out = app.hub.carry(&s, &rec, &ids, by).await?;
    Ok(Json(out).into_response())
}

async fn record(app: &AppState, id: &str) -> Result<crate::store::SessionRecord, ApiError> {
    app.hub
        .shared()
        .store
        .find_session(id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such session"))
}

/// `/j/{code}`: the phone page, or for a programme's join code its stable page `/p/{slug}`.
pub async fn join_page(
    State(app): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    match app.hub.programme(&code).filter(|p| p.join_code.is_some()) {
        Some(p) if !crate::hub::secrets::looks_like_code(&code) => {
            Redirect::to(&format!("/p/{}", p.slug)).into_response()
        }
        _ => super::pages::audience(headers).await,
    }
}
