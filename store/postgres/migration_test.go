package postgres

import (
	"strings"
	"testing"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
)

// TestLiveCredentialsIndex: migration 0002 gives PostgreSQL the partial
// index SQLite has, and the active-credential cap's count can use it. The
// table is tiny, so sequential scans are turned off to ask whether the index
// serves the query, not whether the planner prefers it at this size.
func TestLiveCredentialsIndex(t *testing.T) {
	s := open(t, schemaURL(t))
	var def string
	must(t, s.pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes
		WHERE tablename = 'credentials' AND indexname = 'credentials_live_by_connector'
		AND schemaname = current_schema()`).Scan(&def))
	if want := "(connector_id, id, expires_at) WHERE (deleted_at IS NULL)"; !strings.Contains(def, want) {
		t.Fatalf("index: got %q, want it to contain %q", def, want)
	}

	c := newConnector(t, s)
	for range 3 {
		cr := connectorCredential(c)
		must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
		_, err := s.RevokeCredential(ctx, cr.ID, now)
		must(t, err)
	}
	must(t, s.CreateCredential(ctx, connectorCredential(c), conncred.ActiveLimit{}))

	var plan []string
	must(t, pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN SELECT count(*) FROM credentials
			WHERE connector_id = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`, c.ID, now)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	if got := strings.Join(plan, "\n"); !strings.Contains(got, "credentials_live_by_connector") {
		t.Errorf("the cap's count does not use the live index:\n%s", got)
	} else {
		t.Logf("plan:\n%s", got)
	}
}
