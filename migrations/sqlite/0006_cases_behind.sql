-- Set while a session's case rows lag its journal (edits are written behind, at most a second
-- late); a start after a crash catches those sessions' rows up before it serves anyone.
ALTER TABLE sessions ADD COLUMN cases_behind INTEGER NOT NULL DEFAULT 0;
