//! The server-to-client wire: every frame a client receives, as typed values serialized from
//! borrowed views (docs/protocol.md, "Server frames"). Each frame is encoded once per view and
//! the bytes are shared by every socket of that view.
//!
//! Keys come out in alphabetical order (each struct declares its fields in that order), the
//! order the wire has always had; the tests at the end pin the exact bytes of every frame.

use std::collections::BTreeMap;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::view::{
    GraphicView, OverlayQuestion, OverlayView, PollView, QuestionView, StageView,
};
use crate::domain::{ErrorCode, Rejection, Role, SessionInfo, SessionStatus, Speaker};

/// Serializes a frame. The frames below hold only strings, numbers, booleans and maps with
/// string keys, so this cannot fail; were it to, the error is logged and an empty object sent.
pub fn encode<T: Serialize>(frame: &T) -> Utf8Bytes {
    match serde_json::to_string(frame) {
        Ok(s) => Utf8Bytes::from(s),
        Err(e) => {
            tracing::error!(error = %e, "a frame could not be serialized");
            Utf8Bytes::from_static("{}")
        }
    }
}

/// The full links of a session's roles (keys in fragments): in a moderator's `session`, and in
/// the HTTP answers that create or list sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Links {
    /// The phone page: `BASE/j/CODE`, or `BASE/p/SLUG` for an episode of a programme.
    pub audience: String,
    /// The radio desk page: `BASE/desk/ID#k=KEY`.
    pub desk: String,
    /// Where gateways post questions: `BASE/api/sessions/ID/intake` (the key goes in a header).
    pub intake: String,
    /// The moderator console: `BASE/m/ID#k=KEY`.
    pub moderator: String,
    /// The broadcast overlay: `BASE/overlay/ID#k=KEY`.
    pub overlay: String,
    /// The phone page in press mode: `BASE/j/CODE#p=PRESSKEY`.
    pub press: String,
    /// The speaker screen: `BASE/screen/ID#k=KEY`.
    pub screen: String,
}

/// How the public joins a session, for every role's pages (the speaker screen's join line, the
/// overlay's call to action): never built from a browser's own address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Join {
    /// The code to show for joining when it is not the session's own: the join code of the
    /// programme this session is the current episode of (`WONGKITO`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The SMS number people can also ask through (display text), or `null`.
    pub sms: Option<String>,
    /// The phone page: `BASE/j/CODE`.
    pub url: String,
    /// The WhatsApp number people can also ask through (display text), or `null`.
    pub whatsapp: Option<String>,
}

/// The session as a frame carries it: no keys; `links` for moderators only.
#[derive(Debug, Serialize)]
pub struct SessionBody<'a> {
    /// The join code.
    pub code: &'a str,
    /// The session id.
    pub id: Uuid,
    /// How the public joins; in every frame sent on a socket (not in exports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join: Option<&'a Join>,
    /// Moderators only: the links of every role, keys included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<&'a Links>,
    /// The programme this session is an episode of: `{slug, title}`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programme: Option<&'a ProgrammeRef>,
    /// The panel: `{id, name, role}` each.
    pub speakers: &'a [Speaker],
    /// `true` while the session is a rehearsal; absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rehearsal: bool,
    /// When it is to start: RFC 3339 UTC with milliseconds; absent when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// `open`, `paused` or `closed`.
    pub status: SessionStatus,
    /// The session's title.
    pub title: &'a str,
}

impl<'a> SessionBody<'a> {
    /// The session as every role sees it, with `links` when given (moderators).
    pub fn new(info: &'a SessionInfo, links: Option<&'a Links>) -> Self {
        Self {
            code: &info.code,
            id: info.id,
            join: None,
            links,
            programme: None,
            speakers: &info.speakers,
            rehearsal: info.rehearsal,
            starts_at: info.starts_at.map(crate::domain::view::rfc3339),
            status: info.status,
            title: &info.title,
        }
    }
}

