// Package lifecycle holds the rules of credentials that look after
// themselves: rotation without downtime (an overlap in which the old
// credential retires after a grace, self-rotation and self-revocation by a
// connector proving possession of its key, keys brought by the caller) and
// where a credential may be used from (server-wide session settings and
// per-credential source networks).
//
// It is a wing beside package authority: the authority keeps what every
// credential shares (its key, client id, cap, cache and audit trail) and
// offers it through a few exported calls; this package decides who may use
// these features and how, over the narrow Store it declares, and knows
// nothing of HTTP or SQL.
package lifecycle

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync/atomic"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/secret"
)

// Store is what this package needs of the database. store/sqlite and
// store/postgres implement it in their lifecycle.go files; the conformance
// tests are store/storetest/lifecycle.go.
type Store interface {
	// RotateRetiring stores c exactly as conncred.Store.CreateCredential
	// does (live connector, cap at limit, unique client id) and, in the same
	// transaction, retires the connector's other credentials that are
	// usable at limit.Now: each gets ExpiresAt = r.At (and UpdatedAt =
	// limit.Now) unless it already expires sooner. With r.CredentialID set
	// only that credential is retired, and ENotFound (nothing stored) if it
	// is not a usable credential of c's connector. A zero r.At retires
	// nothing. A public key (Thumbprint) already registered to any
	// credential is EConflict. It returns the retired credentials as
	// stored.
	RotateRetiring(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit, r Retirement) ([]conncred.Credential, error)
	// GetCredential returns a credential by id, revoked or not.
	GetCredential(ctx context.Context, id string) (conncred.Credential, error)
	// CredentialByThumbprint returns the credential whose public key has
	// that RFC 7638 thumbprint, revoked or not, or ENotFound.
	CredentialByThumbprint(ctx context.Context, thumbprint string) (conncred.Credential, error)

	// SourceLimit returns the networks a credential may be used from;
	// none (and no error) when it has no limit.
	SourceLimit(ctx context.Context, credentialID string) ([]string, error)
	// SetSourceLimit replaces them; an empty list removes the limit.
	SetSourceLimit(ctx context.Context, credentialID string, cidrs []string, at time.Time) error
	// SessionSettings returns the server-wide settings, zero if never set.
	SessionSettings(ctx context.Context) (SessionSettings, error)
	// PutSessionSettings replaces them.
	PutSessionSettings(ctx context.Context, s SessionSettings) error
}

// Authority is what this package uses of package authority, which keeps
// what every credential shares; *authority.Authority implements it. It is
// declared here so that the stores, which implement Store, can import this
// package without importing the authority.
type Authority interface {
	// IssueConnectorCredential adds a credential to a live connector under
	// the server's expiry and cap rules, storing it with insert; it checks
	// no authorization. With pub nil it generates the key and its secret.
	IssueConnectorCredential(ctx context.Context, appID, connectorID, displayName string, expires time.Duration, expiresTime *time.Time,
		pub ed25519.PublicKey, insert func(context.Context, conncred.Credential, conncred.ActiveLimit) error) (conncred.Credential, secret.Secret, error)
	// RevokeOwn revokes the connector credential behind ctx's principal.
	RevokeOwn(ctx context.Context) (conncred.Credential, error)
	// Record adds an audit event; Forget drops a credential from the
	// authentication cache; Now is the time at the store's precision.
	Record(ctx context.Context, e conncred.AuditEvent)
	Forget(credentialID string)
	Now() time.Time
}

// Retirement says which credentials a rotate retires, and when.
type Retirement struct {
	At           time.Time // zero: none
	CredentialID string    // "": every other usable credential of the connector
}

// Config holds the package's settings; zero values take the defaults noted.
type Config struct {
	// DefaultGrace is how long a self-rotated connector's old credential
	// keeps working (default 24h), so that a fleet of processes sharing it
	// can pick up the new one.
	DefaultGrace time.Duration
	// MaxGrace bounds retirePreviousAfter and a self-rotation's grace
	// (default 30 days); longer is refused as a mistake.
	MaxGrace time.Duration
	// SourceCacheTTL bounds how long source limits are trusted without
	// asking the store again (default 1s, the credential cache's): the
	// backstop for a change made on another node.
	SourceCacheTTL time.Duration
	// Observer receives source refusals and retirements for metrics; nil:
	// none.
	Observer Observer
}

func (c *Config) setDefaults() {
	if c.DefaultGrace == 0 {
		c.DefaultGrace = 24 * time.Hour
	}
	if c.MaxGrace == 0 {
		c.MaxGrace = 30 * 24 * time.Hour
	}
	if c.SourceCacheTTL == 0 {
		c.SourceCacheTTL = time.Second
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
}

// Service applies the lifecycle rules.
type Service struct {
	cfg     Config
	auth    Authority
	store   Store
	clock   clock.Clock
	sources *sourceCache
	limiter atomic.Pointer[limiterBox] // rotate.go
}

// New returns a Service. store is usually the same database as the
// authority's; a conncred.Store that does not implement Store is refused
// by the caller (see AsStore).
func New(cfg Config, a Authority, store Store, clk clock.Clock) *Service {
	cfg.setDefaults()
	if clk == nil {
		clk = clock.Real{}
	}
	s := &Service{cfg: cfg, auth: a, store: store, clock: clk}
	s.sources = newSourceCache(store, clk, cfg.SourceCacheTTL)
	return s
}

// AsStore returns st as a Store, or an error that names what is missing.
func AsStore(st conncred.Store) (Store, error) {
	ls, ok := st.(Store)
	if !ok {
		return nil, errors.New("this store does not implement the lifecycle wing (rotation overlap, source limits); upgrade the store")
	}
	return ls, nil
}

func requireAdmin(ctx context.Context) (*conncred.Principal, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if !p.IsAdmin() {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "this operation needs an admin (personal client) credential")
	}
	return p, nil
}

func requireConnector(ctx context.Context) (*conncred.Principal, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if p.IsSystem() || p.Kind != conncred.KindConnector {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "only a connector credential can rotate or revoke itself; admins rotate with POST /api/v1/apps/connectors/credentials")
	}
	return p, nil
}
