-- Keys of the radio desk page and of gateways (intake API); filled by the hub for sessions
-- created before them.
ALTER TABLE sessions ADD COLUMN desk_key TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN intake_key TEXT NOT NULL DEFAULT '';
