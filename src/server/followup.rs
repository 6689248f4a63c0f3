//! The follow-up over HTTP (docs/followup.md): the tracking lookup, agencies and their
//! inboxes, the office's case list and actions, the public board, the report, a question's
//! history, and the purge. A contact leaves the hub only in the answers of the office (admin
//! token), a session's moderators (its key) and the agency a case is forwarded to.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::api::{Admin, ApiError, bearer_token};
use crate::domain::followup::{
    By, CaseAction, CaseDoc, CaseStatus, parse_tracking, validate_by_name,
};
use crate::domain::personal;
use crate::domain::tally::{self, Counts};
use crate::domain::text::FieldError;
use crate::domain::view::rfc3339;
use crate::domain::{ErrorCode, Net, Rejection};
use crate::store::{Agency, CaseFilter, CaseRow, SessionRecord};

/// Tracking lookups per address: `followup.lookups_per_minute`, a burst of the same size.
pub type Lookups = governor::DefaultKeyedRateLimiter<Net>;

/// The lookup limiter of a configuration.
pub fn lookups(per_minute: u32) -> Arc<Lookups> {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(n)))
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let status = match r.code {
            ErrorCode::Invalid => StatusCode::BAD_REQUEST,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict | ErrorCode::Closed | ErrorCode::Unconfirmed => {
                StatusCode::CONFLICT
            }
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Banned => StatusCode::FORBIDDEN,
            ErrorCode::Internal => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, r.code.as_str(), r.message).retry_after(r.retry_after_ms)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.0)
    }
}

/// A JSON object body, or a clear `invalid`.
fn object(body: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "the body must be a JSON object",
        )),
    }
}

/// A string field of a body: `None` when absent or null.
fn opt_string(o: &serde_json::Map<String, Value>, k: &str) -> Result<Option<String>, FieldError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(FieldError(format!("`{k}` must be a string"))),
    }
}

/// A case action and the acting person's name from a body `{action, ..., by?}`.
fn action_of(o: &serde_json::Map<String, Value>) -> Result<(CaseAction, Option<String>), ApiError> {
    let action =
        opt_string(o, "action")?.ok_or_else(|| FieldError("`action` is missing".into()))?;
    let a = CaseAction::parse(
        &action,
        |k| opt_string(o, k),
        |k| match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(FieldError(format!("`{k}` must be true or false"))),
        },
    )?;
    let by = match opt_string(o, "by")? {
        None => None,
        Some(n) => validate_by_name(&n)?,
    };
    Ok((a, by))
}

/// The office's today.
fn today(app: &AppState) -> NaiveDate {
    app.cfg.today()
}

fn agency_json(a: Option<&Agency>, with_id: bool) -> Value {
    match a {
        None => Value::Null,
        Some(a) if with_id => json!({"id": a.id, "name": a.name, "short": a.short}),
        Some(a) => json!({"name": a.name, "short": a.short}),
    }
}

/// Everything the hub keeps of a case, for the office, the session's moderators and its agency.
fn case_json(
    row: &CaseRow,
    doc: &CaseDoc,
    sessions: &HashMap<Uuid, SessionRecord>,
    agencies: &[Agency],
    today: NaiveDate,
) -> Value {
    let find = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| agencies.iter().find(|a| &a.id == id))
    };
    let q = &doc.question;
    let c = &doc.case;
    let session = sessions.get(&row.session).map_or(
        Value::Null,
        |s| json!({"code": s.info.code, "id": s.info.id, "title": s.info.title}),
    );
    let history: Vec<Value> = c
        .history
        .iter()
        .map(|s| {
            json!({"action": s.action, "agency": s.agency, "at": rfc3339(s.at), "by": s.by,
                   "status": s.status, "text": s.text})
        })
        .collect();
    json!({
        "agency": agency_json(find(&c.agency), true),
        "answer": c.answer,
        "channel": q.channel,
        "contact": q.contact,
        "created_at": rfc3339(q.created_at),
        "due": c.due.map(|d| d.to_string()),
        "history": history,
        "name": q.name,
        "note": c.note,
        "on_air": q.status,
        "overdue": c.overdue(today),
        "place": q.place,
        "public": c.public,
        "question": q.id,
        "reason": c.reason,
        "session": session,
        "source": q.source,
        "status": c.status,
        "text": q.text,
        "topic": q.topic,
        "tracking": row.tracking,
        "updated_at": rfc3339(row.updated_at),
    })
}

