package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/webhook"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ webhook.Store = (*Store)(nil)

const endpointCols = `id, url, description, signing, event_types, created_at, updated_at, deleted_at`

func scanEndpoint(row pgx.Row) (webhook.Endpoint, error) {
	var e webhook.Endpoint
	var types string
	if err := row.Scan(&e.ID, &e.URL, &e.Description, &e.Signing, &types, &e.CreatedAt, &e.UpdatedAt, &e.DeletedAt); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return e, conncred.WrapError(conncred.EInternal, err, "a stored webhook endpoint is malformed")
	}
	e.CreatedAt, e.UpdatedAt, e.DeletedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC(), utc(e.DeletedAt)
	return e, nil
}

// CreateWebhookEndpoint stores an endpoint and its subscriptions.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e webhook.Endpoint, sealed []byte) error {
	types, err := json.Marshal(e.EventTypes)
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "could not store the endpoint")
	}
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (`+endpointCols+`, secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.ID, e.URL, e.Description, string(e.Signing), string(types), e.CreatedAt, e.UpdatedAt, e.DeletedAt, sealed); err != nil {
			return err
		}
		for _, t := range e.EventTypes {
			if _, err := tx.Exec(ctx, `INSERT INTO webhook_subscriptions (event_type, endpoint_id) VALUES ($1, $2)`, t, e.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// WebhookEndpoint returns an endpoint by id.
func (s *Store) WebhookEndpoint(ctx context.Context, id string) (webhook.Endpoint, error) {
	var e webhook.Endpoint
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		e, err = scanEndpoint(c.QueryRow(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id = $1`, id))
		return err
	})
	return e, err
}

// ListWebhookEndpoints pages through endpoints by id.
func (s *Store) ListWebhookEndpoints(ctx context.Context, opt conncred.ListOptions) ([]webhook.Endpoint, error) {
	return list(ctx, s, scanEndpoint, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id > $1 AND ($2 OR deleted_at IS NULL) ORDER BY id LIMIT $3`,
		opt.After, opt.IncludeDeleted, limitArg(opt.Limit))
}

// DeleteWebhookEndpoint marks an endpoint deleted, drops its sealed secret
// and dead-letters its pending deliveries, in one transaction.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM webhook_endpoints WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET deleted_at = $1, updated_at = $1, secret = NULL WHERE id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'dead', last_error = 'endpoint deleted', lease_owner = NULL, lease_until = NULL, updated_at = $1
			WHERE endpoint_id = $2 AND state = 'pending'`, at, id)
		return err
	})
}

// EnqueueWebhookEvents adds events to the outbox in one transaction.
func (s *Store) EnqueueWebhookEvents(ctx context.Context, events []webhook.Event) error {
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error { return enqueueWebhookEvents(ctx, tx, events) })
}

// enqueueWebhookEvents is EnqueueWebhookEvents inside the caller's
// transaction: a wing whose change must carry its event (the policy
// scheduler) calls it in the transaction that makes the change.
func enqueueWebhookEvents(ctx context.Context, tx pgx.Tx, events []webhook.Event) error {
	for _, e := range events {
		var data *string
		if e.Data != nil {
			d := string(e.Data)
			data = &d
		}
		dispatched := e.EndpointID != ""
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_outbox (id, type, credential_id, data, occurred_at, dispatched) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO NOTHING`, e.ID, e.Type, nullString(e.CredentialID), data, e.OccurredAt, dispatched)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 || !dispatched {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, state, attempts, next_at, created_at, updated_at)
			VALUES ($1, $2, 'pending', 0, $3, $3, $3) ON CONFLICT DO NOTHING`, e.EndpointID, e.ID, e.OccurredAt); err != nil {
			return err
		}
	}
	return nil
}

// DispatchWebhookEvents fans undispatched events out to their subscribers.
// SKIP LOCKED: two nodes dispatching at once take different events.
func (s *Store) DispatchWebhookEvents(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq FROM webhook_outbox WHERE NOT dispatched ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		n = len(seqs)
		if n == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, state, attempts, next_at, created_at, updated_at)
			SELECT DISTINCT e.id, o.id, 'pending', 0, $1::timestamptz, $1::timestamptz, $1::timestamptz
			FROM webhook_outbox o
			JOIN webhook_subscriptions sub ON sub.event_type IN (o.type, '*')
			JOIN webhook_endpoints e ON e.id = sub.endpoint_id AND e.deleted_at IS NULL AND e.created_at <= o.occurred_at
			WHERE o.seq = ANY($2)
			ON CONFLICT DO NOTHING`, now, seqs); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_outbox SET dispatched = true WHERE seq = ANY($1)`, seqs)
		return err
	})
	return n, err
}

// ClaimWebhookDeliveries leases due deliveries; SKIP LOCKED lets nodes
// claim side by side without waiting for each other or taking a row twice.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]webhook.Claim, error) {
	var out []webhook.Claim
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE webhook_deliveries d SET lease_owner = $1, lease_until = $2, attempts = d.attempts + 1, updated_at = $3
			FROM (SELECT endpoint_id, event_id FROM webhook_deliveries
				WHERE state = 'pending' AND next_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
				ORDER BY next_at LIMIT $4 FOR UPDATE SKIP LOCKED) due,
				webhook_outbox o, webhook_endpoints e
			WHERE d.endpoint_id = due.endpoint_id AND d.event_id = due.event_id AND o.id = d.event_id AND e.id = d.endpoint_id
			RETURNING d.endpoint_id, d.event_id, d.attempts, d.state, d.next_at, d.created_at,
				o.type, o.credential_id, o.data, o.occurred_at, e.url, e.signing, e.secret`, owner, leaseUntil, now, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Claim, error) {
			var c webhook.Claim
			var cred, data *string
			err := r.Scan(&c.Delivery.EndpointID, &c.Event.ID, &c.Delivery.Attempts, &c.Delivery.State, &c.Delivery.NextAt, &c.Delivery.CreatedAt,
				&c.Event.Type, &cred, &data, &c.Event.OccurredAt, &c.URL, &c.Signing, &c.Sealed)
			c.Delivery.EventID, c.Delivery.EventType = c.Event.ID, c.Event.Type
			c.Delivery.NextAt, c.Delivery.CreatedAt, c.Event.OccurredAt = c.Delivery.NextAt.UTC(), c.Delivery.CreatedAt.UTC(), c.Event.OccurredAt.UTC()
			if cred != nil {
				c.Event.CredentialID = *cred
			}
			if data != nil {
				c.Event.Data = json.RawMessage(*data)
			}
			return c, err
		})
		return err
	})
	return out, err
}

