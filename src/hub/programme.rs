//! Programmes: sessions held as episodes, and the stable links that follow the current one
//! (docs/programmes.md). A programme has its own keys; a socket that joins through a programme
//! (`hello` `programme`) is checked against them and is told 4307 when the current episode
//! changes, so that it says hello again and lands in the new one.

use std::collections::HashSet;
use std::sync::RwLock;

use uuid::Uuid;

use super::actor::{Actor, Control};
use super::fanout::{Close, Out};
use super::{Hub, HubError, Mail, SessionHandle, frames, secrets};
use crate::domain::question::Episode;
use crate::domain::role::KeyRole;
use crate::domain::text::FieldError;
use crate::domain::{Event, SpeakerInput, Status};
use crate::store::{Keys, Programme, SessionRecord, StoreError};

/// The programmes, read at start and kept in step with the store.
#[derive(Debug, Default)]
pub struct Programmes {
    list: RwLock<Vec<Programme>>,
}

impl Programmes {
    /// Every programme, oldest first.
    pub fn all(&self) -> Vec<Programme> {
        self.list.read().map(|l| l.clone()).unwrap_or_default()
    }

    fn find(&self, f: impl Fn(&Programme) -> bool) -> Option<Programme> {
        self.list
            .read()
            .ok()
            .and_then(|l| l.iter().find(|p| f(p)).cloned())
    }

    /// The programme with this id.
    pub fn by_id(&self, id: Uuid) -> Option<Programme> {
        self.find(|p| p.id == id)
    }

    /// The programme with this slug (any case) or join code (any case, spaces and dashes
    /// ignored).
    pub fn by_name(&self, name: &str) -> Option<Programme> {
        let slug = name.trim().to_ascii_lowercase();
        let code = normal_code(name);
        self.find(|p| p.slug == slug || p.join_code.as_deref() == Some(code.as_str()))
    }

    fn put(&self, p: Programme) {
        if let Ok(mut l) = self.list.write() {
            match l.iter_mut().find(|x| x.id == p.id) {
                Some(x) => *x = p,
                None => l.push(p),
            }
        }
    }

    fn set(&self, list: Vec<Programme>) {
        if let Ok(mut l) = self.list.write() {
            *l = list;
        }
    }
}

/// A join code as typed: upper case, without spaces and dashes.
fn normal_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Checks a slug: 2-40 of `a-z`, `0-9` and `-`, starting and ending with a letter or digit.
pub fn validate_slug(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim().to_ascii_lowercase();
    let ok = (2..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s)
    } else {
        Err(FieldError(format!(
            "`slug` \"{raw}\" must be 2-40 of a-z, 0-9 and -, starting and ending with a letter or digit"
        )))
    }
}

/// Checks a join code: 7-16 letters and digits (never the length of a session's six-character
/// code, so the two never collide), stored upper case.
pub fn validate_join_code(raw: &str) -> Result<String, FieldError> {
    let s = normal_code(raw);
    if (7..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(FieldError(format!(
            "`join_code` \"{raw}\" must be 7-16 letters and digits (such as WONGKITO)"
        )))
    }
}

/// A change of a programme (`PATCH /api/programmes/{slug}`); `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct ProgrammePatch {
    /// A new title.
    pub title: Option<String>,
    /// A new join code, or `Some(None)` to clear it.
    pub join_code: Option<Option<String>>,
    /// New default speakers.
    pub speakers: Option<Vec<SpeakerInput>>,
    /// The next broadcast, or `Some(None)` to clear it.
    pub next_at: Option<Option<i64>>,
    /// The current episode, or `Some(None)` for none.
    pub current: Option<Option<Uuid>>,
}

/// A new episode (`POST /api/programmes/{slug}/episodes`).
#[derive(Debug, Default, Clone)]
pub struct NewEpisode {
    /// Its title; default "{programme} · {date}".
    pub title: Option<String>,
    /// When it is to start.
    pub starts_at: Option<i64>,
    /// Started in rehearsal.
    pub rehearsal: bool,
    /// Made the current episode at once.
    pub current: bool,
}

/// What a carry-over of questions did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Carried {
    /// The questions now in the episode.
    pub carried: Vec<Uuid>,
    /// Those that were not, and why.
    pub skipped: Vec<Skipped>,
}

/// A question not carried over.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    /// The question.
    pub id: Uuid,
    /// Why.
    pub reason: String,
}

/// The programme as an episode's session view names it: `{slug, title}`, and for moderators
/// its links.
pub(super) fn programme_ref(p: &Programme, links: Option<frames::Links>) -> frames::ProgrammeRef {
    frames::ProgrammeRef {
        links,
        slug: p.slug.clone(),
        title: p.title.clone(),
    }
}

