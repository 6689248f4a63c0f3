-- A session started in rehearsal: everything works and is marked test until "start for real"
-- wipes the test questions, votes and bans. Follows the journal's last `session` event.
ALTER TABLE sessions ADD COLUMN rehearsal INTEGER NOT NULL DEFAULT 0;
