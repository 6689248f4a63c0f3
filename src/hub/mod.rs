//! The live part: a registry of session actors, started on first use (and again after one
//! failed), and what they share.
//!
//! Reading order: [`tasks`] (runtimes and shutdown), [`actor`] (the mailbox loop and group
//! commit), [`publish`] (frames per view), [`join`] (join and resume), [`frames`] (the
//! server-to-client wire), [`fanout`] (sockets and the phone lane), [`quota`], [`secrets`].

pub mod actor;
pub mod bus;
pub mod fanout;
pub mod followup;
pub mod frames;
pub mod join;
pub mod programme;
pub mod publish;
pub mod quota;
pub mod relay;
pub mod secrets;
pub mod tasks;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::extract::ws::Utf8Bytes;
use dashmap::DashMap;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::flags::Flagger;
use crate::domain::text::FieldError;
use crate::domain::view::AuthorIds;
use crate::domain::{Command, Role, SessionInfo, SessionState, SessionStatus, SpeakerInput};
use crate::store::{Keys, SessionRecord, Store, StoreError};
use actor::{Control, Mail, Submitted};
use frames::Links;
use join::{Joined, Refusal, Since};
use secrets::DeviceSigner;
use tasks::Tasks;

/// Errors of the hub layer.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The hub is shutting down: no session starts and none takes commands.
    #[error("the hub is shutting down")]
    ShuttingDown,
    /// The session's actor has stopped (it failed); the next join or request starts it again.
    #[error("the session has stopped")]
    SessionStopped,
    /// Another hub sharing the database serves the session now.
    #[error("session {0} is served by another node")]
    Elsewhere(Uuid),
    /// A title or speaker list is not valid; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// No such thing (a programme); the message names it.
    #[error("{0}")]
    NotFound(String),
    /// Taken or in the way (a slug, a join code); the message says what.
    #[error("{0}")]
    Conflict(String),
    /// Every join code tried was taken.
    #[error("no free join code was found; try again")]
    NoFreeCode,
    /// The configured profanity word list could not be read.
    #[error("profanity_words {path}: {source}")]
    WordList {
        /// The configured `profanity_words` path.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The staff runtime could not be built.
    #[error("cannot start the staff runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<FieldError> for HubError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e.0)
    }
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
    /// Runtimes, the shutdown signal and the task trackers.
    pub tasks: Tasks,
    /// The office's own words on the phone page, for audience and press welcomes.
    pub phone: frames::PhoneTexts,
    /// The console's settings, for moderator welcomes.
    pub moderation: frames::Moderation,
    /// The radio desk's settings, for desk welcomes.
    pub desk: frames::DeskTexts,
    /// The agencies cases are forwarded to.
    pub agencies: followup::Agencies,
    /// The programmes and their current episodes.
    pub programmes: programme::Programmes,
    /// This process among the hubs sharing a database: the holder of its sessions' leases.
    pub node: Uuid,
    /// The place and topic lists.
    pub options: Arc<crate::domain::followup::Options>,
    /// New questions per contact through the intake API and the desk
    /// (`intake.per_contact_per_minute`), keyed by session and contact.
    pub intake_limits: governor::DefaultKeyedRateLimiter<String>,
    /// The cluster's bus, when this hub is a node of one (`bus`).
    pub bus: std::sync::OnceLock<Arc<bus::Bus>>,
}

/// How long a session's lease lasts unrenewed (its actor renews it every [`LEASE_RENEW`]): a
/// node that died is replaced after this long.
pub const LEASE_MS: i64 = 4_000;

/// How often a session's actor renews its lease.
pub const LEASE_RENEW: std::time::Duration = std::time::Duration::from_secs(1);

/// A running session: its actor's mailbox.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    /// The session's id.
    pub id: Uuid,
    /// Which start of the session's actor this is (a failed actor's entry is removed by it
    /// alone, never a newer one's).
    generation: u32,
    /// The session runs on another node of the cluster: the handle leads to this node's relay
    /// of it. (The handle is kept by every socket's task: it stays four words.)
    pub relayed: bool,
    tx: mpsc::Sender<Mail>,
}

/// The running sessions, shared with each actor so that an actor that ends removes itself.
#[derive(Debug, Default)]
pub struct Registry {
    /// Running actors by session id.
    sessions: DashMap<Uuid, SessionHandle>,
    /// Join code (upper case) -> session id, for sessions started once.
    codes: DashMap<String, Uuid>,
}

