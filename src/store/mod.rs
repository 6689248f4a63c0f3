//! The durable journal behind one trait: `sqlite.rs` (one machine, the default) and
//! `postgres.rs` (several nodes). The store knows sessions and events, never roles or rules.

pub mod postgres;
mod rows;
pub mod sqlite;

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Event, SessionInfo};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed at start.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A journal row could not be read back.
    #[error("corrupt journal row: {0}")]
    Corrupt(String),
    /// A unique value (a join code) is taken.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The database URL is not one this build can open.
    #[error("unsupported database URL: {0}")]
    Unsupported(String),
    /// Another node took the session over: this node's writes to it are refused.
    #[error("session {0} is served by another node now")]
    Fenced(Uuid),
}

/// The secrets of a session's roles (fields in alphabetical order: the order of the keys in
/// the HTTP answers that show them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    /// The radio desk's key (`/desk/ID#k=KEY`): it enters questions and sees its own entries.
    #[serde(default)]
    pub desk: String,
    /// The gateways' key (`POST /api/sessions/ID/intake`, `Authorization: Bearer KEY`).
    #[serde(default)]
    pub intake: String,
    /// The moderator key (`/m/ID#k=KEY`; also a Bearer token for the session's export).
    pub moderator: String,
    /// The overlay key (`/overlay/ID#k=KEY`, `live.json?k=KEY`).
    pub overlay: String,
    /// The press code (`/j/CODE#p=KEY`).
    pub press: String,
    /// The speaker screen's key (`/screen/ID#k=KEY`).
    pub screen: String,
}

impl Keys {
    /// The key of a role.
    pub fn of(&self, role: crate::domain::role::KeyRole) -> &str {
        use crate::domain::role::KeyRole as K;
        match role {
            K::Moderator => &self.moderator,
            K::Screen => &self.screen,
            K::Overlay => &self.overlay,
            K::Press => &self.press,
            K::Desk => &self.desk,
            K::Intake => &self.intake,
        }
    }

    /// A fresh key for a role.
    pub fn renew(&mut self, role: crate::domain::role::KeyRole, new: String) {
        use crate::domain::role::KeyRole as K;
        *match role {
            K::Moderator => &mut self.moderator,
            K::Screen => &mut self.screen,
            K::Overlay => &mut self.overlay,
            K::Press => &mut self.press,
            K::Desk => &mut self.desk,
            K::Intake => &mut self.intake,
        } = new;
    }
}

/// A session as stored: its current info and its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The session's current info.
    pub info: SessionInfo,
    /// The secrets of its roles.
    pub keys: Keys,
    /// The programme it is an episode of.
    pub programme: Option<Uuid>,
}

/// A programme: it holds sessions as episodes, and its links follow the current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Programme {
    /// Its id.
    pub id: Uuid,
    /// Its address (`/p/{slug}`): 2-40 of `a-z`, `0-9`, `-`.
    pub slug: String,
    /// Its title.
    pub title: String,
    /// A memorable join code (`WONGKITO`), upper case.
    pub join_code: Option<String>,
    /// The speakers a new episode starts with.
    pub speakers: Vec<crate::domain::Speaker>,
    /// The current episode.
    pub current: Option<Uuid>,
    /// The next broadcast's date and time, epoch milliseconds (shown while none is open).
    pub next_at: Option<i64>,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// The secrets of its links' roles.
    pub keys: Keys,
}

/// One question's row in the case projection (`cases` table).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    /// The question.
    pub question: Uuid,
    /// Its session.
    pub session: Uuid,
    /// Its tracking code (`K7Q-M3X-R9T`).
    pub tracking: String,
    /// The case's status (wire name).
    pub status: String,
    /// The agency it is forwarded to.
    pub agency: Option<String>,
    /// The due date `YYYY-MM-DD`.
    pub due: Option<String>,
    /// When the case was resolved or declined, epoch milliseconds.
    pub closed_at: Option<i64>,
    /// Whether the question still has a contact.
    pub has_contact: bool,
    /// On the public board.
    pub public: bool,
    /// When the question was asked, epoch milliseconds.
    pub created_at: i64,
    /// Of the last change, epoch milliseconds.
    pub updated_at: i64,
    /// The question and its case, JSON (`followup::CaseDoc`).
    pub body: String,
}

/// Which case rows to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    /// Only this session's.
    pub session: Option<Uuid>,
    /// Only those forwarded to this agency.
    pub agency: Option<String>,
    /// Only the one with this tracking code.
    pub tracking: Option<String>,
    /// Only this question's.
    pub question: Option<Uuid>,
}

/// An agency (OPD) cases are forwarded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    /// Its id (`pupr`): in its link and in cases.
    pub id: String,
    /// Its full name.
    pub name: String,
    /// Its short name.
    pub short: String,
    /// Its key (`/a/{id}#k=KEY`, `Authorization: Bearer KEY`).
    pub key: String,
    /// Epoch milliseconds.
    pub created_at: i64,
}

