//! The live part: a registry of session actors, started on first use, and what they share.

pub mod actor;
pub mod fanout;
pub mod quota;
pub mod secrets;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dashmap::DashMap;
use serde_json::json;
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::flags::Flagger;
use crate::domain::view::AuthorIds;
use crate::domain::{Role, SessionInfo, SessionState, SessionStatus, SpeakerInput};
use crate::store::{Keys, SessionRecord, Store, StoreError};
use actor::{ActorMsg, JoinRequest, Joined, Refusal};
use secrets::DeviceSigner;

/// The runtime of the session actors and the staff sockets (moderator, screen, overlay): one
/// thread of its own, so a broadcast to thousands of phones, written by the main runtime's
/// workers, never keeps the moderator, the speakers' screen or the TV overlay waiting.
pub fn priority() -> &'static tokio::runtime::Handle {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        // Without this runtime the hub cannot run at all: failing to build it is fatal.
        #[allow(clippy::expect_used)]
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tanya-staff")
            .enable_all()
            .build()
            .expect("cannot start the staff runtime")
    })
    .handle()
}

/// Errors of the hub layer.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session's actor has stopped (the hub is shutting down).
    #[error("session is not running")]
    Stopped,
    /// Bad input (title, speakers).
    #[error("{0}")]
    Invalid(String),
}

/// What every session actor shares.
pub struct Shared {
    /// Settings.
    pub cfg: Arc<Config>,
    /// The journal.
    pub store: Arc<dyn Store>,
    /// Signs device tokens.
    pub signer: DeviceSigner,
    /// Flags question texts.
    pub flagger: Arc<Flagger>,
    /// Per-device and per-address quotas.
    pub quotas: quota::Quotas,
    /// Becomes true when the hub shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// A running session: its actor's mailbox.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub id: Uuid,
    tx: mpsc::Sender<ActorMsg>,
}

/// The registry of live sessions.
pub struct Hub {
    shared: Arc<Shared>,
    /// Running actors by session id.
    sessions: DashMap<Uuid, SessionHandle>,
    /// Join code (upper case) -> session id, for running sessions.
    codes: DashMap<String, Uuid>,
    /// Serializes actor start-up so one session never gets two actors.
    starting: Mutex<()>,
    /// Source of connection ids.
    next_conn: AtomicU64,
    /// Sends the shutdown signal.
    shutdown_tx: watch::Sender<bool>,
    /// Actor join handles, awaited at shutdown.
    handles: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

impl Hub {
    /// A hub over a store, with its secrets loaded (or generated at the first start).
    pub async fn new(cfg: Arc<Config>, store: Arc<dyn Store>) -> Result<Arc<Self>, HubError> {
        let secret = store
            .setting_or_insert("device_secret", &secrets::new_key())
            .await?;
        let flagger = match &cfg.profanity_words {
            Some(path) => Flagger::from_list(
                &std::fs::read_to_string(path)
                    .map_err(|e| HubError::Invalid(format!("profanity_words {path}: {e}")))?,
            ),
            None => Flagger::from_list(include_str!("../../config/profanity.txt")),
        };
        let (shutdown_tx, shutdown) = watch::channel(false);
        let quotas = quota::Quotas::new(&cfg.limits);
        Ok(Arc::new(Self {
            shared: Arc::new(Shared {
                signer: DeviceSigner::new(secret.as_bytes()),
                flagger: Arc::new(flagger),
                quotas,
                shutdown,
                cfg,
                store,
            }),
            sessions: DashMap::new(),
            codes: DashMap::new(),
            starting: Mutex::new(()),
            next_conn: AtomicU64::new(1),
            shutdown_tx,
            handles: std::sync::Mutex::new(Vec::new()),
        }))
    }

    /// The shared parts (config, store).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shared.shutdown.borrow()
    }