fn doc(row: &CaseRow) -> Result<CaseDoc, ApiError> {
    serde_json::from_str(&row.body).map_err(|e| {
        tracing::error!(question = %row.question, error = %e, "case row unreadable");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    })
}

async fn sessions_by_id(app: &AppState) -> Result<HashMap<Uuid, SessionRecord>, ApiError> {
    Ok(app
        .hub
        .list_sessions()
        .await?
        .into_iter()
        .map(|s| (s.info.id, s))
        .collect())
}

/// Case rows as the office and agencies see them, overdue first, then by due date, then newest.
async fn case_list(app: &AppState, rows: Vec<CaseRow>, sort_due: bool) -> Result<Value, ApiError> {
    let sessions = sessions_by_id(app).await?;
    let agencies = app.hub.agencies();
    let today = today(app);
    let mut docs: Vec<(CaseRow, CaseDoc)> = Vec::with_capacity(rows.len());
    for r in rows {
        let d = doc(&r)?;
        docs.push((r, d));
    }
    if sort_due {
        docs.sort_by(|(_, a), (_, b)| {
            b.case
                .overdue(today)
                .cmp(&a.case.overdue(today))
                .then_with(|| {
                    a.case
                        .due
                        .unwrap_or(NaiveDate::MAX)
                        .cmp(&b.case.due.unwrap_or(NaiveDate::MAX))
                })
                .then_with(|| b.question.created_at.cmp(&a.question.created_at))
        });
    }
    Ok(Value::Array(
        docs.iter()
            .map(|(r, d)| case_json(r, d, &sessions, &agencies, today))
            .collect(),
    ))
}

/// `GET /api/followup/options`: the place and topic lists.
pub async fn options(State(app): State<AppState>) -> Response {
    Json(json!(*app.hub.shared().options)).into_response()
}

/// `GET /api/track/{code}`: a case as its tracking code shows it: never a name or a contact.
pub async fn track(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let ip = super::client::client_ip(&app.cfg, peer.ip(), &headers);
    if let Err(not_until) = app.lookups.check_key(&Net::of(ip)) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let ms = wait.as_millis().max(1) as u64;
        return Ok(rate_limited(ms));
    }
    let code = parse_tracking(&code)?;
    let rows = app
        .hub
        .shared()
        .store
        .cases(&CaseFilter {
            tracking: Some(code.clone()),
            ..CaseFilter::default()
        })
        .await?;
    // The oldest question of a code (two questions sharing one of 28^9 codes is not expected;
    // if it happens, the first keeps it).
    let Some(row) = rows.iter().min_by_key(|r| r.created_at) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no question has this tracking code",
        ));
    };
    let d = doc(row)?;
    let sessions = sessions_by_id(&app).await?;
    let agencies = app.hub.agencies();
    let find = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| agencies.iter().find(|a| &a.id == id))
    };
    let c = &d.case;
    let history: Vec<Value> = c
        .history
        .iter()
        .filter(|s| s.action != "publish")
        .map(|s| {
            json!({"action": s.action, "agency": agency_json(find(&s.agency), false),
                   "at": rfc3339(s.at), "status": s.status,
                   "text": s.text.as_deref().map(masked)})
        })
        .collect();
    let session = sessions.get(&row.session).map_or(Value::Null, |s| {
        json!({"code": s.info.code, "created_at": rfc3339(s.info.created_at), "title": s.info.title})
    });
    Ok(Json(json!({
        "case": {
            "agency": agency_json(find(&c.agency), false),
            "answer": c.answer.as_deref().map(masked),
            "due": c.due.map(|d| d.to_string()),
            "history": history,
            "overdue": c.overdue(today(&app)),
            "reason": c.reason.as_deref().map(masked),
            "status": c.status,
        },
        "question": {
            "created_at": rfc3339(d.question.created_at),
            "place": d.question.place,
            "status": d.question.status,
            "text": d.public_text,
            "topic": d.question.topic,
        },
        "session": session,
        "time_zone": app.cfg.time_zone,
        "tracking": row.tracking,
    }))
    .into_response())
}

