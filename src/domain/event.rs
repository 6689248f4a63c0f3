//! What is journaled: every change to a session, replayed at start to rebuild its state.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::followup::{Case, Done};
use super::net::Net;
use super::poll::Poll;
use super::question::{DeviceId, Question};
use super::session::SessionInfo;
use super::stage::{Graphic, Timer};

/// One journal entry. Each is a fact, applied without checks; `decide` made the checks.
// `Put` is the largest variant and also the most common one: boxing it would add an allocation
// to nearly every event to save bytes on the rarer small ones.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// A question was created or changed; carries the whole new record.
    Put {
        /// The question's whole record after the change.
        question: Question,
        /// A staff change: the command and who sent it (the question's history).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        done: Option<Done>,
    },
    /// A device set or cleared its vote on a question.
    Vote {
        /// The question voted for.
        question: Uuid,
        /// The voting device.
        device: DeviceId,
        /// `true`: the vote was set; `false`: cleared.
        on: bool,
    },
    /// The voters of `from` joined those of `into` (one vote per device).
    MergeVotes {
        /// The merged question; it keeps its own voters too.
        from: Uuid,
        /// The merge target, which gains them.
        into: Uuid,
    },
    /// The lower third went on or off air.
    Overlay {
        /// Whether it is on air; it stays off while no question is live.
        visible: bool,
    },
    /// The session's title, status or speakers changed.
    Session {
        /// The session's whole new info.
        info: SessionInfo,
    },
    /// A device was banned from asking, or unbanned.
    Ban {
        /// The device that asked the question named in `ban` or `unban`.
        device: DeviceId,
        /// `true`: banned; `false`: unbanned.
        banned: bool,
    },
    /// A poll was created or changed status; carries the whole new record.
    Poll {
        /// The poll's whole record after the change.
        poll: Poll,
    },
    /// A poll's result went on air (`Some`) or off (`None`).
    PollOnAir {
        /// The poll on air, or none.
        poll: Option<Uuid>,
    },
    /// A draft poll was deleted.
    PollDeleted {
        /// The deleted poll.
        poll: Uuid,
    },
    /// A device chose an option of a poll (replacing its earlier choice).
    Choice {
        /// The poll.
        poll: Uuid,
        /// The choosing device.
        device: DeviceId,
        /// The option's index.
        option: u8,
    },
    /// The call to action or a speaker's name strap went on air (`Some`) or off (`None`).
    Graphic {
        /// The graphic on air, or none.
        graphic: Option<Graphic>,
    },
    /// The answer timer was started, paused or reset.
    Timer {
        /// The timer after the change.
        timer: Timer,
    },
    /// A backstage message for the speaker screen was set or dismissed.
    Message {
        /// The message, or none.
        text: Option<String>,
    },
    /// A question's case changed: its whole new record, with its history.
    Case {
        /// The question.
        question: Uuid,
        /// The case after the change.
        case: Case,
    },
    /// A question's contact was erased (retention or purge). The store also removes it from
    /// the question's earlier journal rows, in the same transaction.
    Erase {
        /// The question.
        question: Uuid,
        /// Epoch milliseconds.
        at: i64,
    },
    /// The rehearsal ended: its questions, votes, bans, polls and cases are gone (a `session`
    /// event with `rehearsal: false` follows).
    Wipe {
        /// Epoch milliseconds.
        at: i64,
    },
    /// How many sockets of each role were joined (journaled every minute while any is).
    Presence {
        /// Epoch milliseconds.
        at: i64,
        /// The counts.
        counts: PresenceCounts,
    },
    /// A network (an IPv4 address or an IPv6 /64) was banned from asking, or unbanned.
    BanNet {
        /// The network the question named in `ban` or `unban` was asked from.
        net: Net,
        /// `true`: banned; `false`: unbanned.
        banned: bool,
    },
}

/// Sockets joined per role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceCounts {
    /// Audience phones.
    pub audience: usize,
    /// Radio desk pages.
    #[serde(default)]
    pub desk: usize,
    /// Moderator consoles.
    pub moderator: usize,
    /// Overlays.
    pub overlay: usize,
    /// Press phones.
    pub press: usize,
    /// Speaker screens.
    pub screen: usize,
}

impl PresenceCounts {
    /// From counts in [`Role::ALL`](super::Role::ALL) order.
    pub fn from_roles(n: [usize; 6]) -> Self {
        Self {
            audience: n[0],
            desk: n[5],
            press: n[1],
            moderator: n[2],
            screen: n[3],
            overlay: n[4],
        }
    }

    /// The larger of each count.
    pub fn max(self, o: Self) -> Self {
        Self {
            audience: self.audience.max(o.audience),
            desk: self.desk.max(o.desk),
            moderator: self.moderator.max(o.moderator),
            overlay: self.overlay.max(o.overlay),
            press: self.press.max(o.press),
            screen: self.screen.max(o.screen),
        }
    }
}
