//! The session task: command queue -> decide -> group commit -> apply -> publish.
//! One writer per session: the actor owns the state; no locks around questions.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::Shared;
use super::fanout::{Conn, Entry, Fanout, Out};
use super::secrets::same_secret;
use crate::domain::view::{self, AuthorIds, QuestionViewKind};
use crate::domain::{
    Applied, Command, Ctx, DeviceId, ErrorCode, Event, Question, Rejection, Role, SessionState,
    Status, Who,
};
use crate::store::SessionRecord;

/// A resume position sent in `hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    pub epoch: String,
    pub seq: u64,
}

/// Why a socket may not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong or missing key (4401).
    BadKey,
    /// The hub is shutting down (4503).
    ShuttingDown,
}

/// A socket joined: the device it speaks for.
#[derive(Debug, Clone, Copy)]
pub struct Joined {
    pub device: Option<DeviceId>,
}

/// A socket asking to join.
#[derive(Debug)]
pub struct JoinRequest {
    pub conn: u64,
    pub role: Role,
    pub key: Option<String>,
    pub device: Option<String>,
    pub since: Option<Since>,
    pub addr: IpAddr,
    pub tx: super::fanout::OutTx,
    pub lagged: Arc<AtomicBool>,
}

/// What a query sees inside the actor.
pub struct View<'a> {
    pub state: &'a SessionState,
    pub authors: &'a AuthorIds,
    pub record: &'a SessionRecord,
}

