//! The follow-up in the hub (docs/followup.md): case actions and erasures from HTTP, decided
//! and journaled by the question's session like every command; the case table written with
//! the events that change it; the agencies; retention.

use std::collections::HashSet;
use std::sync::RwLock;

use tokio::sync::oneshot;
use uuid::Uuid;

use super::actor::{Actor, Outcome, Reply, Uncommitted, now_ms};
use super::{Hub, HubError, SessionHandle};
use crate::domain::event::PresenceCounts;
use crate::domain::followup::{By, ByRole, CaseAction, CaseDoc, Done, tracking_code};
use crate::domain::question::Via;
use crate::domain::{Command, Ctx, Who};
use crate::domain::{Decision, ErrorCode, Event, Question, Rejection, SessionState};
use crate::store::{Agency, CaseFilter, CaseRow};

/// A request from HTTP, answered after its commit.
pub struct Request {
    /// What to do.
    pub kind: RequestKind,
    /// The outcome: done (committed; with the question an intake created or found), or why not.
    pub reply: oneshot::Sender<Result<Option<Uuid>, Rejection>>,
}

/// Where the outcome of a request from HTTP goes, once committed.
pub struct HttpReply {
    /// The waiting handler.
    pub tx: oneshot::Sender<Result<Option<Uuid>, Rejection>>,
    /// The question an intake created or found.
    pub question: Option<Uuid>,
}

/// What a follow-up request asks.
pub enum RequestKind {
    /// A case action by the office or an agency.
    Case {
        /// Who acts.
        by: By,
        /// The question.
        question: Uuid,
        /// The action.
        action: CaseAction,
    },
    /// Erase a question's contact (retention, purge).
    Erase {
        /// The question.
        question: Uuid,
    },
    /// The office changes the session's title, speakers or start (`PATCH /api/sessions/{id}`):
    /// a `session` command, decided as the staff's.
    Session {
        /// The `session` command, fields checked.
        cmd: Command,
    },
    /// A question of the episode before, carried over into this one with its case.
    CarryIn {
        /// The question as the earlier episode has it.
        question: Box<Question>,
        /// Its case there.
        case: Box<crate::domain::followup::Case>,
        /// The earlier episode.
        from: crate::domain::question::Episode,
        /// Who carried it.
        by: By,
    },
    /// A question of this episode was carried over to a later one.
    CarryOut {
        /// The question.
        question: Uuid,
        /// The later episode.
        to: crate::domain::question::Episode,
        /// Who carried it.
        by: By,
    },
    /// A question from a gateway (the intake API) or the desk: an `enter`, attributed.
    Enter {
        /// The `enter` command, fields checked.
        cmd: Command,
        /// Who typed it in.
        via: Via,
        /// Who, for the history.
        by: By,
        /// The per-contact limit's key, for a new question with a contact.
        limit: Option<String>,
    },
}

/// A question with its case, from the session's state.
pub fn case_doc(state: &SessionState, q: &Question) -> CaseDoc {
    CaseDoc {
        public_text: state.public_text(q).to_string(),
        question: q.clone(),
        case: state.case(q.id).cloned().unwrap_or_default(),
    }
}

/// The case-table row of a question, from the session's state.
pub fn case_row(session: Uuid, state: &SessionState, q: &Question) -> CaseRow {
    let doc = case_doc(state, q);
    let updated = doc
        .case
        .history
        .last()
        .map_or(q.updated_at, |s| s.at.max(q.updated_at));
    CaseRow {
        question: q.id,
        session,
        tracking: tracking_code(q.id),
        status: doc.case.status.as_str().to_string(),
        agency: doc.case.agency.clone(),
        due: doc.case.due.map(|d| d.to_string()),
        closed_at: doc.case.closed_at,
        has_contact: q.contact.is_some(),
        public: doc.case.public,
        created_at: q.created_at,
        updated_at: updated,
        body: serde_json::to_string(&doc).unwrap_or_default(),
    }
}

impl Actor {
    /// Completes a case action with the hub's knowledge: a forward names an agency that
    /// exists (else `not_found`), and one without a due date is due `followup.due_days` from
    /// today (office time).
    pub(super) fn prepare_case(&self, action: &mut CaseAction) -> Result<(), Rejection> {
        if let CaseAction::Forward { agency, due, .. } = action {
            if self.shared.agencies.get(agency).is_none() {
                return Err(Rejection::new(
                    ErrorCode::NotFound,
                    format!("no agency `{agency}`"),
                ));
            }
            if due.is_none() {
                let days = chrono::Days::new(u64::from(self.shared.cfg.followup.due_days));
                *due = self.shared.cfg.today().checked_add_days(days);
            }
        }
        Ok(())
    }

