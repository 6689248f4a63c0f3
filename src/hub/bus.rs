//! The cluster's bus: several hubs on one PostgreSQL database and one NATS (docs/cluster.md).
//!
//! The node holding a session's lease runs its actor ("the owner"). Any other node that a
//! socket of the session reaches runs a relay for it (`relay.rs`): the relay sends the socket's
//! `hello` and commands up to the owner, and the owner sends down, once per node and in order,
//! every event of the session (its frames per view, built once), the welcome and replies of
//! that node's sockets, and the close of them all. The relay hands each frame to its own
//! sockets with the same fan-out code the owner uses for its own.
//!
//! Core NATS, not JetStream: what the bus carries is live traffic whose truth is the journal.
//! A message lost on the way (a NATS restart, a slow consumer) is seen by its number, and the
//! node's sockets of the session reconnect and resume from the owner's ring or take a fresh
//! welcome, as after any reconnect. Subjects:
//! - `tanya.up.{owner}`: joins, commands, leaves and resyncs from relays (JSON);
//! - `tanya.down.{node}`: frames from owners to a node, numbered per session;
//! - `tanya.beat`: every node says it is alive every second.

use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use dashmap::DashMap;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::fanout::{Close, Out, PerView, Remote};
use super::join::{Refusal, Since};
use super::{Hub, JoinRequest, SessionHandle};
use crate::domain::{Command, Role, Who};

/// Parses a command frame as the socket layer does: the client's `ref` and the command, or the
/// error frame to send back.
pub type Parse = fn(&str, Role) -> Result<(Option<String>, Command), Utf8Bytes>;

/// A node that has not beaten for this long is taken for dead: its sockets are forgotten by
/// the sessions it held them for, and relays to it stop waiting for it.
pub const DEAD_AFTER: Duration = Duration::from_secs(3);

/// How often each node says it is alive.
const BEAT: Duration = Duration::from_secs(1);

/// A message from a session's owner to another node.
#[derive(Debug)]
pub enum Down {
    /// An event, with its frame for every view.
    Event {
        /// The session.
        session: Uuid,
        /// The message's number in the session's stream to this node.
        n: u64,
        /// The frames.
        e: PerView,
    },
    /// One frame or close for one socket of the node.
    To {
        /// The session.
        session: Uuid,
        /// The message's number (0: outside the numbered stream).
        n: u64,
        /// The socket's id on the node.
        conn: u64,
        /// The frame or close.
        out: Out,
        /// A fresh welcome for a socket whose queue overflowed.
        resync: bool,
    },
    /// A socket joined: who it is and its first frames (the welcome, and a resume's missed
    /// events).
    Joined {
        /// The session.
        session: Uuid,
        /// The message's number.
        n: u64,
        /// The socket's id on the node.
        conn: u64,
        /// The role and device it joined as.
        who: Who,
        /// Its first frames.
        frames: Vec<Utf8Bytes>,
    },
    /// A socket may not join.
    Refused {
        /// The session.
        session: Uuid,
        /// The socket's id on the node.
        conn: u64,
        /// Why.
        why: Refusal,
    },
    /// The owner is alive and has sent `n` messages.
    Beat {
        /// The session.
        session: Uuid,
        /// The number of the last message sent.
        n: u64,
    },
    /// The session's actor stopped: every socket of the node gets `close`.
    End {
        /// The session.
        session: Uuid,
        /// The message's number.
        n: u64,
        /// The close for every socket.
        close: Close,
    },
}

impl Down {
    /// The session the message is about.
    pub fn session(&self) -> Uuid {
        match self {
            Self::Event { session, .. }
            | Self::To { session, .. }
            | Self::Joined { session, .. }
            | Self::Refused { session, .. }
            | Self::Beat { session, .. }
            | Self::End { session, .. } => *session,
        }
    }

    /// The message's number in its stream (0: not numbered).
    pub fn n(&self) -> u64 {
        match self {
            Self::Event { n, .. }
            | Self::To { n, .. }
            | Self::Joined { n, .. }
            | Self::Beat { n, .. }
            | Self::End { n, .. } => *n,
            Self::Refused { .. } => 0,
        }
    }
}

/// An owner's stream of messages to one node (a task publishes them in order).
#[derive(Debug, Clone)]
pub struct Link(mpsc::UnboundedSender<Down>);

