-- The browser flow: authorization codes, refresh tokens, sessions, pending authorization
-- requests, consent and failed-login counters. Same conventions as 0001: times are Unix
-- seconds, list columns are JSON arrays of strings, booleans are 0/1, digests are SHA-256.

-- Authorization codes, by digest; single use (`used_at`). Deleting the client or the user
-- deletes its codes.
CREATE TABLE authorization_codes (
    digest             BLOB    NOT NULL PRIMARY KEY,
    client_id          TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri       TEXT    NOT NULL,
    redirect_uri_sent  INTEGER NOT NULL CHECK (redirect_uri_sent IN (0, 1)),
    scope              TEXT    NOT NULL,
    nonce              TEXT,
    code_challenge     TEXT,
    auth_time          INTEGER NOT NULL,
    sid                TEXT,
    amr                TEXT    NOT NULL,
    grant_id           TEXT    NOT NULL,
    issued_at          INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    used_at            INTEGER
) STRICT;

CREATE INDEX authorization_codes_client_id ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user_id ON authorization_codes (user_id);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- Refresh tokens, by digest. A family is every token rotated from one grant; `expires_at` is
-- the family's absolute end, `idle_expires_at` this token's own.
CREATE TABLE refresh_tokens (
    digest           BLOB    NOT NULL PRIMARY KEY,
    family_id        TEXT    NOT NULL,
    client_id        TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id          TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope            TEXT    NOT NULL,
    auth_time        INTEGER NOT NULL,
    sid              TEXT,
    amr              TEXT    NOT NULL,
    issued_at        INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    idle_expires_at  INTEGER NOT NULL,
    used_at          INTEGER,
    revoked_at       INTEGER
) STRICT;

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client_id ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- Browser sessions, by the digest of the cookie value; `sid` is the public id.
CREATE TABLE sessions (
    digest      BLOB    NOT NULL PRIMARY KEY,
    sid         TEXT    NOT NULL UNIQUE,
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   INTEGER NOT NULL,
    amr         TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Authorization requests waiting for login or consent; `data` is the server's own JSON.
CREATE TABLE pending_requests (
    id          TEXT    NOT NULL PRIMARY KEY,
    client_id   TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    data        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX pending_requests_client_id ON pending_requests (client_id);
CREATE INDEX pending_requests_expires_at ON pending_requests (expires_at);

-- The scopes a user has granted a client (replaced on each grant).
CREATE TABLE consents (
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scopes      TEXT    NOT NULL,
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX consents_client_id ON consents (client_id);

-- Failed logins per username, counted in a window that starts at the first failure. Keyed by
-- the name typed, not by user: unknown usernames are counted too (no user enumeration).
CREATE TABLE login_failures (
    username         TEXT    NOT NULL PRIMARY KEY,
    failures         INTEGER NOT NULL,
    window_start     INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX login_failures_last_failure_at ON login_failures (last_failure_at);