/// Held by an actor for its life: when the actor ends (a shutdown, a failure), its session
/// leaves the registry, and the next join or request starts it again from the journal.
#[derive(Debug)]
pub struct Registration {
    registry: Arc<Registry>,
    id: Uuid,
    generation: u32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        metrics::gauge!("tanya_sessions_running").decrement(1.0);
        let removed = self
            .registry
            .sessions
            .remove_if(&self.id, |_, h| h.generation == self.generation);
        if removed.is_some() {
            tracing::info!(session = %self.id, "session actor left the registry");
        }
    }
}

/// The registry of live sessions.
pub struct Hub {
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    /// Serializes actor start-up so one session never gets two actors.
    starting: Mutex<()>,
    /// Source of connection ids.
    next_conn: AtomicU64,
    /// Source of actor generations.
    next_generation: AtomicU64,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("sessions", &self.registry.sessions.len())
            .finish()
    }
}

impl Hub {
    /// A hub over a store, with its secrets loaded (or generated at the first start) and its
    /// runtimes built. Call it on the runtime that is to serve HTTP and phones.
    pub async fn new(cfg: Arc<Config>, store: Arc<dyn Store>) -> Result<Arc<Self>, HubError> {
        let tasks = Tasks::start().map_err(HubError::Runtime)?;
        Self::with_tasks(cfg, store, tasks).await
    }

    /// The hub a server runs on the address it has bound: its node id (the holder of its
    /// sessions' leases in a shared database) is derived from the machine's name and that
    /// address, so a restart on the same address takes its sessions back at once, and two
    /// live processes never share one (they cannot bind one address).
    pub async fn serving(cfg: Arc<Config>, store: Arc<dyn Store>) -> Result<Arc<Self>, HubError> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let name = format!("{}|{}", host.trim(), cfg.listen);
        let digest = <sha2::Sha256 as sha2::Digest>::digest(name.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        let node = Uuid::from_bytes(id);
        let tasks = Tasks::start().map_err(HubError::Runtime)?;
        Self::build(cfg, store, tasks, node).await
    }

    /// A hub on given runtimes.
    pub async fn with_tasks(
        cfg: Arc<Config>,
        store: Arc<dyn Store>,
        tasks: Tasks,
    ) -> Result<Arc<Self>, HubError> {
        Self::build(cfg, store, tasks, Uuid::new_v4()).await
    }

    async fn build(
        cfg: Arc<Config>,
        store: Arc<dyn Store>,
        tasks: Tasks,
        node: Uuid,
    ) -> Result<Arc<Self>, HubError> {
        let secret = store
            .setting_or_insert("device_secret", &secrets::new_key())
            .await?;
        let flagger = match &cfg.profanity_words {
            Some(path) => Flagger::from_list(&std::fs::read_to_string(path).map_err(|source| {
                HubError::WordList {
                    path: path.clone(),
                    source,
                }
            })?),
            None => Flagger::from_list(include_str!("../../config/profanity.txt")),
        };
        let quotas = quota::Quotas::new(&cfg.limits);
        let options = Arc::new(
            cfg.followup_options()
                .map_err(|e| HubError::Invalid(e.to_string()))?,
        );
        let hub = Arc::new(Self {
            shared: Arc::new(Shared {
                signer: DeviceSigner::new(secret.as_bytes()),
                flagger: Arc::new(flagger),
                quotas,
                tasks,
                phone: frames::PhoneTexts {
                    consent: cfg.phone.consent.clone(),
                    rules: cfg.phone.rules.clone(),
                },
                moderation: frames::Moderation {
                    reasons: cfg.moderation.reject_reasons.clone(),
                },
                agencies: followup::Agencies::default(),
                programmes: programme::Programmes::default(),
                node,
                desk: frames::DeskTexts {
                    stations: cfg.desk.stations.clone(),
                },
                options,
                bus: std::sync::OnceLock::new(),
                intake_limits: governor::RateLimiter::keyed(governor::Quota::per_minute(
                    std::num::NonZeroU32::new(cfg.intake.per_contact_per_minute)
                        .unwrap_or(std::num::NonZeroU32::MIN),
                )),
                cfg,
                store,
            }),
            registry: Arc::new(Registry::default()),
            starting: Mutex::new(()),
            next_conn: AtomicU64::new(1),
            next_generation: AtomicU64::new(1),
        });
        hub.load_agencies().await?;
        hub.load_programmes().await?;
        hub.catch_up_cases().await?;
        let sweep = hub.shared.clone();
        hub.shared
            .tasks
            .spawn_every(std::time::Duration::from_secs(60), move || {
                sweep.quotas.retain_recent()
            });
        // Retention: contacts of cases closed long enough ago are erased, checked hourly (the
        // first check a minute after start).
        let weak = Arc::downgrade(&hub);
        let busy = Arc::new(AtomicBool::new(false));
        let mut minutes = 0u64;
        hub.shared
            .tasks
            .spawn_every(std::time::Duration::from_secs(60), move || {
                minutes += 1;
                if minutes % 60 != 1 || busy.swap(true, Ordering::AcqRel) {
                    return;
                }
                let Some(hub) = weak.upgrade() else { return };
                let busy = busy.clone();
                tokio::spawn(async move {
                    if let Err(e) = hub.retention().await {
                        tracing::error!(error = %e, "retention failed");
                    }
                    busy.store(false, Ordering::Release);
                });
            });
        Ok(hub)
    }

