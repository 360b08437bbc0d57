package groupcommit

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestBatches: many callers at once are answered each with their own
// item's error, in fewer commits than callers, none over Max, and the
// queue is idle again afterwards.
func TestBatches(t *testing.T) {
	var (
		mu      sync.Mutex
		commits int
		sizes   []int
		active  int
	)
	const callers = 500
	q := &Queue[int]{Max: 8}
	q.Commit = func(items []int) []error {
		// The first commit holds until every other caller is waiting, so
		// the rest must be batched: 1 + ceil(499/8) commits.
		for commits == 0 {
			q.mu.Lock()
			n := len(q.pending)
			q.mu.Unlock()
			if n == callers-1 {
				break
			}
			runtime.Gosched()
		}
		mu.Lock()
		commits++
		sizes = append(sizes, len(items))
		active++
		if active > 1 {
			t.Error("two commits at once")
		}
		mu.Unlock()
		errs := make([]error, len(items))
		for i, v := range items {
			if v%3 == 0 {
				errs[i] = fmt.Errorf("item %d refused", v)
			}
		}
		mu.Lock()
		active--
		mu.Unlock()
		return errs
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			<-start
			got[i] = q.Do(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range got {
		if want := i%3 == 0; (err != nil) != want || (err != nil && err.Error() != fmt.Sprintf("item %d refused", i)) {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	total := 0
	for _, n := range sizes {
		total += n
		if n > 8 || n < 1 {
			t.Errorf("a commit of %d items", n)
		}
	}
	if total != callers || commits != 1+(callers-1+7)/8 {
		t.Errorf("%d items in %d commits; want %d in %d", total, commits, callers, 1+(callers-1+7)/8)
	}
	if q.leading || len(q.pending) != 0 {
		t.Errorf("queue not idle: leading %v, %d pending", q.leading, len(q.pending))
	}
	// A lone caller commits at once, alone.
	sizes = nil
	if err := q.Do(1); err != nil || len(sizes) != 1 || sizes[0] != 1 {
		t.Errorf("lone caller: %v, commits %v", err, sizes)
	}
}

// TestMiscountAndPanic: a Commit that answers for the wrong number of items,
// or panics, fails every caller of that commit rather than leaving one
// waiting or telling one its item was written; the panic reaches the
// leader, and the queue still serves the next caller.
func TestMiscountAndPanic(t *testing.T) {
	q := &Queue[int]{Commit: func(items []int) []error { return nil }}
	if err := q.Do(1); !errors.Is(err, errCommitFailed) {
		t.Errorf("miscount: %v", err)
	}
	q.Commit = func([]int) []error { panic("boom") }
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("panic: got %v", r)
			}
		}()
		q.Do(2)
		t.Error("no panic")
	}()
	q.Commit = func(items []int) []error { return make([]error, len(items)) }
	if err := q.Do(3); err != nil {
		t.Errorf("after a panic: %v", err)
	}
}

// TestBatchObserver: the observer is told the size of every commit, the
// same sizes Commit sees, and nothing once removed.
func TestBatchObserver(t *testing.T) {
	var mu sync.Mutex
	var seen, committed []int
	SetBatchObserver(func(n int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, n)
	})
	t.Cleanup(func() { SetBatchObserver(nil) })
	q := &Queue[int]{Max: 4, Commit: func(items []int) []error {
		mu.Lock()
		defer mu.Unlock()
		committed = append(committed, len(items))
		return make([]error, len(items))
	}}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { _ = q.Do(i) })
	}
	wg.Wait()
	total := 0
	for _, n := range seen {
		total += n
	}
	if got, want := fmt.Sprint(seen), fmt.Sprint(committed); got != want {
		t.Errorf("observed sizes %s, committed %s", got, want)
	}
	if total != 50 {
		t.Errorf("observed %d items, want 50", total)
	}
	SetBatchObserver(nil)
	_ = q.Do(1)
	if got, want := len(seen), len(committed)-1; got != want {
		t.Errorf("after removal: %d observations, want %d", got, want)
	}
}
