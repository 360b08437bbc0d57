// Package verifyq lets concurrent Ed25519 signature checks share one batch
// verification, as internal/groupcommit lets concurrent replay records
// share one commit.
//
// A caller that finds fewer than Leaders verifications running leads: it
// takes every pending check (up to the batch limit), verifies them together
// with edverify.VerifyBatch, answers each caller, then hands the lead to
// the oldest caller that arrived meanwhile. No goroutine runs when nothing
// is pending, and a lone caller verifies at once (a batch of one is the
// single check), so batching adds no latency at low concurrency; under
// load, the checks that arrive while every leader is busy share the next
// batch. Every answer is crypto/ed25519.Verify's (edverify.VerifyBatch is
// exact).
//
// Unlike a commit, a verification is CPU work: with one leader at a time
// (as groupcommit has) only one core would verify while the callers of the
// others wait, so Leaders defaults to GOMAXPROCS and every core can lead a
// batch.
//
// # What a bad signature costs the others
//
// A batch whose equation fails verifies every member alone, so each good
// member pays its own single check plus its share of the failed equation
// and of the batch's admission checks. To keep a stream of bad signatures
// from making every batch fail at full size, the batch limit halves after
// every failed equation (down to 1: no batching at all) and grows back by
// one after every batch whose equation held (additive increase,
// multiplicative decrease). So k bad signatures in a row shrink the limit
// to Max/2ᵏ, and at a limit of 1 a bad signature costs nobody but itself;
// what an attacker can still do is wait for the limit to grow back to L
// and then make one failed batch cost its members L shares. BENCHMARKS.md
// ("Batch verification (issue 15)") gives the measured shares.
package verifyq

import (
	"runtime"
	"sync"

	"github.com/conncred/conncred/internal/edverify"
)

// DefaultMax is the batch limit when Queue.Max is 0. Past about 32
// signatures a batch's cost per signature stops falling (BENCHMARKS.md),
// while a failed batch costs its members more the larger it is.
const DefaultMax = 64

// Queue batches the checks of concurrent Verify calls. The zero value is
// ready to use; set Max and Observer before the first call.
type Queue struct {
	// Max bounds one batch (default DefaultMax).
	Max int
	// Leaders bounds the batches verified at once (default GOMAXPROCS).
	Leaders int
	// Observer, if set, is told every batch's size and whether its
	// equation failed, from the verifying goroutine (so it must be quick).
	Observer func(size int, failed bool)

	mu      sync.Mutex
	pending []*waiter
	leading int // callers verifying now; at Leaders, newcomers wait
	limit   int // the batch limit now, 1..max(); 0 until first used
}

type waiter struct {
	item edverify.Item
	done chan result // buffered: the sender never waits
}

type result struct {
	ok   bool
	lead bool // not an answer: verify the pending checks
}

// Verify reports whether sig is a valid signature of msg by k, with
// crypto/ed25519.Verify's answer, verified in a batch with whatever other
// checks are pending.
func (q *Queue) Verify(k *edverify.PublicKey, msg, sig []byte) bool {
	me := &waiter{item: edverify.Item{Key: k, Msg: msg, Sig: sig}, done: make(chan result, 1)}
	q.mu.Lock()
	if q.leading >= q.leaders() {
		q.pending = append(q.pending, me)
		q.mu.Unlock()
		r := <-me.done
		if !r.lead {
			return r.ok
		}
		// Handed the lead by a leader that took us out of pending and
		// left q.leading counting us.
		q.mu.Lock()
	} else {
		q.leading++
	}
	if q.limit == 0 {
		q.limit = q.max()
	}
	n := min(len(q.pending)+1, q.limit)
	batch := append(make([]*waiter, 0, n), me)
	batch = append(batch, q.pending[:n-1]...)
	q.pending = q.pending[n-1:]
	q.mu.Unlock()

	failed, clean, panicked := q.verify(batch)

	q.mu.Lock()
	switch {
	case failed:
		q.limit = max(1, n/2)
	case clean:
		q.limit = min(q.max(), q.limit+1)
	}
	if len(q.pending) > 0 {
		next := q.pending[0]
		q.pending = q.pending[1:]
		next.done <- result{lead: true}
	} else {
		q.leading--
	}
	q.mu.Unlock()
	if panicked != nil {
		panic(panicked) // after the hand-off: the queue goes on without us
	}
	return (<-me.done).ok
}

// Limit returns the batch limit now (Max until a batch fails).
func (q *Queue) Limit() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.limit == 0 {
		return q.max()
	}
	return q.limit
}

func (q *Queue) leaders() int {
	if q.Leaders > 0 {
		return q.Leaders
	}
	return runtime.GOMAXPROCS(0)
}

func (q *Queue) max() int {
	if q.Max > 0 {
		return q.Max
	}
	return DefaultMax
}

// verify checks batch and answers every waiter in it, also when the check
// panics (then all are refused: none may be taken as verified). It reports
// whether the batch equation failed, whether the batch was clean (every
// member accepted without a failed equation), and what it panicked with.
func (q *Queue) verify(batch []*waiter) (failed, clean bool, panicked any) {
	var ok []bool
	defer func() {
		panicked = recover()
		for i, w := range batch {
			w.done <- result{ok: panicked == nil && i < len(ok) && ok[i]}
		}
	}()
	items := make([]edverify.Item, len(batch))
	for i, w := range batch {
		items[i] = w.item
	}
	ok, failed = edverify.VerifyBatch(items)
	if q.Observer != nil {
		q.Observer(len(items), failed)
	}
	clean = !failed
	for _, v := range ok {
		clean = clean && v
	}
	return failed, clean, nil
}