    /// The shared parts (config, store, runtimes).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The hub's runtimes and task trackers.
    pub fn tasks(&self) -> &Tasks {
        &self.shared.tasks
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.tasks.is_shutting_down()
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> Result<(), HubError> {
        Ok(self.shared.store.ping().await?)
    }

    /// Every session, newest first, with its keys.
    pub async fn list_sessions(&self) -> Result<Vec<SessionRecord>, HubError> {
        Ok(self.shared.store.list_sessions().await?)
    }

    /// Creates a session in this hub's store.
    pub async fn new_session(
        &self,
        title: &str,
        speakers: &[SpeakerInput],
        now: i64,
    ) -> Result<SessionRecord, HubError> {
        Self::create_session(self.shared.store.as_ref(), title, speakers, now).await
    }

    /// Marks a session just created (no actor yet, an empty journal) as a rehearsal: its first
    /// journal event says so.
    pub async fn begin_rehearsal(&self, mut rec: SessionRecord) -> Result<SessionRecord, HubError> {
        rec.info.rehearsal = true;
        let e = [crate::domain::Event::Session {
            info: rec.info.clone(),
        }];
        self.shared
            .store
            .append(rec.info.id, 0, &e, Some(&rec.info), &[])
            .await?;
        Ok(rec)
    }

    /// A setting kept in the store, stored as `value` first when absent.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, HubError> {
        Ok(self.shared.store.setting_or_insert(key, value).await?)
    }

