-- The audit log: one row per change made through the admin API or the CLI — who, what, which
-- object, the changed fields before and after (never a secret), when, from where. Kept for
-- the call log's retention. Never edit this file: add a migration.

CREATE TABLE candor_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    changes TEXT NOT NULL,
    address TEXT,
    request_id TEXT
);
CREATE INDEX candor_audit_at ON candor_audit (at_us);
CREATE INDEX candor_audit_object ON candor_audit (object, at_us);
