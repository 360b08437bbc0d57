package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/store/postgres"
	"github.com/spf13/pflag"
)

// batonFlags are serve's settings for service-mode connectors.
type batonFlags struct {
	PollInterval     time.Duration
	HeartbeatTimeout time.Duration
	MaxUploadBytes   int64
}

func (b *batonFlags) flags(fs *pflag.FlagSet) {
	fs.DurationVar(&b.PollInterval, "connector-poll-interval", 5*time.Second, "how often service-mode connectors are told to poll for tasks (next_poll)")
	fs.DurationVar(&b.HeartbeatTimeout, "connector-heartbeat-timeout", time.Minute, "a running task whose connector has not heartbeaten for this long fails and is retried")
	fs.Int64Var(&b.MaxUploadBytes, "max-upload-bytes", 1<<30, "largest sync artifact (.c1z) a connector may upload")
}

// startBaton makes the BatonService's rules over store and starts their
// background pass (timeouts, schedules). Artifacts go to a directory
// under the data dir, or into PostgreSQL when the database is shared by
// several nodes, so every node can serve every download.
func startBaton(ctx context.Context, b batonFlags, dataDir string, store conncred.Store, auth *authority.Authority, log *slog.Logger) (*baton.Service, func(), error) {
	bs, ok := store.(baton.Store)
	if !ok {
		return nil, nil, fmt.Errorf("the database %T does not keep connector tasks", store)
	}
	var arts baton.ArtifactStore
	if pg, ok := store.(*postgres.Store); ok {
		arts = pg.Blobs()
	} else {
		dir, err := baton.NewDirStore(filepath.Join(dataDir, "artifacts"))
		if err != nil {
			return nil, nil, err
		}
		if n, err := dir.Sweep(); err == nil && n > 0 {
			log.Info("removed partial uploads left by an earlier stop", "files", n)
		}
		arts = dir
	}
	svc := baton.New(baton.Config{PollInterval: b.PollInterval, HeartbeatTimeout: b.HeartbeatTimeout, MaxUploadBytes: b.MaxUploadBytes},
		baton.Deps{Store: bs, Artifacts: arts, Log: log, Audit: auth.RecordAudit})
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	// The pass is driven by ticks, so tests drive it from a fake clock.
	ticker := clock.Real{}.NewTicker(5 * time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(conncred.WithPrincipal(bg, conncred.System), ticker.Chan())
	}()
	return svc, func() { stop(); ticker.Stop(); <-done }, nil
}