/// A text as the public may read it: personal data masked.
fn masked(s: &str) -> String {
    personal::mask(s).unwrap_or_else(|| s.to_string())
}

fn rate_limited(ms: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"error": {"code": "rate_limited",
            "message": format!("too many lookups from this address: wait {}s", ms.div_ceil(1000)),
            "retry_after_ms": ms}})),
    )
        .into_response()
}

fn agency_with_link(app: &AppState, a: &Agency) -> Value {
    json!({"id": a.id, "key": a.key, "link": format!("{}/a/{}#k={}", app.cfg.base_url(), a.id, a.key),
           "name": a.name, "short": a.short})
}

/// `GET /api/agencies` (admin): every agency with its key and link.
pub async fn list_agencies(State(app): State<AppState>, _: Admin) -> Response {
    let list: Vec<Value> = app
        .hub
        .agencies()
        .iter()
        .map(|a| agency_with_link(&app, a))
        .collect();
    Json(json!({ "agencies": list })).into_response()
}

/// `POST /api/agencies` (admin) `{name, short, id?}`: a new agency with its key and link.
pub async fn create_agency(
    State(app): State<AppState>,
    _: Admin,
    body: Bytes,
) -> Result<Response, ApiError> {
    let o = object(&body)?;
    let name = opt_string(&o, "name")?.ok_or_else(|| FieldError("`name` is missing".into()))?;
    let short = opt_string(&o, "short")?.ok_or_else(|| FieldError("`short` is missing".into()))?;
    let id = opt_string(&o, "id")?;
    match app.hub.create_agency(&name, &short, id.as_deref()).await {
        Ok(a) => {
            tracing::info!(agency = %a.id, "agency created");
            Ok((StatusCode::CREATED, Json(agency_with_link(&app, &a))).into_response())
        }
        Err(crate::hub::HubError::Store(crate::store::StoreError::Duplicate(_))) => {
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "an agency with this id exists: give another `id`",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/agencies/{id}/key` (admin): a new key; the old link stops working.
pub async fn rotate_agency_key(
    State(app): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let a = app
        .hub
        .rotate_agency_key(&id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such agency"))?;
    tracing::info!(agency = %a.id, "agency key rotated");
    Ok(Json(agency_with_link(&app, &a)).into_response())
}

/// The agency of `{id}` whose key the request carries; 401 otherwise (also for no such agency,
/// so a key cannot be tried against ids).
fn agency_of(app: &AppState, headers: &HeaderMap, id: &str) -> Result<Agency, ApiError> {
    let key = bearer_token(headers).ok_or_else(ApiError::unauthorized)?;
    app.hub
        .agency_with_key(id, key)
        .ok_or_else(ApiError::unauthorized)
}

/// `GET /api/agency/{id}/cases` (the agency's key): the cases forwarded to it, every session.
pub async fn agency_cases(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let a = agency_of(&app, &headers, &id)?;
    let rows = app
        .hub
        .shared()
        .store
        .cases(&CaseFilter {
            agency: Some(a.id.clone()),
            ..CaseFilter::default()
        })
        .await?;
    let cases = case_list(&app, rows, true).await?;
    Ok(Json(json!({"agency": agency_json(Some(&a), true), "cases": cases})).into_response())
}

/// `POST /api/agency/{id}/cases/{question}` (the agency's key) `{action, answer?, reason?,
/// note?, by?}`: acknowledge, resolve, decline or return one of its cases.
pub async fn agency_act(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((id, question)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let a = agency_of(&app, &headers, &id)?;
    let question = question_id(&question)?;
    let (action, name) = action_of(&object(&body)?)?;
    act(&app, question, By::agency(a.id, name), action).await
}

fn question_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such case (the path names a question id)",
        )
    })
}

async fn act(
    app: &AppState,
    question: Uuid,
    by: By,
    action: CaseAction,
) -> Result<Response, ApiError> {
    let kind = action.as_str();
    let role = by.role;
    let row = app.hub.case_action(question, by, action).await??;
    tracing::info!(%question, action = kind, ?role, "case action");
    let list = case_list(app, vec![row], false).await?;
    let case = list.get(0).cloned().unwrap_or(Value::Null);
    Ok(Json(json!({ "case": case })).into_response())
}

/// Query of the office's case list.
#[derive(Debug, Deserialize)]
pub struct CasesQuery {
    status: Option<String>,
    agency: Option<String>,
    session: Option<String>,
}

/// `GET /api/cases?status=&agency=&session=` (admin): every case, newest first, with contacts.
pub async fn cases(
    State(app): State<AppState>,
    _: Admin,
    Query(q): Query<CasesQuery>,
) -> Result<Response, ApiError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(CaseStatus::parse(s).ok_or_else(|| {
            FieldError(format!(
                "`status` \"{s}\" is not one of received, forwarded, in_progress, resolved, declined, reopened"
            ))
        })?),
    };
    let session = match q.session.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            Uuid::parse_str(s).map_err(|_| FieldError("`session` must be a session id".into()))?,
        ),
    };
    let mut rows = app
        .hub
        .shared()
        .store
        .cases(&CaseFilter {
            session,
            agency: q.agency.filter(|a| !a.is_empty()),
            ..CaseFilter::default()
        })
        .await?;
    if let Some(s) = status {
        rows.retain(|r| r.status == s.as_str());
    }
    let list = case_list(&app, rows, false).await?;
    Ok(Json(json!({ "cases": list })).into_response())
}

