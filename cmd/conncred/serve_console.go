package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	consolesignin "github.com/conncred/conncred/console"
	"github.com/conncred/conncred/metrics"
)

// startConsole makes the web console's sign-in rules over store and
// starts their sweep of spent links and sessions; the returned function
// stops it. serve hands the one Service to the API (server.Config.Console,
// for the login links) and to the console's pages, which sign in and
// resume sessions through it.
func startConsole(store conncred.Store, auth *authority.Authority, met *metrics.Metrics, log *slog.Logger) (*consolesignin.Service, func(), error) {
	cs, ok := store.(consolesignin.Store)
	if !ok {
		return nil, nil, fmt.Errorf("the database %T does not keep console sessions", store)
	}
	cfg := consolesignin.Config{Log: log}
	if met != nil {
		cfg.Observer = met.Console()
	}
	svc := consolesignin.New(auth, cs, nil, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	// The sweep is driven by ticks, so tests drive it from a fake clock.
	ticker := clock.Real{}.NewTicker(consolesignin.SweepEvery)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx, ticker.Chan())
	}()
	return svc, func() { cancel(); ticker.Stop(); <-done }, nil
}
