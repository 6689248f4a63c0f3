//! Role views: what each role may see of a question, a session and the overlay.

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::followup::{Case, CaseStatus, Place, tracking_code};
use super::poll::{Poll, PollResults, PollStatus};
use super::question::{Channel, DeviceId, Question, Source, Status, Via};
use super::session::{SessionState, Speaker};
use super::stage::Graphic;

/// Which view of a question to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionViewKind {
    /// Audience, press and screen: approved, live and answered questions.
    Public,
    /// The asking device's own question: adds `reason` and `edited`.
    Author,
    /// Everything, with `original_text`, `reason`, `flags`, `author`, `banned`,
    /// `address_banned`.
    Moderator,
    /// The radio desk's own entries: as the author sees its question, with the station (never
    /// the caller's contact).
    Desk,
}

/// Turns a device into the opaque per-session `author` id moderators see.
#[derive(Debug, Clone)]
pub struct AuthorIds {
    /// Secret per session (derived by the hub from its own secret and the session id).
    salt: [u8; 32],
}

impl AuthorIds {
    /// Author ids keyed by a per-session secret.
    pub fn new(salt: [u8; 32]) -> Self {
        Self { salt }
    }

    /// The opaque id of a device in this session: not the device token, not linkable across sessions.
    pub fn id(&self, device: DeviceId) -> String {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(device.as_bytes());
        let d = h.finalize();
        d[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A question as one role sees it. Fields absent from a view are skipped. Fields are declared
/// in alphabetical order: the order of the keys on the wire.
#[derive(Debug, Serialize)]
pub struct QuestionView<'a> {
    /// Moderators: whether the network the question was asked from is banned; `null` when that
    /// network is not known (operator entries, questions kept from before it was recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_banned: Option<Option<bool>>,
    /// Moderators: the short version for the lower third, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub air_text: Option<Option<&'a str>>,
    /// Moderators: the opaque per-session id of the asking device (`null` for operator entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<Option<String>>,
    /// Moderators: whether the asking device is banned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banned: Option<bool>,
    /// The episode it was carried over from (`{code, title}`); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_from: Option<EpisodeView<'a>>,
    /// The episode it was carried over to (`{code, title}`); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_to: Option<EpisodeView<'a>>,
    /// Moderators: the question's case: `{agency, due, public, status}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseView<'a>>,
    /// How an operator entry reached the staff (`phone`, `sms`, ...); `null` for the rest.
    pub channel: Option<Channel>,
    /// Moderators: the citizen's private contact, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Option<&'a str>>,
    /// Moderators: whether the lower third credits the channel and station.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit: Option<bool>,
    /// When it was asked: RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// The author: whether a moderator edited the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited: Option<bool>,
    /// Moderators: automatic hints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<&'a [String]>,
    /// The question's id.
    pub id: Uuid,
    /// Moderators: the text as the public sees it (personal data masked) when masking changes
    /// it, also while unmasked; else `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_text: Option<Option<&'a str>>,
    /// The target, when `merged`; else `null`.
    pub merged_into: Option<Uuid>,
    /// The display name; `null` when anonymous.
    pub name: Option<&'a str>,
    /// Moderators: the text as asked, once edited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_text: Option<Option<&'a str>>,
    /// The press outlet; `null` for audience and operator entries.
    pub outlet: Option<&'a str>,
    /// Moderators: where (`{kecamatan, kelurahan}`), or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Option<&'a Place>>,
    /// Place in the approved queue (ascending = top), kept after it; `null` if never approved.
    pub position: Option<f64>,
    /// The author and moderators: the reason of a rejection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Option<&'a str>>,
    /// +1 on every change of the question itself (not on votes or bans).
    pub rev: u64,
    /// `audience`, `press` or `operator`.
    pub source: Source,
    /// Moderators and the desk: the radio station a desk entry came through, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station: Option<Option<&'a str>>,
    /// Where the question is in its life.
    pub status: Status,
    /// The current text; the author sees a moderator's edit too.
    pub text: &'a str,
    /// The speaker id it is addressed to (may name a speaker since removed), or `null`.
    pub to: Option<&'a str>,
    /// Moderators: what it is about, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Option<&'a str>>,
    /// The author and moderators: the citizen's tracking code (`K7Q-M3X-R9T`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// Moderators: whether a moderator shows its personal data to the public.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmasked: Option<bool>,
    /// When `rev` last changed: RFC 3339 UTC with milliseconds.
    pub updated_at: String,
    /// Moderators: who typed in an operator entry other than a moderator (`desk`, `gateway`),
    /// or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Option<Via>>,
    /// How many devices vote for it.
    pub votes: usize,
}

/// Another episode, as a carried question's view names it.
#[derive(Debug, Serialize)]
pub struct EpisodeView<'a> {
    /// Its join code.
    pub code: &'a str,
    /// Its title.
    pub title: &'a str,
}

impl<'a> EpisodeView<'a> {
    fn of(e: &'a Option<super::question::Episode>) -> Option<Self> {
        e.as_ref().map(|e| Self {
            code: &e.code,
            title: &e.title,
        })
    }
}

/// Builds the view of `q` of the given kind.
pub fn question<'a>(
    state: &'a SessionState,
    q: &'a Question,
    kind: QuestionViewKind,
    authors: &AuthorIds,
) -> QuestionView<'a> {
    let public = kind == QuestionViewKind::Public;
    let mut v = QuestionView {
        id: q.id,
        rev: q.rev,
        text: if public {
            state.public_text(q)
        } else {
            &q.text
        },
        name: if public {
            state.public_name(q)
        } else {
            q.name.as_deref()
        },
        source: q.source,
        channel: q.channel,
        outlet: q.outlet.as_deref(),
        to: q.to.as_deref(),
        status: q.status,
        votes: state.votes(q.id),
        position: q.position,
        merged_into: q.merged_into,
        created_at: rfc3339(q.created_at),
        updated_at: rfc3339(q.updated_at),
        reason: None,
        edited: None,
        original_text: None,
        flags: None,
        author: None,
        banned: None,
        carried_from: EpisodeView::of(&q.carried_from),
        carried_to: EpisodeView::of(&q.carried_to),
        address_banned: None,
        air_text: None,
        masked_text: None,
        unmasked: None,
        case: None,
        contact: None,
        place: None,
        topic: None,
        tracking: None,
        credit: None,
        station: None,
        via: None,
    };
    match kind {
        QuestionViewKind::Public => {}
        QuestionViewKind::Author => {
            v.reason = Some(q.reason.as_deref());
            v.edited = Some(q.original_text.is_some());
            v.tracking = Some(tracking_code(q.id));
        }
        QuestionViewKind::Desk => {
            v.reason = Some(q.reason.as_deref());
            v.edited = Some(q.original_text.is_some());
            v.tracking = Some(tracking_code(q.id));
            v.station = Some(q.station.as_deref());
        }
        QuestionViewKind::Moderator => {
            v.reason = Some(q.reason.as_deref());
            v.original_text = Some(q.original_text.as_deref());
            v.flags = Some(&q.flags);
            v.author = Some(q.author.map(|d| authors.id(d)));
            v.banned = Some(q.author.is_some_and(|d| state.is_banned(d)));
            v.address_banned = Some(q.net.map(|_| state.is_net_banned(q)));
            v.air_text = Some(q.air_text.as_deref());
            v.masked_text = Some(state.masked(q).and_then(|m| m.text.as_deref()));
            v.unmasked = Some(q.unmasked);
            v.tracking = Some(tracking_code(q.id));
            v.contact = Some(q.contact.as_deref());
            v.place = Some(q.place.as_ref());
            v.topic = Some(q.topic.as_deref());
            v.case = Some(case_view(state.case(q.id)));
            v.credit = Some(q.credit);
            v.station = Some(q.station.as_deref());
            v.via = Some(q.via);
        }
    }
    v
}

