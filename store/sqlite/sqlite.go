// Package sqlite is the conncred Store on embedded SQLite, through the pure-Go
// driver modernc.org/sqlite (no cgo). It is the default for a single server.
//
// SQLite admits one writer at a time, and a writer that finds the database
// locked either waits (busy_timeout) or, if it already read inside a
// deferred transaction, fails with SQLITE_BUSY at once, because waiting could
// deadlock. The Store therefore keeps two pools over one file:
//
//   - a write pool of exactly one connection, whose transactions begin
//     IMMEDIATE (they take the write lock before reading), so writers queue
//     in database/sql for that connection instead of racing for the lock,
//     and a read-then-write transaction such as CreateCredential's cap check
//     can never be refused half-way;
//   - a read pool of several query_only connections. In WAL mode readers see
//     the last committed state and never wait for the writer, nor it for
//     them.
//
// Times are INTEGER microseconds since the Unix epoch (columns *_us), UTC:
// they compare as numbers in SQL, round-trip exactly, and have the precision
// of PostgreSQL's timestamptz, so both stores answer the same.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/groupcommit"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migration/*.sql
var migrationFS embed.FS

// Store is a conncred.Store on one SQLite file. Its methods are safe for
// concurrent use.
type Store struct {
	w *sql.DB // one connection: every write
	r *sql.DB // several query_only connections: every read outside a write

	// The statements of the token exchange, prepared once: parsing them cost
	// as much as running them. They are nil on a store opened without
	// migrating (there are no tables to prepare against), and the methods
	// then fall back to the query text.
	useAssertion         *sql.Stmt
	credentialByID       *sql.Stmt
	credentialByClientID *sql.Stmt

	replay groupcommit.Queue[replayRecord] // the replay records' commits (replay.go)
}

var (
	_ conncred.Store    = (*Store)(nil)
	_ conncred.Migrator = (*Store)(nil)
)

// Open opens the database at path, creating the file and its directory if
// needed, and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := OpenNoMigrate(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenNoMigrate opens the database without applying migrations, for
// operators who migrate as a separate step (conncred migrate status).
func OpenNoMigrate(ctx context.Context, path string) (*Store, error) {
	if err := createPrivate(path); err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "could not create the database file")
	}
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "could not open the database")
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connecting applies the pragmas, WAL among them, before any reader
	// opens the file.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, conncred.WrapError(conncred.EUnavailable, err, "could not open the database")
	}
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, conncred.WrapError(conncred.EInternal, err, "could not open the database")
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	s := &Store{w: w, r: r}
	s.replay.Commit = s.commitReplay
	return s, nil
}

// dsn returns the driver's name for path with the connection settings.
//
// WAL with synchronous=NORMAL: a commit is in the WAL (written, not synced)
// before it returns, so it survives a crash of the process, which is what
// conncred promises. A power failure or kernel crash may lose the last
// commits before a checkpoint syncs them, though never corrupts the file;
// synchronous=FULL would close that gap at the cost of an fsync per commit,
// on the replay record's insert of every token exchange. What such a loss
// costs is bounded: a lost credential fails closed (its secret never
// authenticates), a lost revocation or replay record needs a power cut
// within the moments after the write.
//
// foreign_keys=ON because SQLite leaves it off per connection; busy_timeout
// covers the other processes that may hold the lock (conncred migrate, a
// backup), since within this one the write pool already serializes writers.
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	if write {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "NORMAL")
		q.Set("_foreign_keys", "on")
		q.Set("_txlock", "immediate")
	} else {
		// A read connection that tried to write would take the write lock
		// beside the write pool; query_only makes that an error instead.
		q.Set("_query_only", "on")
	}
	// A file: URI, so that a '?' or '#' in the path is escaped rather than
	// read as the start of the parameters.
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// createPrivate creates the database file, and its directory, readable by
// the owner only before SQLite first opens it: SQLite gives the -wal and
// -shm files the mode of the database file, and the WAL holds the signing
// keys' seeds as much as the file does.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// A file made by an older version, or copied in, may be more open.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// prepare prepares the hot-path statements; the tables must exist.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		db    *sql.DB
		dst   **sql.Stmt
		query string
	}{
		{s.w, &s.useAssertion, useAssertionSQL},
		{s.r, &s.credentialByID, credentialByIDSQL},
		{s.r, &s.credentialByClientID, credentialByClientIDSQL},
	} {
		st, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return dbErr(err)
		}
		*p.dst = st
	}
	return nil
}

// Close closes the database. A clean close checkpoints the WAL into the file.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.useAssertion, s.credentialByID, s.credentialByClientID} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.r.Close(), s.w.Close())
	return errors.Join(errs...)
}

// Ping reports whether the database answers: it runs a query on a read
// connection, which opens the file if the pool has none.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return dbErr(s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
}

// inTx runs fn in a write transaction, which the write pool begins
// IMMEDIATE. fn must use tx only: asking the write pool for another
// connection would wait for this one forever.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Commit())
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query and reads every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, v)
	}
	return out, dbErr(rows.Err())
}

// us converts a time to its stored form, microseconds since the epoch.
func us(t time.Time) int64 { return t.UnixMicro() }

// usPtr converts an optional time; nil is NULL.
func usPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromUS converts a stored time back, in UTC.
func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullUS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromUS(v.Int64)
	return &t
}

// nullString stores "" as NULL, for the optional references of admin
// credentials, which must not point at an app or connector.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// pageLimit returns a LIMIT value. SQLite reads a negative one as no limit,
// which is what both stores make of a zero page size.
func pageLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
