package metrics

import "github.com/prometheus/client_golang/prometheus"

// BatonStats is what the BatonService counts (baton.MetricsSnapshot,
// passed as plain numbers so that this package does not depend on the
// wing).
type BatonStats struct {
	Polls, TasksClaimed, Heartbeats, Hellos    int64
	TasksCreated, Retries, Timeouts            int64
	TasksFinished, TasksFailed, TasksCancelled int64
	Uploads, UploadBytes, UploadsRefused       int64
	OrphanUploadsSwept, OrphanChunksSwept      int64
	HelloTasks                                 int64
	QuietPolls, TaskNotices, TaskWatchLost     int64
}

// WatchBaton exports the BatonService's counters, read from stats at every
// scrape, so the poll path pays one atomic add and no label lookup.
func (m *Metrics) WatchBaton(stats func() BatonStats) {
	counter := func(name, help string, v func(BatonStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Subsystem: "baton", Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	m.reg.MustRegister(
		counter("polls_total", "GetTask and GetTasks calls answered.", func(s BatonStats) int64 { return s.Polls }),
		counter("tasks_claimed_total", "Tasks handed out to connectors.", func(s BatonStats) int64 { return s.TasksClaimed }),
		counter("heartbeats_total", "Heartbeats accepted.", func(s BatonStats) int64 { return s.Heartbeats }),
		counter("hellos_total", "Hello calls recorded.", func(s BatonStats) int64 { return s.Hellos }),
		counter("tasks_created_total", "Sync tasks created (forced or scheduled).", func(s BatonStats) int64 { return s.TasksCreated }),
		counter("task_retries_total", "Retries made for failed syncs.", func(s BatonStats) int64 { return s.Retries }),
		counter("task_timeouts_total", "Running tasks failed for missing heartbeats.", func(s BatonStats) int64 { return s.Timeouts }),
		counter("tasks_finished_total", "Tasks that ended in success.", func(s BatonStats) int64 { return s.TasksFinished }),
		counter("tasks_failed_total", "Tasks that ended in failure.", func(s BatonStats) int64 { return s.TasksFailed }),
		counter("tasks_cancelled_total", "Tasks cancelled by an operator.", func(s BatonStats) int64 { return s.TasksCancelled }),
		counter("uploads_total", "Artifacts stored.", func(s BatonStats) int64 { return s.Uploads }),
		counter("upload_bytes_total", "Bytes of artifacts stored.", func(s BatonStats) int64 { return s.UploadBytes }),
		counter("uploads_refused_total", "Uploads refused (bad stream, checksum, size, task).", func(s BatonStats) int64 { return s.UploadsRefused }),
		counter("orphan_uploads_swept_total", "Uploads left uncommitted (a node died mid-upload) whose stored chunks were deleted.", func(s BatonStats) int64 { return s.OrphanUploadsSwept }),
		counter("orphan_chunks_swept_total", "Stored chunks of uncommitted uploads deleted.", func(s BatonStats) int64 { return s.OrphanChunksSwept }),
		counter("hello_tasks_total", "Hello tasks sent to hosts that poll without a Hello on record.", func(s BatonStats) int64 { return s.HelloTasks }),
		counter("quiet_polls_total", "Polls answered from a node's \"nothing pending\" mark, without reading the database.", func(s BatonStats) int64 { return s.QuietPolls }),
		counter("task_notices_total", "Task and settings writes announced by the shared database (PostgreSQL) to this node, any node's.", func(s BatonStats) int64 { return s.TaskNotices }),
		counter("task_watch_lost_total", "Times the listener for other nodes' task writes stopped (each drops the node's marks until it listens again).", func(s BatonStats) int64 { return s.TaskWatchLost }),
	)
}
