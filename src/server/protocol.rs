//! The client side of the wire contract: every client frame parsed and checked here, in the
//! contract's order (type, role, fields; docs/protocol.md, "Order of checks"). The role table
//! is the domain's ([`CommandKind::roles`]). Server frames are in `hub::frames`.

use std::ops::Deref;

use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::command::NewFollowup;
use crate::domain::followup::{self, By, CaseAction, Place};
use crate::domain::poll::{NewPoll, PollAction, PollResults};
use crate::domain::role::KeyRole;
use crate::domain::session::{validate_speakers, validate_title};
use crate::domain::stage::{Graphic, TIMER_SECONDS, TimerAction};
use crate::domain::text::{self, FieldError, limits};
use crate::domain::{
    Channel, Command, CommandKind, ErrorCode, Rejection, Role, SessionStatus, SpeakerInput,
};
use crate::hub::frames;
use crate::hub::join::Since;

/// A refused client frame: the client's `ref` (when it could be read) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct WireError {
    /// The frame's `ref`, when it could be read.
    pub client_ref: Option<String>,
    /// Why the frame was refused.
    pub rejection: Rejection,
}

impl WireError {
    /// A refusal of the frame with `client_ref`.
    pub fn new(client_ref: Option<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            client_ref,
            rejection: Rejection::new(code, message),
        }
    }

    /// The `error` frame.
    pub fn frame(&self) -> Utf8Bytes {
        frames::error(self.client_ref.as_deref(), &self.rejection)
    }
}

impl Deref for WireError {
    type Target = Rejection;
    fn deref(&self) -> &Rejection {
        &self.rejection
    }
}

/// The first frame of a socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    /// The role the socket speaks for.
    pub role: Role,
    /// Join code or session id; empty when `programme` is given.
    pub session: String,
    /// A programme's slug (or join code): the socket joins its current episode, with the
    /// programme's keys, and follows it (4307 when it changes).
    pub programme: Option<String>,
    /// The role's secret (the press code for `press`); ignored for audience.
    pub key: Option<String>,
    /// Audience and press: the device token of an earlier `welcome`; ignored for other roles.
    pub device: Option<String>,
    /// Where a resuming client left off; `None` asks for a full welcome.
    pub since: Option<Since>,
    /// Moderators: the person's name, recorded with each change they make (who did what).
    pub name: Option<String>,
}

/// A parsed client frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMsg {
    /// `hello`: the first frame of a socket.
    Hello(Hello),
    /// A command: any known `type` but `hello`.
    Command {
        /// The command's `ref`, echoed in its reply.
        client_ref: Option<String>,
        /// The parsed command.
        cmd: Command,
    },
}

struct Fields<'a> {
    m: &'a Map<String, Value>,
    client_ref: Option<String>,
}

impl<'a> Fields<'a> {
    fn err(&self, code: ErrorCode, message: impl Into<String>) -> WireError {
        WireError::new(self.client_ref.clone(), code, message)
    }

    fn invalid(&self, message: impl Into<String>) -> WireError {
        self.err(ErrorCode::Invalid, message)
    }

    /// A string field: `None` when absent or null.
    fn opt_str(&self, k: &str) -> Result<Option<&'a str>, WireError> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(format!("`{k}` must be a string"))),
        }
    }

    fn req_str(&self, k: &str) -> Result<&'a str, WireError> {
        self.opt_str(k)?
            .ok_or_else(|| self.invalid(format!("`{k}` is missing")))
    }

    fn text(&self, k: &str, limit: (usize, usize)) -> Result<String, WireError> {
        text::checked(k, self.req_str(k)?, limit).map_err(|e| self.invalid(e.0))
    }

    fn opt_text(&self, k: &str, limit: (usize, usize)) -> Result<Option<String>, WireError> {
        match self.opt_str(k)? {
            None => Ok(None),
            Some(s) => text::optional(k, s, limit).map_err(|e| self.invalid(e.0)),
        }
    }

    fn id(&self, k: &str) -> Result<Uuid, WireError> {
        let s = self.req_str(k)?;
        Uuid::parse_str(s)
            .map_err(|_| self.invalid(format!("`{k}` must be a question id (a UUID)")))
    }

    fn poll_id(&self) -> Result<Uuid, WireError> {
        Uuid::parse_str(self.req_str("poll")?)
            .map_err(|_| self.invalid("`poll` must be a poll id (a UUID)"))
    }

    fn opt_id(&self, k: &str, required: bool) -> Result<Option<Uuid>, WireError> {
        if required && !self.m.contains_key(k) {
            return Err(self.invalid(format!("`{k}` is missing (a question id, or null)")));
        }
        match self.opt_str(k)? {
            None => Ok(None),
            Some(_) => self.id(k).map(Some),
        }
    }

    fn rev(&self) -> Result<Option<u64>, WireError> {
        match self.m.get("rev") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.invalid("`rev` must be a whole number, 0 or more")),
        }
    }

    fn bool(&self, k: &str) -> Result<bool, WireError> {
        match self.m.get(k) {
            Some(Value::Bool(b)) => Ok(*b),
            None | Some(Value::Null) => {
                Err(self.invalid(format!("`{k}` is missing (true or false)")))
            }
            Some(_) => Err(self.invalid(format!("`{k}` must be true or false"))),
        }
    }

    fn opt_bool(&self, k: &str) -> Result<bool, WireError> {
        match self.m.get(k) {
            None | Some(Value::Null) => Ok(false),
            _ => self.bool(k),
        }
    }

    /// The follow-up fields of `ask` and `enter`: `contact`, `place` {kecamatan, kelurahan?},
    /// `topic`; all optional (place and topic are checked against the lists by `decide`).
    fn followup(&self) -> Result<NewFollowup, WireError> {
        let contact = match self.opt_str("contact")? {
            None => None,
            Some(c) => followup::validate_contact(c).map_err(|e| self.invalid(e.0))?,
        };
        let place = match self.m.get("place") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => {
                let get = |k: &str| -> Result<Option<String>, WireError> {
                    match p.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) if s.chars().count() <= 100 => {
                            Ok(Some(text::normalize(s)).filter(|s| !s.is_empty()))
                        }
                        Some(Value::String(_)) => {
                            Err(self.invalid(format!("`place.{k}` is longer than 100 characters")))
                        }
                        Some(_) => Err(self.invalid(format!("`place.{k}` must be a string"))),
                    }
                };
                let kecamatan = get("kecamatan")?
                    .ok_or_else(|| self.invalid("`place.kecamatan` is missing"))?;
                Some(Place {
                    kecamatan,
                    kelurahan: get("kelurahan")?,
                })
            }
            Some(_) => {
                return Err(self.invalid("`place` must be an object {kecamatan, kelurahan}"));
            }
        };
        let topic = match self.opt_str("topic")? {
            None => None,
            Some(t) if t.chars().count() > 60 => {
                return Err(self.invalid("`topic` is longer than 60 characters"));
            }
            Some(t) => Some(text::normalize(t)).filter(|t| !t.is_empty()),
        };
        Ok(NewFollowup {
            contact,
            place,
            topic,
        })
    }

    fn to(&self, required: bool) -> Result<Option<String>, WireError> {
        if required && !self.m.contains_key("to") {
            return Err(self.invalid("`to` is missing (a speaker id, or null)"));
        }
        Ok(self.opt_str("to")?.map(str::to_string))
    }
}

