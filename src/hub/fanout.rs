//! Per-view broadcast of frames serialized once, the replay ring for resume, and the
//! bounded per-socket queues.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::bus::{Down, Link};
use super::tasks::Tasks;
use crate::domain::{DeviceId, Role, Staff, Who};

/// Why the hub closes a socket: the close codes of the contract (docs/protocol.md, "Close
/// codes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Close {
    /// 1007: a text frame that is not valid UTF-8 (after the welcome).
    InvalidUtf8,
    /// 1009: a message over the size limit.
    TooLarge,
    /// 4400: the first frame was not a valid `hello`; the reason says what was wrong.
    BadHello(String),
    /// 4401: wrong or missing key.
    BadKey,
    /// 4401: the key this socket joined with was replaced (`rotate_key`).
    KeyChanged,
    /// 4404: no such session.
    NoSession,
    /// 4408: no `hello` in time.
    HelloTimeout,
    /// 4429: more frames than the flood limit.
    Flooding,
    /// 4429: the socket did not take its frames in time.
    TooSlow,
    /// 4429: too many new devices from this address in a minute.
    TooManyDevices,
    /// 4503: the hub is shutting down.
    ShuttingDown,
    /// 4503: the session could not be started.
    Unavailable,
    /// 4503: `limits.max_connections` phones are connected.
    Full,
    /// 4503: the session's actor failed; reconnecting starts it again from its journal.
    Restarting,
    /// 4307: the programme this socket joined through has another current episode (or none):
    /// send the same `hello` again.
    EpisodeChanged,
    /// 4503: another hub sharing the database serves the session now.
    Elsewhere,
    /// 4404: the programme has no current episode.
    NoEpisode,
    /// 4404: no such programme.
    NoProgramme,
    /// A close decided by the node that runs the session, relayed by the bus as it was.
    Relayed(u16, Box<str>),
}

impl Close {
    /// The close code.
    pub fn code(&self) -> u16 {
        match self {
            Self::InvalidUtf8 => 1007,
            Self::TooLarge => 1009,
            Self::BadHello(_) => 4400,
            Self::BadKey | Self::KeyChanged => 4401,
            Self::NoSession | Self::NoEpisode | Self::NoProgramme => 4404,
            Self::EpisodeChanged => 4307,
            Self::Relayed(code, _) => *code,
            Self::HelloTimeout => 4408,
            Self::Flooding | Self::TooSlow | Self::TooManyDevices => 4429,
            Self::ShuttingDown
            | Self::Unavailable
            | Self::Full
            | Self::Restarting
            | Self::Elsewhere => 4503,
        }
    }

    /// The close reason (at most 123 bytes, as a control frame allows).
    pub fn reason(&self) -> &str {
        match self {
            Self::InvalidUtf8 => "a text frame must be valid UTF-8",
            Self::TooLarge => "message too large",
            Self::BadHello(r) => r,
            Self::Relayed(_, r) => r,
            Self::BadKey => "wrong or missing key",
            Self::KeyChanged => "the key was changed: ask for the new link",
            Self::NoSession => "no such session",
            Self::NoEpisode => "the programme has no current episode",
            Self::Elsewhere => "session served by another node: reconnect",
            Self::NoProgramme => "no such programme",
            Self::EpisodeChanged => "the programme's current episode changed: say hello again",
            Self::HelloTimeout => "no hello in time",
            Self::Flooding => "flooding: too many frames",
            Self::TooSlow => "too slow to keep up",
            Self::TooManyDevices => "too many new devices from this address: try again in a minute",
            Self::ShuttingDown => "hub shutting down",
            Self::Unavailable => "session unavailable",
            Self::Full => "too many connections",
            Self::Restarting => "session restarting",
        }
    }
}