impl Link {
    /// A link whose messages come out of the returned queue (tests).
    #[cfg(test)]
    pub(crate) fn pair() -> (Self, mpsc::UnboundedReceiver<Down>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    /// Queues a message for the node.
    pub fn send(&self, d: Down) {
        let _ = self.0.send(d);
    }
}

/// A message from a relay to a session's owner.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Up {
    /// A socket's `hello`.
    Join {
        /// The session.
        s: Uuid,
        /// The node holding the socket.
        from: Uuid,
        /// The socket's id on that node.
        conn: u64,
        /// The role asked for.
        role: String,
        /// The key given.
        key: Option<String>,
        /// The device token given.
        device: Option<String>,
        /// Where a resuming client left off: epoch and seq.
        since: Option<(String, u64)>,
        /// The peer's address.
        addr: IpAddr,
        /// A moderator's name.
        name: Option<String>,
        /// The programme the socket joined through.
        via: Option<Uuid>,
        /// Room in the socket's queue.
        room: usize,
    },
    /// A command frame, as the client sent it (the owner parses it again).
    Cmd {
        /// The session.
        s: Uuid,
        /// The node holding the socket.
        from: Uuid,
        /// The socket's id on that node.
        conn: u64,
        /// The frame.
        text: String,
    },
    /// A socket has gone.
    Leave {
        /// The session.
        s: Uuid,
        /// The node holding the socket.
        from: Uuid,
        /// The socket's id on that node.
        conn: u64,
    },
    /// A socket whose queue overflowed asks for a fresh welcome.
    Resync {
        /// The session.
        s: Uuid,
        /// The node holding the socket.
        from: Uuid,
        /// The socket's id on that node.
        conn: u64,
    },
}

/// A change every node must know of: the programmes and agencies are kept in memory by
/// every node (they are read on every join and request), and read again when another node
/// changes them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum News {
    /// An agency was added, or its key changed.
    Agencies,
    /// A programme was added or changed.
    Programme {
        /// The programme.
        id: Uuid,
        /// Its current episode before the change.
        was_current: Option<Uuid>,
        /// The role whose programme key was rotated (`KeyRole::as_str`).
        key: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
struct Announced {
    from: Uuid,
    news: News,
}

impl Up {
    /// The node that sent it.
    fn from(&self) -> Uuid {
        match self {
            Self::Join { from, .. }
            | Self::Cmd { from, .. }
            | Self::Leave { from, .. }
            | Self::Resync { from, .. } => *from,
        }
    }
}

/// A socket of another node, as the owner knows it.
#[derive(Debug, Clone)]
struct Held {
    /// This hub's id for it (in the session's fan-out).
    conn: u64,
    role: Role,
    session: SessionHandle,
}

/// This node's end of the bus.
pub struct Bus {
    client: async_nats::Client,
    /// This node.
    pub node: Uuid,
    parse: Parse,
    /// Streams to other nodes, for the sessions this node owns.
    links: DashMap<Uuid, Link>,
    /// The relays of this node, by session: where messages from their owners go.
    relays: DashMap<Uuid, mpsc::UnboundedSender<Down>>,
    /// When each other node last beat, and the process it beat from.
    seen: DashMap<Uuid, (Instant, Uuid)>,
    /// This process: a node started again on the same address is the same node in a new
    /// process, which knows nothing of the sockets its last process relayed.
    incarnation: Uuid,
    /// Sockets of other nodes joined to sessions this node owns, by node and their id there.
    held: DashMap<(Uuid, u64), Held>,
    hub: Weak<Hub>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("node", &self.node).finish()
    }
}

/// The bus could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("bus {url}: {why}")]
pub struct BusError {
    url: String,
    why: String,
}

