//! Typed settings: `config/tanya.toml` (when present), then `TANYA_*` environment overrides.
//! A bad setting stops the start with a message naming the key (exit code 2 in `main`).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::Deserialize;

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("config: `{key}`: {problem}")]
pub struct ConfigError {
    /// The file key or environment variable.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

fn bad(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        problem: problem.into(),
    }
}

/// Every setting of the hub. Defaults match `config/tanya.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Store URL (`sqlite://PATH`, or `postgres://…` for a store several hubs share).
    pub database: String,
    /// NATS URL (`nats://host:4222`): this hub is a node of a cluster. Needs a PostgreSQL
    /// `database` (the sessions' leases are kept there). Empty: a hub on its own.
    pub bus: Option<String>,
    /// Admin token; generated and kept in the store when empty.
    pub admin_token: Option<String>,
    /// Base of printed links and QR codes; `http://<listen>` when empty.
    pub public_url: Option<String>,
    /// Origins allowed to open `/ws` besides the hub's own.
    pub allowed_origins: Vec<String>,
    /// Host names the hub answers to besides IP literals, `localhost`, and the hosts of
    /// `public_url` and `allowed_origins` (a defence against DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Addresses allowed to read `/metrics` besides loopback.
    pub metrics_allow: Vec<IpAddr>,
    /// A token that reads `/metrics` from anywhere (`Authorization: Bearer`).
    pub metrics_token: Option<String>,
    /// Reverse proxies (addresses or CIDR blocks) whose `Forwarded` / `X-Forwarded-For` is
    /// believed: only through them is the client's own address taken from those headers.
    pub trusted_proxies: Vec<String>,
    /// `trusted_proxies`, parsed by `validate`.
    #[serde(skip)]
    pub trusted_nets: Vec<ipnet::IpNet>,
    /// Word list file for the `profanity` flag; the built-in list when empty.
    pub profanity_words: Option<String>,
    /// Quotas and protocol limits.
    pub limits: Limits,
    /// Per-connection buffers.
    pub buffers: Buffers,
    /// The office's own words on the phone page.
    pub phone: Phone,
    /// How the public can ask besides the page: shown on the call to action.
    pub join: JoinSettings,
    /// The moderator console's ready rejection reasons.
    pub moderation: Moderation,
    /// The speaker screen.
    pub stage: Stage,
    /// The office's time zone (IANA name): export times, due dates, the report.
    pub time_zone: String,
    /// The follow-up of cases after the hour.
    pub followup: FollowupSettings,
    /// Questions from gateways (SMS, WhatsApp, e-mail) through the intake API.
    pub intake: IntakeSettings,
    /// The WhatsApp Cloud API webhook.
    pub whatsapp: WhatsappSettings,
    /// The radio desk.
    pub desk: DeskSettings,
}

/// The intake API's settings (docs/intake.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeSettings {
    /// New questions per contact per minute (also the burst).
    pub per_contact_per_minute: u32,
    /// The acknowledgement a gateway sends back: `{kode}` is the tracking code, `{lacak}` the
    /// address of its tracking page.
    pub reply_template: String,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        Self {
            per_contact_per_minute: 5,
            reply_template: "Terima kasih, pertanyaan Anda sudah kami terima. Kode lacak: {kode}. \
                             Lihat tindak lanjutnya di {lacak}"
                .into(),
        }
    }
}

/// The WhatsApp Cloud API webhook's secrets (unset: the webhook answers 403/401).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhatsappSettings {
    /// The token Meta sends back when the webhook is verified.
    pub verify_token: Option<String>,
    /// The app secret that signs every delivery (`X-Hub-Signature-256`).
    pub app_secret: Option<String>,
}

/// The radio desk's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskSettings {
    /// The stations a desk entry can come through.
    pub stations: Vec<String>,
}

impl Default for DeskSettings {
    fn default() -> Self {
        Self {
            stations: vec![
                "RRI Palembang".into(),
                "Sonora FM Palembang".into(),
                "PalTV".into(),
            ],
        }
    }
}