/// `POST /api/cases/{question}` (admin) `{action, ..., by?}`: a case action by the office.
pub async fn office_act(
    State(app): State<AppState>,
    _: Admin,
    Path(question): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let question = question_id(&question)?;
    let (action, name) = action_of(&object(&body)?)?;
    act(&app, question, By::office(name), action).await
}

/// `POST /api/purge` (admin) `{before: "YYYY-MM-DD"}`: erases every contact of questions asked
/// before that day (office time).
pub async fn purge(
    State(app): State<AppState>,
    _: Admin,
    body: Bytes,
) -> Result<Response, ApiError> {
    let o = object(&body)?;
    let before =
        opt_string(&o, "before")?.ok_or_else(|| FieldError("`before` is missing".into()))?;
    let day = NaiveDate::parse_from_str(before.trim(), "%Y-%m-%d").map_err(|_| {
        FieldError(format!(
            "`before` \"{before}\" is not a date like 2026-06-01"
        ))
    })?;
    let ms = start_of_day(&app, day);
    let n = app.hub.purge(ms).await?;
    Ok(Json(json!({ "erased": n })).into_response())
}

/// Midnight of a day in the office's time zone, epoch milliseconds.
pub fn start_of_day(app: &AppState, day: NaiveDate) -> i64 {
    crate::config::start_of_day(app.cfg.tz(), day)
}

