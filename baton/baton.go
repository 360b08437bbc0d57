// Package baton holds the rules of service-mode connectors (baton
// connectors run with --client-id/--client-secret): the hosts they run on,
// the tasks conncred hands them (syncs above all), heartbeats and their
// timeouts, retries, the one-sync-at-a-time rule, the per-connector cron
// schedule, pause and resume, and the sync artifacts they upload.
//
// It knows nothing of gRPC or HTTP (server/ turns the BatonService and the
// control API into calls here) and nothing of SQL (Store, declared here,
// is implemented by store/sqlite and store/postgres). Time comes from the
// injected clock; Tick does one pass of the background work, so tests drive
// timeouts and schedules on a fake clock.
package baton

import (
	"context"
	"log/slog"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
)

// Config holds the wing's settings; zero values take the defaults noted.
type Config struct {
	// PollInterval is the next_poll sent with every GetTask reply
	// (default 5s). A connector with an unset next_poll polls in a busy
	// loop, so it is always set.
	PollInterval time.Duration
	// HeartbeatInterval is the next_heartbeat sent to connectors
	// (default 10s).
	HeartbeatInterval time.Duration
	// HeartbeatTimeout fails a running task whose connector has not
	// heartbeaten for this long (default 6 × HeartbeatInterval). It is the
	// only way to learn of a connector that died or gave up: a failed
	// first heartbeat makes it abandon the task without a word.
	HeartbeatTimeout time.Duration
	// MaxAttempts is how often a sync is tried in all before its failure
	// stands (default 3). Connector errors marked non_retryable are never
	// retried.
	MaxAttempts int
	// RetryBackoff is the wait before the first retry; each further retry
	// waits twice as long (default 30s).
	RetryBackoff time.Duration
	// MaxUploadBytes bounds one uploaded artifact (default 1 GiB).
	MaxUploadBytes int64
	// MaxTasksPerPoll bounds the tasks one GetTasks hands out (default 100,
	// the protocol's maximum).
	MaxTasksPerPoll int
	// OrphanGrace is how long the bytes of an upload may stay uncommitted
	// before the background pass deletes them (default 1h, twice the
	// server's 30-minute upload deadline, so no live upload is swept).
	OrphanGrace time.Duration
	// HelloGrace is how long a host may poll without a Hello on record
	// before it is sent a hello task (default 1m: baton-sdk v0.2.x's first
	// poll overtakes its start-up Hello, which may wait for the connector
	// subprocess to start).
	HelloGrace time.Duration
	// QuietTTL bounds how long a poll that found nothing lets the next
	// polls of its connector answer "nothing" without reading the store
	// (default 1m; each mark lasts a random half to all of it; quiet.go).
	// Writes through any node end a mark at once; the bound is for a task
	// row no node announces (one changed by hand), and it costs about one
	// store read per connector and node per 0.75 QuietTTL.
	QuietTTL time.Duration
}

func (c *Config) setDefaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 10 * time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 6 * c.HeartbeatInterval
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 30 * time.Second
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = 1 << 30
	}
	if c.HelloGrace <= 0 {
		c.HelloGrace = time.Minute
	}
	if c.OrphanGrace <= 0 {
		c.OrphanGrace = time.Hour
	}
	if c.QuietTTL <= 0 {
		c.QuietTTL = time.Minute
	}
	if c.MaxTasksPerPoll <= 0 || c.MaxTasksPerPoll > 100 {
		c.MaxTasksPerPoll = 100
	}
}

// Deps are the wing's collaborators.
type Deps struct {
	Store     Store
	Artifacts ArtifactStore
	Clock     clock.Clock
	Log       *slog.Logger
	// Audit records an audit event (authority.Authority.RecordAudit).
	Audit func(context.Context, conncred.AuditEvent)
}

// Service applies the wing's rules.
type Service struct {
	cfg       Config
	store     Store
	artifacts ArtifactStore
	clock     clock.Clock
	log       *slog.Logger
	audit     func(context.Context, conncred.AuditEvent)
	metrics   *Metrics
	keys      keyCache
	orphans   orphans
	hello     helloState
	quiet     quietMarks
}

// New returns a Service.
func New(cfg Config, d Deps) *Service {
	cfg.setDefaults()
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Audit == nil {
		d.Audit = func(context.Context, conncred.AuditEvent) {}
	}
	s := &Service{cfg: cfg, store: d.Store, artifacts: d.Artifacts, clock: d.Clock, log: d.Log, audit: d.Audit, metrics: &Metrics{}}
	// A store no other node writes to needs no notices for its marks; a
	// shared one's marks wait until Run's watcher listens.
	_, shared := d.Store.(TaskWatcher)
	s.quiet.enable(!shared)
	return s
}

// Config returns the settings in force (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// connector returns the connector principal in ctx: only a connector's
// own credential may call the BatonService.
func connector(ctx context.Context) (*conncred.Principal, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "authentication required: send authorization: Bearer <access token>")
	}
	if p.Kind != conncred.KindConnector || p.ConnectorID == "" {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "the BatonService is for connector credentials; an admin credential cannot act as a connector")
	}
	return p, nil
}

// admin returns the admin principal in ctx, for the control API.
func admin(ctx context.Context) (*conncred.Principal, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if !p.IsAdmin() {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "this operation needs an admin (personal client) credential")
	}
	return p, nil
}
