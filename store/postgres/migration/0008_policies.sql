-- The policy wing (package policy): expiry and dormancy policies and the
-- events their scheduler records.

-- A policy per scope: the server default (scope_kind 'server', scope_id
-- ''), an app or a connector. Durations are in nanoseconds; NULL is a
-- field the scope does not set (it is inherited), 0 is "none".
-- expiry_warnings_ns is the lead times.
CREATE TABLE policies (
	scope_kind            text NOT NULL,
	scope_id              text NOT NULL,
	max_lifetime_ns       bigint,
	expiry_warnings_ns    bigint[],
	dormancy_threshold_ns bigint,
	auto_revoke_after_ns  bigint,
	updated_at            timestamptz NOT NULL,
	PRIMARY KEY (scope_kind, scope_id)
);

-- Every event the scheduler recorded, once: the primary key is what makes
-- it once, across restarts and nodes (INSERT ... ON CONFLICT DO NOTHING
-- decides which node records it, and that node appends the audit event in
-- the same transaction). threshold is the instant that defines the event
-- (see policy.EventKey).
CREATE TABLE policy_events (
	credential_id text NOT NULL,
	kind          text NOT NULL,
	threshold     timestamptz NOT NULL,
	emitted_at    timestamptz NOT NULL,
	PRIMARY KEY (credential_id, kind, threshold)
);