    /// A setting kept in the store.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, HubError> {
        Ok(self.shared.store.setting(key).await?)
    }

    /// Sets or removes a setting kept in the store.
    pub async fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), HubError> {
        Ok(self.shared.store.set_setting(key, value).await?)
    }

    /// Creates a session with fresh code and keys in a store (also without a running hub).
    pub async fn create_session(
        store: &dyn Store,
        title: &str,
        speakers: &[SpeakerInput],
        now: i64,
    ) -> Result<SessionRecord, HubError> {
        let title = crate::domain::session::validate_title(title)?;
        let speakers = crate::domain::session::validate_speakers(speakers)?;
        Self::create_record(store, title, speakers, now, None).await
    }

    /// Stores a new session (an episode of `programme` when given) with fresh code and keys.
    pub(crate) async fn create_record(
        store: &dyn Store,
        title: String,
        speakers: Vec<crate::domain::Speaker>,
        now: i64,
        programme: Option<Uuid>,
    ) -> Result<SessionRecord, HubError> {
        for _ in 0..20 {
            let rec = SessionRecord {
                info: SessionInfo {
                    id: Uuid::new_v4(),
                    code: secrets::new_code(),
                    title: title.clone(),
                    status: SessionStatus::Open,
                    speakers: speakers.clone(),
                    created_at: now,
                    starts_at: None,
                    rehearsal: false,
                },
                keys: Keys {
                    desk: secrets::new_key(),
                    intake: secrets::new_key(),
                    moderator: secrets::new_key(),
                    screen: secrets::new_key(),
                    overlay: secrets::new_key(),
                    press: secrets::new_key(),
                },
                programme,
            };
            match store.create_session(&rec).await {
                Ok(()) => return Ok(rec),
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(HubError::NoFreeCode)
    }

    /// The running actor of a session (by id or code), started from the journal when needed.
    pub async fn session(&self, id_or_code: &str) -> Result<Option<SessionHandle>, HubError> {
        let key = id_or_code.trim();
        let known = match Uuid::parse_str(key) {
            Ok(id) => Some(id),
            Err(_) => self
                .registry
                .codes
                .get(&key.to_ascii_uppercase())
                .map(|e| *e),
        };
        if let Some(id) = known
            && let Some(h) = self.running(id)
        {
            return Ok(Some(h));
        }
        if !(secrets::looks_like_code(key) || Uuid::parse_str(key).is_ok()) {
            // A programme's join code (`WONGKITO`): its current episode.
            return match self.programme(key).filter(|p| p.join_code.is_some()) {
                Some(p) => match p.current {
                    Some(cur) => Box::pin(self.session(&cur.to_string())).await,
                    None => Ok(None),
                },
                None => Ok(None),
            };
        }
        let Some(rec) = self.shared.store.find_session(key).await? else {
            return Ok(None);
        };
        if let Some(h) = self.running(rec.info.id) {
            return Ok(Some(h));
        }
        let _guard = self.starting.lock().await;
        if let Some(h) = self.running(rec.info.id) {
            return Ok(Some(h));
        }
        if self.is_shutting_down() {
            return Err(HubError::ShuttingDown);
        }
        self.start(rec, true).await.map(Some)
    }

    /// The running actor of a session this node owns (started when its lease is free); `None`
    /// when another node holds it, or it does not exist.
    pub async fn owned_session(&self, id: Uuid) -> Option<SessionHandle> {
        if let Some(h) = self.running(id) {
            return (!h.relayed).then_some(h);
        }
        let rec = self
            .shared
            .store
            .find_session(&id.to_string())
            .await
            .ok()??;
        let _guard = self.starting.lock().await;
        if let Some(h) = self.running(id) {
            return (!h.relayed).then_some(h);
        }
        if self.is_shutting_down() {
            return None;
        }
        self.start(rec, false).await.ok()
    }

    /// Tells the other nodes of the cluster (if any) of a change they keep in memory.
    pub(crate) async fn announce(&self, news: bus::News) {
        if let Some(b) = self.shared.bus.get() {
            b.announce(news).await;
        }
    }

    /// The node of the cluster running `session` now, when it is another one.
    pub async fn owner_of(&self, session: Uuid) -> Option<Uuid> {
        match self.shared.store.lease_holder(session).await {
            Ok(Some((node, left))) if left > 0 && node != self.shared.node => Some(node),
            _ => None,
        }
    }

    /// Makes this hub a node of a cluster: connects to the bus and serves sessions other nodes
    /// own through relays. `parse` reads a command frame as the socket layer does.
    pub async fn join_bus(
        self: &Arc<Self>,
        url: &str,
        parse: bus::Parse,
    ) -> Result<(), bus::BusError> {
        let b = bus::Bus::start(url, self, parse).await?;
        let _ = self.shared.bus.set(b);
        Ok(())
    }

    /// The handle of a running actor (one whose mailbox is open).
    fn running(&self, id: Uuid) -> Option<SessionHandle> {
        self.registry
            .sessions
            .get(&id)
            .map(|h| h.clone())
            .filter(|h| !h.tx.is_closed())
    }

    /// Starts a session's actor from its journal and registers it; when another node of the
    /// cluster holds the session and `relay` is set, a relay of it instead.
    async fn start(&self, mut rec: SessionRecord, relay: bool) -> Result<SessionHandle, HubError> {
        // Sessions created before the desk and intake keys get theirs now.
        if rec.keys.desk.is_empty() || rec.keys.intake.is_empty() {
            for k in [&mut rec.keys.desk, &mut rec.keys.intake] {
                if k.is_empty() {
                    *k = secrets::new_key();
                }
            }
            self.shared.store.set_keys(rec.info.id, &rec.keys).await?;
        }
        // The lease first, then the journal: what is read is what this node may append to.
        if self
            .shared
            .store
            .lease(rec.info.id, self.shared.node, LEASE_MS)
            .await?
            .is_none()
        {
            if relay
                && let Some(bus) = self.shared.bus.get().filter(|b| b.connected())
                && let Some((owner, _)) = self.shared.store.lease_holder(rec.info.id).await?
                && owner != self.shared.node
                && bus.heard_from(owner).await
            {
                return Ok(self.start_relay(rec, bus.clone(), owner));
            }
            return Err(HubError::Elsewhere(rec.info.id));
        }
        let events = self.shared.store.load_events(rec.info.id).await?;
        let journal_len = events.len() as u64;
        let mut state =
            SessionState::replay(rec.info.clone(), self.shared.flagger.clone(), &events);
        drop(events);
        state.followup.options = self.shared.options.clone();
        state.followup.stations = Arc::new(self.shared.cfg.desk.stations.clone());
        let lagging = self.backfill_cases(rec.info.id, &state).await?;
        if lagging > 0 {
            tracing::info!(session = %rec.info.id, rows = lagging, "case rows caught up with the journal");
        }
        let authors = AuthorIds::new(self.shared.signer.author_salt(rec.info.id));
        let (handle, rx, registration) = self.register(&rec, false);
        let (id, generation) = (handle.id, handle.generation);
        let actor = actor::Actor::new(
            self.shared.clone(),
            rec,
            state,
            authors,
            journal_len,
            rx,
            registration,
        );
        self.shared.tasks.spawn_actor(actor.run());
        tracing::info!(session = %id, generation, "session actor started");
        Ok(handle)
    }

    /// Registers a relay of a session `owner` runs.
    fn start_relay(&self, rec: SessionRecord, bus: Arc<bus::Bus>, owner: Uuid) -> SessionHandle {
        let (handle, rx, registration) = self.register(&rec, true);
        let id = handle.id;
        let r = relay::Relay::new(self.shared.clone(), bus, id, owner, rx, registration);
        self.shared.tasks.spawn_actor(r.run());
        tracing::info!(session = %id, %owner, "session relayed from its owner");
        handle
    }

    /// Puts a session's new mailbox in the registry (by id and by code): its handle, the
    /// receiving end for the actor or relay, and the registration it holds for its life.
    fn register(
        &self,
        rec: &SessionRecord,
        relayed: bool,
    ) -> (SessionHandle, mpsc::Receiver<Mail>, Registration) {
        let (tx, rx) = mpsc::channel(self.shared.cfg.limits.session_queue);
        let id = rec.info.id;
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed) as u32;
        let handle = SessionHandle {
            id,
            generation,
            tx,
            relayed,
        };
        self.registry.sessions.insert(id, handle.clone());
        self.registry.codes.insert(rec.info.code.clone(), id);
        let registration = Registration {
            registry: self.registry.clone(),
            id,
            generation,
        };
        metrics::gauge!("tanya_sessions_running").increment(1.0);
        (handle, rx, registration)
    }

    /// A new connection id.
    pub fn conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Sessions whose actor runs.
    pub fn running_sessions(&self) -> usize {
        self.registry.sessions.len()
    }

    /// Begins shutdown and waits (up to `deadline`) for every actor to commit, answer and close
    /// its sockets.
    pub async fn shutdown(&self, deadline: std::time::Duration) {
        self.shared.tasks.stop_actors(deadline).await;
    }
}

