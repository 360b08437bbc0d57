package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// TestReplayBatches drives the group commit with many callers at once, each
// key sent by several of them, so that copies of one key meet in one batch
// as well as across batches: each key must be accepted exactly once, and
// every accepted key must be on disk when its caller is answered.
func TestReplayBatches(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	ctx := context.Background()
	const keys, copies = 200, 4
	exp := t0.Add(time.Hour)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[string]int{}
		failures []error
	)
	start := make(chan struct{})
	for i := range keys * copies {
		key := fmt.Sprintf("%011d.%d", 1_800_000_000, i%keys)
		wg.Go(func() {
			<-start
			err := s.UseAssertion(ctx, key, exp)
			if err == nil {
				// Answered means committed: a reader sees it now.
				var n int
				if qerr := s.r.QueryRowContext(ctx, `SELECT count(*) FROM used_assertions WHERE key = ?`, key).Scan(&n); qerr != nil || n != 1 {
					err = fmt.Errorf("accepted %s, but the table has %d of it (%v)", key, n, qerr)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted[key]++
			case conncred.ErrorCode(err) != conncred.EConflict:
				failures = append(failures, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	if len(accepted) != keys {
		t.Errorf("%d keys accepted, want %d", len(accepted), keys)
	}
	for k, n := range accepted {
		if n != 1 {
			t.Errorf("key %s accepted %d times", k, n)
		}
	}
}

// TestReplayBatchFails: when the batch cannot be written, every caller in
// it gets the error; none is told its assertion was recorded.
func TestReplayBatchFails(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, `DROP TABLE used_assertions`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() { errs[i] = s.UseAssertion(ctx, fmt.Sprintf("k%d", i), t0.Add(time.Hour)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || conncred.ErrorCode(err) == conncred.EConflict {
			t.Errorf("caller %d: got %v, want a database error", i, err)
		}
	}
	// The queue is not stranded: the next caller is answered too.
	if err := s.UseAssertion(ctx, "after", t0.Add(time.Hour)); err == nil {
		t.Error("insert into a dropped table succeeded")
	}
}

// TestReplayCancelledContext: a caller whose request is already gone does
// not record its assertion.
func TestReplayCancelledContext(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.UseAssertion(ctx, "k", t0.Add(time.Hour)); conncred.ErrorCode(err) != conncred.EUnavailable {
		t.Fatalf("got %v, want EUnavailable", err)
	}
	if err := s.UseAssertion(context.Background(), "k", t0.Add(time.Hour)); err != nil {
		t.Fatalf("the cancelled call recorded the key: %v", err)
	}
}
