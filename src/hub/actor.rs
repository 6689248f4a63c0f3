//! The session task: mailbox -> decide -> group commit -> apply -> publish -> reply.
//! One writer per session: the actor owns the state; no locks around questions.
//!
//! Commands queued together are decided and applied one by one, then committed in one
//! transaction; only then are their frames published and their replies sent, in order. A
//! control message (join, leave, resync, query) commits what came before it first, so it sees
//! only stored state. Frames per view are built in `publish.rs`, joins in `join.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::fanout::{Close, Fanout, Out, PerView};
use super::followup::Request;
use super::frames::{self, Links};
use super::join::{Joined, Refusal};
use super::{JoinRequest, Registration, Shared};
use crate::domain::followup::{By, Done};
use crate::domain::role::KeyRole;
use crate::domain::view::{self, AuthorIds, QuestionViewKind};
use crate::domain::{Command, Ctx, Event, Net, Rejection, SessionState, Status, Who};
use crate::store::{SessionRecord, StoreError};

/// What a query sees inside the actor.
pub struct View<'a> {
    /// The session's state, with every change before the query committed.
    pub state: &'a SessionState,
    /// The per-session `author` ids moderators see.
    pub authors: &'a AuthorIds,
    /// The session as stored: its committed info and its keys.
    pub record: &'a SessionRecord,
}