impl<'a> SessionBody<'a> {
    /// The same, with how the public joins.
    pub fn with_join(mut self, join: &'a Join) -> Self {
        self.join = Some(join);
        self
    }

    /// The same, with the programme it is an episode of.
    pub fn with_programme(mut self, programme: Option<&'a ProgrammeRef>) -> Self {
        self.programme = programme;
        self
    }
}

/// A programme, as an episode's session view names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgrammeRef {
    /// Moderators only: the programme's links, keys included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Its address (`/p/{slug}`).
    pub slug: String,
    /// Its title.
    pub title: String,
}

/// The office's own words on the phone page (`null`: the page's own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhoneTexts {
    /// The consent line.
    pub consent: Option<String>,
    /// The house rules.
    pub rules: Option<String>,
}

/// The moderator console's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Moderation {
    /// Ready rejection reasons (empty: the console's own).
    pub reasons: Vec<String>,
}

/// A phone's own device: its token and the questions it votes for.
#[derive(Debug, Serialize)]
pub struct You {
    /// This device's token: the client keeps it and sends it in later `hello`s.
    pub device: String,
    /// Ids of the questions this device votes for (also ones it no longer sees), sorted.
    pub votes: Vec<Uuid>,
}

/// `welcome`: the first frame after `hello`, full (`resumed` false, with `questions`) or
/// resumed at the client's `seq` (the missed events follow).
#[derive(Debug, Serialize)]
pub struct Welcome<'a> {
    /// Moderators: the agencies cases can be forwarded to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agencies: Option<Vec<AgencyInfo>>,
    /// The radio desk: its settings (`{stations}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk: Option<&'a DeskTexts>,
    /// The session's current history; the client sends it back in `since`.
    pub epoch: &'a str,
    /// Moderators: the console's settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<&'a Moderation>,
    /// Moderator, screen and overlay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlay: Option<OverlayView<'a>>,
    /// Audience and press: the office's own words on the phone page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<&'a PhoneTexts>,
    /// A full welcome's polls, as the role sees them (not for the overlay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polls: Option<Vec<PollView<'a>>>,
    /// A full welcome's questions, as the role sees them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub questions: Option<Vec<QuestionView<'a>>>,
    /// `true` when this continues the client's copy: no `questions`; the missed events follow.
    pub resumed: bool,
    /// The role of this socket.
    pub role: Role,
    /// Full: the last `seq` issued in this epoch (0 before any event); resumed: `since.seq`.
    pub seq: u64,
    /// The session; moderators' carries `links`.
    pub session: SessionBody<'a>,
    /// Moderator and screen: the answer timer and the backstage message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageView<'a>>,
    r#type: &'static str,
    /// Audience and press.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub you: Option<You>,
}

impl<'a> Welcome<'a> {
    /// A welcome; the optional parts are set by the caller.
    pub fn new(epoch: &'a str, role: Role, seq: u64, session: SessionBody<'a>) -> Self {
        Self {
            agencies: None,
            desk: None,
            epoch,
            moderation: None,
            overlay: None,
            phone: None,
            polls: None,
            questions: None,
            resumed: false,
            role,
            seq,
            session,
            stage: None,
            r#type: "welcome",
            you: None,
        }
    }
}

/// The radio desk's settings, in its welcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskTexts {
    /// The stations an entry can come through (setting `desk.stations`).
    pub stations: Vec<String>,
}

/// An agency as moderators see it: `{id, name, short}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyInfo {
    /// The agency's id (`pupr`), in its link and in a case's `agency`.
    pub id: String,
    /// Its full name.
    pub name: String,
    /// Its short name, for cards and the board.
    pub short: String,
}

/// `question`: a question was created or changed, in the receiving view.
#[derive(Debug, Serialize)]
pub struct QuestionFrame<'a> {
    /// The question in the receiving view (moderator, author or public): upsert by `id`.
    pub question: QuestionView<'a>,
    /// The event's position in the session's history.
    pub seq: u64,
    r#type: &'static str,
}

