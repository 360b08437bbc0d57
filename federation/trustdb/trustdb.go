// Package trustdb holds the workload federation trust record and the store
// interface package federation needs, apart from federation's rules, so
// that the stores can implement it without importing the authority (whose
// own tests open a store).
package trustdb

import (
	"context"
	"time"

	"github.com/conncred/conncred"
)

// SuffixTrust is the client-id suffix of a workload federation trust, as the
// official SDK names them (<cutename>@<host>/wfe).
const SuffixTrust = "wfe"

// Role is what a trust's tokens act as.
type Role string

const (
	// RoleConnector tokens act as one connector, with exactly a connector
	// credential's permissions.
	RoleConnector Role = "connector"
	// RoleAdmin tokens act as an admin (personal client) credential.
	RoleAdmin Role = "admin"
)

// Trust lets workloads whose OIDC tokens satisfy it obtain access tokens.
// It holds no secret: what it trusts is an issuer's public keys.
type Trust struct {
	ID          string
	ClientID    string // <cutename>@<public-host>/wfe
	DisplayName string
	Issuer      string   // the subject token's iss, exactly
	Audiences   []string // the subject token's aud must name one
	Condition   string   // CEL over claims; must evaluate to true
	Role        Role
	AppID       string // RoleConnector only
	ConnectorID string // RoleConnector only
	// MaxTokenLifetime caps the access tokens minted through the trust
	// (they are also capped by the server's token TTL and by the subject
	// token's own exp).
	MaxTokenLifetime time.Duration
	// RequireDPoP refuses exchanges that do not bind the token to a key.
	RequireDPoP bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// DeletedAt is when the trust stopped granting: its own delete, or,
	// for a connector trust, its connector's or app's delete, whichever
	// the store finds first (the cascade is read, not written).
	DeletedAt  *time.Time
	LastUsedAt *time.Time
}

// Store keeps trusts. It is the part of a conncred store this package needs;
// store/sqlite and store/postgres implement it. Errors are *conncred.Error
// with the codes of conncred.Store.
type Store interface {
	// CreateTrust inserts t. For a RoleConnector trust it checks, in the
	// same transaction, that the connector exists, belongs to t.AppID and
	// is not deleted (else ENotFound). A duplicate ID or ClientID is
	// EConflict.
	CreateTrust(ctx context.Context, t Trust) error
	// GetTrust and GetTrustByClientID return a trust, deleted or not, with
	// DeletedAt as described on Trust.
	GetTrust(ctx context.Context, id string) (Trust, error)
	GetTrustByClientID(ctx context.Context, clientID string) (Trust, error)
	// ListTrusts returns a page of trusts in ID order; deleted ones (in the
	// cascaded sense) only with opt.IncludeDeleted.
	ListTrusts(ctx context.Context, opt conncred.ListOptions) ([]Trust, error)
	// UpdateTrust replaces the mutable fields (DisplayName, Issuer,
	// Audiences, Condition, MaxTokenLifetime, RequireDPoP, UpdatedAt) of a
	// trust that is not itself deleted; else ENotFound.
	UpdateTrust(ctx context.Context, t Trust) error
	// DeleteTrust sets the trust's own DeletedAt (and UpdatedAt) if unset,
	// announces it to other nodes when the store can, and returns the
	// trust as stored afterwards. Deleting twice keeps the first time.
	DeleteTrust(ctx context.Context, id string, at time.Time) (Trust, error)
	// TouchTrust moves LastUsedAt forward to at, never backwards; an
	// unknown id is ignored.
	TouchTrust(ctx context.Context, id string, at time.Time) error
}
