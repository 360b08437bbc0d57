package console

import (
	"context"
	"time"
)

// How spent links and sessions are deleted. Every check is made when a
// link or session is read, so a record past its time does no harm; the
// sweep only keeps the tables small. Links and sessions are made by
// people signing in, a handful an hour, so a pass every SweepEvery
// deleting at most sweepBatches batches of sweepBatch keeps up with any
// real load while holding the write lock for a short batch at a time.
//
// The store knows a session's absolute expiry and its end, not the idle
// timeout (a rule, which stores do not hold), so a session that idled out
// stays until its absolute expiry: at most AbsoluteTimeout.
const (
	SweepEvery   = 5 * time.Minute
	sweepBatch   = 500
	sweepBatches = 20
)

// Run sweeps at every tick until ctx ends. The caller makes the ticker
// (on its clock, so that tests drive the sweep with a fake one) and stops
// it.
func (s *Service) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("console: sweeping expired login links and sessions; retrying at the next tick", "err", err)
			}
		}
	}
}

// Sweep deletes the links and sessions that expired, were used or ended
// before now, in batches, and returns how many it deleted. It stops after
// sweepBatches batches (the rest waits for the next pass) or at the first
// error.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	var err error
	for range sweepBatches {
		var n int
		n, err = s.store.SweepConsole(ctx, now, sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			break
		}
	}
	s.obs.SweepRun(total, err)
	return total, err
}
