package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/prefix"
	"github.com/jackc/pgx/v5"
)

// AppendAudit stores events in one transaction (one round trip, batched).
func (s *Store) AppendAudit(ctx context.Context, events []conncred.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, e := range events {
			b.Queue(`INSERT INTO audit_events (id, time, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				e.ID, e.Time, e.Kind, e.Actor, e.Source, e.Outcome, e.Reason, e.AppID, e.ConnectorID, e.CredentialID, e.Count)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// ListAudit returns events matching f in id order (descending when f says
// so). The actor and source prefixes are byte ranges in the "C" collation,
// which their indexes (migration 0016) are built in.
func (s *Store) ListAudit(ctx context.Context, f conncred.AuditFilter) ([]conncred.AuditEvent, error) {
	args := []any{limitArg(f.Limit)}
	conds := []string{"true"}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	// startsWith is column c starting with p, as a range of the index.
	startsWith := func(c, p string) string {
		args = append(args, p)
		cond := fmt.Sprintf(`%s COLLATE "C" >= $%d`, c, len(args))
		if end, ok := prefix.End(p); ok {
			args = append(args, end)
			cond = fmt.Sprintf(`(%s AND %s COLLATE "C" < $%d)`, cond, c, len(args))
		}
		return cond
	}
	order := "id"
	switch {
	case f.Descending:
		order = "id DESC"
		if f.After != "" {
			add("id < $%d", f.After)
		}
	default:
		add("id > $%d", f.After)
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
	if f.Outcome != "" {
		add("outcome = $%d", f.Outcome)
	}
	if f.Actor != "" {
		// In the index's collation, so that the index serves it; equality
		// is the same in every deterministic collation.
		add(`actor COLLATE "C" = $%d`, f.Actor)
	}
	if f.ActorPrefix != "" {
		conds = append(conds, startsWith("actor", f.ActorPrefix))
	}
	// "" matches every source: with it among them, no filter.
	if len(f.SourcePrefixes) > 0 && !slices.Contains(f.SourcePrefixes, "") {
		var or []string
		for _, p := range f.SourcePrefixes {
			or = append(or, startsWith("source", p))
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if !f.Since.IsZero() {
		add("time >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("time < $%d", f.Until)
	}
	return list(ctx, s, func(r pgx.Row) (conncred.AuditEvent, error) {
		var e conncred.AuditEvent
		err := r.Scan(&e.ID, &e.Time, &e.Kind, &e.Actor, &e.Source, &e.Outcome, &e.Reason, &e.AppID, &e.ConnectorID, &e.CredentialID, &e.Count)
		e.Time = e.Time.UTC()
		return e, err
	}, `SELECT id, time, kind, actor, source, outcome, reason, app_id, connector_id, credential_id, count
		FROM audit_events WHERE `+strings.Join(conds, " AND ")+` ORDER BY `+order+` LIMIT $1`, args...)
}