/// Parses a command frame of a joined socket (the owner of a session reads again what a
/// relay sent up): its `ref` and command, or the error frame to answer with.
pub fn relayed_command(text: &str, role: Role) -> Result<(Option<String>, Command), Utf8Bytes> {
    match parse(text, Some(role)) {
        Ok(ClientMsg::Command { client_ref, cmd }) => Ok((client_ref, cmd)),
        Ok(ClientMsg::Hello(_)) => Err(WireError::new(
            None,
            ErrorCode::Invalid,
            "`hello` was already sent on this socket",
        )
        .frame()),
        Err(e) => Err(e.frame()),
    }
}

/// Parses one client text frame. `role` is the socket's role once `hello` was accepted.
pub fn parse(text: &str, role: Option<Role>) -> Result<ClientMsg, WireError> {
    let bare = |message: String| WireError::new(None, ErrorCode::Invalid, message);
    let v: Value = serde_json::from_str(text)
        .map_err(|e| bare(format!("the frame is not valid JSON: {e}")))?;
    let Value::Object(m) = v else {
        return Err(bare("the frame must be a JSON object with a `type`".into()));
    };
    let client_ref = match m.get("ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            text::check_ref(s).map_err(|e| bare(e.0))?;
            Some(s.clone())
        }
        Some(_) => return Err(bare("`ref` must be a string".into())),
    };
    let f = Fields { m: &m, client_ref };
    let ty = match m.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(f.invalid("`type` must be a string")),
        None => return Err(f.invalid("`type` is missing")),
    };
    if ty == "hello" {
        if role.is_some() {
            return Err(f.invalid("`hello` was already sent on this socket"));
        }
        return parse_hello(&f).map(ClientMsg::Hello);
    }
    let Some(kind) = CommandKind::parse(ty) else {
        return Err(f.invalid(format!(
            "unknown type \"{}\"",
            ty.chars().take(40).collect::<String>()
        )));
    };
    let Some(role) = role else {
        return Err(f.invalid("the first frame must be `hello`"));
    };
    if !kind.allows(role) {
        return Err(WireError {
            client_ref: f.client_ref,
            rejection: kind.refuse(role),
        });
    }
    let cmd = parse_command(&f, kind, role)?;
    Ok(ClientMsg::Command {
        client_ref: f.client_ref,
        cmd,
    })
}

fn parse_hello(f: &Fields<'_>) -> Result<Hello, WireError> {
    let role_s = f.req_str("role")?;
    let role = Role::parse(role_s).ok_or_else(|| {
        f.invalid("`role` must be one of audience, press, moderator, screen, overlay")
    })?;
    let programme = f.opt_str("programme")?;
    let session = match programme {
        Some(p) => {
            if f.m.get("session").is_some_and(|v| !v.is_null()) {
                return Err(f.invalid("give `session` or `programme`, not both"));
            }
            if p.trim().is_empty() || p.len() > 64 {
                return Err(f.invalid("`programme` must be a programme's slug or join code"));
            }
            ""
        }
        None => f.req_str("session")?,
    };
    if programme.is_none() && (session.is_empty() || session.len() > 64) {
        return Err(f.invalid("`session` must be a join code or a session id"));
    }
    let key = f.opt_str("key")?.map(str::to_string);
    let device = f.opt_str("device")?.map(str::to_string);
    let since = match f.m.get("since") {
        None | Some(Value::Null) => None,
        Some(Value::Object(s)) => {
            let epoch = s.get("epoch").and_then(Value::as_str);
            let seq = s.get("seq").and_then(Value::as_u64);
            match (epoch, seq) {
                (Some(e), Some(q)) if e.len() <= 64 => Some(Since {
                    epoch: e.to_string(),
                    seq: q,
                }),
                _ => {
                    return Err(
                        f.invalid("`since` must be {\"epoch\": string, \"seq\": whole number}")
                    );
                }
            }
        }
        Some(_) => return Err(f.invalid("`since` must be an object {epoch, seq}")),
    };
    let name = if matches!(role, Role::Moderator | Role::Desk) {
        f.opt_text("name", limits::NAME)?
    } else {
        None
    };
    Ok(Hello {
        role,
        session: session.to_string(),
        programme: programme.map(str::to_string),
        key,
        device,
        since,
        name,
    })
}

