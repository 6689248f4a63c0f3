//! The coordinator ↔ worker protocol: one JSON object per line, commands on the worker's stdin,
//! reports on its stdout. Times are nanoseconds of the run's shared clock
//! ([`crate::net::now_ns`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which server a group of phones talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The hub under test; with `--cluster`, the cluster's nodes (phase B).
    Tanya,
    Floor,
    /// With `--cluster`: the single hub the cluster is compared with (phase A).
    Single,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Tanya => "tanya",
            Target::Floor => "floor",
            Target::Single => "single",
        }
    }
}

/// One server's address (`IP:PORT`) and the URL of its upgrade.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub server: String,
    pub url: String,
}

/// What a worker's phones do next.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// Record when a frame containing `token` arrives (a `question` event for Tanya).
    Watch { token: String },
    /// Each phone votes once for `question`, at `t0 + rank / rate` (rate 0: all at `t0`).
    Vote {
        question: String,
        on: bool,
        t0: u64,
        rate: f64,
        rank_base: u64,
    },
    /// Each phone asks once, with `tag` and its own number in the text.
    Ask {
        tag: String,
        t0: u64,
        rate: f64,
        rank_base: u64,
    },
}

/// Coordinator → worker.
/// Open `count` phones, send `hello`, await `welcome`. Phone number `g` (global, `first + i`)
/// connects to `servers[g % servers.len()]`: one server, or a cluster's nodes round robin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectPlan {
    pub target: Target,
    pub servers: Vec<Endpoint>,
    pub hello: String,
    /// Global number of this worker's first phone (source addresses).
    pub first: u64,
    pub count: usize,
    pub per_address: u64,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ToWorker {
    /// Open phones as the plan says.
    Connect(ConnectPlan),
    /// Start a task on every phone of `target`; the worker answers `Started`, then `Done`.
    Run {
        id: u64,
        target: Target,
        task: Task,
        timeout_ms: u64,
    },
    /// Report the phones open now and the closes seen.
    Status,
    /// Close every phone and exit.
    Quit,
}

/// Worker → coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum FromWorker {
    Connected {
        target: Target,
        ok: usize,
        failed: usize,
        ms: u64,
        samples: Vec<String>,
    },
    Started {
        id: u64,
    },
    /// Per phone: when it sent (0: not sent or a watch), when it got its frame or `ok` (0: never).
    Done {
        id: u64,
        sent: Vec<u64>,
        got: Vec<u64>,
        errors: BTreeMap<String, usize>,
        samples: Vec<String>,
    },
    Status {
        open: BTreeMap<String, usize>,
        closes: BTreeMap<String, usize>,
    },
    Fatal {
        message: String,
    },
}
