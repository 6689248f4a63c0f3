//! What a client may ask a session to do: the commands, which roles may send each one (the
//! contract's role table), and the answers `decide` gives (a decision or a rejection).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::Event;
use super::followup::{By, CaseAction, Place};
use super::net::Net;
use super::poll::PollAction;
use super::question::{Channel, Question};
use super::role::Role;
use super::session::{SessionStatus, Speaker};
use super::stage::{Graphic, TimerAction};
use super::text::FieldError;

/// A command whose fields the protocol layer has parsed; `decide` checks the rest.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A phone asks a question.
    Ask {
        /// The idempotency key: a retry with the same ref returns the same question.
        client_ref: String,
        /// The question, trimmed and NFC (1-300 characters).
        text: String,
        /// The asker's display name; `None` when anonymous.
        name: Option<String>,
        /// The journalist's outlet; kept only when the sender's role carries one.
        outlet: Option<String>,
        /// The speaker id the question is for.
        to: Option<String>,
        /// Contact, place and topic for the follow-up.
        followup: NewFollowup,
    },
    /// The author takes back its pending question.
    Withdraw {
        /// The question to withdraw; only the device that asked it may.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
    },
    /// A phone sets (`on`) or clears its vote.
    Vote {
        /// The question whose vote is set or cleared.
        question: Uuid,
        /// `true` sets this device's vote; `false` clears it.
        on: bool,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
    },
    /// Into the approved queue, at its end.
    Approve {
        /// The pending or rejected question to approve.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
    },
    /// Out of the public view, with an optional reason the author sees.
    Reject {
        /// The pending, approved or live question to reject.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// Why, for the author and moderators (0-200 characters); `None` for no reason.
        reason: Option<String>,
    },
    /// New text; the original is kept for moderators.
    Edit {
        /// The question to edit.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// The new text, trimmed and NFC (1-300 characters).
        text: String,
    },
    /// The question being answered now (the one the overlay can show).
    Live {
        /// The approved question to put live.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
    },
    /// Done.
    Answered {
        /// The approved or live question that was answered.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
    },
    /// Back into the queue at its old place.
    Requeue {
        /// The live or answered question to put back.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
    },
    /// A new place in the queue: after `after`, or at the top.
    Move {
        /// The approved question to move.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// The approved question to place it after; `None` (`null` on the wire) for the top.
        after: Option<Uuid>,
    },
    /// Addressed to a speaker, or to nobody.
    Assign {
        /// The question to address.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// The speaker id; `None` (`null` on the wire) clears it.
        to: Option<String>,
    },
    /// A duplicate joins another question; its votes go along.
    Merge {
        /// The duplicate, which becomes `merged`.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// The approved, live or answered question its voters join.
        into: Uuid,
    },
    /// Staff type in a question that came by phone, SMS, WhatsApp, radio or from the room.
    Enter {
        /// The idempotency key of the entry.
        client_ref: String,
        /// The question, trimmed and NFC (1-300 characters).
        text: String,
        /// The asker's display name; `None` when anonymous.
        name: Option<String>,
        /// How the question reached the staff.
        channel: Channel,
        /// The speaker id the question is for.
        to: Option<String>,
        /// Contact, place and topic for the follow-up.
        followup: NewFollowup,
        /// The radio station it came through (from `desk.stations`).
        station: Option<String>,
    },
    /// The lower third on or off air.
    Overlay {
        /// `true` takes the live question on air; `false` clears it.
        visible: bool,
        /// The moderator confirms taking a flagged question (`profanity`, `personal_data`).
        confirm: bool,
    },
    /// A question's short version for air, or none.
    AirText {
        /// The question.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// The text for the lower third (1-120 characters); `None` clears it.
        text: Option<String>,
    },
    /// Shows (`on`) or masks again a question's personal data in the public views.
    Unmask {
        /// The question.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// `true`: shown as written; `false`: masked again.
        on: bool,
    },
    /// The lower third credits (`on`) a question's channel and station, or not.
    Credit {
        /// The question.
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// `true`: "via telepon · RRI Palembang" under the question on air.
        on: bool,
    },
    /// The call to action or a speaker's name strap on air, or neither.
    Graphic {
        /// The graphic to show; `None` takes the one on air off.
        graphic: Option<Graphic>,
    },
    /// The speaker screen's answer timer.
    Timer {
        /// Start, pause or reset.
        action: TimerAction,
        /// A new length, seconds (start and reset).
        seconds: Option<u32>,
    },
    /// A backstage message on the speaker screen, or none.
    Message {
        /// The message (1-100 characters); `None` dismisses it.
        text: Option<String>,
    },
    /// Status, title or speakers of the session (at least one).
    Session {
        /// The new status, when given.
        status: Option<SessionStatus>,
        /// The new title (1-200 characters), when given.
        title: Option<String>,
        /// The new speaker list, ids assigned, replacing the whole list, when given.
        speakers: Option<Vec<Speaker>>,
        /// When it starts (epoch milliseconds), or `Some(None)` to clear it, when given.
        starts_at: Option<Option<i64>>,
        /// `Some(false)`: start a rehearsal for real (its test questions, votes and bans are
        /// wiped).
        rehearsal: Option<bool>,
    },
    /// Bans (`banned`) or unbans the device that asked a question, or with `address` the
    /// network it asked from.
    Ban {
        /// A question of the device; an operator entry has none (`invalid`).
        question: Uuid,
        /// The question's `rev` the sender saw; a different current `rev` is `conflict`.
        rev: Option<u64>,
        /// `true` for `ban`, `false` for `unban`.
        banned: bool,
        /// The network the question was asked from (an IPv4 address or an IPv6 /64) rather
        /// than the device.
        address: bool,
    },
    /// The moderator creates, opens, closes or deletes a poll.
    Poll(PollAction),
    /// A device chooses an option of the open poll (or changes its choice).
    Choose {
        /// The poll.
        poll: Uuid,
        /// The option's index (0-based).
        option: u8,
    },
    /// A case action on a question (`forward`, `resolve`, ...).
    Case {
        /// The question.
        question: Uuid,
        /// The action and its fields.
        action: CaseAction,
        /// Who: the moderator, with the name its console gave (the hub fills it).
        by: By,
    },
    /// A new key for a role (`moderator`, `screen`, `overlay` or `press`): the hub makes and
    /// stores it and closes that role's other sockets; the domain only says who may.
    RotateKey {
        /// The key that changes.
        role: super::role::KeyRole,
        /// The programme's key of that role, not the session's (a console opened on the
        /// programme's link).
        programme: bool,
    },
}

