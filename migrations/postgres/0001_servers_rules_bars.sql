-- highwater schema, version 1 (PostgreSQL): servers and what they asked for, and the bar cache.
--
-- The same tables and columns as migrations/sqlite/0001_servers_rules_bars.sql, encoded the
-- same way so that one reader serves both databases (src/store/rows.rs): instants are UTC
-- milliseconds since the Unix epoch (BIGINT, named *_at or until); session dates are the
-- exchange's local date as 'YYYY-MM-DD' (TEXT, which sorts as the dates do); flags are 0 or 1
-- (BIGINT); every integer is BIGINT and every price DOUBLE PRECISION, as SQLite stores them.

-- A server: a Discord guild ('discord:<guild id>') or a subscription declared in the config
-- file ('config:<name>').
CREATE TABLE servers (
    server      TEXT PRIMARY KEY,
    -- IANA timezone for showing times and for quiet hours.
    display_tz  TEXT NOT NULL DEFAULT 'UTC',
    -- Quiet hours, minutes after local midnight in display_tz; both NULL or both set.
    quiet_start BIGINT CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end   BIGINT CHECK (quiet_end BETWEEN 0 AND 1439),
    -- The Discord channel alerts go to unless a rule names another (guilds only).
    alert_channel TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- Where a server's alerts go. A destination that failed for good is disabled, with the reason.
CREATE TABLE destinations (
    id          BIGSERIAL PRIMARY KEY,
    server      TEXT NOT NULL REFERENCES servers(server) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('console', 'webhook', 'channel')),
    -- The webhook URL (it holds a secret token: never log it), the channel id, or '' for the
    -- console.
    target      TEXT NOT NULL,
    enabled     BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    disabled_reason TEXT,
    disabled_at BIGINT,
    UNIQUE (server, kind, target)
);

-- A server's rules, each with its destination and the one role it may mention.
CREATE TABLE rules (
    server      TEXT NOT NULL REFERENCES servers(server) ON DELETE CASCADE,
    rule_id     TEXT NOT NULL,
    -- The rule as JSON, with the fields of a [[rules]] table in the config file.
    spec        TEXT NOT NULL,
    destination BIGINT REFERENCES destinations(id) ON DELETE SET NULL,
    mention_role TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (server, rule_id)
);

-- Symbols a server watches (tickers as the catalog spells them, e.g. '^RUT').
CREATE TABLE watchlist (
    server      TEXT NOT NULL REFERENCES servers(server) ON DELETE CASCADE,
    symbol      TEXT NOT NULL,
    PRIMARY KEY (server, symbol)
);

-- Mutes drop a symbol's or a rule's alerts until `until`.
CREATE TABLE mutes (
    server      TEXT NOT NULL REFERENCES servers(server) ON DELETE CASCADE,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('symbol', 'rule')),
    target      TEXT NOT NULL,
    until       BIGINT NOT NULL,
    PRIMARY KEY (server, target_kind, target)
);

-- The confirmed daily history of each symbol, as the providers last gave it. Missing prices
-- (a close-only bar's open, high, low) are NULL.
CREATE TABLE bars (
    symbol      TEXT NOT NULL,
    date        TEXT NOT NULL,
    open        DOUBLE PRECISION,
    high        DOUBLE PRECISION,
    low         DOUBLE PRECISION,
    close       DOUBLE PRECISION NOT NULL,
    volume      DOUBLE PRECISION,
    PRIMARY KEY (symbol, date)
);

-- Per symbol: the latest split the cached history is adjusted for, and a latest bar held back
-- as unconfirmed (an implausible jump) until a later fetch confirms it.
CREATE TABLE bar_meta (
    symbol      TEXT PRIMARY KEY,
    last_split  TEXT,
    held_date   TEXT,
    held_open   DOUBLE PRECISION,
    held_high   DOUBLE PRECISION,
    held_low    DOUBLE PRECISION,
    held_close  DOUBLE PRECISION,
    held_volume DOUBLE PRECISION,
    held_jump_pct DOUBLE PRECISION,
    updated_at  BIGINT NOT NULL
);