impl Bus {
    /// Connects this node to NATS and starts its subscribers. NATS must answer now; after that
    /// the client reconnects by itself whenever the server goes away.
    pub async fn start(url: &str, hub: &Arc<Hub>, parse: Parse) -> Result<Arc<Self>, BusError> {
        let err = |e: &dyn std::fmt::Display| BusError {
            url: url.to_string(),
            why: e.to_string(),
        };
        let node = hub.shared().node;
        let client = async_nats::ConnectOptions::new()
            .name(format!("tanya {node}"))
            .connection_timeout(Duration::from_secs(3))
            .event_callback(|e| async move {
                match e {
                    async_nats::Event::Connected => tracing::info!("bus connected"),
                    async_nats::Event::Disconnected => tracing::warn!("bus disconnected"),
                    other => tracing::warn!(event = %other, "bus"),
                }
            })
            .connect(url)
            .await
            .map_err(|e| err(&e))?;
        let up = client
            .subscribe(format!("tanya.up.{node}"))
            .await
            .map_err(|e| err(&e))?;
        let down = client
            .subscribe(format!("tanya.down.{node}"))
            .await
            .map_err(|e| err(&e))?;
        let beats = client.subscribe("tanya.beat").await.map_err(|e| err(&e))?;
        let news = client.subscribe("tanya.news").await.map_err(|e| err(&e))?;
        let bus = Arc::new(Self {
            client,
            node,
            parse,
            links: DashMap::new(),
            relays: DashMap::new(),
            seen: DashMap::new(),
            incarnation: Uuid::new_v4(),
            held: DashMap::new(),
            hub: Arc::downgrade(hub),
        });
        // The inboxes end at shutdown (the relays and actors answer what is in flight first).
        let tasks = hub.tasks();
        let cancel = tasks.cancel_token().clone();
        let until_shutdown =
            |f: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| {
                let cancel = cancel.clone();
                async move {
                    tokio::select! {
                        () = f => {}
                        () = cancel.cancelled() => {}
                    }
                }
            };
        tasks.spawn_actor(until_shutdown(Box::pin(owner_inbox(
            bus.clone(),
            Arc::downgrade(hub),
            up,
        ))));
        tasks.spawn_actor(until_shutdown(Box::pin(node_inbox(bus.clone(), down))));
        tasks.spawn_actor(until_shutdown(Box::pin(news_inbox(
            bus.clone(),
            Arc::downgrade(hub),
            news,
        ))));
        tasks.spawn_actor(beat(bus.clone(), beats, hub.tasks().cancel_token().clone()));
        tracing::info!(%node, url, "node of a cluster");
        Ok(bus)
    }

