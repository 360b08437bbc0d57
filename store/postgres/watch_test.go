package postgres

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/conncred/conncred/clock"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestWatchBackoffOnTheClock checks the watcher's retry schedule against a
// database that refuses every connection, on a fake clock: each failure
// tells the caller to drop its caches, then waits the backoff (doubling up
// to watchMaxBackoff) on the clock, and retries only when it has passed. No
// PostgreSQL is needed and no real time is waited.
func TestWatchBackoffOnTheClock(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every connect is refused at once
	cfg, err := pgxpool.ParseConfig("postgres://conncred@" + addr + "/conncred?sslmode=disable&connect_timeout=3")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := &Store{cfg: cfg, clock: clk, watchIdle: watchIdle}

	dropped := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.WatchRevocations(ctx, func(id string) { dropped <- id }) }()

	wantWaits := []time.Duration{
		100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond,
		watchMaxBackoff, watchMaxBackoff,
	}
	for i, want := range wantWaits {
		select {
		case id := <-dropped:
			if id != "" {
				t.Fatalf("attempt %d: got fn(%q), want fn(\"\")", i, id)
			}
		case <-time.After(10 * time.Second): // bounds a failing test only
			t.Fatalf("attempt %d: the watcher did not report its failure", i)
		}
		next, ok := clk.Next()
		if !ok {
			t.Fatalf("attempt %d: the watcher waits on no timer of the clock", i)
		}
		if got := next.Sub(clk.Now()); got != want {
			t.Fatalf("attempt %d: backoff got %v, want %v", i, got, want)
		}
		clk.Advance(want)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("WatchRevocations returned %v, want context.Canceled", err)
	}
	if got := clk.Waiters(); got != 0 {
		t.Errorf("timers left after the watcher ended: got %d, want 0", got)
	}
}
