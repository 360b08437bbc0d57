package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/conncred/conncred"
)

// UseAssertion records key; a second use is EConflict from the primary key.
func (s *Store) UseAssertion(ctx context.Context, key string, expiresAt time.Time) error {
	if s.useStmt == nil { // opened without migrating: no table to prepare against at open
		_, err := s.w.ExecContext(ctx, `INSERT INTO used_assertions (key, expires_us) VALUES (?, ?)`, key, us(expiresAt))
		return dbErr(err)
	}
	_, err := s.useStmt.ExecContext(ctx, key, us(expiresAt))
	return dbErr(err)
}

// SweepAssertions deletes up to limit expired replay records.
func (s *Store) SweepAssertions(ctx context.Context, before time.Time, n int) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM used_assertions WHERE key IN
		(SELECT key FROM used_assertions WHERE expires_us < ? LIMIT ?)`, us(before), limit(n))
	if err != nil {
		return 0, dbErr(err)
	}
	got, err := res.RowsAffected()
	return int(got), dbErr(err)
}

// CreateSigningKey stores a signing key.
func (s *Store) CreateSigningKey(ctx context.Context, k conncred.SigningKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (id, seed, created_us) VALUES (?, ?, ?)`, k.ID, k.Seed, us(k.CreatedAt))
	return dbErr(err)
}

// ListSigningKeys returns every signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]conncred.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, seed, created_us FROM signing_keys ORDER BY created_us, id`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []conncred.SigningKey
	for rows.Next() {
		var k conncred.SigningKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Seed, &created); err != nil {
			return nil, dbErr(err)
		}
		k.CreatedAt = fromUS(created)
		out = append(out, k)
	}
	return out, dbErr(rows.Err())
}

// AppendAudit stores events in one transaction.
func (s *Store) AppendAudit(ctx context.Context, events []conncred.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return s.inTxStmt(ctx, `INSERT INTO audit_events (id, time_us, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(events), func(i int) []any {
		e := events[i]
		return []any{e.ID, us(e.Time), e.Kind, e.Actor, e.Source, e.Outcome, e.Reason, e.AppID, e.ConnectorID, e.CredentialID, e.Count}
	})
}

// inTxStmt runs one prepared statement n times in a write transaction.
func (s *Store) inTxStmt(ctx context.Context, query string, n int, args func(int) []any) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return dbErr(err)
	}
	defer stmt.Close()
	for i := 0; i < n; i++ {
		if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
			return dbErr(err)
		}
	}
	return dbErr(tx.Commit())
}

// ListAudit returns events matching f in id order.
func (s *Store) ListAudit(ctx context.Context, f conncred.AuditFilter) ([]conncred.AuditEvent, error) {
	conds := []string{"id > ?"}
	args := []any{f.After}
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.ConnectorID != "" {
		add("connector_id = ?", f.ConnectorID)
	}
	if f.CredentialID != "" {
		add("credential_id = ?", f.CredentialID)
	}
	if !f.Since.IsZero() {
		add("time_us >= ?", us(f.Since))
	}
	if !f.Until.IsZero() {
		add("time_us < ?", us(f.Until))
	}
	args = append(args, limit(f.Limit))
	rows, err := s.r.QueryContext(ctx, `SELECT id, time_us, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count
		FROM audit_events WHERE `+strings.Join(conds, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []conncred.AuditEvent
	for rows.Next() {
		var e conncred.AuditEvent
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Kind, &e.Actor, &e.Source, &e.Outcome, &e.Reason, &e.AppID, &e.ConnectorID, &e.CredentialID, &e.Count); err != nil {
			return nil, dbErr(err)
		}
		e.Time = fromUS(t)
		out = append(out, e)
	}
	return out, dbErr(rows.Err())
}
