package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/webhook"
)

var _ webhook.Store = (*Store)(nil)

const endpointCols = `id, url, description, signing, event_types, created_us, updated_us, deleted_us`

func scanEndpoint(row scanner) (webhook.Endpoint, error) {
	var e webhook.Endpoint
	var types string
	var created, updated int64
	var deleted sql.NullInt64
	if err := row.Scan(&e.ID, &e.URL, &e.Description, &e.Signing, &types, &created, &updated, &deleted); err != nil {
		return e, dbErr(err)
	}
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return e, conncred.WrapError(conncred.EInternal, err, "a stored webhook endpoint is malformed")
	}
	e.CreatedAt, e.UpdatedAt, e.DeletedAt = fromUS(created), fromUS(updated), fromNullUS(deleted)
	return e, nil
}

// CreateWebhookEndpoint stores an endpoint and its subscriptions.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e webhook.Endpoint, sealed []byte) error {
	types, err := json.Marshal(e.EventTypes)
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "could not store the endpoint")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+endpointCols+`, secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.URL, e.Description, string(e.Signing), string(types), us(e.CreatedAt), us(e.UpdatedAt), usPtr(e.DeletedAt), sealed); err != nil {
			return err
		}
		for _, t := range e.EventTypes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (event_type, endpoint_id) VALUES (?, ?)`, t, e.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// WebhookEndpoint returns an endpoint by id.
func (s *Store) WebhookEndpoint(ctx context.Context, id string) (webhook.Endpoint, error) {
	return scanEndpoint(s.r.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id = ?`, id))
}

// ListWebhookEndpoints pages through endpoints by id.
func (s *Store) ListWebhookEndpoints(ctx context.Context, opt conncred.ListOptions) ([]webhook.Endpoint, error) {
	q := `SELECT ` + endpointCols + ` FROM webhook_endpoints WHERE id > ?`
	if !opt.IncludeDeleted {
		q += ` AND deleted_us IS NULL`
	}
	return queryAll(ctx, s.r, scanEndpoint, q+` ORDER BY id LIMIT ?`, opt.After, opt.Limit)
}

// DeleteWebhookEndpoint marks an endpoint deleted, drops its sealed secret
// and dead-letters its pending deliveries, in one transaction.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, `SELECT 1 FROM webhook_endpoints WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET deleted_us = ?1, updated_us = ?1, secret = NULL WHERE id = ?2 AND deleted_us IS NULL`, us(at), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'dead', last_error = 'endpoint deleted', lease_owner = NULL, lease_until_us = NULL, updated_us = ?1
			WHERE endpoint_id = ?2 AND state = 'pending'`, us(at), id)
		return err
	})
}

// EnqueueWebhookEvents adds events to the outbox in one transaction.
func (s *Store) EnqueueWebhookEvents(ctx context.Context, events []webhook.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return enqueueWebhookEvents(ctx, tx, events) })
}

// enqueueWebhookEvents is EnqueueWebhookEvents inside the caller's
// transaction: a wing whose change must carry its event (the policy
// scheduler) calls it in the transaction that makes the change.
func enqueueWebhookEvents(ctx context.Context, tx *sql.Tx, events []webhook.Event) error {
	for _, e := range events {
		var data any
		if e.Data != nil {
			data = string(e.Data)
		}
		dispatched := e.EndpointID != ""
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_outbox (id, type, credential_id, data, occurred_us, dispatched) VALUES (?, ?, ?, ?, ?, ?)`,
			e.ID, e.Type, nullString(e.CredentialID), data, us(e.OccurredAt), dispatched)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || !dispatched {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, event_id, state, attempts, next_us, created_us, updated_us)
			VALUES (?1, ?2, 'pending', 0, ?3, ?3, ?3)`, e.EndpointID, e.ID, us(e.OccurredAt)); err != nil {
			return err
		}
	}
	return nil
}

// DispatchWebhookEvents fans undispatched events out to their subscribers.
func (s *Store) DispatchWebhookEvents(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		seqs, err := queryAll(ctx, tx, func(r scanner) (int64, error) {
			var v int64
			return v, r.Scan(&v)
		}, `SELECT seq FROM webhook_outbox WHERE dispatched = 0 ORDER BY seq LIMIT ?`, limit)
		if err != nil || len(seqs) == 0 {
			return err
		}
		last := seqs[len(seqs)-1]
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, event_id, state, attempts, next_us, created_us, updated_us)
			SELECT DISTINCT e.id, o.id, 'pending', 0, ?1, ?1, ?1
			FROM webhook_outbox o
			JOIN webhook_subscriptions sub ON sub.event_type IN (o.type, '*')
			JOIN webhook_endpoints e ON e.id = sub.endpoint_id AND e.deleted_us IS NULL AND e.created_us <= o.occurred_us
			WHERE o.dispatched = 0 AND o.seq <= ?2`, us(now), last); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_outbox SET dispatched = 1 WHERE dispatched = 0 AND seq <= ?`, last)
		n = len(seqs)
		return err
	})
	return n, err
}

