-- Identity events: one row per sign-in, lockout, consent, token issued or revoked, refresh
-- reuse, key rotation (docs/admin-api.md, "Identity events"). Who (the client, the user's
-- internal id — never a password, token or code), the cause's diagnosis code, the grant,
-- from which address, with which request id. Kept for the call log's retention; counted in
-- candor_call_minutes and candor_call_hours under source 'identity'. Never edit this file:
-- add a migration.

CREATE TABLE candor_identity_events (
    id BIGSERIAL PRIMARY KEY,
    uid TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    node TEXT NOT NULL,
    kind TEXT NOT NULL,
    client_id TEXT,
    subject TEXT,
    cause TEXT,
    grant_type TEXT,
    address TEXT,
    request_id TEXT,
    detail TEXT
);
CREATE INDEX candor_identity_events_at ON candor_identity_events (at_us);
CREATE INDEX candor_identity_events_kind ON candor_identity_events (kind, id);
CREATE INDEX candor_identity_events_client ON candor_identity_events (client_id, id);
CREATE INDEX candor_identity_events_subject ON candor_identity_events (subject, id);
