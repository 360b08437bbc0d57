-- The webhooks wing (package webhook): endpoints, a transactional outbox,
-- deliveries with leases, and a delivery log.

-- An endpoint. secret is the HMAC signing secret sealed (AES-GCM) with the
-- server's webhook key, never the plain secret; NULL for endpoints signed
-- with the server's Ed25519 key.
CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	url         TEXT NOT NULL,
	description TEXT NOT NULL,
	signing     TEXT NOT NULL,
	secret      BLOB,
	event_types TEXT NOT NULL,
	created_us  INTEGER NOT NULL,
	updated_us  INTEGER NOT NULL,
	deleted_us  INTEGER
);

-- Which event types an endpoint receives ('*': all), so that the fan-out is
-- one portable join.
CREATE TABLE webhook_subscriptions (
	event_type  TEXT NOT NULL,
	endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
	PRIMARY KEY (event_type, endpoint_id)
);

-- The outbox: one row per event, written in the transaction that caused it.
-- data NULL: a credential event whose body the worker renders from the
-- credential (the triggers below cannot format times portably).
CREATE TABLE webhook_outbox (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	id            TEXT NOT NULL UNIQUE,
	type          TEXT NOT NULL,
	credential_id TEXT,
	data          TEXT,
	occurred_us   INTEGER NOT NULL,
	dispatched    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (dispatched, seq);

-- One event to one endpoint. A lease (owner, until) says which node is
-- attempting it; an expired lease is free to take again.
CREATE TABLE webhook_deliveries (
	endpoint_id    TEXT NOT NULL REFERENCES webhook_endpoints (id),
	event_id       TEXT NOT NULL REFERENCES webhook_outbox (id),
	state          TEXT NOT NULL,
	attempts       INTEGER NOT NULL,
	next_us        INTEGER NOT NULL,
	lease_owner    TEXT,
	lease_until_us INTEGER,
	last_code      INTEGER NOT NULL DEFAULT 0,
	last_error     TEXT NOT NULL DEFAULT '',
	created_us     INTEGER NOT NULL,
	updated_us     INTEGER NOT NULL,
	PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_us);

-- The delivery log: one row per attempt; never a body.
CREATE TABLE webhook_attempts (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	endpoint_id TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	attempt     INTEGER NOT NULL,
	at_us       INTEGER NOT NULL,
	latency_us  INTEGER NOT NULL,
	status_code INTEGER NOT NULL,
	outcome     TEXT NOT NULL,
	error       TEXT NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);

-- Credential events enter the outbox from triggers, so that every path that
-- creates, revokes (a cascade from an app or connector delete included) or
-- first uses a credential writes its event in its own transaction, and no
-- store method had to change. They fire only while an endpoint exists. The
-- ids are derived from the credential: each transition happens once.
CREATE TRIGGER webhook_credential_created AFTER INSERT ON credentials
WHEN EXISTS (SELECT 1 FROM webhook_endpoints WHERE deleted_us IS NULL)
BEGIN
	INSERT OR IGNORE INTO webhook_outbox (id, type, credential_id, occurred_us)
	VALUES ('msg_created_' || NEW.id, 'credential.created', NEW.id, NEW.created_us);
END;

CREATE TRIGGER webhook_credential_revoked AFTER UPDATE OF deleted_us ON credentials
WHEN OLD.deleted_us IS NULL AND NEW.deleted_us IS NOT NULL
	AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE deleted_us IS NULL)
BEGIN
	INSERT OR IGNORE INTO webhook_outbox (id, type, credential_id, occurred_us)
	VALUES ('msg_revoked_' || NEW.id, 'credential.revoked', NEW.id, NEW.deleted_us);
END;

CREATE TRIGGER webhook_credential_first_used AFTER UPDATE OF last_used_us ON credentials
WHEN OLD.last_used_us IS NULL AND NEW.last_used_us IS NOT NULL
	AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE deleted_us IS NULL)
BEGIN
	INSERT OR IGNORE INTO webhook_outbox (id, type, credential_id, occurred_us)
	VALUES ('msg_firstused_' || NEW.id, 'credential.first_used', NEW.id, NEW.last_used_us);
END;
