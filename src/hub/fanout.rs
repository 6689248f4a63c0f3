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

/// The sending end of a socket's queue.
pub type OutTx = flume::Sender<Out>;
/// The receiving end of a socket's queue, read by the socket's task.
pub type OutRx = flume::Receiver<Out>;

/// A socket's bounded queue. It allocates its buffer as frames arrive, not up front: a room of
/// idle phones holds thousands of these.
pub fn queue(cap: usize) -> (OutTx, OutRx) {
    flume::bounded(cap)
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
    pub tx: OutTx,
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

/// The sockets of one session. Staff sockets (moderator, screen, overlay) are kept apart from
/// phones and served first, straight from the session's actor, so a broadcast to thousands of
/// phones never delays what the moderator, the speakers' screen and the TV overlay see.
///
/// Everything for phones (events, replies, resync welcomes, closes) goes through the session's
/// phone lane: one task on the main runtime that queues each frame to each phone socket, in the
/// order the actor handed them over. Waking thousands of socket tasks from their own runtime's
/// thread is cheap, and the actor (on the priority runtime) goes on at once.
#[derive(Debug)]
pub struct Fanout {
    /// Moderator, screen and overlay sockets.
    staff: HashMap<u64, Conn>,
    /// Audience and press sockets.
    phones: HashMap<u64, Arc<Conn>>,
    /// Phone sockets of each device: an author-only event goes to these alone.
    by_device: HashMap<DeviceId, Vec<u64>>,
    /// Every phone socket, as handed to the lane; rebuilt after a phone joins or leaves.
    phone_list: Option<Arc<[Arc<Conn>]>>,
    lane: mpsc::UnboundedSender<Job>,
    pub ring: Ring,
}

/// Work for the phone lane.
#[derive(Debug)]
enum Job {
    /// An event every phone gets: the author's sockets its author frame, the others the public one.
    Publish {
        phones: Arc<[Arc<Conn>]>,
        public: Utf8Bytes,
        author: Option<(DeviceId, Utf8Bytes)>,
    },
    /// One frame (or close) to some phone sockets; `resync` first clears their lagged mark.
    Send {
        to: Vec<Arc<Conn>>,
        out: Out,
        resync: bool,
    },
}

/// The phone lane: queues frames to phone sockets in the order the actor sent them. It ends
/// when the actor lets go of its fan-out, after the last job.
async fn phone_lane(mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Publish {
                phones,
                public,
                author,
            } => {
                for c in phones.iter() {
                    let f = match &author {
                        Some((d, f)) if c.device == Some(*d) => f,
                        _ => &public,
                    };
                    push(c, Out::Frame(f.clone()));
                }
            }
            Job::Send { to, out, resync } => {
                for c in &to {
                    if resync {
                        c.lagged.store(false, Ordering::Relaxed);
                    }
                    push(c, out.clone());
                }
            }
        }
    }
}

impl Fanout {
    /// An empty fan-out with a resume ring of `cap` events. Its phone lane runs on the runtime
    /// this is called from.
    pub fn new(cap: usize) -> Self {
        let (lane, jobs) = mpsc::unbounded_channel();
        tokio::spawn(phone_lane(jobs));
        Self {
            staff: HashMap::new(),
            phones: HashMap::new(),
            by_device: HashMap::new(),
            phone_list: None,
            lane,
            ring: Ring::new(cap),
        }
    }

    /// Registers a socket (whose welcome is already in its queue).
    pub fn insert(&mut self, id: u64, c: Conn) {
        if c.role.is_device() {
            if let Some(d) = c.device {
                self.by_device.entry(d).or_default().push(id);
            }
            self.phones.insert(id, Arc::new(c));
            self.phone_list = None;
        } else {
            self.staff.insert(id, c);
        }
    }