/// The links of a programme's roles (keys in fragments).
pub fn programme_links(base: &str, p: &Programme) -> frames::Links {
    let (slug, k) = (&p.slug, &p.keys);
    frames::Links {
        audience: format!("{base}/p/{slug}"),
        desk: format!("{base}/p/{slug}/desk#k={}", k.desk),
        intake: format!("{base}/api/programmes/{slug}/intake"),
        moderator: format!("{base}/p/{slug}/m#k={}", k.moderator),
        overlay: format!("{base}/p/{slug}/overlay#k={}", k.overlay),
        press: format!("{base}/p/{slug}#p={}", k.press),
        screen: format!("{base}/p/{slug}/screen#k={}", k.screen),
    }
}

fn new_keys() -> Keys {
    Keys {
        desk: secrets::new_key(),
        intake: secrets::new_key(),
        moderator: secrets::new_key(),
        overlay: secrets::new_key(),
        press: secrets::new_key(),
        screen: secrets::new_key(),
    }
}

fn taken(e: StoreError) -> HubError {
    match e {
        StoreError::Duplicate(_) => {
            HubError::Conflict("the slug or the join code is taken by another programme".into())
        }
        other => other.into(),
    }
}

impl Hub {
    /// Reads the programmes from the store (at start).
    pub(crate) async fn load_programmes(&self) -> Result<(), HubError> {
        let list = self.shared.store.programmes().await?;
        self.shared.programmes.set(list);
        Ok(())
    }

    /// Every programme.
    pub fn programmes(&self) -> Vec<Programme> {
        self.shared.programmes.all()
    }

    /// A programme by slug or join code.
    pub fn programme(&self, name: &str) -> Option<Programme> {
        self.shared.programmes.by_name(name)
    }

    fn programme_or_404(&self, name: &str) -> Result<Programme, HubError> {
        self.programme(name)
            .ok_or_else(|| HubError::NotFound(format!("no programme `{}`", name.trim())))
    }

    /// A new programme with fresh keys.
    pub async fn create_programme(
        &self,
        title: &str,
        slug: &str,
        join_code: Option<&str>,
        speakers: &[SpeakerInput],
        now: i64,
    ) -> Result<Programme, HubError> {
        let p = Programme {
            id: Uuid::new_v4(),
            slug: validate_slug(slug)?,
            title: crate::domain::session::validate_title(title)?,
            join_code: join_code.map(validate_join_code).transpose()?,
            speakers: crate::domain::session::validate_speakers(speakers)?,
            current: None,
            next_at: None,
            created_at: now,
            keys: new_keys(),
        };
        self.shared
            .store
            .create_programme(&p)
            .await
            .map_err(taken)?;
        self.shared.programmes.put(p.clone());
        tracing::info!(programme = %p.slug, "programme created");
        self.announce(super::bus::News::Programme {
            id: p.id,
            was_current: None,
            key: None,
        })
        .await;
        Ok(p)
    }

    /// Changes a programme. Making another episode current (or none) tells every socket that
    /// joined through the programme to say hello again (4307).
    pub async fn update_programme(
        &self,
        name: &str,
        patch: ProgrammePatch,
    ) -> Result<Programme, HubError> {
        let _guard = self.starting.lock().await;
        let before = self.programme_or_404(name)?;
        let mut p = before.clone();
        if let Some(t) = &patch.title {
            p.title = crate::domain::session::validate_title(t)?;
        }
        if let Some(c) = &patch.join_code {
            p.join_code = c.as_deref().map(validate_join_code).transpose()?;
        }
        if let Some(s) = &patch.speakers {
            p.speakers = crate::domain::session::validate_speakers(s)?;
        }
        if let Some(n) = patch.next_at {
            p.next_at = n;
        }
        if let Some(c) = patch.current {
            if let Some(id) = c {
                let rec = self.shared.store.find_session(&id.to_string()).await?;
                if rec.and_then(|r| r.programme) != Some(p.id) {
                    return Err(HubError::Invalid(format!(
                        "`current`: session {id} is not an episode of `{}`",
                        p.slug
                    )));
                }
            }
            p.current = c;
        }
        self.shared
            .store
            .update_programme(&p)
            .await
            .map_err(taken)?;
        self.shared.programmes.put(p.clone());
        if before.current != p.current {
            tracing::info!(programme = %p.slug, current = ?p.current, "current episode changed");
        }
        self.programme_changed(before.current, &p).await;
        self.announce(super::bus::News::Programme {
            id: p.id,
            was_current: before.current,
            key: None,
        })
        .await;
        Ok(p)
    }

