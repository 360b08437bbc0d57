package baton

import (
	"context"
	"io"
	"time"

	"github.com/conncred/conncred"
)

// Task states. A task moves pending → running → finished, failed or
// cancelled; a pending task may also be cancelled. The last three are final.
const (
	StatePending   = "pending"
	StateRunning   = "running"
	StateFinished  = "finished"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Task types conncred hands out.
const (
	TypeSyncFull = "sync_full"
	TypeHello    = "hello"
)

// Task is one unit of work for one connector. A sync_full task is also a
// sync: its id is the sync id of the control API, and its artifact is the
// sync's .c1z.
type Task struct {
	ID          string
	ConnectorID string
	AppID       string
	Type        string
	State       string
	Attempt     int    // 1 for the first try; a retry is a new task with Attempt+1
	RetryOf     string // the failed task this one retries, if any
	Reason      string // why it was made: "force_sync", "schedule", "retry"
	HostID      string // the host that claimed it
	CreatedAt   time.Time
	NotBefore   time.Time // not handed out before this time (retry back-off)
	StartedAt   *time.Time
	HeartbeatAt *time.Time
	FinishedAt  *time.Time
	// CancelRequested is set when a running task is cancelled: the next
	// heartbeat answers cancelled, and the task is final from then on.
	CancelRequested bool
	ErrorCode       int    // google.rpc code of a failure, 0 on success
	ErrorMessage    string // the connector's message or the server's reason
	NonRetryable    bool
	Response        []byte // FinishTask's google.protobuf.Any, kept as bytes
}

// Final reports whether the task can no longer change.
func (t *Task) Final() bool {
	return t.State == StateFinished || t.State == StateFailed || t.State == StateCancelled
}

// Host is one machine (host id) a connector runs on, as its Hello said.
type Host struct {
	ConnectorID    string
	HostID         string
	DisplayName    string // connector_metadata.display_name
	Description    string // connector_metadata.description
	Package        string // build_info.package
	PackageVersion string // build_info.package_version
	LangVersion    string // build_info.lang_version
	OS             OSInfo
	FirstSeenAt    time.Time
	LastSeenAt     time.Time
}

// OSInfo is what the connector reported about its machine.
type OSInfo struct {
	Hostname             string `json:"hostname,omitempty"`
	OS                   string `json:"os,omitempty"`
	Platform             string `json:"platform,omitempty"`
	PlatformVersion      string `json:"platformVersion,omitempty"`
	PlatformFamily       string `json:"platformFamily,omitempty"`
	KernelVersion        string `json:"kernelVersion,omitempty"`
	KernelArch           string `json:"kernelArch,omitempty"`
	VirtualizationSystem string `json:"virtualizationSystem,omitempty"`
}

// Artifact is the metadata of a stored upload: the sync's .c1z (or a
// debug.log, Kind "debug_log"). The bytes live in an ArtifactStore under Key.
type Artifact struct {
	TaskID      string
	Kind        string // "c1z" or "debug_log"
	Key         string // the ArtifactStore key of the bytes
	Size        int64
	SHA256      []byte
	CreatedAt   time.Time
	ConnectorID string
}

// Settings are a connector's sync settings: the schedule and the pause.
type Settings struct {
	ConnectorID string
	// Cron is a five-field cron spec ("" for no schedule) read in TimeZone
	// (an IANA name, "" for UTC).
	Cron     string
	TimeZone string
	// NextRunAt is when the schedule next makes a sync (nil: no schedule).
	NextRunAt *time.Time
	// DisabledAt is set by pause and cleared by resume.
	DisabledAt *time.Time
	UpdatedAt  time.Time
}

// TaskFilter selects tasks. Empty fields do not filter.
type TaskFilter struct {
	ConnectorID string
	Type        string
	States      []string
	After       string // id of the last task of the previous page
	Limit       int    // page size; 0 means no limit
	Descending  bool   // newest first (After then means "older than")
}

// Outcome is how a connector (or the server) ends a running task.
type Outcome struct {
	State        string // StateFinished, StateFailed or StateCancelled
	At           time.Time
	ErrorCode    int
	ErrorMessage string
	NonRetryable bool
	Response     []byte
}

// Store is what the baton wing needs from the database. store/sqlite and
// store/postgres implement it beside conncred.Store. Errors are
// *conncred.Error values as conncred.Store's are.
type Store interface {
	// GetConnector is conncred.Store's: the connector a task belongs to.
	GetConnector(ctx context.Context, id string) (conncred.Connector, error)

	// SaveHost inserts the host or updates everything but FirstSeenAt.
	SaveHost(ctx context.Context, h Host) error
	// ListHosts returns a connector's hosts in host id order, after the
	// host id after.
	ListHosts(ctx context.Context, connectorID, after string, limit int) ([]Host, error)

	// CreateTask inserts a pending task. A second sync_full task for a
	// connector that has one pending or running is EConflict: this insert
	// is the one-sync-at-a-time rule, so two nodes can never both start one.
	// A shared store (TaskWatcher) announces it to every node.
	CreateTask(ctx context.Context, t Task) error
	GetTask(ctx context.Context, id string) (Task, error)
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, error)
	// ClaimTasks marks at most n of the connector's pending tasks whose
	// NotBefore is not after now as running on host, oldest first, and
	// returns them. Concurrent callers (on any node) never get the same task.
	// When it claims none, next is the earliest NotBefore of the
	// connector's pending tasks (after now), zero when it has none pending,
	// or now when it cannot tell (another caller claimed what it saw):
	// until next, polls may answer without the store (quiet.go). When it
	// claims some, next is zero.
	ClaimTasks(ctx context.Context, connectorID, host string, now time.Time, n int) (claimed []Task, next time.Time, err error)
	// BeatTasks moves HeartbeatAt to now for each of ids that is the
	// connector's and running, and returns the connector's tasks among ids
	// as stored afterwards (unknown or foreign ids are left out).
	BeatTasks(ctx context.Context, connectorID string, ids []string, now time.Time) ([]Task, error)
	// EndTask sets a running task's outcome (or, for StateCancelled, a
	// pending one's too) and returns it with changed true. A task that is
	// already final is returned unchanged with changed false: ending twice
	// never overwrites the first outcome.
	EndTask(ctx context.Context, id string, o Outcome) (t Task, changed bool, err error)
	// RequestCancel sets CancelRequested on a running task.
	RequestCancel(ctx context.Context, id string) (Task, error)
	// StaleTasks returns at most limit running tasks whose last heartbeat
	// (or start, before any) is before before.
	StaleTasks(ctx context.Context, before time.Time, limit int) ([]Task, error)

	// SaveArtifact records an artifact, replacing the task's previous one of
	// the same kind (a retried upload keeps the last complete one), and
	// returns the key of the replaced one ("" if none) for the caller to
	// delete.
	SaveArtifact(ctx context.Context, a Artifact) (replaced string, err error)
	GetArtifact(ctx context.Context, taskID, kind string) (Artifact, error)

	GetSettings(ctx context.Context, connectorID string) (Settings, error)
	// SaveSettings inserts or replaces the settings; a shared store
	// (TaskWatcher) announces it to every node (a resume makes pending
	// tasks claimable).
	SaveSettings(ctx context.Context, s Settings) error

	// SharedKey returns the key stored under name, storing candidate
	// first when there is none; every node gets the first key stored.
	SharedKey(ctx context.Context, name string, candidate []byte, now time.Time) ([]byte, error)
	// DueSchedules returns at most limit settings whose NextRunAt is not
	// after now.
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]Settings, error)
}

// ArtifactStore keeps the bytes of artifacts, write-once. An artifact is
// visible under its key only once its writer committed, so a crash or a
// refused upload leaves nothing readable.
type ArtifactStore interface {
	// Create starts writing a new artifact.
	Create(ctx context.Context) (ArtifactWriter, error)
	// Open returns the artifact's bytes.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes an artifact; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
}

// ArtifactWriter receives an artifact's bytes. Exactly one of Commit or
// Abort ends it.
type ArtifactWriter interface {
	io.Writer
	// Commit makes the bytes durable and visible and returns their key.
	Commit(ctx context.Context) (key string, err error)
	// Abort discards what was written.
	Abort()
}
