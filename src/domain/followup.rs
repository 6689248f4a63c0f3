//! After the hour: every question is a case the office can forward to an agency (OPD), with its
//! own life apart from the on-air status (docs/followup.md). Also the citizen's tracking code,
//! the private contact, the place and topic lists, and who did what.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::command::{Decision, ErrorCode, Rejection};
use super::event::Event;
use super::session::SessionState;
use super::text::{self, FieldError};

/// Limits of the follow-up fields, in Unicode scalar values after trimming and NFC.
pub mod limits {
    /// A citizen's contact (phone or e-mail); empty is none.
    pub const CONTACT: (usize, usize) = (0, 100);
    /// An agency's answer (`resolve`).
    pub const ANSWER: (usize, usize) = (1, 2000);
    /// Why a case was declined (`decline`).
    pub const DECLINE_REASON: (usize, usize) = (1, 500);
    /// A note with `forward`, `acknowledge`, `return` or `reopen`; empty is none.
    pub const NOTE: (usize, usize) = (0, 500);
    /// An agency's name.
    pub const AGENCY_NAME: (usize, usize) = (1, 120);
    /// An agency's short name (shown on cards and the board).
    pub const AGENCY_SHORT: (usize, usize) = (1, 30);
    /// The name of the person acting (a moderator, an office or agency officer); empty is none.
    pub const BY_NAME: (usize, usize) = (0, 60);
}

/// The symbols of tracking codes: the digits 2-9 and the capitals without B, I, L, O, S and
/// Z, so no symbol can be taken for another (0/O, 1/I/L, 5/S, 2/Z, 8/B): 28 symbols; nine of
/// them make about 43 bits.
pub const TRACKING_SYMBOLS: &[u8; 28] = b"23456789ACDEFGHJKMNPQRTUVWXY";

/// Characters of a tracking code.
pub const TRACKING_LEN: usize = 9;

/// The tracking code of a question: 9 of [`TRACKING_SYMBOLS`], derived from the random part of
/// its id (so it never changes and every question has one, also one journaled before codes
/// existed), shown in groups of three (`K7Q-M3X-R9T`).
pub fn tracking_code(id: Uuid) -> String {
    let b = id.as_bytes();
    // The last 8 bytes of a v4 id: 62 random bits (the variant takes two).
    let mut n = u64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]])
        & 0x3FFF_FFFF_FFFF_FFFF;
    let base = TRACKING_SYMBOLS.len() as u64;
    let mut out = String::with_capacity(TRACKING_LEN + 2);
    for i in 0..TRACKING_LEN {
        if i == 3 || i == 6 {
            out.push('-');
        }
        out.push(TRACKING_SYMBOLS[(n % base) as usize] as char);
        n /= base;
    }
    out
}

/// Reads a typed tracking code: case-insensitive; spaces, dots and dashes ignored. The
/// canonical form (`K7Q-M3X-R9T`) or why it cannot be one.
pub fn parse_tracking(raw: &str) -> Result<String, FieldError> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{2010}'..='\u{2015}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.chars().count() != TRACKING_LEN {
        return Err(FieldError(format!(
            "a tracking code has {TRACKING_LEN} letters and digits, like K7Q-M3X-R9T"
        )));
    }
    if let Some(bad) = cleaned
        .chars()
        .find(|c| !c.is_ascii() || !TRACKING_SYMBOLS.contains(&(*c as u8)))
    {
        return Err(FieldError(format!(
            "`{bad}` is not used in tracking codes (they have no 0, O, 1, I, L, S, B or Z)"
        )));
    }
    Ok(format!(
        "{}-{}-{}",
        &cleaned[0..3],
        &cleaned[3..6],
        &cleaned[6..9]
    ))
}

/// A place in the city: a kecamatan and, optionally, one of its kelurahan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The kecamatan (district), as in the place list.
    pub kecamatan: String,
    /// The kelurahan (urban village) within it, as in the place list.
    #[serde(default)]
    pub kelurahan: Option<String>,
}