/// The follow-up's settings (docs/followup.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FollowupSettings {
    /// Days from forwarding to the default due date.
    pub due_days: u32,
    /// Days after a case is resolved or declined until its contact is erased.
    pub retention_days: u32,
    /// Tracking lookups per minute per address.
    pub lookups_per_minute: u32,
    /// The topics; empty: the built-in list.
    pub topics: Vec<String>,
    /// A JSON file of places `[{kecamatan, kelurahan: [..]}]`; unset: Palembang's.
    pub places_file: Option<String>,
    /// How often a session journals how many sockets of each role are joined (the report's
    /// peaks), milliseconds.
    pub presence_every_ms: u64,
}

impl Default for FollowupSettings {
    fn default() -> Self {
        Self {
            due_days: 14,
            retention_days: 180,
            lookups_per_minute: 20,
            topics: vec![],
            places_file: None,
            presence_every_ms: 60_000,
        }
    }
}

/// The office's own words on the phone page; unset: the page's own, in the reader's language.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Phone {
    /// The consent line: names may be shown on screen and on TV; the contact is private.
    pub consent: Option<String>,
    /// The house rules.
    pub rules: Option<String>,
}

/// Numbers people can ask through besides the page (display text, such as "0811 7000 123").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JoinSettings {
    /// The SMS number.
    pub sms: Option<String>,
    /// The WhatsApp number.
    pub whatsapp: Option<String>,
}

/// The moderator console's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Moderation {
    /// Ready rejection reasons; empty: the console's own list in the moderator's language.
    pub reject_reasons: Vec<String>,
}

/// The speaker screen's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Stage {
    /// The answer timer's length before the moderator sets one, seconds.
    pub timer_seconds: u32,
}

impl Default for Stage {
    fn default() -> Self {
        Self { timer_seconds: 180 }
    }
}

/// Quotas and limits of the contract (docs/protocol.md) and of this hub.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Asks per device per minute.
    pub asks_per_minute: u32,
    /// Votes per device per minute.
    pub votes_per_minute: u32,
    /// Per-address quota as a multiple of the per-device one (at least 100).
    pub address_factor: u32,
    /// New devices (phones that join without a valid token) per address per minute.
    pub new_devices_per_minute: u32,
    /// Largest client message, bytes.
    pub max_message_bytes: usize,
    /// Time allowed for the first frame, milliseconds.
    pub hello_timeout_ms: u64,
    /// Time allowed for a request's headers on an HTTP connection, also between two requests
    /// of a kept-alive one, milliseconds: a connection silent that long is closed.
    pub header_timeout_ms: u64,
    /// Connections from one address (an IPv6 /64) that have not yet sent a request; more are
    /// closed at once.
    pub unsent_per_address: usize,
    /// Most audience and press sockets held at once; a further phone is closed with 4503.
    pub max_connections: usize,
    /// Sockets allowed beyond `max_connections`, kept for moderators, screens and overlays;
    /// upgrades beyond both get 503.
    pub staff_connections: usize,
    /// Events each session keeps for resume.
    pub resume_window: usize,
    /// Frames queued per phone socket before it is resynced.
    pub socket_queue: usize,
    /// Frames queued per moderator, screen or overlay socket before it is resynced.
    pub staff_socket_queue: usize,
    /// Connections the kernel queues before the hub accepts them (listen backlog).
    pub listen_backlog: u32,
    /// A socket whose queue does not drain for this long is closed with 4429, milliseconds.
    pub drain_timeout_ms: u64,
    /// Frames a socket may send in a burst.
    pub frames_burst: u32,
    /// Frames a socket may send per second, sustained.
    pub frames_per_second: u32,
    /// Commands queued per session before senders wait.
    pub session_queue: usize,
    /// A joined socket silent this long is pinged; one still silent as long again is dropped
    /// (a phone that lost its network), milliseconds.
    pub ping_interval_ms: u64,
    /// A session with no socket for this long stops its actor (it starts again from its
    /// journal on the next join), milliseconds.
    pub session_idle_ms: u64,
}

