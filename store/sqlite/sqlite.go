// Package sqlite is the conncred Store on embedded SQLite, through a pure-Go
// driver (no cgo), the default for a single server.
//
// SQLite has one writer at a time. The Store therefore keeps two pools: a
// single-connection write pool whose transactions begin IMMEDIATE (they take
// the write lock up front, so two writers never deadlock upgrading a read
// lock and never see SQLITE_BUSY), and a read pool of several connections
// that WAL lets run beside the writer.
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
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/migrate"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migration/*.sql
var migrations embed.FS

// Store is a conncred.Store on one SQLite file.
type Store struct {
	w *sql.DB // one connection: every write
	r *sql.DB // several connections: reads

	// useStmt is the replay insert, prepared once: it runs on every token
	// exchange, and parsing it each time cost as much as executing it.
	useStmt *sql.Stmt
	// byIDStmt and byClientStmt are the credential look-ups of the
	// authentication path, prepared once on the read pool.
	byIDStmt, byClientStmt *sql.Stmt
}

var (
	_ conncred.Store    = (*Store)(nil)
	_ conncred.Migrator = (*Store)(nil)
)

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := OpenNoMigrate(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.useStmt, err = s.w.PrepareContext(ctx, `INSERT INTO used_assertions (key, expires_us) VALUES (?, ?)`); err != nil {
		s.Close()
		return nil, dbErr(err)
	}
	if s.byIDStmt, err = s.r.PrepareContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = ?`); err != nil {
		s.Close()
		return nil, dbErr(err)
	}
	if s.byClientStmt, err = s.r.PrepareContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE client_id = ?`); err != nil {
		s.Close()
		return nil, dbErr(err)
	}
	return s, nil
}

// OpenNoMigrate opens the database without applying migrations, for
// `conncred migrate status`.
func OpenNoMigrate(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, conncred.WrapError(conncred.EInternal, err, "could not create the database directory")
		}
	}
	// WAL with synchronous=NORMAL: a commit survives a crash of the process
	// (the WAL is written before the commit returns) but the last commits
	// may be lost on power failure, which would need synchronous=FULL and
	// an fsync per commit. Credentials lost that way fail closed: a rotate
	// whose record is lost leaves a secret that never authenticates.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	dsn := "file:" + filepath.ToSlash(path) + "?"
	w, err := sql.Open("sqlite", dsn+wq.Encode())
	if err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "could not open the database")
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, conncred.WrapError(conncred.EInternal, err, "could not open the database %s", path)
	}
	if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.Close()
		return nil, conncred.WrapError(conncred.EInternal, err, "could not restrict the database file's mode")
	}
	q.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", dsn+q.Encode())
	if err != nil {
		w.Close()
		return nil, conncred.WrapError(conncred.EInternal, err, "could not open the database")
	}
	n := runtime.GOMAXPROCS(0) * 2
	if n < 4 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &Store{w: w, r: r}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.useStmt, s.byIDStmt, s.byClientStmt} {
		if st != nil {
			st.Close()
		}
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return dbErr(err)
	}
	return nil
}

// Migrate applies pending migrations, each in its own transaction together
// with its record in schema_migrations, so a crash leaves every migration
// either applied and recorded or not at all.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations, "migration")
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "reading migrations")
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`); err != nil {
		return dbErr(err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migrate.Migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return dbErr(err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return conncred.WrapError(conncred.EInternal, err, "applying migration %04d_%s", m.Version, m.Name)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Commit())
}

// MigrationStatus lists every known migration and when it was applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]conncred.MigrationState, error) {
	ms, err := migrate.Load(migrations, "migration")
	if err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "reading migrations")
	}
	applied := map[int]time.Time{}
	rows, err := s.r.QueryContext(ctx, `SELECT version, applied_us FROM schema_migrations`)
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var v int
			var us int64
			if err := rows.Scan(&v, &us); err != nil {
				return nil, dbErr(err)
			}
			applied[v] = time.UnixMicro(us).UTC()
		}
		if err := rows.Err(); err != nil {
			return nil, dbErr(err)
		}
	} else if !strings.Contains(err.Error(), "no such table") {
		return nil, dbErr(err)
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

// dbErr maps a driver error to a conncred error by its SQLite result code.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *conncred.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &conncred.Error{Code: conncred.ENotFound, Message: "not found", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &conncred.Error{Code: conncred.EUnavailable, Message: "the request was cancelled or timed out", Err: err}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &conncred.Error{Code: conncred.EConflict, Message: "a record with that key already exists", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &conncred.Error{Code: conncred.ENotFound, Message: "a referenced record does not exist", Err: err}
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return &conncred.Error{Code: conncred.EUnavailable, Message: "database unavailable", Err: err}
		}
	}
	return &conncred.Error{Code: conncred.EInternal, Message: "database error", Err: err}
}

// us converts a time to stored microseconds.
func us(t time.Time) int64 { return t.UnixMicro() }

// usPtr converts an optional time.
func usPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromUS converts stored microseconds back to UTC time.
func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullUS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromUS(v.Int64)
	return &t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// inTx runs fn in a write transaction.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
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

// limit returns a LIMIT value; a non-positive limit means no limit.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
