-- Programmes hold sessions as episodes; the stable links follow the current one.
CREATE TABLE programmes (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    join_code       TEXT UNIQUE,
    speakers        TEXT NOT NULL DEFAULT '[]',
    current_session TEXT,
    next_at         INTEGER,
    created_at      INTEGER NOT NULL,
    keys            TEXT NOT NULL
);

ALTER TABLE sessions ADD COLUMN programme_id TEXT;
CREATE INDEX sessions_programme ON sessions (programme_id, created_at);
