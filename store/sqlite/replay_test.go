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
