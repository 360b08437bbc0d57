-- The official workload federation shapes (package wfe): providers (a
-- registered OIDC issuer that trusts are made from) and, beside a trust,
-- the official fields conncred's trust record lacks (its provider and a
-- description). A trust made through conncred's own routes has no row.
CREATE TABLE workload_providers (
	id           TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	issuer_url   TEXT NOT NULL,
	well_known   TEXT NOT NULL,
	created_us   INTEGER NOT NULL,
	updated_us   INTEGER NOT NULL,
	deleted_us   INTEGER
) WITHOUT ROWID;

CREATE TABLE trust_extras (
	trust_id    TEXT PRIMARY KEY REFERENCES trusts (id),
	provider_id TEXT REFERENCES workload_providers (id),
	description TEXT NOT NULL DEFAULT '',
	updated_us  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX trust_extras_provider ON trust_extras (provider_id);