    /// The stream of messages to `node` (its publishing task is started on first use).
    pub fn link(&self, node: Uuid) -> Link {
        self.links
            .entry(node)
            .or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(publish_down(
                    self.client.clone(),
                    format!("tanya.down.{node}"),
                    rx,
                ));
                Link(tx)
            })
            .clone()
    }

    /// Tells every other node of a change to the programmes or agencies.
    pub async fn announce(&self, news: News) {
        let msg = Announced {
            from: self.node,
            news,
        };
        let Ok(body) = serde_json::to_vec(&msg) else {
            return;
        };
        if let Err(e) = self.client.publish("tanya.news", body.into()).await {
            tracing::warn!(error = %e, "bus: news not sent (the other nodes read it at their next start)");
        }
    }

    /// Sends a message up to a session's owner.
    pub async fn up(&self, owner: Uuid, msg: &Up) {
        let Ok(body) = serde_json::to_vec(msg) else {
            return;
        };
        if let Err(e) = self
            .client
            .publish(format!("tanya.up.{owner}"), body.into())
            .await
        {
            tracing::warn!(error = %e, "bus: a message to the owner was not sent");
        }
    }

    /// Takes a session over whose owner's lease ran out (the relays of every node try; the
    /// lease decides), so it runs again before its phones have reconnected.
    pub fn take_over(&self, session: Uuid) {
        if let Some(hub) = self.hub.upgrade() {
            tokio::spawn(async move {
                if hub.owned_session(session).await.is_some() {
                    tracing::info!(%session, "session taken over from a node that went away");
                }
            });
        }
    }

    /// The NATS client (the server forwards HTTP requests with it).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Whether this node is connected to NATS now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Whether `node` beats: at once when it beat lately, else after waiting a little longer
    /// than a beat (a node that has just started has not heard everyone yet).
    pub async fn heard_from(&self, node: Uuid) -> bool {
        let t = Instant::now();
        while !self.alive(node) {
            if t.elapsed() > BEAT + BEAT / 2 {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Whether `node` beat lately.
    pub fn alive(&self, node: Uuid) -> bool {
        node == self.node
            || self
                .seen
                .get(&node)
                .is_some_and(|t| t.0.elapsed() < DEAD_AFTER)
    }

    /// The process `node` last beat from (unknown until its first beat).
    pub fn incarnation(&self, node: Uuid) -> Option<Uuid> {
        self.seen.get(&node).map(|t| t.1).filter(|l| !l.is_nil())
    }

    /// A message from `node` says it is alive, as a beat does (a node that has just started
    /// hears its peers' messages before their next beat).
    fn heard(&self, node: Uuid) {
        let now = Instant::now();
        self.seen
            .entry(node)
            .and_modify(|t| t.0 = now)
            .or_insert((now, Uuid::nil()));
    }

    /// Registers a relay of this node: the messages of its session's owner come out of the
    /// returned queue.
    pub fn relay(&self, session: Uuid) -> mpsc::UnboundedReceiver<Down> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.relays.insert(session, tx);
        rx
    }

    /// Forgets a relay that ended (unless a newer one took its place).
    pub fn relay_ended(&self, session: Uuid) {
        self.relays.remove_if(&session, |_, tx| tx.is_closed());
    }
}

/// Publishes an owner's messages to one node, in order.
async fn publish_down(
    client: async_nats::Client,
    subject: String,
    mut rx: mpsc::UnboundedReceiver<Down>,
) {
    let subject = async_nats::Subject::from(subject);
    while let Some(d) = rx.recv().await {
        let body = encode(&d);
        metrics::counter!("tanya_bus_messages_total", "dir" => "down").increment(1);
        if let Err(e) = client.publish(subject.clone(), body).await {
            tracing::warn!(error = %e, "bus: a message to a node was not sent");
        }
    }
}

/// Says every second that this node is alive, and notes who else is; forgets the sockets of
/// nodes that went quiet.
async fn beat(
    bus: Arc<Bus>,
    mut beats: async_nats::Subscriber,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(BEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let me = Bytes::from(format!("{} {}", bus.node, bus.incarnation));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let _ = bus.client.publish("tanya.beat", me.clone()).await;
                bus.held.retain(|(node, _), h| {
                    let keep = bus.alive(*node);
                    if !keep {
                        let (s, c) = (h.session.clone(), h.conn);
                        tokio::spawn(async move { s.leave(c).await });
                    }
                    keep
                });
            }
            m = beats.next() => {
                let Some(m) = m else { break };
                let text = std::str::from_utf8(&m.payload).unwrap_or_default();
                let mut parts = text.split(' ').map(Uuid::parse_str);
                if let (Some(Ok(n)), Some(Ok(life))) = (parts.next(), parts.next())
                    && n != bus.node
                {
                    bus.seen.insert(n, (Instant::now(), life));
                }
            }
            () = cancel.cancelled() => break,
        }
    }
}

/// Changes other nodes made to the programmes and agencies.
async fn news_inbox(bus: Arc<Bus>, hub: Weak<Hub>, mut news: async_nats::Subscriber) {
    while let Some(m) = news.next().await {
        let Ok(a) = serde_json::from_slice::<Announced>(&m.payload) else {
            continue;
        };
        if a.from == bus.node {
            continue;
        }
        let Some(hub) = hub.upgrade() else { break };
        let done = match a.news {
            News::Agencies => hub.load_agencies().await,
            News::Programme {
                id,
                was_current,
                key,
            } => {
                let key = key.as_deref().and_then(crate::domain::role::KeyRole::parse);
                hub.programme_news(id, was_current, key).await
            }
        };
        if let Err(e) = done {
            tracing::error!(error = %e, "bus: news from another node not applied");
        }
    }
}

/// Messages from owners to this node's relays.
async fn node_inbox(bus: Arc<Bus>, mut down: async_nats::Subscriber) {
    while let Some(m) = down.next().await {
        let Some(d) = decode(&m.payload) else {
            tracing::warn!("bus: a message from an owner could not be read");
            continue;
        };
        if let Some(r) = bus.relays.get(&d.session()) {
            let _ = r.send(d);
        }
    }
}

