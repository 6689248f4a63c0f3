//! The rules: `decide` checks a command against the state and turns it into events, in the
//! contract's order (role, fields, session status, existence, `rev`, question status). One
//! method per command; the quota is left to the caller (see [`Decision::quota`]).

use std::collections::HashSet;

use uuid::Uuid;

use super::command::{Command, Ctx, Decision, ErrorCode, NewFollowup, Quota, Rejection};
use super::event::Event;
use super::question::{Channel, DeviceId, Question, Source, Status, Transition};
use super::role::Who;
use super::session::{SessionState, SessionStatus, Speaker};
use super::stage::Graphic;

impl SessionState {
    /// Checks a command and turns it into events. The role comes first: a command the
    /// sender's role may not send is `forbidden` whatever its fields (the role table is
    /// [`CommandKind::roles`](super::command::CommandKind::roles)).
    pub fn decide(&self, who: &Who, cmd: &Command, ctx: Ctx) -> Result<Decision, Rejection> {
        let kind = cmd.kind();
        if !kind.allows(who.role()) {
            return Err(kind.refuse(who.role()));
        }
        use Command as C;
        match cmd {
            C::Ask {
                client_ref,
                text,
                name,
                outlet,
                to,
                followup,
            } => {
                let fields = NewFields {
                    client_ref,
                    text,
                    name,
                    to,
                    followup,
                };
                self.ask(who, fields, outlet, ctx)
            }
            C::Enter {
                client_ref,
                text,
                name,
                channel,
                to,
                followup,
                station,
            } => {
                let fields = NewFields {
                    client_ref,
                    text,
                    name,
                    to,
                    followup,
                };
                self.enter(who, fields, *channel, station, ctx)
            }
            C::Withdraw { question, rev } => self.withdraw(who, *question, *rev, ctx),
            C::Vote { question, on, rev } => self.vote(who, *question, *on, *rev),
            C::Approve { question, rev } => self.approve(who, *question, *rev, ctx),
            C::Reject {
                question,
                rev,
                reason,
            } => self.reject(who, *question, *rev, reason, ctx),
            C::Edit {
                question,
                rev,
                text,
            } => self.edit(who, *question, *rev, text, ctx),
            C::Live { question, rev } => self.take_live(who, *question, *rev, ctx),
            C::Answered { question, rev } => self.answered(who, *question, *rev, ctx),
            C::Requeue { question, rev } => self.requeue(who, *question, *rev, ctx),
            C::Move {
                question,
                rev,
                after,
            } => self.move_to(who, *question, *rev, *after, ctx),
            C::Assign { question, rev, to } => self.assign(who, *question, *rev, to, ctx),
            C::Merge {
                question,
                rev,
                into,
            } => self.merge(who, *question, *rev, *into, ctx),
            C::Overlay { visible, confirm } => self.overlay(*visible, *confirm),
            C::AirText {
                question,
                rev,
                text,
            } => {
                let q = self.moderate(who, *question, *rev, Transition::Edit, "shorten")?;
                if q.air_text == *text {
                    return Ok(Decision::default());
                }
                Ok(one(put(q, ctx.now, |q| q.air_text = text.clone())))
            }
            C::Unmask { question, rev, on } => {
                self.check_not_closed()?;
                let q = self.find(who, *question)?;
                check_rev(q, *rev)?;
                if q.unmasked == *on {
                    return Ok(Decision::default());
                }
                Ok(one(put(q, ctx.now, |q| q.unmasked = *on)))
            }
            C::Credit { question, rev, on } => {
                let q = self.moderate(who, *question, *rev, Transition::Assign, "credit")?;
                if q.credit == *on {
                    return Ok(Decision::default());
                }
                Ok(one(put(q, ctx.now, |q| q.credit = *on)))
            }
            C::Graphic { graphic } => self.graphic_on_air(graphic),
            C::Timer { action, seconds } => {
                self.check_not_closed()?;
                let timer = self.timer().after(*action, *seconds, ctx.now);
                if Some(timer) == self.timer {
                    return Ok(Decision::default());
                }
                Ok(one(Event::Timer { timer }))
            }
            C::Message { text } => {
                self.check_not_closed()?;
                if self.message == *text {
                    return Ok(Decision::default());
                }
                Ok(one(Event::Message { text: text.clone() }))
            }
            C::Session {
                status,
                title,
                speakers,
                starts_at,
                rehearsal,
            } => {
                let mut d = self.session(*status, title, speakers, *starts_at);
                if *rehearsal == Some(false) && self.info.rehearsal {
                    // Start for real: the rehearsal's questions, votes and bans go first.
                    let mut info = match d.events.pop() {
                        Some(Event::Session { info }) => info,
                        _ => self.info.clone(),
                    };
                    info.rehearsal = false;
                    d = Decision::events(vec![
                        Event::Wipe { at: ctx.now },
                        Event::Session { info },
                    ]);
                }
                Ok(d)
            }
            C::Ban {
                question,
                rev,
                banned,
                address,
            } => self.ban(who, *question, *rev, *banned, *address),
            // Keys are not the session's state: the hub changes them once this allows it.
            C::RotateKey { .. } => Ok(Decision::default()),
            C::Poll(action) => {
                let mut d = self.polls.decide_poll(
                    action,
                    self.info.status == SessionStatus::Closed,
                    self.overlay_visible,
                    ctx,
                )?;
                // One graphic at a time: a poll's result on air takes the graphic off.
                if self.graphic.is_some()
                    && d.events
                        .iter()
                        .any(|e| matches!(e, Event::PollOnAir { poll: Some(_) }))
                {
                    d.events.insert(0, Event::Graphic { graphic: None });
                }
                Ok(d)
            }
            C::Case {
                question,
                action,
                by,
            } => self.decide_case(by, *question, action, ctx.now),
            C::Choose { poll, option } => {
                self.check_not_closed()?;
                self.polls.decide_choose(who, *poll, *option)
            }
        }
    }