/// A function run on the state inside the actor.
pub type QueryFn = Box<dyn FnOnce(&View<'_>) + Send>;

/// The actor's mailbox.
pub enum ActorMsg {
    Join {
        req: Box<JoinRequest>,
        reply: oneshot::Sender<Result<Joined, Refusal>>,
    },
    Leave {
        conn: u64,
    },
    Command {
        conn: u64,
        client_ref: Option<String>,
        cmd: Command,
        kind: &'static str,
    },
    Resync {
        conn: u64,
    },
    Query(QueryFn),
}

/// The least time between two `votes` frames of a session (the contract: at most 4 a second).
const VOTES_GAP: Duration = Duration::from_millis(250);

/// A command decided and applied, waiting for its commit.
struct Done {
    entries: Vec<Entry>,
    reply: Option<(u64, Reply)>,
}

enum Reply {
    Ok(Value),
    Err(Value),
}

/// One live session.
pub struct Actor {
    shared: Arc<Shared>,
    record: SessionRecord,
    state: SessionState,
    authors: AuthorIds,
    /// Names this unbroken history; new at every start.
    epoch: String,
    /// Last event seq issued.
    seq: u64,
    /// Journal rows stored: the position of the next append.
    journal_len: u64,
    fanout: Fanout,
    /// Questions whose vote counts changed since the last `votes` frame.
    dirty_votes: HashSet<Uuid>,
    /// Last presence counts sent to moderators.
    last_presence: [usize; 5],
    rx: mpsc::Receiver<ActorMsg>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn frame(v: &Value) -> Utf8Bytes {
    Utf8Bytes::from(v.to_string())
}

fn error_json(client_ref: Option<&str>, r: &Rejection) -> Value {
    let mut v = json!({"type":"error","ref":client_ref,"code":r.code.as_str(),"message":r.message});
    if let Some(rev) = r.rev {
        v["rev"] = json!(rev);
    }
    v
}

impl Actor {
    /// An actor over a state rebuilt from `journal_len` journal rows.
    pub fn new(
        shared: Arc<Shared>,
        record: SessionRecord,
        state: SessionState,
        authors: AuthorIds,
        journal_len: u64,
        rx: mpsc::Receiver<ActorMsg>,
    ) -> Self {
        let cap = shared.cfg.limits.resume_window;
        Self {
            shared,
            record,
            state,
            authors,
            epoch: Uuid::new_v4().simple().to_string(),
            seq: 0,
            journal_len,
            fanout: Fanout::new(cap),
            dirty_votes: HashSet::new(),
            last_presence: [0; 5],
            rx,
        }
    }

    /// Runs until shutdown: then answers what is queued, sends pending votes and closes every socket with 4503.
    pub async fn run(mut self) {
        // Vote counts go out at most once per VOTES_GAP: at once when the last frame is older
        // (a vote in a quiet room shows at once), else when the gap has passed.
        let mut last_votes: Option<Instant> = None;
        let votes_due = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(votes_due);
        let mut votes_armed = false;
        let mut presence_tick = tokio::time::interval(Duration::from_secs(2));
        presence_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = self.shared.shutdown.clone();
        let mut buf = Vec::with_capacity(512);
        loop {
            tokio::select! {
                n = self.rx.recv_many(&mut buf, 512) => {
                    if n == 0 { break; }
                    let batch = std::mem::take(&mut buf);
                    self.handle(batch).await;
                    if !votes_armed && !self.dirty_votes.is_empty() {
                        let now = Instant::now();
                        match last_votes.map(|t| t + VOTES_GAP).filter(|due| *due > now) {
                            Some(due) => {
                                votes_due.as_mut().reset(due.into());
                                votes_armed = true;
                            }
                            None => {
                                self.flush_votes();
                                last_votes = Some(now);
                            }
                        }
                    }
                }
                _ = &mut votes_due, if votes_armed => {
                    votes_armed = false;
                    self.flush_votes();
                    last_votes = Some(Instant::now());
                }
                _ = presence_tick.tick() => self.presence(),
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() { break; }
                }
            }
        }
        self.rx.close();
        while self.rx.recv_many(&mut buf, 512).await > 0 {
            let batch = std::mem::take(&mut buf);
            self.handle(batch).await;
        }
        self.flush_votes();
        self.fanout.close_all(4503, "hub shutting down");
        tracing::info!(session = %self.record.info.id, "session actor stopped");
    }

    async fn handle(&mut self, batch: Vec<ActorMsg>) {
        let mut events: Vec<Event> = Vec::new();
        let mut done: Vec<Done> = Vec::new();
        for msg in batch {
            match msg {
                ActorMsg::Command {
                    conn,
                    client_ref,
                    cmd,
                    kind,
                } => {
                    self.command(conn, client_ref, cmd, kind, &mut events, &mut done);
                }
                other => {
                    self.commit(&mut events, &mut done).await;
                    self.other(other);
                }
            }
        }
        self.commit(&mut events, &mut done).await;
    }

    fn other(&mut self, msg: ActorMsg) {
        match msg {
            ActorMsg::Join { req, reply } => {
                let r = self.join(*req);
                let _ = reply.send(r);
            }
            ActorMsg::Leave { conn } => {
                self.fanout.remove(conn);
            }
            ActorMsg::Resync { conn } => {
                if let Some(c) = self.fanout.get(conn) {
                    let (role, device) = (c.role, c.device);
                    let w = self.welcome(role, device, None);
                    self.fanout.resync(conn, w);
                    metrics::counter!("tanya_resyncs_total").increment(1);
                }
            }
            ActorMsg::Query(f) => f(&View {
                state: &self.state,
                authors: &self.authors,
                record: &self.record,
            }),
            ActorMsg::Command { .. } => {}
        }
    }

    /// Commits the batch in one transaction, then publishes its events and replies in order.
    async fn commit(&mut self, events: &mut Vec<Event>, done: &mut Vec<Done>) {
        if !events.is_empty() {
            let info = events
                .iter()
                .any(|e| matches!(e, Event::Session { .. }))
                .then(|| self.state.info.clone());
            let t = Instant::now();
            let r = self
                .shared
                .store
                .append(self.record.info.id, self.journal_len, events, info.as_ref())
                .await;
            metrics::histogram!("tanya_commit_seconds").record(t.elapsed().as_secs_f64());
            match r {
                Ok(()) => {
                    self.journal_len += events.len() as u64;
                    if let Some(info) = info {
                        self.record.info = info;
                    }
                }
                Err(e) => {
                    tracing::error!(session = %self.record.info.id, error = %e, "commit failed");
                    self.reload().await;
                    for d in done.iter_mut() {
                        d.entries.clear();
                        if let Some((_, r @ Reply::Ok(_))) = &mut d.reply {
                            let ref_ = match r {
                                Reply::Ok(v) => v.get("ref").cloned(),
                                Reply::Err(_) => None,
                            };
                            *r = Reply::Err(json!({"type":"error","ref":ref_,"code":"internal",
                                "message":"the change could not be stored; try again"}));
                        }
                    }
                }
            }
            events.clear();
        }
        let t = Instant::now();
        let published = done.iter().map(|d| d.entries.len()).sum::<usize>();
        for d in done.drain(..) {
            for e in d.entries {
                self.fanout.publish(e);
            }
            if let Some((conn, r)) = d.reply {
                let v = match r {
                    Reply::Ok(v) | Reply::Err(v) => v,
                };
                self.fanout.send(conn, Out::Frame(frame(&v)));
            }
        }
        if published > 0 {
            metrics::histogram!("tanya_fanout_seconds").record(t.elapsed().as_secs_f64());
        }
    }

    /// Rebuilds the state from the journal after a failed commit.
    async fn reload(&mut self) {
        match self.shared.store.load_events(self.record.info.id).await {
            Ok(evs) => {
                self.journal_len = evs.len() as u64;
                self.state = SessionState::replay(
                    self.record.info.clone(),
                    self.shared.flagger.clone(),
                    &evs,
                );
            }
            Err(e) => tracing::error!(error = %e, "reload after failed commit failed"),
        }
    }

    fn command(
        &mut self,
        conn: u64,
        client_ref: Option<String>,
        cmd: Command,
        kind: &'static str,
        events: &mut Vec<Event>,
        done: &mut Vec<Done>,
    ) {
        let Some(c) = self.fanout.get(conn) else {
            return;
        };
        let who = Who {
            role: c.role,
            device: c.device,
        };
        let addr = c.addr;
        let ctx = Ctx {
            now: now_ms(),
            new_id: Uuid::new_v4(),
        };
        let reject = |r: Rejection| {
            metrics::counter!("tanya_commands_total", "type" => kind, "outcome" => r.code.as_str())
                .increment(1);
            Done {
                entries: vec![],
                reply: Some((conn, Reply::Err(error_json(client_ref.as_deref(), &r)))),
            }
        };
        let decision = match self.state.decide(&who, &cmd, ctx) {
            Ok(d) => d,
            Err(r) => return done.push(reject(r)),
        };
        if let (Some(q), Some(device)) = (decision.quota, who.device)
            && let Err(ms) = self
                .shared
                .quotas
                .check(q, self.record.info.id, device, addr)
        {
            let mut v = error_json(
                client_ref.as_deref(),
                &Rejection::new(
                    ErrorCode::RateLimited,
                    format!(
                        "too many {kind}s from this device: wait {}s",
                        ms.div_ceil(1000)
                    ),
                ),
            );
            v["retry_after_ms"] = json!(ms);
            metrics::counter!("tanya_commands_total", "type" => kind, "outcome" => "rate_limited")
                .increment(1);
            return done.push(Done {
                entries: vec![],
                reply: Some((conn, Reply::Err(v))),
            });
        }
        // Only a question change or an overlay event can change what the lower third shows:
        // votes, bans and session edits (the hot path) skip the comparison.
        let may_touch_overlay = decision
            .events
            .iter()
            .any(|e| matches!(e, Event::Put { .. } | Event::Overlay { .. }));
        let overlay_json =
            |s: &SessionState| serde_json::to_value(view::overlay(s)).unwrap_or(Value::Null);
        let overlay_before = may_touch_overlay.then(|| overlay_json(&self.state));
        let mut entries = Vec::new();
        for e in &decision.events {
            let applied = self.state.apply(e);
            self.entries_for(applied, &mut entries);
        }
        let overlay_after = may_touch_overlay.then(|| overlay_json(&self.state));
        if let Some(mut v) = overlay_after.filter(|after| Some(after) != overlay_before.as_ref()) {
            self.seq += 1;
            v["type"] = json!("overlay");
            v["seq"] = json!(self.seq);
            let f = frame(&v);
            entries.push(Entry {
                seq: self.seq,
                moderator: Some(f.clone()),
                screen: Some(f.clone()),
                overlay: Some(f),
                ..Entry::default()
            });
        }
        let mut ok = json!({"type":"ok","ref":client_ref});
        if let Some(id) = decision.question
            && let Some(q) = self.state.question(id)
        {
            let kind = if who.role == Role::Moderator {
                QuestionViewKind::Moderator
            } else {
                QuestionViewKind::Author
            };
            ok["question"] = json!(view::question(&self.state, q, kind, &self.authors));
        }
        metrics::counter!("tanya_commands_total", "type" => kind, "outcome" => "ok").increment(1);
        events.extend(decision.events);
        done.push(Done {
            entries,
            reply: Some((conn, Reply::Ok(ok))),
        });
    }

    fn question_frame(&self, q: &Question, kind: QuestionViewKind) -> Utf8Bytes {
        frame(
            &json!({"type":"question","seq":self.seq,"question":view::question(&self.state, q, kind, &self.authors)}),
        )
    }

    /// The frames, per view, of what one applied event changed.
    fn entries_for(&mut self, applied: Applied, out: &mut Vec<Entry>) {
        match applied {
            Applied::Question { id, before } => {
                let Some(q) = self.state.question(id) else {
                    return;
                };
                self.seq += 1;
                let was_public = before.as_ref().is_some_and(|b| b.status.is_public());
                let public = if q.status.is_public() {
                    Some(self.question_frame(q, QuestionViewKind::Public))
                } else if was_public {
                    Some(frame(&json!({"type":"removed","seq":self.seq,"id":id})))
                } else {
                    None
                };
                let author = q
                    .author
                    .map(|d| (d, self.question_frame(q, QuestionViewKind::Author)));
                out.push(Entry {
                    seq: self.seq,
                    moderator: Some(self.question_frame(q, QuestionViewKind::Moderator)),
                    screen: public.clone(),
                    public,
                    overlay: None,
                    author,
                });
            }
            Applied::Votes(ids) => self.dirty_votes.extend(ids),
            Applied::Overlay | Applied::Nothing => {}
            Applied::Session => {
                self.seq += 1;
                let s = json!({"type":"session","seq":self.seq,"session":view::session(&self.state.info)});
                let mut m = s.clone();
                m["session"]["links"] = self.links();
                let f = frame(&s);
                out.push(Entry {
                    seq: self.seq,
                    moderator: Some(frame(&m)),
                    public: Some(f.clone()),
                    screen: Some(f.clone()),
                    overlay: Some(f),
                    author: None,
                });
            }
            Applied::Ban(device) => {
                let ids: Vec<Uuid> = self.state.questions_of(device).map(|q| q.id).collect();
                for id in ids {
                    if let Some(q) = self.state.question(id) {
                        self.seq += 1;
                        let f = self.question_frame(q, QuestionViewKind::Moderator);
                        out.push(Entry {
                            seq: self.seq,
                            moderator: Some(f),
                            ..Entry::default()
                        });
                    }
                }
            }
        }
    }

    fn links(&self) -> Value {
        super::links(&self.shared.cfg.base_url(), &self.record)
    }

    /// Publishes the latest counts of the questions whose votes changed: every count to
    /// moderators, public questions' counts to audience, press and screen, and the count of an
    /// author's own hidden question (rejected, say) to that author alone.
    fn flush_votes(&mut self) {
        if self.dirty_votes.is_empty() {
            return;
        }
        let mut all = serde_json::Map::new();
        let mut public = serde_json::Map::new();
        let mut own: HashMap<DeviceId, serde_json::Map<String, Value>> = HashMap::new();
        for id in self.dirty_votes.drain() {
            let Some(q) = self.state.question(id) else {
                continue;
            };
            let n = json!(self.state.votes(id));
            if q.status.is_public() {
                public.insert(id.to_string(), n.clone());
            } else if let Some(a) = q.author {
                own.entry(a).or_default().insert(id.to_string(), n.clone());
            }
            all.insert(id.to_string(), n);
        }
        self.seq += 1;
        let seq = self.seq;
        let pf =
            (!public.is_empty()).then(|| frame(&json!({"type":"votes","seq":seq,"counts":public})));
        self.fanout.publish(Entry {
            seq,
            moderator: Some(frame(&json!({"type":"votes","seq":seq,"counts":all}))),
            screen: pf.clone(),
            public: pf,
            overlay: None,
            author: None,
        });
        for (device, counts) in own {
            self.seq += 1;
            let f = frame(&json!({"type":"votes","seq":self.seq,"counts":counts}));
            self.fanout.publish(Entry {
                seq: self.seq,
                author: Some((device, f)),
                ..Entry::default()
            });
        }
    }

    /// Sends moderators the sockets connected by role, when that changed.
    fn presence(&mut self) {
        let n = self.fanout.presence();
        if n == self.last_presence {
            return;
        }
        self.last_presence = n;
        let mut counts = serde_json::Map::new();
        for (r, c) in Role::ALL.iter().zip(n) {
            counts.insert(r.as_str().into(), json!(c));
        }
        let f = frame(&json!({"type":"presence","counts":counts}));
        let mods: Vec<u64> = self
            .fanout
            .all()
            .filter(|(_, c)| c.role == Role::Moderator)
            .map(|(id, _)| id)
            .collect();
        for id in mods {
            self.fanout.send(id, Out::Frame(f.clone()));
        }
    }

    fn join(&mut self, req: JoinRequest) -> Result<Joined, Refusal> {
        let keys = &self.record.keys;
        let expected = match req.role {
            Role::Audience => None,
            Role::Press => Some(&keys.press),
            Role::Moderator => Some(&keys.moderator),
            Role::Screen => Some(&keys.screen),
            Role::Overlay => Some(&keys.overlay),
        };
        if let Some(k) = expected
            && !req.key.as_deref().is_some_and(|p| same_secret(p, k))
        {
            return Err(Refusal::BadKey);
        }
        let (device, known) = if req.role.is_device() {
            match req
                .device
                .as_deref()
                .and_then(|t| self.shared.signer.verify(t))
            {
                Some(d) => (Some(d), true),
                None => (Some(self.shared.signer.issue().0), false),
            }
        } else {
            (None, true)
        };
        let resume = req
            .since
            .as_ref()
            .filter(|s| known && s.epoch == self.epoch && s.seq <= self.seq)
            .and_then(|s| {
                let missed: Vec<Utf8Bytes> = self
                    .fanout
                    .ring
                    .since(s.seq)?
                    .filter_map(|e| e.frame_for(req.role, device).cloned())
                    .collect();
                // Room left in the socket's queue (it is new and empty: its whole bound).
                let room = req.tx.capacity().unwrap_or(usize::MAX) - req.tx.len();
                (missed.len() < room).then_some((s.seq, missed))
            });
        let first = match &resume {
            Some((seq, _)) => self.welcome(req.role, device, Some(*seq)),
            None => self.welcome(req.role, device, None),
        };
        if req.tx.try_send(Out::Frame(first)).is_err() {
            return Err(Refusal::ShuttingDown);
        }
        for f in resume.map(|r| r.1).unwrap_or_default() {
            let _ = req.tx.try_send(Out::Frame(f));
        }
        self.fanout.insert(
            req.conn,
            Conn {
                role: req.role,
                device,
                addr: req.addr,
                tx: req.tx,
                lagged: req.lagged,
            },
        );
        Ok(Joined { device })
    }

    /// A welcome frame: full (`resumed_at` None) or resumed at a seq.
    fn welcome(&self, role: Role, device: Option<DeviceId>, resumed_at: Option<u64>) -> Utf8Bytes {
        let mut session = json!(view::session(&self.state.info));
        if role == Role::Moderator {
            session["links"] = self.links();
        }
        let mut w = json!({
            "type": "welcome",
            "role": role.as_str(),
            "epoch": self.epoch,
            "seq": resumed_at.unwrap_or(self.seq),
            "resumed": resumed_at.is_some(),
            "session": session,
        });
        if matches!(role, Role::Moderator | Role::Screen | Role::Overlay) {
            w["overlay"] = json!(view::overlay(&self.state));
        }
        if let Some(d) = device {
            w["you"] =
                json!({"device": self.shared.signer.token(d), "votes": self.state.device_votes(d)});
        }
        if resumed_at.is_none() {
            w["questions"] = Value::Array(self.questions_for(role, device));
        }
        frame(&w)
    }

    fn questions_for(&self, role: Role, device: Option<DeviceId>) -> Vec<Value> {
        let s = &self.state;
        let v = |q: &Question, k| json!(view::question(s, q, k, &self.authors));
        match role {
            Role::Moderator => s
                .questions()
                .map(|q| v(q, QuestionViewKind::Moderator))
                .collect(),
            Role::Overlay => vec![],
            Role::Screen => {
                let mut out: Vec<Value> = s
                    .queue()
                    .into_iter()
                    .map(|q| v(q, QuestionViewKind::Public))
                    .collect();
                out.extend(
                    s.questions()
                        .filter(|q| matches!(q.status, Status::Live | Status::Answered))
                        .map(|q| v(q, QuestionViewKind::Public)),
                );
                out
            }
            Role::Audience | Role::Press => s
                .questions()
                .filter_map(|q| {
                    if q.author.is_some() && q.author == device {
                        Some(v(q, QuestionViewKind::Author))
                    } else if q.status.is_public() {
                        Some(v(q, QuestionViewKind::Public))
                    } else {
                        None
                    }
                })
                .collect(),
        }
    }
}