impl Command {
    /// The command's wire `type`.
    pub fn kind(&self) -> CommandKind {
        use CommandKind as K;
        match self {
            Self::Ask { .. } => K::Ask,
            Self::Withdraw { .. } => K::Withdraw,
            Self::Vote { .. } => K::Vote,
            Self::Approve { .. } => K::Approve,
            Self::Reject { .. } => K::Reject,
            Self::Edit { .. } => K::Edit,
            Self::Live { .. } => K::Live,
            Self::Answered { .. } => K::Answered,
            Self::Requeue { .. } => K::Requeue,
            Self::Move { .. } => K::Move,
            Self::Assign { .. } => K::Assign,
            Self::Merge { .. } => K::Merge,
            Self::Enter { .. } => K::Enter,
            Self::Overlay { .. } => K::Overlay,
            Self::AirText { .. } => K::AirText,
            Self::Unmask { .. } => K::Unmask,
            Self::Credit { .. } => K::Credit,
            Self::Graphic { .. } => K::Graphic,
            Self::Timer { .. } => K::Timer,
            Self::Message { .. } => K::Message,
            Self::Session { .. } => K::Session,
            Self::Ban { banned: true, .. } => K::Ban,
            Self::Ban { banned: false, .. } => K::Unban,
            Self::RotateKey { .. } => K::RotateKey,
            Self::Poll(_) => K::Poll,
            Self::Choose { .. } => K::Choose,
            Self::Case { .. } => K::Case,
        }
    }
}

