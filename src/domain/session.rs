//! The session state machine: `decide` checks a command against the state and turns it into
//! events; `apply` changes the state by one event. Pure: time and new ids are passed in.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::Event;
use super::flags::Flagger;
use super::question::{Channel, DeviceId, Question, Source, Status, Transition};
use super::text::{self, FieldError, limits};

/// Whether a session takes questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Taking questions.
    Open,
    /// No new questions from phones; votes and moderation go on.
    Paused,
    /// Read-only; may be reopened.
    Closed,
}

impl SessionStatus {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "paused" => Self::Paused,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// A person on the panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speaker {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// A speaker as a client sends it: the id is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakerInput {
    pub id: Option<String>,
    pub name: String,
    pub role: String,
}

/// The session itself, as every role sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: Uuid,
    /// Public join code.
    pub code: String,
    pub title: String,
    pub status: SessionStatus,
    pub speakers: Vec<Speaker>,
    /// Epoch milliseconds.
    pub created_at: i64,
}

/// Checks a title against PROTOCOL.md's limits.
pub fn validate_title(raw: &str) -> Result<String, FieldError> {
    text::checked("title", raw, limits::TITLE)
}

/// Checks a speaker list and assigns ids (`s1`, `s2`, ...) to those without one.
pub fn validate_speakers(input: &[SpeakerInput]) -> Result<Vec<Speaker>, FieldError> {
    if input.len() > limits::SPEAKERS {
        return Err(FieldError(format!(
            "`speakers` has {} entries, at most {}",
            input.len(),
            limits::SPEAKERS
        )));
    }
    let mut out: Vec<Speaker> = Vec::with_capacity(input.len());
    let mut used: HashSet<String> = HashSet::new();
    for (i, s) in input.iter().enumerate() {
        let name = text::checked(
            &format!("speakers[{i}].name"),
            &s.name,
            limits::SPEAKER_FIELD,
        )?;
        let role = text::checked(
            &format!("speakers[{i}].role"),
            &s.role,
            limits::SPEAKER_FIELD,
        )?;
        let id = match &s.id {
            Some(id) => {
                let id = text::checked(&format!("speakers[{i}].id"), id, limits::SPEAKER_FIELD)?;
                if !used.insert(id.clone()) {
                    return Err(FieldError(format!(
                        "`speakers[{i}].id` \"{id}\" is used twice"
                    )));
                }
                id
            }
            None => String::new(),
        };
        out.push(Speaker { id, name, role });
    }
    let mut n = 1;
    for s in out.iter_mut().filter(|s| s.id.is_empty()) {
        while used.contains(&format!("s{n}")) {
            n += 1;
        }
        s.id = format!("s{n}");
        used.insert(s.id.clone());
    }
    Ok(out)
}

/// A connected client's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Audience,
    Press,
    Moderator,
    Screen,
    Overlay,
}

impl Role {
    /// All roles, in the order of `presence` counts.
    pub const ALL: [Role; 5] = [
        Role::Audience,
        Role::Press,
        Role::Moderator,
        Role::Screen,
        Role::Overlay,
    ];

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "audience" => Self::Audience,
            "press" => Self::Press,
            "moderator" => Self::Moderator,
            "screen" => Self::Screen,
            "overlay" => Self::Overlay,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audience => "audience",
            Self::Press => "press",
            Self::Moderator => "moderator",
            Self::Screen => "screen",
            Self::Overlay => "overlay",
        }
    }

    /// Audience and press ask and vote from a device.
    pub fn is_device(self) -> bool {
        matches!(self, Self::Audience | Self::Press)
    }
}

/// Who sends a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who {
    pub role: Role,
    /// The sending device (audience and press).
    pub device: Option<DeviceId>,
}

