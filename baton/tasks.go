package baton

import (
	"context"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// Audit event kinds of the wing.
const (
	AuditHostSeen        = "baton.host.hello"
	AuditTaskCreated     = "baton.task.created"
	AuditTaskFinished    = "baton.task.finished"
	AuditTaskTimedOut    = "baton.task.timed_out"
	AuditTaskCancelled   = "baton.task.cancelled"
	AuditArtifactStored  = "baton.artifact.stored"
	AuditSyncPaused      = "baton.sync.paused"
	AuditSyncResumed     = "baton.sync.resumed"
	AuditScheduleChanged = "baton.schedule.changed"
)

var taskIDPattern = regexp.MustCompile(`^[a-zA-Z0-9]{27}$`)

// checkHostID applies the protocol's rule: 1–256 runes.
func checkHostID(h string) error {
	if n := utf8.RuneCountInString(h); n < 1 || n > 256 || !utf8.ValidString(h) {
		return conncred.Errorf(conncred.EInvalid, "host_id must be 1 to 256 characters (BATON_HOST_ID or the hostname)")
	}
	return nil
}

// checkTaskID applies the protocol's rule: 27 alphanumeric characters.
func checkTaskID(id string) error {
	if !taskIDPattern.MatchString(id) {
		return conncred.Errorf(conncred.EInvalid, "task_id must be 27 letters and digits, as GetTask handed it out")
	}
	return nil
}

// HelloRequest is what a connector says about itself.
type HelloRequest struct {
	HostID, TaskID                            string
	DisplayName, Description                  string
	Package, PackageVersion, LangVersion      string
	OS                                        OSInfo
	HasBuildInfo, HasOSInfo, HasConnectorMeta bool
}

// Hello records the calling connector's host. Several hosts per connector
// are kept; a repeated Hello moves LastSeenAt and refreshes the details.
// It never requires anything before it: a v0.2.x connector's first GetTask
// overtakes its Hello.
func (s *Service) Hello(ctx context.Context, req HelloRequest) error {
	p, err := connector(ctx)
	if err != nil {
		return err
	}
	if err := checkHostID(req.HostID); err != nil {
		return err
	}
	var asked Task
	if req.TaskID != "" {
		t, err := s.ownTask(ctx, p, req.TaskID)
		if err != nil {
			return err
		}
		asked = t
	}
	for _, v := range []string{req.DisplayName, req.Description, req.Package, req.PackageVersion, req.LangVersion,
		req.OS.Hostname, req.OS.OS, req.OS.Platform, req.OS.PlatformVersion, req.OS.PlatformFamily,
		req.OS.KernelVersion, req.OS.KernelArch, req.OS.VirtualizationSystem} {
		if utf8.RuneCountInString(v) > 1024 || !utf8.ValidString(v) {
			return conncred.Errorf(conncred.EInvalid, "hello fields must be valid UTF-8 of at most 1024 characters")
		}
	}
	now := s.now()
	h := Host{
		ConnectorID: p.ConnectorID, HostID: req.HostID, DisplayName: req.DisplayName, Description: req.Description,
		Package: req.Package, PackageVersion: req.PackageVersion, LangVersion: req.LangVersion, OS: req.OS,
		FirstSeenAt: now, LastSeenAt: now,
	}
	if err := s.store.SaveHost(ctx, h); err != nil {
		return err
	}
	s.sawHello(p.ConnectorID, req.HostID)
	s.metrics.hellos.Add(1)
	s.audit(ctx, conncred.AuditEvent{Kind: AuditHostSeen, AppID: p.AppID, ConnectorID: p.ConnectorID, CredentialID: p.CredentialID, Reason: "host " + truncate(req.HostID, 64)})
	if asked.ID != "" {
		return s.answerHello(ctx, asked)
	}
	return nil
}

// Poll is what a GetTask or GetTasks reply carries besides its tasks.
type Poll struct {
	Tasks         []Task
	NextPoll      time.Duration
	NextHeartbeat time.Duration
}

// NextTasks hands the calling connector up to n of its pending tasks (at
// least one, at most MaxTasksPerPoll), marking them running on host, and
// always says when to poll and heartbeat next. A paused connector gets
// none. A poll that finds nothing leaves a mark that answers the next
// ones without the store (quiet.go) until a write or time ends it.
func (s *Service) NextTasks(ctx context.Context, host string, n int) (Poll, error) {
	p, err := connector(ctx)
	if err != nil {
		return Poll{}, err
	}
	if err := checkHostID(host); err != nil {
		return Poll{}, err
	}
	n = min(max(n, 1), s.cfg.MaxTasksPerPoll)
	poll := Poll{NextPoll: s.cfg.PollInterval, NextHeartbeat: s.cfg.HeartbeatInterval}
	s.metrics.polls.Add(1)
	now := s.now()
	if s.quiet.holds(p.ConnectorID, now) && s.helloSettled(p.ConnectorID, host, now) {
		s.metrics.quietPolls.Add(1)
		return poll, nil
	}
	epoch, canMark := s.quiet.begin()
	st, err := s.store.GetSettings(ctx, p.ConnectorID)
	if err != nil && conncred.ErrorCode(err) != conncred.ENotFound {
		return Poll{}, err
	}
	if st.DisabledAt != nil {
		if canMark {
			s.quiet.mark(p.ConnectorID, now.Add(s.quietTTL()), epoch) // until resumed
		}
		return poll, nil
	}
	tasks, next, err := s.store.ClaimTasks(ctx, p.ConnectorID, host, now, n)
	if err != nil {
		return Poll{}, err
	}
	if len(tasks) == 0 && canMark {
		if until := quietUntil(now, next, s.quietTTL()); !until.IsZero() {
			s.quiet.mark(p.ConnectorID, until, epoch)
		}
	}
	if len(tasks) < n {
		due, err := s.helloDue(ctx, p, host, now)
		if err != nil {
			return Poll{}, err
		}
		if due {
			more, err := s.askHello(ctx, p, host, now)
			if err != nil {
				return Poll{}, err
			}
			tasks = append(tasks, more...)
		}
	}
	s.metrics.claimed.Add(int64(len(tasks)))
	poll.Tasks = tasks
	return poll, nil
}

// Beat is the answer to one heartbeat.
type Beat struct {
	NextHeartbeat time.Duration
	// Cancelled lists the ids, of those beaten, that the connector must
	// stop: cancelled by an operator, or already given up by the server
	// (timed out and handed to a retry).
	Cancelled []string
}

// Heartbeat records that the calling connector still works on ids (the
// single task_id and the batch task_ids of one request). An unknown id, or
// another connector's, is ENotFound. A task whose cancellation was
// requested is cancelled now, and its id comes back in Cancelled.
func (s *Service) Heartbeat(ctx context.Context, host string, ids []string) (Beat, error) {
	p, err := connector(ctx)
	if err != nil {
		return Beat{}, err
	}
	if err := checkHostID(host); err != nil {
		return Beat{}, err
	}
	if len(ids) == 0 {
		return Beat{}, conncred.Errorf(conncred.EInvalid, "heartbeat names no task: set task_id (or task_ids)")
	}
	if len(ids) > 100 {
		return Beat{}, conncred.Errorf(conncred.EInvalid, "heartbeat names %d tasks; at most 100", len(ids))
	}
	for _, id := range ids {
		if err := checkTaskID(id); err != nil {
			return Beat{}, err
		}
	}
	ids = dedupe(ids)
	now := s.now()
	tasks, err := s.store.BeatTasks(ctx, p.ConnectorID, ids, now)
	if err != nil {
		return Beat{}, err
	}
	if len(tasks) != len(ids) {
		return Beat{}, conncred.Errorf(conncred.ENotFound, "no such task for this connector")
	}
	s.metrics.heartbeats.Add(1)
	beat := Beat{NextHeartbeat: s.cfg.HeartbeatInterval}
	for _, t := range tasks {
		switch {
		case t.State == StateRunning && t.CancelRequested:
			if _, err := s.end(ctx, t, Outcome{State: StateCancelled, At: now, ErrorMessage: "cancelled by an operator"}); err != nil {
				return Beat{}, err
			}
			beat.Cancelled = append(beat.Cancelled, t.ID)
		case t.State != StateRunning:
			// Final already: cancelled, or failed by a timeout and
			// retried elsewhere. Either way this run must stop.
			beat.Cancelled = append(beat.Cancelled, t.ID)
		}
	}
	return beat, nil
}

func dedupe(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// FinishRequest is a connector's report of a task's end.
type FinishRequest struct {
	HostID, TaskID string
	Success        bool
	ErrorCode      int    // google.rpc.Status.code
	ErrorMessage   string // google.rpc.Status.message
	NonRetryable   bool
	Response       []byte // the google.protobuf.Any, marshalled
}

// maxResponseBytes bounds the kept FinishTask response.
const maxResponseBytes = 1 << 20

// Finish records the end of one of the calling connector's tasks. It is
// idempotent: the client never retries it, but a duplicate (or one that
// arrives after the server timed the task out) changes nothing and is
// answered OK.
func (s *Service) Finish(ctx context.Context, req FinishRequest) error {
	p, err := connector(ctx)
	if err != nil {
		return err
	}
	if err := checkHostID(req.HostID); err != nil {
		return err
	}
	t, err := s.ownTask(ctx, p, req.TaskID)
	if err != nil {
		return err
	}
	if len(req.Response) > maxResponseBytes {
		return conncred.Errorf(conncred.EInvalid, "the finish response is %d bytes; at most %d are kept", len(req.Response), maxResponseBytes)
	}
	o := Outcome{State: StateFinished, At: s.now(), Response: req.Response}
	if !req.Success {
		o.State, o.ErrorCode, o.ErrorMessage, o.NonRetryable = StateFailed, req.ErrorCode, truncate(req.ErrorMessage, 4096), req.NonRetryable
		if o.ErrorCode == 0 {
			o.ErrorCode = 2 // UNKNOWN: an error without a code
		}
	}
	if t.Final() {
		return nil
	}
	_, err = s.end(ctx, t, o)
	return err
}

// end moves t to its outcome and, for a retryable failure of a sync with
// attempts left, makes the retry. It returns the task as stored.
func (s *Service) end(ctx context.Context, t Task, o Outcome) (Task, error) {
	t, changed, err := s.store.EndTask(ctx, t.ID, o)
	if err != nil || !changed {
		return t, err
	}
	kind := AuditTaskFinished
	switch o.State {
	case StateCancelled:
		kind = AuditTaskCancelled
	case StateFailed:
		if o.ErrorCode == codeDeadlineExceeded && o.ErrorMessage == timeoutMessage {
			kind = AuditTaskTimedOut
		}
	}
	outcome := "success"
	if o.State != StateFinished {
		outcome = "failure"
	}
	s.metrics.ended(o.State)
	s.audit(ctx, conncred.AuditEvent{Kind: kind, AppID: t.AppID, ConnectorID: t.ConnectorID, Outcome: outcome,
		Reason: truncate(t.Type+" "+t.ID+" "+o.State+": "+o.ErrorMessage, 300)})
	if o.State == StateFailed && !o.NonRetryable && t.Type == TypeSyncFull && t.Attempt < s.cfg.MaxAttempts {
		retry := Task{
			ID: ksuid.New(o.At), ConnectorID: t.ConnectorID, AppID: t.AppID, Type: t.Type, State: StatePending,
			Attempt: t.Attempt + 1, RetryOf: t.ID, Reason: "retry", CreatedAt: o.At,
			NotBefore: o.At.Add(s.cfg.RetryBackoff << (t.Attempt - 1)),
		}
		if err := s.store.CreateTask(ctx, retry); err != nil && conncred.ErrorCode(err) != conncred.EConflict {
			return t, err
		}
		s.changed(t.ConnectorID)
		s.metrics.retries.Add(1)
	}
	return t, nil
}

// ownTask returns the calling connector's task id; another connector's
// task is as unknown as a missing one.
func (s *Service) ownTask(ctx context.Context, p *conncred.Principal, id string) (Task, error) {
	if err := checkTaskID(id); err != nil {
		return Task{}, err
	}
	t, err := s.store.GetTask(ctx, id)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return Task{}, conncred.Errorf(conncred.ENotFound, "no such task for this connector")
		}
		return Task{}, err
	}
	if t.ConnectorID != p.ConnectorID {
		return Task{}, conncred.Errorf(conncred.ENotFound, "no such task for this connector")
	}
	return t, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
