//! A question and the status transitions the contract allows (docs/protocol.md).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::net::Net;

/// Internal identity of an asking device (the payload of a signed device token).
/// Never shown to any client: moderators see a per-session opaque `author` instead.
pub type DeviceId = Uuid;

/// Where a question came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A phone on the public page.
    Audience,
    /// A journalist with the press code.
    Press,
    /// Typed in by staff (`enter`).
    Operator,
}

/// How an operator entry reached the staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call.
    Phone,
    /// A text message (SMS).
    Sms,
    /// A WhatsApp message.
    Whatsapp,
    /// Through the radio station.
    Radio,
    /// Asked in the room.
    Room,
    /// By e-mail (a gateway).
    Email,
    /// Through a web form elsewhere (a gateway).
    Web,
}

impl Channel {
    /// Parses the wire name of a channel.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "phone" => Self::Phone,
            "sms" => Self::Sms,
            "whatsapp" => Self::Whatsapp,
            "radio" => Self::Radio,
            "room" => Self::Room,
            "email" => Self::Email,
            "web" => Self::Web,
            _ => return None,
        })
    }
}

/// Who typed in an operator entry, when not a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The radio desk page (`desk` role).
    Desk,
    /// A gateway through the intake API (SMS, WhatsApp, e-mail, a web form).
    Gateway,
}

/// The life of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a moderator; only its author and moderators see it.
    Pending,
    /// In the queue; public.
    Approved,
    /// Refused by a moderator; only its author and moderators see it.
    Rejected,
    /// Being answered now; public; at most one per session.
    Live,
    /// Done; public.
    Answered,
    /// Taken back by its author while pending.
    Withdrawn,
    /// A duplicate joined into another question (`merged_into`).
    Merged,
}

impl Status {
    /// Every status, in the order of a question's life.
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Approved,
        Status::Rejected,
        Status::Live,
        Status::Answered,
        Status::Withdrawn,
        Status::Merged,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Live => "live",
            Self::Answered => "answered",
            Self::Withdrawn => "withdrawn",
            Self::Merged => "merged",
        }
    }

    /// Whether the public (audience and screen) view holds a question in this status.
    pub fn is_public(self) -> bool {
        matches!(self, Self::Approved | Self::Live | Self::Answered)
    }

    /// Whether `vote` with `on: true` is allowed in this status.
    pub fn votable(self) -> bool {
        self.is_public()
    }
}

/// A moderation action on an existing question; used to look up which statuses allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `approve`: into the queue.
    Approve,
    /// `reject`: out of the public view.
    Reject,
    /// `edit`: new text.
    Edit,
    /// `live`: the question being answered now.
    Live,
    /// `answered`: done.
    Answered,
    /// `requeue`: back into the queue.
    Requeue,
    /// `move`: a new place in the queue.
    Move,
    /// `assign`: addressed to a speaker, or to nobody.
    Assign,
    /// `merge`, on the duplicate that is merged away.
    MergeFrom,
    /// `merge`, on the target (`into`).
    MergeInto,
    /// `withdraw`: the author takes back its question.
    Withdraw,
}

impl Transition {
    /// The statuses from which this action is allowed (docs/protocol.md, "Which status allows which change").
    pub fn allowed_from(self) -> &'static [Status] {
        use Status::*;
        match self {
            Self::Approve => &[Pending, Rejected],
            Self::Reject => &[Pending, Approved, Live],
            Self::Edit => &[Pending, Approved, Live, Rejected],
            Self::Live => &[Approved],
            Self::Answered => &[Approved, Live],
            Self::Requeue => &[Live, Answered],
            Self::Move => &[Approved],
            Self::Assign => &[Approved, Pending, Live],
            Self::MergeFrom => &[Pending, Approved],
            Self::MergeInto => &[Approved, Live, Answered],
            Self::Withdraw => &[Pending],
        }
    }

    /// Whether this action is allowed on a question in `status`.
    pub fn allows(self, status: Status) -> bool {
        self.allowed_from().contains(&status)
    }
}