    /// Decides and applies a request from HTTP; its outcome goes back after the commit.
    pub(super) fn request(&mut self, r: Request, events: &mut Vec<Event>) -> Uncommitted {
        let now = now_ms();
        let mut question = None;
        let decision = match r.kind {
            RequestKind::Session { cmd } => {
                let ctx = Ctx {
                    now,
                    new_id: Uuid::new_v4(),
                    from: None,
                };
                self.state.decide(&Who::MODERATOR, &cmd, ctx)
            }
            RequestKind::Enter {
                cmd,
                via,
                by,
                limit,
            } => self
                .intake(cmd, via, by, limit, now)
                .inspect(|d| question = d.question),
            RequestKind::Case {
                by,
                question,
                mut action,
            } => match self.prepare_case(&mut action) {
                Ok(()) => self.state.decide_case(&by, question, &action, now),
                Err(r) => Err(r),
            },
            RequestKind::CarryIn {
                question: q,
                case,
                from,
                by,
            } => {
                question = Some(q.id);
                self.state.decide_carry_in(*q, *case, from, by, now)
            }
            RequestKind::CarryOut {
                question: id,
                to,
                by,
            } => self.state.decide_carry_out(id, to, by, now),
            RequestKind::Erase { question } => match self.state.question(question) {
                Some(q) if q.contact.is_some() => {
                    Ok(Decision::events(vec![Event::Erase { question, at: now }]))
                }
                Some(_) => Ok(Decision::default()),
                None => Err(Rejection::new(ErrorCode::NotFound, "no such question")),
            },
        };
        let mut frames = Vec::new();
        let outcome = match decision {
            Ok(d) => {
                for e in &d.events {
                    let applied = self.state.apply(e);
                    self.frames_for(applied, &mut frames);
                }
                events.extend(d.events);
                Outcome::Ok(Default::default())
            }
            Err(rej) => Outcome::Refused(rej),
        };
        Uncommitted {
            frames,
            reply: Reply {
                conn: 0,
                client_ref: None,
                outcome,
            },
            http: Some(HttpReply {
                tx: r.reply,
                question,
            }),
        }
    }

    /// An `enter` from a gateway or the desk: decided as the staff's, attributed to `via` and
    /// `by`; a new question counts against its contact's limit (`intake.per_contact_per_minute`).
    fn intake(
        &mut self,
        cmd: Command,
        via: Via,
        by: By,
        limit: Option<String>,
        now: i64,
    ) -> Result<Decision, Rejection> {
        let ctx = Ctx {
            now,
            new_id: Uuid::new_v4(),
            from: None,
        };
        let mut d = self.state.decide(&Who::MODERATOR, &cmd, ctx)?;
        if !d.events.is_empty()
            && let Some(key) = limit
            && let Err(not_until) = self.shared.intake_limits.check_key(&key)
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(Rejection {
                retry_after_ms: Some(wait.as_millis().max(1) as u64),
                ..Rejection::new(
                    ErrorCode::RateLimited,
                    format!(
                        "too many questions from this contact: wait {}s",
                        wait.as_secs().max(1)
                    ),
                )
            });
        }
        for e in &mut d.events {
            if let Event::Put { question, done } = e {
                question.via = Some(via);
                *done = Some(Done {
                    act: "enter".into(),
                    by: by.clone(),
                });
            }
        }
        Ok(d)
    }

    /// Whether more sockets of some role are joined now than the journal's peak.
    pub(super) fn presence_peaks(&self) -> bool {
        let now = PresenceCounts::from_roles(self.fanout.presence());
        now.max(self.state.peak()) != self.state.peak()
    }

    /// Journals how many sockets of each role are joined, when any is (the report's peaks).
    pub(super) async fn journal_presence(&mut self) {
        let counts = PresenceCounts::from_roles(self.fanout.presence());
        if counts == PresenceCounts::default() {
            return;
        }
        let e = Event::Presence {
            at: now_ms(),
            counts,
        };
        self.state.apply(&e);
        self.commit(&mut vec![e], &mut Vec::new()).await;
    }

    /// The case rows written with these events, in the state after them: a new question's
    /// (its tracking code works once its `ok` is out), and those of questions whose status or
    /// case moved or whose contact was erased. Other changes of a question (edits, moves in
    /// the queue) mark its row to be written behind by [`Actor::flush_cases`].
    pub(super) fn case_rows(&mut self, events: &[Event]) -> Vec<CaseRow> {
        let mut seen = HashSet::new();
        let mut rows = Vec::new();
        for e in events {
            let id = match e {
                Event::Put { question, .. }
                    if self.cased.get(&question.id) == Some(&question.status) =>
                {
                    self.dirty_cases.insert(question.id);
                    continue;
                }
                Event::Put { question, .. } => question.id,
                Event::Case { question, .. } | Event::Erase { question, .. } => *question,
                Event::Wipe { .. } => {
                    self.cased.clear();
                    seen.clear();
                    rows.clear();
                    continue;
                }
                _ => continue,
            };
            if seen.insert(id)
                && let Some(q) = self.state.question(id)
            {
                self.cased.insert(id, q.status);
                self.dirty_cases.remove(&id);
                rows.push(case_row(self.record.info.id, &self.state, q));
            }
        }
        rows
    }

    /// Writes the case rows that lag their questions (edits since the last round). A failed
    /// write keeps them for the next round; a restart compares every row with the journal.
    pub(super) async fn flush_cases(&mut self) {
        if self.dirty_cases.is_empty() {
            return;
        }
        let session = self.record.info.id;
        let rows: Vec<CaseRow> = self
            .dirty_cases
            .iter()
            .filter_map(|id| self.state.question(*id))
            .map(|q| case_row(session, &self.state, q))
            .collect();
        match self.shared.store.put_cases(session, &rows).await {
            Ok(()) => {
                self.dirty_cases.clear();
                self.cases_marked = false;
            }
            Err(e) => tracing::error!(session = %session, error = %e, "case rows not written"),
        }
    }
}

