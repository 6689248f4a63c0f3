//! A session another node of the cluster runs, as this node's sockets see it (`bus.rs`).
//!
//! The relay takes the same mail as an actor: a socket's `hello` and commands go up to the
//! owner; the owner's messages come down in order, numbered, and the relay hands their frames
//! to its sockets with the same fan-out an actor uses (staff first, phones through the phone
//! lane). It decides nothing and stores nothing.
//!
//! When the owner goes quiet (no beat for [`DEAD_AFTER`](super::bus::DEAD_AFTER)), the relay
//! holds its sockets until the owner's lease has run out, then closes them with 4503: they
//! reconnect, and the first `hello` on any node takes the session over from its journal. A
//! message missing from the owner's numbered stream does the same at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::actor::{Control, Mail, Submitted};
use super::bus::{Bus, Down, Up};
use super::fanout::{Close, Conn, Fanout, Out, OutTx};
use super::join::{Joined, Refusal};
use super::{Registration, Shared};

/// How long a socket waits for its owner to answer its `hello` before it is told to try
/// again.
const JOIN_WAIT: Duration = Duration::from_secs(10);

/// How often a relay checks its owner's lease while the owner beats.
const LEASE_CHECK: Duration = Duration::from_secs(2);

/// A socket whose `hello` went up, until its owner answers.
struct Joining {
    tx: OutTx,
    lagged: Arc<AtomicBool>,
    addr: IpAddr,
    name: Option<String>,
    via: bool,
    reply: oneshot::Sender<Result<Joined, Refusal>>,
    since: Instant,
}

/// A relay of one session.
pub struct Relay {
    shared: Arc<Shared>,
    bus: Arc<Bus>,
    session: Uuid,
    owner: Uuid,
    /// This node's sockets of the session.
    fanout: Fanout,
    joining: HashMap<u64, Joining>,
    /// The number of the owner's last message (none yet: the first sets it).
    last_n: Option<u64>,
    /// The owner's process (a new one knows nothing of this relay's sockets).
    owner_life: Option<Uuid>,
    rx: mpsc::Receiver<Mail>,
    down: mpsc::UnboundedReceiver<Down>,
    registration: Option<Registration>,
}

impl Relay {
    /// A relay of `session`, run by `owner`; its mail comes from `rx`.
    pub(super) fn new(
        shared: Arc<Shared>,
        bus: Arc<Bus>,
        session: Uuid,
        owner: Uuid,
        rx: mpsc::Receiver<Mail>,
        registration: Registration,
    ) -> Self {
        let down = bus.relay(session);
        let owner_life = bus.incarnation(owner);
        let fanout = Fanout::new(1, &shared.tasks, session);
        Self {
            shared,
            bus,
            session,
            owner,
            fanout,
            joining: HashMap::new(),
            last_n: None,
            owner_life,
            rx,
            down,
            registration: Some(registration),
        }
    }