/// One kecamatan of the place list with its kelurahan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct District {
    /// The kecamatan's name.
    pub kecamatan: String,
    /// Its kelurahan.
    pub kelurahan: Vec<String>,
}

/// The lists the phone page and the operator form offer: places and topics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// The city's kecamatan and their kelurahan.
    pub places: Vec<District>,
    /// The topics a question may be filed under.
    pub topics: Vec<String>,
}

/// Palembang's 18 kecamatan and their kelurahan: the default place list.
pub const PALEMBANG_PLACES: &str = include_str!("../../config/places-palembang.json");

/// The default topics.
pub const DEFAULT_TOPICS: [&str; 12] = [
    "jalan",
    "banjir",
    "sampah",
    "air bersih",
    "listrik",
    "transportasi",
    "perizinan",
    "kesehatan",
    "pendidikan",
    "sosial",
    "keamanan",
    "lainnya",
];

impl Default for Options {
    fn default() -> Self {
        Self {
            places: serde_json::from_str(PALEMBANG_PLACES).unwrap_or_default(),
            topics: DEFAULT_TOPICS.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl Options {
    /// Checks a place against the list: the kecamatan must be one of it, the kelurahan (when
    /// given) one of that kecamatan's. Names match case-insensitively; the list's spelling is kept.
    pub fn place(&self, p: &Place) -> Result<Place, Rejection> {
        let d = self
            .places
            .iter()
            .find(|d| d.kecamatan.eq_ignore_ascii_case(p.kecamatan.trim()))
            .ok_or_else(|| {
                Rejection::invalid(format!(
                    "`place.kecamatan` \"{}\" is not in the list of places",
                    p.kecamatan
                ))
            })?;
        let kelurahan = match p.kelurahan.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(k) => Some(
                d.kelurahan
                    .iter()
                    .find(|x| x.eq_ignore_ascii_case(k))
                    .ok_or_else(|| {
                        Rejection::invalid(format!(
                            "`place.kelurahan` \"{k}\" is not a kelurahan of {}",
                            d.kecamatan
                        ))
                    })?
                    .clone(),
            ),
        };
        Ok(Place {
            kecamatan: d.kecamatan.clone(),
            kelurahan,
        })
    }

    /// Checks a topic against the list (case-insensitive; the list's spelling is kept).
    pub fn topic(&self, t: &str) -> Result<String, Rejection> {
        self.topics
            .iter()
            .find(|x| x.eq_ignore_ascii_case(t.trim()))
            .cloned()
            .ok_or_else(|| {
                Rejection::invalid(format!(
                    "`topic` \"{t}\" is not one of the topics: {}",
                    self.topics.join(", ")
                ))
            })
    }
}

/// Checks a citizen's contact: a phone number (`08…`, `+62…`, `62…`; 9-15 digits once spaces,
/// dashes, dots and brackets are removed) or an e-mail address. The stored form: digits with a
/// leading `+` kept, or the address trimmed. Empty is none.
pub fn validate_contact(raw: &str) -> Result<Option<String>, FieldError> {
    let t = text::checked("contact", raw, limits::CONTACT)?;
    if t.is_empty() {
        return Ok(None);
    }
    if t.contains('@') {
        let mut parts = t.split('@');
        let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let ok = parts.next().is_none()
            && !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !t.chars().any(char::is_whitespace);
        return if ok {
            Ok(Some(t))
        } else {
            Err(FieldError(
                "`contact` is not an e-mail address like nama@contoh.id".into(),
            ))
        };
    }
    let plus = t.starts_with('+');
    let digits: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'))
        .collect();
    let ok = digits.chars().all(|c| c.is_ascii_digit())
        && (9..=15).contains(&digits.len())
        && (digits.starts_with('0') || digits.starts_with("62") || plus)
        && t.chars().filter(|c| *c == '+').count() <= usize::from(plus);
    if ok {
        Ok(Some(if plus { format!("+{digits}") } else { digits }))
    } else {
        Err(FieldError(
            "`contact` must be a phone number (08…, +62…) of 9-15 digits or an e-mail address"
                .into(),
        ))
    }
}

/// Checks the name of the person acting (a moderator, an officer); empty is none.
pub fn validate_by_name(raw: &str) -> Result<Option<String>, FieldError> {
    let t = text::checked("by", raw, limits::BY_NAME)?;
    Ok((!t.is_empty()).then_some(t))
}

/// Checks an agency id: 2-32 of `a-z`, `0-9` and `-`, starting with a letter.
pub fn validate_agency_id(raw: &str) -> Result<String, FieldError> {
    let ok = (2..=32).contains(&raw.len())
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(raw.to_string())
    } else {
        Err(FieldError(
            "`id` must be 2-32 of a-z, 0-9 and -, starting with a letter (such as pupr)".into(),
        ))
    }
}

/// An agency id made from a short name: lower case, other characters as `-`.
pub fn agency_slug(short: &str) -> String {
    let mut s = String::new();
    for c in short.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s.chars().take(32).collect()
    } else {
        format!("a-{s}").chars().take(32).collect()
    }
}

