package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// UseAssertion records key; the primary key makes a second use, from any
// node, EConflict. The table is logged (not UNLOGGED): a crash must not
// forget the assertions already accepted while they are still valid. It
// returns once the record is committed, in one statement with the records
// of concurrent callers on this node (commitReplay).
func (s *Store) UseAssertion(ctx context.Context, key string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return dbErr(err)
	}
	return dbErr(s.replay.Do(replayRecord{key: key, expiresAt: expiresAt}))
}

// replayRecord is one UseAssertion waiting for its commit.
type replayRecord struct {
	key       string
	expiresAt time.Time
}

// commitReplay inserts recs in one statement, one round trip and one
// commit, and returns EConflict for a key already recorded (by any node,
// or earlier in this batch), nil for one inserted, or, when the statement
// fails, its error for all, as the SQLite store does. It is the Commit of s.replay (see internal/groupcommit): every
// exchange writes a record, and a commit's round trip and WAL flush cost
// PostgreSQL far more than the row.
func (s *Store) commitReplay(recs []replayRecord) []error {
	errs := make([]error, len(recs))
	// A key twice in one statement would be inserted once and returned
	// once, and both callers would read that as theirs: only the first
	// copy goes in, the others are replays.
	first := make(map[string]int, len(recs))
	keys := make([]string, 0, len(recs))
	exps := make([]time.Time, 0, len(recs))
	for i, r := range recs {
		if _, dup := first[r.key]; dup {
			errs[i] = errUsed()
			continue
		}
		first[r.key] = i
		keys = append(keys, r.key)
		exps = append(exps, r.expiresAt)
	}
	inserted := make(map[string]bool, len(keys))
	// The callers' contexts are not used: the batch is theirs together, and
	// one caller's cancellation must not fail the others' records. do bounds
	// the statement's time.
	err := s.do(context.Background(), func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `INSERT INTO used_assertions (key, expires_at)
			SELECT * FROM unnest($1::text[], $2::timestamptz[])
			ON CONFLICT (key) DO NOTHING RETURNING key`, keys, exps)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, k := range got {
			inserted[k] = true
		}
		return err
	})
	if err != nil {
		// Nothing of the batch is recorded: every caller gets the error,
		// a copy of a key too (its first copy was not recorded either).
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for key, i := range first {
		if !inserted[key] {
			errs[i] = errUsed()
		}
	}
	return errs
}

func errUsed() error {
	return conncred.Errorf(conncred.EConflict, "this assertion has already been used")
}

// SweepAssertions deletes up to limit expired replay records. The keys go
// through an array so that the delete finds them by primary key: as
// "key IN (SELECT ...)" the planner hashes the batch and scans the whole
// table, whose size is every assertion of the last few minutes. SKIP LOCKED
// lets the sweepers of several nodes take different batches instead of
// queueing behind each other.
func (s *Store) SweepAssertions(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.execTag(ctx, `DELETE FROM used_assertions WHERE key = ANY (ARRAY(
		SELECT key FROM used_assertions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))`, before, limitArg(limit))
	return int(tag.RowsAffected()), err
}