impl SessionHandle {
    /// Sends a follow-up request to the session; its outcome once committed.
    pub async fn request(
        &self,
        kind: RequestKind,
    ) -> Result<Result<Option<Uuid>, Rejection>, HubError> {
        self.here()?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(super::actor::Mail::Request(Request { kind, reply }))
            .await
            .map_err(|_| HubError::SessionStopped)?;
        rx.await.map_err(|_| HubError::SessionStopped)
    }
}

/// The agencies, read at start and kept in step with the store.
#[derive(Debug, Default)]
pub struct Agencies {
    list: RwLock<Vec<Agency>>,
}

impl Agencies {
    /// Every agency, by name.
    pub fn all(&self) -> Vec<Agency> {
        self.list.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// One agency.
    pub fn get(&self, id: &str) -> Option<Agency> {
        self.list
            .read()
            .ok()
            .and_then(|l| l.iter().find(|a| a.id == id).cloned())
    }

    fn set(&self, list: Vec<Agency>) {
        if let Ok(mut l) = self.list.write() {
            *l = list;
        }
    }
}

impl Hub {
    /// Reads the agencies from the store (at start).
    pub(crate) async fn load_agencies(&self) -> Result<(), HubError> {
        let list = self.shared.store.agencies().await?;
        self.shared.agencies.set(list);
        Ok(())
    }

    /// A new agency with a fresh key; `Invalid` for bad fields, `Duplicate` (store) when its
    /// id is taken.
    pub async fn create_agency(
        &self,
        name: &str,
        short: &str,
        id: Option<&str>,
    ) -> Result<Agency, HubError> {
        use crate::domain::followup::{agency_slug, limits, validate_agency_id};
        use crate::domain::text::checked;
        let name = checked("name", name, limits::AGENCY_NAME)?;
        let short = checked("short", short, limits::AGENCY_SHORT)?;
        let id = match id {
            Some(id) => validate_agency_id(id)?,
            None => validate_agency_id(&agency_slug(&short))?,
        };
        let a = Agency {
            id,
            name,
            short,
            key: super::secrets::new_key(),
            created_at: now_ms(),
        };
        self.shared.store.create_agency(&a).await?;
        self.load_agencies().await?;
        self.announce(super::bus::News::Agencies).await;
        Ok(a)
    }

    /// Gives an agency a new key (its old link stops working); `None` when there is no such agency.
    pub async fn rotate_agency_key(&self, id: &str) -> Result<Option<Agency>, HubError> {
        let Some(mut a) = self.shared.agencies.get(id) else {
            return Ok(None);
        };
        a.key = super::secrets::new_key();
        self.shared.store.update_agency(&a).await?;
        self.load_agencies().await?;
        self.announce(super::bus::News::Agencies).await;
        Ok(Some(a))
    }

    /// Every agency.
    pub fn agencies(&self) -> Vec<Agency> {
        self.shared.agencies.all()
    }

    /// The agency whose id and key these are.
    pub fn agency_with_key(&self, id: &str, key: &str) -> Option<Agency> {
        self.shared
            .agencies
            .get(id)
            .filter(|a| super::secrets::same_secret(&a.key, key))
    }

    /// The case row of a question.
    pub async fn case(&self, question: Uuid) -> Result<Option<CaseRow>, HubError> {
        let rows = self
            .shared
            .store
            .cases(&CaseFilter {
                question: Some(question),
                ..CaseFilter::default()
            })
            .await?;
        Ok(rows.into_iter().next())
    }

