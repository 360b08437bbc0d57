package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// revocationChannel is the NOTIFY channel for revoked credentials. The
// payload is a credential id, or allRevoked when a delete revoked too many
// credentials to announce one by one.
const revocationChannel = "conncred_revocations"

// allRevoked is the payload that means "drop every cached credential".
const allRevoked = "*"

// notifyEach bounds how many revocations one transaction announces one by
// one. A bigger delete (an app with many connectors) announces allRevoked
// instead: one message rather than thousands in the server's NOTIFY queue,
// at the price of every node reloading its hot credentials once.
const notifyEach = 1000

const (
	// watchIdle is how long the listener waits for a notification before
	// it pings its connection: a connection cut without a reset (a dropped
	// NAT entry, a failover that moves the address) would otherwise wait
	// for notifications that never come, and the node would not know it
	// had to drop its caches.
	watchIdle = 15 * time.Second
	// watchMinBackoff and watchMaxBackoff bound the wait between attempts
	// to listen again.
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
)

// WithWatchObserver makes WatchRevocations call fn(true) each time it is
// listening (the first time and after every reconnect) and fn(false) each
// time its connection is lost or an attempt to listen fails, so an
// operator can count reconnects and see whether the node is listening
// (cmd/conncred turns these into metrics; the store stays free of any
// metrics library). fn runs on the watcher's goroutine and must be quick.
func WithWatchObserver(fn func(listening bool)) Option {
	return func(o *options) { o.onWatch = fn }
}

// notifyRevoked announces, inside tx, that the credentials ids were revoked;
// the notifications are delivered only if tx commits.
func notifyRevoked(ctx context.Context, tx pgx.Tx, ids []string) error {
	switch {
	case len(ids) == 0:
		return nil
	case len(ids) > notifyEach:
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, revocationChannel, allRevoked)
		return err
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id`, revocationChannel, ids)
	return err
}

// WatchRevocations listens for revocations made through any Store on this
// database and calls fn with each revoked credential id. It calls fn("")
// whenever notifications may have been missed, so the caller drops its
// caches: each time it starts listening, when the connection is lost, and
// when a delete revoked more than notifyEach credentials at once. It
// reconnects with backoff and returns only when ctx ends, with ctx.Err().
// It uses a connection of its own, outside the pool.
func (s *Store) WatchRevocations(ctx context.Context, fn func(credentialID string)) error {
	backoff := watchMinBackoff
	for {
		listened := false
		_ = s.listen(ctx, fn, func() {
			listened = true
			s.watchObserve(true)
		}) // the reason does not change what we do: retry
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.watchObserve(false)
		if listened {
			backoff = watchMinBackoff
		}
		// The timer starts before fn is told, so a test on a fake clock
		// that hears fn("") can advance the clock by the backoff at once.
		retry := s.clock.NewTimer(backoff)
		fn("")
		select {
		case <-ctx.Done():
			retry.Stop()
			return ctx.Err()
		case <-retry.Chan():
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

func (s *Store) watchObserve(listening bool) {
	if s.onWatch != nil {
		s.onWatch(listening)
	}
}

// listen holds one LISTEN connection until it fails or ctx ends.
func (s *Store) listen(ctx context.Context, fn func(string), listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+revocationChannel); err != nil {
		return err
	}
	listening()
	// Revocations between the last connection's end and this LISTEN were
	// missed.
	fn("")
	for {
		wctx, cancel := context.WithTimeout(ctx, s.watchIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if n.Payload == allRevoked {
				fn("")
			} else {
				fn(n.Payload)
			}
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		// A timed-out wait leaves the connection usable; prove it is alive.
		pctx, cancel := context.WithTimeout(ctx, connectTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
	}
}