impl<'a> QuestionFrame<'a> {
    /// The frame of one question view.
    pub fn new(seq: u64, question: QuestionView<'a>) -> Self {
        Self {
            question,
            seq,
            r#type: "question",
        }
    }
}

/// `removed`: a question left the public view.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The question that stopped being public (rejected or merged).
    pub id: Uuid,
    /// The event's position in the session's history.
    pub seq: u64,
    r#type: &'static str,
}

impl Removed {
    /// The frame for question `id`.
    pub fn new(seq: u64, id: Uuid) -> Self {
        Self {
            id,
            seq,
            r#type: "removed",
        }
    }
}

/// Vote counts by question id, in id order.
pub type Counts = BTreeMap<Uuid, usize>;

/// `poll`: a poll was created, changed status or its counts changed, in the receiving view.
#[derive(Debug, Serialize)]
pub struct PollFrame<'a> {
    /// The poll in the receiving view: upsert by `id`.
    pub poll: PollView<'a>,
    /// The event's position in the session's history.
    pub seq: u64,
    r#type: &'static str,
}

impl<'a> PollFrame<'a> {
    /// The frame of a poll view.
    pub fn new(seq: u64, poll: PollView<'a>) -> Self {
        Self {
            poll,
            seq,
            r#type: "poll",
        }
    }
}

/// `poll_removed`: a draft poll was deleted (moderators only: only they saw it).
#[derive(Debug, Serialize)]
pub struct PollRemoved {
    /// The deleted poll's id.
    pub poll: Uuid,
    /// The event's position in the session's history.
    pub seq: u64,
    r#type: &'static str,
}

impl PollRemoved {
    /// The frame of a deleted poll.
    pub fn new(seq: u64, poll: Uuid) -> Self {
        Self {
            poll,
            seq,
            r#type: "poll_removed",
        }
    }
}

/// `votes`: the latest counts of the questions whose votes changed.
#[derive(Debug, Serialize)]
pub struct Votes<'a> {
    /// The current count of each question whose votes changed, by id.
    pub counts: &'a Counts,
    /// The round's position in the session's history.
    pub seq: u64,
    r#type: &'static str,
}

impl<'a> Votes<'a> {
    /// The frame of some counts.
    pub fn new(seq: u64, counts: &'a Counts) -> Self {
        Self {
            counts,
            seq,
            r#type: "votes",
        }
    }
}

/// Sockets connected per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PresenceCounts {
    /// Audience sockets (phones without the press code).
    pub audience: usize,
    /// Radio desk pages.
    pub desk: usize,
    /// Moderator consoles.
    pub moderator: usize,
    /// Broadcast overlays.
    pub overlay: usize,
    /// Press sockets (phones with the press code).
    pub press: usize,
    /// Speaker screens.
    pub screen: usize,
}

impl PresenceCounts {
    /// Counts given in [`Role::ALL`] order.
    pub fn from_roles(n: [usize; 6]) -> Self {
        let [audience, press, moderator, screen, overlay, desk] = n;
        Self {
            audience,
            desk,
            moderator,
            overlay,
            press,
            screen,
        }
    }
}

/// `presence` (moderators): sockets connected per role, when that changed. Not numbered.
#[derive(Debug, Serialize)]
pub struct Presence {
    /// The sockets connected to the session, by role.
    pub counts: PresenceCounts,
    r#type: &'static str,
}

impl Presence {
    /// The frame of some counts.
    pub fn new(counts: PresenceCounts) -> Self {
        Self {
            counts,
            r#type: "presence",
        }
    }
}

/// `overlay`: what the lower third shows changed.
#[derive(Debug, Serialize)]
pub struct Overlay<'a> {
    /// The call to action or a speaker's name strap on air, or `null`.
    pub graphic: Option<GraphicView<'a>>,
    /// The poll whose result is on air, or `null`.
    pub poll: Option<PollView<'a>>,
    /// The live question in the overlay's view, or `null` when none is live.
    pub question: Option<OverlayQuestion<'a>>,
    /// The event's position in the session's history.
    pub seq: u64,
    r#type: &'static str,
    /// Whether the lower third is on air.
    pub visible: bool,
}

