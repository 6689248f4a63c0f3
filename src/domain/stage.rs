//! What the moderator puts on air besides the question and the poll, and what only the stage
//! sees: the "how to ask" call to action and the speaker name strap on the overlay (one graphic
//! at a time with the question's lower third and a poll's result), the answer timer and the
//! backstage message on the speaker screen.

use serde::{Deserialize, Serialize};

/// A graphic of the overlay other than the question's lower third and a poll's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Graphic {
    /// "How to ask": the QR code, the short address, the join code and the numbers for SMS and
    /// WhatsApp when configured (all from the session view's `join`).
    Join,
    /// Who is answering: the name and office of a speaker of the session.
    Speaker {
        /// The speaker's id in the session's list.
        speaker: String,
    },
}

impl Graphic {
    /// The wire name of its type.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Speaker { .. } => "speaker",
        }
    }
}

/// The answer timer of the speaker screen. It counts down while running and goes on below
/// zero (overtime), which the screen shows in red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    /// The length it is reset to, milliseconds.
    pub duration_ms: u64,
    /// Time left when it was last started, paused or reset, milliseconds (negative: overtime).
    pub left_ms: i64,
    /// Since when it runs (epoch milliseconds); `None` while stopped.
    pub running_since: Option<i64>,
}

impl Timer {
    /// A stopped timer of `duration_ms`, full.
    pub fn new(duration_ms: u64) -> Self {
        Self {
            duration_ms,
            left_ms: i64::try_from(duration_ms).unwrap_or(i64::MAX),
            running_since: None,
        }
    }

    /// Milliseconds left at `now` (negative: overtime).
    pub fn remaining(&self, now: i64) -> i64 {
        match self.running_since {
            Some(since) => self.left_ms - (now - since).max(0),
            None => self.left_ms,
        }
    }

    /// The timer after `action` at `now`; `seconds` sets a new length (reset and start).
    pub fn after(&self, action: TimerAction, seconds: Option<u32>, now: i64) -> Timer {
        match (action, seconds) {
            (TimerAction::Start, Some(s)) => Timer {
                running_since: Some(now),
                ..Timer::new(u64::from(s) * 1000)
            },
            (TimerAction::Start, None) if self.running_since.is_none() => Timer {
                running_since: Some(now),
                ..*self
            },
            (TimerAction::Start, None) => *self,
            (TimerAction::Pause, _) => Timer {
                left_ms: self.remaining(now),
                running_since: None,
                ..*self
            },
            (TimerAction::Reset, s) => {
                Timer::new(s.map_or(self.duration_ms, |s| u64::from(s) * 1000))
            }
        }
    }
}

/// What the moderator does with the answer timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerAction {
    /// Count down from where it is (with `seconds`: from that new length).
    Start,
    /// Stop counting, keeping the time left.
    Pause,
    /// Back to its full length, stopped (with `seconds`: a new length).
    Reset,
}

impl TimerAction {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "start" => Self::Start,
            "pause" => Self::Pause,
            "reset" => Self::Reset,
            _ => return None,
        })
    }
}

/// The shortest and longest timer length a moderator may set, seconds.
pub const TIMER_SECONDS: (u32, u32) = (5, 3600);

/// The timer's length when a session never set one, unless the hub is configured otherwise.
pub const TIMER_DEFAULT_MS: u64 = 180_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_counts_down_pauses_and_resets() {
        let t = Timer::new(180_000);
        assert_eq!(t.remaining(5_000), 180_000);
        let run = t.after(TimerAction::Start, None, 1_000);
        assert_eq!(run.remaining(31_000), 150_000);
        // starting a running timer changes nothing
        assert_eq!(run.after(TimerAction::Start, None, 20_000), run);
        let paused = run.after(TimerAction::Pause, None, 61_000);
        assert_eq!(paused.remaining(500_000), 120_000);
        let again = paused.after(TimerAction::Start, None, 100_000);
        assert_eq!(
            again.remaining(340_000),
            -120_000,
            "overtime goes below zero"
        );
        assert_eq!(
            again.after(TimerAction::Reset, None, 0),
            Timer::new(180_000)
        );
        let short = again.after(TimerAction::Reset, Some(60), 0);
        assert_eq!(
            (short.duration_ms, short.remaining(9), short.running_since),
            (60_000, 60_000, None)
        );
        let go = t.after(TimerAction::Start, Some(90), 7);
        assert_eq!((go.duration_ms, go.remaining(1_007)), (90_000, 89_000));
        // a clock that steps back never adds time
        assert_eq!(go.remaining(0), 90_000);
    }
}