// FinishWebhookDelivery logs the attempt and applies its result if owner
// still holds the lease of that attempt.
func (s *Store) FinishWebhookDelivery(ctx context.Context, owner string, r webhook.Result) error {
	a := r.Attempt
	next := r.NextAt
	if r.State != webhook.StatePending {
		next = a.At
	}
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (endpoint_id, event_id, attempt, at, latency_us, status_code, outcome, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.EndpointID, a.EventID, a.Attempt, a.At, a.Latency.Microseconds(), a.StatusCode, a.Outcome, a.Error); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = $1, next_at = $2, last_code = $3, last_error = $4, lease_owner = NULL, lease_until = NULL, updated_at = $5
			WHERE endpoint_id = $6 AND event_id = $7 AND lease_owner = $8 AND attempts = $9 AND state = 'pending'`,
			r.State, next, a.StatusCode, a.Error, a.At, a.EndpointID, a.EventID, owner, a.Attempt)
		return err
	})
}

// RedeliverWebhook makes a delivery pending again with a fresh budget.
func (s *Store) RedeliverWebhook(ctx context.Context, endpointID, eventID string, now time.Time) error {
	tag, err := s.execTag(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_at = $1, lease_owner = NULL, lease_until = NULL, updated_at = $1
		WHERE endpoint_id = $2 AND event_id = $3`, now, endpointID, eventID)
	if err == nil && tag.RowsAffected() == 0 {
		return conncred.Errorf(conncred.ENotFound, "no delivery of event %s to this endpoint", eventID)
	}
	return err
}

// ListWebhookDeliveries pages through an endpoint's deliveries by event id.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID, state string, opt conncred.ListOptions) ([]webhook.Delivery, error) {
	return list(ctx, s, func(r pgx.Row) (webhook.Delivery, error) {
		var d webhook.Delivery
		err := r.Scan(&d.EndpointID, &d.EventID, &d.EventType, &d.State, &d.Attempts, &d.NextAt, &d.LastCode, &d.LastError, &d.CreatedAt, &d.UpdatedAt)
		d.NextAt, d.CreatedAt, d.UpdatedAt = d.NextAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
		return d, err
	}, `SELECT d.endpoint_id, d.event_id, o.type, d.state, d.attempts, d.next_at, d.last_code, d.last_error, d.created_at, d.updated_at
		FROM webhook_deliveries d JOIN webhook_outbox o ON o.id = d.event_id
		WHERE d.endpoint_id = $1 AND ($2 = '' OR d.state = $2) AND d.event_id > $3 ORDER BY d.event_id LIMIT $4`, endpointID, state, opt.After, limitArg(opt.Limit))
}

// ListWebhookAttempts returns an endpoint's latest attempts, newest first.
func (s *Store) ListWebhookAttempts(ctx context.Context, endpointID string, limit int) ([]webhook.Attempt, error) {
	return list(ctx, s, func(r pgx.Row) (webhook.Attempt, error) {
		var a webhook.Attempt
		var lat int64
		err := r.Scan(&a.EndpointID, &a.EventID, &a.Attempt, &a.At, &lat, &a.StatusCode, &a.Outcome, &a.Error)
		a.At, a.Latency = a.At.UTC(), time.Duration(lat)*time.Microsecond
		return a, err
	}, `SELECT endpoint_id, event_id, attempt, at, latency_us, status_code, outcome, error FROM webhook_attempts
		WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2`, endpointID, limitArg(limit))
}

// WebhookQueueDepth counts pending deliveries and undispatched events.
func (s *Store) WebhookQueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') + (SELECT count(*) FROM webhook_outbox WHERE NOT dispatched)`).Scan(&n)
	})
	return n, err
}
