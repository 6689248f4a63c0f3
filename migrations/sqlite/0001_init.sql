-- Sessions with their keys; title, status and speakers follow the journal's last `session` event.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    status        TEXT NOT NULL,
    speakers      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    moderator_key TEXT NOT NULL,
    screen_key    TEXT NOT NULL,
    overlay_key   TEXT NOT NULL,
    press_key     TEXT NOT NULL
);

-- The append-only journal: every change to a session, in order. State is rebuilt from it.
CREATE TABLE events (
    session_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

-- Hub-wide secrets generated at the first start (admin token, device-token signing key).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