impl SessionHandle {
    /// Joins a socket to the session: checks the key, registers the socket and queues its welcome.
    pub async fn join(&self, req: JoinRequest) -> Result<Joined, Refusal> {
        self.queue_join(req).await?.await
    }

    /// Queues a join now (in order with what this caller sends after it); the outcome comes
    /// from the returned future.
    pub async fn queue_join(
        &self,
        req: JoinRequest,
    ) -> Result<impl Future<Output = Result<Joined, Refusal>> + use<>, Refusal> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Mail::Control(Control::Join {
                req: Box::new(req),
                reply,
            }))
            .await
            .map_err(|_| Refusal::Stopped)?;
        Ok(async move { rx.await.map_err(|_| Refusal::Stopped)? })
    }

    /// Passes a parsed command to the session; false when the session has stopped.
    /// `raw` is the frame as the client sent it, which a relay sends on to the owner.
    pub fn command(
        &self,
        conn: u64,
        client_ref: Option<String>,
        cmd: Command,
        raw: Option<Utf8Bytes>,
    ) -> impl Future<Output = bool> + Send + use<> {
        self.post(Mail::Command(Submitted {
            conn,
            client_ref,
            cmd,
            raw: raw.filter(|_| self.relayed),
        }))
    }

    /// Refuses what only the owner of a session can answer (HTTP queries and requests).
    fn here(&self) -> Result<(), HubError> {
        if self.relayed {
            Err(HubError::Elsewhere(self.id))
        } else {
            Ok(())
        }
    }

    /// Tells the session a socket has gone.
    pub fn leave(&self, conn: u64) -> impl Future<Output = bool> + Send + use<> {
        self.post(Mail::Control(Control::Leave { conn }))
    }

    /// Asks for a fresh welcome for a socket whose queue overflowed.
    pub fn resync(&self, conn: u64) -> impl Future<Output = bool> + Send + use<> {
        self.post(Mail::Control(Control::Resync { conn }))
    }

    /// Queues a message for the actor: at once when its queue has room (the usual case), else
    /// in a boxed wait. The returned future is two words, so the long-lived future of every
    /// socket that awaits it stays small. False when the session has stopped.
    fn post(&self, msg: Mail) -> impl Future<Output = bool> + Send + use<> {
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

    /// Replaces the key of `role` (not the audience, which has none); the session as stored
    /// with its new key. The role's sockets are closed with 4401.
    pub async fn rotate_key(
        &self,
        role: crate::domain::role::KeyRole,
    ) -> Result<SessionRecord, HubError> {
        self.here()?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Mail::Control(Control::RotateKey { role, reply }))
            .await
            .map_err(|_| HubError::SessionStopped)?;
        Ok(rx.await.map_err(|_| HubError::SessionStopped)??)
    }

    /// Runs `f` on the session's current state inside its actor.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&actor::View<'_>) -> T + Send + 'static,
    ) -> Result<T, HubError> {
        self.here()?;
        let (reply, rx) = oneshot::channel();
        let job: actor::QueryFn = Box::new(move |v| {
            let _ = reply.send(f(v));
        });
        self.tx
            .send(Mail::Control(Control::Query(job)))
            .await
            .map_err(|_| HubError::SessionStopped)?;
        rx.await.map_err(|_| HubError::SessionStopped)
    }
}