    /// Tells the sessions running here that their programme changed: the sockets of the
    /// episode that was current go when another one is (4307), the current one's see the new
    /// title and join code.
    async fn programme_changed(&self, was_current: Option<Uuid>, p: &Programme) {
        if was_current != p.current
            && let Some(old) = was_current.and_then(|id| self.running(id))
        {
            let _ = old
                .tx
                .send(Mail::Control(Control::Episode { programme: p.id }))
                .await;
        }
        if let Some(cur) = p.current.and_then(|id| self.running(id)) {
            let _ = cur
                .tx
                .send(Mail::Control(Control::Programme {
                    programme: Box::new(p.clone()),
                }))
                .await;
        }
    }

    /// Another node of the cluster changed a programme: this node reads the programmes again
    /// and tells the sessions it runs, as the node that made the change did.
    pub(crate) async fn programme_news(
        &self,
        id: Uuid,
        was_current: Option<Uuid>,
        key: Option<KeyRole>,
    ) -> Result<(), HubError> {
        self.load_programmes().await?;
        let Some(p) = self.shared.programmes.by_id(id) else {
            return Ok(());
        };
        match key {
            Some(role) => self.programme_key_changed(&p, role).await,
            None => self.programme_changed(was_current, &p).await,
        }
        Ok(())
    }

    async fn programme_key_changed(&self, p: &Programme, role: KeyRole) {
        if let Some(cur) = p.current.and_then(|id| self.running(id)) {
            let _ = cur
                .tx
                .send(Mail::Control(Control::ProgrammeKey { role }))
                .await;
        }
    }

    /// A new key for a programme's role: the sockets that joined through the programme with
    /// the old one are closed with 4401.
    pub async fn rotate_programme_key(
        &self,
        name: &str,
        role: KeyRole,
    ) -> Result<Programme, HubError> {
        let _guard = self.starting.lock().await;
        let mut p = self.programme_or_404(name)?;
        let new = secrets::new_key();
        p.keys.renew(role, new);
        self.shared.store.update_programme(&p).await?;
        self.shared.programmes.put(p.clone());
        self.programme_key_changed(&p, role).await;
        self.announce(super::bus::News::Programme {
            id: p.id,
            was_current: None,
            key: Some(role.as_str().to_string()),
        })
        .await;
        tracing::info!(programme = %p.slug, role = role.as_str(), "programme key rotated");
        Ok(p)
    }

    /// The episodes of a programme, newest first.
    pub async fn episodes(&self, programme: Uuid) -> Result<Vec<SessionRecord>, HubError> {
        let mut list = self.shared.store.list_sessions().await?;
        list.retain(|r| r.programme == Some(programme));
        Ok(list)
    }

    /// A new episode with the programme's speakers; the current one when asked.
    pub async fn new_episode(
        &self,
        name: &str,
        e: NewEpisode,
        now: i64,
    ) -> Result<(Programme, SessionRecord), HubError> {
        let p = self.programme_or_404(name)?;
        let title = match &e.title {
            Some(t) => crate::domain::session::validate_title(t)?,
            None => {
                let day = self.shared.cfg.local_date(e.starts_at.unwrap_or(now));
                format!("{} · {}", p.title, day.format("%d-%m-%Y"))
            }
        };
        let mut rec = Self::create_record(
            self.shared.store.as_ref(),
            title,
            p.speakers.clone(),
            now,
            Some(p.id),
        )
        .await?;
        if e.rehearsal || e.starts_at.is_some() {
            // The episode's first journal event says so (as a rehearsal's does).
            rec.info.rehearsal = e.rehearsal;
            rec.info.starts_at = e.starts_at;
            let ev = [Event::Session {
                info: rec.info.clone(),
            }];
            self.shared
                .store
                .append(rec.info.id, 0, &ev, Some(&rec.info), &[])
                .await?;
        }
        tracing::info!(programme = %p.slug, session = %rec.info.id, "episode created");
        let p = if e.current {
            self.update_programme(
                &p.slug,
                ProgrammePatch {
                    current: Some(Some(rec.info.id)),
                    ..ProgrammePatch::default()
                },
            )
            .await?
        } else {
            p
        };
        Ok((p, rec))
    }

    /// The current episode of a programme (by slug or join code), started when needed:
    /// `NotFound` for no such programme, `Ok(None)` while it has no current episode.
    pub async fn programme_session(
        &self,
        name: &str,
    ) -> Result<Option<(Programme, SessionHandle)>, HubError> {
        let p = self.programme_or_404(name)?;
        let Some(cur) = p.current else {
            return Ok(None);
        };
        Ok(self.session(&cur.to_string()).await?.map(|h| (p, h)))
    }

