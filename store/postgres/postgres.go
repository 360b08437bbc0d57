// Package postgres is the conncred Store on PostgreSQL, shared by several
// stateless server nodes. Everything a node must agree on with the others
// lives here: credentials, signing keys, the replay record and lastUsedAt.
// Revocations are announced with NOTIFY so other nodes drop their caches at
// once (see WatchRevocations).
package postgres

import (
	"context"
	"embed"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migration/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_lock key that serializes migrations
// across nodes starting at the same time ("conncred" in ASCII).
const migrationLock = 0x636f6e6e63726564

// revocationChannel is the NOTIFY channel for revoked credential ids; "*"
// means "many were revoked" (a connector or app was deleted).
const revocationChannel = "conncred_revocations"

// Store is a conncred.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	cfg  *pgxpool.Config
}

var (
	_ conncred.Store             = (*Store)(nil)
	_ conncred.Migrator          = (*Store)(nil)
	_ conncred.RevocationWatcher = (*Store)(nil)
)

// Option configures Open.
type Option func(*options)

type options struct{ migrate bool }

// WithoutMigrations opens the store without applying migrations (for
// `conncred migrate status`).
func WithoutMigrations() Option { return func(o *options) { o.migrate = false } }

// connectTimeout bounds every new connection, so that while PostgreSQL is
// down a request fails within seconds (and the server answers 503) instead
// of hanging; the pool reconnects by itself when the database returns.
const connectTimeout = 3 * time.Second

// Open connects to the database at url (postgres://...; a search_path
// parameter selects the schema) and applies pending migrations.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{migrate: true}
	for _, f := range opts {
		f(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, conncred.Errorf(conncred.EInvalid, "the PostgreSQL URL is not valid")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > connectTimeout {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, dbErr(err)
	}
	s := &Store{pool: pool, cfg: cfg}
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

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	return dbErr(s.pool.Ping(ctx))
}

// Migrate applies pending migrations under an advisory lock, each in one
// transaction with its record, so nodes starting together apply each
// migration exactly once and a crash never leaves one half applied.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations, "migration")
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "reading migrations")
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return dbErr(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return dbErr(err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`); err != nil {
		return dbErr(err)
	}
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return conncred.WrapError(conncred.EInternal, err, "applying migration %04d_%s", m.Version, m.Name)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return dbErr(err)
		}
	}
	return nil
}

// MigrationStatus lists every known migration and when it was applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]conncred.MigrationState, error) {
	ms, err := migrate.Load(migrations, "migration")
	if err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "reading migrations")
	}
	applied := map[int]time.Time{}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, dbErr(err)
	}
	if exists {
		rows, err := s.pool.Query(ctx, `SELECT version, applied_at FROM schema_migrations`)
		if err != nil {
			return nil, dbErr(err)
		}
		for rows.Next() {
			var v int
			var at time.Time
			if err := rows.Scan(&v, &at); err != nil {
				rows.Close()
				return nil, dbErr(err)
			}
			applied[v] = at.UTC()
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(err)
		}
	}
	out := make([]conncred.MigrationState, 0, len(ms))
	for _, m := range ms {
		st := conncred.MigrationState{Version: m.Version, Name: m.Name}
		if at, ok := applied[m.Version]; ok {
			st.AppliedAt = &at
		}
		out = append(out, st)
	}
	return out, nil
}

// dbErr maps a pgx error to a conncred error by SQLSTATE and error type,
// never by message text.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *conncred.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &conncred.Error{Code: conncred.ENotFound, Message: "not found", Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return &conncred.Error{Code: conncred.EConflict, Message: "a record with that key already exists", Err: err}
		case pe.Code == "23503": // foreign_key_violation
			return &conncred.Error{Code: conncred.ENotFound, Message: "a referenced record does not exist", Err: err}
		case strings.HasPrefix(pe.Code, "08"), // connection exceptions
			strings.HasPrefix(pe.Code, "57P"), // admin/crash shutdown, cannot connect now
			pe.Code == "53300":                // too many connections
			return &conncred.Error{Code: conncred.EUnavailable, Message: "database unavailable", Err: err}
		}
		return &conncred.Error{Code: conncred.EInternal, Message: "database error", Err: err}
	}
	var ne net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, pgx.ErrTxClosed) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return &conncred.Error{Code: conncred.EUnavailable, Message: "database unavailable", Err: err}
	}
	return &conncred.Error{Code: conncred.EInternal, Message: "database error", Err: err}
}

// tx runs fn in a transaction.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return dbErr(pgx.BeginFunc(ctx, s.pool, fn))
}

func limitArg(n int) any {
	if n <= 0 {
		return nil // LIMIT NULL is no limit
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

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
