package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// unavailable is the one message for every failure to reach the database;
// the server turns its code into 503.
const unavailable = "database unavailable"

// dbErr maps a pgx error to a conncred error by SQLSTATE and error type,
// never by message text. Messages are generic: the cause, which may quote
// SQL or values, stays in Err.
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
		case pe.Code == "23503": // foreign_key_violation: the parent record is missing
			return &conncred.Error{Code: conncred.ENotFound, Message: "a referenced record does not exist", Err: err}
		case strings.HasPrefix(pe.Code, "08"), // connection_exception class
			strings.HasPrefix(pe.Code, "57P"), // admin_shutdown, crash_shutdown, cannot_connect_now, ...
			pe.Code == "53300":                // too_many_connections
			return &conncred.Error{Code: conncred.EUnavailable, Message: unavailable, Err: err}
		}
		return &conncred.Error{Code: conncred.EInternal, Message: "database error", Err: err}
	}
	// No SQLSTATE: the server was never reached, the connection broke, or
	// the wait for one ran out (acquireTimeout, or the caller gave up).
	var ne net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, pgx.ErrTxClosed) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return &conncred.Error{Code: conncred.EUnavailable, Message: unavailable, Err: err}
	}
	return &conncred.Error{Code: conncred.EInternal, Message: "database error", Err: err}
}
