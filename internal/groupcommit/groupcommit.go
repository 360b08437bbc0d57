// Package groupcommit lets concurrent callers share one database commit.
//
// Every token exchange writes one replay record, and a commit (a WAL write
// in SQLite; a round trip, a WAL flush and an fsync in PostgreSQL) costs
// far more than the row. A Queue gathers the records of callers that
// arrive while a commit is running and writes them in the next one.
//
// The first caller to find no commit running leads: it takes every pending
// item (up to Max), commits them, answers each caller, then hands the lead
// to the oldest caller that arrived meanwhile. No goroutine runs when
// nothing is pending, and a lone caller on an idle server commits at once,
// so batching adds no latency; under load, the items that arrive during one
// commit share the next. A caller is answered only after its item's commit.
package groupcommit

import (
	"sync"
	"sync/atomic"
)

// batchObserver, when set, is told the size of every commit of every
// Queue. It is one hook for the process, not a field of Queue, because the
// queues live inside the stores, and a process serves one set of metrics:
// this way the stores need no option for it and stay free of any metrics
// library.
var batchObserver atomic.Pointer[func(items int)]

// SetBatchObserver makes fn receive the number of items of every commit
// from now on, from the committing goroutine (so it must be quick); nil
// removes it.
func SetBatchObserver(fn func(items int)) {
	if fn == nil {
		batchObserver.Store(nil)
		return
	}
	batchObserver.Store(&fn)
}

// Queue batches the items of concurrent Do calls into calls of Commit. The
// zero value is not usable: set Commit.
type Queue[T any] struct {
	// Commit writes items and returns one error per item, in order (nil:
	// written). It is called by one goroutine at a time.
	Commit func(items []T) []error
	// Max bounds the items of one commit (default 256), so that one
	// commit never holds the database for long.
	Max int

	mu      sync.Mutex
	pending []*waiter[T]
	leading bool // a caller is committing; newcomers wait
}

type waiter[T any] struct {
	item T
	done chan result // buffered: the sender never waits
}

type result struct {
	err  error
	lead bool // not an answer: commit the pending items
}

// Do commits item, with whatever other items are pending, and returns its
// error. It does not take a context: a waiting caller may be handed the
// lead, and one that had left would strand the queue. Commit must bound its
// own time.
func (q *Queue[T]) Do(item T) error {
	me := &waiter[T]{item: item, done: make(chan result, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, me)
	if q.leading {
		q.mu.Unlock()
		r := <-me.done
		if !r.lead {
			return r.err
		}
		q.mu.Lock()
	}
	q.leading = true
	n := len(q.pending)
	if max := q.max(); n > max {
		n = max
	}
	batch := q.pending[:n:n]
	q.pending = append([]*waiter[T](nil), q.pending[n:]...)
	q.mu.Unlock()

	panicked := q.commit(batch)

	q.mu.Lock()
	if len(q.pending) > 0 {
		q.pending[0].done <- result{lead: true}
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	if panicked != nil {
		panic(panicked) // after the hand-off: the queue goes on without us
	}
	return (<-me.done).err
}

func (q *Queue[T]) max() int {
	if q.Max > 0 {
		return q.Max
	}
	return 256
}

// commit runs Commit on batch and answers every waiter in it, also when
// Commit panics or miscounts, so that no caller is left waiting. It returns
// what Commit panicked with, if it did.
func (q *Queue[T]) commit(batch []*waiter[T]) (panicked any) {
	var errs []error
	defer func() {
		panicked = recover()
		for i, w := range batch {
			if len(errs) == len(batch) {
				w.done <- result{err: errs[i]}
			} else {
				w.done <- result{err: errCommitFailed}
			}
		}
	}()
	items := make([]T, len(batch))
	for i, w := range batch {
		items[i] = w.item
	}
	if fn := batchObserver.Load(); fn != nil {
		(*fn)(len(items))
	}
	errs = q.Commit(items)
	return nil
}

// errCommitFailed answers the callers of a commit that panicked or returned
// the wrong number of errors: their items may or may not be written, so
// none may be taken as written.
var errCommitFailed = commitError("group commit failed")

type commitError string

func (e commitError) Error() string { return string(e) }
