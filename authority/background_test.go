package authority

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/store/sqlite"
)

// recordingStore reports the background loop's store calls on channels.
type recordingStore struct {
	conncred.Store
	sweeps  chan time.Time // the before of each SweepAssertions
	touches chan []conncred.CredentialUse
	audits  chan []conncred.AuditEvent
	keys    chan struct{}
}

// send never blocks: the loop must not stall on a test that stopped reading.
func send[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}

func (s *recordingStore) SweepAssertions(ctx context.Context, before time.Time, limit int) (int, error) {
	send(s.sweeps, before)
	return s.Store.SweepAssertions(ctx, before, limit)
}

func (s *recordingStore) TouchCredentials(ctx context.Context, uses []conncred.CredentialUse) error {
	send(s.touches, uses)
	return s.Store.TouchCredentials(ctx, uses)
}

func (s *recordingStore) AppendAudit(ctx context.Context, events []conncred.AuditEvent) error {
	send(s.audits, events)
	return s.Store.AppendAudit(ctx, events)
}

func (s *recordingStore) ListSigningKeys(ctx context.Context) ([]conncred.SigningKey, error) {
	send(s.keys, struct{}{})
	return s.Store.ListSigningKeys(ctx)
}

// receive waits for the loop's call. The loop answers a fake tick within
// microseconds; the guard is shorter than every real interval of the loop
// (the 5 s sweep is the shortest fixed one), so a job run by a real ticker
// instead of the fake clock fails the test rather than passing slowly.
func receive[T any](t *testing.T, c chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(3 * time.Second):
		t.Fatalf("advancing the fake clock did not run the %s", what)
		panic("unreachable")
	}
}

// TestTickersFollowTheClock checks each background interval to the
// nanosecond: nothing is due just before it, exactly one tick at it.
func TestTickersFollowTheClock(t *testing.T) {
	cfg := Config{LastUsedInterval: 2 * time.Second, AuditInterval: 3 * time.Second}
	cfg.setDefaults()
	tests := []struct {
		name  string
		every time.Duration
		pick  func(tickers) clock.Ticker
	}{
		{"lastUsedAt flush", cfg.LastUsedInterval, func(t tickers) clock.Ticker { return t.flush }},
		{"audit flush", cfg.AuditInterval, func(t tickers) clock.Ticker { return t.audit }},
		{"replay sweep", replaySweepEvery, func(t tickers) clock.Ticker { return t.sweep }},
		{"key refresh", keyRefreshEvery, func(t tickers) clock.Ticker { return t.keys }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			tk := newTickers(clk, cfg)
			defer tk.stop()
			c := tt.pick(tk).Chan()
			for i := 1; i <= 3; i++ {
				clk.Advance(tt.every - 1)
				select {
				case at := <-c:
					t.Fatalf("tick %d came early, at %v", i, at)
				default:
				}
				clk.Advance(1)
				select {
				case at := <-c:
					if want := t0.Add(time.Duration(i) * tt.every); !at.Equal(want) {
						t.Fatalf("tick %d: got %v, want %v", i, at, want)
					}
				default:
					t.Fatalf("tick %d did not come after %v", i, time.Duration(i)*tt.every)
				}
			}
		})
	}
}

// TestBackgroundRunsOnTheClock drives the authority's background loop by
// advancing a fake clock: each interval runs its job against the store, with
// no sleep and no real interval passing.
func TestBackgroundRunsOnTheClock(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &recordingStore{
		Store:   st,
		sweeps:  make(chan time.Time, 100),
		touches: make(chan []conncred.CredentialUse, 100),
		audits:  make(chan []conncred.AuditEvent, 100),
		keys:    make(chan struct{}, 100),
	}
	clk := clock.NewFake(t0)
	// Intervals far longer than the test, so that only the fake clock can
	// run the jobs: with real tickers the test fails.
	const every = time.Hour
	a, err := New(ctx, Config{LastUsedInterval: every, AuditInterval: every}, rec, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	<-rec.keys // New's own load

	t.Run("replay sweep", func(t *testing.T) {
		start := clk.Now()
		for i := 1; i <= 3; i++ {
			clk.Advance(replaySweepEvery)
			before := receive(t, rec.sweeps, "replay sweep")
			// The sweep deletes what expired before the clock's time when
			// it ran: no earlier than the tick it ran on.
			if want := start.Add(time.Duration(i) * replaySweepEvery); before.Before(want) {
				t.Fatalf("sweep %d: got before=%v, want at least %v", i, before, want)
			}
		}
	})
	t.Run("lastUsedAt flush", func(t *testing.T) {
		a.lastUsed.touch("cred-1", t0, clk.Now())
		clk.Advance(every)
		uses := receive(t, rec.touches, "lastUsedAt flush")
		if len(uses) != 1 || uses[0].ID != "cred-1" {
			t.Fatalf("got uses %+v, want one for cred-1", uses)
		}
	})
	t.Run("audit flush", func(t *testing.T) {
		a.audit.add(conncred.AuditEvent{Kind: "app.created", Time: clk.Now(), Count: 1})
		clk.Advance(every)
		events := receive(t, rec.audits, "audit flush")
		if len(events) != 1 || events[0].Kind != "app.created" {
			t.Fatalf("got events %+v, want one app.created", events)
		}
	})
	t.Run("key refresh", func(t *testing.T) {
		clk.Advance(keyRefreshEvery)
		receive(t, rec.keys, "signing key refresh")
	})
	t.Run("close stops the tickers", func(t *testing.T) {
		a.Close()
		if got := clk.Waiters(); got != 0 {
			t.Errorf("pending tickers after Close: got %d, want 0", got)
		}
	})
}
