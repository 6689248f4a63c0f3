//! The pure core: sessions, questions, the rules between them and what each role sees.
//! No tokio, no sockets, no SQL, no clock reads: time and fresh ids are passed in.
//!
//! Reading order: [`role`] (who sends), [`command`] (what may be sent, by whom, and the
//! answers), [`question`] (statuses and transitions), [`event`] (what is journaled),
//! [`session`] (the state and `apply`), `decide.rs` (the rules, one method per command),
//! [`view`] (what each role sees), [`text`], [`flags`] and [`personal`] (personal data, masked
//! in public views), [`followup`] (cases after the hour, tracking codes, contacts), [`stage`] (the overlay's graphics, the speaker screen's timer and messages).

pub mod carry;
pub mod command;
mod decide;
pub mod event;
pub mod flags;
pub mod followup;
pub mod net;
pub mod personal;
pub mod poll;
pub mod question;
pub mod role;
pub mod session;
pub mod stage;
pub mod tally;
pub mod text;
pub mod view;

#[cfg(test)]
mod tests;

pub use command::{Command, CommandKind, Ctx, Decision, ErrorCode, Quota, Rejection};
pub use event::Event;
pub use net::Net;
pub use question::{Channel, DeviceId, Question, Source, Status};
pub use role::{Role, Staff, Who};
pub use session::{Applied, SessionInfo, SessionState, SessionStatus, Speaker, SpeakerInput};