impl<'a> Overlay<'a> {
    /// The frame of the overlay's state.
    pub fn new(seq: u64, view: OverlayView<'a>) -> Self {
        Self {
            graphic: view.graphic,
            poll: view.poll,
            question: view.question,
            seq,
            r#type: "overlay",
            visible: view.visible,
        }
    }
}

/// `stage`: the speaker screen's timer or message changed (moderators and the screen).
#[derive(Debug, Serialize)]
pub struct Stage<'a> {
    /// The event's position in the session's history.
    pub seq: u64,
    /// The timer and the message.
    pub stage: StageView<'a>,
    r#type: &'static str,
}

impl<'a> Stage<'a> {
    /// The frame of the stage's state.
    pub fn new(seq: u64, stage: StageView<'a>) -> Self {
        Self {
            seq,
            stage,
            r#type: "stage",
        }
    }
}

/// `session`: title, status or speakers changed.
#[derive(Debug, Serialize)]
pub struct Session<'a> {
    /// The event's position in the session's history.
    pub seq: u64,
    /// The session's new state; moderators' carries `links`.
    pub session: SessionBody<'a>,
    r#type: &'static str,
}

impl<'a> Session<'a> {
    /// The frame of the session's new state.
    pub fn new(seq: u64, session: SessionBody<'a>) -> Self {
        Self {
            seq,
            session,
            r#type: "session",
        }
    }
}

/// `ok`: the command with this `ref` was stored; `ask` and `enter` carry their question.
#[derive(Debug, Serialize)]
pub struct Ok<'a> {
    /// `poll`: the poll in the moderator view; `choose`: in the device's own view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollView<'a>>,
    /// `ask`: the question as it is now in the author view; `enter`: in the moderator view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionView<'a>>,
    /// The command's `ref`; `null` when it had none.
    pub r#ref: Option<&'a str>,
    /// `ask` and `enter`: the question's tracking code (`K7Q-M3X-R9T`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    r#type: &'static str,
}

impl<'a> Ok<'a> {
    /// The reply to the command with `client_ref`.
    pub fn new(client_ref: Option<&'a str>, question: Option<QuestionView<'a>>) -> Self {
        Self {
            poll: None,
            question,
            r#ref: client_ref,
            tracking: None,
            r#type: "ok",
        }
    }
}

/// `error`: the command with this `ref` was refused, and why.
#[derive(Debug, Serialize)]
pub struct Error<'a> {
    /// The contract's error code; a client treats one it does not know as a refusal.
    pub code: ErrorCode,
    /// For a person: what was wrong (it names the field).
    pub message: &'a str,
    /// The command's `ref`; `null` when the frame had none or it could not be read.
    pub r#ref: Option<&'a str>,
    /// With `rate_limited`: milliseconds until the quota lets the next one through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// With `conflict`: the current `rev` of the command's question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rev: Option<u64>,
    r#type: &'static str,
}

impl<'a> Error<'a> {
    /// The reply refusing the command with `client_ref`.
    pub fn new(client_ref: Option<&'a str>, r: &'a Rejection) -> Self {
        Self {
            code: r.code,
            message: &r.message,
            r#ref: client_ref,
            retry_after_ms: r.retry_after_ms,
            rev: r.rev,
            r#type: "error",
        }
    }
}

/// The encoded `error` frame of a rejection.
pub fn error(client_ref: Option<&str>, r: &Rejection) -> Utf8Bytes {
    encode(&Error::new(client_ref, r))
}

#[cfg(test)]
mod tests {
    //! The exact bytes of every frame: a change here is a change of the wire contract.
    use super::*;
    use crate::domain::view::{self, AuthorIds, QuestionViewKind};
    use crate::domain::{Channel, Question, Source, Status};

