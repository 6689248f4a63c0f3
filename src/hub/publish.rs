//! Frames per view: what each role receives of a change, a vote tally, presence and a
//! welcome. Each frame is encoded once per view ([`frames`]) and shared by every socket of
//! that view.

use std::collections::HashMap;

use axum::extract::ws::Utf8Bytes;
use uuid::Uuid;

use super::actor::Actor;
use super::fanout::{Out, PerView};
use super::frames::{self, Counts, SessionBody};
use crate::domain::poll::PollChange;
use crate::domain::question::Via;
use crate::domain::view::{self, PollViewer, QuestionView, QuestionViewKind};
use crate::domain::{Applied, DeviceId, Question, Role, Staff, Status, Who};

impl Actor {
    /// The `question` frame of one view of `q`, numbered with the current seq.
    fn question_frame(&self, q: &Question, kind: QuestionViewKind) -> Utf8Bytes {
        frames::encode(&frames::QuestionFrame::new(
            self.seq,
            view::question(&self.state, q, kind, &self.authors),
        ))
    }

    /// The frames, per view, of what one applied event changed. Vote changes are only noted:
    /// their counts go out with the next `votes` frame.
    pub(super) fn frames_for(&mut self, applied: Applied, out: &mut Vec<PerView>) {
        match applied {
            Applied::Question { id, before } => {
                let Some(q) = self.state.question(id) else {
                    return;
                };
                self.seq += 1;
                let was_public = before.as_ref().is_some_and(|b| b.status.is_public());
                let public = if q.status.is_public() {
                    Some(self.question_frame(q, QuestionViewKind::Public))
                } else if was_public {
                    Some(frames::encode(&frames::Removed::new(self.seq, id)))
                } else {
                    None
                };
                let author = q
                    .author
                    .map(|d| (d, self.question_frame(q, QuestionViewKind::Author)));
                let desk = (q.via == Some(Via::Desk))
                    .then(|| self.question_frame(q, QuestionViewKind::Desk));
                out.push(PerView {
                    seq: self.seq,
                    moderator: Some(self.question_frame(q, QuestionViewKind::Moderator)),
                    screen: public.clone(),
                    public,
                    overlay: None,
                    author,
                    desk,
                });
            }
            Applied::Votes(ids) => {
                self.dirty_votes_staff.extend(ids.iter().copied());
                self.dirty_votes.extend(ids);
            }
            // Their frames come once per command, after all its events (actor.rs).
            Applied::Overlay | Applied::Stage | Applied::Nothing => {}
            Applied::Session => out.push(self.session_frames()),
            Applied::Ban(device) => {
                let ids: Vec<Uuid> = self.state.questions_of(device).map(|q| q.id).collect();
                self.moderator_frames(&ids, out);
            }
            // Its `overlay` frame comes with the command's other overlay changes (actor.rs).
            Applied::Poll(PollChange::OnAir) => {}
            Applied::Poll(PollChange::Counts(id)) => {
                self.dirty_polls.insert(id);
                self.dirty_polls_staff.insert(id);
            }
            Applied::Poll(PollChange::Poll(id)) => {
                self.dirty_polls.remove(&id);
                self.dirty_polls_staff.remove(&id);
                if let Some(f) = self.poll_frames(id) {
                    out.push(f);
                }
            }
            Applied::Poll(PollChange::Deleted(id)) => {
                self.dirty_polls.remove(&id);
                self.dirty_polls_staff.remove(&id);
                self.seq += 1;
                out.push(PerView {
                    seq: self.seq,
                    moderator: Some(frames::encode(&frames::PollRemoved::new(self.seq, id))),
                    ..PerView::default()
                });
            }
            Applied::Case(id) => self.moderator_frames(&[id], out),
            // The actor restarts the session after the commit: every socket comes back to a
            // fresh welcome (actor.rs).
            Applied::Wipe => {}
            Applied::BanNet(net) => {
                let ids: Vec<Uuid> = self.state.questions_from(net).map(|q| q.id).collect();
                self.moderator_frames(&ids, out);
            }
        }
    }

    /// A round of poll counts for moderators, the screen and the overlay (when on air).
    pub(super) fn flush_staff_polls(&mut self) {
        let polls: Vec<Uuid> = self.dirty_polls_staff.drain().collect();
        for id in polls {
            if let Some(mut f) = self.poll_frames(id) {
                f.public = None;
                self.fanout.publish(f);
            }
        }
    }

