//! PostgreSQL store (`database = "postgres://…"`): the same tables and promises as the SQLite
//! store (`ok` only after the commit, one transaction per batch), for a hub that runs as one of
//! several nodes (docs/cluster.md). Migrations embedded in the binary.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::rows::{self, speakers_json, status_str, uuid};
use super::{Agency, CaseFilter, CaseRow, Keys, Programme, SessionRecord, Store, StoreError};
use crate::domain::{Event, SessionInfo};

/// Rows per multi-row journal INSERT.
const INSERT_CHUNK: usize = 64;

/// The migrations of `migrations/postgres/`, embedded in the binary at build time.
static MIGRATOR: Migrator = sqlx::sqlx_macros::migrate!("migrations/postgres");

/// A pool of connections to one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The fencing token of each session this process holds the lease of.
    tokens: std::sync::Arc<dashmap::DashMap<Uuid, i64>>,
}

/// The database's clock in epoch milliseconds: every node's leases are timed by one clock.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// Checks, inside `tx`, that this process still holds the lease of `session` (when it took
/// one): the row is locked for the rest of the transaction, so a takeover waits for it, and a
/// write after a takeover is refused.
async fn fence(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tokens: &dashmap::DashMap<Uuid, i64>,
    session: Uuid,
) -> Result<(), StoreError> {
    let Some(mine) = tokens.get(&session).map(|t| *t) else {
        return Ok(());
    };
    let now: Option<i64> =
        sqlx::query_scalar("SELECT token FROM leases WHERE session_id = $1 FOR SHARE")
            .bind(session.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    if now == Some(mine) {
        Ok(())
    } else {
        tokens.remove(&session);
        Err(StoreError::Fenced(session))
    }
}

impl PgStore {
    /// Connects and migrates (the database must exist; its tables are made when missing).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            // While the database is down a command waits this long for its error, not longer.
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            tokens: Default::default(),
        })
    }
}