// ClaimWebhookDeliveries leases due deliveries. The IMMEDIATE transaction
// holds the write lock from the look-up to the update, so no other writer,
// in this process or another, can claim the same rows.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]webhook.Claim, error) {
	var out []webhook.Claim
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanClaim, `UPDATE webhook_deliveries SET lease_owner = ?1, lease_until_us = ?2, attempts = attempts + 1, updated_us = ?3
			WHERE (endpoint_id, event_id) IN (
				SELECT endpoint_id, event_id FROM webhook_deliveries
				WHERE state = 'pending' AND next_us <= ?3 AND (lease_until_us IS NULL OR lease_until_us <= ?3)
				ORDER BY next_us LIMIT ?4)
			RETURNING endpoint_id, event_id, attempts, state, next_us, created_us`, owner, us(leaseUntil), us(now), limit)
		if err != nil {
			return err
		}
		for i := range out {
			c := &out[i]
			var data sql.NullString
			var cred sql.NullString
			var occurred int64
			if err := tx.QueryRowContext(ctx, `SELECT o.type, o.credential_id, o.data, o.occurred_us, e.url, e.signing, e.secret
				FROM webhook_outbox o, webhook_endpoints e WHERE o.id = ? AND e.id = ?`, c.Event.ID, c.Delivery.EndpointID).
				Scan(&c.Event.Type, &cred, &data, &occurred, &c.URL, &c.Signing, &c.Sealed); err != nil {
				return err
			}
			c.Event.CredentialID, c.Event.OccurredAt = cred.String, fromUS(occurred)
			if data.Valid {
				c.Event.Data = json.RawMessage(data.String)
			}
			c.Delivery.EventType = c.Event.Type
		}
		return nil
	})
	return out, err
}

func scanClaim(r scanner) (webhook.Claim, error) {
	var c webhook.Claim
	var next, created int64
	err := r.Scan(&c.Delivery.EndpointID, &c.Event.ID, &c.Delivery.Attempts, &c.Delivery.State, &next, &created)
	c.Delivery.EventID, c.Delivery.NextAt, c.Delivery.CreatedAt = c.Event.ID, fromUS(next), fromUS(created)
	return c, err
}

// FinishWebhookDelivery logs the attempt and applies its result if owner
// still holds the lease of that attempt.
func (s *Store) FinishWebhookDelivery(ctx context.Context, owner string, r webhook.Result) error {
	a := r.Attempt
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (endpoint_id, event_id, attempt, at_us, latency_us, status_code, outcome, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.EndpointID, a.EventID, a.Attempt, us(a.At), a.Latency.Microseconds(), a.StatusCode, a.Outcome, a.Error); err != nil {
			return err
		}
		next := us(r.NextAt)
		if r.State != webhook.StatePending {
			next = us(a.At)
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?1, next_us = ?2, last_code = ?3, last_error = ?4, lease_owner = NULL, lease_until_us = NULL, updated_us = ?5
			WHERE endpoint_id = ?6 AND event_id = ?7 AND lease_owner = ?8 AND attempts = ?9 AND state = 'pending'`,
			r.State, next, a.StatusCode, a.Error, us(a.At), a.EndpointID, a.EventID, owner, a.Attempt)
		return err
	})
}

// RedeliverWebhook makes a delivery pending again with a fresh budget.
func (s *Store) RedeliverWebhook(ctx context.Context, endpointID, eventID string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_us = ?1, lease_owner = NULL, lease_until_us = NULL, updated_us = ?1
			WHERE endpoint_id = ?2 AND event_id = ?3`, us(now), endpointID, eventID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conncred.Errorf(conncred.ENotFound, "no delivery of event %s to this endpoint", eventID)
		}
		return nil
	})
}

// ListWebhookDeliveries pages through an endpoint's deliveries by event id.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID, state string, opt conncred.ListOptions) ([]webhook.Delivery, error) {
	return queryAll(ctx, s.r, func(r scanner) (webhook.Delivery, error) {
		var d webhook.Delivery
		var next, created, updated int64
		err := r.Scan(&d.EndpointID, &d.EventID, &d.EventType, &d.State, &d.Attempts, &next, &d.LastCode, &d.LastError, &created, &updated)
		d.NextAt, d.CreatedAt, d.UpdatedAt = fromUS(next), fromUS(created), fromUS(updated)
		return d, err
	}, `SELECT d.endpoint_id, d.event_id, o.type, d.state, d.attempts, d.next_us, d.last_code, d.last_error, d.created_us, d.updated_us
		FROM webhook_deliveries d JOIN webhook_outbox o ON o.id = d.event_id
		WHERE d.endpoint_id = ?1 AND (?2 = '' OR d.state = ?2) AND d.event_id > ?3 ORDER BY d.event_id LIMIT ?4`, endpointID, state, opt.After, opt.Limit)
}

// ListWebhookAttempts returns an endpoint's latest attempts, newest first.
func (s *Store) ListWebhookAttempts(ctx context.Context, endpointID string, limit int) ([]webhook.Attempt, error) {
	return queryAll(ctx, s.r, func(r scanner) (webhook.Attempt, error) {
		var a webhook.Attempt
		var at, lat int64
		err := r.Scan(&a.EndpointID, &a.EventID, &a.Attempt, &at, &lat, &a.StatusCode, &a.Outcome, &a.Error)
		a.At, a.Latency = fromUS(at), time.Duration(lat)*time.Microsecond
		return a, err
	}, `SELECT endpoint_id, event_id, attempt, at_us, latency_us, status_code, outcome, error FROM webhook_attempts
		WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?`, endpointID, limit)
}

// WebhookQueueDepth counts pending deliveries and undispatched events.
func (s *Store) WebhookQueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') + (SELECT count(*) FROM webhook_outbox WHERE dispatched = 0)`).Scan(&n)
	return n, dbErr(err)
}