/// Per-connection buffer sizes, bytes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Buffers {
    /// WebSocket read buffer.
    pub read_buffer: usize,
    /// WebSocket write buffer (bytes gathered before a write to the socket).
    pub write_buffer: usize,
    /// Largest WebSocket write buffer before writes fail.
    pub max_write_buffer: usize,
    /// Kernel send buffer (SO_SNDBUF) of each accepted socket.
    pub socket_send_buffer: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            database: "sqlite://data/tanya.db".into(),
            bus: None,
            admin_token: None,
            public_url: None,
            allowed_origins: vec![],
            allowed_hosts: vec![],
            metrics_allow: vec![],
            metrics_token: None,
            trusted_proxies: vec![],
            trusted_nets: vec![],
            profanity_words: None,
            limits: Limits::default(),
            buffers: Buffers::default(),
            phone: Phone::default(),
            join: JoinSettings::default(),
            moderation: Moderation::default(),
            stage: Stage::default(),
            time_zone: "Asia/Jakarta".into(),
            followup: FollowupSettings::default(),
            intake: IntakeSettings::default(),
            whatsapp: WhatsappSettings::default(),
            desk: DeskSettings::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            asks_per_minute: 6,
            votes_per_minute: 120,
            address_factor: 100,
            new_devices_per_minute: 1000,
            max_message_bytes: 16 * 1024,
            hello_timeout_ms: 10_000,
            header_timeout_ms: 10_000,
            unsent_per_address: 256,
            max_connections: 100_000,
            staff_connections: 256,
            resume_window: 10_000,
            socket_queue: 512,
            staff_socket_queue: 16_384,
            listen_backlog: 4096,
            drain_timeout_ms: 5_000,
            frames_burst: 300,
            frames_per_second: 60,
            session_queue: 4096,
            ping_interval_ms: 30_000,
            session_idle_ms: 600_000,
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self {
            read_buffer: 4096,
            write_buffer: 4096,
            max_write_buffer: 64 * 1024 * 1024,
            socket_send_buffer: 64 * 1024,
        }
    }
}

