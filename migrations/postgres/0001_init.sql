-- The PostgreSQL store: the same tables as migrations/sqlite/ (0001-0007) in one step. Ids and
-- JSON bodies are text, times epoch milliseconds, flags 0/1, as in the SQLite store, so both
-- stores share their row mapping.

-- Sessions with their keys; title, status and speakers follow the journal's last `session` event.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    n             BIGSERIAL NOT NULL,
    code          TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    status        TEXT NOT NULL,
    speakers      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    moderator_key TEXT NOT NULL,
    screen_key    TEXT NOT NULL,
    overlay_key   TEXT NOT NULL,
    press_key     TEXT NOT NULL,
    desk_key      TEXT NOT NULL DEFAULT '',
    intake_key    TEXT NOT NULL DEFAULT '',
    starts_at     BIGINT,
    rehearsal     BIGINT NOT NULL DEFAULT 0,
    cases_behind  BIGINT NOT NULL DEFAULT 0,
    programme_id  TEXT
);
CREATE INDEX sessions_programme ON sessions (programme_id, created_at);

-- The append-only journal: every change to a session, in order. State is rebuilt from it.
CREATE TABLE events (
    session_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- Hub-wide secrets generated at the first start (admin token, device-token signing key).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per question: its case, for the inboxes, /lacak, the board and retention.
CREATE TABLE cases (
    question_id TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    tracking    TEXT NOT NULL,
    status      TEXT NOT NULL,
    agency      TEXT,
    due         TEXT,
    closed_at   BIGINT,
    has_contact BIGINT NOT NULL,
    public      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX cases_tracking ON cases (tracking);
CREATE INDEX cases_agency ON cases (agency, status);
CREATE INDEX cases_session ON cases (session_id);

CREATE TABLE agencies (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    short      TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE programmes (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    join_code       TEXT UNIQUE,
    speakers        TEXT NOT NULL DEFAULT '[]',
    current_session TEXT,
    next_at         BIGINT,
    created_at      BIGINT NOT NULL,
    keys            TEXT NOT NULL
);
