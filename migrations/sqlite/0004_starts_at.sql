-- When a session (an episode) is to start, epoch milliseconds; shown on /admin, the phone page
-- and the report. Follows the journal's last `session` event like the title.
ALTER TABLE sessions ADD COLUMN starts_at INTEGER;