/// Messages from relays to the sessions this node owns.
async fn owner_inbox(bus: Arc<Bus>, hub: Weak<Hub>, mut up: async_nats::Subscriber) {
    while let Some(m) = up.next().await {
        metrics::counter!("tanya_bus_messages_total", "dir" => "up").increment(1);
        let msg: Up = match serde_json::from_slice(&m.payload) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "bus: a message from a relay could not be read");
                continue;
            }
        };
        let Some(hub) = hub.upgrade() else { break };
        bus.heard(msg.from());
        match msg {
            Up::Join {
                s,
                from,
                conn,
                role,
                key,
                device,
                since,
                addr,
                name,
                via,
                room,
            } => {
                let link = bus.link(from);
                let to = link.clone();
                let refuse = move |why| {
                    to.send(Down::Refused {
                        session: s,
                        conn,
                        why,
                    })
                };
                let Some(role) = Role::parse(&role) else {
                    refuse(Refusal::BadKey);
                    continue;
                };
                let session = match hub.owned_session(s).await {
                    Some(h) => h,
                    None => {
                        refuse(Refusal::Stopped);
                        continue;
                    }
                };
                let id = hub.conn_id();
                bus.held.insert(
                    (from, conn),
                    Held {
                        conn: id,
                        role,
                        session: session.clone(),
                    },
                );
                let req = JoinRequest {
                    conn: id,
                    role,
                    key,
                    device,
                    since: since.map(|(epoch, seq)| Since { epoch, seq }),
                    addr,
                    // Its frames go to its node: the queue is never used.
                    tx: super::fanout::queue(1).0,
                    remote: Some(Box::new(Remote {
                        node: from,
                        conn,
                        link: link.clone(),
                        room,
                    })),
                    lagged: Default::default(),
                    name,
                    via,
                };
                // Queued here, in order with the socket's leave should it come next; answered
                // when the actor has taken it.
                match session.queue_join(req).await {
                    Ok(outcome) => {
                        let bus = bus.clone();
                        tokio::spawn(async move {
                            if let Err(why) = outcome.await {
                                bus.held.remove(&(from, conn));
                                refuse(why);
                            }
                        });
                    }
                    Err(why) => {
                        bus.held.remove(&(from, conn));
                        refuse(why);
                    }
                }
            }
            Up::Cmd {
                from,
                conn,
                text,
                s,
            } => {
                let Some(h) = bus.held.get(&(from, conn)).map(|h| h.clone()) else {
                    // A socket this node does not hold (its session restarted): the node's
                    // sockets of the session start again.
                    bus.link(from).send(Down::To {
                        session: s,
                        n: 0,
                        conn,
                        out: Out::Close(Close::Restarting),
                        resync: false,
                    });
                    continue;
                };
                match (bus.parse)(&text, h.role) {
                    Ok((client_ref, cmd)) => {
                        if !h.session.command(h.conn, client_ref, cmd, None).await {
                            bus.held.remove(&(from, conn));
                        }
                    }
                    Err(frame) => bus.link(from).send(Down::To {
                        session: s,
                        n: 0,
                        conn,
                        out: Out::Frame(frame),
                        resync: false,
                    }),
                }
            }
            Up::Leave { from, conn, .. } => {
                if let Some((_, h)) = bus.held.remove(&(from, conn)) {
                    h.session.leave(h.conn).await;
                }
            }
            Up::Resync { from, conn, .. } => {
                if let Some(h) = bus.held.get(&(from, conn)).map(|h| h.clone()) {
                    h.session.resync(h.conn).await;
                }
            }
        }
    }
}

