-- One owner per live session when several hubs share the database: the node running its actor
-- holds a lease it renews; taking it over from another node raises the fencing token, and an
-- append checks the token of its node against this row in the same transaction.
CREATE TABLE leases (
    session_id TEXT PRIMARY KEY,
    node       TEXT NOT NULL,
    token      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