/// A command whose fields the protocol layer has parsed; `decide` checks the rest.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Ask {
        client_ref: String,
        text: String,
        name: Option<String>,
        outlet: Option<String>,
        to: Option<String>,
    },
    Withdraw {
        question: Uuid,
        rev: Option<u64>,
    },
    Vote {
        question: Uuid,
        on: bool,
        rev: Option<u64>,
    },
    Approve {
        question: Uuid,
        rev: Option<u64>,
    },
    Reject {
        question: Uuid,
        rev: Option<u64>,
        reason: Option<String>,
    },
    Edit {
        question: Uuid,
        rev: Option<u64>,
        text: String,
    },
    Live {
        question: Uuid,
        rev: Option<u64>,
    },
    Answered {
        question: Uuid,
        rev: Option<u64>,
    },
    Requeue {
        question: Uuid,
        rev: Option<u64>,
    },
    Move {
        question: Uuid,
        rev: Option<u64>,
        after: Option<Uuid>,
    },
    Assign {
        question: Uuid,
        rev: Option<u64>,
        to: Option<String>,
    },
    Merge {
        question: Uuid,
        rev: Option<u64>,
        into: Uuid,
    },
    Enter {
        client_ref: String,
        text: String,
        name: Option<String>,
        channel: Channel,
        to: Option<String>,
    },
    Overlay {
        visible: bool,
    },
    Session {
        status: Option<SessionStatus>,
        title: Option<String>,
        speakers: Option<Vec<Speaker>>,
    },
    Ban {
        question: Uuid,
        rev: Option<u64>,
        banned: bool,
    },
}

/// The error codes of PROTOCOL.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Invalid,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    Closed,
    Banned,
    Internal,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::Closed => "closed",
            Self::Banned => "banned",
            Self::Internal => "internal",
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: ErrorCode,
    /// For a person: what was wrong.
    pub message: String,
    /// With `conflict`: the current `rev` of the command's question.
    pub rev: Option<u64>,
}

impl Rejection {
    /// A rejection without `rev`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            rev: None,
        }
    }

    fn conflict(q: &Question, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Conflict,
            message: message.into(),
            rev: Some(q.rev),
        }
    }
}

impl From<FieldError> for Rejection {
    fn from(e: FieldError) -> Self {
        Rejection::new(ErrorCode::Invalid, e.0)
    }
}

/// Which per-device quota a command counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Ask,
    Vote,
}

/// The outcome of `decide`: events to journal and what the reply needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    pub events: Vec<Event>,
    /// For `ask` and `enter`: the question to return in `ok` (new or retried).
    pub question: Option<Uuid>,
    /// The quota this command counts against, checked by the caller before it commits.
    pub quota: Option<Quota>,
}

/// The time and the fresh id a command may use; passed in so the domain stays pure.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Epoch milliseconds.
    pub now: i64,
    /// Id for a question this command creates.
    pub new_id: Uuid,
}

/// What one applied event changed, for the caller to publish.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// A question was created or changed; `before` is its previous record.
    Question {
        id: Uuid,
        before: Option<Box<Question>>,
    },
    /// The vote counts of these questions changed.
    Votes(Vec<Uuid>),
    Overlay,
    Session,
    /// The `banned` flag of this device's questions changed.
    Ban(DeviceId),
    /// Nothing changed (a repeated vote, say).
    Nothing,
}

/// The whole state of one session, rebuilt from its journal.
#[derive(Debug, Clone)]
pub struct SessionState {
    pub info: SessionInfo,
    /// Every question, by id.
    questions: HashMap<Uuid, Question>,
    /// Question ids in the order they were created (exports, welcome).
    order: Vec<Uuid>,
    /// Devices voting for each question: the count is its size.
    voters: HashMap<Uuid, HashSet<DeviceId>>,
    /// Questions each device votes for (`you.votes`).
    votes_by_device: HashMap<DeviceId, HashSet<Uuid>>,
    /// Whether the lower third is on air.
    overlay_visible: bool,
    /// The one live question.
    live: Option<Uuid>,
    /// Devices that may not ask.
    banned: HashSet<DeviceId>,
    /// `ask` idempotency: (device, ref) -> question.
    asks: HashMap<(DeviceId, String), Uuid>,
    /// `enter` idempotency: ref -> question.
    enters: HashMap<String, Uuid>,
    /// Highest position ever given: `approve` places after it.
    max_position: f64,
    /// Flags new and edited texts.
    flagger: Arc<Flagger>,
}

impl SessionState {
    /// A fresh session with no questions.
    pub fn new(info: SessionInfo, flagger: Arc<Flagger>) -> Self {
        Self {
            info,
            questions: HashMap::new(),
            order: Vec::new(),
            voters: HashMap::new(),
            votes_by_device: HashMap::new(),
            overlay_visible: false,
            live: None,
            banned: HashSet::new(),
            asks: HashMap::new(),
            enters: HashMap::new(),
            max_position: 0.0,
            flagger,
        }
    }

