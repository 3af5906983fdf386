-- highwater schema, version 2 (PostgreSQL): the alert pipeline — what was found, what must be
-- sent, what was sent, and when each scheduled job last ran. The same tables and columns as
-- migrations/sqlite/0002_alert_pipeline.sql (encoding: see 0001).

-- Messages to deliver: the new alerts of one server, destination, symbol and session, grouped.
-- (Created before alert_log, which refers to it: PostgreSQL checks references at once.)
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    server      TEXT NOT NULL,
    destination BIGINT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
    symbol      TEXT NOT NULL,
    session     TEXT NOT NULL,
    -- The message as JSON (embeds, headlines, events): a re-send sends exactly this.
    payload     TEXT NOT NULL,
    -- pending: waiting (maybe until next_attempt_at); sending: an attempt is in flight (claimed
    -- until lease_until); delivered; dropped (muted, destination disabled); failed (rejected or
    -- out of attempts).
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dropped', 'failed')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    created_at  BIGINT NOT NULL,
    last_attempt_at BIGINT,
    done_at     BIGINT,
    -- The destination's id of the posted message.
    remote_id   TEXT,
    -- Why it is held, dropped or failed, or that a re-send may have duplicated it.
    note        TEXT,
    -- An attempt was in flight when the process stopped: the next send is a re-send.
    interrupted BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- Every alert ever decided, under its dedup key: a key that is here never alerts again.
CREATE TABLE alert_log (
    server      TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    -- The period the fact is about: a session date, an ISO week (2025-W38) or a month.
    period      TEXT NOT NULL,
    session     TEXT NOT NULL,
    outbox_id   BIGINT REFERENCES outbox(id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (server, rule_id, symbol, kind, period)
);
-- A claim reads the rules of a message's alerts by its outbox id.
CREATE INDEX alert_log_outbox ON alert_log (outbox_id);

-- How far each server's rules have been evaluated for each symbol (a session date).
CREATE TABLE evaluated (
    server      TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    through     TEXT NOT NULL,
    PRIMARY KEY (server, symbol)
);

-- The last scheduled fire time each job ran for: start-up catches up one missed run.
CREATE TABLE job_runs (
    job         TEXT PRIMARY KEY,
    scheduled_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
