//! Polls: the moderator asks the audience a question back ("Apakah Anda puas dengan pelayanan
//! perizinan?") with 2 to 6 options; each device holds at most one choice per poll and may
//! change it while the poll is open. A poll is a draft (only moderators see it), open (phones
//! choose) or closed (the result stands). At most one poll is open: opening one closes the other.
//!
//! The records, the state kept beside the questions, the rules (`decide_poll`, `decide_choose`)
//! and `apply`; what each role sees is in [`super::view`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::command::{Ctx, Decision, ErrorCode, Quota, Rejection};
use super::event::Event;
use super::question::DeviceId;
use super::role::Who;
use super::text::{self, FieldError};

/// Limits of a poll's fields (characters after cleaning and trimming).
pub mod limits {
    /// The poll's question.
    pub const QUESTION: (usize, usize) = (1, 200);
    /// Each option.
    pub const OPTION: (usize, usize) = (1, 80);
    /// How many options a poll has.
    pub const OPTIONS: (usize, usize) = (2, 6);
}

/// Whole percents of `counts` that add up to 100 (largest remainder; ties to the earlier
/// option), or all 0 when nobody chose. The overlay's graphic rounds the same way.
pub fn percents(counts: &[usize]) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut out: Vec<usize> = counts.iter().map(|n| 100 * n / total).collect();
    let left = 100 - out.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    // Largest remainder first; the sort is stable, so ties keep the options' order.
    order.sort_by_key(|&i| std::cmp::Reverse(100 * counts[i] % total));
    for &i in order.iter().take(left) {
        out[i] += 1;
    }
    out
}

/// Where a poll is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollStatus {
    /// Being prepared: only moderators see it; it may be deleted.
    Draft,
    /// Phones choose.
    Open,
    /// The result stands; it may be opened again.
    Closed,
}

impl PollStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// When phones see the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PollResults {
    /// Always (the phone page shows them once its device has chosen).
    #[default]
    Live,
    /// Only once the poll is closed (no bandwagon while it is open).
    AfterClose,
}

impl PollResults {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "live" => Some(Self::Live),
            "after_close" => Some(Self::AfterClose),
            _ => None,
        }
    }
}

/// One poll as the state holds it (journaled whole on every change, like a question).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poll {
    /// The poll's id.
    pub id: Uuid,
    /// The question put to the audience.
    pub question: String,
    /// The options, in order; a choice names one by its index.
    pub options: Vec<String>,
    /// Draft, open or closed.
    pub status: PollStatus,
    /// When phones see the counts.
    pub results: PollResults,
    /// The idempotency key it was created with (the `poll` command's `ref`).
    #[serde(rename = "ref")]
    pub client_ref: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds of the last change of status.
    pub updated_at: i64,
}

/// A poll as the `poll` command creates it, its fields checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPoll {
    /// The question (cleaned, 1-200 characters).
    pub question: String,
    /// The options (cleaned, 2-6 of 1-80 characters, no two alike).
    pub options: Vec<String>,
    /// When phones see the counts.
    pub results: PollResults,
}

impl NewPoll {
    /// Checks the fields of a new poll.
    pub fn checked(
        question: &str,
        options: &[String],
        results: PollResults,
    ) -> Result<Self, FieldError> {
        let question = text::checked("question", question, limits::QUESTION)?;
        let (min, max) = limits::OPTIONS;
        if options.len() < min || options.len() > max {
            return Err(FieldError(format!(
                "`options` has {} entries: a poll has {min} to {max}",
                options.len()
            )));
        }
        let mut out: Vec<String> = Vec::with_capacity(options.len());
        for (i, o) in options.iter().enumerate() {
            let o = text::checked(&format!("options[{i}]"), o, limits::OPTION)?;
            if out.iter().any(|x| x.to_lowercase() == o.to_lowercase()) {
                return Err(FieldError(format!("`options[{i}]` \"{o}\" is there twice")));
            }
            out.push(o);
        }
        Ok(Self {
            question,
            options: out,
            results,
        })
    }
}

/// What the moderator does with a poll.
#[derive(Debug, Clone, PartialEq)]
pub enum PollAction {
    /// A new draft; idempotent per `ref`.
    Create {
        /// The command's `ref`.
        client_ref: String,
        /// The checked fields.
        poll: NewPoll,
    },
    /// Draft or closed to open (another open poll is closed first).
    Open(Uuid),
    /// Open to closed.
    Close(Uuid),
    /// A draft is removed.
    Delete(Uuid),
    /// The poll's result goes on air (the question's lower third goes off).
    Show(Uuid),
    /// The poll's result goes off air.
    Hide(Uuid),
}