    /// Creates a session with fresh code and keys.
    pub async fn create_session(
        store: &dyn Store,
        title: &str,
        speakers: &[SpeakerInput],
        now: i64,
    ) -> Result<SessionRecord, HubError> {
        let title =
            crate::domain::session::validate_title(title).map_err(|e| HubError::Invalid(e.0))?;
        let speakers = crate::domain::session::validate_speakers(speakers)
            .map_err(|e| HubError::Invalid(e.0))?;
        for _ in 0..20 {
            let rec = SessionRecord {
                info: SessionInfo {
                    id: Uuid::new_v4(),
                    code: secrets::new_code(),
                    title: title.clone(),
                    status: SessionStatus::Open,
                    speakers: speakers.clone(),
                    created_at: now,
                },
                keys: Keys {
                    moderator: secrets::new_key(),
                    screen: secrets::new_key(),
                    overlay: secrets::new_key(),
                    press: secrets::new_key(),
                },
            };
            match store.create_session(&rec).await {
                Ok(()) => return Ok(rec),
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(HubError::Invalid("could not find a free join code".into()))
    }

    /// The running actor of a session (by id or code), started from the journal when needed.
    pub async fn session(&self, id_or_code: &str) -> Result<Option<SessionHandle>, HubError> {
        let key = id_or_code.trim();
        let known = match Uuid::parse_str(key) {
            Ok(id) => Some(id),
            Err(_) => self.codes.get(&key.to_ascii_uppercase()).map(|e| *e),
        };
        if let Some(id) = known
            && let Some(h) = self.sessions.get(&id)
        {
            return Ok(Some(h.clone()));
        }
        if !(secrets::looks_like_code(key) || Uuid::parse_str(key).is_ok()) {
            return Ok(None);
        }
        let Some(rec) = self.shared.store.find_session(key).await? else {
            return Ok(None);
        };
        if let Some(h) = self.sessions.get(&rec.info.id) {
            return Ok(Some(h.clone()));
        }
        let _guard = self.starting.lock().await;
        if let Some(h) = self.sessions.get(&rec.info.id) {
            return Ok(Some(h.clone()));
        }
        if self.is_shutting_down() {
            return Err(HubError::Stopped);
        }
        let events = self.shared.store.load_events(rec.info.id).await?;
        let journal_len = events.len() as u64;
        let state = SessionState::replay(rec.info.clone(), self.shared.flagger.clone(), &events);
        drop(events);
        let authors = AuthorIds::new(self.shared.signer.author_salt(rec.info.id));
        let (tx, rx) = mpsc::channel(self.shared.cfg.limits.session_queue);
        let id = rec.info.id;
        let rec_code = rec.info.code.clone();
        let task = actor::Actor::new(self.shared.clone(), rec, state, authors, journal_len, rx);
        let handle = priority().spawn(task.run());
        if let Ok(mut h) = self.handles.lock() {
            h.push(handle);
        }
        let h = SessionHandle { id, tx };
        self.sessions.insert(id, h.clone());
        self.codes.insert(rec_code, id);
        tracing::info!(session = %id, "session actor started");
        Ok(Some(h))
    }

    /// A new connection id.
    pub fn conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts shutdown and waits (up to `deadline`) for every actor to commit, answer and close.
    pub async fn shutdown(&self, deadline: std::time::Duration) {
        let _ = self.shutdown_tx.send(true);
        let handles: Vec<_> = self
            .handles
            .lock()
            .map(|mut h| h.drain(..).collect())
            .unwrap_or_default();
        let all = futures_util::future::join_all(handles);
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!("some sessions did not stop in time");
        }
    }
}

impl SessionHandle {
    /// Joins a socket to the session: checks the key, registers the socket and queues its welcome.
    #[allow(clippy::too_many_arguments)]
    pub async fn join(
        &self,
        conn: u64,
        role: Role,
        key: Option<String>,
        device: Option<String>,
        since: Option<actor::Since>,
        addr: IpAddr,
        tx: fanout::OutTx,
        lagged: Arc<AtomicBool>,
    ) -> Result<Joined, Refusal> {
        let (reply, rx) = oneshot::channel();
        let req = JoinRequest {
            conn,
            role,
            key,
            device,
            since,
            addr,
            tx,
            lagged,
        };
        self.tx
            .send(ActorMsg::Join {
                req: Box::new(req),
                reply,
            })
            .await
            .map_err(|_| Refusal::ShuttingDown)?;
        rx.await.map_err(|_| Refusal::ShuttingDown)?
    }

    /// Passes a parsed command to the session; false when the session has stopped.
    pub fn command(
        &self,
        conn: u64,
        client_ref: Option<String>,
        cmd: crate::domain::Command,
        kind: &'static str,
    ) -> impl Future<Output = bool> + Send + use<> {
        self.post(ActorMsg::Command {
            conn,
            client_ref,
            cmd,
            kind,
        })
    }

    /// Tells the session a socket has gone.
    pub fn leave(&self, conn: u64) -> impl Future<Output = bool> + Send + use<> {
        self.post(ActorMsg::Leave { conn })
    }

    /// Asks for a fresh welcome for a socket whose queue overflowed.
    pub fn resync(&self, conn: u64) -> impl Future<Output = bool> + Send + use<> {
        self.post(ActorMsg::Resync { conn })
    }

    /// Queues a message for the actor: at once when its queue has room (the usual case), else
    /// in a boxed wait. The returned future is two words, so the long-lived future of every
    /// socket that awaits it stays small. False when the session has stopped.
    fn post(&self, msg: ActorMsg) -> impl Future<Output = bool> + Send + use<> {
        let wait = match self.tx.try_send(msg) {
            Ok(()) => Ok(true),
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(false),
            Err(mpsc::error::TrySendError::Full(msg)) => {
                let tx = self.tx.clone();
                Err(Box::pin(async move { tx.send(msg).await.is_ok() }))
            }
        };
        async move {
            match wait {
                Ok(sent) => sent,
                Err(waiting) => waiting.await,
            }
        }
    }

    /// Runs `f` on the session's current state inside its actor.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&actor::View<'_>) -> T + Send + 'static,
    ) -> Result<T, HubError> {
        let (reply, rx) = oneshot::channel();
        let job: actor::QueryFn = Box::new(move |v| {
            let _ = reply.send(f(v));
        });
        self.tx
            .send(ActorMsg::Query(job))
            .await
            .map_err(|_| HubError::Stopped)?;
        rx.await.map_err(|_| HubError::Stopped)
    }
}

/// The links of a session, from the hub's public base URL.
pub fn links(base: &str, rec: &SessionRecord) -> serde_json::Value {
    let i = &rec.info;
    let k = &rec.keys;
    json!({
        "audience": format!("{base}/j/{}", i.code),
        "press": format!("{base}/j/{}#p={}", i.code, k.press),
        "moderator": format!("{base}/m/{}#k={}", i.id, k.moderator),
        "screen": format!("{base}/screen/{}#k={}", i.id, k.screen),
        "overlay": format!("{base}/overlay/{}#k={}", i.id, k.overlay),
    })
}

/// A session as `POST /api/sessions` and `tanya session create` return it.
pub fn session_json(base: &str, rec: &SessionRecord) -> serde_json::Value {
    json!({
        "session": crate::domain::view::session(&rec.info),
        "code": rec.info.code,
        "keys": rec.keys,
        "links": links(base, rec),
    })
}