    /// Rebuilds a session from its journal.
    pub fn replay<'a>(
        info: SessionInfo,
        flagger: Arc<Flagger>,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Self {
        let mut s = Self::new(info, flagger);
        for e in events {
            s.apply(e);
        }
        s
    }

    /// A question by id.
    pub fn question(&self, id: Uuid) -> Option<&Question> {
        self.questions.get(&id)
    }

    /// All questions in the order they were asked.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.order.iter().filter_map(|id| self.questions.get(id))
    }

    /// Number of devices voting for a question.
    pub fn votes(&self, id: Uuid) -> usize {
        self.voters.get(&id).map_or(0, HashSet::len)
    }

    /// Whether `device` votes for `question`.
    pub fn has_vote(&self, device: DeviceId, question: Uuid) -> bool {
        self.voters
            .get(&question)
            .is_some_and(|v| v.contains(&device))
    }

    /// The questions a device votes for.
    pub fn device_votes(&self, device: DeviceId) -> Vec<Uuid> {
        let mut v: Vec<Uuid> = self
            .votes_by_device
            .get(&device)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Whether the device is banned.
    pub fn is_banned(&self, device: DeviceId) -> bool {
        self.banned.contains(&device)
    }

    /// Whether the lower third is on air.
    pub fn overlay_visible(&self) -> bool {
        self.overlay_visible
    }

    /// The live question.
    pub fn live(&self) -> Option<&Question> {
        self.live.and_then(|id| self.questions.get(&id))
    }

    /// The approved queue, top first.
    pub fn queue(&self) -> Vec<&Question> {
        let mut q: Vec<&Question> = self
            .questions
            .values()
            .filter(|q| q.status == Status::Approved)
            .collect();
        q.sort_by(|a, b| queue_order(a, b));
        q
    }

    /// The ids of a device's questions.
    pub fn questions_of(&self, device: DeviceId) -> impl Iterator<Item = &Question> {
        self.questions().filter(move |q| q.author == Some(device))
    }

    /// Whether `who` may see the question at all.
    pub fn visible_to(&self, who: &Who, q: &Question) -> bool {
        match who.role {
            Role::Moderator => true,
            Role::Audience | Role::Press => {
                q.status.is_public() || (q.author.is_some() && q.author == who.device)
            }
            Role::Screen => q.status.is_public(),
            Role::Overlay => false,
        }
    }

    /// Checks a command and turns it into events. Checks run in PROTOCOL.md's order (type and
    /// role were checked by the caller): fields, session status, existence, `rev`, question status;
    /// the quota is left to the caller (see [`Decision::quota`]).
    pub fn decide(&self, who: &Who, cmd: &Command, ctx: Ctx) -> Result<Decision, Rejection> {
        use Command as C;
        match cmd {
            C::Ask {
                client_ref,
                text,
                name,
                outlet,
                to,
            } => {
                let device = who
                    .device
                    .ok_or_else(|| Rejection::new(ErrorCode::Forbidden, "only a device may ask"))?;
                if let Some(id) = self.asks.get(&(device, client_ref.clone())) {
                    return self.retry(*id, text);
                }
                self.check_to(to.as_deref())?;
                self.check_open_for_asks()?;
                if self.banned.contains(&device) {
                    return Err(Rejection::new(
                        ErrorCode::Banned,
                        "this device may not ask in this session",
                    ));
                }
                let (source, outlet) = if who.role == Role::Press {
                    (Source::Press, outlet.clone())
                } else {
                    (Source::Audience, None)
                };
                let q = NewQuestion {
                    client_ref,
                    text,
                    name,
                    to,
                    source,
                    channel: None,
                    outlet,
                    author: Some(device),
                };
                Ok(self.create(q, ctx, Some(Quota::Ask)))
            }
            C::Enter {
                client_ref,
                text,
                name,
                channel,
                to,
            } => {
                if let Some(id) = self.enters.get(client_ref) {
                    return self.retry(*id, text);
                }
                self.check_to(to.as_deref())?;
                self.check_not_closed()?;
                let q = NewQuestion {
                    client_ref,
                    text,
                    name,
                    to,
                    source: Source::Operator,
                    channel: Some(*channel),
                    outlet: None,
                    author: None,
                };
                Ok(self.create(q, ctx, None))
            }
            C::Withdraw { question, rev } => {
                self.check_not_closed()?;
                let q = self.find(who, *question)?;
                if q.author.is_none() || q.author != who.device {
                    return Err(Rejection::new(
                        ErrorCode::Forbidden,
                        "only the device that asked a question may withdraw it",
                    ));
                }
                check_rev(q, *rev)?;
                check_status(q, Transition::Withdraw, "withdraw")?;
                Ok(one(put(q, ctx.now, |q| q.status = Status::Withdrawn)))
            }
            C::Vote { question, on, rev } => {
                let device = who.device.ok_or_else(|| {
                    Rejection::new(ErrorCode::Forbidden, "only a device may vote")
                })?;
                self.check_not_closed()?;
                // A device always sees its own votes, so it may clear one on any question.
                let q = match self.questions.get(question) {
                    Some(q) if !*on && self.has_vote(device, q.id) => q,
                    _ => self.find(who, *question)?,
                };
                check_rev(q, *rev)?;
                if *on && !q.status.votable() {
                    return Err(Rejection::conflict(
                        q,
                        format!("a question that is {} cannot get votes", q.status.as_str()),
                    ));
                }
                let events = if self.has_vote(device, q.id) == *on {
                    vec![]
                } else {
                    vec![Event::Vote {
                        question: q.id,
                        device,
                        on: *on,
                    }]
                };
                Ok(Decision {
                    events,
                    question: None,
                    quota: Some(Quota::Vote),
                })
            }
            C::Approve { question, rev } => {
                let q = self.moderate(who, *question, *rev, Transition::Approve, "approve")?;
                let pos = self.max_position + 1.0;
                Ok(one(put(q, ctx.now, |q| {
                    q.status = Status::Approved;
                    q.position = Some(pos);
                    q.reason = None;
                })))
            }
            C::Reject {
                question,
                rev,
                reason,
            } => {
                let q = self.moderate(who, *question, *rev, Transition::Reject, "reject")?;
                let mut events = vec![put(q, ctx.now, |q| {
                    q.status = Status::Rejected;
                    q.reason = reason.clone();
                })];
                self.off_air_if_live(q, &mut events);
                Ok(many(events))
            }
            C::Edit {
                question,
                rev,
                text,
            } => {
                let q = self.moderate(who, *question, *rev, Transition::Edit, "edit")?;
                if &q.text == text {
                    return Ok(Decision::default());
                }
                let flags = self.flagger.flags(text);
                Ok(one(put(q, ctx.now, |q| {
                    if q.original_text.is_none() {
                        q.original_text = Some(q.text.clone());
                    }
                    if q.original_text.as_deref() == Some(text.as_str()) {
                        q.original_text = None;
                    }
                    q.text = text.clone();
                    q.flags = flags;
                })))
            }
            C::Live { question, rev } => {
                let q = self.moderate(who, *question, *rev, Transition::Live, "put on air")?;
                let mut events = Vec::new();
                if let Some(old) = self.live() {
                    events.push(put(old, ctx.now, |o| o.status = Status::Answered));
                }
                if self.overlay_visible {
                    events.push(Event::Overlay { visible: false });
                }
                events.push(put(q, ctx.now, |q| q.status = Status::Live));
                Ok(many(events))
            }
            C::Answered { question, rev } => {
                let q =
                    self.moderate(who, *question, *rev, Transition::Answered, "mark answered")?;
                let mut events = vec![put(q, ctx.now, |q| q.status = Status::Answered)];
                self.off_air_if_live(q, &mut events);
                Ok(many(events))
            }
            C::Requeue { question, rev } => {
                let q = self.moderate(who, *question, *rev, Transition::Requeue, "requeue")?;
                let pos = q.position.unwrap_or(self.max_position + 1.0);
                let mut events = vec![put(q, ctx.now, |q| {
                    q.status = Status::Approved;
                    q.position = Some(pos);
                })];
                self.off_air_if_live(q, &mut events);
                Ok(many(events))
            }
            C::Move {
                question,
                rev,
                after,
            } => {
                if *after == Some(*question) {
                    return Err(Rejection::new(
                        ErrorCode::Invalid,
                        "`after` must name another question",
                    ));
                }
                let q = self.moderate(who, *question, *rev, Transition::Move, "move")?;
                if let Some(a) = after {
                    let a = self.find(who, *a).map_err(|mut r| {
                        r.message = "`after` names no question of this session".into();
                        r
                    })?;
                    if a.status != Status::Approved {
                        return Err(Rejection::conflict(
                            q,
                            "`after` must name a question in the approved queue",
                        ));
                    }
                }
                Ok(many(self.move_events(q, *after, ctx.now)))
            }
            C::Assign { question, rev, to } => {
                self.check_to(to.as_deref())?;
                let q = self.moderate(who, *question, *rev, Transition::Assign, "assign")?;
                if &q.to == to {
                    return Ok(Decision::default());
                }
                Ok(one(put(q, ctx.now, |q| q.to = to.clone())))
            }
            C::Merge {
                question,
                rev,
                into,
            } => {
                if question == into {
                    return Err(Rejection::new(
                        ErrorCode::Invalid,
                        "a question cannot be merged into itself",
                    ));
                }
                let q = self.moderate(who, *question, *rev, Transition::MergeFrom, "merge")?;
                let target = self.find(who, *into).map_err(|mut r| {
                    r.message = "`into` names no question of this session".into();
                    r
                })?;
                if !Transition::MergeInto.allows(target.status) {
                    return Err(Rejection::conflict(
                        q,
                        format!(
                            "cannot merge into a question that is {}: it must be approved, live or answered",
                            target.status.as_str()
                        ),
                    ));
                }
                let into = target.id;
                Ok(many(vec![
                    put(q, ctx.now, |q| {
                        q.status = Status::Merged;
                        q.merged_into = Some(into);
                    }),
                    Event::MergeVotes { from: q.id, into },
                ]))
            }
            C::Overlay { visible } => {
                self.check_not_closed()?;
                if *visible && self.live.is_none() {
                    return Err(Rejection::new(
                        ErrorCode::Conflict,
                        "no question is live: put one live before taking it on air",
                    ));
                }
                if *visible == self.overlay_visible {
                    return Ok(Decision::default());
                }
                Ok(one(Event::Overlay { visible: *visible }))
            }
            C::Session {
                status,
                title,
                speakers,
            } => {
                let mut info = self.info.clone();
                if let Some(s) = status {
                    info.status = *s;
                }
                if let Some(t) = title {
                    info.title = t.clone();
                }
                if let Some(s) = speakers {
                    info.speakers = s.clone();
                }
                if info == self.info {
                    return Ok(Decision::default());
                }
                Ok(one(Event::Session { info }))
            }
            C::Ban {
                question,
                rev,
                banned,
            } => {
                self.check_not_closed()?;
                let q = self.find(who, *question)?;
                let device = q.author.ok_or_else(|| {
                    Rejection::new(ErrorCode::Invalid, "an operator entry has no device to ban")
                })?;
                check_rev(q, *rev)?;
                if self.banned.contains(&device) == *banned {
                    return Ok(Decision::default());
                }
                Ok(one(Event::Ban {
                    device,
                    banned: *banned,
                }))
            }
        }
    }

    /// Applies one event. Never fails: events are facts.
    pub fn apply(&mut self, event: &Event) -> Applied {
        match event {
            Event::Put { question } => {
                let id = question.id;
                if let Some(p) = question.position {
                    self.max_position = self.max_position.max(p);
                }
                if question.status == Status::Live {
                    self.live = Some(id);
                } else if self.live == Some(id) {
                    self.live = None;
                    self.overlay_visible = false;
                }
                if let Some(a) = question.author {
                    self.asks
                        .entry((a, question.client_ref.clone()))
                        .or_insert(id);
                } else if question.source == Source::Operator {
                    self.enters.entry(question.client_ref.clone()).or_insert(id);
                }
                let before = self.questions.insert(id, question.clone());
                if before.is_none() {
                    self.order.push(id);
                }
                Applied::Question {
                    id,
                    before: before.map(Box::new),
                }
            }
            Event::Vote {
                question,
                device,
                on,
            } => {
                let set = self.voters.entry(*question).or_default();
                let changed = if *on {
                    set.insert(*device)
                } else {
                    set.remove(device)
                };
                let mine = self.votes_by_device.entry(*device).or_default();
                if *on {
                    mine.insert(*question);
                } else {
                    mine.remove(question);
                }
                if changed {
                    Applied::Votes(vec![*question])
                } else {
                    Applied::Nothing
                }
            }
            Event::MergeVotes { from, into } => {
                let from_voters: Vec<DeviceId> = self
                    .voters
                    .get(from)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                let set = self.voters.entry(*into).or_default();
                let before = set.len();
                for d in &from_voters {
                    set.insert(*d);
                }
                let changed = set.len() != before;
                for d in from_voters {
                    self.votes_by_device.entry(d).or_default().insert(*into);
                }
                if changed {
                    Applied::Votes(vec![*into])
                } else {
                    Applied::Nothing
                }
            }
            Event::Overlay { visible } => {
                self.overlay_visible = *visible && self.live.is_some();
                Applied::Overlay
            }
            Event::Session { info } => {
                self.info = info.clone();
                Applied::Session
            }
            Event::Ban { device, banned } => {
                if *banned {
                    self.banned.insert(*device);
                } else {
                    self.banned.remove(device);
                }
                Applied::Ban(*device)
            }
        }
    }

    /// The decision creating a pending question (`ask`, `enter`).
    fn create(&self, new: NewQuestion<'_>, ctx: Ctx, quota: Option<Quota>) -> Decision {
        let q = Question {
            id: ctx.new_id,
            rev: 1,
            flags: self.flagger.flags(new.text),
            text: new.text.to_string(),
            original_text: None,
            name: new.name.clone(),
            source: new.source,
            channel: new.channel,
            outlet: new.outlet,
            to: new.to.clone(),
            status: Status::Pending,
            position: None,
            merged_into: None,
            reason: None,
            author: new.author,
            client_ref: new.client_ref.to_string(),
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        Decision {
            events: vec![Event::Put { question: q }],
            question: Some(ctx.new_id),
            quota,
        }
    }

    fn retry(&self, id: Uuid, text: &str) -> Result<Decision, Rejection> {
        let q = self.questions.get(&id).ok_or_else(|| {
            Rejection::new(ErrorCode::Internal, "idempotency record without question")
        })?;
        let asked = q.original_text.as_deref().unwrap_or(&q.text);
        if asked != text {
            return Err(Rejection::conflict(
                q,
                "this `ref` was already used for a question with another text",
            ));
        }
        Ok(Decision {
            events: vec![],
            question: Some(id),
            quota: None,
        })
    }

    fn check_to(&self, to: Option<&str>) -> Result<(), Rejection> {
        match to {
            Some(t) if !self.info.speakers.iter().any(|s| s.id == t) => Err(Rejection::new(
                ErrorCode::Invalid,
                format!("`to` names no speaker of this session: \"{t}\""),
            )),
            _ => Ok(()),
        }
    }

    fn check_not_closed(&self) -> Result<(), Rejection> {
        if self.info.status == SessionStatus::Closed {
            return Err(Rejection::new(ErrorCode::Closed, "the session is closed"));
        }
        Ok(())
    }

    fn check_open_for_asks(&self) -> Result<(), Rejection> {
        match self.info.status {
            SessionStatus::Open => Ok(()),
            SessionStatus::Paused => Err(Rejection::new(
                ErrorCode::Closed,
                "the session is paused: it takes no new questions now",
            )),
            SessionStatus::Closed => {
                Err(Rejection::new(ErrorCode::Closed, "the session is closed"))
            }
        }
    }

    /// Existence, as the sender sees it: a question it may not see is `not_found`.
    fn find(&self, who: &Who, id: Uuid) -> Result<&Question, Rejection> {
        self.questions
            .get(&id)
            .filter(|q| self.visible_to(who, q))
            .ok_or_else(|| Rejection::new(ErrorCode::NotFound, "no such question in this session"))
    }

    /// The common checks of a moderator command: closed, existence, rev, status.
    fn moderate(
        &self,
        who: &Who,
        id: Uuid,
        rev: Option<u64>,
        t: Transition,
        verb: &str,
    ) -> Result<&Question, Rejection> {
        self.check_not_closed()?;
        let q = self.find(who, id)?;
        check_rev(q, rev)?;
        check_status(q, t, verb)?;
        Ok(q)
    }

    fn off_air_if_live(&self, q: &Question, events: &mut Vec<Event>) {
        if q.status == Status::Live && self.overlay_visible {
            events.push(Event::Overlay { visible: false });
        }
    }

    /// The events of moving `q` after `after` (or to the top). The moved question gets a
    /// position between its new neighbours that no other question holds, not even one kept by a
    /// live or answered question (so a later `requeue` cannot collide); when no such number is
    /// left, the queue is renumbered with fresh values above every position ever given.
    fn move_events(&self, q: &Question, after: Option<Uuid>, now: i64) -> Vec<Event> {
        let mut queue: Vec<&Question> = self.queue().into_iter().filter(|x| x.id != q.id).collect();
        let idx = match after {
            None => 0,
            Some(a) => queue
                .iter()
                .position(|x| x.id == a)
                .map_or(queue.len(), |i| i + 1),
        };
        let prev = idx
            .checked_sub(1)
            .and_then(|i| queue.get(i))
            .and_then(|x| x.position);
        let next = queue.get(idx).and_then(|x| x.position);
        let taken: HashSet<u64> = self
            .questions
            .values()
            .filter(|x| x.id != q.id)
            .filter_map(|x| x.position.map(f64::to_bits))
            .collect();
        let lowest = self
            .questions
            .values()
            .filter_map(|x| x.position)
            .fold(f64::MAX, f64::min);
        let stays = q
            .position
            .is_some_and(|cur| prev.is_none_or(|p| p < cur) && next.is_none_or(|n| cur < n));
        if stays {
            return vec![];
        }
        let new = match (prev, next) {
            (None, None) => q.position,
            (None, Some(_)) => Some(lowest - 1.0),
            (Some(_), None) => Some(self.max_position + 1.0),
            (Some(p), Some(n)) => free_between(p, n, &taken),
        };
        if let Some(new) = new {
            if q.position == Some(new) {
                return vec![];
            }
            return vec![put(q, now, |q| q.position = Some(new))];
        }
        queue.insert(idx, q);
        queue
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let pos = self.max_position + (i + 1) as f64;
                put(x, now, |x| x.position = Some(pos))
            })
            .collect()
    }
}

