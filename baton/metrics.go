package baton

import "sync/atomic"

// Metrics counts what the wing does, for the metrics endpoint. Counters
// only: they are cheap enough for the poll path (one atomic add).
type Metrics struct {
	polls, claimed, heartbeats, hellos     atomic.Int64
	created, retries, timeouts             atomic.Int64
	finished, failed, cancelled            atomic.Int64
	uploads, uploadBytes, uploadsRefused   atomic.Int64
	orphanKeys, orphanChunks               atomic.Int64
	helloTasks                             atomic.Int64
	quietPolls, taskNotices, taskWatchLost atomic.Int64
}

func (m *Metrics) ended(state string) {
	switch state {
	case StateFinished:
		m.finished.Add(1)
	case StateFailed:
		m.failed.Add(1)
	case StateCancelled:
		m.cancelled.Add(1)
	}
}

// MetricsSnapshot is a copy of the counters.
type MetricsSnapshot struct {
	Polls, TasksClaimed, Heartbeats, Hellos    int64
	TasksCreated, Retries, Timeouts            int64
	TasksFinished, TasksFailed, TasksCancelled int64
	Uploads, UploadBytes, UploadsRefused       int64
	// OrphanUploadsSwept and OrphanChunksSwept count the uncommitted
	// uploads (and their stored chunks) the background pass deleted.
	OrphanUploadsSwept, OrphanChunksSwept int64
	// HelloTasks counts hello tasks sent to hosts without a Hello.
	HelloTasks int64
	// QuietPolls counts polls answered from a "nothing pending" mark,
	// without the store (quiet.go).
	QuietPolls int64
	// TaskNotices counts the task writes a shared store announced to this
	// node (any node's, this one's too); TaskWatchLost counts the times
	// its listener stopped, dropping every mark.
	TaskNotices, TaskWatchLost int64
}

// Metrics returns the current counters.
func (s *Service) Metrics() MetricsSnapshot {
	m := s.metrics
	return MetricsSnapshot{
		Polls: m.polls.Load(), TasksClaimed: m.claimed.Load(), Heartbeats: m.heartbeats.Load(), Hellos: m.hellos.Load(),
		TasksCreated: m.created.Load(), Retries: m.retries.Load(), Timeouts: m.timeouts.Load(),
		TasksFinished: m.finished.Load(), TasksFailed: m.failed.Load(), TasksCancelled: m.cancelled.Load(),
		Uploads: m.uploads.Load(), UploadBytes: m.uploadBytes.Load(), UploadsRefused: m.uploadsRefused.Load(),
		OrphanUploadsSwept: m.orphanKeys.Load(), OrphanChunksSwept: m.orphanChunks.Load(), HelloTasks: m.helloTasks.Load(),
		QuietPolls: m.quietPolls.Load(), TaskNotices: m.taskNotices.Load(), TaskWatchLost: m.taskWatchLost.Load(),
	}
}
