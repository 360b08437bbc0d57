package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/conncred/conncred"
)

// maxReplayBatch bounds one commit of replay records, so that the write lock
// is never held long for other writers.
const maxReplayBatch = 256

// replayQueue group-commits the replay records of concurrent token
// exchanges. Every exchange inserts one, SQLite admits one writer, and a
// commit is the expensive part (WAL frames written, locks taken and
// released), so one insert per commit made the write connection the
// server's bottleneck: exchanges queued for it while the CPU sat idle.
//
// The first caller to find no commit running leads: it takes every pending
// record, inserts them in one transaction, answers each caller, then hands
// the lead to the oldest caller that arrived meanwhile. No goroutine runs
// when nothing is pending, and an idle server commits a lone record at once,
// so batching adds no latency; under load, the records that arrive during
// one commit share the next. A caller is answered only after its record is
// committed: a token is never issued on a replay record that a crash could
// lose.
type replayQueue struct {
	mu      sync.Mutex
	pending []*pendingRecord
	leading bool // a caller is committing; newcomers wait
}

type pendingRecord struct {
	key       string
	expiresUS int64
	done      chan replayResult // buffered: the sender never waits
}

type replayResult struct {
	err  error
	lead bool // not an answer: commit the pending records
}

func (q *replayQueue) use(s *Store, key string, expiresUS int64) error {
	me := &pendingRecord{key: key, expiresUS: expiresUS, done: make(chan replayResult, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, me)
	if q.leading {
		q.mu.Unlock()
		// No select on the caller's context: a waiter may be handed the
		// lead, and one that had left would strand the queue. A commit is
		// bounded by the busy timeout.
		r := <-me.done
		if !r.lead {
			return r.err
		}
		q.mu.Lock()
	}
	q.leading = true
	n := min(len(q.pending), maxReplayBatch)
	batch := q.pending[:n:n]
	q.pending = append([]*pendingRecord(nil), q.pending[n:]...)
	q.mu.Unlock()

	s.commitReplay(batch)

	q.mu.Lock()
	if len(q.pending) > 0 {
		q.pending[0].done <- replayResult{lead: true}
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	return (<-me.done).err
}

// commitReplay inserts batch and answers every record in it: EConflict for a
// key already recorded (earlier or in this batch), nil for one inserted, or
// the error that kept the batch from committing, for all of them.
func (s *Store) commitReplay(batch []*pendingRecord) {
	// The callers' contexts are not used: the batch is theirs together, and
	// one caller's cancellation must not fail the others' records.
	ctx := context.Background()
	if len(batch) == 1 {
		p := batch[0]
		res, err := s.execUseAssertion(ctx, nil, p)
		p.done <- replayResult{err: usedErr(res, err)}
		return
	}
	fail := func(err error) {
		err = dbErr(err)
		for _, p := range batch {
			p.done <- replayResult{err: err}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	errs := make([]error, len(batch))
	for i, p := range batch {
		res, err := s.execUseAssertion(ctx, tx, p)
		if err = usedErr(res, err); err != nil && conncred.ErrorCode(err) != conncred.EConflict {
			_ = tx.Rollback()
			fail(err)
			return
		}
		errs[i] = err
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, p := range batch {
		p.done <- replayResult{err: errs[i]}
	}
}

// execUseAssertion runs the prepared insert, in tx if it is not nil.
func (s *Store) execUseAssertion(ctx context.Context, tx *sql.Tx, p *pendingRecord) (sql.Result, error) {
	switch {
	case s.useAssertion == nil: // opened without migrating: nothing prepared
		if tx != nil {
			return tx.ExecContext(ctx, useAssertionSQL, p.key, p.expiresUS)
		}
		return s.w.ExecContext(ctx, useAssertionSQL, p.key, p.expiresUS)
	case tx != nil:
		return tx.StmtContext(ctx, s.useAssertion).ExecContext(ctx, p.key, p.expiresUS)
	default:
		return s.useAssertion.ExecContext(ctx, p.key, p.expiresUS)
	}
}

// usedErr turns an insert that added no row into EConflict.
func usedErr(res sql.Result, err error) error {
	if err != nil {
		return dbErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(err)
	}
	if n == 0 {
		return conncred.Errorf(conncred.EConflict, "this assertion has already been used")
	}
	return nil
}
