package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/conncred/conncred"
)

const auditCols = `id, time_us, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count`

// AppendAudit stores events in one transaction: all of them or, on any
// error, none.
func (s *Store) AppendAudit(ctx context.Context, events []conncred.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_events (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range events {
			if _, err := stmt.ExecContext(ctx, e.ID, us(e.Time), e.Kind, e.Actor, e.Source, e.Outcome, e.Reason,
				e.AppID, e.ConnectorID, e.CredentialID, e.Count); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanAudit(row scanner) (conncred.AuditEvent, error) {
	var e conncred.AuditEvent
	var t int64
	err := row.Scan(&e.ID, &t, &e.Kind, &e.Actor, &e.Source, &e.Outcome, &e.Reason, &e.AppID, &e.ConnectorID, &e.CredentialID, &e.Count)
	e.Time = fromUS(t)
	return e, err
}

// ListAudit returns a page of the events matching f in ID order.
func (s *Store) ListAudit(ctx context.Context, f conncred.AuditFilter) ([]conncred.AuditEvent, error) {
	conds := []string{"id > ?"}
	args := []any{f.After}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
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
	args = append(args, pageLimit(f.Limit))
	return queryAll(ctx, s.r, scanAudit,
		`SELECT `+auditCols+` FROM audit_events WHERE `+strings.Join(conds, " AND ")+` ORDER BY id LIMIT ?`, args...)
}