    /// The episode before `session` in its programme (by creation), if any.
    pub async fn previous_episode(
        &self,
        session: &SessionRecord,
    ) -> Result<Option<SessionRecord>, HubError> {
        let Some(pid) = session.programme else {
            return Ok(None);
        };
        let list = self.episodes(pid).await?;
        let at = list.iter().position(|r| r.info.id == session.info.id);
        Ok(at.and_then(|i| list.get(i + 1)).cloned())
    }

    /// The questions `session` may carry over from the episode before it: approved, never
    /// answered, not carried anywhere yet and not in `session` already.
    pub async fn carry_candidates(
        &self,
        session: &SessionHandle,
        record: &SessionRecord,
    ) -> Result<(Option<SessionRecord>, Vec<Uuid>), HubError> {
        let Some(prev) = self.previous_episode(record).await? else {
            return Ok((None, vec![]));
        };
        let here: HashSet<Uuid> = session
            .query(|v| v.state.questions().map(|q| q.id).collect())
            .await?;
        let Some(from) = self.session(&prev.info.id.to_string()).await? else {
            return Ok((Some(prev), vec![]));
        };
        let ids = from
            .query(move |v| {
                v.state
                    .questions()
                    .filter(|q| {
                        q.status == Status::Approved
                            && q.carried_to.is_none()
                            && !here.contains(&q.id)
                    })
                    .map(|q| q.id)
                    .collect()
            })
            .await?;
        Ok((Some(prev), ids))
    }

    /// Carries questions of the episode before `session` into it: the same id and tracking
    /// code, the case with its history, approved at the bottom of the queue; the earlier
    /// episode marks them carried (and refuses changes to them from then on).
    pub async fn carry(
        &self,
        session: &SessionHandle,
        record: &SessionRecord,
        ids: &[Uuid],
        by: crate::domain::followup::By,
    ) -> Result<Carried, HubError> {
        let (prev, candidates) = self.carry_candidates(session, record).await?;
        let Some(prev) = prev else {
            return Err(HubError::Invalid(
                "this session has no earlier episode to carry questions from".into(),
            ));
        };
        let mut out = Carried::default();
        let mut take = Vec::new();
        for id in ids {
            if candidates.contains(id) {
                take.push(*id);
            } else {
                out.skipped.push(Skipped {
                    id: *id,
                    reason: "not an approved, unanswered question of the episode before".into(),
                });
            }
        }
        if take.is_empty() {
            return Ok(out);
        }
        let Some(from) = self.session(&prev.info.id.to_string()).await? else {
            return Err(HubError::SessionStopped);
        };
        let wanted = take.clone();
        let items = from
            .query(move |v| {
                wanted
                    .iter()
                    .filter_map(|id| v.state.question(*id))
                    .map(|q| (q.clone(), v.state.case(q.id).cloned().unwrap_or_default()))
                    .collect::<Vec<_>>()
            })
            .await?;
        let source = Episode {
            session: prev.info.id,
            code: prev.info.code.clone(),
            title: prev.info.title.clone(),
        };
        let target = Episode {
            session: record.info.id,
            code: record.info.code.clone(),
            title: record.info.title.clone(),
        };
        // Into the new episode first: a crash before the earlier one is marked leaves the
        // question in both, and carrying it again finds it here and only marks it there.
        for (question, case) in items {
            let id = question.id;
            let r = session
                .request(super::followup::RequestKind::CarryIn {
                    question: Box::new(question),
                    case: Box::new(case),
                    from: source.clone(),
                    by: by.clone(),
                })
                .await?;
            if let Err(r) = r {
                out.skipped.push(Skipped {
                    id,
                    reason: r.message,
                });
                continue;
            }
            let marked = from
                .request(super::followup::RequestKind::CarryOut {
                    question: id,
                    to: target.clone(),
                    by: by.clone(),
                })
                .await?;
            if let Err(r) = marked {
                tracing::warn!(question = %id, error = %r.message, "carried question not marked in the earlier episode");
            }
            out.carried.push(id);
        }
        Ok(out)
    }
}

impl Actor {
    /// The programme this session is the current episode of (its links follow it).
    pub(super) fn current_programme(&self) -> Option<Programme> {
        let p = self.shared.programmes.by_id(self.record.programme?)?;
        (p.current == Some(self.record.info.id)).then_some(p)
    }

