-- highwater schema, version 2: the alert pipeline — what was found, what must be sent, what was
-- sent, and when each scheduled job last ran.

-- Every alert ever decided, under its dedup key: a key that is here never alerts again.
CREATE TABLE alert_log (
    server      TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    -- The period the fact is about: a session date, an ISO week (2025-W38) or a month.
    period      TEXT NOT NULL,
    session     TEXT NOT NULL,
    outbox_id   INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (server, rule_id, symbol, kind, period)
);

-- Messages to deliver: the new alerts of one server, destination, symbol and session, grouped.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    server      TEXT NOT NULL,
    destination INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
    symbol      TEXT NOT NULL,
    session     TEXT NOT NULL,
    -- The message as JSON (embeds, headlines, events): a re-send sends exactly this.
    payload     TEXT NOT NULL,
    -- pending: waiting (maybe until next_attempt_at); sending: an attempt is in flight (claimed
    -- until lease_until); delivered; dropped (muted, destination disabled); failed (rejected or
    -- out of attempts).
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dropped', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    created_at  INTEGER NOT NULL,
    last_attempt_at INTEGER,
    done_at     INTEGER,
    -- The destination's id of the posted message.
    remote_id   TEXT,
    -- Why it is held, dropped or failed, or that a re-send may have duplicated it.
    note        TEXT,
    -- An attempt was in flight when the process stopped: the next send is a re-send.
    interrupted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

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
    scheduled_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);
