//! The session state: what a session is (title, status, speakers), the state rebuilt from its
//! journal, the queries every view needs, and `apply`, which changes the state by one event.
//! The rules that turn a command into events are in `decide.rs`. Pure: time and new ids are
//! passed in.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::{Event, PresenceCounts};
use super::flags::Flagger;
use super::followup::{Case, Done, Followup};
use super::net::Net;
use super::personal;
use super::poll::{PollChange, Polls};
use super::question::{DeviceId, Question, Source, Status};
use super::role::{Staff, Who};
use super::stage::{Graphic, TIMER_DEFAULT_MS, Timer};
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
    /// Unique in the session (`s1`, `s2`, ... when none was given); questions name it in `to`.
    pub id: String,
    /// The speaker's name (1-100 characters).
    pub name: String,
    /// The speaker's office, such as "Sekretaris Daerah" (1-100 characters).
    pub role: String,
}

/// A speaker as a client sends it: the id is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakerInput {
    /// The id the client chose; `None` gets the lowest free `sN`.
    pub id: Option<String>,
    /// The speaker's name, as sent.
    pub name: String,
    /// The speaker's office, as sent.
    pub role: String,
}

/// The session itself, as every role sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session id, in staff links and HTTP routes.
    pub id: Uuid,
    /// Public join code.
    pub code: String,
    /// The title (1-200 characters).
    pub title: String,
    /// Whether the session takes questions.
    pub status: SessionStatus,
    /// The panel; questions name a speaker in `to`.
    pub speakers: Vec<Speaker>,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// When it is to start (an episode's date and time), epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    /// A rehearsal: everything works and is test until the moderator starts it for real, which
    /// wipes the test questions, votes and bans.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rehearsal: bool,
}

/// Checks a title against the contract's limits (docs/protocol.md).
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

/// What one applied event changed, for the caller to publish.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// A question was created or changed; `before` is its previous record.
    Question {
        /// The question.
        id: Uuid,
        /// Its record before the event; `None` when it is new.
        before: Option<Box<Question>>,
    },
    /// The vote counts of these questions changed.
    Votes(Vec<Uuid>),
    /// The overlay was set on or off air, or its graphic changed.
    Overlay,
    /// The speaker screen's timer or message changed.
    Stage,
    /// The session's title, status or speakers were replaced.
    Session,
    /// The `banned` flag of this device's questions changed.
    Ban(DeviceId),
    /// The `address_banned` flag of the questions asked from this network changed.
    BanNet(Net),
    /// A poll was created, changed status, was deleted, or its counts changed.
    Poll(PollChange),
    /// A question's case changed, or its contact was erased: moderators get the question again.
    Case(Uuid),
    /// The rehearsal's questions, votes, bans and polls were wiped: every socket needs a new
    /// welcome (the hub restarts the session).
    Wipe,
    /// Nothing changed (a repeated vote, say).
    Nothing,
}

