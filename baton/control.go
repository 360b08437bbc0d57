package baton

import (
	"context"
	"io"
	"time"

	"github.com/conncred/conncred"
	"github.com/robfig/cron/v3"
)

// Connector sync statuses, as the official API names them.
const (
	SyncStatusUnspecified = "SYNC_STATUS_UNSPECIFIED"
	SyncStatusRunning     = "SYNC_STATUS_RUNNING"
	SyncStatusDone        = "SYNC_STATUS_DONE"
	SyncStatusError       = "SYNC_STATUS_ERROR"
	SyncStatusDisabled    = "SYNC_STATUS_DISABLED"
)

// Status is a connector's sync status for its record in the API.
type Status struct {
	Status         string
	StartedAt      *time.Time
	CompletedAt    *time.Time
	LastError      string
	UpdatedAt      *time.Time
	SyncDisabledAt *time.Time
	CanResumeSync  bool
	Cron, TimeZone string
	NextRunAt      *time.Time
}

// liveConnector returns the connector, checking that it belongs to appID.
func (s *Service) liveConnector(ctx context.Context, appID, connectorID string) (conncred.Connector, error) {
	c, err := s.store.GetConnector(ctx, connectorID)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return c, conncred.Errorf(conncred.ENotFound, "no connector %q in app %q", connectorID, appID)
		}
		return c, err
	}
	if c.AppID != appID || c.DeletedAt != nil {
		return c, conncred.Errorf(conncred.ENotFound, "no connector %q in app %q", connectorID, appID)
	}
	return c, nil
}

func (s *Service) settings(ctx context.Context, connectorID string) (Settings, error) {
	st, err := s.store.GetSettings(ctx, connectorID)
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return Settings{ConnectorID: connectorID}, nil
	}
	return st, err
}

// ForceSync starts a sync of the connector now. A paused connector, or one
// with a sync pending or running, is refused (EConflict) with what to do.
func (s *Service) ForceSync(ctx context.Context, appID, connectorID string) (Task, error) {
	if _, err := admin(ctx); err != nil {
		return Task{}, err
	}
	c, err := s.liveConnector(ctx, appID, connectorID)
	if err != nil {
		return Task{}, err
	}
	st, err := s.settings(ctx, c.ID)
	if err != nil {
		return Task{}, err
	}
	if st.DisabledAt != nil {
		return Task{}, conncred.Errorf(conncred.EConflict, "syncs of this connector are paused; resume them first")
	}
	return s.createSync(ctx, c, "force_sync", s.now())
}

// Pause stops new syncs of the connector (scheduled or forced) and the
// handing out of pending ones. A running sync finishes.
func (s *Service) Pause(ctx context.Context, appID, connectorID string) (Status, error) {
	return s.setPaused(ctx, appID, connectorID, true)
}

// Resume undoes Pause.
func (s *Service) Resume(ctx context.Context, appID, connectorID string) (Status, error) {
	return s.setPaused(ctx, appID, connectorID, false)
}

func (s *Service) setPaused(ctx context.Context, appID, connectorID string, pause bool) (Status, error) {
	if _, err := admin(ctx); err != nil {
		return Status{}, err
	}
	c, err := s.liveConnector(ctx, appID, connectorID)
	if err != nil {
		return Status{}, err
	}
	st, err := s.settings(ctx, c.ID)
	if err != nil {
		return Status{}, err
	}
	now := s.now()
	changed := (st.DisabledAt == nil) == pause
	if changed {
		kind := AuditSyncResumed
		st.DisabledAt = nil
		if pause {
			kind = AuditSyncPaused
			st.DisabledAt = &now
		}
		st.UpdatedAt = now
		if err := s.store.SaveSettings(ctx, st); err != nil {
			return Status{}, err
		}
		s.changed(c.ID) // a resumed connector's pending tasks are claimable
		s.audit(ctx, conncred.AuditEvent{Kind: kind, AppID: c.AppID, ConnectorID: c.ID})
	}
	return s.status(ctx, c)
}

