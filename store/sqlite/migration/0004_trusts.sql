-- Workload federation trusts (package federation). A trust holds no secret:
-- it names an issuer whose public keys it trusts, the audiences and CEL
-- condition a subject token must satisfy, and the principal it grants. A
-- connector trust's app and connector are references, and a trust is read
-- joined with them, so deleting either cuts the trust off without writing it.
CREATE TABLE trusts (
	id                 TEXT PRIMARY KEY,
	client_id          TEXT NOT NULL UNIQUE,
	display_name       TEXT NOT NULL,
	issuer             TEXT NOT NULL,
	audiences          TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	condition          TEXT NOT NULL,
	role               TEXT NOT NULL,
	app_id             TEXT REFERENCES apps (id),       -- NULL for an admin trust
	connector_id       TEXT REFERENCES connectors (id), -- NULL for an admin trust
	max_token_lifetime INTEGER NOT NULL DEFAULT 0,      -- seconds; 0: the server's token TTL
	require_dpop       INTEGER NOT NULL DEFAULT 0,
	created_us         INTEGER NOT NULL,
	updated_us         INTEGER NOT NULL,
	deleted_us         INTEGER,
	last_used_us       INTEGER
);
CREATE INDEX trusts_by_connector ON trusts (connector_id);