/// What a socket's task receives in its queue.
#[derive(Debug, Clone)]
pub enum Out {
    /// A text frame, shared between every socket of its view.
    Frame(Utf8Bytes),
    /// Close the socket.
    Close(Close),
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

/// A socket held by another node of the cluster (docs/cluster.md).
#[derive(Debug, Clone)]
pub struct Remote {
    /// The node holding the socket.
    pub node: Uuid,
    /// The socket's id on that node.
    pub conn: u64,
    /// The stream of frames to that node.
    pub link: Link,
    /// Room in the socket's queue on that node (for the frames of a resume).
    pub room: usize,
}

/// The actor's handle on one socket.
#[derive(Debug)]
pub struct Conn {
    /// The role, and the device of an audience or press socket.
    pub who: Who,
    /// The peer address (per-address quotas).
    pub addr: IpAddr,
    /// Bounded queue to the socket's task (unused for a socket of another node).
    pub tx: OutTx,
    /// Set when the queue overflowed: the socket gets nothing until it asks for a resync.
    pub lagged: Arc<AtomicBool>,
    /// A moderator's name from its `hello`, recorded with its changes.
    pub name: Option<Box<str>>,
    /// It joined through a programme's link (`hello` `programme`).
    pub via: bool,
}

/// One published event, as each view sees it (`None`: not for that view).
#[derive(Debug, Default, Clone)]
pub struct PerView {
    /// The event's `seq`.
    pub seq: u64,
    /// The frame for moderator sockets (moderator view).
    pub moderator: Option<Utf8Bytes>,
    /// Audience and press sockets other than the author's.
    pub public: Option<Utf8Bytes>,
    /// The frame for screen sockets (public view).
    pub screen: Option<Utf8Bytes>,
    /// The frame for overlay sockets.
    pub overlay: Option<Utf8Bytes>,
    /// The author's own view of its question.
    pub author: Option<(DeviceId, Utf8Bytes)>,
    /// The radio desk's view of its own entries.
    pub desk: Option<Utf8Bytes>,
}

impl PerView {
    /// The frame a socket of `who` gets.
    pub fn frame_for(&self, who: &Who) -> Option<&Utf8Bytes> {
        match who {
            Who::Staff(Staff::Moderator) => self.moderator.as_ref(),
            Who::Staff(Staff::Screen) => self.screen.as_ref(),
            Who::Staff(Staff::Overlay) => self.overlay.as_ref(),
            Who::Staff(Staff::Desk) => self.desk.as_ref(),
            Who::Device { device, .. } => match &self.author {
                Some((a, f)) if a == device => Some(f),
                _ => self.public.as_ref(),
            },
        }
    }

    /// Whether no view gets the event.
    pub fn is_empty(&self) -> bool {
        self.moderator.is_none()
            && self.public.is_none()
            && self.screen.is_none()
            && self.overlay.is_none()
            && self.author.is_none()
            && self.desk.is_none()
    }
}

/// The last events of a session, for resume.
#[derive(Debug)]
pub struct Ring {
    entries: VecDeque<PerView>,
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

    fn push(&mut self, e: PerView) {
        if self.entries.len() == self.cap
            && let Some(old) = self.entries.pop_front()
        {
            self.evicted_upto = old.seq;
        }
        self.entries.push_back(e);
    }

    /// Every event after `seq`, when the ring still holds them all.
    pub fn since(&self, seq: u64) -> Option<impl Iterator<Item = &PerView>> {
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
    /// The session's last events, for resume.
    pub ring: Ring,
    /// The session.
    session: Uuid,
    /// Sockets held by other nodes of the cluster, by this hub's id for them, with where they
    /// are.
    remote: HashMap<u64, (Conn, Box<Remote>)>,
    /// The other nodes holding sockets of the session: each gets every event once, whatever
    /// its number of sockets.
    nodes: HashMap<Uuid, NodeOut>,
}

/// The stream of one session's frames to another node: every message is numbered, so the
/// node sees a message lost on the way (and resets its sockets) rather than a silent gap.
#[derive(Debug)]
struct NodeOut {
    link: Link,
    /// The number of the last message sent.
    n: u64,
    /// Sockets of the session on that node, by view: phones, moderators, screens, overlays,
    /// desks (an event no socket of the node would see is not sent there).
    views: [usize; 5],
}

/// A socket's view, as counted in [`NodeOut::views`].
fn view_of(who: &Who) -> usize {
    match who {
        Who::Device { .. } => 0,
        Who::Staff(Staff::Moderator) => 1,
        Who::Staff(Staff::Screen) => 2,
        Who::Staff(Staff::Overlay) => 3,
        Who::Staff(Staff::Desk) => 4,
    }
}

impl NodeOut {
    /// Whether the node holds any socket of the session.
    fn holds_sockets(&self) -> bool {
        self.views.iter().any(|v| *v > 0)
    }

