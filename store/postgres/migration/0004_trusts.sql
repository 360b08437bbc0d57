-- Workload federation trusts (package federation). A trust holds no secret:
-- it names an issuer whose public keys it trusts, the audiences and CEL
-- condition a subject token must satisfy, and the principal it grants. A
-- connector trust's app and connector are references, and a trust is read
-- joined with them, so deleting either cuts the trust off without writing it.
CREATE TABLE trusts (
	id                 text PRIMARY KEY,
	client_id          text NOT NULL UNIQUE,
	display_name       text NOT NULL,
	issuer             text NOT NULL,
	audiences          text[] NOT NULL DEFAULT '{}',
	condition          text NOT NULL,
	role               text NOT NULL,
	app_id             text REFERENCES apps (id),       -- NULL for an admin trust
	connector_id       text REFERENCES connectors (id), -- NULL for an admin trust
	max_token_lifetime integer NOT NULL DEFAULT 0,      -- seconds; 0: the server's token TTL
	require_dpop       boolean NOT NULL DEFAULT false,
	created_at         timestamptz NOT NULL,
	updated_at         timestamptz NOT NULL,
	deleted_at         timestamptz,
	last_used_at       timestamptz
);
CREATE INDEX trusts_by_connector ON trusts (connector_id);
