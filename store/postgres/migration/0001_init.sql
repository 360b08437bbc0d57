-- conncred schema, version 1 (PostgreSQL).

CREATE TABLE apps (
	id           text PRIMARY KEY,
	display_name text NOT NULL,
	description  text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	deleted_at   timestamptz
);

CREATE TABLE connectors (
	id           text PRIMARY KEY,
	app_id       text NOT NULL REFERENCES apps (id),
	catalog_id   text NOT NULL DEFAULT '',
	display_name text NOT NULL,
	description  text NOT NULL DEFAULT '',
	user_ids     text[] NOT NULL DEFAULT '{}',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	deleted_at   timestamptz
);
CREATE INDEX connectors_by_app ON connectors (app_id, id);

-- Admin credentials have no app or connector: both are NULL.
CREATE TABLE credentials (
	id           text PRIMARY KEY,
	kind         text NOT NULL,
	app_id       text REFERENCES apps (id),
	connector_id text REFERENCES connectors (id),
	client_id    text NOT NULL UNIQUE,
	display_name text NOT NULL,
	public_key   bytea NOT NULL,
	thumbprint   text NOT NULL,
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	deleted_at   timestamptz,
	expires_at   timestamptz,
	last_used_at timestamptz
);
CREATE INDEX credentials_by_connector ON credentials (connector_id, id);
CREATE INDEX credentials_by_app ON credentials (app_id, id);
CREATE INDEX credentials_by_kind ON credentials (kind, id);

-- The replay record, shared by every node. A logged table: an UNLOGGED one
-- is emptied by a crash, which would let assertions captured before the
-- crash be replayed until they expire.
CREATE TABLE used_assertions (
	key        text PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX used_assertions_by_expiry ON used_assertions (expires_at);

CREATE TABLE signing_keys (
	id         text PRIMARY KEY,
	seed       bytea NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE audit_events (
	id            text PRIMARY KEY,
	time          timestamptz NOT NULL,
	kind          text NOT NULL,
	actor         text NOT NULL DEFAULT '',
	source        text NOT NULL DEFAULT '',
	outcome       text NOT NULL,
	reason        text NOT NULL DEFAULT '',
	app_id        text NOT NULL DEFAULT '',
	connector_id  text NOT NULL DEFAULT '',
	credential_id text NOT NULL DEFAULT '',
	count         integer NOT NULL DEFAULT 1
);
CREATE INDEX audit_by_time ON audit_events (time);
CREATE INDEX audit_by_kind ON audit_events (kind, id);
CREATE INDEX audit_by_connector ON audit_events (connector_id, id);
CREATE INDEX audit_by_credential ON audit_events (credential_id, id);