    /// Whether any socket of the node gets a frame of `e`.
    fn wants(&self, e: &PerView) -> bool {
        let v = &self.views;
        (v[0] > 0 && (e.public.is_some() || e.author.is_some()))
            || (v[1] > 0 && e.moderator.is_some())
            || (v[2] > 0 && e.screen.is_some())
            || (v[3] > 0 && e.overlay.is_some())
            || (v[4] > 0 && e.desk.is_some())
    }

    fn send(&mut self, session: Uuid, f: impl FnOnce(Uuid, u64) -> Down) {
        self.n += 1;
        self.link.send(f(session, self.n));
    }
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
                let t = std::time::Instant::now();
                for c in phones.iter() {
                    let f = match &author {
                        Some((d, f)) if c.who.device() == Some(*d) => f,
                        _ => &public,
                    };
                    push(c, Out::Frame(f.clone()));
                }
                metrics::histogram!("tanya_phone_lane_seconds").record(t.elapsed().as_secs_f64());
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
    /// An empty fan-out with a resume ring of `cap` events. Its phone lane runs where
    /// [`Tasks::spawn_phone_lane`] puts it (the main runtime).
    pub fn new(cap: usize, tasks: &Tasks, session: Uuid) -> Self {
        let (lane, jobs) = mpsc::unbounded_channel();
        tasks.spawn_phone_lane(phone_lane(jobs));
        Self {
            staff: HashMap::new(),
            phones: HashMap::new(),
            by_device: HashMap::new(),
            phone_list: None,
            lane,
            ring: Ring::new(cap.max(1)),
            session,
            remote: HashMap::new(),
            nodes: HashMap::new(),
        }
    }

    /// Registers a socket of another node: its node is told it joined, with its first frames
    /// (the welcome, and a resume's missed events).
    pub fn insert_remote(&mut self, id: u64, c: Conn, at: Box<Remote>, first: Vec<Utf8Bytes>) {
        let node = self.nodes.entry(at.node).or_insert_with(|| NodeOut {
            link: at.link.clone(),
            n: 0,
            views: [0; 5],
        });
        node.views[view_of(&c.who)] += 1;
        let (conn, who) = (at.conn, c.who);
        node.send(self.session, |session, n| Down::Joined {
            session,
            n,
            conn,
            who,
            frames: first,
        });
        self.remote.insert(id, (c, at));
    }