/// A socket asking to join a session.
#[derive(Debug)]
pub struct JoinRequest {
    /// The socket's connection id.
    pub conn: u64,
    /// The role `hello` asked for.
    pub role: Role,
    /// The key `hello` gave (press, moderator, screen, overlay).
    pub key: Option<String>,
    /// The device token `hello` gave (audience, press).
    pub device: Option<String>,
    /// Where a resuming client left off.
    pub since: Option<Since>,
    /// The peer address (per-address quotas).
    pub addr: IpAddr,
    /// The socket's queue.
    pub tx: fanout::OutTx,
    /// Where the socket is, when another node of the cluster holds it (its frames go there).
    pub remote: Option<Box<fanout::Remote>>,
    /// Set when the socket's queue overflows.
    pub lagged: Arc<AtomicBool>,
    /// A moderator's name (`hello` `name`).
    pub name: Option<String>,
    /// The programme the socket joined through (`hello` `programme`): its keys are checked,
    /// and the socket is closed 4307 when the programme's current episode changes.
    pub via: Option<Uuid>,
}

/// The links of a session, from the hub's public base URL.
pub fn links(base: &str, rec: &SessionRecord) -> Links {
    let i = &rec.info;
    let k = &rec.keys;
    Links {
        audience: format!("{base}/j/{}", i.code),
        desk: format!("{base}/desk/{}#k={}", i.id, k.desk),
        intake: format!("{base}/api/sessions/{}/intake", i.id),
        press: format!("{base}/j/{}#p={}", i.code, k.press),
        moderator: format!("{base}/m/{}#k={}", i.id, k.moderator),
        screen: format!("{base}/screen/{}#k={}", i.id, k.screen),
        overlay: format!("{base}/overlay/{}#k={}", i.id, k.overlay),
    }
}

/// A session as `POST /api/sessions`, `GET /api/sessions` and `tanya session create` return it.
#[derive(Debug, serde::Serialize)]
pub struct SessionJson<'a> {
    /// The join code.
    pub code: &'a str,
    /// The secrets of the session's roles; `keys.press` is the press code.
    pub keys: &'a Keys,
    /// The full links of every role, keys in fragments.
    pub links: Links,
    /// The session view, without `links`.
    pub session: frames::SessionBody<'a>,
}

/// The answer describing a session: keys and links included (admin only).
pub fn session_json<'a>(base: &str, rec: &'a SessionRecord) -> SessionJson<'a> {
    SessionJson {
        code: &rec.info.code,
        keys: &rec.keys,
        links: links(base, rec),
        session: frames::SessionBody::new(&rec.info, None),
    }
}

#[cfg(test)]
mod tests {
    /// Every socket's task keeps its session's handle: it must not grow.
    #[test]
    fn a_session_handle_is_four_words() {
        assert!(std::mem::size_of::<super::SessionHandle>() <= 32);
    }
}