    /// `ask`: a new pending question from a phone, or the same question again for a retried
    /// `ref` (checked first, so a retry succeeds even when the session has paused since). A
    /// press phone's question is `press` and keeps its outlet; an audience phone's never has one.
    fn ask(
        &self,
        who: &Who,
        new: NewFields<'_>,
        outlet: &Option<String>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let Who::Device { device, .. } = *who else {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                "only a device may ask",
            ));
        };
        if let Some(id) = self.asks.get(&(device, new.client_ref.to_string())) {
            return self.retry(*id, new.text);
        }
        self.check_to(new.to.as_deref())?;
        let followup = self.check_followup(new.followup)?;
        self.check_open_for_asks()?;
        if self.banned.contains(&device) {
            return Err(Rejection::new(
                ErrorCode::Banned,
                "this device may not ask in this session",
            ));
        }
        if ctx.from.is_some_and(|n| self.banned_nets.contains(&n)) {
            return Err(Rejection::new(
                ErrorCode::Banned,
                "questions from this network may not be asked in this session",
            ));
        }
        let (source, outlet) = if who.role().carries_outlet() {
            (Source::Press, outlet.clone())
        } else {
            (Source::Audience, None)
        };
        Ok(self.create(
            new,
            followup,
            source,
            None,
            outlet,
            Some(device),
            ctx,
            Some(Quota::Ask),
        ))
    }

    /// `enter`: staff type in a question that came another way; idempotent per `ref`. Allowed
    /// while paused (the radio desk goes on), not once closed.
    fn enter(
        &self,
        who: &Who,
        new: NewFields<'_>,
        channel: Channel,
        station: &Option<String>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let desk = *who == Who::DESK;
        // The desk's own refs apart from the staff's: a desk retry never meets a moderator's.
        let client_ref = if desk {
            format!("desk:{}", new.client_ref)
        } else {
            new.client_ref.to_string()
        };
        if let Some(id) = self.enters.get(&client_ref) {
            return self.retry(*id, new.text);
        }
        self.check_to(new.to.as_deref())?;
        let followup = self.check_followup(new.followup)?;
        let station = match station {
            None => None,
            Some(s) => Some(
                self.followup
                    .stations
                    .iter()
                    .find(|x| x.eq_ignore_ascii_case(s.trim()))
                    .cloned()
                    .ok_or_else(|| {
                        Rejection::invalid(format!(
                            "`station` \"{s}\" is not one of the stations: {}",
                            self.followup.stations.join(", ")
                        ))
                    })?,
            ),
        };
        self.check_not_closed()?;
        let mut d = self.create(
            NewFields {
                client_ref: &client_ref,
                ..new
            },
            followup,
            Source::Operator,
            Some(channel),
            None,
            None,
            ctx,
            None,
        );
        for e in &mut d.events {
            if let Event::Put { question, .. } = e {
                question.station = station.clone();
                if desk {
                    question.via = Some(super::question::Via::Desk);
                }
            }
        }
        Ok(d)
    }

    /// `withdraw`: only the asking device, only while pending.
    fn withdraw(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        self.check_not_closed()?;
        let q = self.find(who, question)?;
        if q.author.is_none() || q.author != who.device() {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                "only the device that asked a question may withdraw it",
            ));
        }
        check_rev(q, rev)?;
        check_status(q, Transition::Withdraw, "withdraw")?;
        Ok(one(put(q, ctx.now, |q| q.status = Status::Withdrawn)))
    }

    /// `vote`: sets or clears the device's vote; a repeat changes nothing but still counts
    /// against the quota. A device may clear its vote on any question it voted for, even one it
    /// can no longer see.
    fn vote(
        &self,
        who: &Who,
        question: Uuid,
        on: bool,
        rev: Option<u64>,
    ) -> Result<Decision, Rejection> {
        let device = who
            .device()
            .ok_or_else(|| Rejection::new(ErrorCode::Forbidden, "only a device may vote"))?;
        self.check_not_closed()?;
        let q = match self.questions.get(&question) {
            Some(q) if !on && self.has_vote(device, q.id) => q,
            _ => self.find(who, question)?,
        };
        check_rev(q, rev)?;
        if on && !q.status.votable() {
            return Err(Rejection::conflict(
                q,
                format!("a question that is {} cannot get votes", q.status.as_str()),
            ));
        }
        let events = if self.has_vote(device, q.id) == on {
            vec![]
        } else {
            vec![Event::Vote {
                question: q.id,
                device,
                on,
            }]
        };
        Ok(Decision {
            events,
            quota: Some(Quota::Vote),
            ..Decision::default()
        })
    }

    /// `approve`: into the queue at its end; a rejection's reason is cleared.
    fn approve(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let q = self.moderate(who, question, rev, Transition::Approve, "approve")?;
        let pos = self.max_position + 1.0;
        Ok(one(put(q, ctx.now, |q| {
            q.status = Status::Approved;
            q.position = Some(pos);
            q.reason = None;
        })))
    }

    /// `reject`: out of the public view with an optional reason; off air if it was on air.
    fn reject(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        reason: &Option<String>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let q = self.moderate(who, question, rev, Transition::Reject, "reject")?;
        let mut events = vec![put(q, ctx.now, |q| {
            q.status = Status::Rejected;
            q.reason = reason.clone();
        })];
        self.off_air_if_live(q, &mut events);
        Ok(Decision::events(events))
    }

    /// `edit`: new text, flagged again; the first original is kept, and editing back to it
    /// clears it. The same text changes nothing.
    fn edit(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        text: &str,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let q = self.moderate(who, question, rev, Transition::Edit, "edit")?;
        if q.text == text {
            return Ok(Decision::default());
        }
        let flags = self.flagger.flags(text);
        Ok(one(put(q, ctx.now, |q| {
            if q.original_text.is_none() {
                q.original_text = Some(q.text.clone());
            }
            if q.original_text.as_deref() == Some(text) {
                q.original_text = None;
            }
            q.text = text.to_string();
            q.flags = flags;
        })))
    }

    /// `live`: the question being answered now. The one live before becomes answered, and the
    /// lower third goes off air first (the moderator takes the new one explicitly).
    fn take_live(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let q = self.moderate(who, question, rev, Transition::Live, "put on air")?;
        let mut events = Vec::new();
        if let Some(old) = self.live() {
            events.push(put(old, ctx.now, |o| o.status = Status::Answered));
        }
        if self.overlay_visible {
            events.push(Event::Overlay { visible: false });
        }
        events.push(put(q, ctx.now, |q| q.status = Status::Live));
        Ok(Decision::events(events))
    }

    /// `answered`: done; off air if it was on air.
    fn answered(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let q = self.moderate(who, question, rev, Transition::Answered, "mark answered")?;
        let mut events = vec![put(q, ctx.now, |q| q.status = Status::Answered)];
        self.off_air_if_live(q, &mut events);
        Ok(Decision::events(events))
    }

    /// `requeue`: back into the queue at its old place; off air if it was on air.
    fn requeue(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        let q = self.moderate(who, question, rev, Transition::Requeue, "requeue")?;
        let pos = q.position.unwrap_or(self.max_position + 1.0);
        let mut events = vec![put(q, ctx.now, |q| {
            q.status = Status::Approved;
            q.position = Some(pos);
        })];
        self.off_air_if_live(q, &mut events);
        Ok(Decision::events(events))
    }

    /// `move`: after another approved question, or to the top (`after` null).
    fn move_to(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        after: Option<Uuid>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        if after == Some(question) {
            return Err(Rejection::invalid("`after` must name another question"));
        }
        let q = self.moderate(who, question, rev, Transition::Move, "move")?;
        if let Some(a) = after {
            let a = self.find(who, a).map_err(|mut r| {
                r.message = "`after` names no question of this session".into();
                r
            })?;
            if a.status != Status::Approved {
                return Err(Rejection::conflict(
                    q,
                    "`after` must name a question in the approved queue",
                ));
            }
        }
        Ok(Decision::events(self.move_events(q, after, ctx.now)))
    }

    /// `assign`: addressed to a speaker of the session, or to nobody.
    fn assign(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        to: &Option<String>,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        self.check_to(to.as_deref())?;
        let q = self.moderate(who, question, rev, Transition::Assign, "assign")?;
        if &q.to == to {
            return Ok(Decision::default());
        }
        Ok(one(put(q, ctx.now, |q| q.to = to.clone())))
    }

    /// `merge`: a duplicate joins an approved, live or answered question, with its voters
    /// (one vote per device).
    fn merge(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        into: Uuid,
        ctx: Ctx,
    ) -> Result<Decision, Rejection> {
        if question == into {
            return Err(Rejection::invalid(
                "a question cannot be merged into itself",
            ));
        }
        let q = self.moderate(who, question, rev, Transition::MergeFrom, "merge")?;
        let target = self.find(who, into).map_err(|mut r| {
            r.message = "`into` names no question of this session".into();
            r
        })?;
        if !Transition::MergeInto.allows(target.status) {
            return Err(Rejection::conflict(
                q,
                format!(
                    "cannot merge into a question that is {}: it must be approved, live or answered",
                    target.status.as_str()
                ),
            ));
        }
        let into = target.id;
        Ok(Decision::events(vec![
            put(q, ctx.now, |q| {
                q.status = Status::Merged;
                q.merged_into = Some(into);
            }),
            Event::MergeVotes { from: q.id, into },
        ]))
    }

    /// `overlay`: the lower third on air (only while a question is live) or off. A question
    /// flagged `profanity` or `personal_data` (in its text or its air text) goes on air only
    /// with `confirm`.
    fn overlay(&self, visible: bool, confirm: bool) -> Result<Decision, Rejection> {
        self.check_not_closed()?;
        if visible {
            let Some(live) = self.live() else {
                return Err(Rejection::new(
                    ErrorCode::Conflict,
                    "no question is live: put one live before taking it on air",
                ));
            };
            let flagged = self.air_flags(live);
            if !flagged.is_empty() && !confirm && !self.overlay_visible {
                return Err(Rejection::new(
                    ErrorCode::Unconfirmed,
                    format!(
                        "the live question is flagged ({}): take it on air with `confirm: true`",
                        flagged.join(", ")
                    ),
                ));
            }
        }
        // One graphic at a time: taking the question or clearing the overlay takes a poll's
        // result and the call to action or name strap off air too.
        let mut events = vec![];
        if self.polls.on_air().is_some() {
            events.push(Event::PollOnAir { poll: None });
        }
        if self.graphic.is_some() {
            events.push(Event::Graphic { graphic: None });
        }
        if visible != self.overlay_visible {
            events.push(Event::Overlay { visible });
        }
        Ok(Decision::events(events))
    }

    /// The flags that make taking `q` on air need a confirmation: `profanity` and
    /// `personal_data`, of its text or of its air text.
    pub fn air_flags(&self, q: &Question) -> Vec<&'static str> {
        let air = q
            .air_text
            .as_deref()
            .map(|t| self.flagger.flags(t))
            .unwrap_or_default();
        ["profanity", "personal_data"]
            .into_iter()
            .filter(|f| q.flags.iter().chain(&air).any(|g| g == f))
            .collect()
    }

    /// `graphic`: the call to action or a speaker's strap on air (the question's lower third
    /// and a poll's result go off), or off.
    fn graphic_on_air(&self, graphic: &Option<Graphic>) -> Result<Decision, Rejection> {
        self.check_not_closed()?;
        if let Some(Graphic::Speaker { speaker }) = graphic
            && !self.info.speakers.iter().any(|s| s.id == *speaker)
        {
            return Err(Rejection::invalid(format!(
                "`speaker` names no speaker of this session: \"{speaker}\""
            )));
        }
        if self.graphic == *graphic {
            return Ok(Decision::default());
        }
        let mut events = vec![];
        if graphic.is_some() {
            if self.overlay_visible {
                events.push(Event::Overlay { visible: false });
            }
            if self.polls.on_air().is_some() {
                events.push(Event::PollOnAir { poll: None });
            }
        }
        events.push(Event::Graphic {
            graphic: graphic.clone(),
        });
        Ok(Decision::events(events))
    }

    /// `session`: status, title, speakers; the only change a closed session takes (to reopen).
    fn session(
        &self,
        status: Option<SessionStatus>,
        title: &Option<String>,
        speakers: &Option<Vec<Speaker>>,
        starts_at: Option<Option<i64>>,
    ) -> Decision {
        let mut info = self.info.clone();
        if let Some(t) = starts_at {
            info.starts_at = t;
        }
        if let Some(s) = status {
            info.status = s;
        }
        if let Some(t) = title {
            info.title = t.clone();
        }
        if let Some(s) = speakers {
            info.speakers = s.clone();
        }
        if info == self.info {
            return Decision::default();
        }
        one(Event::Session { info })
    }

    /// `ban` / `unban`: the device that asked a question, or with `address` the network it
    /// asked from, may (not) ask again.
    fn ban(
        &self,
        who: &Who,
        question: Uuid,
        rev: Option<u64>,
        banned: bool,
        address: bool,
    ) -> Result<Decision, Rejection> {
        self.check_not_closed()?;
        let q = self.find(who, question)?;
        let device = q
            .author
            .ok_or_else(|| Rejection::invalid("an operator entry has no device to ban"))?;
        check_rev(q, rev)?;
        if address {
            let net = q.net.ok_or_else(|| {
                Rejection::invalid("the network this question was asked from is not known")
            })?;
            if self.banned_nets.contains(&net) == banned {
                return Ok(Decision::default());
            }
            return Ok(one(Event::BanNet { net, banned }));
        }
        if self.banned.contains(&device) == banned {
            return Ok(Decision::default());
        }
        Ok(one(Event::Ban { device, banned }))
    }

    /// The decision creating a pending question (`ask`, `enter`).
    #[allow(clippy::too_many_arguments)]
    /// Checks a new question's place and topic against the lists (the contact was checked by
    /// the parser).
    fn check_followup(&self, f: &NewFollowup) -> Result<NewFollowup, Rejection> {
        let o = &self.followup.options;
        Ok(NewFollowup {
            contact: f.contact.clone(),
            place: f.place.as_ref().map(|p| o.place(p)).transpose()?,
            topic: f.topic.as_deref().map(|t| o.topic(t)).transpose()?,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &self,
        new: NewFields<'_>,
        followup: NewFollowup,
        source: Source,
        channel: Option<Channel>,
        outlet: Option<String>,
        author: Option<DeviceId>,
        ctx: Ctx,
        quota: Option<Quota>,
    ) -> Decision {
        let q = Question {
            id: ctx.new_id,
            rev: 1,
            flags: self.flagger.flags(new.text),
            text: new.text.to_string(),
            original_text: None,
            name: new.name.clone(),
            source,
            channel,
            outlet,
            to: new.to.clone(),
            status: Status::Pending,
            position: None,
            merged_into: None,
            reason: None,
            author,
            net: author.and(ctx.from),
            air_text: None,
            unmasked: false,
            via: None,
            station: None,
            credit: false,
            contact: followup.contact,
            place: followup.place,
            topic: followup.topic,
            carried_from: None,
            carried_to: None,
            client_ref: new.client_ref.to_string(),
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        Decision {
            events: vec![Event::Put {
                question: q,
                done: None,
            }],
            question: Some(ctx.new_id),
            quota,
            ..Decision::default()
        }
    }

    fn retry(&self, id: Uuid, text: &str) -> Result<Decision, Rejection> {
        let q = self.questions.get(&id).ok_or_else(|| {
            Rejection::new(ErrorCode::Internal, "idempotency record without question")
        })?;
        let asked = q.original_text.as_deref().unwrap_or(&q.text);
        if asked != text {
            return Err(Rejection::conflict(
                q,
                "this `ref` was already used for a question with another text",
            ));
        }
        Ok(Decision {
            events: vec![],
            question: Some(id),
            ..Decision::default()
        })
    }

    fn check_to(&self, to: Option<&str>) -> Result<(), Rejection> {
        match to {
            Some(t) if !self.info.speakers.iter().any(|s| s.id == t) => Err(Rejection::new(
                ErrorCode::Invalid,
                format!("`to` names no speaker of this session: \"{t}\""),
            )),
            _ => Ok(()),
        }
    }

    fn check_not_closed(&self) -> Result<(), Rejection> {
        if self.info.status == SessionStatus::Closed {
            return Err(Rejection::new(ErrorCode::Closed, "the session is closed"));
        }
        Ok(())
    }

    fn check_open_for_asks(&self) -> Result<(), Rejection> {
        match self.info.status {
            SessionStatus::Open => Ok(()),
            SessionStatus::Paused => Err(Rejection::new(
                ErrorCode::Closed,
                "the session is paused: it takes no new questions now",
            )),
            SessionStatus::Closed => {
                Err(Rejection::new(ErrorCode::Closed, "the session is closed"))
            }
        }
    }

    /// Existence, as the sender sees it: a question it may not see is `not_found`; one carried
    /// over to a later episode is `conflict` (it is changed there).
    fn find(&self, who: &Who, id: Uuid) -> Result<&Question, Rejection> {
        let q = self
            .questions
            .get(&id)
            .filter(|q| self.visible_to(who, q))
            .ok_or_else(|| {
                Rejection::new(ErrorCode::NotFound, "no such question in this session")
            })?;
        check_not_carried(q)?;
        Ok(q)
    }

    /// The common checks of a moderator command: closed, existence, rev, status.
    fn moderate(
        &self,
        who: &Who,
        id: Uuid,
        rev: Option<u64>,
        t: Transition,
        verb: &str,
    ) -> Result<&Question, Rejection> {
        self.check_not_closed()?;
        let q = self.find(who, id)?;
        check_rev(q, rev)?;
        check_status(q, t, verb)?;
        Ok(q)
    }

    fn off_air_if_live(&self, q: &Question, events: &mut Vec<Event>) {
        if q.status == Status::Live && self.overlay_visible {
            events.push(Event::Overlay { visible: false });
        }
    }

    /// The events of moving `q` after `after` (or to the top). The moved question gets a
    /// position between its new neighbours that no other question holds, not even one kept by a
    /// live or answered question (so a later `requeue` cannot collide); when no such number is
    /// left, the queue is renumbered with fresh values above every position ever given.
    fn move_events(&self, q: &Question, after: Option<Uuid>, now: i64) -> Vec<Event> {
        let mut queue: Vec<&Question> = self.queue().into_iter().filter(|x| x.id != q.id).collect();
        let idx = match after {
            None => 0,
            Some(a) => queue
                .iter()
                .position(|x| x.id == a)
                .map_or(queue.len(), |i| i + 1),
        };
        let prev = idx
            .checked_sub(1)
            .and_then(|i| queue.get(i))
            .and_then(|x| x.position);
        let next = queue.get(idx).and_then(|x| x.position);
        let taken: HashSet<u64> = self
            .questions
            .values()
            .filter(|x| x.id != q.id)
            .filter_map(|x| x.position.map(f64::to_bits))
            .collect();
        let lowest = self
            .questions
            .values()
            .filter_map(|x| x.position)
            .fold(f64::MAX, f64::min);
        let stays = q
            .position
            .is_some_and(|cur| prev.is_none_or(|p| p < cur) && next.is_none_or(|n| cur < n));
        if stays {
            return vec![];
        }
        let new = match (prev, next) {
            (None, None) => q.position,
            (None, Some(_)) => Some(lowest - 1.0),
            (Some(_), None) => Some(self.max_position + 1.0),
            (Some(p), Some(n)) => free_between(p, n, &taken),
        };
        if let Some(new) = new {
            if q.position == Some(new) {
                return vec![];
            }
            return vec![put(q, now, |q| q.position = Some(new))];
        }
        queue.insert(idx, q);
        queue
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let pos = self.max_position + (i + 1) as f64;
                put(x, now, |x| x.position = Some(pos))
            })
            .collect()
    }
}

