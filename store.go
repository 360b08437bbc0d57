package conncred

import (
	"context"
	"time"
)

// Store keeps conncred's records. Implementations only store: every rule
// (who may do what, limits, defaults, expiry) lives in package authority. The
// few checks a Store does make are the ones that must be atomic with a write
// (an active-credential cap, single use of an assertion), and their
// parameters come from the caller.
//
// Every method returns *Error values: ENotFound for a missing record,
// EConflict for a refused write, EUnavailable when the database cannot be
// reached, EInternal otherwise. Records come back with deleted ones included
// unless an option says otherwise; hiding them is the caller's decision.
//
// Lists are ordered by ID ascending. IDs are time-ordered, so the order is the
// creation order and is stable under concurrent inserts of later records.
type Store interface {
	CreateApp(ctx context.Context, app App) error
	GetApp(ctx context.Context, id string) (App, error)
	ListApps(ctx context.Context, opt ListOptions) ([]App, error)
	// UpdateApp replaces the mutable fields (DisplayName, Description,
	// UpdatedAt) of a live app.
	UpdateApp(ctx context.Context, app App) error
	// DeleteApp marks the app, its connectors and their credentials deleted
	// at the given time, in one transaction. Records already deleted keep
	// their first DeletedAt. It returns ENotFound for an unknown app.
	DeleteApp(ctx context.Context, id string, at time.Time) error

	CreateConnector(ctx context.Context, c Connector) error
	GetConnector(ctx context.Context, id string) (Connector, error)
	ListConnectors(ctx context.Context, appID string, opt ListOptions) ([]Connector, error)
	UpdateConnector(ctx context.Context, c Connector) error
	// DeleteConnector marks the connector and its credentials deleted, as
	// DeleteApp does for an app.
	DeleteConnector(ctx context.Context, id string, at time.Time) error

	// CreateCredential inserts c. For a KindConnector credential it first
	// checks, in the same transaction, that the connector exists and is not
	// deleted (else ENotFound) and that fewer than limit.MaxActive of its
	// credentials are usable at limit.Now (else EConflict). MaxActive 0 means
	// no cap. A duplicate ClientID is EConflict.
	CreateCredential(ctx context.Context, c Credential, limit ActiveLimit) error
	GetCredential(ctx context.Context, id string) (Credential, error)
	GetCredentialByClientID(ctx context.Context, clientID string) (Credential, error)
	ListCredentials(ctx context.Context, f CredentialFilter) ([]Credential, error)
	// RevokeCredential sets DeletedAt (and UpdatedAt) if it is not set yet
	// and returns the record as stored afterwards. Revoking twice keeps the
	// first time.
	RevokeCredential(ctx context.Context, id string, at time.Time) (Credential, error)
	// TouchCredentials moves LastUsedAt forward to each use's time; it never
	// moves it backwards, and ignores unknown ids.
	TouchCredentials(ctx context.Context, uses []CredentialUse) error
	// CountCredentials counts credentials matching f (ignoring its paging).
	CountCredentials(ctx context.Context, f CredentialFilter) (int, error)

	// UseAssertion records key as used until expiresAt. A key recorded
	// before (and not yet swept) is EConflict: this one insert is the replay
	// check, so two callers can never both succeed with the same key.
	UseAssertion(ctx context.Context, key string, expiresAt time.Time) error
	// SweepAssertions deletes at most limit records that expired before t
	// and returns how many it deleted.
	SweepAssertions(ctx context.Context, before time.Time, limit int) (int, error)

	// CreateSigningKey stores a new signing key; a duplicate ID is EConflict.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every signing key, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)

	// AppendAudit stores events durably, in one transaction.
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// ListAudit returns events matching f, ordered by ID ascending (or
	// descending, as f says).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// RevocationWatcher is implemented by stores shared by several server nodes.
// WatchRevocations calls fn with the id of every credential revoked anywhere
// (by any node) until ctx ends. It returns only when ctx ends, reconnecting
// on its own; while disconnected it calls fn with "" to say that
// notifications may have been missed, so the caller drops its caches.
type RevocationWatcher interface {
	WatchRevocations(ctx context.Context, fn func(credentialID string)) error
}

// ListOptions pages through a list. After is the ID of the last record of
// the previous page ("" for the first page); Limit is the page size (> 0).
type ListOptions struct {
	After          string
	Limit          int
	IncludeDeleted bool
}

// ActiveLimit is the cap CreateCredential enforces atomically.
type ActiveLimit struct {
	MaxActive int
	Now       time.Time
}

// CredentialFilter selects credentials. Empty fields do not filter.
type CredentialFilter struct {
	Kind        CredentialKind
	AppID       string
	ConnectorID string
	// UsableAt, when set, keeps only credentials that are neither revoked
	// nor expired at that time.
	UsableAt *time.Time
	// UnusableAt, when set, keeps only credentials that are revoked or
	// expired at that time (revoked ones whatever IncludeDeleted says): a
	// connector's past credentials, beside its usable ones. It is not set
	// together with UsableAt.
	UnusableAt *time.Time
	// Descending lists newest first: by ID descending. After is then the
	// ID of the last credential of the previous page, and the page holds
	// IDs below it.
	Descending bool
	ListOptions
}

// CredentialUse is one successful authentication, for TouchCredentials.
type CredentialUse struct {
	ID string
	At time.Time
}

// AuditFilter selects audit events. Empty fields do not filter; Since is
// inclusive and Until exclusive. The prefixes compare bytes, case
// sensitively, as the values were stored.
type AuditFilter struct {
	Kind         string
	ConnectorID  string
	CredentialID string
	// Actor keeps events by exactly this actor (a client id, "system");
	// ActorPrefix, events whose actor starts with it. An exact actor's
	// page is read from its index in order; a prefix's matches are sorted.
	Actor       string
	ActorPrefix string
	// Outcome keeps events with exactly this outcome.
	Outcome string
	// SourcePrefixes keeps events whose source address starts with any of
	// them (none: no filter).
	SourcePrefixes []string
	Since          time.Time
	Until          time.Time
	// Descending lists newest first: by ID descending. After is in either
	// order the ID of the last event of the previous page, so in this one
	// the page holds IDs below it.
	Descending bool
	After      string
	Limit      int
}

// Migrator is implemented by stores whose schema is versioned. Open applies
// pending migrations itself; these are for operators who run them as a
// separate step (conncred migrate).
type Migrator interface {
	Migrate(ctx context.Context) error
	MigrationStatus(ctx context.Context) ([]MigrationState, error)
}

// MigrationState is one schema migration and whether it has been applied.
type MigrationState struct {
	Version   int
	Name      string
	AppliedAt *time.Time
}