    /// A case action by the office or an agency: decided and journaled by the question's
    /// session; the case row after it. An agency's action on a case not forwarded to it is
    /// `not_found`, as is an unknown agency in `forward`.
    pub async fn case_action(
        &self,
        question: Uuid,
        by: By,
        action: CaseAction,
    ) -> Result<Result<CaseRow, Rejection>, HubError> {
        let not_found = || Rejection::new(ErrorCode::NotFound, "no such case");
        let Some(row) = self.case(question).await? else {
            return Ok(Err(not_found()));
        };
        if by.role == ByRole::Agency && row.agency != by.agency {
            return Ok(Err(not_found()));
        }
        let Some(s) = self.session(&row.session.to_string()).await? else {
            return Ok(Err(not_found()));
        };
        if let Err(r) = s
            .request(RequestKind::Case {
                by,
                question,
                action,
            })
            .await?
        {
            return Ok(Err(r));
        }
        Ok(self.case(question).await?.ok_or_else(not_found))
    }

    /// Erases the contacts of these questions (session, question), each journaled by its
    /// session, then compacts the store so the values are gone from its files. How many were
    /// erased.
    pub async fn erase_contacts(&self, which: Vec<(Uuid, Uuid)>) -> Result<usize, HubError> {
        let mut n = 0;
        for (session, question) in which {
            // A question carried over between episodes is in each one's journal: erased in
            // every one, newest first.
            let mut at = Some(session);
            let mut first = true;
            while let Some(session) = at.take() {
                let Some(s) = self.session(&session.to_string()).await? else {
                    break;
                };
                match s.request(RequestKind::Erase { question }).await? {
                    Ok(_) => n += usize::from(first),
                    Err(r) => tracing::warn!(%question, error = %r.message, "contact not erased"),
                }
                first = false;
                at = s
                    .query(move |v| {
                        v.state
                            .question(question)
                            .and_then(|q| q.carried_from.as_ref().map(|e| e.session))
                    })
                    .await?;
            }
        }
        if n > 0 {
            self.shared.store.compact().await?;
        }
        tracing::info!(erased = n, "contacts erased");
        Ok(n)
    }

    /// Erases the contacts of every question asked before `before` (epoch milliseconds).
    pub async fn purge(&self, before: i64) -> Result<usize, HubError> {
        let which = self
            .shared
            .store
            .contacts_to_erase(None, Some(before))
            .await?;
        self.erase_contacts(which).await
    }

    /// Erases the contacts of cases closed more than `followup.retention_days` ago.
    pub async fn retention(&self) -> Result<usize, HubError> {
        self.retention_at(now_ms()).await
    }

    /// [`Hub::retention`] as if it were `now` (epoch milliseconds).
    pub async fn retention_at(&self, now: i64) -> Result<usize, HubError> {
        let days = i64::from(self.shared.cfg.followup.retention_days);
        let before = now - days * 86_400_000;
        let which = self
            .shared
            .store
            .contacts_to_erase(Some(before), None)
            .await?;
        if which.is_empty() {
            return Ok(0);
        }
        self.erase_contacts(which).await
    }

    /// The most sockets per role a session had, from the presence in its journal.
    pub async fn peak_of(&self, session: Uuid) -> Result<PresenceCounts, HubError> {
        let events = self.shared.store.load_events(session).await?;
        Ok(events
            .iter()
            .fold(PresenceCounts::default(), |p, e| match e {
                Event::Presence { counts, .. } => p.max(*counts),
                _ => p,
            }))
    }

    /// Writes the case rows of a session that lag its journal: a journal from before the case
    /// table, a session replayed from elsewhere, or edits written behind that a crash lost.
    /// Returns how many rows were written.
    pub(super) async fn backfill_cases(
        &self,
        session: Uuid,
        state: &SessionState,
    ) -> Result<usize, HubError> {
        let stored = self.shared.store.case_bodies(session).await?;
        let rows: Vec<CaseRow> = state
            .questions()
            .map(|q| case_row(session, state, q))
            .filter(|r| stored.get(&r.question) != Some(&r.body))
            .collect();
        self.shared.store.put_cases(session, &rows).await?;
        Ok(rows.len())
    }

    /// At start: the case rows of sessions whose edits were being written behind when the
    /// hub stopped without its shutdown (a crash, `kill -9`), caught up from their journals.
    pub(super) async fn catch_up_cases(&self) -> Result<(), HubError> {
        for id in self.shared.store.sessions_cases_behind().await? {
            let Some(rec) = self.shared.store.find_session(&id.to_string()).await? else {
                continue;
            };
            let events = self.shared.store.load_events(id).await?;
            let mut state = SessionState::replay(rec.info, self.shared.flagger.clone(), &events);
            state.followup.options = self.shared.options.clone();
            let n = self.backfill_cases(id, &state).await?;
            tracing::info!(session = %id, rows = n, "case rows caught up with the journal");
        }
        Ok(())
    }
}