/// A question's case as moderators see it on every card.
#[derive(Debug, Serialize, PartialEq)]
pub struct CaseView<'a> {
    /// The agency's id, or `null`.
    pub agency: Option<&'a str>,
    /// The due date `YYYY-MM-DD`, or `null`.
    pub due: Option<String>,
    /// On the public board.
    pub public: bool,
    /// `received`, `forwarded`, `in_progress`, `resolved`, `declined` or `reopened`.
    pub status: CaseStatus,
}

/// The case view of a question's case (`received` when nothing happened to it yet).
pub fn case_view(c: Option<&Case>) -> CaseView<'_> {
    match c {
        None => CaseView {
            agency: None,
            due: None,
            public: false,
            status: CaseStatus::Received,
        },
        Some(c) => CaseView {
            agency: c.agency.as_deref(),
            due: c.due.map(|d| d.to_string()),
            public: c.public,
            status: c.status,
        },
    }
}

/// The live question as the overlay sees it: the public view's text and name (personal data
/// masked unless a moderator unmasked it).
#[derive(Debug, Serialize, PartialEq)]
pub struct OverlayQuestion<'a> {
    /// The moderator's short version for air (masked as `text`), or `null`: the lower third
    /// shows it instead of `text` when set.
    pub air_text: Option<&'a str>,
    /// The channel and station credited on air ("via telepon · RRI Palembang"), when the
    /// moderator chose to; else `null`.
    pub credit: Option<String>,
    /// The live question's id.
    pub id: Uuid,
    /// The asker's display name; `null` when anonymous.
    pub name: Option<&'a str>,
    /// The press outlet; `null` unless a journalist asked.
    pub outlet: Option<&'a str>,
    /// `audience`, `press` or `operator`.
    pub source: Source,
    /// The current text, as it goes on air.
    pub text: &'a str,
    /// The speaker id it is addressed to, or `null`.
    pub to: Option<&'a str>,
}