/// The whole state of one session, rebuilt from its journal.
#[derive(Debug, Clone)]
pub struct SessionState {
    /// The session's current title, status, speakers and start.
    pub info: SessionInfo,
    /// Every question, by id.
    pub(super) questions: HashMap<Uuid, Question>,
    /// Question ids in the order they were created (exports, welcome).
    pub(super) order: Vec<Uuid>,
    /// Devices voting for each question: the count is its size.
    pub(super) voters: HashMap<Uuid, HashSet<DeviceId>>,
    /// Questions each device votes for (`you.votes`).
    pub(super) votes_by_device: HashMap<DeviceId, HashSet<Uuid>>,
    /// Whether the lower third is on air.
    pub(super) overlay_visible: bool,
    /// The one live question.
    pub(super) live: Option<Uuid>,
    /// Devices that may not ask.
    pub(super) banned: HashSet<DeviceId>,
    /// Networks (IPv4 addresses, IPv6 /64s) that may not ask.
    pub(super) banned_nets: HashSet<Net>,
    /// The session's polls and the devices' choices.
    pub polls: Polls,
    /// `ask` idempotency: (device, ref) -> question.
    pub(super) asks: HashMap<(DeviceId, String), Uuid>,
    /// `enter` idempotency: ref -> question.
    pub(super) enters: HashMap<String, Uuid>,
    /// Highest position ever given: `approve` places after it.
    pub(super) max_position: f64,
    /// Flags new and edited texts.
    pub(super) flagger: Arc<Flagger>,
    /// The public form of questions whose text, name or air text holds personal data (each
    /// `Some` only where masking changed it); kept beside the journaled record, rebuilt on
    /// every change, so views never scan a text.
    pub(super) masked: HashMap<Uuid, Masked>,
    /// The call to action or a name strap on air.
    pub(super) graphic: Option<Graphic>,
    /// The speaker screen's answer timer; `None` until the moderator first uses it.
    pub(super) timer: Option<Timer>,
    /// The backstage message on the speaker screen.
    pub(super) message: Option<String>,
    /// The timer's length before the moderator sets one (the hub's setting).
    pub timer_default_ms: u64,
    /// Each question's case, once something happened to it (else it is `received`).
    pub(super) cases: HashMap<Uuid, Case>,
    /// The staff's changes of each question: when, what and who (its history).
    pub(super) done: HashMap<Uuid, Vec<(i64, Done, Status)>>,
    /// The most sockets joined per role, from the journaled presence.
    pub(super) peak: PresenceCounts,
    /// The place and topic lists (the hub's settings).
    pub followup: Followup,
}

/// A question's texts with personal data masked, where masking changed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Masked {
    /// The masked `text`.
    pub text: Option<String>,
    /// The masked `name`.
    pub name: Option<String>,
    /// The masked `air_text`.
    pub air_text: Option<String>,
}

impl Masked {
    fn of(q: &Question) -> Option<Masked> {
        let m = Masked {
            text: personal::mask(&q.text),
            name: q.name.as_deref().and_then(personal::mask),
            air_text: q.air_text.as_deref().and_then(personal::mask),
        };
        (m != Masked::default()).then_some(m)
    }
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
            banned_nets: HashSet::new(),
            polls: Polls::default(),
            asks: HashMap::new(),
            enters: HashMap::new(),
            max_position: 0.0,
            flagger,
            masked: HashMap::new(),
            graphic: None,
            timer: None,
            message: None,
            timer_default_ms: TIMER_DEFAULT_MS,
            cases: HashMap::new(),
            done: HashMap::new(),
            peak: PresenceCounts::default(),
            followup: Followup::default(),
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

    /// Whether the network a question was asked from is banned.
    pub fn is_net_banned(&self, q: &Question) -> bool {
        q.net.is_some_and(|n| self.banned_nets.contains(&n))
    }

    /// The questions asked from a network, in creation order.
    pub fn questions_from(&self, net: Net) -> impl Iterator<Item = &Question> {
        self.questions().filter(move |q| q.net == Some(net))
    }

    /// Whether the lower third is on air.
    pub fn overlay_visible(&self) -> bool {
        self.overlay_visible
    }

    /// The call to action or name strap on air.
    pub fn graphic(&self) -> Option<&Graphic> {
        self.graphic.as_ref()
    }

    /// The answer timer (stopped and full until first used).
    pub fn timer(&self) -> Timer {
        self.timer
            .unwrap_or_else(|| Timer::new(self.timer_default_ms))
    }

    /// The backstage message on the speaker screen.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The masked forms of a question's texts, when it holds personal data.
    pub fn masked(&self, q: &Question) -> Option<&Masked> {
        self.masked.get(&q.id)
    }

    /// The text every public view shows: personal data masked unless a moderator unmasked it.
    pub fn public_text<'a>(&'a self, q: &'a Question) -> &'a str {
        match self.masked.get(&q.id).and_then(|m| m.text.as_deref()) {
            Some(t) if !q.unmasked => t,
            _ => &q.text,
        }
    }

