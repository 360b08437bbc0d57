// Package console holds the rules of signing in to the web console: one-time
// login links and the server-side sessions they start. It is a wing beside
// package authority: it knows nothing of HTTP, cookies or SQL. The pages
// themselves live in package webconsole, which asks this package who a
// request's session acts for and then calls the same authority rules as the
// API (there is no second path to the data).
//
// # Why links and sessions look like this
//
// An operator who holds an admin credential runs `conncred console`; the CLI
// asks the server (as that credential) for a login link. The link's token is
// random, shown once, stored only as its SHA-256, single use and valid for
// LinkLifetime. Redeeming it (a POST, never a GET: link previewers and
// prefetchers must not spend it) starts a session bound to the credential
// that asked for the link, so the session can never do more than that
// credential, and revoking or expiring the credential ends its sessions at
// the next request. A session's cookie value is likewise random and stored
// only hashed. Sessions end after IdleTimeout without a request, after
// AbsoluteTimeout in any case, and at sign-out; they live in the store, so
// they work on every node sharing it.
package console

import (
	"context"
	"time"
)

// Lifetimes of links and sessions. The absolute timeout is a working day:
// an operator signs in again each morning, and a stolen cookie is worth at
// most that long.
const (
	LinkLifetime    = 10 * time.Minute
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
)

// Audit event kinds the wing records.
const (
	AuditLinkIssued = "console.link_issued"
	AuditSignedIn   = "console.signed_in"
	AuditSignedOut  = "console.signed_out"
)

// Link is a one-time login link as stored: never its token, only the
// token's hash.
type Link struct {
	ID           string
	TokenHash    []byte // SHA-256 of the token
	CredentialID string // the admin credential that asked for it
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
}

// Session is a signed-in console session as stored: never its cookie value,
// only the value's hash.
type Session struct {
	ID           string
	TokenHash    []byte // SHA-256 of the cookie value
	CredentialID string // the admin credential the session acts as
	Source       string // address it was started from, for the audit trail
	CreatedAt    time.Time
	LastSeenAt   time.Time
	// ExpiresAt is CreatedAt + AbsoluteTimeout; the idle timeout runs from
	// LastSeenAt.
	ExpiresAt time.Time
	EndedAt   *time.Time
}

// Store keeps links and sessions. It only stores; the checks it makes are
// the ones that must be atomic with a write, with parameters from the
// caller.
type Store interface {
	CreateConsoleLink(ctx context.Context, l Link) error
	// RedeemConsoleLink marks the unused link whose token hash is hash as
	// used at `at` and, in the same transaction, creates s for it (with
	// s.CredentialID taken from the link). A link that is unknown, already
	// used or expired at `at` is ENotFound, so a token can start at most
	// one session even when two nodes redeem it at once.
	RedeemConsoleLink(ctx context.Context, hash []byte, at time.Time, s Session) (Session, error)
	// GetConsoleSession returns the session whose cookie hash is hash,
	// ended or not; ENotFound if there is none.
	GetConsoleSession(ctx context.Context, hash []byte) (Session, error)
	// TouchConsoleSession moves LastSeenAt forward to at (never back).
	TouchConsoleSession(ctx context.Context, id string, at time.Time) error
	// EndConsoleSession sets EndedAt if it is not set yet.
	EndConsoleSession(ctx context.Context, id string, at time.Time) error
	// SweepConsole deletes at most limit links that expired or were used,
	// and sessions that expired or ended, before `before` (strictly), and
	// returns how many it deleted.
	SweepConsole(ctx context.Context, before time.Time, limit int) (int, error)
}
