//! The row mapping both stores share: their tables have the same columns and types (text ids
//! and JSON, integer times and flags), so a row reads the same from SQLite and PostgreSQL.

use uuid::Uuid;

use super::{Agency, CaseRow, Keys, Programme, SessionRecord, StoreError};
use crate::domain::SessionInfo;

/// The columns of a row, by name.
pub(super) trait Cols {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
}

macro_rules! cols {
    ($row:ty) => {
        impl Cols for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
        }
    };
}
cols!(sqlx::sqlite::SqliteRow);
cols!(sqlx::postgres::PgRow);

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A stored id.
pub(super) fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(corrupt)
}

fn opt_uuid(r: &impl Cols, col: &str) -> Result<Option<Uuid>, StoreError> {
    r.opt_text(col)?.as_deref().map(uuid).transpose()
}

/// A `sessions` row.
pub(super) fn record(r: &impl Cols) -> Result<SessionRecord, StoreError> {
    let info = SessionInfo {
        id: uuid(&r.text("id")?)?,
        code: r.text("code")?,
        title: r.text("title")?,
        status: serde_json::from_value(serde_json::Value::String(r.text("status")?))
            .map_err(corrupt)?,
        speakers: serde_json::from_str(&r.text("speakers")?).map_err(corrupt)?,
        created_at: r.int("created_at")?,
        starts_at: r.opt_int("starts_at")?,
        rehearsal: r.int("rehearsal")? != 0,
    };
    Ok(SessionRecord {
        info,
        keys: Keys {
            moderator: r.text("moderator_key")?,
            screen: r.text("screen_key")?,
            overlay: r.text("overlay_key")?,
            press: r.text("press_key")?,
            desk: r.text("desk_key")?,
            intake: r.text("intake_key")?,
        },
        programme: opt_uuid(r, "programme_id")?,
    })
}

/// A `programmes` row.
pub(super) fn programme(r: &impl Cols) -> Result<Programme, StoreError> {
    Ok(Programme {
        id: uuid(&r.text("id")?)?,
        slug: r.text("slug")?,
        title: r.text("title")?,
        join_code: r.opt_text("join_code")?,
        speakers: serde_json::from_str(&r.text("speakers")?).map_err(corrupt)?,
        current: opt_uuid(r, "current_session")?,
        next_at: r.opt_int("next_at")?,
        created_at: r.int("created_at")?,
        keys: serde_json::from_str(&r.text("keys")?).map_err(corrupt)?,
    })
}

/// A programme's JSON columns: (speakers, keys).
pub(super) fn programme_json(p: &Programme) -> Result<(String, String), StoreError> {
    Ok((
        serde_json::to_string(&p.speakers).map_err(corrupt)?,
        serde_json::to_string(&p.keys).map_err(corrupt)?,
    ))
}

/// A `cases` row.
pub(super) fn case_row(r: &impl Cols) -> Result<CaseRow, StoreError> {
    Ok(CaseRow {
        question: uuid(&r.text("question_id")?)?,
        session: uuid(&r.text("session_id")?)?,
        tracking: r.text("tracking")?,
        status: r.text("status")?,
        agency: r.opt_text("agency")?,
        due: r.opt_text("due")?,
        closed_at: r.opt_int("closed_at")?,
        has_contact: r.int("has_contact")? != 0,
        public: r.int("public")? != 0,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        body: r.text("body")?,
    })
}

/// An `agencies` row.
pub(super) fn agency(r: &impl Cols) -> Result<Agency, StoreError> {
    Ok(Agency {
        id: r.text("id")?,
        name: r.text("name")?,
        short: r.text("short")?,
        key: r.text("key")?,
        created_at: r.int("created_at")?,
    })
}

/// A session's status as stored.
pub(super) fn status_str(info: &SessionInfo) -> String {
    serde_json::to_value(info.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A session's speakers as stored.
pub(super) fn speakers_json(info: &SessionInfo) -> String {
    serde_json::to_string(&info.speakers).unwrap_or_else(|_| "[]".into())
}