/// One question as the session state holds it. Voters are kept beside it, in the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// The question's id.
    pub id: Uuid,
    /// +1 on every change of the question itself (not on votes or bans).
    pub rev: u64,
    /// Current text (trimmed, NFC).
    pub text: String,
    /// The text as asked, once a moderator edited it.
    pub original_text: Option<String>,
    /// The asker's display name; `None` when anonymous.
    pub name: Option<String>,
    /// Who asked: a phone, a journalist, or staff (`enter`).
    pub source: Source,
    /// How an operator entry reached the staff; `None` for phones and the press.
    pub channel: Option<Channel>,
    /// The press outlet; `None` for audience and operator entries.
    pub outlet: Option<String>,
    /// Speaker id the question is addressed to.
    pub to: Option<String>,
    /// Where the question is in its life.
    pub status: Status,
    /// Place in the approved queue (ascending = top); kept after leaving the queue.
    pub position: Option<f64>,
    /// The question this one was merged into, once `merged`.
    pub merged_into: Option<Uuid>,
    /// Reason of the last rejection.
    pub reason: Option<String>,
    /// Automatic hints for moderators (`profanity`, `personal_data`).
    pub flags: Vec<String>,
    /// The asking device; `None` for operator entries.
    pub author: Option<DeviceId>,
    /// The network the asking device wrote from (private: journaled for address bans, never
    /// sent); `None` for operator entries and questions from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<Net>,
    /// A moderator's short version for the lower third (at most 120 characters); the author,
    /// the screen and the export keep `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub air_text: Option<String>,
    /// A moderator deliberately shows this question's personal data to the public (it is
    /// masked everywhere public otherwise).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmasked: bool,
    /// The citizen's private way back (a phone number or an e-mail address): seen only by
    /// moderators, the office and the agency the case goes to; erased after retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Where the complaint is (from the place list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<super::followup::Place>,
    /// What it is about (from the topic list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Who typed in an operator entry other than a moderator: the radio desk or a gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The radio station a desk entry came through (from `desk.stations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// The moderator credits the channel on the lower third ("via telepon · RRI Palembang").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub credit: bool,
    /// The episode this question was carried over from, with its tracking code and case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried_from: Option<Episode>,
    /// The episode this question was carried over to: it is followed there from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried_to: Option<Episode>,
    /// The idempotency key the question was created with (`ask`/`enter` `ref`).
    #[serde(rename = "ref")]
    pub client_ref: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds.
    pub updated_at: i64,
}

/// Another episode of the same programme, as a carried question names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// The session's id.
    pub session: Uuid,
    /// Its join code.
    pub code: String,
    /// Its title when the question was carried.
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Status::ALL` holds every status once: a new status stops this match from compiling
    /// until it is added here and to `ALL` (which the tests of the page table and the journal
    /// fixture walk).
    #[test]
    fn all_lists_every_status_once() {
        let mut seen = std::collections::HashSet::new();
        for s in Status::ALL {
            match s {
                Status::Pending
                | Status::Approved
                | Status::Rejected
                | Status::Live
                | Status::Answered
                | Status::Withdrawn
                | Status::Merged => {}
            }
            assert!(seen.insert(s), "{s:?} twice");
        }
        assert_eq!(seen.len(), 7);
    }

    #[test]
    fn public_statuses() {
        let public: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_public()).collect();
        assert_eq!(
            public,
            vec![Status::Approved, Status::Live, Status::Answered]
        );
    }

    #[test]
    fn transitions_match_protocol_table() {
        assert!(Transition::Approve.allows(Status::Rejected));
        assert!(!Transition::Approve.allows(Status::Approved));
        assert!(Transition::Reject.allows(Status::Live));
        assert!(!Transition::Reject.allows(Status::Answered));
        assert!(Transition::Edit.allows(Status::Rejected));
        assert!(!Transition::Edit.allows(Status::Answered));
        assert!(!Transition::Live.allows(Status::Pending));
        assert!(Transition::Requeue.allows(Status::Answered));
        assert!(!Transition::Move.allows(Status::Live));
        assert!(Transition::Assign.allows(Status::Live));
        assert!(!Transition::MergeFrom.allows(Status::Live));
        assert!(Transition::MergeInto.allows(Status::Answered));
        assert!(!Transition::Withdraw.allows(Status::Approved));
        assert_eq!(Channel::parse("whatsapp"), Some(Channel::Whatsapp));
        assert_eq!(Channel::parse("fax"), None);
    }
}
