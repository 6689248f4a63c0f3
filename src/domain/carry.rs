//! Carrying questions over from one episode of a programme to the next (docs/programmes.md):
//! the question keeps its id (so its tracking code), its texts, contact, place, topic and case
//! with its history; the new episode has it approved at the bottom of its queue, and the
//! earlier episode marks it carried and refuses changes to it from then on.

use uuid::Uuid;

use super::command::{Decision, ErrorCode, Rejection};
use super::event::Event;
use super::followup::{By, Case, Done};
use super::question::{Episode, Question, Status};
use super::session::{SessionState, SessionStatus};

impl SessionState {
    /// A question of the episode before, with its case, into this one. Carrying one that is
    /// here already (a repeated carry) changes nothing.
    pub fn decide_carry_in(
        &self,
        q: Question,
        case: Case,
        from: Episode,
        by: By,
        now: i64,
    ) -> Result<Decision, Rejection> {
        if let Some(here) = self.question(q.id) {
            return if here.carried_from.is_some() {
                Ok(Decision::default())
            } else {
                Err(Rejection::new(
                    ErrorCode::Conflict,
                    "a question with this id is already in this session",
                ))
            };
        }
        if self.info.status == SessionStatus::Closed {
            return Err(Rejection::new(ErrorCode::Closed, "the session is closed"));
        }
        if q.status != Status::Approved || q.carried_to.is_some() {
            return Err(Rejection::new(
                ErrorCode::Invalid,
                "only an approved question never answered nor carried can be carried over",
            ));
        }
        let to =
            q.to.filter(|s| self.info.speakers.iter().any(|sp| &sp.id == s));
        let question = Question {
            rev: 1,
            to,
            status: Status::Approved,
            position: Some(self.max_position + 1.0),
            merged_into: None,
            reason: None,
            air_text: None,
            unmasked: false,
            credit: false,
            carried_from: Some(from),
            carried_to: None,
            updated_at: now,
            ..q
        };
        let id = question.id;
        let mut events = vec![Event::Put {
            question,
            done: Some(Done {
                act: "carry".into(),
                by,
            }),
        }];
        if case != Case::default() {
            events.push(Event::Case { question: id, case });
        }
        let mut d = Decision::events(events);
        d.question = Some(id);
        Ok(d)
    }

    /// Marks a question carried over to a later episode. Marking it again changes nothing.
    pub fn decide_carry_out(
        &self,
        id: Uuid,
        to: Episode,
        by: By,
        now: i64,
    ) -> Result<Decision, Rejection> {
        let q = self.question(id).ok_or_else(|| {
            Rejection::new(ErrorCode::NotFound, "no such question in this session")
        })?;
        if q.carried_to.is_some() {
            return Ok(Decision::default());
        }
        let mut q = q.clone();
        q.carried_to = Some(to);
        q.rev += 1;
        q.updated_at = now;
        Ok(Decision::events(vec![Event::Put {
            question: q,
            done: Some(Done {
                act: "carry".into(),
                by,
            }),
        }]))
    }
}