    /// Runs until the owner ends the session here, goes away, or nothing has been joined for
    /// `limits.session_idle_ms`; or until shutdown.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let cancel = self.shared.tasks.cancel_token().clone();
        let idle_limit = Duration::from_millis(self.shared.cfg.limits.session_idle_ms);
        let mut idle_since: Option<Instant> = None;
        let mut checked = Instant::now();
        let mut quiet_since: Option<Instant> = None;
        let why = loop {
            tokio::select! {
                m = self.rx.recv() => match m {
                    Some(m) => {
                        idle_since = None;
                        if let Some(end) = self.mail(m).await {
                            break end;
                        }
                    }
                    None => break Close::ShuttingDown,
                },
                d = self.down.recv() => match d {
                    Some(d) => if let Some(end) = self.on_down(d) {
                        break end;
                    },
                    None => break Close::Restarting,
                },
                _ = tick.tick() => {
                    if let Some(end) = self.check(&mut checked, &mut quiet_since).await {
                        break end;
                    }
                    if !self.fanout.is_empty() || !self.joining.is_empty() {
                        idle_since = None;
                    } else if idle_since.get_or_insert_with(Instant::now).elapsed() >= idle_limit {
                        // No socket to tell; nothing to take over.
                        break Close::ShuttingDown;
                    }
                }
                () = cancel.cancelled() => break Close::ShuttingDown,
            }
        };
        // Leave the registry first: a socket told to try again finds the session anew.
        self.registration.take();
        self.rx.close();
        while let Ok(m) = self.rx.try_recv() {
            if let Mail::Control(Control::Join { reply, .. }) = m {
                let _ = reply.send(Err(Refusal::Stopped));
            }
        }
        for (_, j) in self.joining.drain() {
            let _ = j.reply.send(Err(Refusal::Stopped));
        }
        if self.bus.alive(self.owner) {
            let conns: Vec<u64> = self.fanout.all().map(|(id, _)| id).collect();
            for conn in conns {
                self.up(&Up::Leave {
                    s: self.session,
                    from: self.bus.node,
                    conn,
                })
                .await;
            }
        }
        let lost = matches!(why, Close::Restarting);
        self.fanout.close_all(why);
        self.down.close();
        self.bus.relay_ended(self.session);
        if lost && !self.shared.tasks.is_shutting_down() {
            self.bus.take_over(self.session);
        }
        tracing::info!(session = %self.session, owner = %self.owner, "relay ended");
    }

    async fn up(&self, msg: &Up) {
        self.bus.up(self.owner, msg).await;
    }

    /// Mail from this node's sockets; `Some` ends the relay (the bus is down: a command could
    /// not reach the owner, and its socket must not wait for an answer that never comes).
    async fn mail(&mut self, m: Mail) -> Option<Close> {
        let (s, from) = (self.session, self.bus.node);
        match m {
            Mail::Command(Submitted { conn, raw, .. }) => {
                if !self.bus.connected() {
                    return Some(Close::Restarting);
                }
                if let Some(raw) = raw {
                    let text = raw.as_str().to_string();
                    self.up(&Up::Cmd {
                        s,
                        from,
                        conn,
                        text,
                    })
                    .await;
                }
            }
            Mail::Control(Control::Join { req, reply }) => {
                let req = *req;
                if req.remote.is_some() {
                    let _ = reply.send(Err(Refusal::Stopped));
                    return None;
                }
                let tx = req.tx;
                let room = tx.capacity().unwrap_or(usize::MAX) - tx.len();
                let msg = Up::Join {
                    s,
                    from,
                    conn: req.conn,
                    role: req.role.as_str().to_string(),
                    key: req.key,
                    device: req.device,
                    since: req.since.map(|x| (x.epoch, x.seq)),
                    addr: req.addr,
                    name: req.name.clone(),
                    via: req.via,
                    room,
                };
                self.joining.insert(
                    req.conn,
                    Joining {
                        tx,
                        lagged: req.lagged,
                        addr: req.addr,
                        name: req.name,
                        via: req.via.is_some(),
                        reply,
                        since: Instant::now(),
                    },
                );
                self.up(&msg).await;
            }
            Mail::Control(Control::Leave { conn }) => {
                self.fanout.remove(conn);
                self.joining.remove(&conn);
                self.up(&Up::Leave { s, from, conn }).await;
            }
            Mail::Control(Control::Resync { conn }) => {
                self.up(&Up::Resync { s, from, conn }).await;
            }
            // HTTP queries and requests are answered by the owner (the handle refuses them
            // before they are sent); programme news reaches the owner's own hub.
            Mail::Request(_) | Mail::Control(_) => {}
        }
        None
    }

    /// A message from the owner; `Some` ends the relay with that close for every socket.
    fn on_down(&mut self, d: Down) -> Option<Close> {
        let n = d.n();
        if n > 0 {
            if self.last_n.is_some_and(|last| n != last + 1) {
                tracing::warn!(session = %self.session, expected = self.last_n.map(|l| l + 1), got = n, "a message from the owner was lost: the sockets start again");
                metrics::counter!("tanya_bus_gaps_total").increment(1);
                return Some(Close::Restarting);
            }
            self.last_n = Some(n);
        }
        match d {
            Down::Event { e, .. } => self.fanout.publish(e),
            Down::To {
                conn, out, resync, ..
            } => self.fanout.deliver(conn, out, resync),
            Down::Joined {
                conn, who, frames, ..
            } => {
                let Some(j) = self.joining.remove(&conn) else {
                    // The socket gave up meanwhile: the owner lets go of it too.
                    let msg = Up::Leave {
                        s: self.session,
                        from: self.bus.node,
                        conn,
                    };
                    let bus = self.bus.clone();
                    let owner = self.owner;
                    tokio::spawn(async move { bus.up(owner, &msg).await });
                    return None;
                };
                for f in frames {
                    let _ = j.tx.try_send(Out::Frame(f));
                }
                self.fanout.insert(
                    conn,
                    Conn {
                        who,
                        addr: j.addr,
                        tx: j.tx,
                        lagged: j.lagged,
                        name: j.name.map(String::into_boxed_str),
                        via: j.via,
                    },
                );
                if j.reply.send(Ok(Joined { who })).is_err() {
                    self.fanout.remove(conn);
                }
            }
            Down::Refused { conn, why, .. } => {
                if let Some(j) = self.joining.remove(&conn) {
                    let _ = j.reply.send(Err(why));
                }
            }
            Down::Beat { .. } => {}
            Down::End { close, .. } => return Some(close),
        }
        None
    }

    /// Whether the owner still runs the session: while it beats, its lease is checked every
    /// [`LEASE_CHECK`]; once it is quiet, every tick, and the sockets go when its lease has run
    /// out or another node holds it.
    async fn check(
        &mut self,
        checked: &mut Instant,
        quiet_since: &mut Option<Instant>,
    ) -> Option<Close> {
        let now = Instant::now();
        let stale: Vec<u64> = self
            .joining
            .iter()
            .filter(|(_, j)| now.duration_since(j.since) >= JOIN_WAIT)
            .map(|(c, _)| *c)
            .collect();
        for c in stale {
            if let Some(j) = self.joining.remove(&c) {
                let _ = j.reply.send(Err(Refusal::Stopped));
            }
        }
        let quiet = !self.bus.alive(self.owner);
        if !quiet {
            *quiet_since = None;
        }
        let life = self.bus.incarnation(self.owner);
        if self.owner_life.is_none() {
            self.owner_life = life;
        } else if life != self.owner_life {
            tracing::warn!(session = %self.session, owner = %self.owner, "the owner started again: the sockets reconnect");
            return Some(Close::Restarting);
        }
        if quiet && !self.bus.connected() {
            tracing::warn!(session = %self.session, "the bus is down: the sockets reconnect");
            return Some(Close::Restarting);
        }
        // An owner that holds its lease but does not reach the bus: the sockets try elsewhere
        // (through the balancer they may reach the owner itself).
        if quiet && quiet_since.get_or_insert(now).elapsed() >= 2 * super::bus::DEAD_AFTER {
            tracing::warn!(session = %self.session, owner = %self.owner, "the owner does not reach the bus: the sockets reconnect");
            return Some(Close::Restarting);
        }
        if !quiet && checked.elapsed() < LEASE_CHECK {
            return None;
        }
        *checked = now;
        match self.shared.store.lease_holder(self.session).await {
            Ok(Some((holder, left))) if holder == self.owner && left > 0 => None,
            Ok(_) => {
                tracing::warn!(session = %self.session, owner = %self.owner, "the owner's lease is gone: the sockets reconnect");
                Some(Close::Restarting)
            }
            // The database does not answer: wait for it.
            Err(_) => None,
        }
    }
}
