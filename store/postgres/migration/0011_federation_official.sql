-- The official workload federation shapes (package wfe): providers (a
-- registered OIDC issuer that trusts are made from) and, beside a trust,
-- the official fields conncred's trust record lacks (its provider and a
-- description). A trust made through conncred's own routes has no row.
CREATE TABLE workload_providers (
	id           text PRIMARY KEY,
	display_name text NOT NULL,
	description  text NOT NULL DEFAULT '',
	issuer_url   text NOT NULL,
	well_known   text NOT NULL,
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	deleted_at   timestamptz
);

CREATE TABLE trust_extras (
	trust_id    text PRIMARY KEY REFERENCES trusts (id),
	provider_id text REFERENCES workload_providers (id),
	description text NOT NULL DEFAULT '',
	updated_at  timestamptz NOT NULL
);

CREATE INDEX trust_extras_provider ON trust_extras (provider_id);