/// A function run on the state inside the actor.
pub type QueryFn = Box<dyn FnOnce(&View<'_>) + Send>;

/// The actor's mailbox: commands, batched into one commit, and control messages.
pub enum Mail {
    /// A command from a joined socket.
    Command(Submitted),
    /// A follow-up request from HTTP (a case action, an erasure), batched like a command.
    Request(Request),
    /// Everything else.
    Control(Control),
}

/// A command as a socket submits it.
pub struct Submitted {
    /// The sending socket.
    pub conn: u64,
    /// The client's `ref`, echoed in the reply.
    pub client_ref: Option<String>,
    /// The parsed command.
    pub cmd: Command,
    /// The frame as the client sent it, when the session runs on another node (the relay sends
    /// it up as it is).
    pub raw: Option<Utf8Bytes>,
}

/// Messages about sockets and queries: never journaled.
pub enum Control {
    /// A socket asks to join.
    Join {
        /// The socket and what its `hello` said.
        req: Box<JoinRequest>,
        /// Where the outcome goes: joined, or why not.
        reply: oneshot::Sender<Result<Joined, Refusal>>,
    },
    /// A socket has gone.
    Leave {
        /// The socket's connection id.
        conn: u64,
    },
    /// A socket whose queue overflowed has written what it held: send it a fresh welcome.
    Resync {
        /// The socket's connection id.
        conn: u64,
    },
    /// Read the state (HTTP answers).
    Query(QueryFn),
    /// The programme's current episode changed: the sockets that joined through it go (4307).
    Episode {
        /// The programme.
        programme: Uuid,
    },
    /// The programme this session is the current episode of changed (title, join code).
    Programme {
        /// The programme as it is now.
        programme: Box<crate::store::Programme>,
    },
    /// A programme key of this role was rotated: its programme-link sockets go (4401).
    ProgrammeKey {
        /// The role whose key changed.
        role: KeyRole,
    },
    /// A new key for a role (the admin's `POST /api/sessions/{id}/keys/{role}`).
    RotateKey {
        /// The key that changes.
        role: KeyRole,
        /// The session as stored with its new key, or why the key could not be stored.
        reply: oneshot::Sender<Result<SessionRecord, StoreError>>,
    },
}

/// The least time between two `votes` frames of a session (the contract: at most 4 a second).
const VOTES_GAP: Duration = Duration::from_millis(250);

/// The least time between two rounds of poll counts to moderators, the screen and the overlay.
const STAFF_GAP: Duration = Duration::from_millis(100);

/// The least time between two rounds of vote counts to moderators and the speakers' screen: a
/// vote reaches them within 100 ms.
const STAFF_VOTES_GAP: Duration = Duration::from_millis(50);

/// How long a case row may lag an edit of its question (the follow-up pages read the table;
/// the live hour's frames never wait for it).
const CASES_GAP: Duration = Duration::from_secs(1);

/// Paces a coalesced round of frames: it goes out at once when the last round is `gap` old or
/// more, else when `gap` has passed since it.
struct Pacer {
    gap: Duration,
    last: Option<Instant>,
    /// Whether `due` is set for a round still to go.
    armed: bool,
    due: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Pacer {
    fn new(gap: Duration) -> Self {
        Self {
            gap,
            last: None,
            armed: false,
            due: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Something changed: true when the round goes out now (it is counted as sent), false when
    /// it waits for `due` (armed now or already).
    fn changed(&mut self) -> bool {
        if self.armed {
            return false;
        }
        let now = Instant::now();
        match self.last.map(|t| t + self.gap).filter(|due| *due > now) {
            Some(due) => {
                self.due.as_mut().reset(due.into());
                self.armed = true;
                false
            }
            None => {
                self.last = Some(now);
                true
            }
        }
    }

    /// The armed round goes out now.
    fn sent(&mut self) {
        self.armed = false;
        self.last = Some(Instant::now());
    }
}

/// The most messages taken from the mailbox at once (one commit at most).
const BATCH: usize = 512;

/// A command decided and applied, waiting for its commit.
pub(super) struct Uncommitted {
    /// Its frames per view, published after the commit.
    pub frames: Vec<PerView>,
    /// Its reply, sent after the frames.
    pub reply: Reply,
    /// For a request from HTTP: where the outcome goes instead of a socket.
    pub http: Option<super::followup::HttpReply>,
}

/// The answer to one command.
pub(super) struct Reply {
    /// The socket that sent the command.
    pub conn: u64,
    pub client_ref: Option<String>,
    pub outcome: Outcome,
}

/// Whether a command was taken.
pub(super) enum Outcome {
    /// The `ok` frame, built when the command was applied (its question as it was then).
    Ok(Utf8Bytes),
    /// Refused.
    Refused(Rejection),
}

impl Reply {
    fn frame(&self) -> Utf8Bytes {
        match &self.outcome {
            Outcome::Ok(f) => f.clone(),
            Outcome::Refused(r) => frames::error(self.client_ref.as_deref(), r),
        }
    }
}

/// One live session.
pub struct Actor {
    pub(super) shared: Arc<Shared>,
    pub(super) record: SessionRecord,
    pub(super) state: SessionState,
    pub(super) authors: AuthorIds,
    /// The role links, shown to moderators.
    pub(super) links: Links,
    /// How the public joins, in every role's session view.
    pub(super) join: frames::Join,
    /// The programme this session is the current episode of, as its session view names it.
    pub(super) programme: Option<frames::ProgrammeRef>,
    /// The same with the programme's links, for moderators.
    pub(super) programme_staff: Option<frames::ProgrammeRef>,
    /// Names this unbroken history; new at every start.
    pub(super) epoch: String,
    /// Last event seq issued.
    pub(super) seq: u64,
    /// Journal rows stored: the position of the next append.
    journal_len: u64,
    pub(super) fanout: Fanout,
    /// Questions whose vote counts changed since the last `votes` frame.
    pub(super) dirty_votes: HashSet<Uuid>,
    /// Questions whose vote count changed since the staff's last round.
    pub(super) dirty_votes_staff: HashSet<Uuid>,
    /// Polls whose counts changed since the last `votes` round (phones).
    pub(super) dirty_polls: HashSet<Uuid>,
    /// Polls whose counts changed since the last staff round (moderators, screen, overlay).
    pub(super) dirty_polls_staff: HashSet<Uuid>,
    /// Questions whose case row exists (written with the question's first event), with the
    /// status that row holds (the board counts answers on air from it).
    pub(super) cased: HashMap<Uuid, crate::domain::Status>,
    /// Questions changed since their case row was last written by something that changes
    /// neither their case nor their status (an edit, a move in the queue): written behind,
    /// once per `CASES_GAP`, off the path of the live frames.
    pub(super) dirty_cases: HashSet<Uuid>,
    /// The store knows this session's case rows lag (`mark_cases_behind`).
    pub(super) cases_marked: bool,
    /// A commit failed and the journal could not be read back: the state may hold what was
    /// not stored, so nothing more is decided on it (the actor stops after this batch).
    broken: bool,
    /// A rehearsal was wiped: the actor stops after this batch, and every socket, told 4503,
    /// comes back to the session started afresh from its journal (a new epoch, fresh welcomes).
    pub(super) restart: bool,
    /// When the lease was last renewed (or taken).
    renewed: Instant,
    /// Last presence counts sent to moderators.
    pub(super) last_presence: [usize; 6],
    rx: mpsc::Receiver<Mail>,
    /// Removes the session from the registry when the actor ends, however it ends.
    _registration: Registration,
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Actor {
    /// An actor over a state rebuilt from `journal_len` journal rows.
    pub fn new(
        shared: Arc<Shared>,
        record: SessionRecord,
        mut state: SessionState,
        authors: AuthorIds,
        journal_len: u64,
        rx: mpsc::Receiver<Mail>,
        registration: Registration,
    ) -> Self {
        let fanout = Fanout::new(
            shared.cfg.limits.resume_window,
            &shared.tasks,
            record.info.id,
        );
        let links = super::links(&shared.cfg.base_url(), &record);
        let join = frames::Join {
            code: None,
            sms: shared.cfg.join.sms.clone(),
            url: links.audience.clone(),
            whatsapp: shared.cfg.join.whatsapp.clone(),
        };
        state.timer_default_ms = u64::from(shared.cfg.stage.timer_seconds) * 1000;
        let cased = state.questions().map(|q| (q.id, q.status)).collect();
        let mut a = Self {
            shared,
            record,
            state,
            authors,
            links,
            join,
            programme: None,
            programme_staff: None,
            epoch: Uuid::new_v4().simple().to_string(),
            seq: 0,
            journal_len,
            fanout,
            dirty_votes: HashSet::new(),
            dirty_votes_staff: HashSet::new(),
            dirty_polls: HashSet::new(),
            dirty_polls_staff: HashSet::new(),
            cased,
            dirty_cases: HashSet::new(),
            cases_marked: false,
            broken: false,
            last_presence: [0; 6],
            restart: false,
            renewed: Instant::now(),
            rx,
            _registration: registration,
        };
        let p = a.current_programme();
        a.set_programme(p.as_ref());
        a
    }

    /// Runs until shutdown (then answers what is queued, sends pending votes and closes every
    /// socket with 4503), or until no socket has been joined for `limits.session_idle_ms` (then
    /// it stops, and the next join or request starts the session again from its journal).
    pub async fn run(mut self) {
        // Vote counts (and the phones' poll counts) go out at most once per VOTES_GAP, the
        // staff's poll counts at most once per STAFF_GAP: at once when the last round is older (a
        // vote in a quiet room shows at once), else when the gap has passed.
        let mut votes = Pacer::new(VOTES_GAP);
        let mut staff = Pacer::new(STAFF_GAP);
        let mut staff_votes = Pacer::new(STAFF_VOTES_GAP);
        let mut presence_tick = tokio::time::interval(Duration::from_secs(2));
        presence_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The lease is renewed every second, and the other nodes holding sockets of the session
        // hear from it as often.
        let mut lease_tick = tokio::time::interval(super::LEASE_RENEW);
        lease_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let cancel = self.shared.tasks.cancel_token().clone();
        let idle_limit = Duration::from_millis(self.shared.cfg.limits.session_idle_ms);
        let mut idle_since: Option<Instant> = None;
        // Presence goes into the journal every `followup.presence_every_ms` (a minute) while
        // anyone is joined: the report's peak per role.
        let every = Duration::from_millis(self.shared.cfg.followup.presence_every_ms);
        let mut journal_tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        journal_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cases_tick =
            tokio::time::interval_at(tokio::time::Instant::now() + CASES_GAP, CASES_GAP);
        cases_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut buf = Vec::with_capacity(BATCH);
        let idle = loop {
            tokio::select! {
                n = self.rx.recv_many(&mut buf, BATCH) => {
                    if n == 0 { break false; }
                    let batch = std::mem::take(&mut buf);
                    self.handle(batch).await;
                    if self.restart {
                        break true;
                    }
                    idle_since = None;
                    let counts_changed = !self.dirty_votes.is_empty() || !self.dirty_polls.is_empty();
                    if counts_changed && votes.changed() {
                        self.flush_votes();
                    }
                    if !self.dirty_polls_staff.is_empty() && staff.changed() {
                        self.flush_staff_polls();
                    }
                    if !self.dirty_votes_staff.is_empty() && staff_votes.changed() {
                        self.flush_staff_votes();
                    }
                }
                _ = &mut votes.due, if votes.armed => {
                    votes.sent();
                    self.flush_votes();
                }
                _ = &mut staff.due, if staff.armed => {
                    staff.sent();
                    self.flush_staff_polls();
                }
                _ = &mut staff_votes.due, if staff_votes.armed => {
                    staff_votes.sent();
                    self.flush_staff_votes();
                }
                _ = lease_tick.tick() => {
                    if !self.renew_lease().await {
                        break true;
                    }
                    self.nodes_alive();
                }
                _ = presence_tick.tick() => {
                    self.presence();
                    // A new high in any role is journaled at once: the report's peak.
                    if self.presence_peaks() {
                        self.journal_presence().await;
                    }
                    if !self.fanout.is_empty() {
                        idle_since = None;
                    } else if idle_since.get_or_insert_with(Instant::now).elapsed() >= idle_limit {
                        break true;
                    }
                }
                _ = journal_tick.tick() => self.journal_presence().await,
                _ = cases_tick.tick(), if !self.dirty_cases.is_empty() => self.flush_cases().await,
                _ = cancel.cancelled() => break false,
            }
        };
        self.rx.close();
        while self.rx.recv_many(&mut buf, BATCH).await > 0 {
            let mut batch = std::mem::take(&mut buf);
            if idle {
                // A join that raced the stop is refused `Stopped`: the socket asks the hub
                // again, which starts the session anew.
                batch.retain(|m| !matches!(m, Mail::Control(Control::Join { .. })));
            }
            self.handle(batch).await;
        }
        self.flush_staff_polls();
        self.flush_staff_votes();
        self.flush_votes();
        self.flush_cases().await;
        if !self.broken {
            let _ = self
                .shared
                .store
                .release(self.record.info.id, self.shared.node)
                .await;
        }
        self.fanout.close_all(if self.restart {
            Close::Restarting
        } else {
            Close::ShuttingDown
        });
        if idle {
            tracing::info!(session = %self.record.info.id, "session idle: actor stopped");
        } else {
            tracing::info!(session = %self.record.info.id, "session actor stopped");
        }
    }

    /// One batch from the mailbox: commands are decided and applied as they come and committed
    /// together; a control message commits what came before it, then runs.
    async fn handle(&mut self, batch: Vec<Mail>) {
        let mut events: Vec<Event> = Vec::new();
        let mut done: Vec<Uncommitted> = Vec::new();
        for mail in batch {
            if self.broken {
                self.refuse(mail);
                continue;
            }
            match mail {
                Mail::Command(c) if matches!(c.cmd, Command::RotateKey { .. }) => {
                    self.commit(&mut events, &mut done).await;
                    self.rotate_command(c).await;
                }
                Mail::Command(c) => {
                    if let Some(d) = self.command(c, &mut events) {
                        done.push(d);
                    }
                }
                Mail::Request(r) => done.push(self.request(r, &mut events)),
                Mail::Control(Control::RotateKey { role, reply }) => {
                    self.commit(&mut events, &mut done).await;
                    let r = self.rotate_key(role, None).await;
                    let _ = reply.send(r.map(|()| self.record.clone()));
                }
                Mail::Control(c) => {
                    self.commit(&mut events, &mut done).await;
                    self.control(c);
                }
            }
        }
        self.commit(&mut events, &mut done).await;
    }

    /// Mail after the state could not be rebuilt from the journal: nothing more is decided on
    /// it. Commands and requests get `internal` (nothing stored: retry), joins are sent back to
    /// start the session afresh.
    fn refuse(&mut self, mail: Mail) {
        match mail {
            Mail::Command(c) => {
                let reply = Reply {
                    conn: c.conn,
                    client_ref: c.client_ref,
                    outcome: Outcome::Refused(Rejection::not_stored()),
                };
                self.fanout.send(c.conn, Out::Frame(reply.frame()));
            }
            Mail::Request(r) => {
                let _ = r.reply.send(Err(Rejection::not_stored()));
            }
            Mail::Control(Control::Join { reply, .. }) => {
                let _ = reply.send(Err(Refusal::Stopped));
            }
            Mail::Control(Control::Leave { conn }) => self.fanout.remove(conn),
            // The others' answers are dropped: their callers see the session stopped.
            Mail::Control(_) => {}
        }
    }

    fn control(&mut self, msg: Control) {
        match msg {
            Control::Join { req, reply } => {
                let r = self.join(*req);
                let _ = reply.send(r);
            }
            Control::Leave { conn } => self.fanout.remove(conn),
            Control::Resync { conn } => {
                if let Some(who) = self.fanout.get(conn).map(|c| c.who) {
                    let w = self.welcome(&who, None);
                    self.fanout.resync(conn, w);
                    metrics::counter!("tanya_resyncs_total").increment(1);
                }
            }
            Control::Query(f) => f(&View {
                state: &self.state,
                authors: &self.authors,
                record: &self.record,
            }),
            Control::Episode { programme } => {
                if self.record.programme == Some(programme) {
                    self.close_programme_sockets();
                    let p = self.current_programme();
                    self.set_programme(p.as_ref());
                }
            }
            Control::Programme { programme } => {
                if self.record.programme == Some(programme.id) {
                    let p = self.current_programme();
                    self.set_programme(p.as_ref());
                    self.publish_session();
                }
            }
            Control::ProgrammeKey { role } => self.programme_key_changed(role, None),
            Control::RotateKey { .. } => unreachable!("handled with the batch"),
        }
    }

    /// `rotate_key` from a moderator's socket: the role table (through `decide`), then the
    /// rotation; the sender keeps its socket and gets `ok`, every moderator the new links.
    async fn rotate_command(&mut self, c: Submitted) {
        let Submitted {
            conn,
            client_ref,
            cmd,
            ..
        } = c;
        let Some(who) = self.fanout.get(conn).map(|c| c.who) else {
            return;
        };
        let Command::RotateKey { role, programme } = cmd else {
            return;
        };
        let ctx = Ctx {
            now: now_ms(),
            new_id: Uuid::new_v4(),
            from: None,
        };
        let outcome = match self.state.decide(&who, &cmd, ctx) {
            Err(r) => Outcome::Refused(r),
            Ok(_) if programme => match self.rotate_programme_key(role, conn).await {
                Ok(()) => Outcome::Ok(frames::encode(&frames::Ok::new(
                    client_ref.as_deref(),
                    None,
                ))),
                Err(r) => Outcome::Refused(r),
            },
            Ok(_) => match self.rotate_key(role, Some(conn)).await {
                Ok(()) => Outcome::Ok(frames::encode(&frames::Ok::new(
                    client_ref.as_deref(),
                    None,
                ))),
                Err(_) => Outcome::Refused(Rejection::not_stored()),
            },
        };
        let code = match &outcome {
            Outcome::Ok(_) => "ok",
            Outcome::Refused(r) => r.code.as_str(),
        };
        metrics::counter!("tanya_commands_total", "type" => "rotate_key", "outcome" => code)
            .increment(1);
        let reply = Reply {
            conn,
            client_ref,
            outcome,
        };
        self.fanout.send(conn, Out::Frame(reply.frame()));
    }

    /// Replaces the key of `role` with a new one, durably; then closes (4401) the sockets that
    /// joined with the old key, but `keep`, and sends moderators the session with its new links.
    async fn rotate_key(&mut self, key: KeyRole, keep: Option<u64>) -> Result<(), StoreError> {
        let mut keys = self.record.keys.clone();
        let new = super::secrets::new_key();
        keys.renew(key, new);
        if let Err(e) = self.shared.store.set_keys(self.record.info.id, &keys).await {
            tracing::error!(session = %self.record.info.id, error = %e, "key rotation not stored");
            return Err(e);
        }
        self.record.keys = keys;
        self.links = super::links(&self.shared.cfg.base_url(), &self.record);
        let old: Vec<u64> = self
            .fanout
            .all()
            .filter(|(id, c)| Some(c.who.role()) == key.role() && Some(*id) != keep && !c.via)
            .map(|(id, _)| id)
            .collect();
        for id in old {
            self.fanout.send(id, Out::Close(Close::KeyChanged));
            self.fanout.remove(id);
        }
        tracing::info!(session = %self.record.info.id, role = key.as_str(), "key rotated");
        self.seq += 1;
        let f = frames::encode(&frames::Session::new(
            self.seq,
            self.body(Some(&self.links)),
        ));
        self.fanout.publish(PerView {
            seq: self.seq,
            moderator: Some(f),
            ..PerView::default()
        });
        Ok(())
    }

    /// Commits the batch in one transaction, then publishes its frames and replies in order.
    /// When the commit fails, nothing of the batch is published, every command that would have
    /// been `ok` is answered `internal`, and the state is rebuilt from the journal.
    pub(super) async fn commit(&mut self, events: &mut Vec<Event>, done: &mut Vec<Uncommitted>) {
        if !events.is_empty() {
            let info = events
                .iter()
                .any(|e| matches!(e, Event::Session { .. }))
                .then(|| self.state.info.clone());
            let mut cases = self.case_rows(events);
            if !self.dirty_cases.is_empty() && !self.cases_marked {
                // Marked before the journal rows that make the case rows lag, so a start after
                // a crash knows to catch them up; unmarkable, they are written now instead.
                match self
                    .shared
                    .store
                    .mark_cases_behind(self.record.info.id)
                    .await
                {
                    Ok(()) => self.cases_marked = true,
                    Err(e) => {
                        tracing::warn!(session = %self.record.info.id, error = %e, "case rows written with the journal");
                        let session = self.record.info.id;
                        cases.extend(
                            self.dirty_cases
                                .drain()
                                .filter_map(|id| self.state.question(id))
                                .map(|q| super::followup::case_row(session, &self.state, q)),
                        );
                    }
                }
            }
            let t = Instant::now();
            let r = self
                .shared
                .store
                .append(
                    self.record.info.id,
                    self.journal_len,
                    events,
                    info.as_ref(),
                    &cases,
                )
                .await;
            metrics::histogram!("tanya_commit_seconds").record(t.elapsed().as_secs_f64());
            match r {
                Ok(()) => {
                    self.journal_len += events.len() as u64;
                    if events.iter().any(|e| matches!(e, Event::Wipe { .. })) {
                        self.restart = true;
                        // The wipe deleted the session's case rows; those of questions
                        // made after it in this batch were written with it.
                        self.dirty_cases.clear();
                    }
                    if let Some(info) = info {
                        self.record.info = info;
                    }
                }
                Err(e) => {
                    tracing::error!(session = %self.record.info.id, error = %e, "commit failed");
                    if matches!(e, StoreError::Fenced(_)) {
                        // Another node serves the session now: nothing more is decided here.
                        self.stop_here();
                    } else {
                        self.reload().await;
                    }
                    for d in done.iter_mut() {
                        d.frames.clear();
                        if matches!(d.reply.outcome, Outcome::Ok(_)) {
                            d.reply.outcome = Outcome::Refused(Rejection::not_stored());
                        }
                    }
                }
            }
            events.clear();
        }
        let t = Instant::now();
        let published = done.iter().map(|d| d.frames.len()).sum::<usize>();
        for d in done.drain(..) {
            for f in d.frames {
                self.fanout.publish(f);
            }
            match d.http {
                Some(h) => {
                    let _ = h.tx.send(match d.reply.outcome {
                        Outcome::Ok(_) => Ok(h.question),
                        Outcome::Refused(r) => Err(r),
                    });
                }
                None => self.fanout.send(d.reply.conn, Out::Frame(d.reply.frame())),
            }
        }
        if published > 0 {
            metrics::histogram!("tanya_fanout_seconds").record(t.elapsed().as_secs_f64());
        }
    }

    /// Stops deciding here: mail is refused, the actor ends and its sockets get 4503 (the next
    /// join starts the session from its journal, wherever it is served). The case rows not yet
    /// written are left to that start, which compares every row with the journal.
    fn stop_here(&mut self) {
        self.dirty_cases.clear();
        self.broken = true;
        self.restart = true;
    }

    /// Renews the session's lease; false when another node has taken the session over, or the
    /// store has not answered for the lease's length (the actor then stops: its sockets get 4503
    /// and reconnect to whoever serves it). A shorter outage keeps the lease as it is: the
    /// commits say what works.
    async fn renew_lease(&mut self) -> bool {
        match self
            .shared
            .store
            .lease(self.record.info.id, self.shared.node, super::LEASE_MS)
            .await
        {
            Ok(Some(_)) => {
                self.renewed = Instant::now();
                true
            }
            // The database does not answer: the lease may run out meanwhile, and another node
            // take the session. Past the lease's own length (by this node's clock) the session
            // stops here, so that no socket of this node goes on seeing a session that may be
            // served elsewhere; its sockets reconnect.
            Err(_) if self.renewed.elapsed() < Duration::from_millis(super::LEASE_MS as u64) => {
                true
            }
            Err(e) => {
                tracing::warn!(session = %self.record.info.id, error = %e, "the lease could not be renewed in time: the session stops here");
                self.stop_here();
                false
            }
            Ok(None) => {
                tracing::warn!(session = %self.record.info.id, "lease taken over by another node: the session stops here");
                self.stop_here();
                false
            }
        }
    }

    /// Tells the other nodes holding sockets of the session that it runs here, and forgets the
    /// sockets of nodes that went quiet (their phones reconnect elsewhere).
    fn nodes_alive(&mut self) {
        if let Some(bus) = self.shared.bus.get() {
            let gone: Vec<Uuid> = self.fanout.nodes().filter(|n| !bus.alive(*n)).collect();
            for node in gone {
                tracing::warn!(session = %self.record.info.id, %node, "node went quiet: its sockets are forgotten");
                self.fanout.drop_node(node);
            }
        }
        self.fanout.beat();
    }

    /// Rebuilds the state from the journal after a failed commit.
    /// When the journal cannot be read either (the database is down), the state still holds
    /// what was not stored: the actor stops, its sockets get 4503, and the next join or request
    /// starts the session from its journal once the database answers again.
    async fn reload(&mut self) {
        match self.shared.store.load_events(self.record.info.id).await {
            Ok(evs) => {
                self.journal_len = evs.len() as u64;
                self.state = SessionState::replay(
                    self.record.info.clone(),
                    self.shared.flagger.clone(),
                    &evs,
                );
                self.state.timer_default_ms = u64::from(self.shared.cfg.stage.timer_seconds) * 1000;
                self.state.followup.options = self.shared.options.clone();
                self.state.followup.stations = Arc::new(self.shared.cfg.desk.stations.clone());
                self.cased = self.state.questions().map(|q| (q.id, q.status)).collect();
            }
            Err(e) => {
                tracing::error!(session = %self.record.info.id, error = %e, "reload after failed commit failed: the session stops");
                self.stop_here();
            }
        }
    }

    /// Decides a command and applies its events (their commit comes with the batch's). `None`
    /// when the socket has gone meanwhile.
    fn command(&mut self, c: Submitted, events: &mut Vec<Event>) -> Option<Uncommitted> {
        let Submitted {
            conn,
            client_ref,
            mut cmd,
            ..
        } = c;
        let (who, addr, name) = self
            .fanout
            .get(conn)
            .map(|c| (c.who, c.addr, c.name.as_deref().map(str::to_string)))?;
        let mut prepared = Ok(());
        if let Command::Case { by, action, .. } = &mut cmd {
            by.name = name.clone();
            prepared = self.prepare_case(action);
        }
        let kind = cmd.kind().as_str();
        let refuse = |r: Rejection| {
            metrics::counter!("tanya_commands_total", "type" => kind, "outcome" => r.code.as_str())
                .increment(1);
            Uncommitted {
                frames: vec![],
                reply: Reply {
                    conn,
                    client_ref: client_ref.clone(),
                    outcome: Outcome::Refused(r),
                },
                http: None,
            }
        };
        let ctx = Ctx {
            now: now_ms(),
            new_id: Uuid::new_v4(),
            from: Some(Net::of(addr)),
        };
        if let Err(r) = prepared {
            return Some(refuse(r));
        }
        let mut decision = match self.state.decide(&who, &cmd, ctx) {
            Ok(d) => d,
            Err(r) => return Some(refuse(r)),
        };
        let by = match who {
            Who::MODERATOR => Some(By::moderator(name.clone())),
            Who::DESK => Some(By {
                agency: None,
                name: name.clone(),
                role: crate::domain::followup::ByRole::Desk,
            }),
            _ => None,
        };
        if let Some(by) = by {
            // Who did what: the question's history.
            for e in &mut decision.events {
                if let Event::Put { done, .. } = e {
                    *done = Some(Done {
                        act: kind.to_string(),
                        by: by.clone(),
                    });
                }
            }
        }
        if let (Some(q), Some(device)) = (decision.quota, who.device())
            && let Err(ms) = self
                .shared
                .quotas
                .check(q, self.record.info.id, device, addr)
        {
            return Some(refuse(Rejection::rate_limited(cmd.kind(), ms)));
        }
        // Only a change of the live question (or of which one is live), an overlay event or new
        // speakers can change what the overlay shows: votes, choices, bans and changes of other
        // questions (the hot path) skip the comparison.
        let live = self.state.live().map(|q| q.id);
        let overlay_before = decision
            .events
            .iter()
            .any(|e| match e {
                Event::Put { question, .. } => {
                    question.status == Status::Live || Some(question.id) == live
                }
                Event::Overlay { .. }
                | Event::PollOnAir { .. }
                | Event::Graphic { .. }
                | Event::Session { .. } => true,
                _ => false,
            })
            .then(|| frames::encode(&view::overlay(&self.state)));
        let mut frames = Vec::new();
        for e in &decision.events {
            let applied = self.state.apply(e);
            self.frames_for(applied, &mut frames);
        }
        if let Some(before) = overlay_before
            && before != frames::encode(&view::overlay(&self.state))
        {
            frames.push(self.overlay_frames());
        }
        if decision
            .events
            .iter()
            .any(|e| matches!(e, Event::Timer { .. } | Event::Message { .. }))
        {
            frames.push(self.stage_frames());
        }
        let question = decision.question.and_then(|id| self.state.question(id));
        let view_kind = match who {
            Who::MODERATOR => QuestionViewKind::Moderator,
            Who::DESK => QuestionViewKind::Desk,
            _ => QuestionViewKind::Author,
        };
        let mut ok = frames::Ok::new(
            client_ref.as_deref(),
            question.map(|q| view::question(&self.state, q, view_kind, &self.authors)),
        );
        ok.tracking = question.map(|q| crate::domain::followup::tracking_code(q.id));
        let viewer = match who.device() {
            Some(d) => view::PollViewer::Device(d),
            None => view::PollViewer::Staff,
        };
        ok.poll = decision
            .poll
            .and_then(|id| self.state.polls.get(id))
            .map(|p| view::poll(&self.state, p, viewer));
        let ok = frames::encode(&ok);
        metrics::counter!("tanya_commands_total", "type" => kind, "outcome" => "ok").increment(1);
        events.extend(decision.events);
        Some(Uncommitted {
            frames,
            reply: Reply {
                conn,
                client_ref,
                outcome: Outcome::Ok(ok),
            },
            http: None,
        })
    }
}
