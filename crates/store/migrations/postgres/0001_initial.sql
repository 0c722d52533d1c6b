-- Candor's schema for PostgreSQL. Times are Unix seconds; list columns are JSON arrays of
-- strings kept as TEXT (the same encoding as SQLite). Keys collate "C" so that ordering is
-- byte order, as in SQLite.

CREATE TABLE clients (
    client_id                     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name                          TEXT    NOT NULL,
    secret_digest                 BYTEA,
    secret_sealed                 BYTEA,
    auth_method                   TEXT    NOT NULL,
    redirect_uris                 TEXT    NOT NULL,
    post_logout_redirect_uris     TEXT    NOT NULL,
    grant_types                   TEXT    NOT NULL,
    scopes                        TEXT    NOT NULL,
    audiences                     TEXT    NOT NULL,
    access_token_format           TEXT    NOT NULL,
    jwks                          TEXT,
    require_pkce                  BOOLEAN NOT NULL,
    id_token_signed_response_alg  TEXT,
    created_at                    BIGINT  NOT NULL,
    updated_at                    BIGINT  NOT NULL
);

CREATE TABLE users (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    username       TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    email          TEXT,
    name           TEXT,
    created_at     BIGINT  NOT NULL
);

CREATE TABLE signing_keys (
    kid             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    alg             TEXT    NOT NULL,
    private_sealed  BYTEA   NOT NULL,
    public_jwk      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    retired_at      BIGINT,
    publish_until   BIGINT
);

CREATE INDEX signing_keys_created_at ON signing_keys (created_at, kid);

-- Opaque access tokens, by SHA-256 digest. Deleting a client deletes its tokens.
CREATE TABLE access_tokens (
    digest      BYTEA   NOT NULL PRIMARY KEY,
    jti         TEXT    NOT NULL UNIQUE,
    client_id   TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    subject     TEXT,
    scope       TEXT    NOT NULL,
    audiences   TEXT    NOT NULL,
    issued_at   BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    grant_id    TEXT,
    revoked_at  BIGINT
);

CREATE INDEX access_tokens_client_id ON access_tokens (client_id);
CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

-- The revocation feed: append-only, numbered by a sequence. Sequence values are handed out at
-- insert time, so concurrent transactions may commit out of order: followers re-read a short
-- window behind their position.
CREATE TABLE revocations (
    seq         BIGSERIAL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT  NOT NULL,
    UNIQUE (kind, id)
);

CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- jtis of client assertions (private_key_jwt, client_secret_jwt), kept until they expire.
CREATE TABLE client_assertions (
    client_id   TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);
