-- The audit trail's remaining filters (actor, source address, outcome),
-- which the console and GET /api/v1/audit ask the store for instead of
-- matching pages of events themselves. Each index ends in id, like the
-- others on this table, so a filtered page, oldest or newest first, can be
-- read from the index in order. The actor and source filters are prefixes,
-- answered as a range that compares bytes (COLLATE "C"), whatever the
-- database's collation: the index must be in the same collation for the
-- range to use it.
CREATE INDEX audit_by_actor ON audit_events (actor COLLATE "C", id);
CREATE INDEX audit_by_source ON audit_events (source COLLATE "C", id);
CREATE INDEX audit_by_outcome ON audit_events (outcome, id);