/// Checks a due date `YYYY-MM-DD`.
pub fn validate_due(raw: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError(format!("`due` \"{raw}\" is not a date like 2026-12-31")))
}

/// Where a case stands: a life apart from the question's on-air status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Every question starts here; also after an agency hands a case back.
    #[default]
    Received,
    /// Sent to an agency, with a due date.
    Forwarded,
    /// The agency acknowledged it and works on it.
    InProgress,
    /// Answered (the answer is kept).
    Resolved,
    /// Not to be followed up (the reason is kept).
    Declined,
    /// Opened again after it was resolved or declined.
    Reopened,
}

impl CaseStatus {
    /// Every status, in the order of a case's life.
    pub const ALL: [CaseStatus; 6] = [
        Self::Received,
        Self::Forwarded,
        Self::InProgress,
        Self::Resolved,
        Self::Declined,
        Self::Reopened,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Forwarded => "forwarded",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Declined => "declined",
            Self::Reopened => "reopened",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Resolved or declined: the case is closed (retention counts from then).
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::Declined)
    }

    /// With an agency and waiting for it: forwarded or in progress (these can be overdue).
    pub fn is_with_agency(self) -> bool {
        matches!(self, Self::Forwarded | Self::InProgress)
    }
}

/// The kind of person acting on a question or case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByRole {
    /// A moderator in the console.
    Moderator,
    /// The office, with the admin token.
    Office,
    /// An agency, with its key.
    Agency,
    /// The radio desk.
    Desk,
    /// A gateway (intake API).
    Gateway,
}

/// Who did something: the role, the agency, and the name the page asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct By {
    /// The agency acting, for `role: agency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// The person's name, when the page asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Moderator, office or agency.
    pub role: ByRole,
}

impl By {
    /// A moderator, by name when known.
    pub fn moderator(name: Option<String>) -> Self {
        Self {
            agency: None,
            name,
            role: ByRole::Moderator,
        }
    }

    /// The office, by name when known.
    pub fn office(name: Option<String>) -> Self {
        Self {
            agency: None,
            name,
            role: ByRole::Office,
        }
    }

    /// An agency's officer.
    pub fn agency(agency: String, name: Option<String>) -> Self {
        Self {
            agency: Some(agency),
            name,
            role: ByRole::Agency,
        }
    }
}

/// A staff change of a question, for its history: which command, and who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// The command's wire type (`approve`, `edit`, ...).
    pub act: String,
    /// Who sent it.
    pub by: By,
}

/// A case action as a client sends it, fields checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAction {
    /// To an agency, due on a date (the hub fills the default), with a note.
    Forward {
        /// The agency's id (the hub checked that it exists).
        agency: String,
        /// The due date; `None` is filled by the hub (today + `followup.due_days`).
        due: Option<NaiveDate>,
        /// A note for the agency.
        note: Option<String>,
    },
    /// The agency has it in hand.
    Acknowledge {
        /// A note.
        note: Option<String>,
    },
    /// Answered.
    Resolve {
        /// The answer the citizen reads.
        answer: String,
    },
    /// Not to be followed up.
    Decline {
        /// Why, for the citizen.
        reason: String,
    },
    /// The agency hands the case back to the office.
    Return {
        /// Why.
        note: Option<String>,
    },
    /// Opened again.
    Reopen {
        /// Why.
        note: Option<String>,
    },
    /// Shown on the public board, or not.
    Publish {
        /// `true`: on the board.
        public: bool,
    },
}

