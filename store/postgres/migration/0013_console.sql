-- Console sign-in (package console): one-time login links and the sessions
-- they start. Neither table holds a token or a cookie value, only its
-- SHA-256, unique so that a look-up by hash is one index probe and two
-- records can never answer to one value. The same tables as SQLite's.

-- A login link: single use (used_at is set once, by the redeem), valid
-- until expires_at.
CREATE TABLE console_links (
	id            text PRIMARY KEY,
	token_hash    bytea NOT NULL UNIQUE,
	credential_id text NOT NULL REFERENCES credentials (id),
	created_at    timestamptz NOT NULL,
	expires_at    timestamptz NOT NULL,
	used_at       timestamptz
);
CREATE INDEX console_links_expires ON console_links (expires_at);

-- A session, acting as credential_id. The idle timeout runs from
-- last_seen_at; expires_at is the absolute end; ended_at is the sign-out.
CREATE TABLE console_sessions (
	id            text PRIMARY KEY,
	token_hash    bytea NOT NULL UNIQUE,
	credential_id text NOT NULL REFERENCES credentials (id),
	source        text NOT NULL,
	created_at    timestamptz NOT NULL,
	last_seen_at  timestamptz NOT NULL,
	expires_at    timestamptz NOT NULL,
	ended_at      timestamptz
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
CREATE INDEX console_sessions_ended ON console_sessions (ended_at) WHERE ended_at IS NOT NULL;
