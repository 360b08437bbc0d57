package postgres

import (
	"context"
	"errors"

	"github.com/conncred/conncred/baton"
	"github.com/jackc/pgx/v5"
)

// taskChannel is the NOTIFY channel of task writes: the payload is the id
// of a connector that got a task or had its settings saved. CreateTask
// and SaveSettings send it from their own statement, so a notice is
// delivered exactly when the write commits, and never for one that did
// not. The channel is database-wide: deployments sharing a database in
// different schemas hear each other, which only costs them a store read.
const taskChannel = "conncred_baton_tasks"

var _ baton.TaskWatcher = (*Store)(nil)

// WatchTasks calls fn with the connector id of every task created and
// every settings row saved by any node, until ctx ends. It calls
// listening(true) each time it listens (first and after a reconnect) and
// listening(false) each time it stops, after which notices may be missed
// until the next listening(true). It reconnects with the same backoff as
// WatchRevocations and returns only when ctx ends, with ctx.Err(). It
// uses a connection of its own, outside the pool.
func (s *Store) WatchTasks(ctx context.Context, fn func(connectorID string), listening func(bool)) error {
	backoff := watchMinBackoff
	for {
		listened := false
		_ = s.listenChannel(ctx, taskChannel, fn, func() {
			listened = true
			listening(true)
		}) // the reason does not change what we do: retry
		if listened {
			listening(false)
			backoff = watchMinBackoff
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		retry := s.clock.NewTimer(backoff)
		select {
		case <-ctx.Done():
			retry.Stop()
			return ctx.Err()
		case <-retry.Chan():
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

// listenChannel holds one LISTEN connection on channel until it fails or
// ctx ends, calling fn with each payload. It calls listening once LISTEN
// is in force. Like the revocation watcher it pings a connection that has
// been quiet for watchIdle, so a connection cut without a reset is found.
func (s *Store) listenChannel(ctx context.Context, channel string, fn func(string), listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	listening()
	for {
		wctx, cancel := context.WithTimeout(ctx, s.watchIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, connectTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
	}
}