    /// The `poll` event of a poll in every view that sees it (`None` when it is gone).
    pub(super) fn poll_frames(&mut self, id: Uuid) -> Option<PerView> {
        let p = self.state.polls.get(id)?;
        self.seq += 1;
        let seq = self.seq;
        let frame = |viewer| {
            view::poll_visible(p, viewer).then(|| {
                frames::encode(&frames::PollFrame::new(
                    seq,
                    view::poll(&self.state, p, viewer),
                ))
            })
        };
        let staff = frame(PollViewer::Staff);
        let public = frame(PollViewer::Public);
        let screen = public.is_some().then(|| staff.clone()).flatten();
        // The overlay follows the counts of the poll it shows.
        let on_air = self.state.polls.on_air().is_some_and(|p| p.id == id);
        Some(PerView {
            seq,
            overlay: on_air.then(|| staff.clone()).flatten(),
            moderator: staff,
            screen,
            public,
            author: None,
            desk: None,
        })
    }

    /// A `question` event for moderators of each of these questions (their ban flags changed).
    fn moderator_frames(&mut self, ids: &[Uuid], out: &mut Vec<PerView>) {
        for id in ids {
            if let Some(q) = self.state.question(*id) {
                self.seq += 1;
                let f = self.question_frame(q, QuestionViewKind::Moderator);
                out.push(PerView {
                    seq: self.seq,
                    moderator: Some(f),
                    ..PerView::default()
                });
            }
        }
    }

    /// The `overlay` frame of the lower third's current state (moderator, screen, overlay).
    pub(super) fn overlay_frames(&mut self) -> PerView {
        self.seq += 1;
        let f = frames::encode(&frames::Overlay::new(self.seq, view::overlay(&self.state)));
        PerView {
            seq: self.seq,
            moderator: Some(f.clone()),
            screen: Some(f.clone()),
            overlay: Some(f),
            ..PerView::default()
        }
    }

    /// The `stage` frame of the timer and the message (moderators and the screen).
    pub(super) fn stage_frames(&mut self) -> PerView {
        self.seq += 1;
        let now = chrono::Utc::now().timestamp_millis();
        let f = frames::encode(&frames::Stage::new(self.seq, view::stage(&self.state, now)));
        PerView {
            seq: self.seq,
            moderator: Some(f.clone()),
            screen: Some(f),
            ..PerView::default()
        }
    }

    /// Publishes the latest counts of the questions whose votes changed: every count to
    /// moderators, public questions' counts to audience, press and screen, and the count of an
    /// author's own hidden question (rejected, say) to that author alone.
    pub(super) fn flush_votes(&mut self) {
        // The phones' poll counts go out with the vote counts, at the same pace (the staff's
        // have a round of their own, `flush_staff_polls`).
        let polls: Vec<Uuid> = self.dirty_polls.drain().collect();
        for id in polls {
            if let Some(mut f) = self.poll_frames(id) {
                f.moderator = None;
                f.screen = None;
                f.overlay = None;
                self.fanout.publish(f);
            }
        }
        if self.dirty_votes.is_empty() {
            return;
        }
        let mut public = Counts::new();
        let mut own: HashMap<DeviceId, Counts> = HashMap::new();
        for id in self.dirty_votes.drain() {
            let Some(q) = self.state.question(id) else {
                continue;
            };
            let n = self.state.votes(id);
            if q.status.is_public() {
                public.insert(id, n);
            } else if let Some(a) = q.author {
                own.entry(a).or_default().insert(id, n);
            }
        }
        if !public.is_empty() {
            self.seq += 1;
            let seq = self.seq;
            self.fanout.publish(PerView {
                seq,
                public: Some(frames::encode(&frames::Votes::new(seq, &public))),
                ..PerView::default()
            });
        }
        for (device, counts) in own {
            self.seq += 1;
            let f = frames::encode(&frames::Votes::new(self.seq, &counts));
            self.fanout.publish(PerView {
                seq: self.seq,
                author: Some((device, f)),
                ..PerView::default()
            });
        }
    }

