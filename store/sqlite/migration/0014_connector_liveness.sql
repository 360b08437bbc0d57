-- Connector liveness (package policy): a connector with a baton host that
-- has not been heard for its policy's offlineAfter gets connector.offline,
-- and connector.online when it is heard again.

-- offlineAfter, a policy field like the others: NULL is not set here
-- (inherited), 0 is "not watched".
ALTER TABLE policies ADD COLUMN offline_after_ns INTEGER;

-- When each connector was last heard (any use of its credentials the
-- authority accepted), written behind by every node once per scheduler
-- pass, only ever forward; and the open offline period, if any:
-- offline_since_us is the instant the silence began, the threshold of its
-- connector.offline event (NULL: none open). The events themselves are
-- recorded once in policy_events, whose credential_id then holds the
-- connector's id (ids of both kinds are unique across kinds).
CREATE TABLE connector_seen (
	connector_id     TEXT PRIMARY KEY REFERENCES connectors (id),
	last_seen_us     INTEGER NOT NULL,
	offline_since_us INTEGER
) WITHOUT ROWID;
