//! Per-view broadcast of frames serialized once, the replay ring for resume, and the
//! bounded per-socket queues.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;

use crate::domain::{DeviceId, Role};

/// What a socket's writer task receives.
#[derive(Debug, Clone)]
pub enum Out {
    /// A text frame, shared between every socket of its view.
    Frame(Utf8Bytes),
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
}

/// The actor's handle on one socket.
#[derive(Debug)]
pub struct Conn {
    pub role: Role,
    /// The device of an audience or press socket.
    pub device: Option<DeviceId>,
    /// The peer address (per-address quotas).
    pub addr: IpAddr,
    /// Bounded queue to the socket's writer.
    pub tx: mpsc::Sender<Out>,
    /// Set when the queue overflowed: the socket gets nothing until it asks for a resync.
    pub lagged: Arc<AtomicBool>,
}

/// One published event, as each view sees it (`None`: not for that view).
#[derive(Debug, Default, Clone)]
pub struct Entry {
    pub seq: u64,
    pub moderator: Option<Utf8Bytes>,
    /// Audience and press sockets other than the author's.
    pub public: Option<Utf8Bytes>,
    pub screen: Option<Utf8Bytes>,
    pub overlay: Option<Utf8Bytes>,
    /// The author's own view of its question.
    pub author: Option<(DeviceId, Utf8Bytes)>,
}

impl Entry {
    /// The frame a socket of `role` and `device` gets.
    pub fn frame_for(&self, role: Role, device: Option<DeviceId>) -> Option<&Utf8Bytes> {
        match role {
            Role::Moderator => self.moderator.as_ref(),
            Role::Screen => self.screen.as_ref(),
            Role::Overlay => self.overlay.as_ref(),
            Role::Audience | Role::Press => match (&self.author, device) {
                (Some((a, f)), Some(d)) if *a == d => Some(f),
                _ => self.public.as_ref(),
            },
        }
    }

    fn is_empty(&self) -> bool {
        self.moderator.is_none()
            && self.public.is_none()
            && self.screen.is_none()
            && self.overlay.is_none()
            && self.author.is_none()
    }
}

/// The last events of a session, for resume.
#[derive(Debug)]
pub struct Ring {
    entries: VecDeque<Entry>,
    cap: usize,
    /// Highest seq no longer held (0: nothing evicted).
    evicted_upto: u64,
}

impl Ring {
    /// A ring holding at most `cap` events.
    pub fn new(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            cap,
            evicted_upto: 0,
        }
    }

    fn push(&mut self, e: Entry) {
        if self.entries.len() == self.cap
            && let Some(old) = self.entries.pop_front()
        {
            self.evicted_upto = old.seq;
        }
        self.entries.push_back(e);
    }

    /// Every event after `seq`, when the ring still holds them all.
    pub fn since(&self, seq: u64) -> Option<impl Iterator<Item = &Entry>> {
        (seq >= self.evicted_upto).then(|| self.entries.iter().filter(move |e| e.seq > seq))
    }
}

/// The sockets of one session. Staff sockets (moderator, screen, overlay) are kept apart
/// from phones and served first, so a broadcast to thousands of phones never delays what the
/// moderator, the speakers' screen and the TV overlay see.
#[derive(Debug)]
pub struct Fanout {
    /// Moderator, screen and overlay sockets.
    staff: HashMap<u64, Conn>,
    /// Audience and press sockets.
    phones: HashMap<u64, Conn>,
    /// Phone sockets of each device: an author-only event goes to these alone.
    by_device: HashMap<DeviceId, Vec<u64>>,
    pub ring: Ring,
}

impl Fanout {
    /// An empty fan-out with a resume ring of `cap` events.
    pub fn new(cap: usize) -> Self {
        Self {
            staff: HashMap::new(),
            phones: HashMap::new(),
            by_device: HashMap::new(),
            ring: Ring::new(cap),
        }
    }

    /// Registers a socket.
    pub fn insert(&mut self, id: u64, c: Conn) {
        if c.role.is_device() {
            if let Some(d) = c.device {
                self.by_device.entry(d).or_default().push(id);
            }
            self.phones.insert(id, c);
        } else {
            self.staff.insert(id, c);
        }
    }

    /// Forgets a socket.
    pub fn remove(&mut self, id: u64) {
        if self.staff.remove(&id).is_some() {
            return;
        }
        if let Some(c) = self.phones.remove(&id)
            && let Some(d) = c.device
            && let Some(ids) = self.by_device.get_mut(&d)
        {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                self.by_device.remove(&d);
            }
        }
    }

    /// A socket by id.
    pub fn get(&self, id: u64) -> Option<&Conn> {
        self.staff.get(&id).or_else(|| self.phones.get(&id))
    }

    /// Every socket.
    pub fn all(&self) -> impl Iterator<Item = (u64, &Conn)> {
        self.staff
            .iter()
            .chain(self.phones.iter())
            .map(|(id, c)| (*id, c))
    }

    /// Forgets every socket (their queues close once their writers drain them).
    pub fn clear(&mut self) {
        self.staff.clear();
        self.phones.clear();
        self.by_device.clear();
    }

    /// Sends an event to every socket of its views (staff first) and keeps it for resume.
    pub fn publish(&mut self, e: Entry) {
        if e.is_empty() {
            return;
        }
        let mut gone = Vec::new();
        let staff = self.staff.iter();
        let phones: Box<dyn Iterator<Item = (&u64, &Conn)>> = match (&e.public, &e.author) {
            (Some(_), _) => Box::new(self.phones.iter()),
            (None, Some((d, _))) => Box::new(
                self.by_device
                    .get(d)
                    .into_iter()
                    .flatten()
                    .filter_map(|id| self.phones.get_key_value(id)),
            ),
            (None, None) => Box::new(std::iter::empty()),
        };
        for (id, c) in staff.chain(phones) {
            if let Some(f) = e.frame_for(c.role, c.device)
                && !push(c, Out::Frame(f.clone()))
            {
                gone.push(*id);
            }
        }
        for id in gone {
            self.remove(id);
        }
        self.ring.push(e);
    }

    /// Sends one frame to one socket.
    pub fn send(&mut self, conn: u64, out: Out) {
        if let Some(c) = self.get(conn)
            && !push(c, out)
        {
            self.remove(conn);
        }
    }

    /// Sockets connected, by role, in [`Role::ALL`] order.
    pub fn presence(&self) -> [usize; 5] {
        let mut n = [0; 5];
        for (_, c) in self.all() {
            if let Some(i) = Role::ALL.iter().position(|r| *r == c.role) {
                n[i] += 1;
            }
        }
        n
    }
}

/// Queues a frame without waiting. A full queue marks the socket lagged (it is resynced once
/// its writer drains); returns false when the socket is gone.
fn push(c: &Conn, out: Out) -> bool {
    if c.lagged.load(Ordering::Relaxed) {
        return true;
    }
    match c.tx.try_send(out) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            c.lagged.store(true, Ordering::Relaxed);
            metrics::counter!("tanya_socket_lagged_total").increment(1);
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}