/// `GET /api/board`: the public follow-up board: counts per session, over all, per agency,
/// and the cases the office made public (text masked; never a name or a contact).
pub async fn board(State(app): State<AppState>) -> Result<Response, ApiError> {
    let rows = app.hub.shared().store.cases(&CaseFilter::default()).await?;
    let mut docs: Vec<(Uuid, CaseDoc)> = Vec::with_capacity(rows.len());
    for r in &rows {
        docs.push((r.session, doc(r)?));
    }
    let today = today(&app);
    let sessions = app.hub.list_sessions().await?;
    let agencies = app.hub.agencies();
    let per_session: Vec<Value> = sessions
        .iter()
        .map(|s| {
            let c = Counts::of(
                docs.iter()
                    .filter(|(id, _)| *id == s.info.id)
                    .map(|(_, d)| d),
                today,
            );
            json!({"code": s.info.code, "counts": c, "created_at": rfc3339(s.info.created_at),
                   "id": s.info.id, "title": s.info.title})
        })
        .collect();
    let total = Counts::of(docs.iter().map(|(_, d)| d), today);
    let agency_rows = agency_rows(&agencies, docs.iter().map(|(_, d)| d), today);
    let by_session: HashMap<Uuid, &SessionRecord> =
        sessions.iter().map(|s| (s.info.id, s)).collect();
    let public: Vec<Value> = docs
        .iter()
        .filter(|(_, d)| d.case.public)
        .map(|(sid, d)| {
            let a = d
                .case
                .agency
                .as_ref()
                .and_then(|id| agencies.iter().find(|a| &a.id == id));
            json!({
                "agency": agency_json(a, false),
                "answer": d.case.answer.as_deref().map(masked),
                "created_at": rfc3339(d.question.created_at),
                "due": d.case.due.map(|x| x.to_string()),
                "overdue": d.case.overdue(today),
                "place": d.question.place,
                "session": by_session.get(sid).map(|s| json!({"code": s.info.code, "title": s.info.title})),
                "status": d.case.status,
                "text": d.public_text,
                "topic": d.question.topic,
                "tracking": crate::domain::followup::tracking_code(d.question.id),
            })
        })
        .collect();
    Ok(Json(json!({
        "agencies": agency_rows,
        "generated_at": rfc3339(chrono::Utc::now().timestamp_millis()),
        "public_cases": public,
        "sessions": per_session,
        "time_zone": app.cfg.time_zone,
        "total": total,
    }))
    .into_response())
}

/// One row per agency (also those with no case yet), with its counts.
pub fn agency_rows<'a>(
    agencies: &[Agency],
    docs: impl IntoIterator<Item = &'a CaseDoc>,
    today: NaiveDate,
) -> Vec<Value> {
    let per = tally::per_agency(docs, today);
    agencies
        .iter()
        .map(|a| {
            let c = per.get(&a.id).cloned().unwrap_or_default();
            json!({"declined": c.declined, "forwarded": c.forwarded, "id": a.id,
                   "median_days": c.median_days, "name": a.name, "open": c.open,
                   "overdue": c.overdue, "resolved": c.resolved, "short": a.short})
        })
        .collect()
}

/// The session of `{id}` for a request with the admin token or the session's moderator key,
/// and whether it was the admin token.
pub async fn staff_session(
    app: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(crate::hub::SessionHandle, bool), ApiError> {
    let token = bearer_token(headers)
        .ok_or_else(ApiError::unauthorized)?
        .to_string();
    if Uuid::parse_str(id).is_err() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such session",
        ));
    }
    let s = app
        .hub
        .session(id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such session"))?;
    if app.admin.accepts(&app.hub, &token).await {
        return Ok((s, true));
    }
    if super::api::moderates(app, &s, &token).await? {
        Ok((s, false))
    } else {
        Err(ApiError::unauthorized())
    }
}

