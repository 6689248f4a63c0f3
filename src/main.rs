//! The `tanya` command: parse, load config, call the library.
#![deny(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tanya::config::Config;
use tanya::domain::SpeakerInput;

/// Tanya: live Q&A moderation hub for broadcast public discussions.
#[derive(Parser, Debug)]
#[command(name = "tanya", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the hub until SIGINT or SIGTERM.
    Serve {
        /// Settings file (default: config/tanya.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also create a demo session and print its links.
        #[arg(long)]
        demo: bool,
    },
    /// Manage sessions in the configured store.
    Session {
        #[command(subcommand)]
        cmd: SessionCmd,
    },
    /// Erase every citizen's contact of questions asked before a date (docs/followup.md,
    /// "Retention"). Run it with the hub stopped, or use POST /api/purge on a running hub.
    Purge {
        /// The first day kept, `YYYY-MM-DD` (office time): contacts of questions asked before it
        /// are erased.
        #[arg(long)]
        before: String,
        /// Settings file (default: config/tanya.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The admin token.
    Admin {
        #[command(subcommand)]
        cmd: AdminCmd,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCmd {
    /// Make a new admin token (the old one stops working, also on a running hub) and print it once.
    ResetToken {
        /// Settings file (default: config/tanya.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum SessionCmd {
    /// Create a session and print it as JSON (as POST /api/sessions does).
    Create {
        /// The session's title.
        #[arg(long)]
        title: String,
        /// A speaker, as "NAME|ROLE" (repeatable).
        #[arg(long = "speaker")]
        speakers: Vec<String>,
        /// Settings file (default: config/tanya.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn load(path: Option<&std::path::Path>) -> Config {
    match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tanya: {e}");
            std::process::exit(2);
        }
    }
}

fn speakers(raw: &[String]) -> Result<Vec<SpeakerInput>, String> {
    raw.iter()
        .map(|s| match s.split_once('|') {
            Some((n, r)) => Ok(SpeakerInput {
                id: None,
                name: n.to_string(),
                role: r.to_string(),
            }),
            None => Err(format!("--speaker {s:?}: expected \"NAME|ROLE\"")),
        })
        .collect()
}

/// Binds the listening socket with a backlog for a room that joins at once.
fn bind(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(backlog)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Below this many open files a hub cannot hold a TV audience: say so at start.
const FEW_FILES: u64 = 4096;

/// Raises the soft limit of open files to the hard limit (each socket is a file; the usual soft
/// limit of 1,024 would stop the hub at about a thousand phones) and says what it is now.
fn raise_open_files() {
    let (soft, hard) = match rlimit::Resource::NOFILE.get() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("open files: the limit cannot be read: {e}");
            return;
        }
    };
    let now = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("open files: soft limit {soft} could not be raised to {hard}: {e}");
            soft
        }
    };
    if now > soft {
        eprintln!("open files: soft limit raised from {soft} to {now}");
    } else {
        eprintln!("open files: soft limit {now}");
    }
    if now < FEW_FILES {
        eprintln!(
            "open files: {now} is few for a large audience: raise the hard limit \
             (LimitNOFILE= in the systemd unit, or `ulimit -Hn`)"
        );
    }
    tracing::info!(before = soft, now, hard, "open files limit");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve { config, demo } => {
            raise_open_files();
            let cfg = Arc::new(load(config.as_deref()));
            let listener = match bind(cfg.listen, cfg.limits.listen_backlog) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("tanya: cannot listen on {}: {e}", cfg.listen);
                    std::process::exit(2);
                }
            };
            if demo {
                let store = tanya::store::open(&cfg.database).await?;
                let rec = tanya::hub::Hub::create_session(
                    store.as_ref(),
                    "Diskusi Wong Kito #12: Perizinan",
                    &[
                        SpeakerInput {
                            id: None,
                            name: "Drs Ratu Dewa MSi".into(),
                            role: "Sekretaris Daerah".into(),
                        },
                        SpeakerInput {
                            id: None,
                            name: "Ir Rina Marlina".into(),
                            role: "Kepala DPMPTSP".into(),
                        },
                    ],
                    chrono::Utc::now().timestamp_millis(),
                )
                .await?;
                let base = cfg.base_url();
                let links = tanya::hub::links(&base, &rec);
                eprintln!(
                    "demo session \"{}\" (code {})",
                    rec.info.title, rec.info.code
                );
                for (k, link) in [
                    ("audience", &links.audience),
                    ("press", &links.press),
                    ("moderator", &links.moderator),
                    ("screen", &links.screen),
                    ("overlay", &links.overlay),
                ] {
                    eprintln!("  {k:<10} {link}");
                }
                eprintln!("  admin      {base}/admin");
            }
            tanya::server::serve(cfg, listener, shutdown_signal()).await?;
            Ok(())
        }
        Cmd::Purge { before, config } => {
            let cfg = Arc::new(load(config.as_deref()));
            let Ok(day) = chrono::NaiveDate::parse_from_str(before.trim(), "%Y-%m-%d") else {
                eprintln!("tanya: --before {before:?} is not a date like 2026-06-01");
                std::process::exit(2);
            };
            let store = tanya::store::open(&cfg.database).await?;
            let hub = tanya::hub::Hub::new(cfg.clone(), store).await?;
            let n = hub
                .purge(tanya::config::start_of_day(cfg.tz(), day))
                .await?;
            hub.shutdown(std::time::Duration::from_secs(5)).await;
            println!("erased {n} contacts of questions asked before {day}");
            Ok(())
        }
        Cmd::Admin {
            cmd: AdminCmd::ResetToken { config },
        } => {
            let cfg = load(config.as_deref());
            if cfg.admin_token.is_some() {
                eprintln!(
                    "tanya: the admin token is set in the settings (TANYA_ADMIN_TOKEN or \
                     admin_token): change it there"
                );
                std::process::exit(2);
            }
            let store = tanya::store::open(&cfg.database).await?;
            let token = tanya::server::admin::reset(store.as_ref()).await?;
            println!("admin token: {token}");
            Ok(())
        }
        Cmd::Session {
            cmd:
                SessionCmd::Create {
                    title,
                    speakers: raw,
                    config,
                },
        } => {
            let cfg = load(config.as_deref());
            let sp = match speakers(&raw) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("tanya: {e}");
                    std::process::exit(2);
                }
            };
            let store = tanya::store::open(&cfg.database).await?;
            let now = chrono::Utc::now().timestamp_millis();
            match tanya::hub::Hub::create_session(store.as_ref(), &title, &sp, now).await {
                Ok(rec) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&tanya::hub::session_json(
                            &cfg.base_url(),
                            &rec
                        ))?
                    );
                    Ok(())
                }
                Err(tanya::hub::HubError::Invalid(m)) => {
                    eprintln!("tanya: {m}");
                    std::process::exit(2);
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