impl CaseAction {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Forward { .. } => "forward",
            Self::Acknowledge { .. } => "acknowledge",
            Self::Resolve { .. } => "resolve",
            Self::Decline { .. } => "decline",
            Self::Return { .. } => "return",
            Self::Reopen { .. } => "reopen",
            Self::Publish { .. } => "publish",
        }
    }

    /// Every action's wire name.
    pub const NAMES: [&'static str; 7] = [
        "forward",
        "acknowledge",
        "resolve",
        "decline",
        "return",
        "reopen",
        "publish",
    ];

    /// The case statuses this action is allowed from.
    pub fn allowed_from(&self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            Self::Forward { .. } => &[Received, Reopened, Forwarded, InProgress],
            Self::Acknowledge { .. } => &[Forwarded],
            Self::Resolve { .. } | Self::Decline { .. } => {
                &[Received, Reopened, Forwarded, InProgress]
            }
            Self::Return { .. } => &[Forwarded, InProgress],
            Self::Reopen { .. } => &[Resolved, Declined],
            Self::Publish { .. } => &CaseStatus::ALL,
        }
    }

    /// Whether an agency may send it (on its own cases).
    pub fn for_agency(&self) -> bool {
        matches!(
            self,
            Self::Acknowledge { .. }
                | Self::Resolve { .. }
                | Self::Decline { .. }
                | Self::Return { .. }
        )
    }

    /// Whether the office and moderators may send it (all but `return`).
    pub fn for_office(&self) -> bool {
        !matches!(self, Self::Return { .. })
    }

    /// Parses a case action from its JSON fields (the `case` command and the HTTP bodies).
    /// `get` reads a string field (`Ok(None)` when absent or null); `flag` a boolean one.
    pub fn parse(
        action: &str,
        get: impl Fn(&str) -> Result<Option<String>, FieldError>,
        flag: impl Fn(&str) -> Result<Option<bool>, FieldError>,
    ) -> Result<Self, FieldError> {
        let note = || -> Result<Option<String>, FieldError> {
            match get("note")? {
                None => Ok(None),
                Some(n) => {
                    let n = text::checked("note", &n, limits::NOTE)?;
                    Ok((!n.is_empty()).then_some(n))
                }
            }
        };
        Ok(match action {
            "forward" => {
                let agency =
                    get("agency")?.ok_or_else(|| FieldError("`agency` is missing".into()))?;
                let due = get("due")?.map(|d| validate_due(&d)).transpose()?;
                Self::Forward {
                    agency,
                    due,
                    note: note()?,
                }
            }
            "acknowledge" => Self::Acknowledge { note: note()? },
            "resolve" => {
                let a = get("answer")?.ok_or_else(|| FieldError("`answer` is missing".into()))?;
                Self::Resolve {
                    answer: text::checked("answer", &a, limits::ANSWER)?,
                }
            }
            "decline" => {
                let r = get("reason")?.ok_or_else(|| FieldError("`reason` is missing".into()))?;
                Self::Decline {
                    reason: text::checked("reason", &r, limits::DECLINE_REASON)?,
                }
            }
            "return" => Self::Return { note: note()? },
            "reopen" => Self::Reopen { note: note()? },
            "publish" => Self::Publish {
                public: flag("public")?
                    .ok_or_else(|| FieldError("`public` (true or false) is missing".into()))?,
            },
            other => {
                return Err(FieldError(format!(
                    "`action` \"{other}\" is not one of {}",
                    Self::NAMES.join(", ")
                )));
            }
        })
    }
}