/// The polls of a session and the devices' choices.
#[derive(Debug, Clone, Default)]
pub struct Polls {
    /// Every poll not deleted, by id.
    polls: HashMap<Uuid, Poll>,
    /// Poll ids in the order they were created.
    order: Vec<Uuid>,
    /// Each poll's choices: device -> option index.
    choices: HashMap<Uuid, HashMap<DeviceId, u8>>,
    /// `poll` create idempotency: ref -> poll (kept after a delete, so a retry stays answered).
    refs: HashMap<String, Uuid>,
    /// The poll whose result is on air.
    on_air: Option<Uuid>,
}

/// What applying a poll event changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollChange {
    /// The poll was created, or its status changed.
    Poll(Uuid),
    /// The draft was deleted.
    Deleted(Uuid),
    /// A device's choice changed: the poll's counts.
    Counts(Uuid),
    /// A poll went on air or off.
    OnAir,
}

impl Polls {
    /// A poll by id.
    pub fn get(&self, id: Uuid) -> Option<&Poll> {
        self.polls.get(&id)
    }

    /// Every poll, in the order created.
    pub fn all(&self) -> impl Iterator<Item = &Poll> {
        self.order.iter().filter_map(|id| self.polls.get(id))
    }

    /// The poll whose result is on air.
    pub fn on_air(&self) -> Option<&Poll> {
        self.on_air.and_then(|id| self.polls.get(&id))
    }

    /// The open poll, if any.
    pub fn open(&self) -> Option<&Poll> {
        self.all().find(|p| p.status == PollStatus::Open)
    }

    /// How many devices chose each option.
    pub fn counts(&self, id: Uuid) -> Vec<usize> {
        let n = self.polls.get(&id).map_or(0, |p| p.options.len());
        let mut c = vec![0; n];
        if let Some(ch) = self.choices.get(&id) {
            for o in ch.values() {
                if let Some(x) = c.get_mut(*o as usize) {
                    *x += 1;
                }
            }
        }
        c
    }

    /// The option a device chose in a poll.
    pub fn choice(&self, id: Uuid, device: DeviceId) -> Option<u8> {
        self.choices.get(&id).and_then(|c| c.get(&device)).copied()
    }