    const Q: Uuid = Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888);

    fn info() -> SessionInfo {
        SessionInfo {
            id: Uuid::from_u128(0x5E55),
            code: "K7M2QX".into(),
            title: "Diskusi \"Wong Kito\"".into(),
            status: SessionStatus::Open,
            speakers: vec![Speaker {
                id: "s1".into(),
                name: "Ratu Dewa".into(),
                role: "Sekda".into(),
            }],
            created_at: 0,
            starts_at: None,
            rehearsal: false,
        }
    }

    fn question() -> Question {
        Question {
            id: Q,
            rev: 3,
            text: "Kapan jalan diperbaiki?".into(),
            original_text: Some("kapan jalan diperbaiki".into()),
            name: Some("Sari".into()),
            source: Source::Operator,
            channel: Some(Channel::Radio),
            outlet: None,
            to: Some("s1".into()),
            status: Status::Live,
            position: Some(2.5),
            merged_into: None,
            reason: None,
            flags: vec!["personal_data".into()],
            author: None,
            net: None,
            air_text: None,
            unmasked: false,
            client_ref: "e1".into(),
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_001_500,
            contact: None,
            place: None,
            topic: None,
            via: None,
            station: None,
            credit: false,
            carried_from: None,
            carried_to: None,
        }
    }

    fn text(b: Utf8Bytes) -> String {
        b.as_str().to_string()
    }

    fn links() -> Links {
        Links {
            desk: "http://h/desk/x#k=d".into(),
            intake: "http://h/api/sessions/x/intake".into(),
            audience: "http://h/j/K7M2QX".into(),
            moderator: "http://h/m/x#k=m".into(),
            overlay: "http://h/overlay/x#k=o".into(),
            press: "http://h/j/K7M2QX#p=p".into(),
            screen: "http://h/screen/x#k=s".into(),
        }
    }

    #[test]
    fn question_frames_in_each_view() {
        let state = crate::domain::SessionState::new(
            info(),
            std::sync::Arc::new(crate::domain::flags::Flagger::from_list("")),
        );
        let q = question();
        let authors = AuthorIds::new([0; 32]);
        let public = view::question(&state, &q, QuestionViewKind::Public, &authors);
        assert_eq!(
            text(encode(&QuestionFrame::new(7, public))),
            r#"{"question":{"channel":"radio","created_at":"2023-11-14T22:13:20.000Z","id":"11112222-3333-4444-5555-666677778888","merged_into":null,"name":"Sari","outlet":null,"position":2.5,"rev":3,"source":"operator","status":"live","text":"Kapan jalan diperbaiki?","to":"s1","updated_at":"2023-11-14T22:13:21.500Z","votes":0},"seq":7,"type":"question"}"#
        );
        let author = view::question(&state, &q, QuestionViewKind::Author, &authors);
        assert_eq!(
            text(encode(&QuestionFrame::new(8, author))),
            r#"{"question":{"channel":"radio","created_at":"2023-11-14T22:13:20.000Z","edited":true,"id":"11112222-3333-4444-5555-666677778888","merged_into":null,"name":"Sari","outlet":null,"position":2.5,"reason":null,"rev":3,"source":"operator","status":"live","text":"Kapan jalan diperbaiki?","to":"s1","tracking":"FW2-WH4-NHP","updated_at":"2023-11-14T22:13:21.500Z","votes":0},"seq":8,"type":"question"}"#
        );
        let moderator = view::question(&state, &q, QuestionViewKind::Moderator, &authors);
        assert_eq!(
            text(encode(&QuestionFrame::new(9, moderator))),
            r#"{"question":{"address_banned":null,"air_text":null,"author":null,"banned":false,"case":{"agency":null,"due":null,"public":false,"status":"received"},"channel":"radio","contact":null,"credit":false,"created_at":"2023-11-14T22:13:20.000Z","flags":["personal_data"],"id":"11112222-3333-4444-5555-666677778888","masked_text":null,"merged_into":null,"name":"Sari","original_text":"kapan jalan diperbaiki","outlet":null,"place":null,"position":2.5,"reason":null,"rev":3,"source":"operator","station":null,"status":"live","text":"Kapan jalan diperbaiki?","to":"s1","topic":null,"tracking":"FW2-WH4-NHP","unmasked":false,"updated_at":"2023-11-14T22:13:21.500Z","via":null,"votes":0},"seq":9,"type":"question"}"#
        );
        assert_eq!(
            text(encode(&Removed::new(10, Q))),
            r#"{"id":"11112222-3333-4444-5555-666677778888","seq":10,"type":"removed"}"#
        );
    }

    #[test]
    fn session_welcome_overlay_votes_presence_frames() {
        let info = info();
        let l = links();
        assert_eq!(
            text(encode(&Session::new(4, SessionBody::new(&info, None)))),
            r#"{"seq":4,"session":{"code":"K7M2QX","id":"00000000-0000-0000-0000-000000005e55","speakers":[{"id":"s1","name":"Ratu Dewa","role":"Sekda"}],"status":"open","title":"Diskusi \"Wong Kito\""},"type":"session"}"#
        );
        let mut state = crate::domain::SessionState::new(
            info.clone(),
            std::sync::Arc::new(crate::domain::flags::Flagger::from_list("")),
        );
        let empty = text(encode(&Overlay::new(5, view::overlay(&state))));
        let mut q = question();
        q.text = "Kapan jalan diperbaiki? Hubungi 0812-3456-7890".into();
        q.air_text = Some("Jalan rusak".into());
        state.apply(&crate::domain::Event::Put {
            question: q,
            done: None,
        });
        state.apply(&crate::domain::Event::Overlay { visible: true });
        let join = Join {
            code: None,
            sms: None,
            url: "http://h/j/K7M2QX".into(),
            whatsapp: Some("0811 7000 123".into()),
        };
        let moderation = Moderation {
            reasons: vec!["Di luar topik".into()],
        };
        let mut w = Welcome::new(
            "ep",
            Role::Moderator,
            12,
            SessionBody::new(&info, Some(&l)).with_join(&join),
        );
        w.overlay = Some(view::overlay(&state));
        w.questions = Some(vec![]);
        w.moderation = Some(&moderation);
        w.stage = Some(view::stage(&state, 0));
        assert_eq!(
            text(encode(&w)),
            r#"{"epoch":"ep","moderation":{"reasons":["Di luar topik"]},"overlay":{"graphic":null,"poll":null,"question":{"air_text":"Jalan rusak","credit":null,"id":"11112222-3333-4444-5555-666677778888","name":"Sari","outlet":null,"source":"operator","text":"Kapan jalan diperbaiki? Hubungi •••","to":"s1"},"visible":true},"questions":[],"resumed":false,"role":"moderator","seq":12,"session":{"code":"K7M2QX","id":"00000000-0000-0000-0000-000000005e55","join":{"sms":null,"url":"http://h/j/K7M2QX","whatsapp":"0811 7000 123"},"links":{"audience":"http://h/j/K7M2QX","desk":"http://h/desk/x#k=d","intake":"http://h/api/sessions/x/intake","moderator":"http://h/m/x#k=m","overlay":"http://h/overlay/x#k=o","press":"http://h/j/K7M2QX#p=p","screen":"http://h/screen/x#k=s"},"speakers":[{"id":"s1","name":"Ratu Dewa","role":"Sekda"}],"status":"open","title":"Diskusi \"Wong Kito\""},"stage":{"message":null,"timer":{"duration_ms":180000,"remaining_ms":180000,"running":false}},"type":"welcome"}"#
        );
        let phone = PhoneTexts {
            consent: Some("Nama boleh tampil di TV.".into()),
            rules: None,
        };
        let mut w = Welcome::new("ep", Role::Audience, 12, SessionBody::new(&info, None));
        w.phone = Some(&phone);
        assert_eq!(
            text(encode(&w)),
            r#"{"epoch":"ep","phone":{"consent":"Nama boleh tampil di TV.","rules":null},"resumed":false,"role":"audience","seq":12,"session":{"code":"K7M2QX","id":"00000000-0000-0000-0000-000000005e55","speakers":[{"id":"s1","name":"Ratu Dewa","role":"Sekda"}],"status":"open","title":"Diskusi \"Wong Kito\""},"type":"welcome"}"#
        );
        state.apply(&crate::domain::Event::Graphic {
            graphic: Some(crate::domain::stage::Graphic::Speaker {
                speaker: "s1".into(),
            }),
        });
        state.apply(&crate::domain::Event::Overlay { visible: false });
        assert_eq!(
            text(encode(&Overlay::new(6, view::overlay(&state)))),
            r#"{"graphic":{"speaker":{"id":"s1","name":"Ratu Dewa","role":"Sekda"},"type":"speaker"},"poll":null,"question":{"air_text":"Jalan rusak","credit":null,"id":"11112222-3333-4444-5555-666677778888","name":"Sari","outlet":null,"source":"operator","text":"Kapan jalan diperbaiki? Hubungi •••","to":"s1"},"seq":6,"type":"overlay","visible":false}"#
        );
        state.apply(&crate::domain::Event::Message {
            text: Some("1 menit lagi".into()),
        });
        assert_eq!(
            text(encode(&Stage::new(7, view::stage(&state, 0)))),
            r#"{"seq":7,"stage":{"message":"1 menit lagi","timer":{"duration_ms":180000,"remaining_ms":180000,"running":false}},"type":"stage"}"#
        );
        let mut w = Welcome::new("ep", Role::Audience, 12, SessionBody::new(&info, None));
        w.resumed = true;
        w.you = Some(You {
            device: "tok".into(),
            votes: vec![Q],
        });
        assert_eq!(
            text(encode(&w)),
            r#"{"epoch":"ep","resumed":true,"role":"audience","seq":12,"session":{"code":"K7M2QX","id":"00000000-0000-0000-0000-000000005e55","speakers":[{"id":"s1","name":"Ratu Dewa","role":"Sekda"}],"status":"open","title":"Diskusi \"Wong Kito\""},"type":"welcome","you":{"device":"tok","votes":["11112222-3333-4444-5555-666677778888"]}}"#
        );
        assert_eq!(
            empty,
            r#"{"graphic":null,"poll":null,"question":null,"seq":5,"type":"overlay","visible":false}"#
        );
        let counts: Counts = [(Q, 3), (Uuid::from_u128(1), 1)].into_iter().collect();
        assert_eq!(
            text(encode(&Votes::new(6, &counts))),
            r#"{"counts":{"00000000-0000-0000-0000-000000000001":1,"11112222-3333-4444-5555-666677778888":3},"seq":6,"type":"votes"}"#
        );
        assert_eq!(
            text(encode(&Presence::new(PresenceCounts::from_roles([
                5, 1, 2, 1, 1, 2
            ])))),
            r#"{"counts":{"audience":5,"desk":2,"moderator":2,"overlay":1,"press":1,"screen":1},"type":"presence"}"#
        );
    }

    #[test]
    fn replies() {
        assert_eq!(
            text(encode(&Ok::new(Some("r1"), None))),
            r#"{"ref":"r1","type":"ok"}"#
        );
        assert_eq!(
            text(encode(&Ok::new(None, None))),
            r#"{"ref":null,"type":"ok"}"#
        );
        let q = question();
        let r = Rejection::conflict(&q, "the question changed meanwhile");
        assert_eq!(
            text(error(Some("r2"), &r)),
            r#"{"code":"conflict","message":"the question changed meanwhile","ref":"r2","rev":3,"type":"error"}"#
        );
        let r = Rejection::rate_limited(crate::domain::CommandKind::Vote, 1500);
        assert_eq!(
            text(error(None, &r)),
            r#"{"code":"rate_limited","message":"too many votes from this device: wait 2s","ref":null,"retry_after_ms":1500,"type":"error"}"#
        );
    }
}
