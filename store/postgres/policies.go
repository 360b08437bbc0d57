package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ policy.Store = (*Store)(nil)

const policyCols = `scope_kind, scope_id, max_lifetime_ns, expiry_warnings_ns, dormancy_threshold_ns, auto_revoke_after_ns, updated_at, require_dpop, offline_after_ns`

// Policy returns what a scope sets, zero if nothing.
func (s *Store) Policy(ctx context.Context, scope policy.Scope) (policy.Policy, error) {
	var p policy.Policy
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		var err error
		_, p, err = scanPolicy(c.QueryRow(ctx, `SELECT `+policyCols+` FROM policies WHERE scope_kind = $1 AND scope_id = $2`, scope.Kind, scope.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			p = policy.Policy{}
			return nil
		}
		return err
	})
	return p, err
}

// ListPolicies returns every stored policy.
func (s *Store) ListPolicies(ctx context.Context) (map[policy.Scope]policy.Policy, error) {
	var out map[policy.Scope]policy.Policy
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		out = map[policy.Scope]policy.Policy{}
		rows, err := c.Query(ctx, `SELECT `+policyCols+` FROM policies`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sc, p, err := scanPolicy(rows)
			if err != nil {
				return err
			}
			out[sc] = p
		}
		return rows.Err()
	})
	return out, err
}

// PutPolicy replaces what a scope sets (an empty policy removes the row)
// and enqueues its webhook events in the same transaction.
func (s *Store) PutPolicy(ctx context.Context, scope policy.Scope, p policy.Policy, events []webhook.Event) error {
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := enqueueIfSubscribed(ctx, tx, events); err != nil {
			return err
		}
		if p.Empty() {
			_, err := tx.Exec(ctx, `DELETE FROM policies WHERE scope_kind = $1 AND scope_id = $2`, scope.Kind, scope.ID)
			return err
		}
		var warnings []int64
		if p.ExpiryWarnings != nil {
			warnings = make([]int64, len(*p.ExpiryWarnings))
			for i, w := range *p.ExpiryWarnings {
				warnings[i] = int64(w)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO policies (`+policyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (scope_kind, scope_id) DO UPDATE SET max_lifetime_ns = EXCLUDED.max_lifetime_ns,
				expiry_warnings_ns = EXCLUDED.expiry_warnings_ns, dormancy_threshold_ns = EXCLUDED.dormancy_threshold_ns,
				auto_revoke_after_ns = EXCLUDED.auto_revoke_after_ns, updated_at = EXCLUDED.updated_at, require_dpop = EXCLUDED.require_dpop,
				offline_after_ns = EXCLUDED.offline_after_ns`,
			scope.Kind, scope.ID, nsPtr(p.MaxLifetime), warnings, nsPtr(p.DormancyThreshold), nsPtr(p.AutoRevokeAfter), p.UpdatedAt, p.RequireDPoP,
			nsPtr(p.OfflineAfter))
		return err
	})
}

func nsPtr(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	v := int64(*d)
	return &v
}

func durPtr(v *int64) *time.Duration {
	if v == nil {
		return nil
	}
	d := time.Duration(*v)
	return &d
}

func scanPolicy(row pgx.Row) (policy.Scope, policy.Policy, error) {
	var sc policy.Scope
	var max, dormant, revoke, offline *int64
	var warnings []int64
	var updated time.Time
	var dpop *bool
	if err := row.Scan(&sc.Kind, &sc.ID, &max, &warnings, &dormant, &revoke, &updated, &dpop, &offline); err != nil {
		return sc, policy.Policy{}, err
	}
	p := policy.Policy{MaxLifetime: durPtr(max), DormancyThreshold: durPtr(dormant), AutoRevokeAfter: durPtr(revoke), OfflineAfter: durPtr(offline), UpdatedAt: updated.UTC(), RequireDPoP: dpop}
	if warnings != nil {
		ws := make([]time.Duration, len(warnings))
		for i, n := range warnings {
			ws[i] = time.Duration(n)
		}
		p.ExpiryWarnings = &ws
	}
	return sc, p, nil
}

// EmittedEvents returns the events recorded for these credentials.
func (s *Store) EmittedEvents(ctx context.Context, credentialIDs []string) ([]policy.Emitted, error) {
	if len(credentialIDs) == 0 {
		return nil, nil
	}
	var out []policy.Emitted
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		out = nil
		rows, err := c.Query(ctx, `SELECT credential_id, kind, threshold, emitted_at FROM policy_events WHERE credential_id = ANY($1)`, credentialIDs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e policy.Emitted
			if err := rows.Scan(&e.CredentialID, &e.Kind, &e.Threshold, &e.At); err != nil {
				return err
			}
			e.Threshold, e.At = e.Threshold.UTC(), e.At.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// EmitEvent records k, appends e and enqueues events in one transaction,
// unless k is recorded already (by this node or another: the primary key
// decides).
func (s *Store) EmitEvent(ctx context.Context, k policy.EventKey, e conncred.AuditEvent, events []webhook.Event) (bool, error) {
	return s.emitOnce(ctx, k, e, events, nil)
}

// emitOnce is every once-only policy event: it records k and, only if k was
// not recorded before, runs also (if any), appends e and enqueues events,
// all in one transaction. It reports whether this call recorded k.
func (s *Store) emitOnce(ctx context.Context, k policy.EventKey, e conncred.AuditEvent, events []webhook.Event, also func(tx pgx.Tx) error) (bool, error) {
	won := false
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		won = false
		tag, err := tx.Exec(ctx, `INSERT INTO policy_events (credential_id, kind, threshold, emitted_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, k.CredentialID, k.Kind, k.Threshold, e.Time)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_events (id, time, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			e.ID, e.Time, e.Kind, e.Actor, e.Source, e.Outcome, e.Reason, e.AppID, e.ConnectorID, e.CredentialID, e.Count); err != nil {
			return err
		}
		if err := enqueueIfSubscribed(ctx, tx, events); err != nil {
			return err
		}
		won = true
		return nil
	})
	return won, err
}
