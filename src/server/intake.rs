//! Questions from outside the room (docs/intake.md): the intake API for gateways (SMS,
//! WhatsApp, e-mail, web forms) and the WhatsApp Cloud API webhook. Each question is an `enter`
//! of the session, checked by the same parser as the WebSocket's, idempotent per `ref`,
//! attributed to the gateway, and answered with its tracking code and a ready-made reply.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use uuid::Uuid;

use super::AppState;
use super::api::{ApiError, bearer_token};
use super::protocol::{self, ClientMsg};
use crate::domain::followup::{By, ByRole, tracking_code};
use crate::domain::question::Via;
use crate::domain::view::rfc3339;
use crate::domain::{Command, Role};
use crate::hub::SessionHandle;
use crate::hub::followup::RequestKind;
use crate::hub::secrets::same_secret;

/// The channels a gateway may name.
const CHANNELS: [&str; 4] = ["sms", "whatsapp", "email", "web"];

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid", m)
}

async fn session(app: &AppState, id: &str) -> Result<SessionHandle, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such session");
    if Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    app.hub.session(id).await?.ok_or_else(not_found)
}

/// The body of an intake: a JSON object, or a form (`kecamatan`, `kelurahan` for `place`). A
/// body that starts with `{` is JSON whatever its content type says (`curl -d` calls JSON a
/// form).
pub(super) fn fields(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        && !body.trim_ascii_start().starts_with(b"{");
    if !form {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(invalid("the body must be a JSON object")),
            Err(e) => Err(invalid(format!("the body is not valid JSON: {e}"))),
        };
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| invalid(format!("the form cannot be read: {e}")))?;
    let mut m = Map::new();
    let mut place = Map::new();
    for (k, v) in pairs {
        match k.as_str() {
            "kecamatan" | "kelurahan" => {
                place.insert(k, Value::String(v));
            }
            _ => {
                m.insert(k, Value::String(v));
            }
        }
    }
    if !place.is_empty() {
        m.insert("place".into(), Value::Object(place));
    }
    Ok(m)
}

/// Checks an intake's fields as the WebSocket's `enter` (the same cleaning and limits), for a
/// gateway channel; the command, its `ref` made the gateway's own.
fn enter_of(mut m: Map<String, Value>) -> Result<(Command, Option<String>), ApiError> {
    match m.get("channel") {
        Some(Value::String(c)) if CHANNELS.contains(&c.as_str()) => {}
        Some(_) => {
            return Err(invalid(format!(
                "`channel` must be one of {}",
                CHANNELS.join(", ")
            )));
        }
        None => return Err(invalid("`channel` is missing")),
    }
    if !m.contains_key("ref") {
        return Err(invalid("`ref` is missing (the gateway's message id)"));
    }
    m.remove("to");
    m.remove("station");
    m.insert("type".into(), json!("enter"));
    let frame = Value::Object(m).to_string();
    match protocol::parse(&frame, Some(Role::Moderator)) {
        Ok(ClientMsg::Command {
            cmd:
                Command::Enter {
                    client_ref,
                    text,
                    name,
                    channel,
                    to,
                    followup,
                    ..
                },
            ..
        }) => {
            let contact = followup.contact.clone();
            Ok((
                Command::Enter {
                    client_ref: format!("intake:{client_ref}"),
                    text,
                    name,
                    channel,
                    to,
                    followup,
                    station: None,
                },
                contact,
            ))
        }
        Ok(_) => Err(invalid("not a question")),
        Err(e) => Err(ApiError::from(e.rejection)),
    }
}

/// Runs an intake on a session: the question (new, or the one its `ref` made before), its
/// tracking code and the reply for the citizen.
pub(super) async fn intake(
    app: &AppState,
    s: &SessionHandle,
    m: Map<String, Value>,
    by: By,
) -> Result<Value, ApiError> {
    let (cmd, contact) = enter_of(m)?;
    let limit = contact.map(|c| format!("{}|{c}", s.id));
    let id = s
        .request(RequestKind::Enter {
            cmd,
            via: Via::Gateway,
            by,
            limit,
        })
        .await??
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?;
    let q = s
        .query(move |v| {
            v.state.question(id).map(|q| {
                json!({"channel": q.channel, "created_at": rfc3339(q.created_at), "id": q.id,
                       "status": q.status})
            })
        })
        .await?
        .unwrap_or(Value::Null);
    let code = tracking_code(id);
    let lacak = format!("{}/lacak/{code}", app.cfg.base_url());
    let reply = app
        .cfg
        .intake
        .reply_template
        .replace("{kode}", &code)
        .replace("{lacak}", &lacak);
    Ok(json!({"question": q, "reply_text": reply, "tracking": code}))
}