// SetSchedule sets (or, with an empty spec, removes) the connector's sync
// schedule: a five-field cron spec read in the IANA time zone tz ("" is
// UTC).
func (s *Service) SetSchedule(ctx context.Context, appID, connectorID, spec, tz string) (Status, error) {
	if _, err := admin(ctx); err != nil {
		return Status{}, err
	}
	c, err := s.liveConnector(ctx, appID, connectorID)
	if err != nil {
		return Status{}, err
	}
	st, err := s.settings(ctx, c.ID)
	if err != nil {
		return Status{}, err
	}
	now := s.now()
	st.Cron, st.TimeZone, st.NextRunAt, st.UpdatedAt = spec, tz, nil, now
	if spec != "" {
		next, err := nextRun(spec, tz, now)
		if err != nil {
			return Status{}, err
		}
		st.NextRunAt = &next
	}
	if err := s.store.SaveSettings(ctx, st); err != nil {
		return Status{}, err
	}
	s.audit(ctx, conncred.AuditEvent{Kind: AuditScheduleChanged, AppID: c.AppID, ConnectorID: c.ID, Reason: truncate("cron "+spec+" "+tz, 200)})
	return s.status(ctx, c)
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// nextRun is the first time after now that spec names, in tz.
func nextRun(spec, tz string, now time.Time) (time.Time, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return time.Time{}, conncred.Errorf(conncred.EInvalid, "unknown time zone %q; use an IANA name such as Europe/Berlin", tz)
		}
		loc = l
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return time.Time{}, conncred.Errorf(conncred.EInvalid, "cron spec %q: %v; use five fields (minute hour day-of-month month day-of-week), e.g. \"0 3 * * *\"", spec, err)
	}
	next := sched.Next(now.In(loc))
	if next.IsZero() {
		return time.Time{}, conncred.Errorf(conncred.EInvalid, "cron spec %q never fires", spec)
	}
	return next.UTC(), nil
}

// Status returns the connector's sync status.
func (s *Service) Status(ctx context.Context, appID, connectorID string) (Status, error) {
	if _, err := admin(ctx); err != nil {
		return Status{}, err
	}
	c, err := s.liveConnector(ctx, appID, connectorID)
	if err != nil {
		return Status{}, err
	}
	return s.status(ctx, c)
}

// StatusOf returns the sync status of a connector the caller has already
// read through the authority (which authorized it), for the connector
// record's status, syncDisabledAt and canResumeSync.
func (s *Service) StatusOf(ctx context.Context, c conncred.Connector) (Status, error) {
	return s.status(ctx, c)
}

func (s *Service) status(ctx context.Context, c conncred.Connector) (Status, error) {
	st, err := s.settings(ctx, c.ID)
	if err != nil {
		return Status{}, err
	}
	out := Status{Status: SyncStatusUnspecified, SyncDisabledAt: st.DisabledAt, CanResumeSync: st.DisabledAt != nil,
		Cron: st.Cron, TimeZone: st.TimeZone, NextRunAt: st.NextRunAt}
	last, err := s.store.ListTasks(ctx, TaskFilter{ConnectorID: c.ID, Type: TypeSyncFull, Descending: true, Limit: 1})
	if err != nil {
		return Status{}, err
	}
	if len(last) == 1 {
		t := last[0]
		out.StartedAt, out.UpdatedAt = t.StartedAt, &t.CreatedAt
		switch t.State {
		case StatePending, StateRunning:
			out.Status = SyncStatusRunning
		case StateFinished:
			out.Status, out.CompletedAt = SyncStatusDone, t.FinishedAt
		default:
			out.Status, out.CompletedAt, out.LastError = SyncStatusError, t.FinishedAt, t.ErrorMessage
		}
		for _, at := range []*time.Time{t.StartedAt, t.HeartbeatAt, t.FinishedAt} {
			if at != nil && at.After(*out.UpdatedAt) {
				out.UpdatedAt = at
			}
		}
	}
	if st.DisabledAt != nil {
		out.Status = SyncStatusDisabled
	}
	return out, nil
}

