//! Journey: the store fails a commit. The command gets `internal`, nothing of it is published or
//! kept, the session reloads from its journal, and once the store works again so does the session.
//! The hub runs in this process over a real socket, on the real SQLite store wrapped so that
//! commits can be made to fail (the one fault a test cannot cause from outside).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tanya::domain::{Event, SessionInfo};
use tanya::hub::Hub;
use tanya::store::sqlite::SqliteStore;
use tanya::store::{Agency, CaseFilter, CaseRow, Keys, SessionRecord, Store, StoreError};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The real SQLite store; `append` fails while `fail` is set.
struct FailingCommits {
    inner: SqliteStore,
    fail: AtomicBool,
}

#[async_trait]
impl Store for FailingCommits {
    async fn create_session(&self, rec: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create_session(rec).await
    }
    async fn list_sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.list_sessions().await
    }
    async fn find_session(&self, id_or_code: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.find_session(id_or_code).await
    }
    async fn load_events(&self, session: Uuid) -> Result<Vec<Event>, StoreError> {
        self.inner.load_events(session).await
    }
    async fn append(
        &self,
        session: Uuid,
        first_seq: u64,
        events: &[Event],
        info: Option<&SessionInfo>,
        cases: &[CaseRow],
    ) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Corrupt("commit refused by the test".into()));
        }
        self.inner
            .append(session, first_seq, events, info, cases)
            .await
    }
    async fn put_cases(&self, session: Uuid, cases: &[CaseRow]) -> Result<(), StoreError> {
        self.inner.put_cases(session, cases).await
    }
    async fn programmes(&self) -> Result<Vec<tanya::store::Programme>, StoreError> {
        self.inner.programmes().await
    }
    async fn create_programme(&self, p: &tanya::store::Programme) -> Result<(), StoreError> {
        self.inner.create_programme(p).await
    }
    async fn update_programme(&self, p: &tanya::store::Programme) -> Result<(), StoreError> {
        self.inner.update_programme(p).await
    }
    async fn mark_cases_behind(&self, session: Uuid) -> Result<(), StoreError> {
        self.inner.mark_cases_behind(session).await
    }
    async fn sessions_cases_behind(&self) -> Result<Vec<Uuid>, StoreError> {
        self.inner.sessions_cases_behind().await
    }
    async fn case_bodies(
        &self,
        session: Uuid,
    ) -> Result<std::collections::HashMap<Uuid, String>, StoreError> {
        self.inner.case_bodies(session).await
    }
    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        self.inner.cases(filter).await
    }
    async fn contacts_to_erase(
        &self,
        closed_before: Option<i64>,
        asked_before: Option<i64>,
    ) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        self.inner
            .contacts_to_erase(closed_before, asked_before)
            .await
    }
    async fn compact(&self) -> Result<(), StoreError> {
        self.inner.compact().await
    }
    async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        self.inner.agencies().await
    }
    async fn create_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        self.inner.create_agency(agency).await
    }
    async fn update_agency(&self, agency: &Agency) -> Result<(), StoreError> {
        self.inner.update_agency(agency).await
    }
    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        self.inner.setting_or_insert(key, value).await
    }
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.setting(key).await
    }
    async fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        self.inner.set_setting(key, value).await
    }
    async fn set_keys(&self, session: Uuid, keys: &Keys) -> Result<(), StoreError> {
        self.inner.set_keys(session, keys).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Frames until the reply with `ref`; returns it and the frames before it.
async fn reply(ws: &mut Ws, r: &str) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let v = crate::common::next_json(ws).await;
        if (v["type"] == "ok" || v["type"] == "error") && v["ref"] == json!(r) {
            return (v, before);
        }
        before.push(v);
    }
}

#[tokio::test]
async fn a_failed_commit_answers_internal_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tanya.db").display());
    let store = Arc::new(FailingCommits {
        inner: SqliteStore::open(&url).await.unwrap(),
        fail: AtomicBool::new(false),
    });
    let rec = Hub::create_session(store.as_ref(), "Uji gangguan penyimpanan", &[], 0)
        .await
        .unwrap();
    let server = crate::common::InProcessHub::start(store.clone()).await;
    let url = server.url.clone();

    let mut phone = crate::common::raw(&url).await;
    send(
        &mut phone,
        json!({"type":"hello","role":"audience","session":rec.info.code}),
    )
    .await;
    assert_eq!(
        crate::common::next_json(&mut phone).await["type"],
        "welcome"
    );
    let mut moderator = crate::common::raw(&url).await;
    send(
        &mut moderator,
        json!({"type":"hello","role":"moderator","session":rec.info.id,"key":rec.keys.moderator}),
    )
    .await;
    assert_eq!(
        crate::common::next_json(&mut moderator).await["type"],
        "welcome"
    );

    // A stored question.
    send(
        &mut phone,
        json!({"type":"ask","ref":"kept","text":"Pertanyaan yang tersimpan"}),
    )
    .await;
    let (ok, _) = reply(&mut phone, "kept").await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let kept = ok["question"]["id"].clone();

    // The store refuses the next commit: `internal`, and no event for it reaches anyone.
    store.fail.store(true, Ordering::SeqCst);
    send(
        &mut phone,
        json!({"type":"ask","ref":"lost","text":"Pertanyaan yang gagal disimpan"}),
    )
    .await;
    let (err, before) = reply(&mut phone, "lost").await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("internal")),
        "{err}"
    );
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        before.iter().all(|f| f["type"] != "question"),
        "published before the commit: {before:?}"
    );
    send(
        &mut moderator,
        json!({"type":"approve","ref":"m1","question":kept,"rev":1}),
    )
    .await;
    let (err, _) = reply(&mut moderator, "m1").await;
    assert_eq!(err["code"], "internal", "{err}");

    // The store works again: the session goes on from what was stored.
    store.fail.store(false, Ordering::SeqCst);
    send(
        &mut moderator,
        json!({"type":"approve","ref":"m2","question":kept,"rev":1}),
    )
    .await;
    let (ok, events) = reply(&mut moderator, "m2").await;
    assert_eq!(
        ok["type"], "ok",
        "the failed approve must not have changed rev: {ok}"
    );
    assert!(
        events
            .iter()
            .any(|f| f["type"] == "question" && f["question"]["status"] == "approved")
    );
    // The failed ask was never stored, so the same ref now creates it once.
    send(
        &mut phone,
        json!({"type":"ask","ref":"lost","text":"Pertanyaan yang gagal disimpan"}),
    )
    .await;
    let (ok, _) = reply(&mut phone, "lost").await;
    assert_eq!(ok["type"], "ok", "{ok}");

    // A fresh moderator sees exactly the two questions, and the journal agrees.
    let mut fresh = crate::common::raw(&url).await;
    send(
        &mut fresh,
        json!({"type":"hello","role":"moderator","session":rec.info.id,"key":rec.keys.moderator}),
    )
    .await;
    let w = crate::common::next_json(&mut fresh).await;
    let texts: Vec<&str> = w["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Pertanyaan yang tersimpan",
            "Pertanyaan yang gagal disimpan"
        ]
    );
    // (Presence is journaled beside the commands: the report's peaks.)
    let journal: Vec<_> = store
        .inner
        .load_events(rec.info.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !matches!(e, Event::Presence { .. }))
        .collect();
    assert_eq!(journal.len(), 3, "two asks and one approve: {journal:?}");

    let _ = server.stopped().await;
}
