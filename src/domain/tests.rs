//! Tests of the domain against the contract (docs/protocol.md): one unit test per rule of the contract (the status
//! table, checks and their order, idempotency, queue, votes, overlay, bans, edits, flags), then
//! property tests over random command sequences that check the state's invariants after every
//! step and that replaying the journal rebuilds the same state.

use std::sync::Arc;

use uuid::Uuid;

use super::command::{Command, CommandKind, Ctx, Decision, ErrorCode, Quota, Rejection};
use super::event::Event;
use super::flags::Flagger;
use super::net::Net;
use super::question::{Channel, DeviceId, Question, Source, Status};
use super::role::{Role, Who};
use super::session::{Applied, SessionInfo, SessionState, SessionStatus, Speaker};
use super::view;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The profanity list of every test session.
const WORDS: &str = "anjing";

/// Epoch milliseconds of the first command.
const T0: i64 = 1_700_000_000_000;

const ALL_STATUSES: [Status; 7] = Status::ALL;

/// The device that asks the question under test.
const AUTHOR: DeviceId = Uuid::from_u128(0xA1);
/// Another audience device.
const OTHER: DeviceId = Uuid::from_u128(0xB2);
/// A third device, used for votes.
const THIRD: DeviceId = Uuid::from_u128(0xC3);
/// The device that asks the helper questions (merge targets, queue fillers).
const FILLER: DeviceId = Uuid::from_u128(0xF0);

fn info() -> SessionInfo {
    SessionInfo {
        id: Uuid::from_u128(0x5E55),
        code: "K7M2QX".into(),
        title: "Diskusi Wong Kito #12: Perizinan".into(),
        status: SessionStatus::Open,
        speakers: vec![
            Speaker {
                id: "s1".into(),
                name: "Drs Ratu Dewa MSi".into(),
                role: "Sekretaris Daerah".into(),
            },
            Speaker {
                id: "s2".into(),
                name: "Ir Budi".into(),
                role: "Kepala Dinas PU".into(),
            },
        ],
        created_at: T0 - 60_000,
        starts_at: None,
        rehearsal: false,
    }
}

fn flagger() -> Arc<Flagger> {
    Arc::new(Flagger::from_list(WORDS))
}

fn audience(device: DeviceId) -> Who {
    Who::audience(device)
}

fn press(device: DeviceId) -> Who {
    Who::press(device)
}

fn moderator() -> Who {
    Who::MODERATOR
}

fn screen() -> Who {
    Who::SCREEN
}

// Commands with no `rev` (tests that need one build the command themselves).

fn ask(r: &str, text: &str) -> Command {
    Command::Ask {
        client_ref: r.into(),
        text: text.into(),
        name: None,
        outlet: None,
        to: None,
        followup: Default::default(),
    }
}
fn enter(r: &str, text: &str) -> Command {
    Command::Enter {
        client_ref: r.into(),
        text: text.into(),
        name: None,
        channel: Channel::Sms,
        to: None,
        followup: Default::default(),
        station: None,
    }
}
fn withdraw(q: Uuid) -> Command {
    Command::Withdraw {
        question: q,
        rev: None,
    }
}
fn vote(q: Uuid, on: bool) -> Command {
    Command::Vote {
        question: q,
        on,
        rev: None,
    }
}
fn approve(q: Uuid) -> Command {
    Command::Approve {
        question: q,
        rev: None,
    }
}
fn reject(q: Uuid) -> Command {
    Command::Reject {
        question: q,
        rev: None,
        reason: Some("di luar topik".into()),
    }
}
fn edit(q: Uuid, text: &str) -> Command {
    Command::Edit {
        question: q,
        rev: None,
        text: text.into(),
    }
}
fn live(q: Uuid) -> Command {
    Command::Live {
        question: q,
        rev: None,
    }
}
fn answered(q: Uuid) -> Command {
    Command::Answered {
        question: q,
        rev: None,
    }
}
fn requeue(q: Uuid) -> Command {
    Command::Requeue {
        question: q,
        rev: None,
    }
}
fn move_after(q: Uuid, after: Option<Uuid>) -> Command {
    Command::Move {
        question: q,
        rev: None,
        after,
    }
}
fn assign(q: Uuid, to: Option<&str>) -> Command {
    Command::Assign {
        question: q,
        rev: None,
        to: to.map(str::to_string),
    }
}
fn merge(q: Uuid, into: Uuid) -> Command {
    Command::Merge {
        question: q,
        rev: None,
        into,
    }
}
fn overlay(visible: bool) -> Command {
    Command::Overlay {
        visible,
        confirm: false,
    }
}
fn set_status(status: SessionStatus) -> Command {
    Command::Session {
        status: Some(status),
        title: None,
        speakers: None,
        starts_at: None,
        rehearsal: None,
    }
}
fn ban(q: Uuid, banned: bool) -> Command {
    Command::Ban {
        question: q,
        rev: None,
        banned,
        address: false,
    }
}
fn ban_address(q: Uuid, banned: bool) -> Command {
    Command::Ban {
        question: q,
        rev: None,
        banned,
        address: true,
    }
}

/// The network a test device writes from, unless a test puts it elsewhere: one IPv4 address
/// per device.
fn net_of(device: DeviceId) -> Net {
    Net::of(std::net::IpAddr::from([
        10,
        0,
        0,
        (device.as_u128() & 0xff) as u8,
    ]))
}

/// The `question` a command names, if any.
fn named_question(cmd: &Command) -> Option<Uuid> {
    use Command as C;
    match cmd {
        C::Withdraw { question, .. }
        | C::Vote { question, .. }
        | C::Approve { question, .. }
        | C::Reject { question, .. }
        | C::Edit { question, .. }
        | C::Live { question, .. }
        | C::Answered { question, .. }
        | C::Requeue { question, .. }
        | C::Move { question, .. }
        | C::Assign { question, .. }
        | C::Merge { question, .. }
        | C::AirText { question, .. }
        | C::Unmask { question, .. }
        | C::Credit { question, .. }
        | C::Ban { question, .. } => Some(*question),
        C::Ask { .. }
        | C::Enter { .. }
        | C::Overlay { .. }
        | C::Session { .. }
        | C::RotateKey { .. }
        | C::Poll(_)
        | C::Graphic { .. }
        | C::Timer { .. }
        | C::Message { .. }
        | C::Case { .. }
        | C::Choose { .. } => None,
    }
}

/// The same command with `rev` set (commands that name a question).
fn with_rev(cmd: &Command, r: u64) -> Command {
    use Command as C;
    let mut cmd = cmd.clone();
    match &mut cmd {
        C::Withdraw { rev, .. }
        | C::Vote { rev, .. }
        | C::Approve { rev, .. }
        | C::Reject { rev, .. }
        | C::Edit { rev, .. }
        | C::Live { rev, .. }
        | C::Answered { rev, .. }
        | C::Requeue { rev, .. }
        | C::Move { rev, .. }
        | C::Assign { rev, .. }
        | C::Merge { rev, .. }
        | C::AirText { rev, .. }
        | C::Unmask { rev, .. }
        | C::Credit { rev, .. }
        | C::Ban { rev, .. } => *rev = Some(r),
        C::Ask { .. }
        | C::Enter { .. }
        | C::Overlay { .. }
        | C::Session { .. }
        | C::RotateKey { .. }
        | C::Poll(_)
        | C::Graphic { .. }
        | C::Timer { .. }
        | C::Message { .. }
        | C::Case { .. }
        | C::Choose { .. } => {
            panic!("{cmd:?} names no question")
        }
    }
    cmd
}

/// A session with its journal: every decision's events are applied and journaled.
struct Hub {
    state: SessionState,
    journal: Vec<Event>,
    /// What applying the last decision's events returned.
    applied: Vec<Applied>,
    now: i64,
    refs: u32,
    /// Devices writing from another network than [`net_of`]'s.
    nets: std::collections::HashMap<DeviceId, Net>,
}

impl Hub {
    fn new() -> Self {
        Self {
            state: SessionState::new(info(), flagger()),
            journal: Vec::new(),
            applied: Vec::new(),
            now: T0,
            refs: 0,
            nets: Default::default(),
        }
    }

    fn try_run(&mut self, who: Who, cmd: &Command) -> Result<Decision, Rejection> {
        self.now += 1_000;
        let from = who
            .device()
            .map(|d| self.nets.get(&d).copied().unwrap_or_else(|| net_of(d)));
        let ctx = Ctx {
            now: self.now,
            new_id: Uuid::new_v4(),
            from,
        };
        let decision = self.state.decide(&who, cmd, ctx)?;
        self.applied = decision
            .events
            .iter()
            .map(|e| self.state.apply(e))
            .collect();
        self.journal.extend(decision.events.iter().cloned());
        Ok(decision)
    }

    /// Runs a command that must succeed.
    fn ok(&mut self, who: Who, cmd: &Command) -> Decision {
        self.try_run(who, cmd)
            .unwrap_or_else(|r| panic!("{cmd:?} by {who:?} was refused: {r:?}"))
    }

    /// Runs a command that must be refused; checks that it left the state alone.
    fn err(&mut self, who: Who, cmd: &Command) -> Rejection {
        let before = snapshot(&self.state, &[AUTHOR, OTHER, THIRD, FILLER]);
        let journaled = self.journal.len();
        match self.try_run(who, cmd) {
            Ok(d) => panic!("{cmd:?} by {who:?} should be refused, got {d:?}"),
            Err(r) => {
                assert_eq!(self.journal.len(), journaled);
                assert_eq!(
                    snapshot(&self.state, &[AUTHOR, OTHER, THIRD, FILLER]),
                    before
                );
                r
            }
        }
    }

    /// A moderator command that must succeed.
    fn m(&mut self, cmd: &Command) -> Decision {
        self.ok(moderator(), cmd)
    }

    /// A moderator command that must be refused.
    fn m_err(&mut self, cmd: &Command) -> Rejection {
        self.err(moderator(), cmd)
    }

    fn next_ref(&mut self) -> String {
        self.refs += 1;
        format!("r{}", self.refs)
    }

    /// A new pending question asked by `device`.
    fn ask(&mut self, device: DeviceId, text: &str) -> Uuid {
        let r = self.next_ref();
        let d = self.ok(audience(device), &ask(&r, text));
        assert_eq!(d.events.len(), 1);
        d.question.expect("ask returns its question")
    }

    /// A new approved question (asked by FILLER).
    fn approved(&mut self, text: &str) -> Uuid {
        let id = self.ask(FILLER, text);
        self.m(&approve(id));
        id
    }

    /// A question asked by AUTHOR, brought into `status` by allowed commands.
    fn question_in(&mut self, status: Status) -> Uuid {
        let id = self.ask(AUTHOR, "Kapan jalan di Jakabaring diperbaiki?");
        match status {
            Status::Pending => {}
            Status::Approved => {
                self.m(&approve(id));
            }
            Status::Rejected => {
                self.m(&reject(id));
            }
            Status::Live => {
                self.m(&approve(id));
                self.m(&live(id));
            }
            Status::Answered => {
                self.m(&approve(id));
                self.m(&live(id));
                self.m(&answered(id));
            }
            Status::Withdrawn => {
                self.ok(audience(AUTHOR), &withdraw(id));
            }
            Status::Merged => {
                let target = self.approved("Kapan jalan diperbaiki?");
                self.m(&merge(id, target));
            }
        }
        assert_eq!(self.q(id).status, status);
        id
    }

    fn q(&self, id: Uuid) -> &Question {
        self.state.question(id).expect("question exists")
    }

    fn queue(&self) -> Vec<Uuid> {
        self.state.queue().iter().map(|q| q.id).collect()
    }

    fn positions(&self) -> Vec<f64> {
        self.state
            .queue()
            .iter()
            .map(|q| q.position.expect("queued questions have a position"))
            .collect()
    }

    fn replayed(&self) -> SessionState {
        SessionState::replay(info(), flagger(), &self.journal)
    }
}

/// Everything observable about a state, for comparisons (replay, refused commands).
#[derive(Debug, PartialEq)]
struct Snapshot {
    info: SessionInfo,
    questions: Vec<Question>,
    votes: Vec<(Uuid, usize)>,
    device_votes: Vec<(DeviceId, Vec<Uuid>)>,
    banned: Vec<(DeviceId, bool)>,
    banned_nets: Vec<Net>,
    overlay_visible: bool,
    live: Option<Uuid>,
    queue: Vec<Uuid>,
}

fn snapshot(state: &SessionState, devices: &[DeviceId]) -> Snapshot {
    Snapshot {
        info: state.info.clone(),
        questions: state.questions().cloned().collect(),
        votes: state
            .questions()
            .map(|q| (q.id, state.votes(q.id)))
            .collect(),
        device_votes: devices
            .iter()
            .map(|d| (*d, state.device_votes(*d)))
            .collect(),
        banned: devices.iter().map(|d| (*d, state.is_banned(*d))).collect(),
        banned_nets: {
            let mut n: Vec<Net> = state.banned_nets.iter().copied().collect();
            n.sort();
            n
        },
        overlay_visible: state.overlay_visible(),
        live: state.live().map(|q| q.id),
        queue: state.queue().iter().map(|q| q.id).collect(),
    }
}

