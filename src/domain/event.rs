//! What is journaled: every change to a session, replayed at start to rebuild its state.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::question::{DeviceId, Question};
use super::session::SessionInfo;

/// One journal entry. Each is a fact, applied without checks; `decide` made the checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// A question was created or changed; carries the whole new record.
    Put { question: Question },
    /// A device set or cleared its vote on a question.
    Vote {
        question: Uuid,
        device: DeviceId,
        on: bool,
    },
    /// The voters of `from` joined those of `into` (one vote per device).
    MergeVotes { from: Uuid, into: Uuid },
    /// The lower third went on or off air.
    Overlay { visible: bool },
    /// The session's title, status or speakers changed.
    Session { info: SessionInfo },
    /// A device was banned from asking, or unbanned.
    Ban { device: DeviceId, banned: bool },
}
