-- Console sign-in (package console): one-time login links and the sessions
-- they start. Neither table holds a token or a cookie value, only its
-- SHA-256, unique so that a look-up by hash is one index probe and two
-- records can never answer to one value.

-- A login link: single use (used_us is set once, by the redeem), valid
-- until expires_us.
CREATE TABLE console_links (
	id            TEXT PRIMARY KEY,
	token_hash    BLOB NOT NULL UNIQUE,
	credential_id TEXT NOT NULL REFERENCES credentials (id),
	created_us    INTEGER NOT NULL,
	expires_us    INTEGER NOT NULL,
	used_us       INTEGER
);
CREATE INDEX console_links_expires ON console_links (expires_us);

-- A session, acting as credential_id. The idle timeout runs from
-- last_seen_us; expires_us is the absolute end; ended_us is the sign-out.
CREATE TABLE console_sessions (
	id            TEXT PRIMARY KEY,
	token_hash    BLOB NOT NULL UNIQUE,
	credential_id TEXT NOT NULL REFERENCES credentials (id),
	source        TEXT NOT NULL,
	created_us    INTEGER NOT NULL,
	last_seen_us  INTEGER NOT NULL,
	expires_us    INTEGER NOT NULL,
	ended_us      INTEGER
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_us);
CREATE INDEX console_sessions_ended ON console_sessions (ended_us) WHERE ended_us IS NOT NULL;