/// One step of a case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStep {
    /// The action's wire name.
    pub action: String,
    /// The agency forwarded to (`forward`), or acting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// Epoch milliseconds.
    pub at: i64,
    /// Who.
    pub by: By,
    /// The case's status after the step.
    pub status: CaseStatus,
    /// The note, answer or reason given with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A question's case: where its follow-up stands. Journaled whole with every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Case {
    /// The agency it is (or was last) forwarded to; `None` before forwarding and after a return.
    #[serde(default)]
    pub agency: Option<String>,
    /// The answer (`resolved`).
    #[serde(default)]
    pub answer: Option<String>,
    /// When it was resolved or declined, epoch milliseconds; `None` while open.
    #[serde(default)]
    pub closed_at: Option<i64>,
    /// The due date (`YYYY-MM-DD`) while with an agency.
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// When it was last forwarded, epoch milliseconds (response times count from here).
    #[serde(default)]
    pub forwarded_at: Option<i64>,
    /// Every step, oldest first.
    #[serde(default)]
    pub history: Vec<CaseStep>,
    /// The last note given (forward, acknowledge, return, reopen).
    #[serde(default)]
    pub note: Option<String>,
    /// Shown on the public board (text masked).
    #[serde(default)]
    pub public: bool,
    /// Why it was declined.
    #[serde(default)]
    pub reason: Option<String>,
    /// Where it stands.
    #[serde(default)]
    pub status: CaseStatus,
}

impl Case {
    /// Whether it is with an agency past its due date on `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status.is_with_agency() && self.due.is_some_and(|d| d < today)
    }

    /// Days from forwarding to resolution, when resolved after a forward.
    pub fn days_to_resolve(&self) -> Option<f64> {
        if self.status != CaseStatus::Resolved {
            return None;
        }
        let (f, c) = (self.forwarded_at?, self.closed_at?);
        Some((c - f).max(0) as f64 / 86_400_000.0)
    }

    /// The case after `action` by `by` at `now`; `Ok(None)` when it changes nothing.
    pub fn after(&self, action: &CaseAction, by: &By, now: i64) -> Option<Case> {
        let mut c = self.clone();
        let mut text = None;
        let mut agency = None;
        match action {
            CaseAction::Forward {
                agency: a,
                due,
                note,
            } => {
                c.status = CaseStatus::Forwarded;
                c.agency = Some(a.clone());
                c.due = *due;
                c.note = note.clone();
                c.forwarded_at = Some(now);
                c.closed_at = None;
                text = note.clone();
                agency = Some(a.clone());
            }
            CaseAction::Acknowledge { note } => {
                c.status = CaseStatus::InProgress;
                if note.is_some() {
                    c.note = note.clone();
                }
                text = note.clone();
            }
            CaseAction::Resolve { answer } => {
                c.status = CaseStatus::Resolved;
                c.answer = Some(answer.clone());
                c.reason = None;
                c.closed_at = Some(now);
                text = Some(answer.clone());
            }
            CaseAction::Decline { reason } => {
                c.status = CaseStatus::Declined;
                c.reason = Some(reason.clone());
                c.answer = None;
                c.closed_at = Some(now);
                text = Some(reason.clone());
            }
            CaseAction::Return { note } => {
                agency = c.agency.take();
                c.status = CaseStatus::Received;
                c.due = None;
                c.note = note.clone();
                text = note.clone();
            }
            CaseAction::Reopen { note } => {
                c.status = CaseStatus::Reopened;
                c.closed_at = None;
                c.note = note.clone();
                text = note.clone();
            }
            CaseAction::Publish { public } => {
                if c.public == *public {
                    return None;
                }
                c.public = *public;
            }
        }
        c.history.push(CaseStep {
            action: action.as_str().to_string(),
            agency: agency.or_else(|| by.agency.clone()),
            at: now,
            by: by.clone(),
            status: c.status,
            text,
        });
        Some(c)
    }
}

/// A question with its case, as the case table keeps it (`cases.body`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseDoc {
    /// The question's whole record (with its private contact until erased).
    pub question: super::question::Question,
    /// Its case.
    pub case: Case,
    /// Its text as the public sees it (personal data masked).
    pub public_text: String,
}

