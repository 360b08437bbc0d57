package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
)

var _ policy.Store = (*Store)(nil)

const policyCols = `scope_kind, scope_id, max_lifetime_ns, expiry_warnings_ns, dormancy_threshold_ns, auto_revoke_after_ns, updated_us, require_dpop, offline_after_ns`

// Policy returns what a scope sets, zero if nothing.
func (s *Store) Policy(ctx context.Context, scope policy.Scope) (policy.Policy, error) {
	_, p, err := scanPolicy(s.r.QueryRowContext(ctx, `SELECT `+policyCols+` FROM policies WHERE scope_kind = ? AND scope_id = ?`, scope.Kind, scope.ID))
	if err == sql.ErrNoRows {
		return policy.Policy{}, nil
	}
	return p, dbErr(err)
}

// ListPolicies returns every stored policy.
func (s *Store) ListPolicies(ctx context.Context) (map[policy.Scope]policy.Policy, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+policyCols+` FROM policies`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[policy.Scope]policy.Policy{}
	for rows.Next() {
		sc, p, err := scanPolicy(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out[sc] = p
	}
	return out, dbErr(rows.Err())
}

// PutPolicy replaces what a scope sets (an empty policy removes the row)
// and enqueues its webhook events in the same transaction.
func (s *Store) PutPolicy(ctx context.Context, scope policy.Scope, p policy.Policy, events []webhook.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := enqueueIfSubscribed(ctx, tx, events); err != nil {
			return err
		}
		if p.Empty() {
			_, err := tx.ExecContext(ctx, `DELETE FROM policies WHERE scope_kind = ? AND scope_id = ?`, scope.Kind, scope.ID)
			return err
		}
		var warnings any
		if p.ExpiryWarnings != nil {
			ns := make([]int64, len(*p.ExpiryWarnings))
			for i, w := range *p.ExpiryWarnings {
				ns[i] = int64(w)
			}
			b, err := json.Marshal(ns)
			if err != nil {
				return err
			}
			warnings = string(b)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO policies (`+policyCols+`) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
			ON CONFLICT (scope_kind, scope_id) DO UPDATE SET max_lifetime_ns = ?3, expiry_warnings_ns = ?4,
				dormancy_threshold_ns = ?5, auto_revoke_after_ns = ?6, updated_us = ?7, require_dpop = ?8, offline_after_ns = ?9`,
			scope.Kind, scope.ID, nsPtr(p.MaxLifetime), warnings, nsPtr(p.DormancyThreshold), nsPtr(p.AutoRevokeAfter), us(p.UpdatedAt), p.RequireDPoP,
			nsPtr(p.OfflineAfter))
		return err
	})
}

func nsPtr(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return int64(*d)
}

func durPtr(v sql.NullInt64) *time.Duration {
	if !v.Valid {
		return nil
	}
	d := time.Duration(v.Int64)
	return &d
}

func scanPolicy(row scanner) (policy.Scope, policy.Policy, error) {
	var sc policy.Scope
	var max, dormant, revoke, offline sql.NullInt64
	var warnings sql.NullString
	var updated int64
	var dpop sql.NullBool
	if err := row.Scan(&sc.Kind, &sc.ID, &max, &warnings, &dormant, &revoke, &updated, &dpop, &offline); err != nil {
		return sc, policy.Policy{}, err
	}
	p := policy.Policy{MaxLifetime: durPtr(max), DormancyThreshold: durPtr(dormant), AutoRevokeAfter: durPtr(revoke), OfflineAfter: durPtr(offline), UpdatedAt: fromUS(updated)}
	if dpop.Valid {
		p.RequireDPoP = &dpop.Bool
	}
	if warnings.Valid {
		var ns []int64
		if err := json.Unmarshal([]byte(warnings.String), &ns); err != nil {
			return sc, p, conncred.WrapError(conncred.EInternal, err, "a stored policy's expiry warnings are malformed")
		}
		ws := make([]time.Duration, len(ns))
		for i, n := range ns {
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
	args := make([]any, len(credentialIDs))
	for i, id := range credentialIDs {
		args[i] = id
	}
	return queryAll(ctx, s.r, func(row scanner) (policy.Emitted, error) {
		var e policy.Emitted
		var th, at int64
		err := row.Scan(&e.CredentialID, &e.Kind, &th, &at)
		e.Threshold, e.At = fromUS(th), fromUS(at)
		return e, err
	}, `SELECT credential_id, kind, threshold_us, emitted_us FROM policy_events
		WHERE credential_id IN (?`+strings.Repeat(", ?", len(args)-1)+`)`, args...)
}

// EmitEvent records k, appends e and enqueues events in one transaction,
// unless k is recorded already.
func (s *Store) EmitEvent(ctx context.Context, k policy.EventKey, e conncred.AuditEvent, events []webhook.Event) (bool, error) {
	return s.emitOnce(ctx, k, e, events, nil)
}

// emitOnce is every once-only policy event: it records k and, only if k was
// not recorded before, runs also (if any), appends e and enqueues events,
// all in one transaction. It reports whether this call recorded k.
func (s *Store) emitOnce(ctx context.Context, k policy.EventKey, e conncred.AuditEvent, events []webhook.Event, also func(tx *sql.Tx) error) (bool, error) {
	won := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		won = false
		res, err := tx.ExecContext(ctx, `INSERT INTO policy_events (credential_id, kind, threshold_us, emitted_us) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, k.CredentialID, k.Kind, us(k.Threshold), us(e.Time))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, us(e.Time), e.Kind, e.Actor, e.Source, e.Outcome, e.Reason, e.AppID, e.ConnectorID, e.CredentialID, e.Count); err != nil {
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
