-- conncred schema, version 1. Times are INTEGER microseconds since the Unix
-- epoch, UTC, so they compare and sort as numbers and round-trip exactly.

CREATE TABLE apps (
	id           TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	created_us   INTEGER NOT NULL,
	updated_us   INTEGER NOT NULL,
	deleted_us   INTEGER
);

CREATE TABLE connectors (
	id           TEXT PRIMARY KEY,
	app_id       TEXT NOT NULL REFERENCES apps (id),
	catalog_id   TEXT NOT NULL DEFAULT '',
	display_name TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	user_ids     TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	created_us   INTEGER NOT NULL,
	updated_us   INTEGER NOT NULL,
	deleted_us   INTEGER
);
CREATE INDEX connectors_by_app ON connectors (app_id, id);

-- Admin credentials have no app or connector: both are NULL.
CREATE TABLE credentials (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	app_id       TEXT REFERENCES apps (id),
	connector_id TEXT REFERENCES connectors (id),
	client_id    TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL,
	public_key   BLOB NOT NULL,
	thumbprint   TEXT NOT NULL,
	created_us   INTEGER NOT NULL,
	updated_us   INTEGER NOT NULL,
	deleted_us   INTEGER,
	expires_us   INTEGER,
	last_used_us INTEGER
);
CREATE INDEX credentials_by_connector ON credentials (connector_id, id);
CREATE INDEX credentials_by_app ON credentials (app_id, id);
CREATE INDEX credentials_by_kind ON credentials (kind, id);

-- The replay record: one row per used assertion, until it expires.
CREATE TABLE used_assertions (
	key        TEXT PRIMARY KEY,
	expires_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX used_assertions_by_expiry ON used_assertions (expires_us);

CREATE TABLE signing_keys (
	id         TEXT PRIMARY KEY,
	seed       BLOB NOT NULL,
	created_us INTEGER NOT NULL
);

CREATE TABLE audit_events (
	id            TEXT PRIMARY KEY,
	time_us       INTEGER NOT NULL,
	kind          TEXT NOT NULL,
	actor         TEXT NOT NULL DEFAULT '',
	source        TEXT NOT NULL DEFAULT '',
	outcome       TEXT NOT NULL,
	reason        TEXT NOT NULL DEFAULT '',
	app_id        TEXT NOT NULL DEFAULT '',
	connector_id  TEXT NOT NULL DEFAULT '',
	credential_id TEXT NOT NULL DEFAULT '',
	count         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX audit_by_time ON audit_events (time_us);
CREATE INDEX audit_by_kind ON audit_events (kind, id);
CREATE INDEX audit_by_connector ON audit_events (connector_id, id);
CREATE INDEX audit_by_credential ON audit_events (credential_id, id);
