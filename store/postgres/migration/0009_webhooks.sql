-- The webhooks wing (package webhook): endpoints, a transactional outbox,
-- deliveries with leases, and a delivery log. The same tables as SQLite's.

-- secret: the HMAC signing secret sealed (AES-GCM) with the server's
-- webhook key, never the plain secret; NULL for Ed25519-signed endpoints.
CREATE TABLE webhook_endpoints (
	id          text PRIMARY KEY,
	url         text NOT NULL,
	description text NOT NULL,
	signing     text NOT NULL,
	secret      bytea,
	event_types text NOT NULL,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	deleted_at  timestamptz
);

CREATE TABLE webhook_subscriptions (
	event_type  text NOT NULL,
	endpoint_id text NOT NULL REFERENCES webhook_endpoints (id),
	PRIMARY KEY (event_type, endpoint_id)
);

CREATE TABLE webhook_outbox (
	seq           bigserial PRIMARY KEY,
	id            text NOT NULL UNIQUE,
	type          text NOT NULL,
	credential_id text,
	data          text,
	occurred_at   timestamptz NOT NULL,
	dispatched    boolean NOT NULL DEFAULT false
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (seq) WHERE NOT dispatched;

CREATE TABLE webhook_deliveries (
	endpoint_id    text NOT NULL REFERENCES webhook_endpoints (id),
	event_id       text NOT NULL REFERENCES webhook_outbox (id),
	state          text NOT NULL,
	attempts       integer NOT NULL,
	next_at        timestamptz NOT NULL,
	lease_owner    text,
	lease_until    timestamptz,
	last_code      integer NOT NULL DEFAULT 0,
	last_error     text NOT NULL DEFAULT '',
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL,
	PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
	id          bigserial PRIMARY KEY,
	endpoint_id text NOT NULL,
	event_id    text NOT NULL,
	attempt     integer NOT NULL,
	at          timestamptz NOT NULL,
	latency_us  bigint NOT NULL,
	status_code integer NOT NULL,
	outcome     text NOT NULL,
	error       text NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);

-- Credential events enter the outbox from a trigger, so that every path that
-- creates, revokes (cascades from app and connector deletes included) or
-- first uses a credential writes its event in its own transaction, and no
-- store method had to change. It writes only while an endpoint exists; the
-- ids are derived from the credential, since each transition happens once.
CREATE FUNCTION webhook_credential_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE deleted_at IS NULL) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		INSERT INTO webhook_outbox (id, type, credential_id, occurred_at)
		VALUES ('msg_created_' || NEW.id, 'credential.created', NEW.id, NEW.created_at) ON CONFLICT DO NOTHING;
		RETURN NULL;
	END IF;
	IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
		INSERT INTO webhook_outbox (id, type, credential_id, occurred_at)
		VALUES ('msg_revoked_' || NEW.id, 'credential.revoked', NEW.id, NEW.deleted_at) ON CONFLICT DO NOTHING;
	END IF;
	IF OLD.last_used_at IS NULL AND NEW.last_used_at IS NOT NULL THEN
		INSERT INTO webhook_outbox (id, type, credential_id, occurred_at)
		VALUES ('msg_firstused_' || NEW.id, 'credential.first_used', NEW.id, NEW.last_used_at) ON CONFLICT DO NOTHING;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER webhook_credential_events AFTER INSERT OR UPDATE OF deleted_at, last_used_at ON credentials
FOR EACH ROW EXECUTE FUNCTION webhook_credential_events();