/// The words crediting a question's channel and station on air, when the moderator chose to:
/// "via telepon · RRI Palembang", "via SMS", "RRI Palembang" (asked in the room: no channel).
pub fn credit(q: &Question) -> Option<String> {
    if !q.credit {
        return None;
    }
    let via = q.channel.and_then(|c| match c {
        Channel::Phone => Some("via telepon"),
        Channel::Sms => Some("via SMS"),
        Channel::Whatsapp => Some("via WhatsApp"),
        Channel::Radio => Some("via radio"),
        Channel::Email => Some("via e-mail"),
        Channel::Web => Some("via web"),
        Channel::Room => None,
    });
    match (via, q.station.as_deref()) {
        (Some(v), Some(s)) => Some(format!("{v} · {s}")),
        (Some(v), None) => Some(v.to_string()),
        (None, Some(s)) => Some(s.to_string()),
        (None, None) => None,
    }
}

/// A graphic on air as the overlay sees it: `{"type":"join"}` or
/// `{"type":"speaker","speaker":{id,name,role}}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct GraphicView<'a> {
    /// A name strap's speaker, as in the session's list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speaker: Option<&'a Speaker>,
    /// `join` ("how to ask": the page draws it from the session view's `join`) or `speaker`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The graphic on air, as the overlay sees it (a strap of a speaker since removed: none).
pub fn graphic(state: &SessionState) -> Option<GraphicView<'_>> {
    let g = state.graphic()?;
    let speaker = match g {
        Graphic::Join => None,
        Graphic::Speaker { speaker } => {
            Some(state.info.speakers.iter().find(|s| s.id == *speaker)?)
        }
    };
    Some(GraphicView {
        speaker,
        kind: g.as_str(),
    })
}

/// `{graphic, poll, question, visible}`: the lower third's state, the call to action or name
/// strap, and the poll whose result is on air.
#[derive(Debug, Serialize, PartialEq)]
pub struct OverlayView<'a> {
    /// The call to action or a speaker's name strap on air, or `null`. While one is on air the
    /// lower third is off and no poll is on air (one graphic at a time).
    pub graphic: Option<GraphicView<'a>>,
    /// The poll whose result is on air (moderator view, with counts), or `null`. While a poll
    /// is on air the question's lower third is off (`visible` false).
    pub poll: Option<PollView<'a>>,
    /// The live question, or `null` when none is live; set also while off air.
    pub question: Option<OverlayQuestion<'a>>,
    /// Whether the lower third is on air.
    pub visible: bool,
}