fn parse_command(f: &Fields<'_>, kind: CommandKind, role: Role) -> Result<Command, WireError> {
    use CommandKind as K;
    let need_ref = || -> Result<String, WireError> {
        f.client_ref
            .clone()
            .ok_or_else(|| f.invalid(format!("`ref` is required with `{}`", kind.as_str())))
    };
    Ok(match kind {
        K::Ask => Command::Ask {
            client_ref: need_ref()?,
            text: f.text("text", limits::TEXT)?,
            name: f.opt_text("name", limits::NAME)?,
            outlet: if role.carries_outlet() {
                f.opt_text("outlet", limits::OUTLET)?
            } else {
                None
            },
            to: f.to(false)?,
            followup: f.followup()?,
        },
        K::Withdraw => Command::Withdraw {
            question: f.id("question")?,
            rev: f.rev()?,
        },
        K::Vote => Command::Vote {
            question: f.id("question")?,
            on: f.bool("on")?,
            rev: f.rev()?,
        },
        K::Approve => Command::Approve {
            question: f.id("question")?,
            rev: f.rev()?,
        },
        K::Reject => Command::Reject {
            question: f.id("question")?,
            rev: f.rev()?,
            reason: f.opt_text("reason", limits::REASON)?,
        },
        K::Edit => Command::Edit {
            question: f.id("question")?,
            rev: f.rev()?,
            text: f.text("text", limits::TEXT)?,
        },
        K::Live => Command::Live {
            question: f.id("question")?,
            rev: f.rev()?,
        },
        K::Answered => Command::Answered {
            question: f.id("question")?,
            rev: f.rev()?,
        },
        K::Requeue => Command::Requeue {
            question: f.id("question")?,
            rev: f.rev()?,
        },
        K::Move => Command::Move {
            question: f.id("question")?,
            rev: f.rev()?,
            after: f.opt_id("after", true)?,
        },
        K::Assign => Command::Assign {
            question: f.id("question")?,
            rev: f.rev()?,
            to: f.to(true)?,
        },
        K::Merge => Command::Merge {
            question: f.id("question")?,
            rev: f.rev()?,
            into: f.id("into")?,
        },
        K::Enter => {
            let client_ref = need_ref()?;
            let text = f.text("text", limits::TEXT)?;
            let name = f.opt_text("name", limits::NAME)?;
            let ch = f.req_str("channel")?;
            let channel = Channel::parse(ch).ok_or_else(|| {
                f.invalid("`channel` must be one of phone, sms, whatsapp, radio, room, email, web")
            })?;
            Command::Enter {
                client_ref,
                text,
                name,
                channel,
                to: f.to(false)?,
                followup: f.followup()?,
                station: match f.opt_str("station")? {
                    None => None,
                    Some(s) if s.chars().count() > 60 => {
                        return Err(f.invalid("`station` is longer than 60 characters"));
                    }
                    Some(s) => Some(text::normalize(s)).filter(|s| !s.is_empty()),
                },
            }
        }
        K::Case => {
            let question = f.id("question")?;
            let action = f.req_str("action")?;
            let action = CaseAction::parse(
                action,
                |k| {
                    Ok(f.opt_str(k)
                        .map_err(|e| FieldError(e.rejection.message))?
                        .map(str::to_string))
                },
                |k| match f.m.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Bool(b)) => Ok(Some(*b)),
                    Some(_) => Err(FieldError(format!("`{k}` must be true or false"))),
                },
            )
            .map_err(|e| f.invalid(e.0))?;
            Command::Case {
                question,
                action,
                by: By::moderator(None),
            }
        }
        K::Overlay => Command::Overlay {
            visible: f.bool("visible")?,
            confirm: f.opt_bool("confirm")?,
        },
        K::AirText => Command::AirText {
            question: f.id("question")?,
            rev: f.rev()?,
            text: match f.opt_str("text")? {
                None => return Err(f.invalid("`text` is missing (an empty string clears it)")),
                Some(t) => {
                    text::optional("text", t, limits::AIR_TEXT).map_err(|e| f.invalid(e.0))?
                }
            },
        },
        K::Credit => Command::Credit {
            question: f.id("question")?,
            rev: f.rev()?,
            on: f.bool("on")?,
        },
        K::Unmask => Command::Unmask {
            question: f.id("question")?,
            rev: f.rev()?,
            on: f.bool("on")?,
        },
        K::Graphic => Command::Graphic {
            graphic: match f.m.get("graphic") {
                None => return Err(f.invalid("`graphic` is missing (join, speaker, or null)")),
                Some(Value::Null) => None,
                Some(Value::String(g)) if g == "join" => Some(Graphic::Join),
                Some(Value::String(g)) if g == "speaker" => Some(Graphic::Speaker {
                    speaker: f.req_str("speaker")?.to_string(),
                }),
                Some(_) => return Err(f.invalid("`graphic` must be join, speaker or null")),
            },
        },
        K::Timer => {
            let action = TimerAction::parse(f.req_str("action")?)
                .ok_or_else(|| f.invalid("`action` must be one of start, pause, reset"))?;
            let (lo, hi) = TIMER_SECONDS;
            let seconds = match f.m.get("seconds") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(
                    n.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| (lo..=hi).contains(n))
                        .ok_or_else(|| {
                            f.invalid(format!(
                                "`seconds` must be a whole number from {lo} to {hi}"
                            ))
                        })?,
                ),
                Some(_) => {
                    return Err(f.invalid(format!(
                        "`seconds` must be a whole number from {lo} to {hi}"
                    )));
                }
            };
            if seconds.is_some() && action == TimerAction::Pause {
                return Err(f.invalid("`seconds` goes with start or reset, not pause"));
            }
            Command::Timer { action, seconds }
        }
        K::Message => Command::Message {
            text: match f.opt_str("text")? {
                None => return Err(f.invalid("`text` is missing (an empty string dismisses it)")),
                Some(t) => {
                    text::optional("text", t, limits::MESSAGE).map_err(|e| f.invalid(e.0))?
                }
            },
        },
        K::Session => {
            let status = match f.opt_str("status")? {
                None => None,
                Some(s) => Some(
                    SessionStatus::parse(s)
                        .ok_or_else(|| f.invalid("`status` must be open, paused or closed"))?,
                ),
            };
            let title = match f.opt_str("title")? {
                None => None,
                Some(t) => Some(validate_title(t).map_err(|e| f.invalid(e.0))?),
            };
            let speakers = match f.m.get("speakers") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    validate_speakers(&speakers_input(v).map_err(|m| f.invalid(m))?)
                        .map_err(|e| f.invalid(e.0))?,
                ),
            };
            let starts_at = match f.opt_str("starts_at")? {
                None => None,
                Some("") => Some(None),
                Some(t) => Some(Some(
                    chrono::DateTime::parse_from_rfc3339(t)
                        .map_err(|_| {
                            f.invalid("`starts_at` must be a time like 2026-12-18T19:00:00+07:00, or \"\"")
                        })?
                        .timestamp_millis(),
                )),
            };
            let rehearsal = match f.m.get("rehearsal") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(false)) => Some(false),
                Some(Value::Bool(true)) => {
                    return Err(f.invalid(
                        "`rehearsal` can only be false (start for real): a session starts in \
                         rehearsal when it is created",
                    ));
                }
                Some(_) => return Err(f.invalid("`rehearsal` must be false")),
            };
            if status.is_none()
                && title.is_none()
                && speakers.is_none()
                && starts_at.is_none()
                && rehearsal.is_none()
            {
                return Err(f.invalid(
                    "`session` needs at least one of status, title, speakers, starts_at, rehearsal",
                ));
            }
            Command::Session {
                status,
                title,
                speakers,
                starts_at,
                rehearsal,
            }
        }
        K::Ban | K::Unban => Command::Ban {
            question: f.id("question")?,
            rev: f.rev()?,
            banned: kind == K::Ban,
            address: f.opt_bool("address")?,
        },
        K::Poll => Command::Poll(match f.req_str("action")? {
            "create" => {
                let client_ref = need_ref()?;
                let question = f.req_str("question")?;
                let options: Vec<String> = match f.m.get("options") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .enumerate()
                        .map(|(i, o)| {
                            o.as_str().map(str::to_string).ok_or_else(|| {
                                f.invalid(format!("`options[{i}]` must be a string"))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    None | Some(Value::Null) => return Err(f.invalid("`options` is missing")),
                    Some(_) => return Err(f.invalid("`options` must be a list of strings")),
                };
                let results = match f.opt_str("results")? {
                    None => PollResults::default(),
                    Some(r) => PollResults::parse(r)
                        .ok_or_else(|| f.invalid("`results` must be live or after_close"))?,
                };
                let poll =
                    NewPoll::checked(question, &options, results).map_err(|e| f.invalid(e.0))?;
                PollAction::Create { client_ref, poll }
            }
            "open" => PollAction::Open(f.poll_id()?),
            "close" => PollAction::Close(f.poll_id()?),
            "delete" => PollAction::Delete(f.poll_id()?),
            "show" => PollAction::Show(f.poll_id()?),
            "hide" => PollAction::Hide(f.poll_id()?),
            _ => {
                return Err(
                    f.invalid("`action` must be one of create, open, close, delete, show, hide")
                );
            }
        }),
        K::Choose => Command::Choose {
            poll: f.poll_id()?,
            option: match f.m.get("option") {
                Some(Value::Number(n)) => n
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| f.invalid("`option` must be an option's index (0, 1, ...)"))?,
                None | Some(Value::Null) => return Err(f.invalid("`option` is missing")),
                Some(_) => {
                    return Err(f.invalid("`option` must be an option's index (0, 1, ...)"));
                }
            },
        },
        K::RotateKey => Command::RotateKey {
            role: KeyRole::parse(f.req_str("role")?).ok_or_else(|| {
                f.invalid("`role` must be one of moderator, screen, overlay, press, desk, intake")
            })?,
            programme: f.opt_bool("programme")?,
        },
    })
}

