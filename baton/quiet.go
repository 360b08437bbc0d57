package baton

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Empty polls without the store. Nearly every GetTask finds nothing (a
// connector syncs a few times a day and polls every few seconds), and
// before this each empty poll cost two store reads: measured, 17% of a
// kept-alive poll's server CPU on SQLite. So a poll that finds nothing
// leaves a mark, "this connector has nothing to hand out until T", and
// the polls after it answer from the mark alone.
//
// A mark is dropped by whatever can make a task claimable sooner:
//   - a task created or settings saved (force_sync, schedule, retry,
//     hello, resume) by this node: the write returns, then the mark goes;
//   - the same on another node sharing the database: a store that is
//     shared (a TaskWatcher, PostgreSQL) announces every such write to
//     every node (LISTEN/NOTIFY, sent by the writing statement itself), and
//     marks are used only while this node listens; losing the listener
//     drops them all;
//   - time: T is the earliest NotBefore of the connector's pending tasks
//     (a retry's back-off), and never more than QuietTTL ahead, the
//     backstop for a write no node announces (a row changed by hand). A
//     mark lasts a random half to all of QuietTTL, so the marks a node
//     sets together (every connector's first poll after a restart) do
//     not all end, and read the store, together.
//
// A poll's store read may race a write: the write's mark-dropping can
// come between the read and the setting of the mark. Every drop moves an
// epoch, and a poll sets its mark only if the epoch is what it was before
// its read began, so a mark never outlives a write it did not see.

// TaskWatcher is implemented by stores that several nodes share.
// WatchTasks calls fn with a connector's id whenever any node creates a
// task for it or saves its settings, until ctx ends, reconnecting on its
// own. It calls listening(true) once notices flow (first and after every
// reconnect) and listening(false) when they stop: notices may then be
// missed until it listens again.
type TaskWatcher interface {
	WatchTasks(ctx context.Context, fn func(connectorID string), listening func(bool)) error
}

// maxQuietMarks bounds the marks a node keeps; past it they are all
// dropped, which costs one store read per connector and keeps memory flat.
const maxQuietMarks = 200_000

// quietMarks are the "nothing to hand out" marks of one node.
type quietMarks struct {
	mu sync.Mutex
	// enabled is false while a shared store's watcher does not listen.
	enabled bool
	// epoch moves on every drop, so a poll that raced one keeps no mark.
	epoch uint64
	until map[string]time.Time
}

// begin returns the epoch a poll's store read starts in, and whether the
// poll may leave a mark at all.
func (q *quietMarks) begin() (uint64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.epoch, q.enabled
}

// mark records that connectorID has nothing to hand out before until, if
// nothing was dropped since epoch.
func (q *quietMarks) mark(connectorID string, until time.Time, epoch uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.enabled || q.epoch != epoch {
		return
	}
	if q.until == nil || len(q.until) >= maxQuietMarks {
		q.until = map[string]time.Time{}
	}
	q.until[connectorID] = until
}

// holds reports whether connectorID's mark says it has nothing at now.
func (q *quietMarks) holds(connectorID string, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	until, ok := q.until[connectorID]
	return ok && q.enabled && now.Before(until)
}

// forget drops connectorID's mark, or every mark for "".
func (q *quietMarks) forget(connectorID string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.epoch++
	if connectorID == "" {
		clear(q.until)
	} else {
		delete(q.until, connectorID)
	}
}

// enable turns marks on or off; either way the old ones go.
func (q *quietMarks) enable(on bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.epoch++
	q.enabled = on
	clear(q.until)
}

// quietUntil is how long a poll at now that claimed nothing may leave
// its mark: until the earliest pending task's NotBefore (next, zero when
// none is pending), at most ttl ahead. Zero means no mark.
func quietUntil(now, next time.Time, ttl time.Duration) time.Time {
	until := now.Add(ttl)
	if !next.IsZero() && next.Before(until) {
		until = next
	}
	if !until.After(now) {
		return time.Time{}
	}
	return until
}

// quietTTL is how long a new mark may last at most: a random half to all
// of QuietTTL.
func (s *Service) quietTTL() time.Duration {
	half := s.cfg.QuietTTL / 2
	return half + rand.N(s.cfg.QuietTTL-half+1)
}

// watchTasks drops marks on the notices of a shared store until ctx ends.
func (s *Service) watchTasks(ctx context.Context, w TaskWatcher) {
	_ = w.WatchTasks(ctx, func(connectorID string) {
		s.metrics.taskNotices.Add(1)
		s.quiet.forget(connectorID)
	}, func(on bool) {
		if !on {
			s.metrics.taskWatchLost.Add(1)
		}
		s.quiet.enable(on)
	})
}

// changed drops connectorID's mark after this node wrote something that
// may give it a task sooner; called once the write has returned.
func (s *Service) changed(connectorID string) { s.quiet.forget(connectorID) }