/// The `type` of a client command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// `ask`: a phone asks a question.
    Ask,
    /// `withdraw`: the author takes back its pending question.
    Withdraw,
    /// `vote`: a phone sets or clears its vote.
    Vote,
    /// `approve`: into the approved queue.
    Approve,
    /// `reject`: out of the public view, with an optional reason.
    Reject,
    /// `edit`: new text for a question.
    Edit,
    /// `live`: the question being answered now.
    Live,
    /// `answered`: done.
    Answered,
    /// `requeue`: back into the queue at its old place.
    Requeue,
    /// `move`: a new place in the queue.
    Move,
    /// `assign`: addressed to a speaker, or to nobody.
    Assign,
    /// `merge`: a duplicate joins another question.
    Merge,
    /// `enter`: staff type in a question.
    Enter,
    /// `overlay`: the lower third on or off air.
    Overlay,
    /// `air_text`: a question's short version for air.
    AirText,
    /// `unmask`: a question's personal data shown to the public, or masked again.
    Unmask,
    /// `graphic`: the call to action or a speaker's name strap on air.
    Graphic,
    /// `timer`: the speaker screen's answer timer.
    Timer,
    /// `message`: a backstage message on the speaker screen.
    Message,
    /// `session`: status, title or speakers of the session.
    Session,
    /// `ban`: the question's device may not ask in this session.
    Ban,
    /// `unban`: the question's device may ask again.
    Unban,
    /// `rotate_key`: a new key for a role.
    RotateKey,
    /// `poll`: create, open, close or delete a poll.
    Poll,
    /// `choose`: a device's choice in the open poll.
    Choose,
    /// `case`: a follow-up action on a question's case.
    Case,
    /// `credit`: the lower third credits a question's channel and station.
    Credit,
}

impl CommandKind {
    /// Every command type, in the order of the contract's table.
    pub const ALL: [CommandKind; 27] = [
        Self::Ask,
        Self::Withdraw,
        Self::Vote,
        Self::Approve,
        Self::Reject,
        Self::Edit,
        Self::Live,
        Self::Answered,
        Self::Requeue,
        Self::Move,
        Self::Assign,
        Self::Merge,
        Self::Enter,
        Self::Overlay,
        Self::Session,
        Self::Ban,
        Self::Unban,
        Self::RotateKey,
        Self::Poll,
        Self::Choose,
        Self::AirText,
        Self::Unmask,
        Self::Graphic,
        Self::Timer,
        Self::Message,
        Self::Case,
        Self::Credit,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ask => "ask",
            Self::Withdraw => "withdraw",
            Self::Vote => "vote",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Edit => "edit",
            Self::Live => "live",
            Self::Answered => "answered",
            Self::Requeue => "requeue",
            Self::Move => "move",
            Self::Assign => "assign",
            Self::Merge => "merge",
            Self::Enter => "enter",
            Self::Overlay => "overlay",
            Self::Session => "session",
            Self::Ban => "ban",
            Self::Unban => "unban",
            Self::RotateKey => "rotate_key",
            Self::Poll => "poll",
            Self::Choose => "choose",
            Self::AirText => "air_text",
            Self::Unmask => "unmask",
            Self::Graphic => "graphic",
            Self::Timer => "timer",
            Self::Message => "message",
            Self::Case => "case",
            Self::Credit => "credit",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The roles that may send this command: the contract's role table. Phones ask, withdraw
    /// and vote; everything else is the moderator's; screen and overlay only read.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Self::Ask | Self::Withdraw | Self::Vote | Self::Choose => {
                &[Role::Audience, Role::Press]
            }
            // The radio desk types in questions, and nothing else.
            Self::Enter => &[Role::Moderator, Role::Desk],
            Self::Approve
            | Self::Reject
            | Self::Edit
            | Self::Live
            | Self::Answered
            | Self::Requeue
            | Self::Move
            | Self::Assign
            | Self::Merge
            | Self::Overlay
            | Self::Session
            | Self::Ban
            | Self::Unban
            | Self::RotateKey
            | Self::Poll
            | Self::AirText
            | Self::Unmask
            | Self::Graphic
            | Self::Timer
            | Self::Message
            | Self::Case
            | Self::Credit => &[Role::Moderator],
        }
    }

    /// Whether `role` may send this command.
    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// The rejection of this command from a role that may not send it.
    pub fn refuse(self, role: Role) -> Rejection {
        Rejection::new(
            ErrorCode::Forbidden,
            format!(
                "the {} role may not send `{}`",
                role.as_str(),
                self.as_str()
            ),
        )
    }
}