/// `POST /api/sessions/{id}/intake` (the session's intake key): a question from a gateway.
pub async fn post(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = bearer_token(&headers)
        .ok_or_else(ApiError::unauthorized)?
        .to_string();
    let s = session(&app, &id).await?;
    if !s
        .query(move |v| same_secret(&key, &v.record.keys.intake))
        .await?
    {
        return Err(ApiError::unauthorized());
    }
    let m = fields(&headers, &body)?;
    let out = intake(
        &app,
        &s,
        m,
        By {
            agency: None,
            name: None,
            role: ByRole::Gateway,
        },
    )
    .await?;
    Ok(Json(out).into_response())
}

/// `GET /api/sessions/{id}/whatsapp?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`:
/// Meta's verification of the webhook; `C` back when `T` is `whatsapp.verify_token`.
pub async fn verify(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    session(&app, &id).await?;
    challenge(&app, &q)
}

/// Meta's verification: `hub.challenge` back when `hub.verify_token` is the configured one.
pub(super) fn challenge(app: &AppState, q: &HashMap<String, String>) -> Result<Response, ApiError> {
    let ok = q.get("hub.mode").map(String::as_str) == Some("subscribe")
        && match (&app.cfg.whatsapp.verify_token, q.get("hub.verify_token")) {
            (Some(want), Some(got)) => same_secret(want, got),
            _ => false,
        };
    match q.get("hub.challenge") {
        Some(c) if ok => Ok(([(header::CONTENT_TYPE, "text/plain")], c.clone()).into_response()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the verify token does not match whatsapp.verify_token",
        )),
    }
}

/// Whether `signature` (`sha256=HEX`) is the HMAC-SHA256 of `body` under `secret`.
pub fn signed(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Some(sig) = unhex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `POST /api/sessions/{id}/whatsapp`: deliveries of the WhatsApp Cloud API, signed with the
/// app secret (`X-Hub-Signature-256`; a wrong or missing one: 401, nothing created). Text
/// messages become questions (the message id as `ref`, the sender as the private contact, the
/// profile name as the name); everything else is acknowledged and ignored.
pub async fn deliver(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_signature(&app, &headers, &body, &id)?;
    let s = session(&app, &id).await?;
    messages(&app, &s, &body).await
}

/// The delivery's `X-Hub-Signature-256` under `whatsapp.app_secret`; 401 when it does not match.
pub(super) fn check_signature(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    to: &str,
) -> Result<(), ApiError> {
    let unsigned = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "X-Hub-Signature-256 does not match the body under whatsapp.app_secret",
        )
    };
    let secret = app.cfg.whatsapp.app_secret.clone().ok_or_else(unsigned)?;
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unsigned)?;
    if !signed(&secret, body, sig) {
        tracing::warn!(to, "whatsapp delivery with a bad signature");
        return Err(unsigned());
    }
    Ok(())
}

/// The text messages of a signed delivery, as questions of `s`.
pub(super) async fn messages(
    app: &AppState,
    s: &SessionHandle,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let id = s.id;
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the body is not valid JSON: {e}")))?;
    let (mut accepted, mut ignored) = (0usize, 0usize);
    let changes = v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten());
    let mut texts = Vec::new();
    for c in changes {
        let value = &c["value"];
        let names: HashMap<&str, &str> = value["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["wa_id"].as_str()?, c["profile"]["name"].as_str()?)))
            .collect();
        for m in value["messages"].as_array().into_iter().flatten() {
            let (Some(mid), Some(from)) = (m["id"].as_str(), m["from"].as_str()) else {
                ignored += 1;
                continue;
            };
            match (m["type"].as_str(), m["text"]["body"].as_str()) {
                (Some("text"), Some(text)) => {
                    let mut f = Map::new();
                    f.insert(
                        "ref".into(),
                        json!(mid.chars().take(100).collect::<String>()),
                    );
                    f.insert("channel".into(), json!("whatsapp"));
                    f.insert("text".into(), json!(text));
                    f.insert(
                        "contact".into(),
                        json!(format!("+{}", from.trim_start_matches('+'))),
                    );
                    if let Some(n) = names.get(from) {
                        f.insert("name".into(), json!(n.chars().take(60).collect::<String>()));
                    }
                    texts.push(f);
                }
                _ => ignored += 1,
            }
        }
    }
    let by = By {
        agency: None,
        name: Some("WhatsApp".into()),
        role: ByRole::Gateway,
    };
    for f in texts {
        match intake(app, s, f, by.clone()).await {
            Ok(_) => accepted += 1,
            Err(e) => {
                tracing::info!(session = %id, error = ?e, "whatsapp message not taken");
                ignored += 1;
            }
        }
    }
    Ok(Json(json!({"accepted": accepted, "ignored": ignored})).into_response())
}
