-- The call log's tables as the call log created them before it had migrations: every
-- statement is IF NOT EXISTS, so that a database made by that code is adopted as it is.
-- `candor_call_blocks` holds every call in blocks of one minute; the two rollups hold, per
-- minute (or hour) and key, the count, the latency sum and maximum and the histogram
-- (h00…h31, the buckets of crate::histogram). Never edit this file: add a migration.

-- Blocks are partitioned by day (maintenance creates the partitions ahead, and the
-- retention purge drops whole ones); the default partition catches the rest.
CREATE SEQUENCE IF NOT EXISTS candor_call_blocks_id;
CREATE TABLE IF NOT EXISTS candor_call_blocks (
    id BIGINT NOT NULL DEFAULT nextval('candor_call_blocks_id'),
    minute BIGINT NOT NULL,
    node TEXT NOT NULL,
    calls INTEGER NOT NULL,
    encoding SMALLINT NOT NULL,
    body BYTEA NOT NULL
) PARTITION BY RANGE (minute);
CREATE TABLE IF NOT EXISTS candor_call_blocks_default
    PARTITION OF candor_call_blocks DEFAULT;
CREATE INDEX IF NOT EXISTS candor_call_blocks_minute ON candor_call_blocks (minute);
CREATE INDEX IF NOT EXISTS candor_call_blocks_id_index ON candor_call_blocks (id);

CREATE TABLE IF NOT EXISTS candor_call_minutes (
    minute BIGINT NOT NULL,
    source TEXT NOT NULL,
    route TEXT NOT NULL,
    client_id TEXT,
    status INTEGER NOT NULL,
    diagnosis TEXT,
    upstream TEXT,
    partial SMALLINT NOT NULL,
    calls BIGINT NOT NULL,
    latency_sum_us BIGINT NOT NULL,
    latency_max_us BIGINT NOT NULL,
    h00 BIGINT NOT NULL DEFAULT 0,
    h01 BIGINT NOT NULL DEFAULT 0,
    h02 BIGINT NOT NULL DEFAULT 0,
    h03 BIGINT NOT NULL DEFAULT 0,
    h04 BIGINT NOT NULL DEFAULT 0,
    h05 BIGINT NOT NULL DEFAULT 0,
    h06 BIGINT NOT NULL DEFAULT 0,
    h07 BIGINT NOT NULL DEFAULT 0,
    h08 BIGINT NOT NULL DEFAULT 0,
    h09 BIGINT NOT NULL DEFAULT 0,
    h10 BIGINT NOT NULL DEFAULT 0,
    h11 BIGINT NOT NULL DEFAULT 0,
    h12 BIGINT NOT NULL DEFAULT 0,
    h13 BIGINT NOT NULL DEFAULT 0,
    h14 BIGINT NOT NULL DEFAULT 0,
    h15 BIGINT NOT NULL DEFAULT 0,
    h16 BIGINT NOT NULL DEFAULT 0,
    h17 BIGINT NOT NULL DEFAULT 0,
    h18 BIGINT NOT NULL DEFAULT 0,
    h19 BIGINT NOT NULL DEFAULT 0,
    h20 BIGINT NOT NULL DEFAULT 0,
    h21 BIGINT NOT NULL DEFAULT 0,
    h22 BIGINT NOT NULL DEFAULT 0,
    h23 BIGINT NOT NULL DEFAULT 0,
    h24 BIGINT NOT NULL DEFAULT 0,
    h25 BIGINT NOT NULL DEFAULT 0,
    h26 BIGINT NOT NULL DEFAULT 0,
    h27 BIGINT NOT NULL DEFAULT 0,
    h28 BIGINT NOT NULL DEFAULT 0,
    h29 BIGINT NOT NULL DEFAULT 0,
    h30 BIGINT NOT NULL DEFAULT 0,
    h31 BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS candor_call_minutes_minute ON candor_call_minutes (minute);

CREATE TABLE IF NOT EXISTS candor_call_hours (
    minute BIGINT NOT NULL,
    source TEXT NOT NULL,
    route TEXT NOT NULL,
    client_id TEXT,
    status INTEGER NOT NULL,
    diagnosis TEXT,
    upstream TEXT,
    partial SMALLINT NOT NULL,
    calls BIGINT NOT NULL,
    latency_sum_us BIGINT NOT NULL,
    latency_max_us BIGINT NOT NULL,
    h00 BIGINT NOT NULL DEFAULT 0,
    h01 BIGINT NOT NULL DEFAULT 0,
    h02 BIGINT NOT NULL DEFAULT 0,
    h03 BIGINT NOT NULL DEFAULT 0,
    h04 BIGINT NOT NULL DEFAULT 0,
    h05 BIGINT NOT NULL DEFAULT 0,
    h06 BIGINT NOT NULL DEFAULT 0,
    h07 BIGINT NOT NULL DEFAULT 0,
    h08 BIGINT NOT NULL DEFAULT 0,
    h09 BIGINT NOT NULL DEFAULT 0,
    h10 BIGINT NOT NULL DEFAULT 0,
    h11 BIGINT NOT NULL DEFAULT 0,
    h12 BIGINT NOT NULL DEFAULT 0,
    h13 BIGINT NOT NULL DEFAULT 0,
    h14 BIGINT NOT NULL DEFAULT 0,
    h15 BIGINT NOT NULL DEFAULT 0,
    h16 BIGINT NOT NULL DEFAULT 0,
    h17 BIGINT NOT NULL DEFAULT 0,
    h18 BIGINT NOT NULL DEFAULT 0,
    h19 BIGINT NOT NULL DEFAULT 0,
    h20 BIGINT NOT NULL DEFAULT 0,
    h21 BIGINT NOT NULL DEFAULT 0,
    h22 BIGINT NOT NULL DEFAULT 0,
    h23 BIGINT NOT NULL DEFAULT 0,
    h24 BIGINT NOT NULL DEFAULT 0,
    h25 BIGINT NOT NULL DEFAULT 0,
    h26 BIGINT NOT NULL DEFAULT 0,
    h27 BIGINT NOT NULL DEFAULT 0,
    h28 BIGINT NOT NULL DEFAULT 0,
    h29 BIGINT NOT NULL DEFAULT 0,
    h30 BIGINT NOT NULL DEFAULT 0,
    h31 BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS candor_call_hours_minute ON candor_call_hours (minute);