/// The bytes of a message down: a JSON object whose frames are embedded as they are (they are
/// JSON objects already), so nothing is escaped or parsed again on the way.
fn encode(d: &Down) -> Bytes {
    fn frame(out: &mut String, key: &str, f: &Option<Utf8Bytes>) {
        if let Some(f) = f {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            out.push_str(f.as_str());
        }
    }
    fn close(out: &mut String, c: &Close) {
        out.push_str(",\"close\":");
        out.push_str(&serde_json::json!([c.code(), c.reason()]).to_string());
    }
    let mut out = String::with_capacity(256);
    out.push_str("{\"s\":\"");
    out.push_str(&d.session().to_string());
    out.push_str("\",\"n\":");
    out.push_str(&d.n().to_string());
    match d {
        Down::Event { e, .. } => {
            out.push_str(",\"t\":\"ev\",\"seq\":");
            out.push_str(&e.seq.to_string());
            frame(&mut out, "m", &e.moderator);
            frame(&mut out, "p", &e.public);
            frame(&mut out, "sc", &e.screen);
            frame(&mut out, "o", &e.overlay);
            frame(&mut out, "d", &e.desk);
            if let Some((device, f)) = &e.author {
                out.push_str(",\"a\":\"");
                out.push_str(&device.to_string());
                out.push('"');
                frame(&mut out, "af", &Some(f.clone()));
            }
        }
        Down::To {
            conn,
            out: o,
            resync,
            ..
        } => {
            out.push_str(",\"t\":\"to\",\"c\":");
            out.push_str(&conn.to_string());
            if *resync {
                out.push_str(",\"r\":true");
            }
            match o {
                Out::Frame(f) => frame(&mut out, "f", &Some(f.clone())),
                Out::Close(c) => close(&mut out, c),
            }
        }
        Down::Joined {
            conn, who, frames, ..
        } => {
            out.push_str(",\"t\":\"joined\",\"c\":");
            out.push_str(&conn.to_string());
            out.push_str(",\"role\":\"");
            out.push_str(who.role().as_str());
            out.push('"');
            if let Some(dev) = who.device() {
                out.push_str(",\"dev\":\"");
                out.push_str(&dev.to_string());
                out.push('"');
            }
            out.push_str(",\"fs\":[");
            for (i, f) in frames.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(f.as_str());
            }
            out.push(']');
        }
        Down::Refused { conn, why, .. } => {
            out.push_str(",\"t\":\"refused\",\"c\":");
            out.push_str(&conn.to_string());
            let (w, ms) = match why {
                Refusal::BadKey => ("bad_key", 0),
                Refusal::TooManyDevices(ms) => ("devices", *ms),
                Refusal::Stopped => ("stopped", 0),
                Refusal::EpisodeChanged => ("episode", 0),
            };
            out.push_str(",\"why\":\"");
            out.push_str(w);
            out.push_str("\",\"ms\":");
            out.push_str(&ms.to_string());
        }
        Down::Beat { .. } => out.push_str(",\"t\":\"beat\""),
        Down::End { close: c, .. } => {
            out.push_str(",\"t\":\"end\"");
            close(&mut out, c);
        }
    }
    out.push('}');
    Bytes::from(out)
}

/// A message down as read.
#[derive(Deserialize)]
struct Wire<'a> {
    t: &'a str,
    s: Uuid,
    #[serde(default)]
    n: u64,
    #[serde(default)]
    seq: u64,
    #[serde(borrow)]
    m: Option<&'a RawValue>,
    #[serde(borrow)]
    p: Option<&'a RawValue>,
    #[serde(borrow)]
    sc: Option<&'a RawValue>,
    #[serde(borrow)]
    o: Option<&'a RawValue>,
    #[serde(borrow)]
    d: Option<&'a RawValue>,
    a: Option<Uuid>,
    #[serde(borrow)]
    af: Option<&'a RawValue>,
    c: Option<u64>,
    #[serde(default)]
    r: bool,
    #[serde(borrow)]
    f: Option<&'a RawValue>,
    close: Option<(u16, String)>,
    role: Option<&'a str>,
    dev: Option<Uuid>,
    #[serde(borrow, default)]
    fs: Vec<&'a RawValue>,
    why: Option<&'a str>,
    #[serde(default)]
    ms: u64,
}