    /// Sends the staff's round of vote counts: moderators every changed count, the speakers'
    /// screen those of public questions. Its own pace (`STAFF_VOTES_GAP`), faster than the
    /// phones': the console and the stage see a vote within a tenth of a second.
    pub(super) fn flush_staff_votes(&mut self) {
        if self.dirty_votes_staff.is_empty() {
            return;
        }
        let mut all = Counts::new();
        let mut public = Counts::new();
        for id in self.dirty_votes_staff.drain() {
            let Some(q) = self.state.question(id) else {
                continue;
            };
            let n = self.state.votes(id);
            if q.status.is_public() {
                public.insert(id, n);
            }
            all.insert(id, n);
        }
        if all.is_empty() {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        self.fanout.publish(PerView {
            seq,
            moderator: Some(frames::encode(&frames::Votes::new(seq, &all))),
            screen: (!public.is_empty()).then(|| frames::encode(&frames::Votes::new(seq, &public))),
            ..PerView::default()
        });
    }

    /// Sends moderators the sockets connected by role, when that changed.
    pub(super) fn presence(&mut self) {
        let n = self.fanout.presence();
        if n == self.last_presence {
            return;
        }
        self.last_presence = n;
        let f = frames::encode(&frames::Presence::new(frames::PresenceCounts::from_roles(
            n,
        )));
        let mods: Vec<u64> = self
            .fanout
            .all()
            .filter(|(_, c)| c.who == Who::MODERATOR)
            .map(|(id, _)| id)
            .collect();
        for id in mods {
            self.fanout.send(id, Out::Frame(f.clone()));
        }
    }

    /// A `session` frame for every view (the next `seq`).
    pub(super) fn session_frames(&mut self) -> PerView {
        self.seq += 1;
        let f = frames::encode(&frames::Session::new(self.seq, self.body(None)));
        let m = frames::encode(&frames::Session::new(
            self.seq,
            self.body(Some(&self.links)),
        ));
        PerView {
            seq: self.seq,
            moderator: Some(m),
            public: Some(f.clone()),
            screen: Some(f.clone()),
            desk: Some(f.clone()),
            overlay: Some(f),
            author: None,
        }
    }

    /// Publishes the session to every socket (its programme changed).
    pub(super) fn publish_session(&mut self) {
        let f = self.session_frames();
        self.fanout.publish(f);
    }

    /// The session as this actor's sockets see it: `links` for moderators.
    pub(super) fn body<'a>(&'a self, links: Option<&'a frames::Links>) -> SessionBody<'a> {
        let programme = match links {
            Some(_) => self.programme_staff.as_ref(),
            None => self.programme.as_ref(),
        };
        SessionBody::new(&self.state.info, links)
            .with_join(&self.join)
            .with_programme(programme)
    }

    /// A welcome frame: full (`resumed_at` None) or resumed at a seq.
    pub(super) fn welcome(&self, who: &Who, resumed_at: Option<u64>) -> Utf8Bytes {
        let role = who.role();
        let links = (role == Role::Moderator).then_some(&self.links);
        let mut w = frames::Welcome::new(
            &self.epoch,
            role,
            resumed_at.unwrap_or(self.seq),
            self.body(links),
        );
        w.resumed = resumed_at.is_some();
        if matches!(role, Role::Moderator | Role::Screen | Role::Overlay) {
            w.overlay = Some(view::overlay(&self.state));
        }
        if matches!(role, Role::Moderator | Role::Screen) {
            let now = chrono::Utc::now().timestamp_millis();
            w.stage = Some(view::stage(&self.state, now));
        }
        match role {
            Role::Moderator => {
                w.moderation = Some(&self.shared.moderation);
                w.agencies = Some(
                    self.shared
                        .agencies
                        .all()
                        .into_iter()
                        .map(|a| frames::AgencyInfo {
                            id: a.id,
                            name: a.name,
                            short: a.short,
                        })
                        .collect(),
                );
            }
            Role::Audience | Role::Press => w.phone = Some(&self.shared.phone),
            Role::Desk => w.desk = Some(&self.shared.desk),
            _ => {}
        }
        if let Some(d) = who.device() {
            w.you = Some(frames::You {
                device: self.shared.signer.token(d),
                votes: self.state.device_votes(d),
            });
        }
        if resumed_at.is_none() {
            w.questions = Some(self.questions_for(who));
            w.polls = match *who {
                Who::Staff(Staff::Overlay | Staff::Desk) => None,
                Who::Staff(_) => Some(view::polls(&self.state, PollViewer::Staff)),
                Who::Device { device, .. } => {
                    Some(view::polls(&self.state, PollViewer::Device(device)))
                }
            };
        }
        frames::encode(&w)
    }

    /// The questions of a full welcome, as `who` sees them.
    fn questions_for(&self, who: &Who) -> Vec<QuestionView<'_>> {
        let s = &self.state;
        let v = |q, k| view::question(s, q, k, &self.authors);
        match *who {
            Who::Staff(Staff::Moderator) => s
                .questions()
                .map(|q| v(q, QuestionViewKind::Moderator))
                .collect(),
            Who::Staff(Staff::Overlay) => vec![],
            Who::Staff(Staff::Desk) => s
                .questions()
                .filter(|q| q.via == Some(Via::Desk))
                .map(|q| v(q, QuestionViewKind::Desk))
                .collect(),
            Who::Staff(Staff::Screen) => s
                .queue()
                .into_iter()
                .chain(
                    s.questions()
                        .filter(|q| matches!(q.status, Status::Live | Status::Answered)),
                )
                .map(|q| v(q, QuestionViewKind::Public))
                .collect(),
            Who::Device { device, .. } => s
                .questions()
                .filter_map(|q| {
                    if q.author == Some(device) {
                        Some(v(q, QuestionViewKind::Author))
                    } else if q.status.is_public() {
                        Some(v(q, QuestionViewKind::Public))
                    } else {
                        None
                    }
                })
                .collect(),
        }
    }
}
