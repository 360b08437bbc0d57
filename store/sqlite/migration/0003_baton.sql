-- The baton wing: hosts, tasks (syncs), artifacts and sync settings of
-- service-mode connectors. Times are microseconds since the epoch, as in
-- the other tables.

CREATE TABLE baton_hosts (
	connector_id    TEXT NOT NULL REFERENCES connectors (id),
	host_id         TEXT NOT NULL,
	display_name    TEXT NOT NULL DEFAULT '',
	description     TEXT NOT NULL DEFAULT '',
	package         TEXT NOT NULL DEFAULT '',
	package_version TEXT NOT NULL DEFAULT '',
	lang_version    TEXT NOT NULL DEFAULT '',
	os_info         TEXT NOT NULL DEFAULT '{}',
	first_seen_us   INTEGER NOT NULL,
	last_seen_us    INTEGER NOT NULL,
	PRIMARY KEY (connector_id, host_id)
);

CREATE TABLE baton_tasks (
	id               TEXT PRIMARY KEY,
	connector_id     TEXT NOT NULL REFERENCES connectors (id),
	app_id           TEXT NOT NULL,
	type             TEXT NOT NULL,
	state            TEXT NOT NULL,
	attempt          INTEGER NOT NULL,
	retry_of         TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	host_id          TEXT NOT NULL DEFAULT '',
	created_us       INTEGER NOT NULL,
	not_before_us    INTEGER NOT NULL,
	started_us       INTEGER,
	heartbeat_us     INTEGER,
	finished_us      INTEGER,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	error_code       INTEGER NOT NULL DEFAULT 0,
	error_message    TEXT NOT NULL DEFAULT '',
	non_retryable    INTEGER NOT NULL DEFAULT 0,
	response         BLOB
);
CREATE INDEX baton_tasks_claim ON baton_tasks (connector_id, state, id);
CREATE INDEX baton_tasks_running ON baton_tasks (state, heartbeat_us);
-- At most one sync per connector is pending or running: the insert of a
-- second one fails on this index, on every node at once.
CREATE UNIQUE INDEX baton_tasks_one_sync ON baton_tasks (connector_id)
	WHERE type = 'sync_full' AND state IN ('pending', 'running');

CREATE TABLE baton_artifacts (
	task_id      TEXT NOT NULL REFERENCES baton_tasks (id),
	kind         TEXT NOT NULL,
	connector_id TEXT NOT NULL,
	key          TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       BLOB NOT NULL,
	created_us   INTEGER NOT NULL,
	PRIMARY KEY (task_id, kind)
);

CREATE TABLE baton_settings (
	connector_id   TEXT PRIMARY KEY REFERENCES connectors (id),
	cron           TEXT NOT NULL DEFAULT '',
	time_zone      TEXT NOT NULL DEFAULT '',
	next_run_us    INTEGER,
	disabled_us    INTEGER,
	updated_us     INTEGER NOT NULL
);
CREATE INDEX baton_settings_due ON baton_settings (next_run_us) WHERE next_run_us IS NOT NULL;
