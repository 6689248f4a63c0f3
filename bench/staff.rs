//! The coordinator's own clients: moderator, screen, overlay, an observer phone, askers, and the
//! floor's control socket. A reader task stamps every frame the moment it arrives, so the
//! coordinator may look at frames later without changing their times.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::net::{self, Space, Ws, now_ns};

/// A client whose frames are time-stamped on arrival.
pub struct Staff {
    pub name: String,
    sink: SplitSink<Ws, Message>,
    rx: mpsc::UnboundedReceiver<(u64, String)>,
    /// Why the socket ended, once it has.
    pub closed: Arc<Mutex<Option<String>>>,
}

impl Staff {
    /// Connects from staff address `n`, sends `hello` and waits for the first frame (`welcome`).
    pub async fn open(
        name: &str,
        server: SocketAddr,
        url: &str,
        n: u64,
        hello: &Value,
    ) -> anyhow::Result<(Self, Value)> {
        let ws = net::connect(
            server,
            net::source(Space::Staff, n, 1),
            url,
            net::staff_config(),
        )
        .await?;
        let (sink, mut stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let closed = Arc::new(Mutex::new(None));
        let c2 = closed.clone();
        tokio::spawn(async move {
            let why = loop {
                match stream.next().await {
                    Some(Ok(Message::Text(t))) => {
                        if tx.send((now_ns(), t.as_str().to_string())).is_err() {
                            break "dropped".to_string();
                        }
                    }
                    Some(Ok(Message::Close(f))) => break format!("close {f:?}"),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("error {e}"),
                    None => break "eof".to_string(),
                }
            };
            if let Ok(mut c) = c2.lock() {
                *c = Some(why);
            }
        });
        let mut s = Self {
            name: name.to_string(),
            sink,
            rx,
            closed,
        };
        s.send(hello).await?;
        let (_, w) = s
            .until(Duration::from_secs(20), |v| {
                v["type"] == "welcome" || v["type"] == "error"
            })
            .await?;
        if w["type"] != "welcome" {
            bail!("{name}: no welcome: {w}");
        }
        Ok((s, w))
    }

    /// Sends a JSON frame; returns the time just before the send.
    pub async fn send(&mut self, v: &Value) -> anyhow::Result<u64> {
        self.send_text(v.to_string()).await
    }

    /// Sends a text frame; returns the time just before the send.
    pub async fn send_text(&mut self, s: String) -> anyhow::Result<u64> {
        let t = now_ns();
        self.sink.send(Message::Text(s.into())).await?;
        Ok(t)
    }

    /// Sends a close frame (the server answers it and the reader task ends).
    pub async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
    }

    /// Forgets every frame received so far.
    pub fn drain(&mut self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// Collects frames until `done` returns true for one (it sees each frame once) or `timeout`.
    pub async fn collect(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&str) -> bool,
    ) -> Vec<(u64, String)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((t, f))) => {
                    let stop = done(&f);
                    out.push((t, f));
                    if stop {
                        return out;
                    }
                }
                Ok(None) | Err(_) => return out,
            }
        }
    }

    /// The first frame (parsed) for which `pred` holds, skipping others.
    pub async fn until(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> anyhow::Result<(u64, Value)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((t, f))) => {
                    let v: Value = serde_json::from_str(&f).unwrap_or(Value::Null);
                    if pred(&v) {
                        return Ok((t, v));
                    }
                }
                Ok(None) => {
                    let why = self.closed.lock().ok().and_then(|c| c.clone());
                    return Err(anyhow!("{}: socket ended ({why:?})", self.name));
                }
                Err(_) => return Err(anyhow!("{}: timed out waiting", self.name)),
            }
        }
    }

    /// Sends a command with `ref` and waits for its reply (`ok` or `error`).
    pub async fn command(&mut self, v: Value) -> anyhow::Result<Value> {
        let r = v["ref"].clone();
        self.send(&v).await?;
        let (_, reply) = self
            .until(Duration::from_secs(20), |f| {
                (f["type"] == "ok" || f["type"] == "error") && f["ref"] == r
            })
            .await?;
        if reply["type"] != "ok" {
            bail!("{}: {v} got {reply}", self.name);
        }
        Ok(reply)
    }
}