/// A unique-constraint failure as `Duplicate`.
fn duplicate(r: Result<PgQueryResult, sqlx::Error>) -> Result<u64, StoreError> {
    match r {
        Ok(r) => Ok(r.rows_affected()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(StoreError::Duplicate(e.message().to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Inserts or replaces case rows, in the caller's transaction.
async fn upsert_cases(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    cases: &[CaseRow],
) -> Result<(), StoreError> {
    for c in cases {
        sqlx::query(
            "INSERT INTO cases (question_id, session_id, tracking, status, agency, due, \
             closed_at, has_contact, public, created_at, updated_at, body) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT(question_id) DO UPDATE SET \
             tracking = excluded.tracking, status = excluded.status, agency = excluded.agency, \
             due = excluded.due, closed_at = excluded.closed_at, \
             has_contact = excluded.has_contact, public = excluded.public, \
             updated_at = excluded.updated_at, body = excluded.body \
             WHERE cases.session_id = excluded.session_id",
        )
        .bind(c.question.to_string())
        .bind(c.session.to_string())
        .bind(&c.tracking)
        .bind(&c.status)
        .bind(c.agency.as_deref())
        .bind(c.due.as_deref())
        .bind(c.closed_at)
        .bind(i64::from(c.has_contact))
        .bind(i64::from(c.public))
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(&c.body)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn create_session(&self, rec: &SessionRecord) -> Result<(), StoreError> {
        let r = sqlx::query(
            "INSERT INTO sessions (id, code, title, status, speakers, created_at, \
             moderator_key, screen_key, overlay_key, press_key, desk_key, intake_key, \
             programme_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        )
        .bind(rec.info.id.to_string())
        .bind(&rec.info.code)
        .bind(&rec.info.title)
        .bind(status_str(&rec.info))
        .bind(speakers_json(&rec.info))
        .bind(rec.info.created_at)
        .bind(&rec.keys.moderator)
        .bind(&rec.keys.screen)
        .bind(&rec.keys.overlay)
        .bind(&rec.keys.press)
        .bind(&rec.keys.desk)
        .bind(&rec.keys.intake)
        .bind(rec.programme.map(|p| p.to_string()))
        .execute(&self.pool)
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Duplicate(e.message().to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn list_sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM sessions ORDER BY created_at DESC, n DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::record).collect()
    }

    async fn find_session(&self, id_or_code: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = $1 OR code = $2")
            .bind(id_or_code.to_ascii_lowercase())
            .bind(id_or_code.to_ascii_uppercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::record).transpose()
    }

    async fn load_events(&self, session: Uuid) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query("SELECT seq, body FROM events WHERE session_id = $1 ORDER BY seq")
            .bind(session.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get("body")?;
                serde_json::from_str(&body).map_err(|e| {
                    let seq: i64 = r.try_get("seq").unwrap_or(-1);
                    StoreError::Corrupt(format!("session {session} event {seq}: {e}"))
                })
            })
            .collect()
    }

    async fn append(
        &self,
        session: Uuid,
        first_seq: u64,
        events: &[Event],
        info: Option<&SessionInfo>,
        cases: &[CaseRow],
    ) -> Result<(), StoreError> {
        let sid = session.to_string();
        let mut tx = self.pool.begin().await?;
        fence(&mut tx, &self.tokens, session).await?;
        let mut seq = first_seq as i64;
        for chunk in events.chunks(INSERT_CHUNK) {
            let mut sql = String::from("INSERT INTO events (session_id, seq, body) VALUES ");
            for i in 0..chunk.len() {
                let p = 3 * i;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${},${},${})", p + 1, p + 2, p + 3));
            }
            // Only placeholders are formatted into the statement; every value is bound.
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                let body =
                    serde_json::to_string(e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                q = q.bind(sid.clone()).bind(seq).bind(body);
                seq += 1;
            }
            q.execute(&mut *tx).await?;
        }
        if let Some(info) = info {
            sqlx::query(
                "UPDATE sessions SET title = $1, status = $2, speakers = $3, starts_at = $4, \
                 rehearsal = $5 WHERE id = $6",
            )
            .bind(&info.title)
            .bind(status_str(info))
            .bind(speakers_json(info))
            .bind(info.starts_at)
            .bind(i64::from(info.rehearsal))
            .bind(&sid)
            .execute(&mut *tx)
            .await?;
        }
        for e in events {
            // A question carried over from an earlier episode: its case row moves here (the
            // earlier episode never writes it again: a row is only updated by its session).
            if let Event::Put { question, .. } = e
                && let Some(from) = &question.carried_from
            {
                sqlx::query(
                    "UPDATE cases SET session_id = $1 WHERE question_id = $2 AND session_id = $3",
                )
                .bind(&sid)
                .bind(question.id.to_string())
                .bind(from.session.to_string())
                .execute(&mut *tx)
                .await?;
            }
            if let Event::Erase { question, .. } = e {
                // The contact leaves every earlier row of the question: the value is then in
                // no row of the journal (secure_delete zeroes what the old rows held).
                sqlx::query(
                    "UPDATE events SET body = (body::jsonb #- '{question,contact}')::text \
                     WHERE session_id = $1 AND body::jsonb->>'e' = 'put' \
                     AND body::jsonb #>> '{question,id}' = $2 \
                     AND body::jsonb #> '{question,contact}' IS NOT NULL",
                )
                .bind(&sid)
                .bind(question.to_string())
                .execute(&mut *tx)
                .await?;
            }
        }
        if events.iter().any(|e| matches!(e, Event::Wipe { .. })) {
            // A rehearsal's cases go with its questions (the rows of questions made after
            // the wipe in this batch are written below).
            sqlx::query("DELETE FROM cases WHERE session_id = $1")
                .bind(&sid)
                .execute(&mut *tx)
                .await?;
        }
        upsert_cases(&mut tx, cases).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_cases(&self, session: Uuid, cases: &[CaseRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        fence(&mut tx, &self.tokens, session).await?;
        upsert_cases(&mut tx, cases).await?;
        sqlx::query("UPDATE sessions SET cases_behind = 0 WHERE id = $1 AND cases_behind <> 0")
            .bind(session.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_cases_behind(&self, session: Uuid) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET cases_behind = 1 WHERE id = $1")
            .bind(session.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn sessions_cases_behind(&self) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM sessions WHERE cases_behind <> 0")
                .fetch_all(&self.pool)
                .await?;
        ids.iter().map(|s| uuid(s)).collect()
    }

    async fn case_bodies(&self, session: Uuid) -> Result<HashMap<Uuid, String>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT question_id, body FROM cases WHERE session_id = $1")
                .bind(session.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(q, body)| Ok((uuid(&q)?, body)))
            .collect()
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM cases WHERE ($1 IS NULL OR session_id = $1) \
             AND ($2 IS NULL OR agency = $2) AND ($3 IS NULL OR tracking = $3) \
             AND ($4 IS NULL OR question_id = $4) ORDER BY created_at DESC, question_id",
        )
        .bind(filter.session.map(|s| s.to_string()))
        .bind(filter.agency.as_deref())
        .bind(filter.tracking.as_deref())
        .bind(filter.question.map(|q| q.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::case_row).collect()
    }

    async fn contacts_to_erase(
        &self,
        closed_before: Option<i64>,
        asked_before: Option<i64>,
    ) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, question_id FROM cases WHERE has_contact = 1 AND \
             (($1 IS NOT NULL AND closed_at IS NOT NULL AND closed_at < $1) \
              OR ($2 IS NOT NULL AND created_at < $2)) ORDER BY session_id",
        )
        .bind(closed_before)
        .bind(asked_before)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("session_id")?;
                let q: String = r.try_get("question_id")?;
                Ok((uuid(&s)?, uuid(&q)?))
            })
            .collect()
    }

    async fn compact(&self) -> Result<(), StoreError> {
        // Old row versions of the rewritten journal rows become free space for the next
        // writes (PostgreSQL keeps them until a vacuum; docs/cluster.md says what this means).
        sqlx::query("VACUUM events, cases")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        let rows = sqlx::query("SELECT * FROM agencies ORDER BY name, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::agency).collect()
    }

    async fn create_agency(&self, a: &Agency) -> Result<(), StoreError> {
        let r = sqlx::query(
            "INSERT INTO agencies (id, name, short, key, created_at) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(&a.id)
        .bind(&a.name)
        .bind(&a.short)
        .bind(&a.key)
        .bind(a.created_at)
        .execute(&self.pool)
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Duplicate(e.message().to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn update_agency(&self, a: &Agency) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE agencies SET name = $1, short = $2, key = $3 WHERE id = $4")
            .bind(&a.name)
            .bind(&a.short)
            .bind(&a.key)
            .bind(&a.id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::Corrupt(format!("no agency {}", a.id)));
        }
        Ok(())
    }

    async fn programmes(&self) -> Result<Vec<Programme>, StoreError> {
        let rows = sqlx::query("SELECT * FROM programmes ORDER BY created_at, slug")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::programme).collect()
    }

    async fn create_programme(&self, p: &Programme) -> Result<(), StoreError> {
        let (speakers, keys) = rows::programme_json(p)?;
        duplicate(
            sqlx::query(
                "INSERT INTO programmes (id, slug, title, join_code, speakers, current_session, \
                 next_at, created_at, keys) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            )
            .bind(p.id.to_string())
            .bind(&p.slug)
            .bind(&p.title)
            .bind(p.join_code.as_deref())
            .bind(speakers)
            .bind(p.current.map(|c| c.to_string()))
            .bind(p.next_at)
            .bind(p.created_at)
            .bind(keys)
            .execute(&self.pool)
            .await,
        )?;
        Ok(())
    }

    async fn update_programme(&self, p: &Programme) -> Result<(), StoreError> {
        let (speakers, keys) = rows::programme_json(p)?;
        let n = duplicate(
            sqlx::query(
                "UPDATE programmes SET slug = $1, title = $2, join_code = $3, speakers = $4, \
                 current_session = $5, next_at = $6, keys = $7 WHERE id = $8",
            )
            .bind(&p.slug)
            .bind(&p.title)
            .bind(p.join_code.as_deref())
            .bind(speakers)
            .bind(p.current.map(|c| c.to_string()))
            .bind(p.next_at)
            .bind(keys)
            .bind(p.id.to_string())
            .execute(&self.pool)
            .await,
        )?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!("no programme {}", p.id)));
        }
        Ok(())
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT(key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        let v: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(v)
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_keys(&self, session: Uuid, keys: &Keys) -> Result<(), StoreError> {
        let r = sqlx::query(
            "UPDATE sessions SET moderator_key = $1, screen_key = $2, overlay_key = $3, \
             press_key = $4, desk_key = $5, intake_key = $6 WHERE id = $7",
        )
        .bind(&keys.moderator)
        .bind(&keys.screen)
        .bind(&keys.overlay)
        .bind(&keys.press)
        .bind(&keys.desk)
        .bind(&keys.intake)
        .bind(session.to_string())
        .execute(&self.pool)
        .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::Corrupt(format!(
                "no session {session} to change keys of"
            )));
        }
        Ok(())
    }

    async fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(v)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM settings WHERE key = $1")
                    .bind(key)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn lease(
        &self,
        session: Uuid,
        node: Uuid,
        ttl_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        // Renewed by its holder (the same token), or taken when it has run out (the next one).
        let sql = format!(
            "INSERT INTO leases (session_id, node, token, expires_at) VALUES ($1, $2, 1, {NOW_MS} + $3) \
             ON CONFLICT (session_id) DO UPDATE SET node = EXCLUDED.node, \
             expires_at = EXCLUDED.expires_at, \
             token = CASE WHEN leases.node = EXCLUDED.node THEN leases.token ELSE leases.token + 1 END \
             WHERE leases.node = EXCLUDED.node OR leases.expires_at < {NOW_MS} \
             RETURNING token"
        );
        // Only the clock expression is formatted into the statement; the values are bound.
        let token: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(session.to_string())
            .bind(node.to_string())
            .bind(ttl_ms)
            .fetch_optional(&self.pool)
            .await?;
        match token {
            Some(t) => {
                if self.tokens.insert(session, t).is_some_and(|old| old != t) {
                    // Taken over and back since the last renewal: not this holder's any more.
                    self.tokens.remove(&session);
                    return Ok(None);
                }
                Ok(Some(t))
            }
            None => {
                self.tokens.remove(&session);
                Ok(None)
            }
        }
    }

    async fn lease_holder(&self, session: Uuid) -> Result<Option<(Uuid, i64)>, StoreError> {
        let sql = format!("SELECT node, expires_at - {NOW_MS} FROM leases WHERE session_id = $1");
        let row: Option<(String, i64)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(session.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|(node, left)| Uuid::parse_str(&node).ok().map(|n| (n, left))))
    }

    async fn release(&self, session: Uuid, node: Uuid) -> Result<(), StoreError> {
        self.tokens.remove(&session);
        sqlx::query("UPDATE leases SET expires_at = 0 WHERE session_id = $1 AND node = $2")
            .bind(session.to_string())
            .bind(node.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
