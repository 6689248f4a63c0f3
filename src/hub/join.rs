//! Joining a session: the key check, the device, and the first frames of a socket (a full
//! welcome, or a resumed one followed by the events the client missed).

use axum::extract::ws::Utf8Bytes;

use super::JoinRequest;
use super::actor::Actor;
use super::fanout::{Conn, Out};
use super::secrets::same_secret;
use crate::domain::{DeviceId, Role, Who};

/// A resume position sent in `hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    /// The `epoch` of the client's last `welcome`.
    pub epoch: String,
    /// The `seq` of the last frame the client applied.
    pub seq: u64,
}

/// Why a socket may not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong or missing key (4401).
    BadKey,
    /// Too many new devices from this address; one more is allowed in this many ms (4429).
    TooManyDevices(u64),
    /// The session's actor stopped: the hub is shutting down, or the actor failed and the next
    /// join starts it again (4503).
    Stopped,
    /// The socket came through a programme whose current episode is no longer this session
    /// (the socket asks the hub again).
    EpisodeChanged,
}

/// A socket joined: who it speaks for.
#[derive(Debug, Clone, Copy)]
pub struct Joined {
    /// The socket's role, and the device of an audience or press socket.
    pub who: Who,
}

impl Actor {
    /// Checks the key, settles the device, queues the welcome (and the missed events of a
    /// resume) and registers the socket.
    pub(super) fn join(&mut self, req: JoinRequest) -> Result<Joined, Refusal> {
        let programme = match req.via {
            Some(p) => match self.current_programme() {
                Some(prog) if prog.id == p => Some(prog),
                _ => return Err(Refusal::EpisodeChanged),
            },
            None => None,
        };
        let keys = programme.as_ref().map_or(&self.record.keys, |p| &p.keys);
        let expected = match req.role {
            Role::Audience => None,
            Role::Press => Some(&keys.press),
            Role::Desk => Some(&keys.desk),
            Role::Moderator => Some(&keys.moderator),
            Role::Screen => Some(&keys.screen),
            Role::Overlay => Some(&keys.overlay),
        };
        if let Some(k) = expected
            && !req.key.as_deref().is_some_and(|p| same_secret(p, k))
        {
            return Err(Refusal::BadKey);
        }
        let (device, known) = self.device_of(req.role, req.device.as_deref(), req.addr)?;
        let who = Who::of(req.role, device).ok_or(Refusal::BadKey)?;
        // Room left in the socket's queue (it is new and empty: its whole bound).
        let room = match &req.remote {
            None => req.tx.capacity().unwrap_or(usize::MAX) - req.tx.len(),
            Some(r) => r.room,
        };
        let resume = req
            .since
            .as_ref()
            .filter(|s| known && s.epoch == self.epoch && s.seq <= self.seq)
            .and_then(|s| {
                let missed: Vec<Utf8Bytes> = self
                    .fanout
                    .ring
                    .since(s.seq)?
                    .filter_map(|e| e.frame_for(&who).cloned())
                    .collect();
                (missed.len() < room).then_some((s.seq, missed))
            });
        let mut first = vec![self.welcome(&who, resume.as_ref().map(|r| r.0))];
        first.extend(resume.map(|r| r.1).unwrap_or_default());
        let conn = Conn {
            who,
            addr: req.addr,
            tx: req.tx,
            lagged: req.lagged,
            name: req.name.map(String::into_boxed_str),
            via: req.via.is_some(),
        };
        match req.remote {
            // A socket of another node: its welcome goes with the news that it joined.
            Some(at) => self.fanout.insert_remote(req.conn, conn, at, first),
            None => {
                let mut frames = first.into_iter();
                if let Some(w) = frames.next()
                    && conn.tx.try_send(Out::Frame(w)).is_err()
                {
                    return Err(Refusal::Stopped);
                }
                for f in frames {
                    let _ = conn.tx.try_send(Out::Frame(f));
                }
                self.fanout.insert(req.conn, conn);
            }
        }
        Ok(Joined { who })
    }

    /// The device of a phone (its token's, or a fresh one while the address may have more) and
    /// whether the token was good; staff have none.
    fn device_of(
        &self,
        role: Role,
        token: Option<&str>,
        addr: std::net::IpAddr,
    ) -> Result<(Option<DeviceId>, bool), Refusal> {
        if !role.is_device() {
            return Ok((None, true));
        }
        if let Some(d) = token.and_then(|t| self.shared.signer.verify(t)) {
            return Ok((Some(d), true));
        }
        self.shared
            .quotas
            .new_device(addr)
            .map_err(Refusal::TooManyDevices)?;
        Ok((Some(self.shared.signer.issue().0), false))
    }
}