/// One step of a question's history as the console and the export show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryStep {
    /// `ask`/`enter` (created), a moderation command, or a case action.
    pub action: String,
    /// The agency a case step forwarded to or came from.
    pub agency: Option<String>,
    /// Epoch milliseconds.
    pub at: i64,
    /// Who; `None` for a phone's own steps.
    pub by: Option<By>,
    /// The question's status after a moderation step.
    pub status: Option<String>,
    /// The case's status after a case step.
    pub case_status: Option<CaseStatus>,
    /// The note, answer or reason of a case step.
    pub text: Option<String>,
}

/// The settings the follow-up rules need inside a session.
#[derive(Debug, Clone, Default)]
pub struct Followup {
    /// Places and topics.
    pub options: Arc<Options>,
    /// The radio stations a desk entry can come through (`desk.stations`).
    pub stations: Arc<Vec<String>>,
}

impl SessionState {
    /// A question's case (`received` until something happened to it).
    pub fn case(&self, question: Uuid) -> Option<&Case> {
        self.cases.get(&question)
    }

    /// Checks a case action and turns it into a `case` event. Cases go on after the session
    /// closes. An agency acts only on cases forwarded to it (others are `not_found` to it).
    pub fn decide_case(
        &self,
        by: &By,
        question: Uuid,
        action: &CaseAction,
        now: i64,
    ) -> Result<Decision, Rejection> {
        let q = self.questions.get(&question).ok_or_else(|| {
            Rejection::new(ErrorCode::NotFound, "no such question in this session")
        })?;
        super::decide::check_not_carried(q)?;
        let empty = Case::default();
        let case = self.cases.get(&q.id).unwrap_or(&empty);
        match by.role {
            ByRole::Agency => {
                if case.agency.is_none()
                    || case.agency != by.agency
                    || !case.status.is_with_agency() && !case.status.is_closed()
                {
                    return Err(Rejection::new(
                        ErrorCode::NotFound,
                        "no case of this agency has that id",
                    ));
                }
                if !action.for_agency() {
                    return Err(Rejection::new(
                        ErrorCode::Forbidden,
                        format!("an agency may not `{}` a case", action.as_str()),
                    ));
                }
            }
            ByRole::Desk | ByRole::Gateway => {
                return Err(Rejection::new(
                    ErrorCode::Forbidden,
                    "the desk and gateways may not act on cases",
                ));
            }
            ByRole::Moderator | ByRole::Office => {
                if !action.for_office() {
                    return Err(Rejection::new(
                        ErrorCode::Forbidden,
                        "only the agency a case is forwarded to may `return` it",
                    ));
                }
            }
        }
        if !action.allowed_from().contains(&case.status) {
            return Err(Rejection {
                rev: Some(q.rev),
                ..Rejection::new(
                    ErrorCode::Conflict,
                    format!(
                        "a case that is {} cannot be given `{}`",
                        case.status.as_str(),
                        action.as_str()
                    ),
                )
            });
        }
        Ok(match case.after(action, by, now) {
            None => Decision::default(),
            Some(c) => Decision::events(vec![Event::Case {
                question: q.id,
                case: c,
            }]),
        })
    }