impl Config {
    /// Reads `path` (when given it must exist; else `config/tanya.toml` when present), then the
    /// environment, then checks every value.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let default_path = Path::new("config/tanya.toml");
        let file = match path {
            Some(p) => Some(p),
            None if default_path.exists() => Some(default_path),
            None => None,
        };
        let mut cfg = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| bad(&p.display().to_string(), format!("cannot read: {e}")))?;
                Self::from_toml(&text)?
            }
            None => Self::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let key = e
                .message()
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "tanya.toml".into());
            bad(&key, e.to_string().replace('\n', " "))
        })
    }

    /// Applies `TANYA_*` overrides from `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.trim()
                .parse()
                .map_err(|e| bad(key, format!("{v:?}: {e}")))
        }
        fn list(v: &str) -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        }
        if let Some(v) = get("TANYA_LISTEN") {
            self.listen = parse("TANYA_LISTEN", &v)?;
        }
        if let Some(v) = get("TANYA_DATABASE") {
            self.database = v;
        }
        if let Some(v) = get("TANYA_BUS") {
            self.bus = Some(v);
        }
        if let Some(v) = get("TANYA_ADMIN_TOKEN") {
            self.admin_token = Some(v);
        }
        if let Some(v) = get("TANYA_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("TANYA_ALLOWED_ORIGINS") {
            self.allowed_origins = list(&v);
        }
        if let Some(v) = get("TANYA_ALLOWED_HOSTS") {
            self.allowed_hosts = list(&v);
        }
        if let Some(v) = get("TANYA_ASKS_PER_MINUTE") {
            self.limits.asks_per_minute = parse("TANYA_ASKS_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("TANYA_VOTES_PER_MINUTE") {
            self.limits.votes_per_minute = parse("TANYA_VOTES_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("TANYA_METRICS_TOKEN") {
            self.metrics_token = Some(v);
        }
        if let Some(v) = get("TANYA_TRUSTED_PROXIES") {
            self.trusted_proxies = list(&v);
        }
        for (var, slot) in [
            ("TANYA_PHONE_CONSENT", &mut self.phone.consent),
            ("TANYA_PHONE_RULES", &mut self.phone.rules),
            ("TANYA_JOIN_SMS", &mut self.join.sms),
            ("TANYA_JOIN_WHATSAPP", &mut self.join.whatsapp),
        ] {
            if let Some(v) = get(var) {
                *slot = Some(v);
            }
        }
        if let Some(v) = get("TANYA_REJECT_REASONS") {
            self.moderation.reject_reasons = v
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = get("TANYA_TIMER_SECONDS") {
            self.stage.timer_seconds = parse("TANYA_TIMER_SECONDS", &v)?;
        }
        if let Some(v) = get("TANYA_TIME_ZONE") {
            self.time_zone = v;
        }
        if let Some(v) = get("TANYA_DUE_DAYS") {
            self.followup.due_days = parse("TANYA_DUE_DAYS", &v)?;
        }
        if let Some(v) = get("TANYA_RETENTION_DAYS") {
            self.followup.retention_days = parse("TANYA_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = get("TANYA_LOOKUPS_PER_MINUTE") {
            self.followup.lookups_per_minute = parse("TANYA_LOOKUPS_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("TANYA_TOPICS") {
            self.followup.topics = v
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = get("TANYA_PLACES_FILE") {
            self.followup.places_file = Some(v);
        }
        if let Some(v) = get("TANYA_INTAKE_PER_CONTACT_PER_MINUTE") {
            self.intake.per_contact_per_minute = parse("TANYA_INTAKE_PER_CONTACT_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("TANYA_INTAKE_REPLY") {
            self.intake.reply_template = v;
        }
        if let Some(v) = get("TANYA_WHATSAPP_VERIFY_TOKEN") {
            self.whatsapp.verify_token = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("TANYA_WHATSAPP_APP_SECRET") {
            self.whatsapp.app_secret = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("TANYA_DESK_STATIONS") {
            self.desk.stations = v
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = get("TANYA_METRICS_ALLOW") {
            self.metrics_allow = list(&v)
                .iter()
                .map(|a| parse("TANYA_METRICS_ALLOW", a))
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let d = &self.database;
        if !(d.starts_with("sqlite:")
            || d.starts_with("postgres://")
            || d.starts_with("postgresql://"))
        {
            return Err(bad(
                "database",
                "must be a sqlite:// URL or a postgres:// URL",
            ));
        }
        if self.bus.as_deref().is_some_and(|b| b.trim().is_empty()) {
            self.bus = None;
        }
        if let Some(b) = &self.bus {
            if !(b.starts_with("nats://") || b.starts_with("tls://")) {
                return Err(bad("bus", "must be a nats:// URL"));
            }
            if d.starts_with("sqlite:") {
                return Err(bad(
                    "bus",
                    "needs a postgres:// database: the nodes of a cluster share their sessions' leases and journals there",
                ));
            }
        }
        if let Some(t) = &self.admin_token {
            if t.trim().is_empty() {
                self.admin_token = None;
            } else if t.len() < 24 {
                return Err(bad("admin_token", "must be at least 24 characters"));
            }
        }
        if let Some(u) = &self.public_url {
            let u = u.trim().trim_end_matches('/').to_string();
            if u.is_empty() {
                self.public_url = None;
            } else if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(bad("public_url", "must start with http:// or https://"));
            } else {
                self.public_url = Some(u);
            }
        }
        for o in &self.allowed_origins {
            if !(o.starts_with("http://") || o.starts_with("https://")) {
                return Err(bad(
                    "allowed_origins",
                    format!("{o:?} is not an origin (http://host[:port])"),
                ));
            }
        }
        if let Some(t) = &self.metrics_token {
            if t.trim().is_empty() {
                self.metrics_token = None;
            } else if t.len() < 24 {
                return Err(bad("metrics_token", "must be at least 24 characters"));
            }
        }
        self.trusted_nets = self
            .trusted_proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        bad(
                            "trusted_proxies",
                            format!("{p:?} is not an address or a CIDR block (10.0.0.0/8)"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        for h in &mut self.allowed_hosts {
            *h = h.trim().trim_end_matches('.').to_ascii_lowercase();
            if h.is_empty() || h.contains(['/', ':', ' ']) {
                return Err(bad(
                    "allowed_hosts",
                    format!("{h:?} is not a host name (no scheme, port or path)"),
                ));
            }
        }
        self.validate_texts()?;
        let l = &self.limits;
        let positive = [
            ("limits.asks_per_minute", l.asks_per_minute as u64),
            ("limits.votes_per_minute", l.votes_per_minute as u64),
            (
                "limits.new_devices_per_minute",
                l.new_devices_per_minute as u64,
            ),
            ("limits.hello_timeout_ms", l.hello_timeout_ms),
            ("limits.header_timeout_ms", l.header_timeout_ms),
            ("limits.unsent_per_address", l.unsent_per_address as u64),
            ("limits.max_connections", l.max_connections as u64),
            ("limits.socket_queue", l.socket_queue as u64),
            ("limits.staff_socket_queue", l.staff_socket_queue as u64),
            ("limits.listen_backlog", l.listen_backlog as u64),
            ("limits.drain_timeout_ms", l.drain_timeout_ms),
            ("limits.frames_burst", l.frames_burst as u64),
            ("limits.frames_per_second", l.frames_per_second as u64),
            ("limits.session_queue", l.session_queue as u64),
            ("limits.ping_interval_ms", l.ping_interval_ms),
            ("limits.session_idle_ms", l.session_idle_ms),
        ];
        for (k, v) in positive {
            if v == 0 {
                return Err(bad(k, "must be greater than 0"));
            }
        }
        if l.address_factor < 100 {
            return Err(bad(
                "limits.address_factor",
                "must be at least 100 (a venue's Wi-Fi puts hundreds of phones behind one address)",
            ));
        }
        if l.max_message_bytes < 1024 {
            return Err(bad("limits.max_message_bytes", "must be at least 1024"));
        }
        if l.resume_window < 10_000 {
            return Err(bad(
                "limits.resume_window",
                "must be at least 10000 (docs/protocol.md, Resume)",
            ));
        }
        let b = &self.buffers;
        if b.read_buffer < 1024 || b.write_buffer < 1024 {
            return Err(bad(
                "buffers",
                "read_buffer and write_buffer must be at least 1024",
            ));
        }
        if b.max_write_buffer < b.write_buffer + 16 * 1024 * 1024 {
            return Err(bad(
                "buffers.max_write_buffer",
                "must be at least write_buffer + 16777216 (a moderator's welcome of a busy session)",
            ));
        }
        if b.socket_send_buffer < 4096 {
            return Err(bad("buffers.socket_send_buffer", "must be at least 4096"));
        }
        Ok(())
    }

    /// Cleans the texts shown on the pages (as every text field of the contract: docs/protocol.md,
    /// Limits) and checks their lengths; an empty one is unset.
    fn validate_texts(&mut self) -> Result<(), ConfigError> {
        use crate::domain::text;
        let one = |key: &str, v: &mut Option<String>, max: usize| -> Result<(), ConfigError> {
            if let Some(raw) = v.take() {
                *v = text::optional(key, &raw, (0, max)).map_err(|e| bad(key, e.0))?;
            }
            Ok(())
        };
        one("phone.consent", &mut self.phone.consent, 300)?;
        one("phone.rules", &mut self.phone.rules, 600)?;
        one("join.sms", &mut self.join.sms, 40)?;
        one("join.whatsapp", &mut self.join.whatsapp, 40)?;
        let reasons = &mut self.moderation.reject_reasons;
        if reasons.len() > 12 {
            return Err(bad("moderation.reject_reasons", "at most 12 reasons"));
        }
        for r in reasons.iter_mut() {
            *r = text::checked("moderation.reject_reasons", r, text::limits::REASON)
                .map_err(|e| bad("moderation.reject_reasons", e.0))?;
        }
        let (lo, hi) = crate::domain::stage::TIMER_SECONDS;
        if !(lo..=hi).contains(&self.stage.timer_seconds) {
            return Err(bad(
                "stage.timer_seconds",
                format!("must be from {lo} to {hi} seconds"),
            ));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(bad(
                "time_zone",
                format!(
                    "\"{}\" is not a time zone name such as Asia/Jakarta",
                    self.time_zone
                ),
            ));
        }
        let f = &self.followup;
        if !(1..=365).contains(&f.due_days) {
            return Err(bad("followup.due_days", "must be from 1 to 365 days"));
        }
        if !(1..=3650).contains(&f.retention_days) {
            return Err(bad(
                "followup.retention_days",
                "must be from 1 to 3650 days",
            ));
        }
        if f.presence_every_ms < 100 {
            return Err(bad("followup.presence_every_ms", "must be at least 100"));
        }
        if !(1..=600).contains(&f.lookups_per_minute) {
            return Err(bad("followup.lookups_per_minute", "must be from 1 to 600"));
        }
        if f.topics.len() > 40 || f.topics.iter().any(|t| t.chars().count() > 60) {
            return Err(bad(
                "followup.topics",
                "at most 40 topics of at most 60 characters",
            ));
        }
        self.followup_options()?;
        if !(1..=600).contains(&self.intake.per_contact_per_minute) {
            return Err(bad(
                "intake.per_contact_per_minute",
                "must be from 1 to 600",
            ));
        }
        let t = &self.intake.reply_template;
        if t.chars().count() > 320 || !t.contains("{kode}") {
            return Err(bad(
                "intake.reply_template",
                "must hold {kode} (the tracking code) and have at most 320 characters",
            ));
        }
        if self.desk.stations.len() > 20
            || self.desk.stations.iter().any(|s| s.chars().count() > 60)
        {
            return Err(bad(
                "desk.stations",
                "at most 20 stations of at most 60 characters",
            ));
        }
        Ok(())
    }

    /// The office's time zone (checked by `validate`; UTC+7 Jakarta if it was not).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Jakarta)
    }

    /// The date of an instant (epoch milliseconds) in the office's time zone.
    pub fn local_date(&self, ms: i64) -> chrono::NaiveDate {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&self.tz())
            .date_naive()
    }

    /// Today in the configured time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now().with_timezone(&self.tz()).date_naive()
    }

    /// The place and topic lists: `followup.places_file` (else Palembang's) and
    /// `followup.topics` (else the built-in list).
    pub fn followup_options(&self) -> Result<crate::domain::followup::Options, ConfigError> {
        let mut o = crate::domain::followup::Options::default();
        if let Some(path) = &self.followup.places_file {
            let raw = std::fs::read_to_string(path)
                .map_err(|e| bad("followup.places_file", format!("{path}: {e}")))?;
            o.places = serde_json::from_str(&raw).map_err(|e| {
                bad(
                    "followup.places_file",
                    format!("{path}: not a list of {{kecamatan, kelurahan: [..]}}: {e}"),
                )
            })?;
        }
        if !self.followup.topics.is_empty() {
            o.topics = self.followup.topics.clone();
        }
        Ok(o)
    }

    /// Whether the base of links is a loopback address: phones cannot open such links.
    pub fn base_is_loopback(&self) -> bool {
        let base = self.base_url();
        let rest = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
        let name = host_name(rest.split('/').next().unwrap_or(""));
        name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether the hub answers to a request's `Host` (without its port): IP literals,
    /// `localhost`, the hosts of `public_url` and `allowed_origins`, and `allowed_hosts`. A name
    /// outside these is a page at another name pointed at this hub (DNS rebinding).
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        if name.is_empty() || name == "localhost" || name.parse::<IpAddr>().is_ok() {
            return true;
        }
        let of_url = |u: &str| {
            let rest = u.split_once("://").map_or(u, |(_, r)| r);
            host_name(rest.split('/').next().unwrap_or("")).to_string()
        };
        self.public_url
            .as_deref()
            .is_some_and(|u| of_url(u) == name)
            || self.allowed_origins.iter().any(|o| of_url(o) == name)
            || self.allowed_hosts.contains(&name)
    }

    /// Whether `ip` is a trusted reverse proxy.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.trusted_nets.iter().any(|n| n.contains(&ip))
    }

    /// The base of links: `public_url`, else `http://<listen>` (loopback when listening on all).
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => {
                let host = if self.listen.ip().is_unspecified() {
                    "127.0.0.1".to_string()
                } else {
                    self.listen.ip().to_string()
                };
                format!("http://{host}:{}", self.listen.port())
            }
        }
    }
}

/// The host name of a `Host` value or an authority: lower case, without port, brackets or a
/// trailing dot.
fn host_name(authority: &str) -> String {
    let a = authority.trim();
    let name = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if a.matches(':').count() > 1 {
        a
    } else {
        a.split(':').next().unwrap_or("")
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Midnight of `day` in `tz`, epoch milliseconds (the earliest instant of that day there).
pub fn start_of_day(tz: chrono_tz::Tz, day: chrono::NaiveDate) -> i64 {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight).earliest().map_or_else(
        || midnight.and_utc().timestamp_millis(),
        |t| t.timestamp_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_equals_the_defaults() {
        let shipped = include_str!("../config/tanya.toml");
        let cfg = Config::from_toml(shipped).expect("config/tanya.toml parses");
        let def = Config::default();
        assert_eq!(format!("{cfg:?}"), format!("{def:?}"));
    }

    #[test]
    fn env_overrides_and_names_the_bad_key() {
        let mut cfg = Config::default();
        cfg.apply_env(|k| (k == "TANYA_ASKS_PER_MINUTE").then(|| "10".into()))
            .unwrap();
        assert_eq!(cfg.limits.asks_per_minute, 10);
        let e = cfg
            .apply_env(|k| (k == "TANYA_LISTEN").then(|| "nope".into()))
            .unwrap_err();
        assert_eq!(e.key, "TANYA_LISTEN");
        let e = Config::from_toml("[limits]\nasks_per_minute = \"x\"").unwrap_err();
        assert!(e.to_string().contains("asks_per_minute"), "{e}");
        let e = Config::from_toml("lisen = \"1.2.3.4:1\"").unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
        let mut c = Config::from_toml("[limits]\nframes_burst = 0").unwrap();
        assert_eq!(c.validate().unwrap_err().key, "limits.frames_burst");
    }

    #[test]
    fn hosts_the_hub_answers_to() {
        let mut c = Config {
            public_url: Some("https://tanya.palembang.go.id".into()),
            allowed_origins: vec!["http://studio.local:8080".into()],
            allowed_hosts: vec!["Laptop-PR.local.".into()],
            ..Config::default()
        };
        c.validate().unwrap();
        for ok in [
            "127.0.0.1:8080",
            "192.168.1.20",
            "[::1]:8080",
            "::1",
            "localhost:8080",
            "LOCALHOST",
            "tanya.palembang.go.id",
            "Tanya.Palembang.go.id.:443",
            "studio.local:8080",
            "laptop-pr.local",
            "",
        ] {
            assert!(c.host_allowed(ok), "{ok}");
        }
        for no in [
            "evil.example",
            "tanya.palembang.go.id.evil.example",
            "localhost.evil",
            "studio.local.evil:8080",
        ] {
            assert!(!c.host_allowed(no), "{no}");
        }
        let mut c = Config {
            allowed_hosts: vec!["http://x".into()],
            ..Config::default()
        };
        assert!(c.validate().is_err());
        let mut c = Config {
            admin_token: Some("a".repeat(23)),
            ..Config::default()
        };
        assert!(
            c.validate().is_err(),
            "admin tokens under 24 characters are refused"
        );
    }
}
