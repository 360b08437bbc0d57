package console_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/console"
)

type sweepRun struct {
	deleted int
	err     error
}

// sweepRecorder is a console.Observer that hands each sweep to the test.
type sweepRecorder struct{ runs chan sweepRun }

func (r *sweepRecorder) SweepRun(deleted int, err error) { r.runs <- sweepRun{deleted, err} }

// TestSweepRunsOnTicks: each tick sweeps the links and sessions spent by
// then, and tells the observer; live ones stay; Run returns when its
// context ends.
func TestSweepRunsOnTicks(t *testing.T) {
	f := newFixture(t)
	_, as := f.admin(t)
	f.link(t, as) // will expire
	tok, _ := f.link(t, as)
	cookie, _ := f.signIn(t, tok) // its link is used
	gone, _ := f.link(t, as)
	outCookie, _ := f.signIn(t, gone)
	if err := f.svc.SignOut(browser(), outCookie); err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.Run(ctx, ticks)
	}()

	f.clock.Advance(time.Microsecond) // the used links and the sign-out are now in the past
	ticks <- f.clock.Now()
	// Two used links and one ended session; the unused link has not expired.
	if got := <-f.obs.runs; got.deleted != 3 || got.err != nil {
		t.Errorf("first sweep: %+v, want 3 deleted", got)
	}
	f.clock.Advance(console.LinkLifetime)
	ticks <- f.clock.Now()
	if got := <-f.obs.runs; got.deleted != 1 || got.err != nil {
		t.Errorf("second sweep: %+v, want the expired link deleted", got)
	}
	if _, _, err := f.svc.Resume(browser(), cookie); err != nil {
		t.Errorf("the live session after the sweeps: %v", err)
	}
	cancel()
	<-done
}

// failingStore fails every sweep.
type failingStore struct{ console.Store }

func (failingStore) SweepConsole(context.Context, time.Time, int) (int, error) {
	return 0, conncred.Errorf(conncred.EUnavailable, "database unavailable")
}

// TestSweepError: a failed sweep is reported to the observer and returned.
func TestSweepError(t *testing.T) {
	f := newFixture(t)
	svc := console.New(f.auth, failingStore{f.store}, f.clock, console.Config{Observer: f.obs})
	n, err := svc.Sweep(context.Background())
	if n != 0 || conncred.ErrorCode(err) != conncred.EUnavailable {
		t.Errorf("Sweep = %d, %v; want 0 and the store's error", n, err)
	}
	if got := <-f.obs.runs; got.deleted != 0 || !errors.Is(got.err, err) {
		t.Errorf("observed %+v, want the error", got)
	}
}