/// The error codes of the contract (docs/protocol.md, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A malformed frame, or a field missing, too long, of the wrong type or value.
    Invalid,
    /// The role may not send this command, or `withdraw` of another device's question.
    Forbidden,
    /// No such question, or one the sender may not see.
    NotFound,
    /// A stale `rev`, a change the question's status does not allow, nothing live to put on
    /// air, or a retried `ask`/`enter` `ref` with other text.
    Conflict,
    /// Over the ask or vote quota; the error carries `retry_after_ms`.
    RateLimited,
    /// The session's status does not allow it (paused: `ask`; closed: all but `session`).
    Closed,
    /// `ask` from a device banned in this session.
    Banned,
    /// The commit failed: nothing of it was stored; retry.
    Internal,
    /// Taking a flagged question on air needs the moderator's explicit confirmation.
    Unconfirmed,
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
            Self::Unconfirmed => "unconfirmed",
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The contract's error code the client gets.
    pub code: ErrorCode,
    /// For a person: what was wrong.
    pub message: String,
    /// With `conflict`: the current `rev` of the command's question.
    pub rev: Option<u64>,
    /// With `rate_limited`: milliseconds until the quota lets the next one through.
    pub retry_after_ms: Option<u64>,
}

impl Rejection {
    /// A rejection without `rev`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            rev: None,
            retry_after_ms: None,
        }
    }

    /// `invalid`: a field is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// `conflict` carrying the question's current `rev`.
    pub fn conflict(q: &Question, message: impl Into<String>) -> Self {
        Self {
            rev: Some(q.rev),
            ..Self::new(ErrorCode::Conflict, message)
        }
    }

    /// `rate_limited`: the command's quota is used up for `retry_after_ms`.
    pub fn rate_limited(kind: CommandKind, retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms),
            ..Self::new(
                ErrorCode::RateLimited,
                format!(
                    "too many {}s from this device: wait {}s",
                    kind.as_str(),
                    retry_after_ms.div_ceil(1000)
                ),
            )
        }
    }

    /// `internal`: a change that could not be stored.
    pub fn not_stored() -> Self {
        Self::new(
            ErrorCode::Internal,
            "the change could not be stored; try again",
        )
    }
}

impl From<FieldError> for Rejection {
    fn from(e: FieldError) -> Self {
        Rejection::invalid(e.0)
    }
}

/// The follow-up fields of a new question, checked by the parser (contact) and by `decide`
/// (place and topic, against the lists).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewFollowup {
    /// The citizen's private contact.
    pub contact: Option<String>,
    /// Where, as sent.
    pub place: Option<Place>,
    /// What about, as sent.
    pub topic: Option<String>,
}

/// Which per-device quota a command counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// `asks_per_minute`: an `ask` that creates a question.
    Ask,
    /// `votes_per_minute`: every `vote`, also one that changes nothing.
    Vote,
}

/// The outcome of `decide`: events to journal and what the reply needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// The events to journal, in order; none when the command changes nothing.
    pub events: Vec<Event>,
    /// For `ask` and `enter`: the question to return in `ok` (new or retried).
    pub question: Option<Uuid>,
    /// For `poll` and `choose`: the poll to return in `ok`.
    pub poll: Option<Uuid>,
    /// The quota this command counts against, checked by the caller before it commits.
    pub quota: Option<Quota>,
}

impl Decision {
    /// Events with nothing for the reply and no quota.
    pub fn events(events: Vec<Event>) -> Self {
        Self {
            events,
            question: None,
            poll: None,
            quota: None,
        }
    }
}

/// The time and the fresh id a command may use; passed in so the domain stays pure.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Epoch milliseconds.
    pub now: i64,
    /// Id for a question this command creates.
    pub new_id: Uuid,
    /// The network the command came from; `None` when unknown (tests, replays).
    pub from: Option<Net>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_only_phones_ask_withdraw_vote_and_choose() {
        for k in CommandKind::ALL {
            assert_eq!(CommandKind::parse(k.as_str()), Some(k));
            let phone = matches!(
                k,
                CommandKind::Ask | CommandKind::Withdraw | CommandKind::Vote | CommandKind::Choose
            );
            assert_eq!(k.allows(Role::Audience), phone, "{k:?}");
            assert_eq!(k.allows(Role::Press), phone, "{k:?}");
            assert_eq!(k.allows(Role::Moderator), !phone, "{k:?}");
            assert!(!k.allows(Role::Screen) && !k.allows(Role::Overlay));
        }
        assert_eq!(CommandKind::parse("hello"), None);
    }
}