fn assert_strictly_increasing(positions: &[f64]) {
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "queue positions are not strictly increasing: {positions:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The status table: every row, tried from every status
// ---------------------------------------------------------------------------------------------

/// Tries one row of the contract's status table from each of the seven statuses.
///
/// `act` gets a fresh session holding a question in the status under test and returns who sends
/// what, and the command's own `question` (whose `rev` a conflict carries). Allowed: `then` checks
/// the outcome. Refused: `conflict` with the current `rev`, and nothing changed.
fn check_row(
    allowed: &[Status],
    act: impl Fn(&mut Hub, Uuid) -> (Who, Command, Uuid),
    then: impl Fn(&Hub, Uuid, &Question),
) {
    for from in ALL_STATUSES {
        let mut h = Hub::new();
        let id = h.question_in(from);
        let (who, cmd, subject) = act(&mut h, id);
        let before = h.q(subject).clone();
        if allowed.contains(&from) {
            let d = h.ok(who, &cmd);
            assert!(
                !d.events.is_empty(),
                "{cmd:?} from {from:?} changed nothing"
            );
            then(&h, id, &before);
        } else {
            let r = h.err(who, &cmd);
            assert_eq!(r.code, ErrorCode::Conflict, "{cmd:?} from {from:?}: {r:?}");
            assert_eq!(
                r.rev,
                Some(before.rev),
                "{cmd:?} from {from:?}: conflict carries the current rev"
            );
            assert!(!r.message.is_empty());
        }
    }
}

#[test]
fn table_approve_from_pending_and_rejected() {
    check_row(
        &[Status::Pending, Status::Rejected],
        |_, id| (moderator(), approve(id), id),
        |h, id, before| {
            let q = h.q(id);
            assert_eq!(q.status, Status::Approved);
            assert_eq!(q.rev, before.rev + 1);
            assert!(q.position.is_some());
            assert_eq!(h.queue().last(), Some(&id));
        },
    );
}

#[test]
fn table_reject_from_pending_approved_live() {
    check_row(
        &[Status::Pending, Status::Approved, Status::Live],
        |_, id| (moderator(), reject(id), id),
        |h, id, before| {
            let q = h.q(id);
            assert_eq!(q.status, Status::Rejected);
            assert_eq!(q.reason.as_deref(), Some("di luar topik"));
            assert_eq!(q.rev, before.rev + 1);
            assert!(h.state.live().is_none());
            assert!(!h.queue().contains(&id));
        },
    );
}

#[test]
fn table_edit_from_pending_approved_live_rejected() {
    check_row(
        &[
            Status::Pending,
            Status::Approved,
            Status::Live,
            Status::Rejected,
        ],
        |_, id| (moderator(), edit(id, "Kapan jalan diperbaiki, Pak?"), id),
        |h, id, before| {
            let q = h.q(id);
            assert_eq!(q.status, before.status, "edit keeps the status");
            assert_eq!(q.text, "Kapan jalan diperbaiki, Pak?");
            assert_eq!(q.original_text.as_deref(), Some(before.text.as_str()));
            assert_eq!(q.rev, before.rev + 1);
        },
    );
}

#[test]
fn table_live_from_approved() {
    check_row(
        &[Status::Approved],
        |_, id| (moderator(), live(id), id),
        |h, id, before| {
            assert_eq!(h.q(id).status, Status::Live);
            assert_eq!(h.q(id).rev, before.rev + 1);
            assert_eq!(h.state.live().map(|q| q.id), Some(id));
            assert!(!h.queue().contains(&id));
        },
    );
}

#[test]
fn table_answered_from_approved_and_live() {
    check_row(
        &[Status::Approved, Status::Live],
        |_, id| (moderator(), answered(id), id),
        |h, id, before| {
            assert_eq!(h.q(id).status, Status::Answered);
            assert_eq!(h.q(id).rev, before.rev + 1);
            assert_eq!(
                h.q(id).position,
                before.position,
                "answered keeps the last position"
            );
            assert!(h.state.live().is_none());
        },
    );
}

#[test]
fn table_requeue_from_live_and_answered() {
    check_row(
        &[Status::Live, Status::Answered],
        |_, id| (moderator(), requeue(id), id),
        |h, id, before| {
            let q = h.q(id);
            assert_eq!(q.status, Status::Approved);
            assert_eq!(q.rev, before.rev + 1);
            assert_eq!(
                q.position, before.position,
                "requeue restores the old position"
            );
            assert!(h.state.live().is_none());
            assert!(h.queue().contains(&id));
        },
    );
}

#[test]
fn table_move_from_approved() {
    check_row(
        &[Status::Approved],
        |h, id| {
            let other = h.approved("Berapa anggaran perbaikan?");
            (moderator(), move_after(id, Some(other)), id)
        },
        |h, id, before| {
            assert_eq!(h.q(id).status, Status::Approved);
            assert_eq!(h.q(id).rev, before.rev + 1);
            assert_eq!(h.queue().last(), Some(&id), "moved after the last question");
        },
    );
}

#[test]
fn table_assign_from_pending_approved_live() {
    check_row(
        &[Status::Pending, Status::Approved, Status::Live],
        |_, id| (moderator(), assign(id, Some("s2")), id),
        |h, id, before| {
            assert_eq!(h.q(id).to.as_deref(), Some("s2"));
            assert_eq!(h.q(id).status, before.status);
            assert_eq!(h.q(id).rev, before.rev + 1);
        },
    );
}

#[test]
fn table_merge_from_pending_and_approved() {
    check_row(
        &[Status::Pending, Status::Approved],
        |h, id| {
            let target = h.approved("Kapan jalan diperbaiki?");
            (moderator(), merge(id, target), id)
        },
        |h, id, before| {
            let q = h.q(id);
            assert_eq!(q.status, Status::Merged);
            assert_eq!(q.rev, before.rev + 1);
            let target = q.merged_into.expect("merged_into is set");
            assert_eq!(
                h.q(target).status,
                Status::Approved,
                "the target keeps its status"
            );
            assert!(!h.queue().contains(&id));
        },
    );
}

#[test]
fn table_merge_into_approved_live_answered() {
    check_row(
        &[Status::Approved, Status::Live, Status::Answered],
        |h, id| {
            let from = h.ask(OTHER, "Jalan rusak kapan diperbaiki?");
            (moderator(), merge(from, id), from)
        },
        |h, id, before| {
            let from = h.q(before.id);
            assert_eq!(from.status, Status::Merged);
            assert_eq!(from.merged_into, Some(id));
            assert_eq!(from.rev, before.rev + 1);
        },
    );
}

#[test]
fn table_withdraw_from_pending() {
    check_row(
        &[Status::Pending],
        |_, id| (audience(AUTHOR), withdraw(id), id),
        |h, id, before| {
            assert_eq!(h.q(id).status, Status::Withdrawn);
            assert_eq!(h.q(id).rev, before.rev + 1);
        },
    );
}

#[test]
fn table_vote_on_from_approved_live_answered() {
    // The author votes: it sees its own question in every status, so the status decides.
    check_row(
        &[Status::Approved, Status::Live, Status::Answered],
        |_, id| (audience(AUTHOR), vote(id, true), id),
        |h, id, before| {
            assert_eq!(h.state.votes(id), 1);
            assert!(h.state.has_vote(AUTHOR, id));
            assert_eq!(h.q(id).rev, before.rev, "votes do not change rev");
        },
    );
}

#[test]
fn table_vote_off_allowed_in_every_status() {
    for from in ALL_STATUSES {
        let mut h = Hub::new();
        let id = h.question_in(from);
        let d = h.ok(audience(AUTHOR), &vote(id, false));
        assert!(d.events.is_empty(), "no vote to clear from {from:?}");
        assert_eq!(d.quota, Some(Quota::Vote));
    }
}

#[test]
fn table_overlay_on_only_while_a_question_is_live() {
    for from in ALL_STATUSES {
        let mut h = Hub::new();
        h.question_in(from);
        if from == Status::Live {
            h.m(&overlay(true));
            assert!(h.state.overlay_visible());
        } else {
            let r = h.m_err(&overlay(true));
            assert_eq!(
                r.code,
                ErrorCode::Conflict,
                "overlay on with a {from:?} question"
            );
            assert!(!h.state.overlay_visible());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `rev`, existence, roles of devices
// ---------------------------------------------------------------------------------------------

#[test]
fn stale_rev_is_conflict_carrying_the_current_rev() {
    type Setup = fn(&mut Hub) -> (Who, Command);
    let cases: Vec<(&str, Setup)> = vec![
        ("approve", |h| {
            let id = h.question_in(Status::Rejected);
            (moderator(), approve(id))
        }),
        ("reject", |h| {
            let id = h.question_in(Status::Approved);
            (moderator(), reject(id))
        }),
        ("edit", |h| {
            let id = h.question_in(Status::Approved);
            (moderator(), edit(id, "Teks baru"))
        }),
        ("live", |h| {
            let id = h.question_in(Status::Approved);
            (moderator(), live(id))
        }),
        ("answered", |h| {
            let id = h.question_in(Status::Live);
            (moderator(), answered(id))
        }),
        ("requeue", |h| {
            let id = h.question_in(Status::Answered);
            (moderator(), requeue(id))
        }),
        ("move", |h| {
            let id = h.question_in(Status::Approved);
            let other = h.approved("Lain");
            (moderator(), move_after(id, Some(other)))
        }),
        ("assign", |h| {
            let id = h.question_in(Status::Approved);
            (moderator(), assign(id, Some("s1")))
        }),
        ("merge", |h| {
            let id = h.question_in(Status::Approved);
            let target = h.approved("Target");
            (moderator(), merge(id, target))
        }),
        ("withdraw", |h| {
            let id = h.question_in(Status::Pending);
            h.m(&edit(id, "Diedit sekali"));
            (audience(AUTHOR), withdraw(id))
        }),
        ("vote", |h| {
            let id = h.question_in(Status::Approved);
            (audience(OTHER), vote(id, true))
        }),
        ("ban", |h| {
            let id = h.question_in(Status::Approved);
            (moderator(), ban(id, true))
        }),
    ];
    for (name, setup) in cases {
        let mut h = Hub::new();
        let (who, cmd) = setup(&mut h);
        let id = named_question(&cmd).expect("names a question");
        let current = h.q(id).rev;
        assert!(
            current >= 2,
            "{name}: the question has changed at least once"
        );
        for stale in [current - 1, current + 1, 0] {
            let r = h.err(who, &with_rev(&cmd, stale));
            assert_eq!(r.code, ErrorCode::Conflict, "{name} with rev {stale}");
            assert_eq!(
                r.rev,
                Some(current),
                "{name}: conflict carries the current rev"
            );
        }
        let d = h.ok(who, &with_rev(&cmd, current));
        assert!(
            !d.events.is_empty(),
            "{name} with the current rev does its change"
        );
    }
}

#[test]
fn not_found_for_a_question_the_sender_may_not_see() {
    let mut h = Hub::new();
    let pending = h.question_in(Status::Pending);

    // Another device sees nothing of AUTHOR's pending question: not_found, not forbidden/conflict.
    for cmd in [vote(pending, true), vote(pending, false), withdraw(pending)] {
        let r = h.err(audience(OTHER), &cmd);
        assert_eq!(r.code, ErrorCode::NotFound, "{cmd:?}");
        assert_eq!(r.rev, None);
    }
    assert!(!h.state.visible_to(&audience(OTHER), h.q(pending)));
    assert!(!h.state.visible_to(&press(OTHER), h.q(pending)));
    assert!(!h.state.visible_to(&screen(), h.q(pending)));
    assert!(h.state.visible_to(&audience(AUTHOR), h.q(pending)));
    assert!(h.state.visible_to(&moderator(), h.q(pending)));

    // A question that does not exist at all.
    let nowhere = Uuid::new_v4();
    for cmd in [
        approve(nowhere),
        live(nowhere),
        ban(nowhere, true),
        move_after(nowhere, None),
    ] {
        assert_eq!(h.m_err(&cmd).code, ErrorCode::NotFound, "{cmd:?}");
    }
    assert_eq!(
        h.err(audience(AUTHOR), &vote(nowhere, true)).code,
        ErrorCode::NotFound
    );
    // `after` and `into` that name nothing.
    let a = h.approved("A");
    assert_eq!(
        h.m_err(&move_after(a, Some(nowhere))).code,
        ErrorCode::NotFound
    );
    assert_eq!(h.m_err(&merge(a, nowhere)).code, ErrorCode::NotFound);
}

#[test]
fn withdraw_by_another_device_is_forbidden() {
    let mut h = Hub::new();
    // Visible to the other device (approved), so existence passes and the author check refuses.
    let id = h.question_in(Status::Approved);
    let r = h.err(audience(OTHER), &withdraw(id));
    assert_eq!(r.code, ErrorCode::Forbidden);
    // Another device's pending question is not even visible to it: not_found.
    let pending = h.question_in(Status::Pending);
    assert_eq!(
        h.err(audience(OTHER), &withdraw(pending)).code,
        ErrorCode::NotFound
    );
    // Operator entries have no author: no device may withdraw them.
    let entry = h
        .m(&enter("e1", "Dari telepon"))
        .question
        .expect("question");
    h.m(&approve(entry));
    assert_eq!(
        h.err(audience(OTHER), &withdraw(entry)).code,
        ErrorCode::Forbidden
    );
    // The author may.
    h.ok(audience(AUTHOR), &withdraw(pending));
    assert_eq!(h.q(pending).status, Status::Withdrawn);
}

/// One command of each kind, naming question `q`.
fn one_of_each_kind(q: Uuid) -> Vec<Command> {
    vec![
        ask("k1", "Halo"),
        withdraw(q),
        vote(q, true),
        approve(q),
        reject(q),
        edit(q, "Halo lagi"),
        live(q),
        answered(q),
        requeue(q),
        move_after(q, None),
        assign(q, Some("s1")),
        merge(q, Uuid::from_u128(0xE0)),
        enter("k2", "Dari radio"),
        overlay(true),
        set_status(SessionStatus::Paused),
        ban(q, true),
        ban(q, false),
        Command::RotateKey {
            role: super::role::KeyRole::Screen,
            programme: false,
        },
        Command::Poll(super::poll::PollAction::Open(q)),
        Command::Choose { poll: q, option: 0 },
        Command::AirText {
            question: q,
            rev: None,
            text: Some("Singkat".into()),
        },
        Command::Unmask {
            question: q,
            rev: None,
            on: true,
        },
        Command::Graphic {
            graphic: Some(super::stage::Graphic::Join),
        },
        Command::Timer {
            action: super::stage::TimerAction::Start,
            seconds: None,
        },
        Command::Message {
            text: Some("1 menit lagi".into()),
        },
        Command::Case {
            question: q,
            action: super::followup::CaseAction::Publish { public: true },
            by: super::followup::By::moderator(None),
        },
        Command::Credit {
            question: q,
            rev: None,
            on: true,
        },
    ]
}

/// `rotate_key` is the moderator's; the domain journals nothing for it (keys are the hub's).
#[test]
fn rotate_key_is_allowed_to_moderators_and_changes_no_state() {
    let mut h = Hub::new();
    h.question_in(Status::Approved);
    for role in super::role::KeyRole::ALL {
        let d = h.m(&Command::RotateKey {
            role,
            programme: false,
        });
        assert!(d.events.is_empty());
        assert_eq!(d.question, None);
        assert_eq!(d.quota, None);
    }
    for who in [
        audience(AUTHOR),
        press(OTHER),
        screen(),
        Who::OVERLAY,
        Who::DESK,
    ] {
        let e = h.err(
            who,
            &Command::RotateKey {
                role: super::role::KeyRole::Screen,
                programme: false,
            },
        );
        assert_eq!(e.code, ErrorCode::Forbidden);
    }
}

/// The role table: every role other than the ones a command names is refused that command as
/// `forbidden`, before any other check and whatever the state, and nothing is journaled; and
/// every role it names gets past the role check.
#[test]
fn the_role_table_is_checked_by_decide_for_every_command_and_role() {
    let mut h = Hub::new();
    let q = h.question_in(Status::Pending);
    let cmds = one_of_each_kind(q);
    let kinds: Vec<CommandKind> = cmds.iter().map(Command::kind).collect();
    assert_eq!(kinds, CommandKind::ALL, "one command of every kind");
    let senders = [
        audience(OTHER),
        press(OTHER),
        moderator(),
        screen(),
        Who::OVERLAY,
        Who::DESK,
    ];
    for cmd in &cmds {
        let kind = cmd.kind();
        for who in senders {
            let allowed = kind.allows(who.role());
            let r = h.state.decide(
                &who,
                cmd,
                Ctx {
                    now: T0,
                    new_id: Uuid::new_v4(),
                    from: who.device().map(net_of),
                },
            );
            if allowed {
                if let Err(e) = &r {
                    assert!(
                        !e.message.contains("role may not send"),
                        "{kind:?} from {:?} passed the role check: {e:?}",
                        who.role()
                    );
                }
            } else {
                let e = r.expect_err("a refused role");
                assert_eq!(
                    e.code,
                    ErrorCode::Forbidden,
                    "{kind:?} from {:?}",
                    who.role()
                );
                assert_eq!(
                    e.message,
                    format!(
                        "the {} role may not send `{}`",
                        who.role().as_str(),
                        kind.as_str()
                    )
                );
            }
        }
    }
    // Row by row, as the contract's table says.
    let moderator_only = CommandKind::ALL.into_iter().filter(|k| {
        !matches!(
            k,
            CommandKind::Ask
                | CommandKind::Withdraw
                | CommandKind::Vote
                | CommandKind::Choose
                | CommandKind::Enter
        )
    });
    // The radio desk: `enter`, and nothing else.
    assert_eq!(CommandKind::Enter.roles(), [Role::Moderator, Role::Desk]);
    for k in CommandKind::ALL {
        assert_eq!(k.allows(Role::Desk), k == CommandKind::Enter, "{k:?}");
    }
    for k in moderator_only {
        assert_eq!(k.roles(), [Role::Moderator], "{k:?}");
    }
    for k in [
        CommandKind::Ask,
        CommandKind::Withdraw,
        CommandKind::Vote,
        CommandKind::Choose,
    ] {
        assert_eq!(k.roles(), [Role::Audience, Role::Press], "{k:?}");
    }
}

/// The outlet rule: only a press phone's question keeps an outlet and is `press`.
#[test]
fn only_press_keeps_an_outlet() {
    let mut h = Hub::new();
    let with_outlet = |r: &str| Command::Ask {
        client_ref: r.into(),
        text: "Kapan jalan diperbaiki?".into(),
        name: None,
        outlet: Some("Sumatera Ekspres".into()),
        to: None,
        followup: Default::default(),
    };
    let d = h.ok(audience(AUTHOR), &with_outlet("o1"));
    let a = h.q(d.question.expect("a question")).clone();
    assert_eq!((a.source, a.outlet), (Source::Audience, None));
    let d = h.ok(press(OTHER), &with_outlet("o2"));
    let p = h.q(d.question.expect("a question")).clone();
    assert_eq!(
        (p.source, p.outlet.as_deref()),
        (Source::Press, Some("Sumatera Ekspres"))
    );
}

#[test]
fn only_devices_ask_and_vote() {
    let mut h = Hub::new();
    let id = h.approved("A");
    assert_eq!(
        h.err(moderator(), &ask("x", "Halo")).code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        h.err(moderator(), &vote(id, true)).code,
        ErrorCode::Forbidden
    );
}

// ---------------------------------------------------------------------------------------------
// Session status: paused, closed
// ---------------------------------------------------------------------------------------------

#[test]
fn ask_in_paused_session_is_closed_but_enter_votes_and_moderation_go_on() {
    let mut h = Hub::new();
    let a = h.approved("A");
    let p = h.question_in(Status::Pending);
    let mine = h.ask(AUTHOR, "Saya tarik nanti");
    h.m(&set_status(SessionStatus::Paused));
    assert_eq!(h.applied, vec![Applied::Session]);

    let r = h.err(audience(OTHER), &ask("new", "Pertanyaan baru"));
    assert_eq!(r.code, ErrorCode::Closed);
    assert_eq!(
        h.err(press(OTHER), &ask("new", "Pertanyaan baru")).code,
        ErrorCode::Closed
    );

    // `enter` works while paused.
    let d = h.m(&enter("e1", "Dari SMS"));
    let e = d.question.expect("enter returns its question");
    assert_eq!(h.q(e).status, Status::Pending);
    assert_eq!(h.q(e).source, Source::Operator);

    // Votes, moderation and withdrawals go on.
    h.ok(audience(OTHER), &vote(a, true));
    assert_eq!(h.state.votes(a), 1);
    h.m(&approve(p));
    h.m(&live(a));
    h.m(&overlay(true));
    h.ok(audience(AUTHOR), &withdraw(mine));
    assert_eq!(h.q(mine).status, Status::Withdrawn);

    // Reopened, it takes questions again.
    h.m(&set_status(SessionStatus::Open));
    h.ok(audience(OTHER), &ask("new", "Pertanyaan baru"));
}

#[test]
fn closed_session_refuses_every_change_but_session() {
    let mut h = Hub::new();
    let pending = h.question_in(Status::Pending);
    let approved = h.approved("A");
    let other = h.approved("B");
    let live_q = h.approved("C");
    h.m(&live(live_q));
    h.m(&set_status(SessionStatus::Closed));

    let device_cmds = [
        ask("new", "Pertanyaan baru"),
        withdraw(pending),
        vote(approved, true),
        vote(approved, false),
    ];
    for cmd in &device_cmds {
        let r = h.err(audience(AUTHOR), cmd);
        assert_eq!(r.code, ErrorCode::Closed, "{cmd:?}");
    }
    let moderator_cmds = [
        approve(pending),
        reject(approved),
        edit(approved, "Baru"),
        live(approved),
        answered(approved),
        requeue(live_q),
        move_after(approved, Some(other)),
        assign(approved, Some("s1")),
        merge(pending, approved),
        enter("e-new", "Dari radio"),
        overlay(true),
        overlay(false),
        ban(pending, true),
        ban(pending, false),
    ];
    for cmd in &moderator_cmds {
        let r = h.m_err(cmd);
        assert_eq!(r.code, ErrorCode::Closed, "{cmd:?}");
    }

    // `session` still works: title, then reopening.
    h.m(&Command::Session {
        status: None,
        title: Some("Ditutup".into()),
        speakers: None,
        starts_at: None,
        rehearsal: None,
    });
    assert_eq!(h.state.info.title, "Ditutup");
    h.m(&set_status(SessionStatus::Open));
    h.m(&approve(pending));
    h.ok(audience(OTHER), &ask("new", "Pertanyaan baru"));
}

#[test]
fn session_command_changes_info_and_a_no_op_journals_nothing() {
    let mut h = Hub::new();
    let d = h.m(&set_status(SessionStatus::Open));
    assert!(d.events.is_empty(), "already open");
    let speakers = vec![Speaker {
        id: "s9".into(),
        name: "Hj Sri".into(),
        role: "Walikota".into(),
    }];
    let d = h.m(&Command::Session {
        status: Some(SessionStatus::Paused),
        title: Some("Baru".into()),
        speakers: Some(speakers.clone()),
        starts_at: None,
        rehearsal: None,
    });
    assert_eq!(d.events.len(), 1);
    assert_eq!(h.applied, vec![Applied::Session]);
    assert_eq!(h.state.info.status, SessionStatus::Paused);
    assert_eq!(h.state.info.title, "Baru");
    assert_eq!(h.state.info.speakers, speakers);
    // `to` follows the new speaker list.
    let id = h.m(&enter("e", "x")).question.expect("question");
    assert_eq!(h.m_err(&assign(id, Some("s1"))).code, ErrorCode::Invalid);
    h.m(&assign(id, Some("s9")));
}

// ---------------------------------------------------------------------------------------------
// Bans
// ---------------------------------------------------------------------------------------------

#[test]
fn banned_device_gets_banned_and_status_is_checked_first() {
    let mut h = Hub::new();
    let id = h.question_in(Status::Approved);
    h.m(&ban(id, true));

    let r = h.err(audience(AUTHOR), &ask("new", "Lagi"));
    assert_eq!(r.code, ErrorCode::Banned);
    assert_eq!(
        h.err(press(AUTHOR), &ask("new2", "Lagi")).code,
        ErrorCode::Banned
    );
    // A ban does not stop other devices, nor the banned device's votes.
    h.ok(audience(OTHER), &ask("new", "Boleh"));
    h.ok(audience(AUTHOR), &vote(id, true));

    // The session status comes before the ban.
    h.m(&set_status(SessionStatus::Paused));
    assert_eq!(
        h.err(audience(AUTHOR), &ask("new3", "Lagi")).code,
        ErrorCode::Closed
    );
    h.m(&set_status(SessionStatus::Closed));
    assert_eq!(
        h.err(audience(AUTHOR), &ask("new3", "Lagi")).code,
        ErrorCode::Closed
    );
    h.m(&set_status(SessionStatus::Open));

    h.m(&ban(id, false));
    h.ok(audience(AUTHOR), &ask("new3", "Lagi"));
}

#[test]
fn ban_and_unban_apply_as_ban_without_changing_rev() {
    let mut h = Hub::new();
    let id = h.question_in(Status::Pending);
    let second = h.ask(AUTHOR, "Kedua");
    let rev = h.q(id).rev;

    let d = h.m(&ban(id, true));
    assert_eq!(
        d.events,
        vec![Event::Ban {
            device: AUTHOR,
            banned: true
        }]
    );
    assert_eq!(h.applied, vec![Applied::Ban(AUTHOR)]);
    assert!(h.state.is_banned(AUTHOR));
    assert!(!h.state.is_banned(OTHER));
    assert_eq!(h.q(id).rev, rev, "a ban does not change rev");
    assert_eq!(
        h.state
            .questions_of(AUTHOR)
            .map(|q| q.id)
            .collect::<Vec<_>>(),
        vec![id, second]
    );

    // Banning again changes nothing.
    assert!(h.m(&ban(second, true)).events.is_empty());

    let d = h.m(&ban(second, false));
    assert_eq!(
        d.events,
        vec![Event::Ban {
            device: AUTHOR,
            banned: false
        }]
    );
    assert_eq!(h.applied, vec![Applied::Ban(AUTHOR)]);
    assert!(!h.state.is_banned(AUTHOR));
    assert!(h.m(&ban(id, false)).events.is_empty());

    // The ban survives a replay (a restart).
    h.m(&ban(id, true));
    assert!(h.replayed().is_banned(AUTHOR));
}

#[test]
fn operator_entries_cannot_be_banned() {
    let mut h = Hub::new();
    let id = h.m(&enter("e", "Dari telepon")).question.expect("question");
    assert_eq!(h.q(id).author, None);
    assert_eq!(h.m_err(&ban(id, true)).code, ErrorCode::Invalid);
}

#[test]
fn an_address_ban_stops_every_device_of_that_network_from_asking_and_nothing_else() {
    let mut h = Hub::new();
    // OTHER writes from the author's network (one carrier address); THIRD from its own.
    h.nets.insert(OTHER, net_of(AUTHOR));
    let id = h.question_in(Status::Pending);
    let from_other = h.ask(OTHER, "Dari alamat yang sama");
    let from_third = h.ask(THIRD, "Dari alamat lain");
    assert_eq!(h.q(id).net, Some(net_of(AUTHOR)), "the network is kept");
    let rev = h.q(id).rev;

    let d = h.m(&ban_address(id, true));
    assert_eq!(
        d.events,
        vec![Event::BanNet {
            net: net_of(AUTHOR),
            banned: true
        }]
    );
    assert_eq!(h.applied, vec![Applied::BanNet(net_of(AUTHOR))]);
    assert_eq!(h.q(id).rev, rev, "an address ban does not change rev");
    assert!(
        !h.state.is_banned(AUTHOR),
        "the device itself is not banned"
    );
    assert_eq!(
        h.state
            .questions_from(net_of(AUTHOR))
            .map(|q| q.id)
            .collect::<Vec<_>>(),
        vec![id, from_other]
    );
    for device in [AUTHOR, OTHER] {
        let r = h.err(audience(device), &ask("after-ban", "Lagi"));
        assert_eq!(r.code, ErrorCode::Banned);
        assert!(r.message.contains("network"), "{}", r.message);
    }
    h.ask(THIRD, "Masih boleh");
    // A vote is not an ask: the network may still vote.
    h.m(&approve(from_third));
    h.ok(audience(OTHER), &vote(from_third, true));
    // Moderators see it on every question from that network, and only there.
    let seen = |h: &Hub, q: Uuid| {
        let v = view::question(
            &h.state,
            h.q(q),
            view::QuestionViewKind::Moderator,
            &view::AuthorIds::new([7; 32]),
        );
        serde_json::to_value(&v).unwrap()["address_banned"].clone()
    };
    assert_eq!(seen(&h, id), serde_json::json!(true));
    assert_eq!(seen(&h, from_other), serde_json::json!(true));
    assert_eq!(seen(&h, from_third), serde_json::json!(false));
    // Banning again changes nothing; the ban survives a replay.
    assert!(h.m(&ban_address(from_other, true)).events.is_empty());
    assert!(h.replayed().banned_nets.contains(&net_of(AUTHOR)));

    let d = h.m(&ban_address(from_other, false));
    assert_eq!(
        d.events,
        vec![Event::BanNet {
            net: net_of(AUTHOR),
            banned: false
        }]
    );
    h.ok(audience(OTHER), &ask("after-unban", "Boleh lagi"));
    assert!(h.replayed().banned_nets.is_empty());
}

#[test]
fn an_address_ban_needs_a_known_network() {
    let mut h = Hub::new();
    let entry = h.m(&enter("e", "Dari telepon")).question.expect("question");
    assert_eq!(h.q(entry).net, None, "an operator entry has no network");
    assert_eq!(h.m_err(&ban_address(entry, true)).code, ErrorCode::Invalid);
    // A question asked where the network was not known (a journal from before it was kept).
    let d = h
        .state
        .decide(
            &audience(AUTHOR),
            &ask("no-net", "Tanpa alamat"),
            Ctx {
                now: T0,
                new_id: Uuid::new_v4(),
                from: None,
            },
        )
        .expect("ask");
    for e in &d.events {
        h.state.apply(e);
        h.journal.push(e.clone());
    }
    let id = d.question.expect("question");
    assert_eq!(h.q(id).net, None);
    let r = h.m_err(&ban_address(id, true));
    assert_eq!(r.code, ErrorCode::Invalid);
    assert!(r.message.contains("network"), "{}", r.message);
    // The device ban still works on it.
    h.m(&ban(id, true));
}

#[test]
fn a_retried_ask_from_a_banned_network_still_gets_its_question() {
    let mut h = Hub::new();
    let d = h.ok(audience(AUTHOR), &ask("once", "Kapan?"));
    let id = d.question.expect("question");
    h.m(&ban_address(id, true));
    let retry = h.ok(audience(AUTHOR), &ask("once", "Kapan?"));
    assert_eq!(retry.question, Some(id));
    assert!(retry.events.is_empty());
}

// ---------------------------------------------------------------------------------------------
// ask and enter: creation, idempotency, fields
// ---------------------------------------------------------------------------------------------

#[test]
fn ask_creates_a_pending_question() {
    let mut h = Hub::new();
    let cmd = Command::Ask {
        client_ref: "r1".into(),
        text: "Kapan?".into(),
        name: Some("Budi".into()),
        outlet: Some("Sumeks".into()),
        to: Some("s1".into()),
        followup: Default::default(),
    };
    let d = h.ok(audience(AUTHOR), &cmd);
    assert_eq!(d.quota, Some(Quota::Ask));
    let id = d.question.expect("question");
    let q = h.q(id).clone();
    assert_eq!(q.rev, 1);
    assert_eq!(q.status, Status::Pending);
    assert_eq!(q.source, Source::Audience);
    assert_eq!(q.outlet, None, "an audience outlet is ignored");
    assert_eq!(q.channel, None);
    assert_eq!(q.name.as_deref(), Some("Budi"));
    assert_eq!(q.to.as_deref(), Some("s1"));
    assert_eq!(q.author, Some(AUTHOR));
    assert_eq!(q.position, None);
    assert_eq!(q.merged_into, None);
    assert_eq!(q.created_at, q.updated_at);
    assert_eq!(h.applied, vec![Applied::Question { id, before: None }]);

    let d = h.ok(press(OTHER), &cmd);
    let p = h.q(d.question.expect("question"));
    assert_eq!(p.source, Source::Press);
    assert_eq!(p.outlet.as_deref(), Some("Sumeks"));
}

#[test]
fn ask_is_idempotent_per_device_and_ref() {
    let mut h = Hub::new();
    let id = h
        .ok(audience(AUTHOR), &ask("r1", "Kapan?"))
        .question
        .expect("question");
    let journaled = h.journal.len();

    // Same device and ref: the same question, nothing new, no quota.
    let d = h.ok(audience(AUTHOR), &ask("r1", "Kapan?"));
    assert_eq!(d.question, Some(id));
    assert!(d.events.is_empty());
    assert_eq!(d.quota, None);
    assert_eq!(h.journal.len(), journaled);

    // Refs are compared exactly.
    let spaced = h.ok(audience(AUTHOR), &ask(" r1", "Kapan?")).question;
    assert_ne!(spaced, Some(id));
    // Another device with the same ref asks its own question.
    let other = h.ok(audience(OTHER), &ask("r1", "Kapan?")).question;
    assert_ne!(other, Some(id));

    // Same ref, other text: conflict with the question's rev.
    let r = h.err(audience(AUTHOR), &ask("r1", "Kapan, Pak?"));
    assert_eq!(r.code, ErrorCode::Conflict);
    assert_eq!(r.rev, Some(1));

    // Still `ok` while paused, banned, and closed.
    h.m(&set_status(SessionStatus::Paused));
    assert_eq!(
        h.ok(audience(AUTHOR), &ask("r1", "Kapan?")).question,
        Some(id)
    );
    h.m(&set_status(SessionStatus::Open));
    h.m(&ban(id, true));
    assert_eq!(
        h.ok(audience(AUTHOR), &ask("r1", "Kapan?")).question,
        Some(id)
    );
    h.m(&set_status(SessionStatus::Closed));
    let d = h.ok(audience(AUTHOR), &ask("r1", "Kapan?"));
    assert_eq!(d.question, Some(id));
    assert!(d.events.is_empty());

    // After a restart.
    let replayed = h.replayed();
    let ctx = Ctx {
        now: T0,
        new_id: Uuid::new_v4(),
        from: Some(net_of(AUTHOR)),
    };
    let d = replayed
        .decide(&audience(AUTHOR), &ask("r1", "Kapan?"), ctx)
        .expect("retry is ok");
    assert_eq!(d.question, Some(id));
    assert!(d.events.is_empty());
}

#[test]
fn ask_retry_compares_with_the_asked_text_after_an_edit() {
    let mut h = Hub::new();
    let id = h
        .ok(audience(AUTHOR), &ask("r1", "Kapan?"))
        .question
        .expect("question");
    h.m(&edit(id, "Kapan jalan diperbaiki?"));
    assert_eq!(
        h.ok(audience(AUTHOR), &ask("r1", "Kapan?")).question,
        Some(id)
    );
    let r = h.err(audience(AUTHOR), &ask("r1", "Kapan jalan diperbaiki?"));
    assert_eq!(r.code, ErrorCode::Conflict);
    assert_eq!(r.rev, Some(2));
}

#[test]
fn enter_is_idempotent_per_ref() {
    let mut h = Hub::new();
    let cmd = Command::Enter {
        client_ref: "e1".into(),
        text: "Dari WhatsApp".into(),
        name: Some("Pak RT".into()),
        channel: Channel::Whatsapp,
        to: Some("s2".into()),
        followup: Default::default(),
        station: None,
    };
    let d = h.m(&cmd);
    assert_eq!(d.quota, None);
    let id = d.question.expect("question");
    let q = h.q(id).clone();
    assert_eq!(q.source, Source::Operator);
    assert_eq!(q.channel, Some(Channel::Whatsapp));
    assert_eq!(q.author, None);
    assert_eq!(q.status, Status::Pending);
    assert_eq!(q.to.as_deref(), Some("s2"));

    let d = h.m(&cmd);
    assert_eq!(d.question, Some(id));
    assert!(d.events.is_empty());

    let r = h.m_err(&enter("e1", "Teks lain"));
    assert_eq!(r.code, ErrorCode::Conflict);
    assert_eq!(r.rev, Some(q.rev));

    // Another ref is another question; an `ask` ref is a different namespace.
    let e2 = h.m(&enter("e2", "Dari WhatsApp")).question;
    assert_ne!(e2, Some(id));
    let asked = h.ok(audience(AUTHOR), &ask("e1", "Dari WhatsApp")).question;
    assert_ne!(asked, Some(id));

    h.m(&set_status(SessionStatus::Closed));
    assert_eq!(
        h.m(&cmd).question,
        Some(id),
        "a retry is ok even when closed"
    );
    assert_eq!(h.m_err(&enter("e3", "Baru")).code, ErrorCode::Closed);
}

#[test]
fn to_naming_no_speaker_is_invalid() {
    let mut h = Hub::new();
    let bad_ask = Command::Ask {
        client_ref: "r".into(),
        text: "Kapan?".into(),
        name: None,
        outlet: None,
        to: Some("s7".into()),
        followup: Default::default(),
    };
    assert_eq!(h.err(audience(AUTHOR), &bad_ask).code, ErrorCode::Invalid);
    let bad_enter = Command::Enter {
        client_ref: "e".into(),
        text: "Kapan?".into(),
        name: None,
        channel: Channel::Radio,
        to: Some("Drs Ratu Dewa MSi".into()),
        followup: Default::default(),
        station: None,
    };
    assert_eq!(
        h.m_err(&bad_enter).code,
        ErrorCode::Invalid,
        "`to` is an id, not a name"
    );
    let id = h.question_in(Status::Approved);
    assert_eq!(h.m_err(&assign(id, Some("S1"))).code, ErrorCode::Invalid);
    // `to` is a field: checked before the session status.
    h.m(&set_status(SessionStatus::Closed));
    assert_eq!(
        h.m_err(&assign(id, Some("nobody"))).code,
        ErrorCode::Invalid
    );
    h.m(&set_status(SessionStatus::Open));

    h.m(&assign(id, Some("s1")));
    assert_eq!(h.q(id).to.as_deref(), Some("s1"));
    assert!(
        h.m(&assign(id, Some("s1"))).events.is_empty(),
        "same speaker: no change"
    );
    h.m(&assign(id, None));
    assert_eq!(h.q(id).to, None);
}

// ---------------------------------------------------------------------------------------------
// Merge
// ---------------------------------------------------------------------------------------------

#[test]
fn merge_into_itself_is_invalid() {
    let mut h = Hub::new();
    let id = h.question_in(Status::Approved);
    let r = h.m_err(&merge(id, id));
    assert_eq!(r.code, ErrorCode::Invalid);
}

#[test]
fn merge_pools_votes_one_per_device() {
    let mut h = Hub::new();
    let from = h.approved("Jalan rusak?");
    let into = h.approved("Kapan jalan diperbaiki?");
    h.ok(audience(AUTHOR), &vote(from, true));
    h.ok(audience(AUTHOR), &vote(into, true)); // votes both
    h.ok(audience(OTHER), &vote(from, true)); // only `from`
    h.ok(audience(THIRD), &vote(into, true)); // only `into`
    let into_rev = h.q(into).rev;

    let d = h.m(&merge(from, into));
    assert!(d.events.contains(&Event::MergeVotes { from, into }));
    assert!(h.applied.contains(&Applied::Votes(vec![into])));

    assert_eq!(h.state.votes(into), 3, "AUTHOR counts once");
    for dev in [AUTHOR, OTHER, THIRD] {
        assert!(h.state.has_vote(dev, into), "{dev}");
        assert!(h.state.device_votes(dev).contains(&into));
    }
    assert_eq!(
        h.q(into).rev,
        into_rev,
        "votes do not change the target's rev"
    );
    assert_eq!(h.q(from).status, Status::Merged);
    assert_eq!(h.q(from).merged_into, Some(into));

    // A pooled vote is an ordinary vote: it can be cleared, once.
    h.ok(audience(OTHER), &vote(into, false));
    assert_eq!(h.state.votes(into), 2);
    assert!(!h.state.device_votes(OTHER).contains(&into));
}

#[test]
fn merge_without_new_voters_changes_no_counts() {
    let mut h = Hub::new();
    let from = h.approved("Jalan rusak?");
    let into = h.approved("Kapan jalan diperbaiki?");
    h.ok(audience(AUTHOR), &vote(from, true));
    h.ok(audience(AUTHOR), &vote(into, true));
    h.m(&merge(from, into));
    assert_eq!(h.state.votes(into), 1);
    assert!(!h.applied.iter().any(|a| matches!(a, Applied::Votes(_))));
}

#[test]
fn merge_into_a_target_in_a_wrong_status_is_conflict_with_the_sources_rev() {
    let mut h = Hub::new();
    let from = h.question_in(Status::Approved);
    let target = h.ask(OTHER, "Pending");
    h.m(&edit(from, "Sumber diedit")); // the source at rev 3, the target at rev 1
    let r = h.m_err(&merge(from, target));
    assert_eq!(r.code, ErrorCode::Conflict);
    assert_eq!(r.rev, Some(h.q(from).rev));
    assert_eq!(r.rev, Some(3));
}

// ---------------------------------------------------------------------------------------------
// Live and the overlay
// ---------------------------------------------------------------------------------------------

#[test]
fn live_replaces_live_and_takes_the_overlay_off() {
    let mut h = Hub::new();
    let a = h.approved("A");
    let b = h.approved("B");
    h.m(&live(a));
    h.m(&overlay(true));
    assert!(h.state.overlay_visible());
    assert_eq!(view::overlay(&h.state).question.map(|q| q.id), Some(a));

    let d = h.m(&live(b));
    assert!(d.events.contains(&Event::Overlay { visible: false }));
    assert_eq!(h.q(a).status, Status::Answered);
    assert_eq!(h.q(b).status, Status::Live);
    assert_eq!(h.state.live().map(|q| q.id), Some(b));
    assert!(
        !h.state.overlay_visible(),
        "nothing reaches the air without an explicit take"
    );
    let o = view::overlay(&h.state);
    assert!(!o.visible);
    assert_eq!(
        o.question.map(|q| q.id),
        Some(b),
        "the overlay's question is the live one"
    );

    // Without the overlay on, `live` journals no overlay event.
    let c = h.approved("C");
    let d = h.m(&live(c));
    assert!(!d.events.iter().any(|e| matches!(e, Event::Overlay { .. })));
    assert_eq!(h.q(b).status, Status::Answered);
}

#[test]
fn overlay_on_without_live_is_conflict_and_repeats_change_nothing() {
    let mut h = Hub::new();
    let r = h.m_err(&overlay(true));
    assert_eq!(r.code, ErrorCode::Conflict);
    assert_eq!(r.rev, None, "no question to carry a rev of");
    assert!(h.m(&overlay(false)).events.is_empty());

    let a = h.approved("A");
    h.m(&live(a));
    assert_eq!(
        h.m(&overlay(true)).events,
        vec![Event::Overlay { visible: true }]
    );
    assert_eq!(h.applied, vec![Applied::Overlay]);
    assert!(h.m(&overlay(true)).events.is_empty());
    h.m(&overlay(false));
    assert!(!h.state.overlay_visible());
    assert_eq!(view::overlay(&h.state).question.map(|q| q.id), Some(a));
}

#[test]
fn leaving_live_takes_the_overlay_off() {
    type Leave = fn(Uuid) -> Command;
    let leaves: [(&str, Leave); 3] = [
        ("reject", reject),
        ("answered", answered),
        ("requeue", requeue),
    ];
    for (name, leave) in leaves {
        let mut h = Hub::new();
        let a = h.approved("A");
        h.m(&live(a));
        h.m(&overlay(true));
        let d = h.m(&leave(a));
        assert!(
            d.events.contains(&Event::Overlay { visible: false }),
            "{name}"
        );
        assert!(!h.state.overlay_visible(), "{name}");
        assert!(h.state.live().is_none(), "{name}");
        assert!(view::overlay(&h.state).question.is_none(), "{name}");
        assert!(
            !h.replayed().overlay_visible(),
            "{name}: also after a restart"
        );
    }
}

#[test]
fn edit_of_the_live_question_stays_on_air_with_the_new_text() {
    let mut h = Hub::new();
    let a = h.approved("A");
    h.m(&live(a));
    h.m(&overlay(true));
    h.m(&edit(a, "A, diperjelas"));
    assert!(h.state.overlay_visible());
    let o = view::overlay(&h.state);
    assert_eq!(o.question.map(|q| q.text), Some("A, diperjelas"));
}

#[test]
fn overlay_state_survives_a_restart() {
    let mut h = Hub::new();
    let a = h.approved("A");
    h.m(&live(a));
    h.m(&overlay(true));
    let r = h.replayed();
    assert!(r.overlay_visible());
    assert_eq!(r.live().map(|q| q.id), Some(a));
}

// ---------------------------------------------------------------------------------------------
// The queue: approve, requeue, move
// ---------------------------------------------------------------------------------------------

#[test]
fn approve_goes_to_the_end_of_the_queue() {
    let mut h = Hub::new();
    let a = h.approved("A");
    let b = h.approved("B");
    let c = h.approved("C");
    assert_eq!(h.queue(), vec![a, b, c]);
    assert_strictly_increasing(&h.positions());

    // Even after moves to the top and to the end.
    h.m(&move_after(c, None));
    h.m(&move_after(a, Some(b)));
    assert_eq!(h.queue(), vec![c, b, a]);
    let d = h.approved("D");
    assert_eq!(h.queue(), vec![c, b, a, d]);

    // A rejected question approved again goes to the end too.
    h.m(&reject(b));
    h.m(&approve(b));
    assert_eq!(h.queue(), vec![c, a, d, b]);
    // And after the last question left the queue (its position is still the highest).
    h.m(&live(b));
    let e = h.approved("E");
    assert_eq!(h.queue(), vec![c, a, d, e]);
    assert!(h.q(e).position > h.q(b).position);
    assert_strictly_increasing(&h.positions());
}

#[test]
fn requeue_restores_the_old_position() {
    let mut h = Hub::new();
    let a = h.approved("A");
    let b = h.approved("B");
    let c = h.approved("C");
    let pos = h.q(b).position;

    h.m(&live(b));
    assert_eq!(h.queue(), vec![a, c]);
    h.m(&requeue(b));
    assert_eq!(h.q(b).position, pos);
    assert_eq!(h.queue(), vec![a, b, c]);

    h.m(&answered(b));
    h.approved("D");
    h.m(&requeue(b));
    assert_eq!(h.q(b).position, pos);
    assert_eq!(h.queue()[..3], [a, b, c]);
}

#[test]
fn move_to_top_after_and_between() {
    let mut h = Hub::new();
    let a = h.approved("A");
    let b = h.approved("B");
    let c = h.approved("C");
    let d = h.approved("D");

    // To the top.
    let res = h.m(&move_after(c, None));
    assert_eq!(res.events.len(), 1);
    assert_eq!(h.queue(), vec![c, a, b, d]);
    // Between two neighbours.
    h.m(&move_after(d, Some(c)));
    assert_eq!(h.queue(), vec![c, d, a, b]);
    let (pc, pd, pa) = (h.q(c).position, h.q(d).position, h.q(a).position);
    assert!(pc < pd && pd < pa);
    // To the end.
    h.m(&move_after(c, Some(b)));
    assert_eq!(h.queue(), vec![d, a, b, c]);
    assert_strictly_increasing(&h.positions());

    // Moving to where it already is keeps the order.
    h.m(&move_after(a, Some(d)));
    h.m(&move_after(d, None));
    assert_eq!(h.queue(), vec![d, a, b, c]);
    assert_strictly_increasing(&h.positions());

    // After itself: invalid. After a question outside the queue: conflict.
    assert_eq!(h.m_err(&move_after(a, Some(a))).code, ErrorCode::Invalid);
    let p = h.ask(OTHER, "Pending");
    let r = h.m_err(&move_after(a, Some(p)));
    assert_eq!(r.code, ErrorCode::Conflict);
    assert_eq!(r.rev, Some(h.q(a).rev));
}

#[test]
fn move_repeatedly_between_the_same_neighbours_renumbers() {
    let mut h = Hub::new();
    let first = h.approved("first");
    let mut expected = vec![first];
    for i in 0..6 {
        expected.push(h.approved(&format!("q{i}")));
    }
    assert_eq!(h.queue(), expected);

    let mut renumbered = false;
    for round in 0..80 {
        // The last question goes between `first` and the one right after it: the gap halves.
        let mover = *expected.last().expect("queue");
        let revs_before: Vec<(Uuid, u64)> = expected.iter().map(|id| (*id, h.q(*id).rev)).collect();
        let d = h.m(&move_after(mover, Some(first)));
        expected.pop();
        expected.insert(1, mover);

        assert_eq!(h.queue(), expected, "round {round}");
        assert_strictly_increasing(&h.positions());
        // One event per question whose position changed, each a +1 rev.
        for e in &d.events {
            let Event::Put { question, .. } = e else {
                panic!("move journals only puts: {e:?}")
            };
            let old = revs_before
                .iter()
                .find(|(id, _)| *id == question.id)
                .expect("queued");
            assert_eq!(question.rev, old.1 + 1);
        }
        if d.events.len() > 1 {
            renumbered = true;
        }
    }
    assert!(
        renumbered,
        "80 halvings of a gap must run out of numbers and renumber"
    );
    assert_eq!(snapshot(&h.replayed(), &[]), snapshot(&h.state, &[]));

    // New approvals still go to the end.
    let last = h.approved("last");
    assert_eq!(h.queue().last(), Some(&last));
    assert_strictly_increasing(&h.positions());
}

#[test]
fn move_to_the_top_repeatedly_keeps_order() {
    let mut h = Hub::new();
    let mut expected: Vec<Uuid> = (0..5).map(|i| h.approved(&format!("q{i}"))).collect();
    for round in 0..40 {
        let mover = expected[expected.len() - 1 - (round % 3)];
        h.m(&move_after(mover, None));
        expected.retain(|id| *id != mover);
        expected.insert(0, mover);
        assert_eq!(h.queue(), expected, "round {round}");
        assert_strictly_increasing(&h.positions());
    }
}

/// `requeue` restores the old `position`; a `move` never takes a value another question keeps
/// (here B's, while B is live), so the two can never share one `position`.
#[test]
fn requeue_never_collides_with_a_moved_question() {
    let mut h = Hub::new();
    let a = h.approved("A"); // 1
    let b = h.approved("B"); // 2
    let c = h.approved("C"); // 3
    h.m(&live(b));
    h.m(&move_after(c, Some(a))); // queue [a, c]: c must not take 2, B's kept value
    assert_ne!(h.q(c).position, h.q(b).position);
    h.m(&requeue(b));
    assert_eq!(
        h.q(b).position,
        Some(2.0),
        "requeue restores the old position value"
    );
    assert_strictly_increasing(&h.positions());
}

// ---------------------------------------------------------------------------------------------
// Votes
// ---------------------------------------------------------------------------------------------

#[test]
fn vote_toggles_and_repeats_change_nothing() {
    let mut h = Hub::new();
    let id = h.approved("A");
    let rev = h.q(id).rev;

    let d = h.ok(audience(OTHER), &vote(id, true));
    assert_eq!(
        d.events,
        vec![Event::Vote {
            question: id,
            device: OTHER,
            on: true
        }]
    );
    assert_eq!(d.quota, Some(Quota::Vote));
    assert_eq!(h.applied, vec![Applied::Votes(vec![id])]);
    assert_eq!(h.state.votes(id), 1);
    assert!(h.state.has_vote(OTHER, id));
    assert_eq!(h.state.device_votes(OTHER), vec![id]);

    let d = h.ok(audience(OTHER), &vote(id, true));
    assert!(d.events.is_empty(), "one vote per device");
    assert_eq!(
        d.quota,
        Some(Quota::Vote),
        "a repeated vote still counts against the quota"
    );
    assert_eq!(h.state.votes(id), 1);

    h.ok(press(THIRD), &vote(id, true));
    assert_eq!(h.state.votes(id), 2);

    h.ok(audience(OTHER), &vote(id, false));
    assert_eq!(h.state.votes(id), 1);
    assert!(!h.state.has_vote(OTHER, id));
    assert!(h.state.device_votes(OTHER).is_empty());
    assert!(h.ok(audience(OTHER), &vote(id, false)).events.is_empty());
    assert_eq!(h.q(id).rev, rev, "votes never change rev");
}

#[test]
fn vote_on_pending_is_conflict_but_off_is_ok() {
    let mut h = Hub::new();
    let id = h.question_in(Status::Pending);
    let r = h.err(audience(AUTHOR), &vote(id, true));
    assert_eq!(r.code, ErrorCode::Conflict);
    assert_eq!(r.rev, Some(1));
    assert!(h.ok(audience(AUTHOR), &vote(id, false)).events.is_empty());
}

#[test]
fn votes_stay_with_a_question_through_changes() {
    let mut h = Hub::new();
    let id = h.question_in(Status::Approved);
    h.ok(audience(OTHER), &vote(id, true));
    h.ok(audience(THIRD), &vote(id, true));
    for cmd in [live(id), requeue(id), reject(id), approve(id), answered(id)] {
        h.m(&cmd);
        assert_eq!(h.state.votes(id), 2, "after {cmd:?}");
    }
    // The author may clear its own vote even on a question that left the public view.
    h.ok(audience(AUTHOR), &vote(id, true));
    h.m(&requeue(id));
    h.m(&reject(id));
    h.ok(audience(AUTHOR), &vote(id, false));
    assert_eq!(h.state.votes(id), 2);
}

// ---------------------------------------------------------------------------------------------
// Edit and flags
// ---------------------------------------------------------------------------------------------

#[test]
fn edit_keeps_the_original_and_editing_back_clears_it() {
    let mut h = Hub::new();
    let id = h.question_in(Status::Pending);
    let original = h.q(id).text.clone();

    h.m(&edit(id, "Teks pertama"));
    assert_eq!(h.q(id).text, "Teks pertama");
    assert_eq!(h.q(id).original_text.as_deref(), Some(original.as_str()));
    assert_eq!(h.q(id).rev, 2);

    h.m(&edit(id, "Teks kedua"));
    assert_eq!(
        h.q(id).original_text.as_deref(),
        Some(original.as_str()),
        "the first original stays"
    );
    assert_eq!(h.q(id).rev, 3);

    // The same text again: nothing changes, nothing is journaled.
    assert!(h.m(&edit(id, "Teks kedua")).events.is_empty());
    assert_eq!(h.q(id).rev, 3);

    h.m(&edit(id, &original));
    assert_eq!(h.q(id).text, original);
    assert_eq!(
        h.q(id).original_text,
        None,
        "back to the original: not edited any more"
    );
    assert_eq!(h.q(id).rev, 4);

    // The author view's `edited` follows `original_text`.
    let authors = view::AuthorIds::new([7; 32]);
    let v = view::question(&h.state, h.q(id), view::QuestionViewKind::Author, &authors);
    assert_eq!(v.edited, Some(false));
    h.m(&edit(id, "Lagi"));
    let v = view::question(&h.state, h.q(id), view::QuestionViewKind::Author, &authors);
    assert_eq!(v.edited, Some(true));
}

#[test]
fn flags_profanity_and_personal_data() {
    let mut h = Hub::new();
    let cases: [(&str, &[&str]); 5] = [
        ("Kapan jalan diperbaiki?", &[]),
        ("Dasar ANJING, kapan diperbaiki?", &["profanity"]),
        ("Hubungi saya di 0812-3456-7890", &["personal_data"]),
        (
            "Email budi@contoh.id anjing",
            &["profanity", "personal_data"],
        ),
        ("Tahun 2024 ada 3 RT", &[]),
    ];
    for (text, flags) in cases {
        let id = h.ask(AUTHOR, text);
        assert_eq!(h.q(id).flags, flags.to_vec(), "{text}");
    }
    let e = h
        .m(&enter("e", "NIK saya 1671012345678901"))
        .question
        .expect("question");
    assert_eq!(h.q(e).flags, vec!["personal_data"]);

    // Flags follow the text through edits.
    let id = h.ask(AUTHOR, "Dasar anjing");
    h.m(&edit(id, "Dasar kurang ajar"));
    assert!(h.q(id).flags.is_empty());
    h.m(&edit(id, "Telepon 081234567890"));
    assert_eq!(h.q(id).flags, vec!["personal_data"]);

    // The moderator view shows them; the public view does not.
    let authors = view::AuthorIds::new([7; 32]);
    let v = view::question(
        &h.state,
        h.q(id),
        view::QuestionViewKind::Moderator,
        &authors,
    );
    assert_eq!(
        v.flags.map(<[String]>::to_vec),
        Some(vec!["personal_data".to_string()])
    );
    let v = view::question(&h.state, h.q(id), view::QuestionViewKind::Public, &authors);
    assert!(v.flags.is_none());
}

// ---------------------------------------------------------------------------------------------
// Views and replay
// ---------------------------------------------------------------------------------------------

#[test]
fn public_view_holds_only_approved_live_and_answered() {
    let mut h = Hub::new();
    let ids: Vec<(Status, Uuid)> = ALL_STATUSES
        .iter()
        .map(|s| (*s, h.question_in(*s)))
        .collect();
    for (status, id) in ids {
        let q = h.q(id);
        let public = matches!(status, Status::Approved | Status::Live | Status::Answered);
        assert_eq!(
            h.state.visible_to(&audience(OTHER), q),
            public,
            "{status:?}"
        );
        assert_eq!(h.state.visible_to(&press(OTHER), q), public, "{status:?}");
        assert_eq!(h.state.visible_to(&screen(), q), public, "{status:?}");
        assert!(
            h.state.visible_to(&audience(AUTHOR), q),
            "own question, {status:?}"
        );
        assert!(h.state.visible_to(&moderator(), q));
        assert!(!h.state.visible_to(&Who::OVERLAY, q));
    }
}

#[test]
fn moderator_view_marks_banned_authors() {
    let mut h = Hub::new();
    let id = h.question_in(Status::Pending);
    let authors = view::AuthorIds::new([1; 32]);
    let v = view::question(
        &h.state,
        h.q(id),
        view::QuestionViewKind::Moderator,
        &authors,
    );
    assert_eq!(v.banned, Some(false));
    assert_eq!(v.author, Some(Some(authors.id(AUTHOR))));
    h.m(&ban(id, true));
    let v = view::question(
        &h.state,
        h.q(id),
        view::QuestionViewKind::Moderator,
        &authors,
    );
    assert_eq!(v.banned, Some(true));
    let e = h.m(&enter("e", "x")).question.expect("question");
    let v = view::question(
        &h.state,
        h.q(e),
        view::QuestionViewKind::Moderator,
        &authors,
    );
    assert_eq!(v.author, Some(None), "an operator entry has no author");
    assert_eq!(v.banned, Some(false));
}

#[test]
fn replay_rebuilds_the_same_state() {
    let mut h = Hub::new();
    let a = h.question_in(Status::Answered);
    let b = h.approved("B");
    let c = h.approved("C");
    h.ok(audience(OTHER), &vote(b, true));
    h.ok(audience(THIRD), &vote(c, true));
    h.m(&merge(c, b));
    h.m(&live(b));
    h.m(&overlay(true));
    h.m(&ban(a, true));
    h.m(&edit(b, "B diedit"));
    h.m(&set_status(SessionStatus::Paused));
    let devices = [AUTHOR, OTHER, THIRD, FILLER];
    let r = h.replayed();
    assert_eq!(snapshot(&r, &devices), snapshot(&h.state, &devices));
    // Hidden state (idempotency records, the highest position) agrees too.
    let ctx = Ctx {
        now: T0,
        new_id: Uuid::from_u128(42),
        from: Some(net_of(FILLER)),
    };
    for (who, cmd) in [
        (audience(FILLER), ask("r2", "B")),
        (moderator(), enter("e", "x")),
        (moderator(), requeue(a)),
    ] {
        assert_eq!(
            r.decide(&who, &cmd, ctx),
            h.state.decide(&who, &cmd, ctx),
            "{cmd:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests: random command sequences
// ---------------------------------------------------------------------------------------------

mod props {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use super::*;

    /// Devices 0..=2 are audience phones, 3 is a press device.
    const DEVICES: [DeviceId; 4] = [
        Uuid::from_u128(0xD0),
        Uuid::from_u128(0xD1),
        Uuid::from_u128(0xD2),
        Uuid::from_u128(0xD3),
    ];

    const TEXTS: [&str; 5] = [
        "Kapan jalan diperbaiki?",
        "Dasar anjing",
        "Hubungi 081234567890",
        "Berapa anggaran tahun ini?",
        "Kenapa banjir terus?",
    ];

    /// How a command's `rev` is chosen.
    #[derive(Debug, Clone, Copy)]
    enum Rev {
        None,
        Current,
        Stale,
    }

    fn rev() -> impl Strategy<Value = Rev> {
        prop_oneof![3 => Just(Rev::None), 2 => Just(Rev::Current), 1 => Just(Rev::Stale)]
    }

    /// A question pick: an index into the existing questions; one value past them names none.
    type Pick = u16;

    #[derive(Debug, Clone)]
    enum Op {
        Ask {
            dev: usize,
            r: u8,
            text: u8,
            to: u8,
        },
        Withdraw {
            dev: usize,
            q: Pick,
            rev: Rev,
        },
        Vote {
            dev: usize,
            q: Pick,
            on: bool,
            rev: Rev,
        },
        Approve {
            q: Pick,
            rev: Rev,
        },
        Reject {
            q: Pick,
            rev: Rev,
            reason: bool,
        },
        Edit {
            q: Pick,
            rev: Rev,
            text: u8,
        },
        Live {
            q: Pick,
            rev: Rev,
        },
        Answered {
            q: Pick,
            rev: Rev,
        },
        Requeue {
            q: Pick,
            rev: Rev,
        },
        Move {
            q: Pick,
            rev: Rev,
            after: Option<Pick>,
        },
        Assign {
            q: Pick,
            rev: Rev,
            to: u8,
        },
        Merge {
            q: Pick,
            rev: Rev,
            into: Pick,
        },
        Enter {
            r: u8,
            text: u8,
            to: u8,
        },
        Overlay {
            visible: bool,
        },
        Session {
            status: u8,
            title: bool,
        },
        Ban {
            q: Pick,
            rev: Rev,
            banned: bool,
            address: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        let dev = 0..DEVICES.len();
        let q = any::<Pick>();
        prop_oneof![
            6 => (dev.clone(), 0..6u8, 0..5u8, 0..4u8)
                .prop_map(|(dev, r, text, to)| Op::Ask { dev, r, text, to }),
            1 => (dev.clone(), q, rev()).prop_map(|(dev, q, rev)| Op::Withdraw { dev, q, rev }),
            5 => (dev, q, any::<bool>(), rev())
                .prop_map(|(dev, q, on, rev)| Op::Vote { dev, q, on, rev }),
            5 => (q, rev()).prop_map(|(q, rev)| Op::Approve { q, rev }),
            2 => (q, rev(), any::<bool>()).prop_map(|(q, rev, reason)| Op::Reject { q, rev, reason }),
            2 => (q, rev(), 0..5u8).prop_map(|(q, rev, text)| Op::Edit { q, rev, text }),
            3 => (q, rev()).prop_map(|(q, rev)| Op::Live { q, rev }),
            2 => (q, rev()).prop_map(|(q, rev)| Op::Answered { q, rev }),
            2 => (q, rev()).prop_map(|(q, rev)| Op::Requeue { q, rev }),
            4 => (q, rev(), proptest::option::of(any::<Pick>()))
                .prop_map(|(q, rev, after)| Op::Move { q, rev, after }),
            1 => (q, rev(), 0..4u8).prop_map(|(q, rev, to)| Op::Assign { q, rev, to }),
            2 => (q, rev(), any::<Pick>()).prop_map(|(q, rev, into)| Op::Merge { q, rev, into }),
            2 => (0..4u8, 0..5u8, 0..4u8).prop_map(|(r, text, to)| Op::Enter { r, text, to }),
            2 => any::<bool>().prop_map(|visible| Op::Overlay { visible }),
            1 => (0..3u8, any::<bool>()).prop_map(|(status, title)| Op::Session { status, title }),
            2 => (q, rev(), any::<bool>(), any::<bool>())
                .prop_map(|(q, rev, banned, address)| Op::Ban { q, rev, banned, address }),
        ]
    }

    /// A random session's driver: turns ops into commands against the current state.
    struct Run {
        state: SessionState,
        journal: Vec<Event>,
        step: u128,
        /// Questions that were ever approved (and so have had a position).
        ever_approved: HashSet<Uuid>,
    }

    /// What a step compares its outcome with.
    struct Before {
        questions: HashMap<Uuid, Question>,
        votes: HashMap<Uuid, usize>,
        overlay_visible: bool,
        live: Option<Uuid>,
    }

    impl Run {
        fn new() -> Self {
            Self {
                state: SessionState::new(info(), flagger()),
                journal: Vec::new(),
                step: 0,
                ever_approved: HashSet::new(),
            }
        }

        fn before(&self) -> Before {
            let s = &self.state;
            Before {
                questions: s.questions().map(|q| (q.id, q.clone())).collect(),
                votes: s.questions().map(|q| (q.id, s.votes(q.id))).collect(),
                overlay_visible: s.overlay_visible(),
                live: s.live().map(|q| q.id),
            }
        }
        fn pick(&self, p: Pick) -> Uuid {
            let ids: Vec<Uuid> = self.state.questions().map(|q| q.id).collect();
            let i = p as usize % (ids.len() + 1);
            ids.get(i).copied().unwrap_or(Uuid::from_u128(0xDEAD))
        }

        fn rev(&self, id: Uuid, r: Rev) -> Option<u64> {
            let current = self.state.question(id).map_or(1, |q| q.rev);
            match r {
                Rev::None => None,
                Rev::Current => Some(current),
                Rev::Stale => Some(current.saturating_sub(1)),
            }
        }

        fn to(&self, t: u8) -> Option<String> {
            match t {
                0 => None,
                1 => Some("s1".into()),
                2 => Some("s2".into()),
                _ => Some("nobody".into()),
            }
        }

        /// Who sends the op, and the command.
        fn command(&self, op: &Op) -> (Who, Command) {
            let device = |d: usize| {
                if d == 3 {
                    Who::press(DEVICES[d])
                } else {
                    Who::audience(DEVICES[d])
                }
            };
            let m = moderator();
            match *op {
                Op::Ask { dev, r, text, to } => (
                    device(dev),
                    Command::Ask {
                        client_ref: format!("a{r}"),
                        text: TEXTS[text as usize].into(),
                        name: None,
                        outlet: Some("Sumeks".into()),
                        to: self.to(to),
                        followup: Default::default(),
                    },
                ),
                Op::Withdraw { dev, q, rev } => {
                    let q = self.pick(q);
                    (
                        device(dev),
                        Command::Withdraw {
                            question: q,
                            rev: self.rev(q, rev),
                        },
                    )
                }
                Op::Vote { dev, q, on, rev } => {
                    let q = self.pick(q);
                    (
                        device(dev),
                        Command::Vote {
                            question: q,
                            on,
                            rev: self.rev(q, rev),
                        },
                    )
                }
                Op::Approve { q, rev } => {
                    let q = self.pick(q);
                    (
                        m,
                        Command::Approve {
                            question: q,
                            rev: self.rev(q, rev),
                        },
                    )
                }
                Op::Reject { q, rev, reason } => {
                    let q = self.pick(q);
                    let reason = reason.then(|| "di luar topik".to_string());
                    (
                        m,
                        Command::Reject {
                            question: q,
                            rev: self.rev(q, rev),
                            reason,
                        },
                    )
                }
                Op::Edit { q, rev, text } => {
                    let q = self.pick(q);
                    let text = TEXTS[text as usize].into();
                    (
                        m,
                        Command::Edit {
                            question: q,
                            rev: self.rev(q, rev),
                            text,
                        },
                    )
                }
                Op::Live { q, rev } => {
                    let q = self.pick(q);
                    (
                        m,
                        Command::Live {
                            question: q,
                            rev: self.rev(q, rev),
                        },
                    )
                }
                Op::Answered { q, rev } => {
                    let q = self.pick(q);
                    (
                        m,
                        Command::Answered {
                            question: q,
                            rev: self.rev(q, rev),
                        },
                    )
                }
                Op::Requeue { q, rev } => {
                    let q = self.pick(q);
                    (
                        m,
                        Command::Requeue {
                            question: q,
                            rev: self.rev(q, rev),
                        },
                    )
                }
                Op::Move { q, rev, after } => {
                    let q = self.pick(q);
                    let after = after.map(|a| self.pick(a));
                    (
                        m,
                        Command::Move {
                            question: q,
                            rev: self.rev(q, rev),
                            after,
                        },
                    )
                }
                Op::Assign { q, rev, to } => {
                    let q = self.pick(q);
                    (
                        m,
                        Command::Assign {
                            question: q,
                            rev: self.rev(q, rev),
                            to: self.to(to),
                        },
                    )
                }
                Op::Merge { q, rev, into } => {
                    let q = self.pick(q);
                    let into = self.pick(into);
                    (
                        m,
                        Command::Merge {
                            question: q,
                            rev: self.rev(q, rev),
                            into,
                        },
                    )
                }
                Op::Enter { r, text, to } => (
                    m,
                    Command::Enter {
                        client_ref: format!("e{r}"),
                        text: TEXTS[text as usize].into(),
                        name: None,
                        channel: Channel::Phone,
                        to: self.to(to),
                        followup: Default::default(),
                        station: None,
                    },
                ),
                Op::Overlay { visible } => (
                    m,
                    Command::Overlay {
                        visible,
                        confirm: true,
                    },
                ),
                Op::Session { status, title } => {
                    let status = [
                        SessionStatus::Open,
                        SessionStatus::Paused,
                        SessionStatus::Closed,
                    ][status as usize];
                    let title = title.then(|| format!("Judul {}", self.step));
                    (
                        m,
                        Command::Session {
                            status: Some(status),
                            title,
                            speakers: None,
                            starts_at: None,
                            rehearsal: None,
                        },
                    )
                }
                Op::Ban {
                    q,
                    rev,
                    banned,
                    address,
                } => {
                    let q = self.pick(q);
                    (
                        m,
                        Command::Ban {
                            question: q,
                            rev: self.rev(q, rev),
                            banned,
                            address,
                        },
                    )
                }
            }
        }

        /// Runs one op: checks the decision against the rules, applies it, checks invariants.
        fn step(&mut self, op: &Op) {
            self.step += 1;
            let (who, cmd) = self.command(op);
            // Two of the devices share a network (a carrier's shared address).
            let from = who.device().map(|d| {
                if d == DEVICES[1] {
                    net_of(DEVICES[0])
                } else {
                    net_of(d)
                }
            });
            let ctx = Ctx {
                now: T0 + self.step as i64 * 1_000,
                new_id: Uuid::from_u128(0x1_0000 + self.step),
                from,
            };

            // A state rebuilt from the journal decides exactly alike (hidden state agrees).
            let replayed = SessionState::replay(info(), flagger(), &self.journal);
            let result = self.state.decide(&who, &cmd, ctx);
            assert_eq!(
                replayed.decide(&who, &cmd, ctx),
                result,
                "replayed state decides {cmd:?} otherwise"
            );

            self.check_decision(&who, &cmd, ctx, &result);

            let before = self.before();
            let events = result
                .as_ref()
                .map(|d| d.events.clone())
                .unwrap_or_default();
            if let Ok(d) = result {
                for e in &d.events {
                    let before = match e {
                        Event::Put { question, .. } => {
                            let before = self.state.question(question.id).cloned();
                            let expected = before.as_ref().map_or(1, |b| b.rev + 1);
                            assert_eq!(question.rev, expected, "put of {cmd:?} must be rev + 1");
                            assert_eq!(question.updated_at, ctx.now);
                            before
                        }
                        _ => None,
                    };
                    let applied = self.state.apply(e);
                    if let Event::Put { question, .. } = e {
                        assert_eq!(
                            applied,
                            Applied::Question {
                                id: question.id,
                                before: before.map(Box::new)
                            }
                        );
                    }
                    self.journal.push(e.clone());
                }
            }
            self.check_change(&cmd, &events, &before);
            self.check_invariants();
        }

        /// What one step may change, compared with the state before it.
        fn check_change(&mut self, cmd: &Command, events: &[Event], before: &Before) {
            let s = &self.state;
            let put: HashSet<Uuid> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Put { question, .. } => Some(question.id),
                    _ => None,
                })
                .collect();
            for q in s.questions() {
                // Only a put changes a question (a ban or a vote does not touch it, nor its rev).
                if !put.contains(&q.id) {
                    assert_eq!(
                        before.questions.get(&q.id),
                        Some(q),
                        "{cmd:?} changed {} silently",
                        q.id
                    );
                }
                // Votes stay with a question through any change but a vote or a merge into it.
                let was = before.votes.get(&q.id).copied().unwrap_or(0);
                let now = s.votes(q.id);
                match cmd {
                    Command::Vote { question, on, .. } if *question == q.id => {
                        // One vote more or less exactly when a vote event was journaled.
                        let changed = usize::from(!events.is_empty());
                        let expected = if *on { was + changed } else { was - changed };
                        assert_eq!(now, expected, "{cmd:?}");
                    }
                    Command::Merge { into, .. } if *into == q.id => assert!(now >= was),
                    _ => assert_eq!(now, was, "{cmd:?} changed the votes of {}", q.id),
                }
                // `position`: a number once approved, kept after; `null` before.
                if q.status == Status::Approved {
                    self.ever_approved.insert(q.id);
                }
                assert_eq!(
                    q.position.is_some(),
                    self.ever_approved.contains(&q.id),
                    "position of a {:?} question",
                    q.status
                );
            }
            // The overlay goes on only by an explicit take, and off whenever its question stops
            // being live.
            if s.overlay_visible() && !matches!(cmd, Command::Overlay { visible: true, .. }) {
                assert!(before.overlay_visible, "{cmd:?} took the overlay on air");
                assert_eq!(
                    s.live().map(|q| q.id),
                    before.live,
                    "{cmd:?} changed what is on air"
                );
            }
        }

        /// Rules a single decision must follow, whatever the state.
        fn check_decision(
            &self,
            who: &Who,
            cmd: &Command,
            ctx: Ctx,
            result: &Result<Decision, Rejection>,
        ) {
            let named = named_question(cmd).and_then(|id| self.state.question(id));
            let status = self.state.info.status;
            let is_create = matches!(cmd, Command::Ask { .. } | Command::Enter { .. });
            match result {
                Ok(d) => {
                    // A given `rev` that is not the current one never passes.
                    if let Some(q) = named {
                        let given = match *cmd {
                            Command::Withdraw { rev, .. }
                            | Command::Vote { rev, .. }
                            | Command::Approve { rev, .. }
                            | Command::Reject { rev, .. }
                            | Command::Edit { rev, .. }
                            | Command::Live { rev, .. }
                            | Command::Answered { rev, .. }
                            | Command::Requeue { rev, .. }
                            | Command::Move { rev, .. }
                            | Command::Assign { rev, .. }
                            | Command::Merge { rev, .. }
                            | Command::Ban { rev, .. } => rev,
                            _ => None,
                        };
                        assert!(
                            given.is_none_or(|r| r == q.rev),
                            "{cmd:?} passed with a stale rev"
                        );
                        // A device sees its own votes: clearing one is allowed on any question.
                        let own_vote = matches!(*cmd, Command::Vote { on: false, .. })
                            && who.device().is_some_and(|d| self.state.has_vote(d, q.id));
                        assert!(
                            own_vote || self.state.visible_to(who, q),
                            "{cmd:?} acted on an invisible question"
                        );
                    }
                    // Closed: nothing changes but through `session`.
                    if status == SessionStatus::Closed && !matches!(cmd, Command::Session { .. }) {
                        assert!(d.events.is_empty(), "{cmd:?} changed a closed session");
                    }
                    if let Command::Ask {
                        client_ref, text, ..
                    } = cmd
                    {
                        let device = who.device().expect("device");
                        let existing = self
                            .state
                            .questions_of(device)
                            .find(|q| &q.client_ref == client_ref)
                            .map(|q| q.id);
                        if d.events.is_empty() {
                            // A retry: the same question, asked with the same text.
                            let id = d.question.expect("retry returns the question");
                            assert_eq!(existing, Some(id));
                            let q = self.state.question(id).expect("question");
                            assert_eq!(q.original_text.as_deref().unwrap_or(&q.text), text);
                        } else {
                            assert_eq!(
                                existing, None,
                                "ask with a used ref created a second question"
                            );
                            assert_eq!(
                                status,
                                SessionStatus::Open,
                                "ask created a question while {status:?}"
                            );
                            assert!(!self.state.is_banned(device), "a banned device asked");
                            let net = ctx.from.expect("a device has a network");
                            assert!(
                                !self.state.banned_nets.contains(&net),
                                "a device asked from a banned network"
                            );
                        }
                    }
                    if let Command::Enter { client_ref, .. } = cmd {
                        let existing = self
                            .state
                            .questions()
                            .find(|q| q.source == Source::Operator && &q.client_ref == client_ref)
                            .map(|q| q.id);
                        if d.events.is_empty() {
                            assert_eq!(d.question, existing);
                        } else {
                            assert_eq!(
                                existing, None,
                                "enter with a used ref created a second question"
                            );
                        }
                    }
                }
                Err(r) => {
                    assert!(!r.message.is_empty());
                    if r.code == ErrorCode::Conflict {
                        match (named, cmd) {
                            (Some(q), _) => assert_eq!(
                                r.rev,
                                Some(q.rev),
                                "{cmd:?}: conflict without current rev"
                            ),
                            (None, Command::Overlay { .. }) => assert_eq!(r.rev, None),
                            (None, _) => assert!(is_create && r.rev.is_some(), "{cmd:?}: {r:?}"),
                        }
                    }
                    // A device naming a question it may not see learns nothing more than not_found.
                    // (Its own vote is something it knows: clearing it is answered as usual.)
                    if let Some(q) = named
                        && who.role().is_device()
                        && !self.state.visible_to(who, q)
                        && !(matches!(*cmd, Command::Vote { on: false, .. })
                            && who.device().is_some_and(|d| self.state.has_vote(d, q.id)))
                        && status != SessionStatus::Closed
                    {
                        assert_eq!(r.code, ErrorCode::NotFound, "{cmd:?}");
                    }
                }
            }
        }

        fn check_invariants(&self) {
            let s = &self.state;
            let questions: Vec<&Question> = s.questions().collect();

            // At most one live question, and `live()` names it.
            let live: Vec<Uuid> = questions
                .iter()
                .filter(|q| q.status == Status::Live)
                .map(|q| q.id)
                .collect();
            assert!(live.len() <= 1, "several live questions: {live:?}");
            assert_eq!(s.live().map(|q| q.id), live.first().copied());

            // The overlay is on air only with a live question.
            assert!(
                !s.overlay_visible() || s.live().is_some(),
                "overlay visible with nothing live"
            );

            // Votes: counts, per-device lists and `has_vote` agree.
            for q in &questions {
                let voters = DEVICES.iter().filter(|d| s.has_vote(**d, q.id)).count();
                assert_eq!(s.votes(q.id), voters, "votes of {}", q.id);
            }
            for d in DEVICES {
                let mine: Vec<Uuid> = {
                    let mut v: Vec<Uuid> = questions
                        .iter()
                        .filter(|q| s.has_vote(d, q.id))
                        .map(|q| q.id)
                        .collect();
                    v.sort();
                    v
                };
                assert_eq!(s.device_votes(d), mine, "device_votes of {d}");
            }

            // The public view of a device holds no question outside approved, live, answered.
            for d in DEVICES {
                for role in [Role::Audience, Role::Press] {
                    let who = Who::of(role, Some(d)).expect("a phone role");
                    for q in questions.iter().filter(|q| q.author != Some(d)) {
                        if s.visible_to(&who, q) {
                            assert!(
                                matches!(
                                    q.status,
                                    Status::Approved | Status::Live | Status::Answered
                                ),
                                "a device sees another's {:?} question",
                                q.status
                            );
                        }
                    }
                }
            }
            for q in &questions {
                assert_eq!(s.visible_to(&screen(), q), q.status.is_public());
            }

            // Statuses and their fields.
            for q in &questions {
                assert_eq!(
                    q.status == Status::Merged,
                    q.merged_into.is_some(),
                    "merged_into of {q:?}"
                );
                if let Some(t) = q.merged_into {
                    assert_ne!(t, q.id);
                    assert!(s.question(t).is_some(), "merged into a missing question");
                }
                if q.status == Status::Approved {
                    assert!(q.position.is_some(), "approved without position");
                }
                assert_eq!(q.source == Source::Operator, q.author.is_none());
                assert_eq!(q.source == Source::Operator, q.channel.is_some());
                if let Some(o) = &q.original_text {
                    assert_ne!(o, &q.text, "original_text equal to the text");
                }
                assert_eq!(q.flags, flagger().flags(&q.text), "flags follow the text");
            }

            // The queue: approved questions only, sorted by position.
            let queue = s.queue();
            assert!(queue.iter().all(|q| q.status == Status::Approved));
            assert_eq!(
                queue.len(),
                questions
                    .iter()
                    .filter(|q| q.status == Status::Approved)
                    .count()
            );
            let positions: Vec<f64> = queue
                .iter()
                .map(|q| q.position.unwrap_or(f64::NAN))
                .collect();
            assert!(
                positions.windows(2).all(|w| w[0] < w[1]),
                "queue positions not strictly increasing: {positions:?}"
            );

            // Replaying the journal gives the same state.
            let replayed = SessionState::replay(info(), flagger(), &self.journal);
            assert_eq!(snapshot(&replayed, &DEVICES), snapshot(s, &DEVICES));
        }
    }

    fn run(ops: &[Op]) -> Run {
        let mut run = Run::new();
        for op in ops {
            run.step(op);
        }
        run
    }

    proptest! {
        // 256 cases by default; PROPTEST_CASES=5000 for a longer hunt.
        #[test]
        fn random_sessions_keep_their_invariants(ops in proptest::collection::vec(op(), 1..80)) {
            run(&ops);
        }

        /// Positions in the queue are strictly increasing after every step, `requeue` included:
        /// no two questions ever hold one position.
        #[test]
        fn queue_positions_strictly_increase(ops in proptest::collection::vec(op(), 1..80)) {
            let mut r = Run::new();
            for op in &ops {
                r.step(op);
                let all: Vec<f64> = r.state.questions().filter_map(|q| q.position).collect();
                let mut unique = all.clone();
                unique.sort_by(f64::total_cmp);
                unique.dedup();
                prop_assert_eq!(unique.len(), all.len(), "two questions share a position: {:?}", all);
            }
        }
    }

    /// The generator reaches the interesting states (a guard against a vacuous property test).
    #[test]
    fn generated_sessions_reach_every_status() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let mut seen = std::collections::HashSet::new();
        let mut overlay_on = false;
        for _ in 0..64 {
            let ops = proptest::collection::vec(op(), 80)
                .new_tree(&mut runner)
                .expect("strategy")
                .current();
            let r = run(&ops);
            seen.extend(r.state.questions().map(|q| q.status));
            overlay_on |= r.journal.contains(&Event::Overlay { visible: true });
        }
        for s in ALL_STATUSES {
            assert!(seen.contains(&s), "no generated session reached {s:?}");
        }
        assert!(overlay_on, "no generated session took the overlay on air");
    }
}

// ---------------------------------------------------------------------------------------------
// Retries, no-op moves, stale reasons and own votes
// ---------------------------------------------------------------------------------------------

#[test]
fn a_retried_ask_succeeds_after_its_speaker_was_removed() {
    let mut h = Hub::new();
    let cmd = Command::Ask {
        client_ref: "r-to".into(),
        text: "Untuk Pak Sekda".into(),
        name: None,
        outlet: None,
        to: Some("s1".into()),
        followup: Default::default(),
    };
    let first = h.ok(audience(AUTHOR), &cmd).question;
    h.m(&Command::Session {
        status: None,
        title: None,
        speakers: Some(vec![]),
        starts_at: None,
        rehearsal: None,
    });
    let again = h.ok(audience(AUTHOR), &cmd);
    assert_eq!(again.question, first);
    assert!(again.events.is_empty(), "a retry creates nothing");
    // A new ask to the removed speaker is refused.
    let fresh = Command::Ask {
        client_ref: "r-new".into(),
        text: "Untuk Pak Sekda".into(),
        name: None,
        outlet: None,
        to: Some("s1".into()),
        followup: Default::default(),
    };
    assert_eq!(h.err(audience(AUTHOR), &fresh).code, ErrorCode::Invalid);
}

#[test]
fn moving_a_question_where_it_already_is_changes_nothing() {
    let mut h = Hub::new();
    let a = h.approved("A");
    let b = h.approved("B");
    let c = h.approved("C");
    let revs = [h.q(a).rev, h.q(b).rev, h.q(c).rev];
    assert!(h.m(&move_after(b, Some(a))).events.is_empty());
    assert!(h.m(&move_after(a, None)).events.is_empty());
    assert!(h.m(&move_after(c, Some(b))).events.is_empty());
    assert_eq!([h.q(a).rev, h.q(b).rev, h.q(c).rev], revs);
    // A real move still moves.
    assert_eq!(h.m(&move_after(c, None)).events.len(), 1);
}

#[test]
fn approving_a_rejected_question_clears_its_reason() {
    let mut h = Hub::new();
    let id = h.ask(AUTHOR, "Soal parkir liar");
    h.m(&reject(id));
    assert!(h.q(id).reason.is_some());
    h.m(&approve(id));
    assert_eq!(h.q(id).reason, None);
}

#[test]
fn a_device_can_clear_its_vote_on_a_question_it_no_longer_sees() {
    let mut h = Hub::new();
    let id = h.approved("Soal banjir");
    h.ok(audience(OTHER), &vote(id, true));
    h.m(&reject(id));
    assert!(!h.state.visible_to(&audience(OTHER), h.q(id)));
    // A device that never voted for it still gets not_found.
    assert_eq!(
        h.err(audience(THIRD), &vote(id, false)).code,
        ErrorCode::NotFound
    );
    h.ok(audience(OTHER), &vote(id, false));
    assert_eq!(h.state.votes(id), 0);
    assert!(h.state.device_votes(OTHER).is_empty());
}

// ---------------------------------------------------------------------------------------------
// On air: the take guard, masking, the short air text, graphics, the stage
// ---------------------------------------------------------------------------------------------

fn take(confirm: bool) -> Command {
    Command::Overlay {
        visible: true,
        confirm,
    }
}
fn air_text(q: Uuid, text: Option<&str>) -> Command {
    Command::AirText {
        question: q,
        rev: None,
        text: text.map(str::to_string),
    }
}
fn unmask(q: Uuid, on: bool) -> Command {
    Command::Unmask {
        question: q,
        rev: None,
        on,
    }
}
fn graphic(g: Option<super::stage::Graphic>) -> Command {
    Command::Graphic { graphic: g }
}

/// A live question with this text (asked by AUTHOR, approved, live).
fn live_with(h: &mut Hub, text: &str) -> Uuid {
    let id = h.ask(AUTHOR, text);
    h.m(&approve(id));
    h.m(&live(id));
    id
}

#[test]
fn a_flagged_question_goes_on_air_only_with_confirm() {
    for (text, flag) in [
        ("Telepon saya di 0812-3456-7890 ya Pak", "personal_data"),
        ("Dasar anjing, jalan rusak terus", "profanity"),
    ] {
        let mut h = Hub::new();
        live_with(&mut h, text);
        let e = h.m_err(&take(false));
        assert_eq!(e.code, ErrorCode::Unconfirmed);
        assert_eq!(e.code.as_str(), "unconfirmed");
        assert!(e.message.contains(flag), "{}", e.message);
        assert!(e.message.contains("confirm"), "{}", e.message);
        assert_eq!(
            h.m(&take(true)).events,
            vec![Event::Overlay { visible: true }]
        );
        assert!(h.state.overlay_visible());
        // already on air: the same value again changes nothing and needs no confirmation
        assert!(h.m(&take(false)).events.is_empty());
    }
    // an unflagged question needs none; `confirm` does no harm
    let mut h = Hub::new();
    live_with(&mut h, "Kapan jalan di Jakabaring diperbaiki?");
    h.m(&take(false));
    let mut h = Hub::new();
    live_with(&mut h, "Kapan jalan di Jakabaring diperbaiki?");
    h.m(&take(true));
    // a flagged air text counts as much as a flagged text
    let mut h = Hub::new();
    let q = live_with(&mut h, "Kapan jalan di Jakabaring diperbaiki?");
    h.m(&air_text(q, Some("Jalan rusak, hubungi 0812 3456 7890")));
    assert_eq!(h.m_err(&take(false)).code, ErrorCode::Unconfirmed);
    // with nothing live, `conflict` comes first, confirmed or not
    let mut h = Hub::new();
    assert_eq!(h.m_err(&take(true)).code, ErrorCode::Conflict);
}

#[test]
fn personal_data_is_masked_in_every_public_view_and_shown_to_moderators_and_the_author() {
    let mut h = Hub::new();
    let text = "Jalan rusak, hubungi 0812-3456-7890";
    let q = live_with(&mut h, text);
    let authors = view::AuthorIds::new([7; 32]);
    let qq = h.q(q).clone();
    let public = view::question(&h.state, &qq, view::QuestionViewKind::Public, &authors);
    assert!(!public.text.contains("3456"), "{}", public.text);
    assert!(public.text.starts_with("Jalan rusak, hubungi "));
    let author = view::question(&h.state, &qq, view::QuestionViewKind::Author, &authors);
    assert_eq!(author.text, text, "the author sees what it wrote");
    let m = view::question(&h.state, &qq, view::QuestionViewKind::Moderator, &authors);
    assert_eq!(m.text, text);
    assert_eq!(m.masked_text, Some(Some(public.text)));
    assert_eq!(m.unmasked, Some(false));
    let o = view::overlay(&h.state);
    assert_eq!(o.question.as_ref().map(|q| q.text), Some(public.text));
    // a moderator unmasks it deliberately: the public sees it as written; rev goes up
    let rev = h.q(q).rev;
    h.m(&unmask(q, true));
    assert_eq!(h.q(q).rev, rev + 1);
    let qq = h.q(q).clone();
    let public = view::question(&h.state, &qq, view::QuestionViewKind::Public, &authors);
    assert_eq!(public.text, text);
    assert_eq!(view::overlay(&h.state).question.map(|q| q.text), Some(text));
    assert!(
        h.m(&unmask(q, true)).events.is_empty(),
        "the same value: nothing"
    );
    h.m(&unmask(q, false));
    // an edit is masked again at once, and a name is masked too
    h.m(&edit(q, "Rumah saya di Jl. Merdeka dekat pasar"));
    let r = h.next_ref();
    let named = h.ok(
        audience(OTHER),
        &Command::Ask {
            client_ref: r,
            text: "Kapan banjir diatasi?".into(),
            name: Some("Budi 081234567890".into()),
            outlet: None,
            to: None,
            followup: Default::default(),
        },
    );
    let id = named.question.expect("asked");
    h.m(&approve(id));
    let qq = h.q(id).clone();
    let public = view::question(&h.state, &qq, view::QuestionViewKind::Public, &authors);
    assert_eq!(public.text, "Kapan banjir diatasi?");
    assert!(!public.name.unwrap_or("").contains("1234"));
    // replaying the journal rebuilds the same public texts
    let replayed = SessionState::replay(info(), flagger(), &h.journal);
    for q in h.state.questions() {
        assert_eq!(replayed.public_text(q), h.state.public_text(q));
        assert_eq!(replayed.public_name(q), h.state.public_name(q));
    }
}

#[test]
fn air_text_sets_and_clears_a_short_version_the_overlay_uses() {
    let mut h = Hub::new();
    let q = live_with(
        &mut h,
        "Kapan jalan di Jakabaring diperbaiki? Sudah tiga bulan rusak dan berlubang",
    );
    let rev = h.q(q).rev;
    h.m(&air_text(q, Some("Kapan jalan Jakabaring diperbaiki?")));
    assert_eq!(h.q(q).rev, rev + 1);
    assert_eq!(
        h.q(q).text,
        "Kapan jalan di Jakabaring diperbaiki? Sudah tiga bulan rusak dan berlubang",
        "the full text stays"
    );
    let o = view::overlay(&h.state);
    assert_eq!(
        o.question.and_then(|q| q.air_text),
        Some("Kapan jalan Jakabaring diperbaiki?")
    );
    assert!(
        h.m(&air_text(q, Some("Kapan jalan Jakabaring diperbaiki?")))
            .events
            .is_empty()
    );
    h.m(&air_text(q, None));
    assert_eq!(h.q(q).air_text, None);
    // statuses: as `edit`
    let done = h.question_in(Status::Answered);
    assert_eq!(
        h.m_err(&air_text(done, Some("x"))).code,
        ErrorCode::Conflict
    );
    // phones may not
    let e = h.err(audience(AUTHOR), &air_text(q, Some("x")));
    assert_eq!(e.code, ErrorCode::Forbidden);
}

#[test]
fn one_graphic_at_a_time_question_poll_call_to_action_and_name_strap() {
    use super::stage::Graphic;
    let mut h = Hub::new();
    live_with(&mut h, "Kapan jalan di Jakabaring diperbaiki?");
    h.m(&take(false));
    // the call to action takes the lower third off
    let d = h.m(&graphic(Some(Graphic::Join)));
    assert_eq!(
        d.events,
        vec![
            Event::Overlay { visible: false },
            Event::Graphic {
                graphic: Some(Graphic::Join)
            }
        ]
    );
    assert!(!h.state.overlay_visible());
    assert_eq!(
        view::overlay(&h.state).graphic.map(|g| g.kind),
        Some("join")
    );
    // a name strap replaces it
    let strap = Some(Graphic::Speaker {
        speaker: "s2".into(),
    });
    h.m(&graphic(strap.clone()));
    let g = view::overlay(&h.state).graphic.expect("on air");
    assert_eq!(
        (g.kind, g.speaker.map(|s| s.name.as_str())),
        ("speaker", Some("Ir Budi"))
    );
    assert!(
        h.m(&graphic(strap)).events.is_empty(),
        "the same graphic: nothing"
    );
    // an unknown speaker
    let e = h.m_err(&graphic(Some(Graphic::Speaker {
        speaker: "s9".into(),
    })));
    assert_eq!(e.code, ErrorCode::Invalid);
    assert!(e.message.contains("`speaker`"), "{}", e.message);
    // taking the question takes the graphic off
    let d = h.m(&take(false));
    assert_eq!(
        d.events,
        vec![
            Event::Graphic { graphic: None },
            Event::Overlay { visible: true }
        ]
    );
    // a poll's result on air takes the graphic off too
    h.m(&graphic(Some(Graphic::Join)));
    let p = h.m(&Command::Poll(super::poll::PollAction::Create {
        client_ref: "p1".into(),
        poll: super::poll::NewPoll::checked(
            "Puas?",
            &["Ya".to_string(), "Tidak".to_string()],
            super::poll::PollResults::Live,
        )
        .expect("a poll"),
    }));
    let pid = p.poll.expect("created");
    h.m(&Command::Poll(super::poll::PollAction::Open(pid)));
    h.m(&Command::Poll(super::poll::PollAction::Show(pid)));
    assert_eq!(h.state.graphic(), None);
    assert!(h.state.polls.on_air().is_some());
    // and a graphic takes the poll off
    h.m(&graphic(Some(Graphic::Join)));
    assert!(h.state.polls.on_air().is_none());
    // clearing the overlay clears the graphic
    h.m(&overlay(false));
    assert_eq!(h.state.graphic(), None);
    // the strap of a speaker since removed shows nothing
    h.m(&graphic(Some(Graphic::Speaker {
        speaker: "s2".into(),
    })));
    h.m(&Command::Session {
        status: None,
        title: None,
        speakers: Some(vec![info().speakers[0].clone()]),
        starts_at: None,
        rehearsal: None,
    });
    assert_eq!(view::overlay(&h.state).graphic, None);
    // replaying rebuilds it
    let replayed = SessionState::replay(info(), flagger(), &h.journal);
    assert_eq!(replayed.graphic(), h.state.graphic());
}

#[test]
fn the_stage_timer_and_message_are_journaled_and_seen_by_the_stage() {
    use super::stage::TimerAction;
    let mut h = Hub::new();
    h.state.timer_default_ms = 120_000;
    let v = view::stage(&h.state, T0);
    assert_eq!(
        (v.timer.duration_ms, v.timer.remaining_ms, v.timer.running),
        (120_000, 120_000, false)
    );
    h.m(&Command::Timer {
        action: TimerAction::Start,
        seconds: None,
    });
    let started = h.now;
    let v = view::stage(&h.state, started + 30_000);
    assert_eq!((v.timer.remaining_ms, v.timer.running), (90_000, true));
    assert!(
        h.m(&Command::Timer {
            action: TimerAction::Start,
            seconds: None
        })
        .events
        .is_empty(),
        "starting a running timer changes nothing"
    );
    h.m(&Command::Timer {
        action: TimerAction::Pause,
        seconds: None,
    });
    let paused_at = h.now;
    let v = view::stage(&h.state, paused_at + 999_000);
    assert_eq!(v.timer.remaining_ms, 120_000 - (paused_at - started));
    h.m(&Command::Timer {
        action: TimerAction::Reset,
        seconds: Some(60),
    });
    assert_eq!(view::stage(&h.state, 0).timer.remaining_ms, 60_000);
    h.m(&Command::Message {
        text: Some("1 menit lagi".into()),
    });
    assert_eq!(view::stage(&h.state, 0).message, Some("1 menit lagi"));
    assert!(
        h.m(&Command::Message {
            text: Some("1 menit lagi".into())
        })
        .events
        .is_empty()
    );
    h.m(&Command::Message { text: None });
    assert_eq!(view::stage(&h.state, 0).message, None);
    let replayed = SessionState::replay(info(), flagger(), &h.journal);
    assert_eq!(view::stage(&replayed, 5), view::stage(&h.state, 5));
    // a closed session takes none of it
    h.m(&set_status(SessionStatus::Closed));
    for cmd in [
        Command::Message {
            text: Some("x".into()),
        },
        Command::Timer {
            action: TimerAction::Start,
            seconds: None,
        },
        graphic(Some(super::stage::Graphic::Join)),
    ] {
        assert_eq!(h.m_err(&cmd).code, ErrorCode::Closed, "{cmd:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The follow-up: cases (docs/followup.md).

mod cases {
    use super::*;
    use crate::domain::followup::{By, Case, CaseAction, CaseStatus};
    use proptest::prelude::*;

    fn case(q: Uuid, action: CaseAction) -> Command {
        Command::Case {
            question: q,
            action,
            by: By::moderator(Some("Rina".into())),
        }
    }

    fn forward(agency: &str) -> CaseAction {
        CaseAction::Forward {
            agency: agency.into(),
            due: chrono::NaiveDate::from_ymd_opt(2026, 12, 20),
            note: Some("Mohon dicek".into()),
        }
    }

    /// Runs a case action as an agency or the office (the HTTP routes), applied and journaled.
    fn by(h: &mut Hub, who: By, q: Uuid, action: CaseAction) -> Result<Decision, Rejection> {
        h.now += 1_000;
        let d = h.state.decide_case(&who, q, &action, h.now)?;
        for e in &d.events {
            h.state.apply(e);
        }
        h.journal.extend(d.events.iter().cloned());
        Ok(d)
    }

    fn status(h: &Hub, q: Uuid) -> CaseStatus {
        h.state.case(q).map_or(CaseStatus::Received, |c| c.status)
    }

    #[test]
    fn a_question_answered_on_air_is_forwarded_acknowledged_and_resolved_by_its_agency() {
        let mut h = Hub::new();
        let q = h.approved("Jalan Sako berlubang");
        h.m(&Command::Answered {
            question: q,
            rev: None,
        });
        assert_eq!(status(&h, q), CaseStatus::Received);
        h.m(&case(q, forward("pupr")));
        let c = h.state.case(q).unwrap().clone();
        assert_eq!(c.status, CaseStatus::Forwarded);
        assert_eq!(c.agency.as_deref(), Some("pupr"));
        assert_eq!(c.history[0].by, By::moderator(Some("Rina".into())));
        let pupr = By::agency("pupr".into(), Some("Budi".into()));
        // Another agency cannot tell it from no case at all.
        let e = by(
            &mut h,
            By::agency("dlh".into(), None),
            q,
            CaseAction::Acknowledge { note: None },
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        // An agency may not forward or publish.
        let e = by(&mut h, pupr.clone(), q, forward("dlh")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        by(
            &mut h,
            pupr.clone(),
            q,
            CaseAction::Acknowledge { note: None },
        )
        .unwrap();
        by(
            &mut h,
            pupr.clone(),
            q,
            CaseAction::Resolve {
                answer: "Sudah ditambal".into(),
            },
        )
        .unwrap();
        let c = h.state.case(q).unwrap();
        assert_eq!(c.status, CaseStatus::Resolved);
        assert_eq!(c.answer.as_deref(), Some("Sudah ditambal"));
        assert!(c.closed_at.is_some() && c.forwarded_at.is_some());
        assert!(c.days_to_resolve().unwrap() < 1.0);
        // Its on-air status is untouched by the case.
        assert_eq!(h.q(q).status, Status::Answered);
        // A closed case takes only reopen and publish.
        let e = by(&mut h, pupr, q, CaseAction::Decline { reason: "x".into() }).unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
        // Replaying the journal gives the same cases and histories.
        let replayed = SessionState::replay(info(), flagger(), &h.journal);
        assert_eq!(replayed.case(q), h.state.case(q));
        assert_eq!(replayed.history(q), h.state.history(q));
    }

    #[test]
    fn cases_go_on_after_the_session_closes_and_only_an_agency_returns_one() {
        let mut h = Hub::new();
        let q = h.approved("Banjir di Kertapati");
        h.m(&set_status(SessionStatus::Closed));
        h.m(&case(q, forward("pupr")));
        let e = h.m_err(&case(q, CaseAction::Return { note: None }));
        assert_eq!(e.code, ErrorCode::Forbidden);
        by(
            &mut h,
            By::agency("pupr".into(), None),
            q,
            CaseAction::Return {
                note: Some("Bukan wewenang kami".into()),
            },
        )
        .unwrap();
        let c = h.state.case(q).unwrap();
        assert_eq!((c.status, c.agency.clone()), (CaseStatus::Received, None));
        // Returned: the agency no longer reaches it.
        let e = by(
            &mut h,
            By::agency("pupr".into(), None),
            q,
            CaseAction::Acknowledge { note: None },
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        // Publishing twice changes nothing the second time.
        assert_eq!(
            h.m(&case(q, CaseAction::Publish { public: true }))
                .events
                .len(),
            1
        );
        assert!(
            h.m(&case(q, CaseAction::Publish { public: true }))
                .events
                .is_empty()
        );
        // Every role but the moderator is refused the command itself.
        for who in [audience(AUTHOR), press(OTHER), screen(), Who::OVERLAY] {
            let e = h.err(who, &case(q, CaseAction::Publish { public: false }));
            assert_eq!(e.code, ErrorCode::Forbidden);
        }
        let e = h.m_err(&case(Uuid::new_v4(), CaseAction::Publish { public: true }));
        assert_eq!(e.code, ErrorCode::NotFound);
    }

    #[test]
    fn the_history_names_who_changed_the_question() {
        let mut h = Hub::new();
        let q = h.ask(AUTHOR, "Kapan pasar dibuka?");
        // The decisions of the harness carry no `done`: the hub adds it; replay what it would.
        let mut q2 = h.q(q).clone();
        q2.status = Status::Approved;
        q2.rev += 1;
        q2.updated_at += 5_000;
        h.state.apply(&Event::Put {
            question: q2,
            done: Some(crate::domain::followup::Done {
                act: "approve".into(),
                by: By::moderator(Some("Rina".into())),
            }),
        });
        let steps = h.state.history(q);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].action, "ask");
        assert_eq!(steps[1].action, "approve");
        assert_eq!(steps[1].by, Some(By::moderator(Some("Rina".into()))));
        assert_eq!(steps[1].status.as_deref(), Some("approved"));
    }

    #[test]
    fn place_and_topic_are_checked_against_the_lists_before_the_session_status() {
        let mut h = Hub::new();
        h.m(&set_status(SessionStatus::Paused));
        let ask = |place: &str, topic: &str| Command::Ask {
            client_ref: format!("r-{place}-{topic}"),
            text: "Jalan rusak".into(),
            name: None,
            outlet: None,
            to: None,
            followup: crate::domain::command::NewFollowup {
                contact: None,
                place: Some(crate::domain::followup::Place {
                    kecamatan: place.into(),
                    kelurahan: None,
                }),
                topic: Some(topic.into()),
            },
        };
        let e = h.err(audience(AUTHOR), &ask("Atlantis", "jalan"));
        assert_eq!(e.code, ErrorCode::Invalid);
        let e = h.err(audience(AUTHOR), &ask("Sako", "cuaca"));
        assert_eq!(e.code, ErrorCode::Invalid);
        let e = h.err(audience(AUTHOR), &ask("Sako", "jalan"));
        assert_eq!(
            e.code,
            ErrorCode::Closed,
            "valid fields reach the status check"
        );
    }

    fn action() -> impl Strategy<Value = (u8, CaseAction)> {
        prop_oneof![
            Just((0, forward("pupr"))),
            Just((0, forward("dlh"))),
            Just((1, CaseAction::Acknowledge { note: None })),
            Just((
                1,
                CaseAction::Resolve {
                    answer: "Selesai".into()
                }
            )),
            Just((
                1,
                CaseAction::Decline {
                    reason: "Bukan kewenangan".into()
                }
            )),
            Just((1, CaseAction::Return { note: None })),
            Just((0, CaseAction::Reopen { note: None })),
            Just((0, CaseAction::Publish { public: true })),
            Just((0, CaseAction::Publish { public: false })),
        ]
    }

    proptest! {
        /// Whatever the office and the agencies do, in any order: an action is taken exactly
        /// when the case's status allows it (and the sender may), a case is with an agency
        /// exactly while forwarded or in progress, closed exactly while resolved or declined,
        /// its history grows by one per change, and the journal replays to the same case.
        #[test]
        fn case_invariants_hold_under_any_sequence(steps in proptest::collection::vec((action(), any::<bool>()), 1..40)) {
            let mut h = Hub::new();
            let q = h.approved("Sampah menumpuk");
            for ((for_agency, a), as_agency) in steps {
                let before: Case = h.state.case(q).cloned().unwrap_or_default();
                let who = if as_agency && for_agency == 1 {
                    By::agency(before.agency.clone().unwrap_or_else(|| "pupr".into()), None)
                } else {
                    By::office(None)
                };
                let r = by(&mut h, who.clone(), q, a.clone());
                let allowed = a.allowed_from().contains(&before.status)
                    && match who.role {
                        crate::domain::followup::ByRole::Agency => a.for_agency()
                            && before.agency.is_some()
                            && before.agency == who.agency
                            && (before.status.is_with_agency() || before.status.is_closed()),
                        _ => a.for_office(),
                    };
                prop_assert_eq!(r.is_ok(), allowed, "{:?} by {:?} from {:?}", a, who, before.status);
                let after: Case = h.state.case(q).cloned().unwrap_or_default();
                let changed = r.map(|d| !d.events.is_empty()).unwrap_or(false);
                prop_assert_eq!(after.history.len(), before.history.len() + usize::from(changed));
                if after.status.is_with_agency() {
                    prop_assert!(after.agency.is_some() && after.due.is_some());
                }
                if after.status == CaseStatus::Received {
                    prop_assert!(after.agency.is_none());
                }
                prop_assert_eq!(after.closed_at.is_some(), after.status.is_closed());
                if after.status == CaseStatus::Resolved {
                    prop_assert!(after.answer.is_some());
                }
                if after.status == CaseStatus::Declined {
                    prop_assert!(after.reason.is_some() && after.answer.is_none());
                }
            }
            let replayed = SessionState::replay(info(), flagger(), &h.journal);
            prop_assert_eq!(replayed.case(q), h.state.case(q));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Carry-over between episodes (docs/programmes.md)
// ---------------------------------------------------------------------------------------------

mod carry {
    use super::*;
    use crate::domain::followup::{By, Case, CaseAction};
    use crate::domain::question::Episode;

    fn episode(n: u128, title: &str) -> Episode {
        Episode {
            session: Uuid::from_u128(n),
            code: "Q9QP33".into(),
            title: title.into(),
        }
    }

    fn apply(h: &mut Hub, d: &Decision) {
        for e in &d.events {
            h.state.apply(e);
        }
        h.journal.extend(d.events.iter().cloned());
    }

    /// Last month's approved question with a forwarded case, and this month's session.
    fn months() -> (Hub, Hub, Uuid) {
        let mut before = Hub::new();
        before.approved("Antrean panjang di kantor Dukcapil");
        let q = before.approved("Jalan Sako berlubang");
        before.m(&Command::Case {
            question: q,
            action: CaseAction::Forward {
                agency: "pupr".into(),
                due: chrono::NaiveDate::from_ymd_opt(2026, 12, 20),
                note: Some("Mohon dicek".into()),
            },
            by: By::moderator(Some("Rina".into())),
        });
        let mut now = Hub::new();
        now.approved("Pertanyaan bulan ini");
        (before, now, q)
    }

    fn carry_in(before: &Hub, now: &Hub, q: Uuid) -> Result<Decision, Rejection> {
        now.state.decide_carry_in(
            before.q(q).clone(),
            before.state.case(q).cloned().unwrap_or_default(),
            episode(1, "Wong Kito November"),
            By::moderator(Some("Rina".into())),
            now.now + 1,
        )
    }

    #[test]
    fn a_carried_question_keeps_its_id_texts_and_case_and_joins_the_bottom_of_the_queue() {
        let (before, mut now, q) = months();
        let d = carry_in(&before, &now, q).expect("carried");
        apply(&mut now, &d);
        let c = now.q(q);
        assert_eq!(c.text, "Jalan Sako berlubang");
        assert_eq!(c.status, Status::Approved);
        assert_eq!(c.rev, 1);
        assert_eq!(c.carried_from, Some(episode(1, "Wong Kito November")));
        assert_eq!(c.created_at, before.q(q).created_at, "when it was asked");
        assert_eq!(now.queue().last(), Some(&q));
        assert_eq!(
            now.state.case(q),
            before.state.case(q),
            "the case and its history"
        );
        assert_eq!(now.state.votes(q), 0, "votes are the episode's own");
        // The replayed journal gives the same; a second carry changes nothing.
        let replayed = now.replayed();
        assert_eq!(replayed.question(q), now.state.question(q));
        assert_eq!(replayed.case(q), now.state.case(q));
        assert!(carry_in(&before, &now, q).unwrap().events.is_empty());
    }

    #[test]
    fn only_approved_questions_never_carried_may_be_carried_and_not_into_a_closed_session() {
        let (mut before, mut now, q) = months();
        let pending = before.ask(AUTHOR, "Belum disetujui");
        let r = carry_in(&before, &now, pending).unwrap_err();
        assert_eq!(r.code, ErrorCode::Invalid);
        let mut closed = Hub::new();
        closed.m(&Command::Session {
            status: Some(SessionStatus::Closed),
            title: None,
            speakers: None,
            starts_at: None,
            rehearsal: None,
        });
        assert_eq!(
            carry_in(&before, &closed, q).unwrap_err().code,
            ErrorCode::Closed
        );
        // A question of the same id that was not carried here is a conflict.
        let d = carry_in(&before, &now, q).unwrap();
        apply(&mut now, &d);
        let mut marked = before.q(q).clone();
        marked.carried_to = Some(episode(2, "Wong Kito Desember"));
        let r = now
            .state
            .decide_carry_in(
                marked,
                Case::default(),
                episode(1, "x"),
                By::moderator(None),
                T0,
            )
            .map(|d| d.events.len());
        assert_eq!(r, Ok(0), "already here: nothing to do");
        let other = Hub::new();
        let mut stranger = before.q(q).clone();
        stranger.carried_to = Some(episode(2, "Wong Kito Desember"));
        let r = other
            .state
            .decide_carry_in(
                stranger,
                Case::default(),
                episode(1, "x"),
                By::moderator(None),
                T0,
            )
            .unwrap_err();
        assert_eq!(
            r.code,
            ErrorCode::Invalid,
            "a question carried once is not carried again"
        );
    }

    #[test]
    fn the_earlier_episode_marks_a_carried_question_and_refuses_changes_to_it() {
        let (mut before, _now, q) = months();
        let d = before
            .state
            .decide_carry_out(q, episode(2, "Wong Kito Desember"), By::moderator(None), T0)
            .unwrap();
        apply(&mut before, &d);
        assert_eq!(
            before.q(q).carried_to,
            Some(episode(2, "Wong Kito Desember"))
        );
        for cmd in [reject(q), live(q), edit(q, "Teks lain")] {
            let r = before.err(moderator(), &cmd);
            assert_eq!(r.code, ErrorCode::Conflict, "{cmd:?}: {r:?}");
        }
        let r = before.err(audience(OTHER), &vote(q, true));
        assert_eq!(r.code, ErrorCode::Conflict);
        let r = before
            .state
            .decide_case(
                &By::moderator(None),
                q,
                &CaseAction::Resolve {
                    answer: "Sudah".into(),
                },
                T0,
            )
            .unwrap_err();
        assert_eq!(r.code, ErrorCode::Conflict);
        assert!(r.message.contains("Wong Kito Desember"), "{}", r.message);
        let again = before
            .state
            .decide_carry_out(q, episode(2, "Wong Kito Desember"), By::moderator(None), T0)
            .unwrap();
        assert!(again.events.is_empty());
        assert_eq!(before.replayed().question(q), before.state.question(q));
    }
}
