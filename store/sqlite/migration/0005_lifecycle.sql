-- The lifecycle wing (package lifecycle): keys brought by callers, source
-- networks per credential and server-wide.

-- A public key may belong to one credential only: two credentials with one
-- key would let its holder be either. Generated keys never collide; a key
-- brought by a caller may, and a rotate looks it up through this index in
-- its write transaction. Not UNIQUE: stores made before may hold a key
-- twice (test fixtures do), and a migration must not fail on them.
CREATE INDEX credentials_by_thumbprint ON credentials (thumbprint);

-- The networks a credential may be used from (token exchange and every API
-- call); no row means no limit. cidrs is a JSON array of strings.
CREATE TABLE credential_source_limits (
	credential_id TEXT PRIMARY KEY REFERENCES credentials (id),
	cidrs         TEXT NOT NULL,
	updated_us    INTEGER NOT NULL
) WITHOUT ROWID;

-- The server-wide session settings (GET/POST /api/v1/settings/session):
-- one row, a JSON document.
CREATE TABLE session_settings (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	doc        TEXT NOT NULL,
	updated_us INTEGER NOT NULL
);
