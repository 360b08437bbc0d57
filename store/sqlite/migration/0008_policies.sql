-- The policy wing (package policy): expiry and dormancy policies and the
-- events their scheduler records.

-- A policy per scope: the server default (scope_kind 'server', scope_id
-- ''), an app or a connector. Durations are in nanoseconds; NULL is a
-- field the scope does not set (it is inherited), 0 is "none".
-- expiry_warnings_ns is a JSON array of lead times.
CREATE TABLE policies (
	scope_kind            TEXT NOT NULL,
	scope_id              TEXT NOT NULL,
	max_lifetime_ns       INTEGER,
	expiry_warnings_ns    TEXT,
	dormancy_threshold_ns INTEGER,
	auto_revoke_after_ns  INTEGER,
	updated_us            INTEGER NOT NULL,
	PRIMARY KEY (scope_kind, scope_id)
) WITHOUT ROWID;

-- Every event the scheduler recorded, once: the primary key is what makes
-- it once, across restarts and nodes (an insert that finds the key does
-- nothing, and the node that made it records the audit event in the same
-- transaction). threshold_us is the instant that defines the event (see
-- policy.EventKey).
CREATE TABLE policy_events (
	credential_id TEXT NOT NULL,
	kind          TEXT NOT NULL,
	threshold_us  INTEGER NOT NULL,
	emitted_us    INTEGER NOT NULL,
	PRIMARY KEY (credential_id, kind, threshold_us)
) WITHOUT ROWID;
