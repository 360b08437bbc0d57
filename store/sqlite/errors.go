package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/conncred/conncred"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dbErr maps an error from database/sql or the driver to a *conncred.Error,
// by SQLite result code and never by message. The public messages are
// generic: the cause, which may quote SQL or values, stays in Err for the
// log. A *conncred.Error passes through unchanged.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *conncred.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return conncred.WrapError(conncred.ENotFound, err, "not found")
	}
	// The driver reports an interrupted statement as the context's error;
	// keep it in the chain so callers can still tell cancel from timeout.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return conncred.WrapError(conncred.EUnavailable, err, "the database did not answer in time")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return conncred.WrapError(conncred.EConflict, err, "a record with that key already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return conncred.WrapError(conncred.ENotFound, err, "a referenced record does not exist")
		}
		// The primary code is the low byte of an extended one.
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return conncred.WrapError(conncred.EUnavailable, err, "the database is unavailable")
		}
	}
	return conncred.WrapError(conncred.EInternal, err, "database error")
}

// notFound is the error for a write that named no record.
func notFound() error { return conncred.Errorf(conncred.ENotFound, "not found") }

// mustExist returns ENotFound unless query, run in tx, finds a row.
func mustExist(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound()
	}
	return err
}

// affected turns an UPDATE that changed no row into ENotFound.
func affected(res sql.Result, err error) error { return affectedOr(res, err, notFound) }

// affectedOr turns a write that changed no row into none's error.
func affectedOr(res sql.Result, err error, none func() error) error {
	if err != nil {
		return dbErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(err)
	}
	if n == 0 {
		return none()
	}
	return nil
}
