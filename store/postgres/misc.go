package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
)

// UseAssertion records key; the primary key makes a second use, from any
// node, EConflict.
func (s *Store) UseAssertion(ctx context.Context, key string, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO used_assertions (key, expires_at) VALUES ($1, $2)`, key, expiresAt)
	return dbErr(err)
}

// SweepAssertions deletes up to limit expired replay records.
func (s *Store) SweepAssertions(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM used_assertions WHERE key IN
		(SELECT key FROM used_assertions WHERE expires_at < $1 LIMIT $2)`, before, limitArg(limit))
	if err != nil {
		return 0, dbErr(err)
	}
	return int(tag.RowsAffected()), nil
}

// CreateSigningKey stores a signing key.
func (s *Store) CreateSigningKey(ctx context.Context, k conncred.SigningKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (id, seed, created_at) VALUES ($1, $2, $3)`, k.ID, k.Seed, k.CreatedAt)
	return dbErr(err)
}

// ListSigningKeys returns every signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]conncred.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, seed, created_at FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conncred.SigningKey, error) {
		var k conncred.SigningKey
		err := r.Scan(&k.ID, &k.Seed, &k.CreatedAt)
		k.CreatedAt = k.CreatedAt.UTC()
		return k, err
	})
	return out, dbErr(err)
}

// AppendAudit stores events in one transaction (one round trip, batched).
func (s *Store) AppendAudit(ctx context.Context, events []conncred.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, e := range events {
			b.Queue(`INSERT INTO audit_events (id, time, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				e.ID, e.Time, e.Kind, e.Actor, e.Source, e.Outcome, e.Reason, e.AppID, e.ConnectorID, e.CredentialID, e.Count)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// ListAudit returns events matching f in id order.
func (s *Store) ListAudit(ctx context.Context, f conncred.AuditFilter) ([]conncred.AuditEvent, error) {
	args := []any{f.After, limitArg(f.Limit)}
	conds := []string{"id > $1"}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if f.ConnectorID != "" {
		add("connector_id = $%d", f.ConnectorID)
	}
	if f.CredentialID != "" {
		add("credential_id = $%d", f.CredentialID)
	}
	if !f.Since.IsZero() {
		add("time >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("time < $%d", f.Until)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, time, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count
		FROM audit_events WHERE `+strings.Join(conds, " AND ")+` ORDER BY id LIMIT $2`, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conncred.AuditEvent, error) {
		var e conncred.AuditEvent
		err := r.Scan(&e.ID, &e.Time, &e.Kind, &e.Actor, &e.Source, &e.Outcome, &e.Reason, &e.AppID, &e.ConnectorID, &e.CredentialID, &e.Count)
		e.Time = e.Time.UTC()
		return e, err
	})
	return out, dbErr(err)
}

// WatchRevocations listens for revocations made by any node and calls fn
// with each revoked credential id, or "" when many were revoked at once or
// when notifications may have been missed (the connection dropped). It
// reconnects with backoff until ctx ends.
func (s *Store) WatchRevocations(ctx context.Context, fn func(credentialID string)) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx, fn, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			break
		}
		_ = err
		fn("") // we may have missed notifications while disconnected
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
	return ctx.Err()
}

func (s *Store) listen(ctx context.Context, fn func(string), connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+revocationChannel); err != nil {
		return err
	}
	connected()
	// Anything revoked between our last notification and this LISTEN was
	// missed; drop caches once now that we are listening.
	fn("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == "*" {
			fn("")
		} else {
			fn(n.Payload)
		}
	}
}
