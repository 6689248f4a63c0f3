//! The durable journal behind one trait. `sqlite.rs` now; a PostgreSQL store implements the
//! same trait later. The store knows sessions and events, never roles or rules.

pub mod sqlite;

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
}

/// The secrets of a session's roles (fields in alphabetical order: the order of the keys in
/// the HTTP answers that show them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    /// The moderator key (`/m/ID#k=KEY`; also a Bearer token for the session's export).
    pub moderator: String,
    /// The overlay key (`/overlay/ID#k=KEY`, `live.json?k=KEY`).
    pub overlay: String,
    /// The press code (`/j/CODE#p=KEY`).
    pub press: String,
    /// The speaker screen's key (`/screen/ID#k=KEY`).
    pub screen: String,
}

/// A session as stored: its current info and its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The session's current info.
    pub info: SessionInfo,
    /// The secrets of its roles.
    pub keys: Keys,
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
    /// `info`, also updates the session's row (a `session` event among them).
    async fn append(
        &self,
        session: Uuid,
        first_seq: u64,
        events: &[Event],
        info: Option<&SessionInfo>,
    ) -> Result<(), StoreError>;
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
}

/// Opens the store a URL names (`sqlite://PATH`), creating it and running migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::Unsupported(url.to_string()))
    }
}
