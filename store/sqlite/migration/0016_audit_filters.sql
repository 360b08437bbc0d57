-- The audit trail's remaining filters (actor, source address, outcome),
-- which the console and GET /api/v1/audit ask the store for instead of
-- matching pages of events themselves. Each index ends in id, like the
-- others on this table, so a filtered page, oldest or newest first, is read
-- from the index in order and stops at the page's size. The actor and
-- source filters are prefixes, answered as a range of this index.
CREATE INDEX audit_by_actor ON audit_events (actor, id);
CREATE INDEX audit_by_source ON audit_events (source, id);
CREATE INDEX audit_by_outcome ON audit_events (outcome, id);
