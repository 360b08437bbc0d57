package baton

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

const (
	codeDeadlineExceeded = 4
	timeoutMessage       = "no heartbeat from the connector within the heartbeat timeout"
	// batch bounds the rows one pass of a job touches.
	batch = 500
)

// Tick does one pass of the wing's background work at the clock's now:
// it fails running tasks whose heartbeats stopped (retrying them under
// the policy), starts the syncs whose schedule has come, and deletes the
// bytes of uploads left uncommitted for OrphanGrace. Run calls it
// periodically; tests call it after moving a fake clock.
func (s *Service) Tick(ctx context.Context) error {
	now := s.now()
	stale, err := s.store.StaleTasks(ctx, now.Add(-s.cfg.HeartbeatTimeout), batch)
	if err != nil {
		return err
	}
	for _, t := range stale {
		if _, err := s.end(ctx, t, Outcome{State: StateFailed, At: now, ErrorCode: codeDeadlineExceeded, ErrorMessage: timeoutMessage}); err != nil {
			return err
		}
		s.metrics.timeouts.Add(1)
	}
	due, err := s.store.DueSchedules(ctx, now, batch)
	if err != nil {
		return err
	}
	for _, st := range due {
		if err := s.runSchedule(ctx, st, now); err != nil {
			s.log.Warn("scheduled sync not started", "connector_id", st.ConnectorID, "err", err)
		}
	}
	if err := s.sweepOrphans(ctx, now); err != nil {
		s.log.Warn("sweeping uncommitted upload chunks failed", "err", err)
	}
	return nil
}

// runSchedule starts a scheduled sync (unless paused or one is already
// live) and moves the schedule on to its next time after now, so a node
// that was down for hours makes one sync, not one per missed slot.
func (s *Service) runSchedule(ctx context.Context, st Settings, now time.Time) error {
	next, err := nextRun(st.Cron, st.TimeZone, now)
	if err != nil {
		return err
	}
	st.NextRunAt, st.UpdatedAt = &next, now
	if err := s.store.SaveSettings(ctx, st); err != nil {
		return err
	}
	if st.DisabledAt != nil {
		return nil
	}
	c, err := s.store.GetConnector(ctx, st.ConnectorID)
	if err != nil {
		return err
	}
	if c.DeletedAt != nil {
		return nil
	}
	_, err = s.createSync(ctx, c, "schedule", now)
	if conncred.ErrorCode(err) == conncred.EConflict {
		return nil // a sync is live; the schedule does not queue another
	}
	return err
}

// createSync inserts a pending sync_full task for c.
func (s *Service) createSync(ctx context.Context, c conncred.Connector, reason string, now time.Time) (Task, error) {
	t := Task{ID: ksuid.New(now), ConnectorID: c.ID, AppID: c.AppID, Type: TypeSyncFull, State: StatePending,
		Attempt: 1, Reason: reason, CreatedAt: now, NotBefore: now}
	if err := s.store.CreateTask(ctx, t); err != nil {
		if conncred.ErrorCode(err) == conncred.EConflict {
			return Task{}, conncred.Errorf(conncred.EConflict, "a sync of this connector is already pending or running; wait for it to end or cancel it")
		}
		return Task{}, err
	}
	s.changed(c.ID)
	s.metrics.created.Add(1)
	s.audit(ctx, conncred.AuditEvent{Kind: AuditTaskCreated, AppID: c.AppID, ConnectorID: c.ID, Reason: "sync_full " + t.ID + " (" + reason + ")"})
	return t, nil
}

// Run calls Tick every interval until ctx ends. The ticker comes from the
// caller (the clock's, in tests a channel they feed), so no test waits for
// real time. On a store several nodes share (a TaskWatcher) it also
// listens for the other nodes' task writes until ctx ends, and returns
// only once it stopped listening.
func (s *Service) Run(ctx context.Context, tick <-chan time.Time) {
	if w, ok := s.store.(TaskWatcher); ok {
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.watchTasks(ctx, w)
		}()
		defer func() { <-done }()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("baton background pass failed", "err", err)
			}
		}
	}
}