/// Builds the overlay view of a session.
pub fn overlay(state: &SessionState) -> OverlayView<'_> {
    OverlayView {
        graphic: graphic(state),
        poll: state
            .polls
            .on_air()
            .map(|p| poll(state, p, PollViewer::Staff)),
        visible: state.overlay_visible(),
        question: state.live().map(|q| OverlayQuestion {
            air_text: state.public_air_text(q),
            credit: credit(q),
            id: q.id,
            text: state.public_text(q),
            name: state.public_name(q),
            outlet: q.outlet.as_deref(),
            source: q.source,
            to: q.to.as_deref(),
        }),
    }
}

/// The answer timer as the moderator and the screen see it.
#[derive(Debug, Serialize, PartialEq)]
pub struct TimerView {
    /// Its full length, milliseconds.
    pub duration_ms: u64,
    /// Time left when this view was made, milliseconds; negative: overtime.
    pub remaining_ms: i64,
    /// Whether it counts down (from `remaining_ms`, from when the frame arrived).
    pub running: bool,
}

/// `{message, timer}`: what only the stage sees (moderators and the speaker screen).
#[derive(Debug, Serialize, PartialEq)]
pub struct StageView<'a> {
    /// The backstage message, or `null`.
    pub message: Option<&'a str>,
    /// The answer timer.
    pub timer: TimerView,
}

/// The stage view at `now` (epoch milliseconds).
pub fn stage(state: &SessionState, now: i64) -> StageView<'_> {
    let t = state.timer();
    StageView {
        message: state.message(),
        timer: TimerView {
            duration_ms: t.duration_ms,
            remaining_ms: t.remaining(now),
            running: t.running_since.is_some(),
        },
    }
}

/// Who looks at a poll: what decides whether the counts and a choice are in its view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollViewer {
    /// Moderators and the speaker screen: every count, always.
    Staff,
    /// Phones in general (events): counts when the poll shows them (`results`).
    Public,
    /// One device (its welcome, its `ok`): as public, with its own `choice`.
    Device(DeviceId),
}

/// One option of a poll as a role sees it.
#[derive(Debug, Serialize, PartialEq)]
pub struct PollOptionView<'a> {
    /// How many devices chose it; `null` while the poll hides its counts from this viewer.
    pub count: Option<usize>,
    /// The option's text.
    pub text: &'a str,
}

/// A poll as one role sees it. Fields in alphabetical order: the order of the keys on the wire.
#[derive(Debug, Serialize, PartialEq)]
pub struct PollView<'a> {
    /// A device's own view: the index of the option it chose, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<Option<u8>>,
    /// When it was created: RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// The poll's id.
    pub id: Uuid,
    /// The options in order, with their counts.
    pub options: Vec<PollOptionView<'a>>,
    /// The question put to the audience.
    pub question: &'a str,
    /// When phones see the counts: `live` or `after_close`.
    pub results: PollResults,
    /// `draft`, `open` or `closed`.
    pub status: PollStatus,
    /// Of the last change of status: RFC 3339 UTC with milliseconds.
    pub updated_at: String,
}

/// Whether `viewer` sees the poll at all: drafts are the moderators' (the screen's too).
pub fn poll_visible(p: &Poll, viewer: PollViewer) -> bool {
    viewer == PollViewer::Staff || p.status != PollStatus::Draft
}

/// Builds the view of a poll for `viewer`.
pub fn poll<'a>(state: &SessionState, p: &'a Poll, viewer: PollViewer) -> PollView<'a> {
    let counts_shown = viewer == PollViewer::Staff
        || p.results == PollResults::Live
        || p.status == PollStatus::Closed;
    let counts = state.polls.counts(p.id);
    PollView {
        choice: match viewer {
            PollViewer::Device(d) => Some(state.polls.choice(p.id, d)),
            _ => None,
        },
        created_at: rfc3339(p.created_at),
        id: p.id,
        options: p
            .options
            .iter()
            .zip(counts)
            .map(|(text, n)| PollOptionView {
                count: counts_shown.then_some(n),
                text,
            })
            .collect(),
        question: &p.question,
        results: p.results,
        status: p.status,
        updated_at: rfc3339(p.updated_at),
    }
}

/// The polls `viewer` sees, in the order created.
pub fn polls(state: &SessionState, viewer: PollViewer) -> Vec<PollView<'_>> {
    state
        .polls
        .all()
        .filter(|p| poll_visible(p, viewer))
        .map(|p| poll(state, p, viewer))
        .collect()
}
