-- Candor's schema for SQLite. Times are Unix seconds; list columns are JSON arrays of strings;
-- booleans are 0/1. STRICT tables refuse a value of the wrong type.

CREATE TABLE clients (
    client_id                     TEXT    NOT NULL PRIMARY KEY,
    name                          TEXT    NOT NULL,
    secret_digest                 BLOB,
    secret_sealed                 BLOB,
    auth_method                   TEXT    NOT NULL,
    redirect_uris                 TEXT    NOT NULL,
    post_logout_redirect_uris     TEXT    NOT NULL,
    grant_types                   TEXT    NOT NULL,
    scopes                        TEXT    NOT NULL,
    audiences                     TEXT    NOT NULL,
    access_token_format           TEXT    NOT NULL,
    jwks                          TEXT,
    require_pkce                  INTEGER NOT NULL CHECK (require_pkce IN (0, 1)),
    id_token_signed_response_alg  TEXT,
    created_at                    INTEGER NOT NULL,
    updated_at                    INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    email          TEXT,
    name           TEXT,
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    kid             TEXT    NOT NULL PRIMARY KEY,
    alg             TEXT    NOT NULL,
    private_sealed  BLOB    NOT NULL,
    public_jwk      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    retired_at      INTEGER,
    publish_until   INTEGER
) STRICT;

CREATE INDEX signing_keys_created_at ON signing_keys (created_at, kid);

-- Opaque access tokens, by SHA-256 digest. Deleting a client deletes its tokens.
CREATE TABLE access_tokens (
    digest      BLOB    NOT NULL PRIMARY KEY,
    jti         TEXT    NOT NULL UNIQUE,
    client_id   TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    subject     TEXT,
    scope       TEXT    NOT NULL,
    audiences   TEXT    NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    grant_id    TEXT,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX access_tokens_client_id ON access_tokens (client_id);
CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

-- The revocation feed: append-only, numbered in commit order. AUTOINCREMENT: a seq is never
-- reused, even after the newest entries were purged.
CREATE TABLE revocations (
    seq         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL,
    UNIQUE (kind, id)
) STRICT;

CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- jtis of client assertions (private_key_jwt, client_secret_jwt), kept until they expire.
CREATE TABLE client_assertions (
    client_id   TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) STRICT, WITHOUT ROWID;

CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);
