-- A rotation publishes the next signing key before it signs: activates_at says when it starts.
-- Keys that existed before this migration have always been active.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