fn decode(body: &[u8]) -> Option<Down> {
    let w: Wire<'_> = serde_json::from_slice(body).ok()?;
    let f = |r: Option<&RawValue>| r.map(|r| Utf8Bytes::from(r.get().to_string()));
    let close = |c: Option<(u16, String)>| {
        c.map(|(code, reason)| Close::Relayed(code, reason.into_boxed_str()))
    };
    let (session, n) = (w.s, w.n);
    Some(match w.t {
        "ev" => Down::Event {
            session,
            n,
            e: PerView {
                seq: w.seq,
                moderator: f(w.m),
                public: f(w.p),
                screen: f(w.sc),
                overlay: f(w.o),
                desk: f(w.d),
                author: w.a.zip(f(w.af)),
            },
        },
        "to" => Down::To {
            session,
            n,
            conn: w.c?,
            out: match (f(w.f), close(w.close)) {
                (Some(frame), _) => Out::Frame(frame),
                (None, Some(c)) => Out::Close(c),
                (None, None) => return None,
            },
            resync: w.r,
        },
        "joined" => Down::Joined {
            session,
            n,
            conn: w.c?,
            who: Who::of(Role::parse(w.role?)?, w.dev)?,
            frames: w
                .fs
                .iter()
                .map(|r| Utf8Bytes::from(r.get().to_string()))
                .collect(),
        },
        "refused" => Down::Refused {
            session,
            conn: w.c?,
            why: match w.why? {
                "bad_key" => Refusal::BadKey,
                "devices" => Refusal::TooManyDevices(w.ms),
                "episode" => Refusal::EpisodeChanged,
                _ => Refusal::Stopped,
            },
        },
        "beat" => Down::Beat { session, n },
        "end" => Down::End {
            session,
            n,
            close: close(w.close)?,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Utf8Bytes {
        Utf8Bytes::from(s.to_string())
    }

    #[test]
    fn every_message_down_reads_back_as_it_was_written() {
        let session = Uuid::new_v4();
        let device = Uuid::new_v4();
        let ev = Down::Event {
            session,
            n: 7,
            e: PerView {
                seq: 42,
                moderator: Some(text(r#"{"type":"question","text":"a \"quoted\" line"}"#)),
                public: Some(text(r#"{"type":"question"}"#)),
                screen: None,
                overlay: Some(text(r#"{"type":"overlay","visible":true}"#)),
                author: Some((device, text(r#"{"type":"question","mine":true}"#))),
                desk: None,
            },
        };
        let Some(Down::Event { session: s, n, e }) = decode(&encode(&ev)) else {
            panic!("an event");
        };
        assert_eq!((s, n, e.seq), (session, 7, 42));
        assert_eq!(
            e.moderator.as_ref().map(|f| f.as_str()),
            Some(r#"{"type":"question","text":"a \"quoted\" line"}"#)
        );
        assert_eq!(
            e.public.as_ref().map(|f| f.as_str()),
            Some(r#"{"type":"question"}"#)
        );
        assert!(e.screen.is_none() && e.desk.is_none());
        assert_eq!(
            e.author.as_ref().map(|(d, f)| (*d, f.as_str())),
            Some((device, r#"{"type":"question","mine":true}"#))
        );

        let to = Down::To {
            session,
            n: 8,
            conn: 99,
            out: Out::Close(Close::TooSlow),
            resync: false,
        };
        let Some(Down::To { conn, out, .. }) = decode(&encode(&to)) else {
            panic!("a frame to one socket");
        };
        assert_eq!(conn, 99);
        let Out::Close(c) = out else {
            panic!("a close")
        };
        assert_eq!((c.code(), c.reason()), (4429, "too slow to keep up"));

        let who = Who::of(Role::Press, Some(device)).expect("press has a device");
        let joined = Down::Joined {
            session,
            n: 9,
            conn: 5,
            who,
            frames: vec![text(r#"{"type":"welcome"}"#), text(r#"{"type":"x"}"#)],
        };
        let Some(Down::Joined {
            who: w, frames, n, ..
        }) = decode(&encode(&joined))
        else {
            panic!("joined");
        };
        assert_eq!((w.role(), w.device(), n), (Role::Press, Some(device), 9));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].as_str(), r#"{"type":"welcome"}"#);

        for why in [
            Refusal::BadKey,
            Refusal::TooManyDevices(1200),
            Refusal::Stopped,
            Refusal::EpisodeChanged,
        ] {
            let d = Down::Refused {
                session,
                conn: 1,
                why,
            };
            let Some(Down::Refused { why: back, .. }) = decode(&encode(&d)) else {
                panic!("refused");
            };
            assert_eq!(back, why);
        }
        let end = Down::End {
            session,
            n: 10,
            close: Close::ShuttingDown,
        };
        let Some(Down::End { close, n, .. }) = decode(&encode(&end)) else {
            panic!("end");
        };
        assert_eq!((close.code(), n), (4503, 10));
        assert!(decode(b"{\"t\":\"nonsense\",\"s\":\"x\"}").is_none());
        assert!(decode(b"not json").is_none());
    }
}