/// A number strictly between `p` and `n` that no question holds, if floating point has one.
fn free_between(p: f64, n: f64, taken: &HashSet<u64>) -> Option<f64> {
    let (mut lo, hi) = (p, n);
    for _ in 0..64 {
        let mid = lo + (hi - lo) / 2.0;
        if !(mid > lo && mid < hi && mid.is_finite()) {
            return None;
        }
        if !taken.contains(&mid.to_bits()) {
            return Some(mid);
        }
        lo = mid;
    }
    None
}

/// The fields a client gives a new question (`ask` or `enter`).
struct NewFields<'a> {
    client_ref: &'a str,
    text: &'a str,
    name: &'a Option<String>,
    to: &'a Option<String>,
    followup: &'a NewFollowup,
}

fn check_rev(q: &Question, rev: Option<u64>) -> Result<(), Rejection> {
    match rev {
        Some(r) if r != q.rev => Err(Rejection::conflict(
            q,
            format!(
                "the question changed meanwhile (rev {r} given, now {}): someone acted first",
                q.rev
            ),
        )),
        _ => Ok(()),
    }
}

fn check_status(q: &Question, t: Transition, verb: &str) -> Result<(), Rejection> {
    if t.allows(q.status) {
        return Ok(());
    }
    let allowed: Vec<&str> = t.allowed_from().iter().map(|s| s.as_str()).collect();
    Err(Rejection::conflict(
        q,
        format!(
            "cannot {verb} a question that is {}; allowed from: {}",
            q.status.as_str(),
            allowed.join(", ")
        ),
    ))
}

/// A changed copy of `q` with `rev` + 1.
fn put(q: &Question, now: i64, f: impl FnOnce(&mut Question)) -> Event {
    let mut n = q.clone();
    f(&mut n);
    n.rev = q.rev + 1;
    n.updated_at = now;
    Event::Put {
        question: n,
        done: None,
    }
}

fn one(e: Event) -> Decision {
    Decision::events(vec![e])
}

/// A question carried over to another episode is followed there: this episode refuses changes.
pub(super) fn check_not_carried(q: &Question) -> Result<(), Rejection> {
    match &q.carried_to {
        Some(e) => Err(Rejection::new(
            ErrorCode::Conflict,
            format!(
                "the question was carried over to the episode \"{}\" ({}): act on it there",
                e.title, e.code
            ),
        )),
        None => Ok(()),
    }
}