/// `GET /api/sessions/{id}/questions/{question}/history` (moderator key or admin): who did what.
pub async fn history(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((id, question)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (s, _) = staff_session(&app, &headers, &id).await?;
    let q = question_id(&question)?;
    let steps = s
        .query(move |v| {
            v.state.question(q).map(|_| {
                v.state
                    .history(q)
                    .into_iter()
                    .map(|h| {
                        json!({"action": h.action, "agency": h.agency, "at": rfc3339(h.at), "by": h.by,
                               "case_status": h.case_status, "status": h.status, "text": h.text})
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such question"))?;
    Ok(Json(json!({ "history": steps })).into_response())
}

/// `GET /api/sessions/{id}/report` (moderator key or admin): the morning-after report's data.
pub async fn report(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (s, _) = staff_session(&app, &headers, &id).await?;
    let (info, docs, peak) = s
        .query(|v| {
            let docs: Vec<CaseDoc> = v
                .state
                .questions()
                .map(|q| crate::hub::followup::case_doc(v.state, q))
                .collect();
            (v.state.info.clone(), docs, v.state.peak())
        })
        .await?;
    let today = today(&app);
    let counted: Vec<&CaseDoc> = docs
        .iter()
        .filter(|d| tally::counts_as_received(d))
        .collect();
    let name = |v: Value| v.as_str().map(str::to_string);
    let by_channel = tally::by(counted.iter().copied(), |d| {
        Some(
            d.question
                .channel
                .map_or("web".to_string(), |c| name(json!(c)).unwrap_or_default()),
        )
    });
    let by_source = tally::by(counted.iter().copied(), |d| name(json!(d.question.source)));
    let by_status = tally::by(docs.iter(), |d| {
        Some(d.question.status.as_str().to_string())
    });
    let by_topic = tally::by(counted.iter().copied(), |d| d.question.topic.clone());
    let by_place = tally::by(counted.iter().copied(), |d| {
        d.question.place.as_ref().map(|p| p.kecamatan.clone())
    });
    let by_case = tally::by(counted.iter().copied(), |d| {
        Some(d.case.status.as_str().to_string())
    });
    let agencies = app.hub.agencies();
    let agency_rows: Vec<Value> = agency_rows(&agencies, docs.iter(), today)
        .into_iter()
        .filter(|r| r["forwarded"].as_u64().unwrap_or(0) > 0)
        .collect();
    // Earlier sessions: up to six created before this one, newest first, from the case table.
    let sessions = app.hub.list_sessions().await?;
    let earlier: Vec<&SessionRecord> = sessions
        .iter()
        .filter(|r| r.info.created_at < info.created_at && r.info.id != info.id)
        .take(6)
        .collect();
    let mut earlier_json = Vec::new();
    for r in earlier {
        let rows = app
            .hub
            .shared()
            .store
            .cases(&CaseFilter {
                session: Some(r.info.id),
                ..CaseFilter::default()
            })
            .await?;
        let mut ds = Vec::with_capacity(rows.len());
        for row in &rows {
            ds.push(doc(row)?);
        }
        let peak = app.hub.peak_of(r.info.id).await?;
        earlier_json.push(
            json!({"code": r.info.code, "counts": Counts::of(ds.iter(), today),
            "created_at": rfc3339(r.info.created_at), "id": r.info.id, "peak": peak,
            "title": r.info.title}),
        );
    }
    Ok(Json(json!({
        "agencies": agency_rows,
        "by_case": by_case,
        "by_channel": by_channel,
        "by_place": by_place,
        "by_source": by_source,
        "by_status": by_status,
        "by_topic": by_topic,
        "counts": Counts::of(docs.iter(), today),
        "earlier": earlier_json,
        "generated_at": rfc3339(chrono::Utc::now().timestamp_millis()),
        "peak": peak,
        "session": {"code": info.code, "created_at": rfc3339(info.created_at), "id": info.id,
                    "speakers": info.speakers, "starts_at": info.starts_at.map(rfc3339),
                    "status": info.status, "title": info.title},
        "time_zone": app.cfg.time_zone,
    }))
    .into_response())
}
