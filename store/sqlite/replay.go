package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/conncred/conncred"
)

// replayRecord is one UseAssertion waiting for its commit.
type replayRecord struct {
	key       string
	expiresUS int64
}

// commitReplay inserts recs in one transaction (a lone record on its own)
// and returns EConflict for a key already recorded, earlier or in this
// batch, nil for one inserted, or the error that kept the batch from
// committing, for all of them. It is the Commit of s.replay (see
// internal/groupcommit): SQLite admits one writer and a commit is the
// expensive part, so one insert per commit made the write connection the
// bottleneck of concurrent exchanges.
func (s *Store) commitReplay(recs []replayRecord) []error {
	// The callers' contexts are not used: the batch is theirs together, and
	// one caller's cancellation must not fail the others' records. The busy
	// timeout bounds the wait for the write lock.
	ctx := context.Background()
	errs := make([]error, len(recs))
	fail := func(err error) []error {
		err = dbErr(err)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if len(recs) == 1 {
		res, err := s.useAssertionIn(ctx, nil)(recs[0])
		errs[0] = usedErr(res, err)
		return errs
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	insert := s.useAssertionIn(ctx, tx)
	for i, r := range recs {
		res, err := insert(r)
		if err = usedErr(res, err); err != nil && conncred.ErrorCode(err) != conncred.EConflict {
			_ = tx.Rollback()
			return fail(err)
		}
		errs[i] = err
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return errs
}

// useAssertionIn returns the insert of one record, in tx if it is not nil,
// through the prepared statement (bound to tx once, not per record).
func (s *Store) useAssertionIn(ctx context.Context, tx *sql.Tx) func(replayRecord) (sql.Result, error) {
	var exec func(ctx context.Context, args ...any) (sql.Result, error)
	switch {
	case s.useAssertion == nil: // opened without migrating: nothing prepared
		exec = func(ctx context.Context, args ...any) (sql.Result, error) {
			if tx != nil {
				return tx.ExecContext(ctx, useAssertionSQL, args...)
			}
			return s.w.ExecContext(ctx, useAssertionSQL, args...)
		}
	case tx != nil:
		exec = tx.StmtContext(ctx, s.useAssertion).ExecContext
	default:
		exec = s.useAssertion.ExecContext
	}
	return func(r replayRecord) (sql.Result, error) { return exec(ctx, r.key, r.expiresUS) }
}

// usedErr turns an insert that added no row into EConflict.
func usedErr(res sql.Result, err error) error {
	return affectedOr(res, err, func() error {
		return conncred.Errorf(conncred.EConflict, "this assertion has already been used")
	})
}

// useAssertionSQL inserts one replay record. DO NOTHING rather than a
// constraint error: in a batch (see replay.go) a duplicate must not abort
// the others, and no rows affected says "used" without an error to parse.
const useAssertionSQL = `INSERT INTO used_assertions (key, expires_us) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`

// UseAssertion records key until expiresAt. The insert is the replay check:
// the primary key refuses a second one (EConflict), so two exchanges of one
// assertion can never both pass, however they interleave. It returns only
// once the record is committed, batched with concurrent callers' records
// (commitReplay).
func (s *Store) UseAssertion(ctx context.Context, key string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return dbErr(err)
	}
	return dbErr(s.replay.Do(replayRecord{key: key, expiresUS: us(expiresAt)}))
}

// SweepAssertions deletes at most n records that expired before t, oldest
// first, through the expiry index, and returns how many it deleted. The bound
// keeps each sweep a short hold of the write lock.
func (s *Store) SweepAssertions(ctx context.Context, before time.Time, n int) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM used_assertions WHERE key IN
		(SELECT key FROM used_assertions WHERE expires_us < ? ORDER BY expires_us LIMIT ?)`, us(before), pageLimit(n))
	if err != nil {
		return 0, dbErr(err)
	}
	deleted, err := res.RowsAffected()
	return int(deleted), dbErr(err)
}
