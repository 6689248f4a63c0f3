-- The follow-up: a projection of every question's case, written in the same transaction as the
-- journal events that change it (never a second source of truth: rebuilt from the journal when
-- it lags). Read across sessions by the agencies' inboxes, the tracking page, the board and the
-- retention sweep. `body` is the question with its case (JSON), including the private contact
-- until it is erased.
CREATE TABLE cases (
    question_id TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    tracking    TEXT NOT NULL,
    status      TEXT NOT NULL,
    agency      TEXT,
    due         TEXT,
    closed_at   INTEGER,
    has_contact INTEGER NOT NULL,
    public      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX cases_tracking ON cases (tracking);
CREATE INDEX cases_agency ON cases (agency, status);
CREATE INDEX cases_session ON cases (session_id);

-- The agencies (OPD) cases are forwarded to, each with its own key (`/a/{id}#k=KEY`).
CREATE TABLE agencies (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    short      TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