/// The journal and the session registry.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new session; `Duplicate` when its code is taken.
    async fn create_session(&self, rec: &SessionRecord) -> Result<(), StoreError>;
    /// Every session, newest first.
    async fn list_sessions(&self) -> Result<Vec<SessionRecord>, StoreError>;
    /// A session by id or by code (codes are stored upper case).
    async fn find_session(&self, id_or_code: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// A session's journal, in order.
    async fn load_events(&self, session: Uuid) -> Result<Vec<Event>, StoreError>;
    /// Appends events at journal positions `first_seq..` in one transaction, durably; with
    /// `info`, also updates the session's row (a `session` event among them); writes the case
    /// rows of the questions the events changed; and for every `erase` event removes the
    /// question's contact from its earlier journal rows.
    async fn append(
        &self,
        session: Uuid,
        first_seq: u64,
        events: &[Event],
        info: Option<&SessionInfo>,
        cases: &[CaseRow],
    ) -> Result<(), StoreError>;
    /// Writes case rows of a session outside of an append (rows written behind, or a
    /// projection rebuilt), and clears the session's `cases_behind` mark.
    async fn put_cases(&self, session: Uuid, cases: &[CaseRow]) -> Result<(), StoreError>;
    /// Marks a session's case rows as lagging its journal (before the journal rows that make
    /// them lag are appended).
    async fn mark_cases_behind(&self, session: Uuid) -> Result<(), StoreError>;
    /// Sessions marked by `mark_cases_behind` and not caught up since.
    async fn sessions_cases_behind(&self) -> Result<Vec<Uuid>, StoreError>;
    /// The body of each case row a session has, by question: what a restart compares with
    /// the journal to find the rows that lag it.
    async fn case_bodies(&self, session: Uuid) -> Result<HashMap<Uuid, String>, StoreError>;
    /// Case rows matching the filter, newest question first.
    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError>;
    /// Questions that still have a contact and whose case closed before `closed_before`, or
    /// that were asked before `asked_before` (epoch milliseconds): (session, question).
    async fn contacts_to_erase(
        &self,
        closed_before: Option<i64>,
        asked_before: Option<i64>,
    ) -> Result<Vec<(Uuid, Uuid)>, StoreError>;
    /// Moves what erasures overwrote out of the write-ahead log into the file and empties the
    /// log, so an erased value is in neither.
    async fn compact(&self) -> Result<(), StoreError>;
    /// Every agency, by name.
    async fn agencies(&self) -> Result<Vec<Agency>, StoreError>;
    /// Stores a new agency; `Duplicate` when its id is taken.
    async fn create_agency(&self, agency: &Agency) -> Result<(), StoreError>;
    /// Replaces an agency's name, short name and key.
    async fn update_agency(&self, agency: &Agency) -> Result<(), StoreError>;
    /// Every programme, oldest first.
    async fn programmes(&self) -> Result<Vec<Programme>, StoreError>;
    /// Stores a new programme; `Duplicate` when its slug or join code is taken.
    async fn create_programme(&self, p: &Programme) -> Result<(), StoreError>;
    /// Replaces a programme's row; `Duplicate` when its slug or join code is taken.
    async fn update_programme(&self, p: &Programme) -> Result<(), StoreError>;
    /// Replaces a session's keys, durably (a key rotation).
    async fn set_keys(&self, session: Uuid, keys: &Keys) -> Result<(), StoreError>;
    /// Returns the setting `key`, storing `value` first when it is absent.
    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError>;
    /// The setting `key`, when set.
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Sets (`Some`) or removes (`None`) the setting `key`, durably.
    async fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError>;
    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Takes or renews the lease of `session` for `node` for `ttl_ms`: its fencing token, or
    /// `None` while another node holds it. From then on the store refuses this process's
    /// writes to the session (`Fenced`) once another node has taken it over. A store only one
    /// process opens (SQLite) has nothing to share: always `Some(0)`.
    async fn lease(
        &self,
        _session: Uuid,
        _node: Uuid,
        _ttl_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(Some(0))
    }
    /// Gives the lease up (the actor stopped), so that another node may take it at once.
    async fn release(&self, _session: Uuid, _node: Uuid) -> Result<(), StoreError> {
        Ok(())
    }
    /// Who holds the lease of `session` and for how many more ms (negative: it ran out), when
    /// anyone ever held it. A store only one process opens has no holder.
    async fn lease_holder(&self, _session: Uuid) -> Result<Option<(Uuid, i64)>, StoreError> {
        Ok(None)
    }
}

/// Opens the store a URL names (`sqlite://PATH`, or `postgres://…` for a database that exists),
/// creating its tables and running migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::Unsupported(url.to_string()))
    }
}
