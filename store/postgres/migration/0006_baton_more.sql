-- Keys the baton wing shares between nodes: the HMAC key of sync download
-- URLs, so a URL made on one node works on every other. The first node to
-- need a key inserts it; the others read that one.

CREATE TABLE baton_keys (
	name       TEXT PRIMARY KEY,
	key        BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