    /// A question's history: created, the staff's changes, the case's steps, oldest first.
    pub fn history(&self, question: Uuid) -> Vec<HistoryStep> {
        let Some(q) = self.questions.get(&question) else {
            return vec![];
        };
        let mut out = vec![HistoryStep {
            agency: None,
            action: if q.author.is_some() { "ask" } else { "enter" }.into(),
            at: q.created_at,
            by: None,
            status: Some("pending".into()),
            case_status: None,
            text: None,
        }];
        for (at, done, status) in self.done.get(&question).into_iter().flatten() {
            out.push(HistoryStep {
                agency: None,
                action: done.act.clone(),
                at: *at,
                by: Some(done.by.clone()),
                status: Some(status.as_str().into()),
                case_status: None,
                text: None,
            });
        }
        if let Some(c) = self.cases.get(&question) {
            for s in &c.history {
                out.push(HistoryStep {
                    agency: s.agency.clone(),
                    action: s.action.clone(),
                    at: s.at,
                    by: Some(s.by.clone()),
                    status: None,
                    case_status: Some(s.status),
                    text: s.text.clone(),
                });
            }
        }
        out.sort_by_key(|s| s.at);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_codes_are_nine_unambiguous_symbols_and_read_back() {
        for c in b"01ILOSBZ" {
            assert!(!TRACKING_SYMBOLS.contains(c), "{}", *c as char);
        }
        let mut seen = std::collections::HashSet::new();
        for i in 0..2000u128 {
            let id = Uuid::from_u128(i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            let code = tracking_code(id);
            assert_eq!(code.len(), 11);
            assert_eq!(parse_tracking(&code).as_deref(), Ok(code.as_str()));
            let typed = code.replace('-', " ").to_lowercase();
            assert_eq!(parse_tracking(&typed).as_deref(), Ok(code.as_str()));
            seen.insert(code);
        }
        assert_eq!(seen.len(), 2000);
        assert!(parse_tracking("K7Q-M3X-R9").is_err());
        assert!(parse_tracking("K7Q-M3X-R9O").unwrap_err().0.contains("`O`"));
        // At least 40 bits: 28^9.
        assert!((28f64).powi(9).log2() >= 43.0);
    }

    #[test]
    fn contacts_are_phone_numbers_or_addresses() {
        assert_eq!(
            validate_contact("0812-3456-7890").unwrap().as_deref(),
            Some("081234567890")
        );
        assert_eq!(
            validate_contact("+62 812 3456 7890").unwrap().as_deref(),
            Some("+6281234567890")
        );
        assert_eq!(
            validate_contact(" budi@contoh.id ").unwrap().as_deref(),
            Some("budi@contoh.id")
        );
        assert_eq!(validate_contact("  ").unwrap(), None);
        for bad in [
            "abc",
            "12345",
            "0812 3456 7890 1234 5",
            "a@b",
            "@x.id",
            "1+2345678901",
        ] {
            assert!(validate_contact(bad).is_err(), "{bad}");
        }
        assert!(
            validate_contact(&"9".repeat(101))
                .unwrap_err()
                .0
                .contains("contact")
        );
    }

    #[test]
    fn places_and_topics_come_from_the_lists() {
        let o = Options::default();
        assert_eq!(o.places.len(), 18, "Palembang has 18 kecamatan");
        let k: usize = o.places.iter().map(|d| d.kelurahan.len()).sum();
        assert_eq!(k, 107, "and 107 kelurahan");
        let d = &o.places[0];
        let p = o
            .place(&Place {
                kecamatan: d.kecamatan.to_uppercase(),
                kelurahan: Some(d.kelurahan[0].to_lowercase()),
            })
            .unwrap();
        assert_eq!(p.kecamatan, d.kecamatan);
        assert_eq!(p.kelurahan.as_deref(), Some(d.kelurahan[0].as_str()));
        let e = o
            .place(&Place {
                kecamatan: "Atlantis".into(),
                kelurahan: None,
            })
            .unwrap_err();
        assert!(e.message.contains("place.kecamatan"));
        let other = &o.places[1].kelurahan[0];
        let e = o
            .place(&Place {
                kecamatan: d.kecamatan.clone(),
                kelurahan: Some(other.clone()),
            })
            .unwrap_err();
        assert!(e.message.contains("place.kelurahan"), "{}", e.message);
        assert_eq!(o.topic("Jalan").unwrap(), "jalan");
        assert!(o.topic("cuaca").unwrap_err().message.contains("topic"));
    }

    #[test]
    fn agency_ids() {
        assert_eq!(agency_slug("PUPR"), "pupr");
        assert_eq!(agency_slug("Dinas PU & PR"), "dinas-pu-pr");
        assert_eq!(agency_slug("1 Dinas"), "a-1-dinas");
        assert!(validate_agency_id("pupr").is_ok());
        assert!(validate_agency_id("PUPR").is_err());
        assert!(validate_agency_id("p").is_err());
        assert!(validate_agency_id("-pu").is_err());
    }
}
