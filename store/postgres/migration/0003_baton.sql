-- The baton wing: hosts, tasks (syncs), artifacts (with their bytes in
-- chunks, so every node can read them) and sync settings of service-mode
-- connectors.

CREATE TABLE baton_hosts (
	connector_id    text NOT NULL REFERENCES connectors (id),
	host_id         text NOT NULL,
	display_name    text NOT NULL DEFAULT '',
	description     text NOT NULL DEFAULT '',
	package         text NOT NULL DEFAULT '',
	package_version text NOT NULL DEFAULT '',
	lang_version    text NOT NULL DEFAULT '',
	os_info         jsonb NOT NULL DEFAULT '{}',
	first_seen_at   timestamptz NOT NULL,
	last_seen_at    timestamptz NOT NULL,
	PRIMARY KEY (connector_id, host_id)
);

CREATE TABLE baton_tasks (
	id               text PRIMARY KEY,
	connector_id     text NOT NULL REFERENCES connectors (id),
	app_id           text NOT NULL,
	type             text NOT NULL,
	state            text NOT NULL,
	attempt          integer NOT NULL,
	retry_of         text NOT NULL DEFAULT '',
	reason           text NOT NULL DEFAULT '',
	host_id          text NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL,
	not_before       timestamptz NOT NULL,
	started_at       timestamptz,
	heartbeat_at     timestamptz,
	finished_at      timestamptz,
	cancel_requested boolean NOT NULL DEFAULT false,
	error_code       integer NOT NULL DEFAULT 0,
	error_message    text NOT NULL DEFAULT '',
	non_retryable    boolean NOT NULL DEFAULT false,
	response         bytea
);
CREATE INDEX baton_tasks_claim ON baton_tasks (connector_id, state, id);
CREATE INDEX baton_tasks_running ON baton_tasks (state, heartbeat_at);
-- At most one sync per connector is pending or running: the insert of a
-- second one fails on this index, on every node at once.
CREATE UNIQUE INDEX baton_tasks_one_sync ON baton_tasks (connector_id)
	WHERE type = 'sync_full' AND state IN ('pending', 'running');

CREATE TABLE baton_artifacts (
	task_id      text NOT NULL REFERENCES baton_tasks (id),
	kind         text NOT NULL,
	connector_id text NOT NULL,
	key          text NOT NULL,
	size         bigint NOT NULL,
	sha256       bytea NOT NULL,
	created_at   timestamptz NOT NULL,
	PRIMARY KEY (task_id, kind)
);

-- The bytes of artifacts, for several nodes: one row per chunk of an
-- upload. Chunks are written as they arrive; an upload is visible only
-- once it is committed (a row in baton_blobs), so a node killed mid-upload
-- leaves only unreferenced chunks, which are swept.
CREATE TABLE baton_blob_chunks (
	blob_key text NOT NULL,
	seq      integer NOT NULL,
	data     bytea NOT NULL,
	PRIMARY KEY (blob_key, seq)
);
CREATE TABLE baton_blobs (
	blob_key     text PRIMARY KEY,
	size         bigint NOT NULL,
	committed_at timestamptz NOT NULL
);

CREATE TABLE baton_settings (
	connector_id text PRIMARY KEY REFERENCES connectors (id),
	cron         text NOT NULL DEFAULT '',
	time_zone    text NOT NULL DEFAULT '',
	next_run_at  timestamptz,
	disabled_at  timestamptz,
	updated_at   timestamptz NOT NULL
);
CREATE INDEX baton_settings_due ON baton_settings (next_run_at) WHERE next_run_at IS NOT NULL;
