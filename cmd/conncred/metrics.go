package main

import (
	"net/http"
	"time"

	"github.com/conncred/conncred/internal/groupcommit"
	"github.com/conncred/conncred/metrics"
	"github.com/conncred/conncred/store/postgres"
)

// serveMetrics makes the metrics when --metrics-listen is set, hooks the
// group-commit queues to them, and returns the PostgreSQL options that
// report the revocation watcher, and a func that unhooks the queues.
// Without --metrics-listen it returns nil and no option, and nothing is
// measured.
func serveMetrics(cfg serveConfig) (*metrics.Metrics, []postgres.Option, func()) {
	if cfg.MetricsListen == "" {
		return nil, nil, func() {}
	}
	m := metrics.New(metrics.ReadBuildInfo())
	groupcommit.SetBatchObserver(m.GroupCommitBatch)
	return m, []postgres.Option{postgres.WithWatchObserver(m.RevocationWatch)}, func() { groupcommit.SetBatchObserver(nil) }
}

// metricsServer serves /metrics on its own listener, never on the API's:
// the API faces connectors, the metrics face the operator's scraper.
func metricsServer(m *metrics.Metrics) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
}
