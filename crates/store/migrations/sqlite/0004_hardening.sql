-- The adversarial review (docs/security.md):
--
-- * Pending authorization requests no longer live in the database: an anonymous GET
--   /authorize must not make the server store anything. The request travels sealed in the
--   login and consent forms; only the id of one that has been completed is kept, until it
--   expires, so that a form cannot be replayed.
-- * `/readyz` proves that the store accepts writes, not only that it answers.
DROP TABLE pending_requests;

CREATE TABLE spent_requests (
    id          TEXT    NOT NULL PRIMARY KEY,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX spent_requests_expires_at ON spent_requests (expires_at);

CREATE TABLE readiness (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    checked_at  INTEGER NOT NULL
) STRICT;
