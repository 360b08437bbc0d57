// Package postgres is the conncred Store on PostgreSQL, shared by several
// stateless server nodes. Everything a node must agree on with the others
// lives here: credentials, signing keys, the replay record and lastUsedAt.
// Revocations are announced with NOTIFY so other nodes drop their caches at
// once (see WatchRevocations).
//
// While the database is down, calls fail fast with EUnavailable instead of
// waiting: a new connection gets connectTimeout (3 s, unless the URL sets a
// connect_timeout), and waiting for a pooled connection, including the
// liveness ping of one that sat idle, is bounded by acquireTimeout (3 s). A
// refused or reset connection fails at once. A connection that goes silent
// in the middle of a call (no reset) is cut by opTimeout (10 s): no call
// here should take that long. The pool replaces broken connections by
// itself, so the store recovers when the database returns, without a
// restart.
package postgres

import (
	"context"
	"embed"
	"errors"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/groupcommit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migration/*.sql
var migrations embed.FS

const (
	// connectTimeout bounds dialing and authenticating one connection.
	connectTimeout = 3 * time.Second
	// acquireTimeout bounds the wait for a pooled connection, which covers
	// dialing a new one, pinging an idle one and queueing behind busy ones:
	// with every connection stuck on a dead server, requests must still
	// answer 503 rather than queue until the client gives up.
	acquireTimeout = 3 * time.Second
	// healthCheckPeriod is how often the pool checks idle connections, so
	// that after an outage it drops dead ones before requests meet them.
	healthCheckPeriod = 5 * time.Second
	// opTimeout bounds one store call from acquiring a connection to the
	// last row. Every call here takes milliseconds; one that runs for
	// seconds is on a connection that went silent mid-statement (the
	// server hung, or a network path died without a reset) and would
	// otherwise wait for TCP to give up, which takes many minutes.
	// Migrations are not bounded by it.
	opTimeout = 10 * time.Second
	// minPoolSize is the pool size unless the URL sets pool_max_conns:
	// pgx's default (the number of CPUs, at least 4) is small for a node
	// whose every token exchange writes the replay record.
	minPoolSize = 8
)

// Store is a conncred.Store on PostgreSQL.
type Store struct {
	pool      *pgxpool.Pool
	cfg       *pgxpool.Config
	opTimeout time.Duration // these two are the constants, shorter in tests
	watchIdle time.Duration
	onWatch   func(listening bool) // WithWatchObserver (watch.go); nil: none
	clock     clock.Clock          // times the watcher's backoff; a Fake in tests

	replay groupcommit.Queue[replayRecord] // the replay records' commits (replay.go)
}

var (
	_ conncred.Store             = (*Store)(nil)
	_ conncred.Migrator          = (*Store)(nil)
	_ conncred.RevocationWatcher = (*Store)(nil)
)

// Option configures Open.
type Option func(*options)

type options struct {
	migrate bool
	onWatch func(listening bool)
}

// WithoutMigrations opens the store without applying migrations, for
// commands that only inspect the schema (conncred migrate status).
func WithoutMigrations() Option { return func(o *options) { o.migrate = false } }

// Open connects to the database at url (postgres://...) and applies pending
// migrations. Run-time parameters in the URL reach the server, so
// search_path=<schema> puts conncred's tables in that schema (which must
// exist). Open fails with EUnavailable when the database does not answer.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{migrate: true}
	for _, f := range opts {
		f(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error quotes the URL, which may hold a password.
		return nil, conncred.Errorf(conncred.EInvalid, "the PostgreSQL URL is not valid")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if !strings.Contains(url, "health_check_period") {
		cfg.HealthCheckPeriod = healthCheckPeriod
	}
	if !strings.Contains(url, "pool_max_conns") && cfg.MaxConns < minPoolSize {
		cfg.MaxConns = minPoolSize
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, dbErr(err)
	}
	s := &Store{pool: pool, cfg: cfg, opTimeout: opTimeout, watchIdle: watchIdle, onWatch: o.onWatch, clock: clock.Real{}}
	s.replay.Commit = s.commitReplay
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the pool. A running WatchRevocations has its own connection
// and ends with its context.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping reports whether the database answers, within connectTimeout, so a
// readiness probe never hangs on a dead server.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	return s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error { return c.Ping(ctx) })
}

// acquire takes a connection from the pool, waiting at most acquireTimeout.
// Only the wait is bounded: the statements that follow run under ctx.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, acquireTimeout)
	defer cancel()
	return s.pool.Acquire(ctx)
}

// do runs fn on one pooled connection, within opTimeout, and maps its error.
// fn must use the ctx it is given, which carries that bound.
func (s *Store) do(ctx context.Context, fn func(context.Context, *pgxpool.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	c, err := s.acquire(ctx)
	if err != nil {
		return dbErr(err)
	}
	defer c.Release()
	return dbErr(fn(ctx, c))
}

// tx runs fn in one transaction, committed if fn returns nil, as do does.
func (s *Store) tx(ctx context.Context, fn func(context.Context, pgx.Tx) error) error {
	return s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error { return fn(ctx, tx) })
	})
}

// limitArg turns a page size into a LIMIT argument; LIMIT NULL is no limit.
func limitArg(n int) any {
	if n <= 0 {
		return nil
	}
	return n
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// nullString stores "" as NULL, so that admin credentials (no app, no
// connector) satisfy the foreign keys.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// exists returns ENotFound unless query finds a row.
func exists(ctx context.Context, tx pgx.Tx, query string, args ...any) error {
	var one int
	err := tx.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return err
}

// exec runs one statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.execTag(ctx, query, args...)
	return err
}

// execOne runs one statement that must change a row, else ENotFound.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	tag, err := s.execTag(ctx, query, args...)
	if err == nil && tag.RowsAffected() == 0 {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return err
}

func (s *Store) execTag(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		tag, err = c.Exec(ctx, query, args...)
		return err
	})
	return tag, err
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, s *Store, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
		return err
	})
	return out, err
}
