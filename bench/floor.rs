//! `tanya-floor`: the floor for Tanya's fan-out figures. A minimal WebSocket broadcast server on
//! bare tokio-tungstenite with the hub's per-connection settings (read buffer 4096, write buffer
//! 4096, 16 KiB messages, `TCP_NODELAY`, `SO_SNDBUF` 64 KiB) and the same runtime (tokio
//! multi-thread, one worker per core). It does nothing but fan one frame out: no roles, no state,
//! no store, no per-view frames, so whatever Tanya needs beyond it is Tanya's own cost.
//!
//! Protocol (text frames):
//! - a phone sends any text frame first except `{"type":"control"}` (e.g. Tanya's `hello`); it
//!   gets `{"type":"welcome","phones":N}` and from then on every broadcast frame;
//! - a control client sends `{"type":"control"}` first and gets the same welcome; every later
//!   text frame it sends is broadcast verbatim to every phone (the received buffer itself is
//!   shared: serialized once, a reference-count clone per phone), and the control gets
//!   `{"type":"sent","phones":N}` back;
//! - `{"type":"count"}` from a control gets the welcome again (the phones connected now).
//!
//! It prints `listening on ws://ADDR` on stderr once it accepts connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// A minimal broadcast server: the floor Tanya's fan-out is measured against.
#[derive(Parser, Debug)]
#[command(name = "tanya-floor", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Per-connection WebSocket read buffer, bytes (Tanya: 4096).
    #[arg(long, default_value_t = 4096)]
    read_buffer: usize,
    /// Per-connection WebSocket write buffer, bytes (Tanya: 4096).
    #[arg(long, default_value_t = 4096)]
    write_buffer: usize,
    /// Kernel send buffer per socket, bytes (Tanya: 65536).
    #[arg(long, default_value_t = 65536)]
    send_buffer: usize,
    /// Runtime worker threads (default: one per core, as `#[tokio::main]` in Tanya).
    #[arg(long)]
    threads: Option<usize>,
}

/// What every connection shares.
struct Floor {
    /// The broadcast of pre-serialized frames.
    tx: broadcast::Sender<Utf8Bytes>,
    /// Phones registered now.
    phones: AtomicUsize,
    cfg: WebSocketConfig,
    send_buffer: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    rt.build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen).await?;
    let local = listener.local_addr()?;
    let cfg = WebSocketConfig::default()
        .read_buffer_size(args.read_buffer)
        .write_buffer_size(args.write_buffer)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(Some(16 * 1024))
        .max_frame_size(Some(16 * 1024));
    let (tx, _) = broadcast::channel(16);
    let floor = Arc::new(Floor {
        tx,
        phones: AtomicUsize::new(0),
        cfg,
        send_buffer: args.send_buffer,
    });
    eprintln!("listening on ws://{local}");
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("tanya-floor: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let floor = floor.clone();
        tokio::spawn(async move {
            let _ = connection(floor, tcp).await;
        });
    }
}

fn welcome(n: usize) -> Message {
    Message::Text(format!(r#"{{"type":"welcome","phones":{n}}}"#).into())
}

async fn connection(floor: Arc<Floor>, tcp: TcpStream) -> anyhow::Result<()> {
    tcp.set_nodelay(true)?;
    socket2::SockRef::from(&tcp).set_send_buffer_size(floor.send_buffer)?;
    let mut ws = tokio_tungstenite::accept_async_with_config(tcp, Some(floor.cfg)).await?;
    let first = loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => break t,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
            Some(Ok(_)) => continue,
        }
    };
    if first.as_str().contains(r#""type":"control""#) {
        return control(floor, ws).await;
    }
    // Subscribe before the welcome: nothing broadcast after it is missed.
    let mut rx = floor.tx.subscribe();
    let n = floor.phones.fetch_add(1, Ordering::AcqRel) + 1;
    let r = phone(&mut ws, &mut rx, n).await;
    floor.phones.fetch_sub(1, Ordering::AcqRel);
    r
}

async fn phone(
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    rx: &mut broadcast::Receiver<Utf8Bytes>,
    n: usize,
) -> anyhow::Result<()> {
    ws.send(welcome(n)).await?;
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => {}
            },
            f = rx.recv() => match f {
                Ok(f) => {
                    ws.feed(Message::Text(f)).await?;
                    // Several queued (a burst of triggers): one flush for all of them.
                    while let Ok(more) = rx.try_recv() {
                        ws.feed(Message::Text(more)).await?;
                    }
                    ws.flush().await?;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

async fn control(
    floor: Arc<Floor>,
    mut ws: tokio_tungstenite::WebSocketStream<TcpStream>,
) -> anyhow::Result<()> {
    ws.send(welcome(floor.phones.load(Ordering::Acquire)))
        .await?;
    while let Some(m) = ws.next().await {
        match m? {
            Message::Text(t) if t.as_str().starts_with(r#"{"type":"count"}"#) => {
                ws.send(welcome(floor.phones.load(Ordering::Acquire)))
                    .await?;
            }
            Message::Text(t) => {
                let n = floor.tx.send(t).unwrap_or(0);
                ws.send(Message::Text(
                    format!(r#"{{"type":"sent","phones":{n}}}"#).into(),
                ))
                .await?;
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}
