-- highwater schema, version 3 (PostgreSQL): what the evidence said about a held close.

-- held_rejected: 1 when the evidence (siblings, the bar's own range, the next session) said
-- the held close is a bad tick; then only its siblings can confirm it later. 0 or NULL while
-- it waits for evidence. held_reason: the verdict in words, for logs, answers and status.
ALTER TABLE bar_meta ADD COLUMN held_rejected BIGINT;
ALTER TABLE bar_meta ADD COLUMN held_reason TEXT;