    /// Every choice of a device: poll -> option.
    pub fn choices_of(&self, device: DeviceId) -> impl Iterator<Item = (Uuid, u8)> + '_ {
        self.order.iter().filter_map(move |id| {
            self.choices
                .get(id)
                .and_then(|c| c.get(&device))
                .map(|o| (*id, *o))
        })
    }

    /// The rules of the moderator's `poll` command. `closed_session`: the session is closed;
    /// `question_on_air`: the question's lower third is on air (showing a poll takes it off).
    pub fn decide_poll(
        &self,
        action: &PollAction,
        closed_session: bool,
        question_on_air: bool,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        if let PollAction::Create { client_ref, poll } = action
            && let Some(id) = self.refs.get(client_ref)
        {
            // A retried create: the same poll again, or a conflict when the ref was used for
            // another one.
            return match self.polls.get(id) {
                Some(p) if p.question == poll.question && p.options == poll.options => {
                    Ok(Decision {
                        poll: Some(*id),
                        ..Decision::default()
                    })
                }
                Some(_) => Err(Rejection::new(
                    ErrorCode::Conflict,
                    "this `ref` created another poll",
                )),
                None => Err(Rejection::new(
                    ErrorCode::NotFound,
                    "the poll this `ref` created was deleted",
                )),
            };
        }
        if closed_session {
            return Err(Rejection::new(ErrorCode::Closed, "the session is closed"));
        }
        let put = |p: &Poll, status: PollStatus| Event::Poll {
            poll: Poll {
                status,
                updated_at: ctx.now,
                ..p.clone()
            },
        };
        let with = |events: Vec<Event>, id: Uuid| Decision {
            events,
            poll: Some(id),
            ..Decision::default()
        };
        match action {
            PollAction::Create { client_ref, poll } => {
                let p = Poll {
                    id: ctx.new_id,
                    question: poll.question.clone(),
                    options: poll.options.clone(),
                    status: PollStatus::Draft,
                    results: poll.results,
                    client_ref: client_ref.clone(),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                };
                Ok(with(vec![Event::Poll { poll: p }], ctx.new_id))
            }
            PollAction::Open(id) => {
                let p = self.find(*id)?;
                if p.status == PollStatus::Open {
                    return Ok(with(vec![], p.id));
                }
                let mut events: Vec<Event> = self
                    .open()
                    .map(|o| put(o, PollStatus::Closed))
                    .into_iter()
                    .collect();
                events.push(put(p, PollStatus::Open));
                Ok(with(events, p.id))
            }
            PollAction::Close(id) => {
                let p = self.find(*id)?;
                match p.status {
                    PollStatus::Open => Ok(with(vec![put(p, PollStatus::Closed)], p.id)),
                    PollStatus::Closed => Ok(with(vec![], p.id)),
                    PollStatus::Draft => Err(Rejection::new(
                        ErrorCode::Conflict,
                        "a draft poll cannot be closed: open it first",
                    )),
                }
            }
            PollAction::Delete(id) => {
                let p = self.find(*id)?;
                if p.status != PollStatus::Draft {
                    return Err(Rejection::new(
                        ErrorCode::Conflict,
                        format!(
                            "only a draft poll can be deleted; this one is {}",
                            p.status.as_str()
                        ),
                    ));
                }
                Ok(with(vec![Event::PollDeleted { poll: p.id }], p.id))
            }
            PollAction::Show(id) => {
                let p = self.find(*id)?;
                if p.status == PollStatus::Draft {
                    return Err(Rejection::new(
                        ErrorCode::Conflict,
                        "a draft poll cannot go on air: open it first",
                    ));
                }
                let mut events = vec![];
                if question_on_air {
                    events.push(Event::Overlay { visible: false });
                }
                if self.on_air != Some(p.id) {
                    events.push(Event::PollOnAir { poll: Some(p.id) });
                }
                Ok(with(events, p.id))
            }
            PollAction::Hide(id) => {
                let p = self.find(*id)?;
                let events = if self.on_air == Some(p.id) {
                    vec![Event::PollOnAir { poll: None }]
                } else {
                    vec![]
                };
                Ok(with(events, p.id))
            }
        }
    }

    /// The rules of `choose`: a device, an open poll, an option it has.
    pub fn decide_choose(&self, who: &Who, poll: Uuid, option: u8) -> Result<Decision, Rejection> {
        let device = who
            .device()
            .ok_or_else(|| Rejection::new(ErrorCode::Forbidden, "only a device may choose"))?;
        let p = self.find(poll)?;
        if p.status != PollStatus::Open {
            return Err(Rejection::new(
                ErrorCode::Closed,
                format!("this poll is {}: it takes no choice", p.status.as_str()),
            ));
        }
        if option as usize >= p.options.len() {
            return Err(Rejection::invalid(format!(
                "`option` must be 0 to {} for this poll",
                p.options.len() - 1
            )));
        }
        let events = if self.choice(poll, device) == Some(option) {
            vec![]
        } else {
            vec![Event::Choice {
                poll,
                device,
                option,
            }]
        };
        Ok(Decision {
            events,
            poll: Some(poll),
            quota: Some(Quota::Vote),
            ..Decision::default()
        })
    }

    fn find(&self, id: Uuid) -> Result<&Poll, Rejection> {
        self.polls
            .get(&id)
            .ok_or_else(|| Rejection::new(ErrorCode::NotFound, "no such poll in this session"))
    }

    /// Applies one poll event; `None` for other events.
    pub fn apply(&mut self, e: &Event) -> Option<PollChange> {
        match e {
            Event::Poll { poll } => {
                if self.polls.insert(poll.id, poll.clone()).is_none() {
                    self.order.push(poll.id);
                    self.refs.insert(poll.client_ref.clone(), poll.id);
                }
                Some(PollChange::Poll(poll.id))
            }
            Event::PollOnAir { poll } => {
                self.on_air = *poll;
                Some(PollChange::OnAir)
            }
            Event::PollDeleted { poll } => {
                if self.on_air == Some(*poll) {
                    self.on_air = None;
                }
                self.polls.remove(poll);
                self.order.retain(|id| id != poll);
                self.choices.remove(poll);
                Some(PollChange::Deleted(*poll))
            }
            Event::Choice {
                poll,
                device,
                option,
            } => {
                self.choices
                    .entry(*poll)
                    .or_default()
                    .insert(*device, *option);
                Some(PollChange::Counts(*poll))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::flags::Flagger;
    use crate::domain::session::{SessionInfo, SessionState, SessionStatus};
    use crate::domain::{Command, Role};
    use proptest::prelude::*;
    use std::sync::Arc;

    const T0: i64 = 1_700_000_000_000;

    fn state() -> SessionState {
        SessionState::new(
            SessionInfo {
                id: Uuid::from_u128(1),
                code: "ABCDEF".into(),
                title: "Diskusi".into(),
                status: SessionStatus::Open,
                speakers: vec![],
                created_at: T0,
                starts_at: None,
                rehearsal: false,
            },
            Arc::new(Flagger::default()),
        )
    }

    fn ctx(n: u128) -> Ctx {
        Ctx {
            now: T0 + n as i64,
            new_id: Uuid::from_u128(0x9000 + n),
            from: None,
        }
    }

    fn device(n: u128) -> Who {
        Who::Device {
            device: Uuid::from_u128(n),
            press: false,
        }
    }

    /// Decides and applies; the journal grows.
    fn run(
        s: &mut SessionState,
        journal: &mut Vec<Event>,
        who: Who,
        cmd: Command,
        n: u128,
    ) -> Result<Decision, Rejection> {
        let d = s.decide(&who, &cmd, ctx(n))?;
        for e in &d.events {
            s.apply(e);
            journal.push(e.clone());
        }
        Ok(d)
    }

    fn create(question: &str, options: &[&str]) -> Command {
        let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        Command::Poll(PollAction::Create {
            client_ref: format!("ref-{question}"),
            poll: NewPoll::checked(question, &options, PollResults::Live).unwrap(),
        })
    }

    fn choose(poll: Uuid, option: u8) -> Command {
        Command::Choose { poll, option }
    }

    #[test]
    fn fields_are_checked_and_name_the_field() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let bad = [
            ("", o(&["Ya", "Tidak"]), "question"),
            (&"x".repeat(201)[..], o(&["Ya", "Tidak"]), "question"),
            ("Puas?", o(&["Ya"]), "options"),
            ("Puas?", o(&["1", "2", "3", "4", "5", "6", "7"]), "options"),
            ("Puas?", o(&["Ya", ""]), "options[1]"),
            ("Puas?", o(&["Ya", &"y".repeat(81)]), "options[1]"),
            ("Puas?", o(&["Ya", " ya "]), "options[1]"),
        ];
        for (q, opts, field) in bad {
            let e = NewPoll::checked(q, &opts, PollResults::Live).unwrap_err();
            assert!(e.0.contains(field), "{field}: {}", e.0);
        }
        let ok =
            NewPoll::checked(" Puas? ", &o(&[" Ya", "Tidak "]), PollResults::AfterClose).unwrap();
        assert_eq!(ok.question, "Puas?");
        assert_eq!(ok.options, ["Ya", "Tidak"]);
    }

    #[test]
    fn a_poll_lives_draft_open_closed_and_only_a_draft_is_deleted() {
        let (mut s, mut j) = (state(), vec![]);
        let m = Who::MODERATOR;
        let d = run(&mut s, &mut j, m, create("Puas?", &["Ya", "Tidak"]), 1).unwrap();
        let id = d.poll.unwrap();
        assert_eq!(s.polls.get(id).unwrap().status, PollStatus::Draft);
        // A retried create returns the same poll, nothing new.
        let again = run(&mut s, &mut j, m, create("Puas?", &["Ya", "Tidak"]), 2).unwrap();
        assert_eq!((again.poll, again.events.len()), (Some(id), 0));
        // A draft takes no choice.
        let e = run(&mut s, &mut j, device(7), choose(id, 0), 3).unwrap_err();
        assert_eq!(e.code, ErrorCode::Closed);
        // Closing a draft is a conflict; opening it works; opening again is a no-op.
        let e = run(&mut s, &mut j, m, Command::Poll(PollAction::Close(id)), 4).unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
        run(&mut s, &mut j, m, Command::Poll(PollAction::Open(id)), 5).unwrap();
        assert_eq!(s.polls.open().map(|p| p.id), Some(id));
        let d = run(&mut s, &mut j, m, Command::Poll(PollAction::Open(id)), 6).unwrap();
        assert!(d.events.is_empty());
        // Open polls are not deleted.
        let e = run(&mut s, &mut j, m, Command::Poll(PollAction::Delete(id)), 7).unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
        // Opening a second poll closes the first.
        let second = run(
            &mut s,
            &mut j,
            m,
            create("Masalah?", &["Jalan", "Banjir"]),
            8,
        )
        .unwrap()
        .poll
        .unwrap();
        run(
            &mut s,
            &mut j,
            m,
            Command::Poll(PollAction::Open(second)),
            9,
        )
        .unwrap();
        assert_eq!(s.polls.get(id).unwrap().status, PollStatus::Closed);
        assert_eq!(s.polls.open().map(|p| p.id), Some(second));
        // A draft is deleted, and gone.
        let third = run(&mut s, &mut j, m, create("Lagi?", &["A", "B"]), 10)
            .unwrap()
            .poll
            .unwrap();
        run(
            &mut s,
            &mut j,
            m,
            Command::Poll(PollAction::Delete(third)),
            11,
        )
        .unwrap();
        assert!(s.polls.get(third).is_none());
        let e = run(
            &mut s,
            &mut j,
            m,
            Command::Poll(PollAction::Open(third)),
            12,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        // Replay rebuilds the same polls.
        let r = SessionState::replay(s.info.clone(), Arc::new(Flagger::default()), &j);
        let ids = |s: &SessionState| s.polls.all().map(|p| (p.id, p.status)).collect::<Vec<_>>();
        assert_eq!(ids(&r), ids(&s));
    }

    #[test]
    fn one_choice_per_device_changed_while_open() {
        let (mut s, mut j) = (state(), vec![]);
        let m = Who::MODERATOR;
        let id = run(
            &mut s,
            &mut j,
            m,
            create("Puas?", &["Ya", "Tidak", "Ragu"]),
            1,
        )
        .unwrap()
        .poll
        .unwrap();
        run(&mut s, &mut j, m, Command::Poll(PollAction::Open(id)), 2).unwrap();
        let d = run(&mut s, &mut j, device(1), choose(id, 0), 3).unwrap();
        assert_eq!(d.quota, Some(Quota::Vote));
        run(&mut s, &mut j, device(2), choose(id, 0), 4).unwrap();
        assert_eq!(s.polls.counts(id), [2, 0, 0]);
        // A change moves the choice; the same option again changes nothing.
        run(&mut s, &mut j, device(1), choose(id, 2), 5).unwrap();
        assert_eq!(s.polls.counts(id), [1, 0, 1]);
        let d = run(&mut s, &mut j, device(1), choose(id, 2), 6).unwrap();
        assert!(d.events.is_empty());
        // Out of range, and only devices choose.
        let e = run(&mut s, &mut j, device(1), choose(id, 3), 7).unwrap_err();
        assert_eq!(e.code, ErrorCode::Invalid);
        assert!(e.message.contains("0 to 2"), "{}", e.message);
        let e = run(&mut s, &mut j, m, choose(id, 0), 8).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        let e = run(&mut s, &mut j, device(1), choose(Uuid::from_u128(5), 0), 9).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        // Closed: no more choices; the counts stand.
        run(&mut s, &mut j, m, Command::Poll(PollAction::Close(id)), 10).unwrap();
        let e = run(&mut s, &mut j, device(3), choose(id, 1), 11).unwrap_err();
        assert_eq!(e.code, ErrorCode::Closed);
        assert_eq!(s.polls.counts(id), [1, 0, 1]);
        assert_eq!(s.polls.choice(id, Uuid::from_u128(1)), Some(2));
        // Only the moderator creates and runs polls.
        for who in [device(1), Who::SCREEN, Who::OVERLAY] {
            let e = run(&mut s, &mut j, who, create("X?", &["a", "b"]), 12).unwrap_err();
            assert_eq!(e.code, ErrorCode::Forbidden);
        }
        assert!(crate::domain::CommandKind::Choose.allows(Role::Press));
    }

    #[test]
    fn counts_are_hidden_from_phones_until_close_when_the_poll_says_so() {
        use crate::domain::view::{PollViewer, poll};
        let (mut s, mut j) = (state(), vec![]);
        let m = Who::MODERATOR;
        let cmd = Command::Poll(PollAction::Create {
            client_ref: "r".into(),
            poll: NewPoll::checked(
                "Puas?",
                &["Ya".into(), "Tidak".into()],
                PollResults::AfterClose,
            )
            .unwrap(),
        });
        let id = run(&mut s, &mut j, m, cmd, 1).unwrap().poll.unwrap();
        run(&mut s, &mut j, m, Command::Poll(PollAction::Open(id)), 2).unwrap();
        run(&mut s, &mut j, device(1), choose(id, 1), 3).unwrap();
        let json = |v| serde_json::to_value(poll(&s, s.polls.get(id).unwrap(), v)).unwrap();
        assert_eq!(json(PollViewer::Staff)["options"][1]["count"], 1);
        assert_eq!(
            json(PollViewer::Public)["options"][1]["count"],
            serde_json::Value::Null
        );
        let mine = json(PollViewer::Device(Uuid::from_u128(1)));
        assert_eq!(mine["choice"], 1);
        assert_eq!(mine["options"][1]["count"], serde_json::Value::Null);
        assert!(json(PollViewer::Public).get("choice").is_none());
        run(&mut s, &mut j, m, Command::Poll(PollAction::Close(id)), 4).unwrap();
        let json = |v| serde_json::to_value(poll(&s, s.polls.get(id).unwrap(), v)).unwrap();
        assert_eq!(json(PollViewer::Public)["options"][1]["count"], 1);
    }

    #[test]
    fn percents_add_up_to_100() {
        assert_eq!(percents(&[1, 1, 1]), [34, 33, 33]);
        assert_eq!(percents(&[1, 2, 0]), [33, 67, 0]);
        assert_eq!(percents(&[0, 0]), [0, 0]);
        assert_eq!(percents(&[5]), [100]);
    }

    proptest! {
        #[test]
        fn percents_always_sum_to_100(counts in proptest::collection::vec(0usize..1000, 2..7)) {
            let p = percents(&counts);
            let total: usize = counts.iter().sum();
            prop_assert_eq!(p.iter().sum::<usize>(), if total == 0 { 0 } else { 100 });
            for (n, pct) in counts.iter().zip(&p) {
                // Within one point of the exact share.
                let exact = if total == 0 { 0.0 } else { 100.0 * *n as f64 / total as f64 };
                prop_assert!((*pct as f64 - exact).abs() < 1.0);
            }
        }

        /// Through random choices, opens and closes: every count equals the number of devices
        /// holding that option, and a replay of the journal gives the same counts and choices.
        #[test]
        fn counts_equal_the_devices_holding_each_choice(
            ops in proptest::collection::vec((0u8..8, 0u128..6, 0u8..5), 1..120)
        ) {
            let (mut s, mut j) = (state(), vec![]);
            let m = Who::MODERATOR;
            let a = run(&mut s, &mut j, m, create("A?", &["1", "2", "3"]), 0).unwrap().poll.unwrap();
            let b = run(&mut s, &mut j, m, create("B?", &["x", "y"]), 1).unwrap().poll.unwrap();
            let mut held: HashMap<(Uuid, u128), u8> = HashMap::new();
            for (i, (op, dev, opt)) in ops.into_iter().enumerate() {
                let n = i as u128 + 10;
                let poll = if dev % 2 == 0 { a } else { b };
                let r = match op {
                    0 => run(&mut s, &mut j, m, Command::Poll(PollAction::Open(poll)), n),
                    1 => run(&mut s, &mut j, m, Command::Poll(PollAction::Close(poll)), n),
                    _ => run(&mut s, &mut j, device(dev), choose(poll, opt), n),
                };
                if op >= 2 && r.is_ok() {
                    held.insert((poll, dev), opt);
                }
                if let Err(e) = &r {
                    prop_assert!(matches!(e.code, ErrorCode::Closed | ErrorCode::Invalid | ErrorCode::Conflict), "{e:?}");
                }
                prop_assert!(s.polls.all().filter(|p| p.status == PollStatus::Open).count() <= 1);
            }
            let r = SessionState::replay(s.info.clone(), Arc::new(Flagger::default()), &j);
            for (poll, n) in [(a, 3usize), (b, 2)] {
                let mut want = vec![0usize; n];
                for ((p, _), o) in &held {
                    if *p == poll {
                        want[*o as usize] += 1;
                    }
                }
                prop_assert_eq!(s.polls.counts(poll), want.clone());
                prop_assert_eq!(r.polls.counts(poll), want);
                for d in 0..6u128 {
                    let dev = Uuid::from_u128(d);
                    prop_assert_eq!(s.polls.choice(poll, dev), held.get(&(poll, d)).copied());
                    prop_assert_eq!(r.polls.choice(poll, dev), s.polls.choice(poll, dev));
                }
            }
        }
    }
}
