// Package personal holds the rules of personal clients as ConductorOne's
// API has them (PersonalClientService: create with displayName, expires,
// allowSourceCidr and scopedRoles; get; list; search; update with an
// updateMask; delete), so that the official Go SDK's calls work against
// conncred unchanged.
//
// conncred's admin credentials ARE personal clients (/pcc client ids): this
// package adds the official fields to the authority's admin records rather
// than keeping records of its own. allowSourceCidr is the lifecycle wing's
// per-credential source limit (enforced there, at the token exchange and on
// every call); scopedRoles is kept so that a get answers what was set.
//
// scopedRoles reduce a client's permissions to the named roles, never
// beyond its creator's (roles.go): system:viewer, ConductorOne's Read-Only
// Administrator, may read everything and change nothing, which the
// authority's Authorize enforces on every change (RoleScope is its
// RoleSource); admin (or none) is every admin permission.
//
// It knows nothing of HTTP or SQL: the server calls it, and the stores
// implement the Store it declares.
package personal

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/secret"
)

// Store is what this package needs of the database. store/sqlite and
// store/postgres implement it in their personal.go files; the conformance
// tests are store/storetest/personal.go.
type Store interface {
	// UpdatePersonalClient sets the display name and expiry (nil: none) of
	// the live (not revoked) admin credential id, with UpdatedAt = at, and
	// returns it as stored; ENotFound if there is none. Other nodes drop
	// it from their credential caches, as after a revoke.
	UpdatePersonalClient(ctx context.Context, id, displayName string, expiresAt *time.Time, at time.Time) (conncred.Credential, error)
	// ScopedRoles returns the roles a client was given; none (and no
	// error) when it has none.
	ScopedRoles(ctx context.Context, credentialID string) ([]string, error)
	// SetScopedRoles replaces them; an empty list removes them.
	SetScopedRoles(ctx context.Context, credentialID string, roles []string, at time.Time) error
	// SourceLimit and SetSourceLimit are lifecycle.Store's: the networks
	// a credential may be used from.
	SourceLimit(ctx context.Context, credentialID string) ([]string, error)
	SetSourceLimit(ctx context.Context, credentialID string, cidrs []string, at time.Time) error
}

// Authority is what this package uses of package authority, which keeps
// the admin records; *authority.Authority implements it. Its methods check
// that the caller is an admin. Plain types keep this package free of the
// authority, so that the stores can import it.
type Authority interface {
	// IssuePersonalClient creates an admin credential (expiry under the
	// server's maximum lifetime) and records its creation.
	IssuePersonalClient(ctx context.Context, displayName string, expires time.Duration, expiresTime *time.Time) (conncred.Credential, secret.Secret, error)
	GetAdmin(ctx context.Context, id string) (conncred.Credential, error)
	// ListPersonalClients returns a page of admin credentials, revoked
	// ones included, and the next page's token.
	ListPersonalClients(ctx context.Context, pageSize int, pageToken string) ([]conncred.Credential, string, error)
	RevokeAdmin(ctx context.Context, id string) (conncred.Credential, error)
	// PersonalExpiry applies the server's maximum credential lifetime to
	// an expiry set by an update (nil: none), from now.
	PersonalExpiry(expiresTime *time.Time) (*time.Time, error)
	Record(ctx context.Context, e conncred.AuditEvent)
	Forget(credentialID string)
	Now() time.Time
}

// SourceCache is the lifecycle wing's cache of source limits, told when
// this package changes one; *lifecycle.Service implements it.
type SourceCache interface {
	ForgetSourceLimit(credentialID string)
}

// Audit event kinds this package records (the authority records
// admin.created and admin.revoked).
const (
	AuditUpdated    = "admin.updated"    // displayName, expiresTime, allowSourceCidr or scopedRoles changed
	AuditRestricted = "admin.restricted" // created with allowSourceCidr or scopedRoles
)

// Client is a personal client: the admin credential and the official
// fields kept beside it.
type Client struct {
	conncred.Credential
	AllowSourceCIDR []string // canonical networks; none: no limit of its own
	ScopedRoles     []string
}

// CreateRequest is a create's input.
type CreateRequest struct {
	DisplayName     string
	Expires         time.Duration
	ExpiresTime     *time.Time // a conncred extension; at most one of the two
	AllowSourceCIDR []string
	ScopedRoles     []string
}

// Update is an update's input: the fields the mask names are replaced,
// the others kept. Mask paths are the official lowerCamelCase names
// (snake_case accepted); an empty mask names the fields the caller set.
type Update struct {
	DisplayName     *string
	ExpiresTime     *time.Time // nil with "expiresTime" in the mask: no expiry
	AllowSourceCIDR []string
	ScopedRoles     []string
	Mask            []string
}

// Service applies the personal-client rules.
type Service struct {
	auth    Authority
	store   Store
	sources SourceCache
	cache   roleCache // roles.go
}

// New returns a Service; sources may be nil (no cache to tell).
func New(a Authority, st Store, sources SourceCache) *Service {
	return &Service{auth: a, store: st, sources: sources}
}

// AsStore returns st as a Store, or an error that names what is missing.
func AsStore(st conncred.Store) (Store, bool) {
	ps, ok := st.(Store)
	return ps, ok
}

func checkCIDRs(cidrs []string) ([]string, error) {
	nets, err := lifecycle.ParseCIDRs("allowSourceCidr", cidrs)
	if err != nil {
		return nil, err
	}
	if len(nets) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(nets))
	for _, n := range nets {
		out = append(out, n.String())
	}
	return out, nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