    /// The name every public view shows (masked as `public_text`).
    pub fn public_name<'a>(&'a self, q: &'a Question) -> Option<&'a str> {
        match self.masked.get(&q.id).and_then(|m| m.name.as_deref()) {
            Some(n) if !q.unmasked => Some(n),
            _ => q.name.as_deref(),
        }
    }

    /// The short text for air every public view shows (masked as `public_text`).
    pub fn public_air_text<'a>(&'a self, q: &'a Question) -> Option<&'a str> {
        match self.masked.get(&q.id).and_then(|m| m.air_text.as_deref()) {
            Some(t) if !q.unmasked => Some(t),
            _ => q.air_text.as_deref(),
        }
    }

    /// The most sockets joined per role, as journaled.
    pub fn peak(&self) -> PresenceCounts {
        self.peak
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
        match who {
            Who::Staff(Staff::Moderator) => true,
            Who::Device { device, .. } => q.status.is_public() || q.author == Some(*device),
            Who::Staff(Staff::Screen) => q.status.is_public(),
            Who::Staff(Staff::Overlay) => false,
            Who::Staff(Staff::Desk) => q.via == Some(super::question::Via::Desk),
        }
    }

    /// Applies one event. Never fails: events are facts.
    pub fn apply(&mut self, event: &Event) -> Applied {
        match event {
            Event::Put { question, done } => {
                let id = question.id;
                if let Some(d) = done {
                    self.done.entry(id).or_default().push((
                        question.updated_at,
                        d.clone(),
                        question.status,
                    ));
                }
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
                let same_texts = before.as_ref().is_some_and(|b| {
                    b.text == question.text
                        && b.name == question.name
                        && b.air_text == question.air_text
                });
                if !same_texts {
                    match Masked::of(question) {
                        Some(m) => self.masked.insert(id, m),
                        None => self.masked.remove(&id),
                    };
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
            Event::Graphic { graphic } => {
                self.graphic = graphic.clone();
                Applied::Overlay
            }
            Event::Timer { timer } => {
                self.timer = Some(*timer);
                Applied::Stage
            }
            Event::Message { text } => {
                self.message = text.clone();
                Applied::Stage
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
            Event::Poll { .. }
            | Event::PollDeleted { .. }
            | Event::Choice { .. }
            | Event::PollOnAir { .. } => match self.polls.apply(event) {
                Some(c) => Applied::Poll(c),
                None => Applied::Nothing,
            },
            Event::Case { question, case } => {
                self.cases.insert(*question, case.clone());
                Applied::Case(*question)
            }
            Event::Erase { question, .. } => match self.questions.get_mut(question) {
                Some(q) if q.contact.is_some() => {
                    q.contact = None;
                    Applied::Case(*question)
                }
                _ => Applied::Nothing,
            },
            Event::Wipe { .. } => {
                let keep = (
                    self.info.clone(),
                    self.flagger.clone(),
                    self.timer_default_ms,
                    self.followup.clone(),
                    self.peak,
                );
                *self = Self::new(keep.0, keep.1);
                self.timer_default_ms = keep.2;
                self.followup = keep.3;
                self.peak = keep.4;
                Applied::Wipe
            }
            Event::Presence { counts, .. } => {
                self.peak = self.peak.max(*counts);
                Applied::Nothing
            }
            Event::BanNet { net, banned } => {
                if *banned {
                    self.banned_nets.insert(*net);
                } else {
                    self.banned_nets.remove(net);
                }
                Applied::BanNet(*net)
            }
        }
    }
}

/// Queue order: position, then age, then id (a total order even on equal positions).
pub fn queue_order(a: &Question, b: &Question) -> std::cmp::Ordering {
    let pa = a.position.unwrap_or(f64::MAX);
    let pb = b.position.unwrap_or(f64::MAX);
    pa.total_cmp(&pb)
        .then(a.created_at.cmp(&b.created_at))
        .then(a.id.cmp(&b.id))
}
