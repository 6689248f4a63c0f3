//! # Tanya: a live Q&A moderation hub for broadcast public discussions
//!
//! Reading order:
//! 1. [`domain`]: the pure rules (sessions, questions, views).
//! 2. [`store`]: the durable journal behind one trait (SQLite now).
//! 3. [`hub`]: one actor per live session; group commit and fan-out.
//! 4. [`server`]: axum routes, the WebSocket protocol, pages.
//! 5. [`config`]: settings from `config/tanya.toml` and `TANYA_*` variables.
#![deny(clippy::unwrap_used)]
#![warn(missing_docs)]

pub mod config;
pub mod domain;
pub mod hub;
pub mod server;
pub mod store;