/// A number strictly between `p` and `n` that no question holds, if floating point has one.
fn free_between(p: f64, n: f64, taken: &HashSet<u64>) -> Option<f64> {
    let (mut lo, hi) = (p, n);
    for _ in 0..64 {
        let mid = lo + (hi - lo) / 2.0;
        if !(mid > lo && mid < hi && mid.is_finite()) {
            return None;
        }
        if !taken.contains(&mid.to_bits()) {
            return Some(mid);
        }
        lo = mid;
    }
    None
}

/// The fields of a new question (`ask` or `enter`).
struct NewQuestion<'a> {
    client_ref: &'a str,
    text: &'a str,
    name: &'a Option<String>,
    to: &'a Option<String>,
    source: Source,
    channel: Option<Channel>,
    outlet: Option<String>,
    author: Option<DeviceId>,
}

/// Queue order: position, then age, then id (a total order even on equal positions).
pub fn queue_order(a: &Question, b: &Question) -> std::cmp::Ordering {
    let pa = a.position.unwrap_or(f64::MAX);
    let pb = b.position.unwrap_or(f64::MAX);
    pa.total_cmp(&pb)
        .then(a.created_at.cmp(&b.created_at))
        .then(a.id.cmp(&b.id))
}

fn check_rev(q: &Question, rev: Option<u64>) -> Result<(), Rejection> {
    match rev {
        Some(r) if r != q.rev => Err(Rejection::conflict(
            q,
            format!(
                "the question changed meanwhile (rev {r} given, now {}): someone acted first",
                q.rev
            ),
        )),
        _ => Ok(()),
    }
}

fn check_status(q: &Question, t: Transition, verb: &str) -> Result<(), Rejection> {
    if t.allows(q.status) {
        return Ok(());
    }
    let allowed: Vec<&str> = t.allowed_from().iter().map(|s| s.as_str()).collect();
    Err(Rejection::conflict(
        q,
        format!(
            "cannot {verb} a question that is {}; allowed from: {}",
            q.status.as_str(),
            allowed.join(", ")
        ),
    ))
}

/// A changed copy of `q` with `rev` + 1.
fn put(q: &Question, now: i64, f: impl FnOnce(&mut Question)) -> Event {
    let mut n = q.clone();
    f(&mut n);
    n.rev = q.rev + 1;
    n.updated_at = now;
    Event::Put { question: n }
}

fn one(e: Event) -> Decision {
    many(vec![e])
}

fn many(events: Vec<Event>) -> Decision {
    Decision {
        events,
        question: None,
        quota: None,
    }
}
