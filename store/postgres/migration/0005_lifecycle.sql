-- The lifecycle wing (package lifecycle): keys brought by callers, source
-- networks per credential and server-wide.

-- A public key may belong to one credential only: two credentials with one
-- key would let its holder be either. Generated keys never collide; a key
-- brought by a caller may, and a rotate looks it up through this index in
-- its transaction, under an advisory lock on the thumbprint. Not UNIQUE:
-- databases made before may hold a key twice (test fixtures do), and a
-- migration must not fail on them.
CREATE INDEX credentials_by_thumbprint ON credentials (thumbprint);

-- The networks a credential may be used from (token exchange and every API
-- call); no row means no limit.
CREATE TABLE credential_source_limits (
	credential_id text PRIMARY KEY REFERENCES credentials (id),
	cidrs         text[] NOT NULL,
	updated_at    timestamptz NOT NULL
);

-- The server-wide session settings (GET/POST /api/v1/settings/session):
-- one row, a JSON document.
CREATE TABLE session_settings (
	id         integer PRIMARY KEY CHECK (id = 1),
	doc        jsonb NOT NULL,
	updated_at timestamptz NOT NULL
);