/// Reads a JSON speaker list `[{id?, name, role}]`.
pub fn speakers_input(v: &Value) -> Result<Vec<SpeakerInput>, String> {
    let arr = v
        .as_array()
        .ok_or("`speakers` must be a list of {name, role}")?;
    arr.iter()
        .enumerate()
        .map(|(i, s)| {
            let o = s
                .as_object()
                .ok_or(format!("`speakers[{i}]` must be an object {{name, role}}"))?;
            let get = |k: &str| -> Result<Option<String>, String> {
                match o.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => Err(format!("`speakers[{i}].{k}` must be a string")),
                }
            };
            Ok(SpeakerInput {
                id: get("id")?,
                name: get("name")?.ok_or(format!("`speakers[{i}].name` is missing"))?,
                role: get("role")?.ok_or(format!("`speakers[{i}].role` is missing"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, role: Option<Role>) -> WireError {
        parse(text, role).unwrap_err()
    }

    #[test]
    fn checks_run_in_protocol_order() {
        assert!(err("nope", None).message.contains("not valid JSON"));
        assert!(err("[1]", None).message.contains("object"));
        assert!(
            err(r#"{"type":"fly"}"#, Some(Role::Audience))
                .message
                .contains("unknown type")
        );
        let e = err(r#"{"type":"approve","ref":"r1"}"#, Some(Role::Audience));
        assert_eq!(
            (e.code, e.client_ref.as_deref()),
            (ErrorCode::Forbidden, Some("r1"))
        );
        let e = err(r#"{"type":"approve","ref":"r1"}"#, Some(Role::Moderator));
        assert_eq!(e.code, ErrorCode::Invalid);
        assert!(e.message.contains("`question`"), "{}", e.message);
        let e = err(r#"{"type":"ask","text":"hi"}"#, Some(Role::Audience));
        assert!(e.message.contains("`ref`"));
        let e = err(
            &format!(r#"{{"type":"ask","ref":"a","text":"{}"}}"#, "x".repeat(301)),
            Some(Role::Audience),
        );
        assert!(e.message.contains("too long"));
        let e = err(
            r#"{"type":"vote","ref":"a","question":"x","on":true}"#,
            Some(Role::Audience),
        );
        assert!(e.message.contains("UUID"));
        let e = err(
            r#"{"type":"hello","role":"audience","session":"ABCDEF"}"#,
            Some(Role::Audience),
        );
        assert!(e.message.contains("already"));
        let e = err(r#"{"type":"ask","ref":5}"#, Some(Role::Audience));
        assert!(e.message.contains("`ref`"));
    }

    #[test]
    fn parses_commands() {
        let m = parse(
            r#"{"type":"ask","ref":"r","text":"  Halo  ","name":"","outlet":"X"}"#,
            Some(Role::Audience),
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMsg::Command {
                client_ref: Some("r".into()),
                cmd: Command::Ask {
                    client_ref: "r".into(),
                    text: "Halo".into(),
                    name: None,
                    outlet: None,
                    to: None,
                    followup: Default::default(),
                },
            }
        );
        let m = parse(
            r#"{"type":"move","question":"6f1c1c1e-1111-4111-8111-111111111111","after":null}"#,
            Some(Role::Moderator),
        )
        .unwrap();
        assert!(matches!(
            m,
            ClientMsg::Command {
                cmd: Command::Move { after: None, .. },
                ..
            }
        ));
        let h = parse(
            r#"{"type":"hello","role":"overlay","programme":"wongkito","key":"k"}"#,
            None,
        )
        .unwrap();
        assert!(matches!(
            &h,
            ClientMsg::Hello(Hello { programme: Some(p), session, .. }) if p == "wongkito" && session.is_empty()
        ));
        for bad in [
            r#"{"type":"hello","role":"overlay","programme":"wongkito","session":"ABCDEF"}"#,
            r#"{"type":"hello","role":"overlay","programme":""}"#,
            r#"{"type":"hello","role":"overlay","programme":5}"#,
        ] {
            let e = parse(bad, None).unwrap_err();
            let m = &e.rejection.message;
            assert!(m.contains("programme"), "{bad}: {m}");
        }
        let h = parse(r#"{"type":"hello","role":"screen","session":"abcdef","key":"k","since":{"epoch":"e","seq":3}}"#, None).unwrap();
        assert!(matches!(
            h,
            ClientMsg::Hello(Hello {
                role: Role::Screen,
                since: Some(_),
                ..
            })
        ));
        assert!(
            parse(
                r#"{"type":"session","speakers":[{"name":"A"}]}"#,
                Some(Role::Moderator)
            )
            .is_err()
        );
        for (frame, banned, address) in [
            (r#"{"type":"ban","question":"QID"}"#, true, false),
            (
                r#"{"type":"ban","question":"QID","address":true}"#,
                true,
                true,
            ),
            (
                r#"{"type":"unban","question":"QID","address":true}"#,
                false,
                true,
            ),
            (
                r#"{"type":"unban","question":"QID","address":false}"#,
                false,
                false,
            ),
        ] {
            let m = parse(&frame.replace("QID", Q), Some(Role::Moderator)).unwrap();
            assert!(
                matches!(m, ClientMsg::Command { cmd: Command::Ban { banned: b, address: a, .. }, .. } if b == banned && a == address),
                "{frame}: {m:?}"
            );
        }
    }

    /// One row: the frame, the role of the socket (None: before `hello`), the code, and a
    /// word the message must contain (the field it names, or the rule).
    type Row = (&'static str, Option<Role>, ErrorCode, &'static str);

    const A: Option<Role> = Some(Role::Audience);
    const P: Option<Role> = Some(Role::Press);
    const M: Option<Role> = Some(Role::Moderator);
    const S: Option<Role> = Some(Role::Screen);
    const O: Option<Role> = Some(Role::Overlay);
    const Q: &str = "6f1c1c1e-1111-4111-8111-111111111111";

    /// Every field of every frame, wrong in each way the contract names, and what it gets.
    fn rows() -> Vec<(String, Option<Role>, ErrorCode, &'static str)> {
        use ErrorCode::{Forbidden as F, Invalid as I};
        let q = |s: &str| s.replace("QID", Q);
        let fixed: &[Row] = &[
            // The frame itself.
            ("", A, I, "JSON"),
            ("{", A, I, "JSON"),
            ("null", A, I, "object"),
            ("\"ask\"", A, I, "object"),
            ("[]", A, I, "object"),
            ("{}", A, I, "`type` is missing"),
            (r#"{"type":5}"#, A, I, "`type` must be a string"),
            (r#"{"type":"fly"}"#, A, I, "unknown type"),
            (r#"{"type":"ask","ref":""}"#, A, I, "ref"),
            (r#"{"type":"ask","ref":7}"#, A, I, "ref"),
            // Before hello, only hello.
            (r#"{"type":"ask","ref":"r","text":"hi"}"#, None, I, "hello"),
            (
                r#"{"type":"hello","role":"audience","session":"ABCDEF"}"#,
                A,
                I,
                "already",
            ),
            // hello
            (r#"{"type":"hello","session":"ABCDEF"}"#, None, I, "role"),
            (
                r#"{"type":"hello","role":"admin","session":"ABCDEF"}"#,
                None,
                I,
                "role",
            ),
            (
                r#"{"type":"hello","role":5,"session":"ABCDEF"}"#,
                None,
                I,
                "role",
            ),
            (r#"{"type":"hello","role":"audience"}"#, None, I, "session"),
            (
                r#"{"type":"hello","role":"audience","session":""}"#,
                None,
                I,
                "session",
            ),
            (
                r#"{"type":"hello","role":"audience","session":1}"#,
                None,
                I,
                "session",
            ),
            (
                r#"{"type":"hello","role":"screen","session":"ABCDEF","key":1}"#,
                None,
                I,
                "key",
            ),
            (
                r#"{"type":"hello","role":"audience","session":"ABCDEF","device":[]}"#,
                None,
                I,
                "device",
            ),
            (
                r#"{"type":"hello","role":"audience","session":"ABCDEF","since":3}"#,
                None,
                I,
                "since",
            ),
            (
                r#"{"type":"hello","role":"audience","session":"ABCDEF","since":{"epoch":"e"}}"#,
                None,
                I,
                "since",
            ),
            (
                r#"{"type":"hello","role":"audience","session":"ABCDEF","since":{"seq":1}}"#,
                None,
                I,
                "since",
            ),
            (
                r#"{"type":"hello","role":"audience","session":"ABCDEF","since":{"epoch":"e","seq":-1}}"#,
                None,
                I,
                "since",
            ),
            // ask
            (r#"{"type":"ask","text":"tanpa ref"}"#, A, I, "ref"),
            (r#"{"type":"ask","ref":"r"}"#, A, I, "text"),
            (r#"{"type":"ask","ref":"r","text":5}"#, A, I, "text"),
            (r#"{"type":"ask","ref":"r","text":["a"]}"#, A, I, "text"),
            (r#"{"type":"ask","ref":"r","text":""}"#, A, I, "text"),
            (r#"{"type":"ask","ref":"r","text":" \n\t "}"#, P, I, "text"),
            (
                r#"{"type":"ask","ref":"r","text":"ok","name":12}"#,
                A,
                I,
                "name",
            ),
            (
                r#"{"type":"ask","ref":"r","text":"ok","outlet":12}"#,
                P,
                I,
                "outlet",
            ),
            (r#"{"type":"ask","ref":"r","text":"ok","to":3}"#, A, I, "to"),
            // withdraw, vote
            (r#"{"type":"withdraw"}"#, A, I, "question"),
            (r#"{"type":"withdraw","question":7}"#, A, I, "question"),
            (r#"{"type":"vote","on":true}"#, A, I, "question"),
            (
                r#"{"type":"vote","question":"abc","on":true}"#,
                P,
                I,
                "UUID",
            ),
            // moderator commands
            (r#"{"type":"approve"}"#, M, I, "question"),
            (
                r#"{"type":"enter","text":"tanpa ref","channel":"sms"}"#,
                M,
                I,
                "ref",
            ),
            (r#"{"type":"overlay"}"#, M, I, "visible"),
            (r#"{"type":"overlay","visible":"true"}"#, M, I, "visible"),
            (
                r#"{"type":"overlay","visible":true,"confirm":"yes"}"#,
                M,
                I,
                "confirm",
            ),
            (r#"{"type":"air_text","question":"QID"}"#, M, I, "text"),
            (
                r#"{"type":"air_text","question":"QID","text":5}"#,
                M,
                I,
                "text",
            ),
            (r#"{"type":"air_text","text":"x"}"#, M, I, "question"),
            (r#"{"type":"unmask","question":"QID"}"#, M, I, "on"),
            (r#"{"type":"graphic"}"#, M, I, "graphic"),
            (r#"{"type":"graphic","graphic":"qr"}"#, M, I, "graphic"),
            (r#"{"type":"graphic","graphic":"speaker"}"#, M, I, "speaker"),
            (r#"{"type":"timer"}"#, M, I, "action"),
            (r#"{"type":"timer","action":"stop"}"#, M, I, "action"),
            (
                r#"{"type":"timer","action":"reset","seconds":4}"#,
                M,
                I,
                "seconds",
            ),
            (
                r#"{"type":"timer","action":"reset","seconds":"60"}"#,
                M,
                I,
                "seconds",
            ),
            (
                r#"{"type":"timer","action":"pause","seconds":60}"#,
                M,
                I,
                "seconds",
            ),
            (r#"{"type":"message"}"#, M, I, "text"),
            (r#"{"type":"message","text":7}"#, M, I, "text"),
            (r#"{"type":"session"}"#, M, I, "at least one"),
            (r#"{"type":"session","status":"done"}"#, M, I, "status"),
            (r#"{"type":"session","status":1}"#, M, I, "status"),
            (r#"{"type":"session","title":""}"#, M, I, "title"),
            (r#"{"type":"session","title":3}"#, M, I, "title"),
            (r#"{"type":"session","speakers":"all"}"#, M, I, "speakers"),
            (r#"{"type":"session","speakers":[5]}"#, M, I, "speakers[0]"),
            (
                r#"{"type":"session","speakers":[{"name":"Tanpa Jabatan"}]}"#,
                M,
                I,
                "role",
            ),
            (
                r#"{"type":"session","speakers":[{"role":"Sekda"}]}"#,
                M,
                I,
                "name",
            ),
            (
                r#"{"type":"session","speakers":[{"name":"A","role":"B","id":4}]}"#,
                M,
                I,
                "id",
            ),
            (
                r#"{"type":"session","speakers":[{"name":"A","role":"B","id":"x"},{"name":"C","role":"D","id":"x"}]}"#,
                M,
                I,
                "twice",
            ),
            // The role table, before any field.
            (
                r#"{"type":"approve"}"#,
                A,
                F,
                "audience role may not send `approve`",
            ),
            (
                r#"{"type":"ask"}"#,
                M,
                F,
                "moderator role may not send `ask`",
            ),
            (
                r#"{"type":"vote"}"#,
                S,
                F,
                "screen role may not send `vote`",
            ),
            (
                r#"{"type":"session"}"#,
                O,
                F,
                "overlay role may not send `session`",
            ),
            (
                r#"{"type":"unban"}"#,
                P,
                F,
                "press role may not send `unban`",
            ),
        ];
        let mut rows: Vec<_> = fixed
            .iter()
            .map(|(t, r, c, w)| (q(t), *r, *c, *w))
            .collect();
        // Every question-naming moderator command: `question` missing, not a string, not a UUID;
        // `rev` of every wrong type.
        for ty in [
            "approve", "reject", "edit", "live", "answered", "requeue", "move", "assign", "merge",
            "ban", "unban",
        ] {
            let extra = match ty {
                "edit" => r#","text":"t""#,
                "move" => r#","after":null"#,
                "assign" => r#","to":null"#,
                "merge" => r#","into":"QID""#,
                _ => "",
            };
            rows.push((format!(r#"{{"type":"{ty}"{extra}}}"#), M, I, "question"));
            rows.push((
                format!(r#"{{"type":"{ty}","question":5{extra}}}"#),
                M,
                I,
                "question",
            ));
            rows.push((
                format!(r#"{{"type":"{ty}","question":"no"{extra}}}"#),
                M,
                I,
                "UUID",
            ));
            for rev in [r#""1""#, "-1", "1.5", "true", "[]"] {
                rows.push((
                    q(&format!(
                        r#"{{"type":"{ty}","question":"QID","rev":{rev}{extra}}}"#
                    )),
                    M,
                    I,
                    "rev",
                ));
            }
        }
        // The fields of each command, one wrong at a time.
        let more: &[Row] = &[
            (r#"{"type":"poll"}"#, M, I, "action"),
            (r#"{"type":"poll","action":"start"}"#, M, I, "action"),
            (r#"{"type":"poll","action":"open"}"#, M, I, "poll"),
            (
                r#"{"type":"poll","action":"open","poll":"x"}"#,
                M,
                I,
                "poll id",
            ),
            (
                r#"{"type":"poll","action":"create","question":"Q","options":["a","b"]}"#,
                M,
                I,
                "ref",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","options":["a","b"]}"#,
                M,
                I,
                "question",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","question":"","options":["a","b"]}"#,
                M,
                I,
                "question",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","question":"Q"}"#,
                M,
                I,
                "options",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","question":"Q","options":"a,b"}"#,
                M,
                I,
                "options",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","question":"Q","options":["a"]}"#,
                M,
                I,
                "options",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","question":"Q","options":["a",2]}"#,
                M,
                I,
                "options[1]",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","question":"Q","options":["a","A"]}"#,
                M,
                I,
                "options[1]",
            ),
            (
                r#"{"type":"poll","action":"create","ref":"r","question":"Q","options":["a","b"],"results":"never"}"#,
                M,
                I,
                "results",
            ),
            (
                r#"{"type":"poll","action":"open","poll":"QID"}"#,
                A,
                F,
                "audience role may not send `poll`",
            ),
            (r#"{"type":"choose","option":0}"#, A, I, "poll"),
            (r#"{"type":"choose","poll":"QID"}"#, A, I, "option"),
            (
                r#"{"type":"choose","poll":"QID","option":-1}"#,
                A,
                I,
                "option",
            ),
            (
                r#"{"type":"choose","poll":"QID","option":256}"#,
                A,
                I,
                "option",
            ),
            (
                r#"{"type":"choose","poll":"QID","option":"1"}"#,
                A,
                I,
                "option",
            ),
            (
                r#"{"type":"choose","poll":"QID","option":0}"#,
                M,
                F,
                "moderator role may not send `choose`",
            ),
            (r#"{"type":"rotate_key"}"#, M, I, "role"),
            (r#"{"type":"rotate_key","role":5}"#, M, I, "role"),
            (r#"{"type":"rotate_key","role":"audience"}"#, M, I, "role"),
            (r#"{"type":"rotate_key","role":"admin"}"#, M, I, "role"),
            (
                r#"{"type":"rotate_key","role":"screen"}"#,
                S,
                F,
                "screen role may not send `rotate_key`",
            ),
            (
                r#"{"type":"ban","question":"QID","address":"yes"}"#,
                M,
                I,
                "address",
            ),
            (
                r#"{"type":"unban","question":"QID","address":1}"#,
                M,
                I,
                "address",
            ),
            (r#"{"type":"vote","question":"QID"}"#, A, I, "on"),
            (r#"{"type":"vote","question":"QID","on":"yes"}"#, A, I, "on"),
            (r#"{"type":"vote","question":"QID","on":1}"#, A, I, "on"),
            (
                r#"{"type":"vote","question":"QID","on":true,"rev":"2"}"#,
                A,
                I,
                "rev",
            ),
            (
                r#"{"type":"reject","question":"QID","reason":5}"#,
                M,
                I,
                "reason",
            ),
            (r#"{"type":"edit","question":"QID"}"#, M, I, "text"),
            (
                r#"{"type":"edit","question":"QID","text":""}"#,
                M,
                I,
                "text",
            ),
            (r#"{"type":"move","question":"QID"}"#, M, I, "after"),
            (
                r#"{"type":"move","question":"QID","after":5}"#,
                M,
                I,
                "after",
            ),
            (
                r#"{"type":"move","question":"QID","after":"x"}"#,
                M,
                I,
                "UUID",
            ),
            (r#"{"type":"assign","question":"QID"}"#, M, I, "to"),
            (r#"{"type":"assign","question":"QID","to":5}"#, M, I, "to"),
            (r#"{"type":"merge","question":"QID"}"#, M, I, "into"),
            (
                r#"{"type":"merge","question":"QID","into":5}"#,
                M,
                I,
                "into",
            ),
            (
                r#"{"type":"enter","ref":"e","text":"lewat fax"}"#,
                M,
                I,
                "channel",
            ),
            (
                r#"{"type":"enter","ref":"e","text":"lewat fax","channel":"fax"}"#,
                M,
                I,
                "channel",
            ),
            (
                r#"{"type":"enter","ref":"e","text":"lewat fax","channel":3}"#,
                M,
                I,
                "channel",
            ),
            (
                r#"{"type":"enter","ref":"e","channel":"sms"}"#,
                M,
                I,
                "text",
            ),
            (
                r#"{"type":"enter","ref":"e","text":"ok","channel":"sms","name":1}"#,
                M,
                I,
                "name",
            ),
            (
                r#"{"type":"enter","ref":"e","text":"ok","channel":"sms","to":1}"#,
                M,
                I,
                "to",
            ),
        ];
        rows.extend(more.iter().map(|(t, r, c, w)| (q(t), *r, *c, *w)));
        // Lengths: one over each limit, counted in Unicode scalar values.
        let long = |n: usize| "é".repeat(n);
        for (frame, role, field) in [
            (
                format!(r#"{{"type":"ask","ref":"r","text":"{}"}}"#, long(301)),
                A,
                "text",
            ),
            (
                format!(
                    r#"{{"type":"ask","ref":"r","text":"ok","name":"{}"}}"#,
                    long(61)
                ),
                A,
                "name",
            ),
            (
                format!(
                    r#"{{"type":"ask","ref":"r","text":"ok","outlet":"{}"}}"#,
                    long(101)
                ),
                P,
                "outlet",
            ),
            (
                q(&format!(
                    r#"{{"type":"reject","question":"QID","reason":"{}"}}"#,
                    long(201)
                )),
                M,
                "reason",
            ),
            (
                q(&format!(
                    r#"{{"type":"edit","question":"QID","text":"{}"}}"#,
                    long(301)
                )),
                M,
                "text",
            ),
            (
                format!(
                    r#"{{"type":"enter","ref":"e","channel":"sms","text":"{}"}}"#,
                    long(301)
                ),
                M,
                "text",
            ),
            (
                format!(r#"{{"type":"session","title":"{}"}}"#, long(201)),
                M,
                "title",
            ),
            (
                format!(
                    r#"{{"type":"session","speakers":[{{"name":"{}","role":"r"}}]}}"#,
                    long(101)
                ),
                M,
                "speakers[0].name",
            ),
            (
                format!(
                    r#"{{"type":"ask","ref":"{}","text":"ok"}}"#,
                    "r".repeat(101)
                ),
                A,
                "ref",
            ),
        ] {
            rows.push((frame, role, ErrorCode::Invalid, field));
        }
        let many: Vec<String> = (0..21)
            .map(|i| format!(r#"{{"name":"n{i}","role":"r"}}"#))
            .collect();
        rows.push((
            format!(r#"{{"type":"session","speakers":[{}]}}"#, many.join(",")),
            M,
            ErrorCode::Invalid,
            "at most 20",
        ));
        rows
    }

    #[test]
    fn every_wrong_field_gets_its_code_and_a_message_naming_it() {
        let rows = rows();
        assert!(rows.len() > 150, "{} rows", rows.len());
        for (frame, role, code, word) in rows {
            let e = match parse(&frame, role) {
                Ok(m) => panic!("{frame} from {role:?} was accepted: {m:?}"),
                Err(e) => e,
            };
            assert_eq!(e.code, code, "{frame} from {role:?}: {}", e.message);
            assert!(
                e.message.contains(word),
                "{frame} from {role:?}: {:?} should name {word:?}",
                e.message
            );
            // The reply echoes the ref when it could be read, and is an `error` frame.
            let reply: serde_json::Value = serde_json::from_str(e.frame().as_str()).unwrap();
            assert_eq!(reply["type"], "error");
            assert_eq!(reply["code"], code.as_str());
            let sent_ref = serde_json::from_str::<serde_json::Value>(&frame)
                .ok()
                .and_then(|v| v.get("ref").and_then(|r| r.as_str()).map(str::to_string))
                .filter(|r| (1..=100).contains(&r.chars().count()));
            assert_eq!(reply["ref"].as_str(), sent_ref.as_deref(), "{frame}");
        }
    }

    /// The same frames, corrected, are accepted: the table tests the field, not the frame.
    #[test]
    fn valid_frames_of_every_command_parse() {
        let ok: &[(&str, Option<Role>)] = &[
            (
                r#"{"type":"hello","role":"press","session":"ABCDEF","key":"k","device":"d","since":null}"#,
                None,
            ),
            (
                r#"{"type":"ask","ref":"r","text":"Halo","name":null,"to":null}"#,
                A,
            ),
            (
                r#"{"type":"ask","ref":"r","text":"Halo","outlet":"Sumeks"}"#,
                P,
            ),
            (r#"{"type":"withdraw","question":"QID","rev":2}"#, A),
            (r#"{"type":"vote","question":"QID","on":false}"#, P),
            (r#"{"type":"approve","question":"QID","rev":null}"#, M),
            (
                r#"{"type":"reject","question":"QID","reason":"off topic"}"#,
                M,
            ),
            (r#"{"type":"edit","question":"QID","text":"Baru"}"#, M),
            (r#"{"type":"live","question":"QID"}"#, M),
            (r#"{"type":"answered","question":"QID"}"#, M),
            (r#"{"type":"requeue","question":"QID"}"#, M),
            (r#"{"type":"move","question":"QID","after":"QID"}"#, M),
            (r#"{"type":"assign","question":"QID","to":"s1"}"#, M),
            (r#"{"type":"merge","question":"QID","into":"QID"}"#, M),
            (
                r#"{"type":"enter","ref":"e","text":"Dari SMS","channel":"whatsapp"}"#,
                M,
            ),
            (r#"{"type":"overlay","visible":false}"#, M),
            (
                r#"{"type":"session","status":"paused","title":"T","speakers":[{"name":"A","role":"B"}]}"#,
                M,
            ),
            (r#"{"type":"ban","question":"QID"}"#, M),
            (r#"{"type":"unban","question":"QID","rev":1}"#, M),
            (r#"{"type":"ban","question":"QID","address":true}"#, M),
            (r#"{"type":"rotate_key","role":"overlay"}"#, M),
            (
                r#"{"type":"poll","action":"create","ref":"p","question":"Puas?","options":["Ya","Tidak"],"results":"after_close"}"#,
                M,
            ),
            (r#"{"type":"poll","action":"open","poll":"QID"}"#, M),
            (r#"{"type":"poll","action":"close","poll":"QID"}"#, M),
            (r#"{"type":"poll","action":"delete","poll":"QID"}"#, M),
            (r#"{"type":"poll","action":"show","poll":"QID"}"#, M),
            (r#"{"type":"poll","action":"hide","poll":"QID"}"#, M),
            (r#"{"type":"choose","poll":"QID","option":1}"#, A),
            (r#"{"type":"choose","poll":"QID","option":0}"#, P),
            (r#"{"type":"unban","question":"QID","address":null}"#, M),
            (r#"{"type":"overlay","visible":true,"confirm":true}"#, M),
            (
                r#"{"type":"air_text","question":"QID","text":"Jalan rusak"}"#,
                M,
            ),
            (r#"{"type":"air_text","question":"QID","text":""}"#, M),
            (r#"{"type":"unmask","question":"QID","on":true}"#, M),
            (r#"{"type":"graphic","graphic":"join"}"#, M),
            (
                r#"{"type":"graphic","graphic":"speaker","speaker":"s1"}"#,
                M,
            ),
            (r#"{"type":"graphic","graphic":null}"#, M),
            (r#"{"type":"timer","action":"start"}"#, M),
            (r#"{"type":"timer","action":"reset","seconds":120}"#, M),
            (r#"{"type":"message","text":"1 menit lagi"}"#, M),
            (r#"{"type":"message","text":""}"#, M),
            (
                r#"{"type":"case","question":"QID","action":"forward","agency":"pupr","due":"2026-12-20","note":"Mohon dicek"}"#,
                M,
            ),
            (
                r#"{"type":"case","question":"QID","action":"publish","public":true}"#,
                M,
            ),
            (r#"{"type":"credit","question":"QID","on":true}"#, M),
            (
                r#"{"type":"ask","ref":"r","text":"Jalan rusak","contact":"0812 3456 7890","place":{"kecamatan":"Sako","kelurahan":"Sako"},"topic":"jalan"}"#,
                A,
            ),
            (
                r#"{"type":"enter","ref":"e","text":"Banjir","channel":"sms","contact":"budi@contoh.id","place":{"kecamatan":"Sako"},"topic":"banjir"}"#,
                M,
            ),
        ];
        let mut kinds = std::collections::HashSet::new();
        for (frame, role) in ok {
            let frame = frame.replace("QID", Q);
            match parse(&frame, *role) {
                Ok(ClientMsg::Command { cmd, .. }) => {
                    kinds.insert(cmd.kind());
                }
                Ok(ClientMsg::Hello(_)) => {}
                Err(e) => panic!("{frame}: {e:?}"),
            }
        }
        assert_eq!(kinds.len(), CommandKind::ALL.len(), "every command kind");
    }
}