    /// Registers a socket (whose welcome is already in its queue).
    pub fn insert(&mut self, id: u64, c: Conn) {
        if let Some(d) = c.who.device() {
            self.by_device.entry(d).or_default().push(id);
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
        if let Some((c, at)) = self.remote.remove(&id) {
            if let Some(node) = self.nodes.get_mut(&at.node) {
                let v = &mut node.views[view_of(&c.who)];
                *v = v.saturating_sub(1);
            }
            return;
        }
        if let Some(c) = self.phones.remove(&id) {
            self.phone_list = None;
            if let Some(d) = c.who.device()
                && let Some(ids) = self.by_device.get_mut(&d)
            {
                ids.retain(|x| *x != id);
                if ids.is_empty() {
                    self.by_device.remove(&d);
                }
            }
        }
    }

    /// Whether no socket is joined.
    pub fn is_empty(&self) -> bool {
        self.staff.is_empty() && self.phones.is_empty() && self.remote.is_empty()
    }

    /// A socket by id.
    pub fn get(&self, id: u64) -> Option<&Conn> {
        self.staff
            .get(&id)
            .or_else(|| self.phones.get(&id).map(|c| &**c))
            .or_else(|| self.remote.get(&id).map(|(c, _)| c))
    }

    /// Every socket.
    pub fn all(&self) -> impl Iterator<Item = (u64, &Conn)> {
        self.staff
            .iter()
            .map(|(id, c)| (*id, c))
            .chain(self.phones.iter().map(|(id, c)| (*id, &**c)))
            .chain(self.remote.iter().map(|(id, (c, _))| (*id, c)))
    }

    /// The other nodes holding sockets of the session.
    pub fn nodes(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.nodes
            .iter()
            .filter(|(_, n)| n.holds_sockets())
            .map(|(id, _)| *id)
    }

    /// Forgets every socket of a node that has gone (it stopped beating on the bus): its
    /// phones reconnect to another node.
    pub fn drop_node(&mut self, node: Uuid) {
        self.remote.retain(|_, (_, at)| at.node != node);
        if let Some(n) = self.nodes.get_mut(&node) {
            n.views = [0; 5];
        }
    }

    /// Tells every node holding sockets of the session that its owner is alive and has sent
    /// `n` messages (a node that missed the last one finds out).
    pub fn beat(&mut self) {
        for node in self.nodes.values_mut().filter(|n| n.holds_sockets()) {
            node.send(self.session, |session, n| Down::Beat { session, n });
        }
    }

    /// Closes every socket and forgets them all (their queues close once their sockets have
    /// written what was queued).
    pub fn close_all(&mut self, why: Close) {
        for node in self.nodes.values_mut().filter(|n| n.holds_sockets()) {
            let close = why.clone();
            node.send(self.session, |session, n| Down::End { session, n, close });
            node.views = [0; 5];
        }
        self.remote.clear();
        for c in self.staff.values() {
            push(c, Out::Close(why.clone()));
        }
        self.staff.clear();
        let to: Vec<Arc<Conn>> = self.phones.drain().map(|(_, c)| c).collect();
        self.send_phones(to, Out::Close(why), false);
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
    pub fn publish(&mut self, e: PerView) {
        if e.is_empty() {
            return;
        }
        let mut gone = Vec::new();
        for (id, c) in &self.staff {
            if let Some(f) = e.frame_for(&c.who)
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
        for node in self.nodes.values_mut().filter(|n| n.wants(&e)) {
            let e = e.clone();
            node.send(self.session, |session, n| Down::Event { session, n, e });
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

    /// Sends one frame (or close) to one socket; `resync` first lets frames through to it
    /// again.
    pub fn deliver(&mut self, conn: u64, out: Out, resync: bool) {
        if let Some((_, at)) = self.remote.get(&conn) {
            if let Some(node) = self.nodes.get_mut(&at.node) {
                let to = at.conn;
                node.send(self.session, |session, n| Down::To {
                    session,
                    n,
                    conn: to,
                    out,
                    resync,
                });
            }
            return;
        }
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
    pub fn presence(&self) -> [usize; 6] {
        let mut n = [0; 6];
        for (_, c) in self.all() {
            if let Some(i) = Role::ALL.iter().position(|r| *r == c.who.role()) {
                n[i] += 1;
            }
        }
        n
    }
}

impl Drop for Fanout {
    /// A fan-out dropped with sockets still in it belongs to an actor that failed (a stopping
    /// actor closes every socket first): its sockets are told 4503, so their clients reconnect
    /// and the next join starts the session again from its journal.
    fn drop(&mut self) {
        if !self.is_empty() {
            self.close_all(Close::Restarting);
        }
    }
}

/// Queues a frame without waiting. A full queue marks the socket lagged (it is resynced once its
/// task has written what was queued); returns false when the socket is gone.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use uuid::Uuid;

    fn conn(role: Role, device: Option<DeviceId>, cap: usize) -> (Conn, OutRx) {
        let (tx, rx) = queue(cap);
        let c = Conn {
            who: Who::of(role, device).expect("a device for a phone"),
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tx,
            lagged: Arc::new(AtomicBool::new(false)),
            name: None,
            via: false,
        };
        (c, rx)
    }

    fn text(s: &str) -> Utf8Bytes {
        Utf8Bytes::from(s.to_string())
    }

    fn public(seq: u64, s: &str) -> PerView {
        PerView {
            seq,
            moderator: Some(text(&format!("m{s}"))),
            public: Some(text(&format!("p{s}"))),
            screen: Some(text(&format!("s{s}"))),
            ..PerView::default()
        }
    }

    /// What a socket has received so far, as text (`close:CODE` for a close).
    async fn drained(rx: &OutRx, n: usize) -> Vec<String> {
        let mut got = Vec::new();
        for _ in 0..n {
            let out = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv_async())
                .await
                .expect("a frame in time")
                .expect("queue open");
            got.push(match out {
                Out::Frame(f) => f.as_str().to_string(),
                Out::Close(c) => format!("close:{}", c.code()),
            });
        }
        got
    }

    #[tokio::test]
    async fn phones_get_events_replies_and_author_frames_in_the_actors_order() {
        let tasks = Tasks::start().expect("runtimes");
        let mut f = Fanout::new(100, &tasks, Uuid::new_v4());
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (a, a_rx) = conn(Role::Audience, Some(alice), 64);
        let (b, b_rx) = conn(Role::Press, Some(bob), 64);
        let (m, m_rx) = conn(Role::Moderator, None, 64);
        f.insert(1, a);
        f.insert(2, b);
        f.insert(3, m);

        f.publish(public(1, "1"));
        // Alice's own question while pending: moderators and Alice only.
        f.publish(PerView {
            seq: 2,
            moderator: Some(text("m2")),
            author: Some((alice, text("a2"))),
            ..PerView::default()
        });
        f.send(1, Out::Frame(text("ok-alice")));
        // Approved: Alice gets her author frame, everyone else the public one.
        f.publish(PerView {
            seq: 3,
            moderator: Some(text("m3")),
            public: Some(text("p3")),
            author: Some((alice, text("a3"))),
            ..PerView::default()
        });
        f.send(3, Out::Frame(text("ok-mod")));

        assert_eq!(drained(&a_rx, 4).await, ["p1", "a2", "ok-alice", "a3"]);
        assert_eq!(drained(&b_rx, 2).await, ["p1", "p3"]);
        assert_eq!(drained(&m_rx, 4).await, ["m1", "m2", "m3", "ok-mod"]);
        // Nothing else was queued for anyone.
        tokio::task::yield_now().await;
        assert!(a_rx.is_empty() && b_rx.is_empty() && m_rx.is_empty());
        assert_eq!(f.ring.since(0).map(|e| e.count()), Some(3));
    }

    #[tokio::test]
    async fn a_lagged_phone_gets_nothing_until_its_resync_welcome_then_everything_after() {
        let tasks = Tasks::start().expect("runtimes");
        let mut f = Fanout::new(100, &tasks, Uuid::new_v4());
        let (p, p_rx) = conn(Role::Audience, Some(Uuid::new_v4()), 2);
        f.insert(7, p);
        for i in 1..=4 {
            f.publish(public(i, &i.to_string()));
        }
        f.send(7, Out::Frame(text("lost reply")));
        // Two fit; the rest overflowed and marked the socket lagged.
        assert_eq!(drained(&p_rx, 2).await, ["p1", "p2"]);
        tokio::task::yield_now().await;
        assert!(p_rx.is_empty(), "nothing after the overflow");
        f.resync(7, text("welcome"));
        f.publish(public(5, "5"));
        assert_eq!(drained(&p_rx, 2).await, ["welcome", "p5"]);
    }

    #[tokio::test]
    async fn close_all_comes_after_every_queued_frame_and_forgets_every_socket() {
        let tasks = Tasks::start().expect("runtimes");
        let mut f = Fanout::new(100, &tasks, Uuid::new_v4());
        let (p, p_rx) = conn(Role::Audience, Some(Uuid::new_v4()), 64);
        let (s, s_rx) = conn(Role::Screen, None, 64);
        f.insert(1, p);
        f.insert(2, s);
        f.publish(public(1, "1"));
        f.close_all(Close::ShuttingDown);
        assert_eq!(drained(&p_rx, 2).await, ["p1", "close:4503"]);
        assert_eq!(drained(&s_rx, 2).await, ["s1", "close:4503"]);
        assert_eq!(f.presence(), [0; 6]);
        // Once the lane has let go, both queues are closed: the sockets end.
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), p_rx.recv_async()).await;
        assert!(matches!(end, Ok(Err(_))), "the phone's queue closes");
        assert!(
            s_rx.recv_async().await.is_err(),
            "the screen's queue closes"
        );
    }

    #[tokio::test]
    async fn a_phone_that_joins_later_gets_only_later_events() {
        let tasks = Tasks::start().expect("runtimes");
        let mut f = Fanout::new(100, &tasks, Uuid::new_v4());
        let (a, a_rx) = conn(Role::Audience, Some(Uuid::new_v4()), 64);
        f.insert(1, a);
        f.publish(public(1, "1"));
        let (b, b_rx) = conn(Role::Audience, Some(Uuid::new_v4()), 64);
        f.insert(2, b);
        f.publish(public(2, "2"));
        f.remove(1);
        f.publish(public(3, "3"));
        assert_eq!(drained(&a_rx, 2).await, ["p1", "p2"]);
        assert_eq!(drained(&b_rx, 2).await, ["p2", "p3"]);
        tokio::task::yield_now().await;
        assert!(a_rx.is_empty() && b_rx.is_empty());
    }

    #[tokio::test]
    async fn another_node_gets_each_event_once_and_only_those_its_sockets_see() {
        let tasks = Tasks::start().expect("runtimes");
        let mut f = Fanout::new(100, &tasks, Uuid::new_v4());
        let (link, mut down) = crate::hub::bus::Link::pair();
        let node = Uuid::new_v4();
        let at = |conn| {
            Box::new(Remote {
                node,
                conn,
                link: link.clone(),
                room: 64,
            })
        };
        // Two phones of that node, no staff there.
        for (id, on_node) in [(10, 1), (11, 2)] {
            let (c, _rx) = conn(Role::Audience, Some(Uuid::new_v4()), 4);
            f.insert_remote(id, c, at(on_node), vec![text("welcome")]);
        }
        let ns = |d: &Down| d.n();
        let first = down.recv().await.expect("joined");
        let second = down.recv().await.expect("joined");
        assert!(matches!(first, Down::Joined { conn: 1, .. }) && ns(&first) == 1);
        assert!(matches!(second, Down::Joined { conn: 2, .. }) && ns(&second) == 2);
        // A frame for moderators only does not go there; a public one goes once for both.
        f.publish(PerView {
            seq: 1,
            moderator: Some(text("m1")),
            ..PerView::default()
        });
        f.publish(public(2, "2"));
        match down.recv().await.expect("an event") {
            Down::Event { n, e, .. } => assert_eq!((n, e.seq), (3, 2)),
            other => panic!("{other:?}"),
        }
        assert!(down.try_recv().is_err(), "one message for two phones");
        // A reply to one socket goes to it by its id on its node.
        f.send(11, Out::Frame(text("ok")));
        assert!(matches!(
            down.recv().await,
            Some(Down::To { conn: 2, n: 4, .. })
        ));
        assert_eq!(f.presence()[0], 2);
    }
}