// ListHosts lists the connector's hosts.
func (s *Service) ListHosts(ctx context.Context, appID, connectorID, after string, limit int) ([]Host, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	if _, err := s.liveConnector(ctx, appID, connectorID); err != nil {
		return nil, err
	}
	return s.store.ListHosts(ctx, connectorID, after, limit)
}

// ListTasks lists the connector's tasks, newest first; syncOnly keeps
// sync_full tasks (the syncs).
func (s *Service) ListTasks(ctx context.Context, appID, connectorID string, syncOnly bool, after string, limit int) ([]Task, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	if _, err := s.liveConnector(ctx, appID, connectorID); err != nil {
		return nil, err
	}
	f := TaskFilter{ConnectorID: connectorID, After: after, Limit: limit, Descending: true}
	if syncOnly {
		f.Type = TypeSyncFull
	}
	return s.store.ListTasks(ctx, f)
}

// Artifacts returns the .c1z of each task (Key empty where none was
// uploaded), for a page of syncs: one lookup per task, at most a page's.
func (s *Service) Artifacts(ctx context.Context, tasks []Task) ([]Artifact, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	out := make([]Artifact, len(tasks))
	for i, t := range tasks {
		a, err := s.store.GetArtifact(ctx, t.ID, KindC1Z)
		if err != nil && conncred.ErrorCode(err) != conncred.ENotFound {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// GetSync returns one sync of the connector and its artifact (Key empty
// when none was uploaded).
func (s *Service) GetSync(ctx context.Context, appID, connectorID, syncID string) (Task, Artifact, error) {
	if _, err := admin(ctx); err != nil {
		return Task{}, Artifact{}, err
	}
	if _, err := s.liveConnector(ctx, appID, connectorID); err != nil {
		return Task{}, Artifact{}, err
	}
	t, err := s.store.GetTask(ctx, syncID)
	if err != nil || t.ConnectorID != connectorID || t.Type != TypeSyncFull {
		if err == nil || conncred.ErrorCode(err) == conncred.ENotFound {
			return Task{}, Artifact{}, conncred.Errorf(conncred.ENotFound, "no sync %q of connector %q", syncID, connectorID)
		}
		return Task{}, Artifact{}, err
	}
	a, err := s.store.GetArtifact(ctx, t.ID, KindC1Z)
	if err != nil && conncred.ErrorCode(err) != conncred.ENotFound {
		return Task{}, Artifact{}, err
	}
	return t, a, nil
}

// CancelTask cancels a pending task at once, or a running one at its next
// heartbeat.
func (s *Service) CancelTask(ctx context.Context, appID, connectorID, taskID string) (Task, error) {
	if _, err := admin(ctx); err != nil {
		return Task{}, err
	}
	if _, err := s.liveConnector(ctx, appID, connectorID); err != nil {
		return Task{}, err
	}
	t, err := s.store.GetTask(ctx, taskID)
	if err != nil || t.ConnectorID != connectorID {
		if err == nil || conncred.ErrorCode(err) == conncred.ENotFound {
			return Task{}, conncred.Errorf(conncred.ENotFound, "no task %q of connector %q", taskID, connectorID)
		}
		return Task{}, err
	}
	switch t.State {
	case StatePending:
		return s.end(ctx, t, Outcome{State: StateCancelled, At: s.now(), ErrorMessage: "cancelled by an operator"})
	case StateRunning:
		return s.store.RequestCancel(ctx, t.ID)
	}
	return t, nil
}

// OpenArtifact returns the bytes of an artifact found by GetSync. The
// caller has already been authorized by GetSync or by a signed URL.
func (s *Service) OpenArtifact(ctx context.Context, a Artifact) (io.ReadCloser, error) {
	if a.Key == "" {
		return nil, conncred.Errorf(conncred.ENotFound, "this sync has no uploaded artifact")
	}
	return s.artifacts.Open(ctx, a.Key)
}

// ArtifactFor returns a task's .c1z metadata without an admin check, for
// a download through a signed URL (the signature is the authorization).
func (s *Service) ArtifactFor(ctx context.Context, taskID string) (Artifact, error) {
	return s.store.GetArtifact(ctx, taskID, KindC1Z)
}
