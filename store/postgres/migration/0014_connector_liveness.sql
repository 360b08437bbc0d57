-- Connector liveness (package policy): a connector with a baton host that
-- has not been heard for its policy's offlineAfter gets connector.offline,
-- and connector.online when it is heard again. The same tables as SQLite's.

-- offlineAfter: NULL is not set here (inherited), 0 is "not watched".
ALTER TABLE policies ADD COLUMN offline_after_ns bigint;

-- When each connector was last heard, written behind by every node once
-- per scheduler pass and only ever forward; offline_since is the instant
-- the silence of the open offline period began (NULL: none open). The
-- events are recorded once in policy_events, whose credential_id then
-- holds the connector's id.
CREATE TABLE connector_seen (
	connector_id  text PRIMARY KEY REFERENCES connectors (id),
	last_seen_at  timestamptz NOT NULL,
	offline_since timestamptz
);
