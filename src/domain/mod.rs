//! The pure core: sessions, questions, the rules between them and what each role sees.
//! No tokio, no sockets, no SQL, no clock reads: time and fresh ids are passed in.

pub mod event;
pub mod flags;
pub mod question;
pub mod session;
pub mod text;
pub mod view;

#[cfg(test)]
mod tests;

pub use event::Event;
pub use question::{Channel, DeviceId, Question, Source, Status};
pub use session::{
    Applied, Command, Ctx, Decision, ErrorCode, Quota, Rejection, Role, SessionInfo, SessionState,
    SessionStatus, Speaker, SpeakerInput, Who,
};
