package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/prefix"
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

// ListAudit returns a page of the events matching f in ID order
// (descending when f says so).
func (s *Store) ListAudit(ctx context.Context, f conncred.AuditFilter) ([]conncred.AuditEvent, error) {
	q, args := auditQuery(f)
	return queryAll(ctx, s.r, scanAudit, q, args...)
}

// auditQuery is ListAudit's query and its arguments.
func auditQuery(f conncred.AuditFilter) (string, []any) {
	where, args := auditWhere(f)
	order, after := "id", "id > ?"
	if f.Descending {
		order, after = "id DESC", "id < ?"
	}
	if f.After != "" || !f.Descending {
		where += " AND " + after
		args = append(args, f.After)
	}
	args = append(args, pageLimit(f.Limit))
	return `SELECT ` + auditCols + ` FROM audit_events WHERE ` + where + ` ORDER BY ` + order + ` LIMIT ?`, args
}

// auditIndexed is the order in which a filter's columns are offered to
// the planner: only the first one present may use its index (audit_by_…,
// each ending in id, so the page comes out of the index in order); the
// others are written +column, which SQLite reads as "not for an index".
// Without statistics SQLite rates every equality alike, and would as soon
// scan every success through audit_by_outcome as one credential's events
// through audit_by_credential; the order is from the most selective
// column to the least.
var auditIndexed = []string{"credential_id", "connector_id", "actor", "source", "kind", "outcome"}

// auditWhere builds the WHERE clause of f without its paging. A prefix is
// the range [p, prefix.End(p)), which the (column, id) index answers.
func auditWhere(f conncred.AuditFilter) (string, []any) {
	// "" matches every source: with it among them, no filter.
	var sources []string
	if !slices.Contains(f.SourcePrefixes, "") {
		sources = f.SourcePrefixes
	}
	present := map[string]bool{
		"credential_id": f.CredentialID != "", "connector_id": f.ConnectorID != "", "actor": f.Actor != "" || f.ActorPrefix != "",
		"source": len(sources) > 0, "kind": f.Kind != "", "outcome": f.Outcome != "",
	}
	indexed := ""
	for _, c := range auditIndexed {
		if present[c] {
			indexed = c
			break
		}
	}
	col := func(c string) string {
		if c == indexed {
			return c
		}
		return "+" + c
	}
	conds := []string{"1"}
	var args []any
	add := func(cond string, arg ...any) {
		conds = append(conds, cond)
		args = append(args, arg...)
	}
	startsWith := func(c, p string) string {
		if end, ok := prefix.End(p); ok {
			args = append(args, p, end)
			return "(" + col(c) + " >= ? AND " + col(c) + " < ?)"
		}
		args = append(args, p)
		return col(c) + " >= ?"
	}
	for _, c := range []struct {
		col, v string
	}{{"credential_id", f.CredentialID}, {"connector_id", f.ConnectorID}, {"actor", f.Actor}, {"kind", f.Kind}, {"outcome", f.Outcome}} {
		if c.v != "" {
			add(col(c.col)+" = ?", c.v)
		}
	}
	if f.ActorPrefix != "" {
		conds = append(conds, startsWith("actor", f.ActorPrefix))
	}
	if len(sources) > 0 {
		var or []string
		for _, p := range sources {
			or = append(or, startsWith("source", p))
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if !f.Since.IsZero() {
		add("time_us >= ?", us(f.Since))
	}
	if !f.Until.IsZero() {
		add("time_us < ?", us(f.Until))
	}
	return strings.Join(conds, " AND "), args
}
