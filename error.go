package conncred

import (
	"errors"
	"fmt"
)

// Error codes. They name what went wrong in terms a caller can act on; the
// HTTP layer owns the only mapping from these codes to statuses.
const (
	EInvalid           = "invalid"            // the request is malformed or breaks a rule
	ENotFound          = "not_found"          // the named record does not exist (or is hidden)
	EConflict          = "conflict"           // a uniqueness or capacity rule refused the write
	EUnauthenticated   = "unauthenticated"    // no, or no valid, proof of identity
	EPermissionDenied  = "permission_denied"  // identity known, action not allowed
	EResourceExhausted = "resource_exhausted" // rate or size limit reached
	EUnavailable       = "unavailable"        // a dependency (the database) is down; retry later
	EInternal          = "internal"           // a bug or an unexpected failure
)

// Error is the error every layer returns. Message is safe to show to the
// caller; Err is the private cause, logged but never sent over the wire. A
// message must never contain a secret.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted public message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error that keeps cause private behind a public message.
func WrapError(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the public message of err. Errors that are not *Error
// are unexpected, so their text (which may carry internals) is replaced.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