    /// Forgets a socket.
    pub fn remove(&mut self, id: u64) {
        if self.staff.remove(&id).is_some() {
            return;
        }
        if let Some(c) = self.phones.remove(&id) {
            self.phone_list = None;
            if let Some(d) = c.device
                && let Some(ids) = self.by_device.get_mut(&d)
            {
                ids.retain(|x| *x != id);
                if ids.is_empty() {
                    self.by_device.remove(&d);
                }
            }
        }
    }

    /// A socket by id.
    pub fn get(&self, id: u64) -> Option<&Conn> {
        self.staff
            .get(&id)
            .or_else(|| self.phones.get(&id).map(|c| &**c))
    }

    /// Every socket.
    pub fn all(&self) -> impl Iterator<Item = (u64, &Conn)> {
        self.staff
            .iter()
            .map(|(id, c)| (*id, c))
            .chain(self.phones.iter().map(|(id, c)| (*id, &**c)))
    }

    /// Closes every socket with `code` and forgets them all (their queues close once their
    /// sockets have written what was queued).
    pub fn close_all(&mut self, code: u16, reason: &'static str) {
        for c in self.staff.values() {
            push(c, Out::Close(code, reason));
        }
        self.staff.clear();
        let to: Vec<Arc<Conn>> = self.phones.drain().map(|(_, c)| c).collect();
        self.send_phones(to, Out::Close(code, reason), false);
        self.by_device.clear();
        self.phone_list = None;
    }

    fn phone_list(&mut self) -> Arc<[Arc<Conn>]> {
        self.phone_list
            .get_or_insert_with(|| self.phones.values().cloned().collect())
            .clone()
    }

    fn send_phones(&self, to: Vec<Arc<Conn>>, out: Out, resync: bool) {
        if !to.is_empty() {
            let _ = self.lane.send(Job::Send { to, out, resync });
        }
    }

    /// Sends an event to every socket of its views (staff first, phones through the lane) and
    /// keeps it for resume.
    pub fn publish(&mut self, e: Entry) {
        if e.is_empty() {
            return;
        }
        let mut gone = Vec::new();
        for (id, c) in &self.staff {
            if let Some(f) = e.frame_for(c.role, c.device)
                && !push(c, Out::Frame(f.clone()))
            {
                gone.push(*id);
            }
        }
        for id in gone {
            self.remove(id);
        }
        match (&e.public, &e.author) {
            (Some(public), author) => {
                if !self.phones.is_empty() {
                    let job = Job::Publish {
                        phones: self.phone_list(),
                        public: public.clone(),
                        author: author.clone(),
                    };
                    let _ = self.lane.send(job);
                }
            }
            (None, Some((d, f))) => {
                let to = self.device_conns(*d);
                self.send_phones(to, Out::Frame(f.clone()), false);
            }
            (None, None) => {}
        }
        self.ring.push(e);
    }

    fn device_conns(&self, d: DeviceId) -> Vec<Arc<Conn>> {
        self.by_device
            .get(&d)
            .into_iter()
            .flatten()
            .filter_map(|id| self.phones.get(id).cloned())
            .collect()
    }

    /// Sends one frame to one socket (after the events queued before it).
    pub fn send(&mut self, conn: u64, out: Out) {
        self.deliver(conn, out, false);
    }

    /// Sends a fresh welcome to a socket whose queue overflowed, and lets frames through to it
    /// again from there on.
    pub fn resync(&mut self, conn: u64, welcome: Utf8Bytes) {
        self.deliver(conn, Out::Frame(welcome), true);
    }

    fn deliver(&mut self, conn: u64, out: Out, resync: bool) {
        if let Some(c) = self.staff.get(&conn) {
            if resync {
                c.lagged.store(false, Ordering::Relaxed);
            }
            if !push(c, out) {
                self.remove(conn);
            }
        } else if let Some(c) = self.phones.get(&conn) {
            self.send_phones(vec![c.clone()], out, resync);
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
        Err(flume::TrySendError::Full(_)) => {
            c.lagged.store(true, Ordering::Relaxed);
            metrics::counter!("tanya_socket_lagged_total").increment(1);
            true
        }
        Err(flume::TrySendError::Disconnected(_)) => false,
    }
}
