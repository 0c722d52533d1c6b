-- An administrator can disable a client or a user without deleting it (its registration, its
-- id and its history stay; nothing new is issued to it until it is enabled again), and a
-- client's secret can be rotated with an overlap: the previous secret keeps working until
-- `previous_secret_until`, so a fleet can move to the new one without an outage.
--
-- Added columns without defaults (NULL: enabled, no previous secret) are safe for a rolling
-- upgrade: a node still on the previous version neither reads nor writes them, and the state
-- they describe is simply not enforced by it until it is upgraded.
ALTER TABLE clients ADD COLUMN disabled_at BIGINT;
ALTER TABLE clients ADD COLUMN previous_secret_digest BYTEA;
ALTER TABLE clients ADD COLUMN previous_secret_sealed BYTEA;
ALTER TABLE clients ADD COLUMN previous_secret_until BIGINT;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