    /// The programme's title and join code in this episode's session view.
    pub(super) fn set_programme(&mut self, p: Option<&Programme>) {
        let base = self.shared.cfg.base_url();
        self.programme = p.map(|p| programme_ref(p, None));
        self.programme_staff = p.map(|p| programme_ref(p, Some(programme_links(&base, p))));
        match p {
            Some(p) => {
                self.join.url = format!("{base}/p/{}", p.slug);
                self.join.code = p.join_code.clone();
            }
            None => {
                self.join.url = self.links.audience.clone();
                self.join.code = None;
            }
        }
    }

    /// `rotate_key` with `programme: true` from a console opened on the programme's link: a new
    /// programme key for `role`; that role's other programme sockets are closed (4401) and
    /// moderators get the new links.
    pub(super) async fn rotate_programme_key(
        &mut self,
        role: KeyRole,
        keep: u64,
    ) -> Result<(), crate::domain::Rejection> {
        use crate::domain::{ErrorCode, Rejection};
        if !self.fanout.get(keep).is_some_and(|c| c.via) {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                "only a console opened on the programme's link may change the programme's keys",
            ));
        }
        let Some(mut p) = self.current_programme() else {
            return Err(Rejection::new(
                ErrorCode::Conflict,
                "this session is no longer the programme's current episode",
            ));
        };
        let new = secrets::new_key();
        p.keys.renew(role, new);
        if let Err(e) = self.shared.store.update_programme(&p).await {
            tracing::error!(programme = %p.slug, error = %e, "programme key not stored");
            return Err(Rejection::not_stored());
        }
        self.shared.programmes.put(p.clone());
        tracing::info!(programme = %p.slug, role = role.as_str(), "programme key rotated");
        self.programme_key_changed(role, Some(keep));
        Ok(())
    }

    /// A programme key of `role` changed: its programme sockets but `keep` go (4401), and
    /// moderators get the programme's new links.
    pub(super) fn programme_key_changed(&mut self, role: KeyRole, keep: Option<u64>) {
        let ids: Vec<u64> = self
            .fanout
            .all()
            .filter(|(id, c)| c.via && Some(c.who.role()) == role.role() && Some(*id) != keep)
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            self.fanout.send(id, Out::Close(Close::KeyChanged));
            self.fanout.remove(id);
        }
        let p = self.current_programme();
        self.set_programme(p.as_ref());
        // Only moderators see links.
        let mut f = self.session_frames();
        f.public = None;
        f.screen = None;
        f.desk = None;
        f.overlay = None;
        self.fanout.publish(f);
    }

    /// Closes the sockets that joined through the programme: its current episode changed
    /// (4307).
    pub(super) fn close_programme_sockets(&mut self) {
        let ids: Vec<u64> = self
            .fanout
            .all()
            .filter(|(_, c)| c.via)
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            self.fanout.send(id, Out::Close(Close::EpisodeChanged));
            self.fanout.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_letters_digits_and_dashes() {
        assert_eq!(validate_slug(" WongKito ").unwrap(), "wongkito");
        assert_eq!(validate_slug("diskusi-2027").unwrap(), "diskusi-2027");
        for bad in [
            "",
            "a",
            "-wong",
            "wong-",
            "wong kito",
            "wong_kito",
            "wöng",
            &"a".repeat(41),
        ] {
            let e = validate_slug(bad).unwrap_err();
            assert!(e.0.contains("`slug`"), "{bad}: {}", e.0);
        }
    }

    #[test]
    fn join_codes_are_never_the_length_of_a_session_code() {
        assert_eq!(validate_join_code("wong-kito").unwrap(), "WONGKITO");
        assert_eq!(validate_join_code("DWK 2027").unwrap(), "DWK2027");
        for bad in ["ABCDEF", "ABC", "WONG!KITO", &"A".repeat(17)] {
            let e = validate_join_code(bad).unwrap_err();
            assert!(e.0.contains("`join_code`"), "{bad}: {}", e.0);
        }
        // A six-character session code never passes as a join code.
        assert!(validate_join_code(&secrets::new_code()).is_err());
    }

    #[test]
    fn programmes_are_found_by_slug_or_by_join_code_as_typed() {
        let list = Programmes::default();
        list.put(Programme {
            id: Uuid::from_u128(1),
            slug: "wongkito".into(),
            title: "Diskusi Wong Kito".into(),
            join_code: Some("WONGKITO".into()),
            speakers: vec![],
            current: None,
            next_at: None,
            created_at: 0,
            keys: new_keys(),
        });
        for name in ["wongkito", "WongKito", "wong-kito", "WONG KITO"] {
            assert_eq!(
                list.by_name(name).map(|p| p.id),
                Some(Uuid::from_u128(1)),
                "{name}"
            );
        }
        assert!(list.by_name("wong").is_none());
    }
}
