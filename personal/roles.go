package personal

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/conncred/conncred"
)

// Roles a personal client can be scoped to. ConductorOne scopes a personal
// client's API permissions to IAM roles by id, AND'ed with its owner's;
// the official API names one such role by id, the "Read-Only
// Administrator", system:viewer (the SDK's Function.scopedRoleIds: "Currently
// only the Read-Only Administrator role (system:viewer) is supported"), and
// conncred honours it as that: every read an admin can make, no change.
// "admin" is conncred's name for all of an admin's permissions, the same as
// no scoping. Other ids (ConductorOne's other roles have no meaning here,
// and "connector" belongs to one connector, which a personal client does
// not name) are refused rather than silently widened or ignored.
const (
	RoleAdmin  = "admin"
	RoleViewer = "system:viewer"
)

type role struct {
	name     string
	readOnly bool
}

var roles = map[string]role{
	RoleAdmin:  {name: "Administrator"},
	RoleViewer: {name: "Read-Only Administrator", readOnly: true},
}

// ViewerPermissions are what RoleViewer may do, as introspection reports
// them: read everything an admin reads (the audit trail included) and
// introspect. Every change is refused by the authority's Authorize.
var ViewerPermissions = []string{
	"apps:read", "connectors:read", "credentials:read", "admins:read", "audit:read", "signing_keys:read",
	"syncs:read", "trusts:read", "settings:read", "policies:read", "webhooks:read", "auth:introspect",
}

// checkRoles returns roles in canonical form (trimmed, lower case, sorted,
// once each), or a 400 that says which roles conncred honours.
func checkRoles(in []string) ([]string, error) {
	var out []string
	for _, r := range in {
		n := strings.ToLower(strings.TrimSpace(r))
		if _, ok := roles[n]; !ok {
			return nil, conncred.Errorf(conncred.EInvalid,
				"scopedRoles: conncred cannot honour %q; a personal client acts for an admin, and may be scoped to %q (Read-Only Administrator: every read, no change) or %q (every admin permission, the same as none); for connector access rotate a connector credential instead",
				trunc(r), RoleViewer, RoleAdmin)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// scope is what a set of roles leaves a client: read-only when every
// role is, and the permissions introspection reports (nil: every one).
type scope struct {
	roles       []string
	readOnly    bool
	permissions []string
}

// scopeOf is the scope of canonical roles.
func scopeOf(rs []string) scope {
	sc := scope{roles: rs}
	if len(rs) == 0 {
		return sc
	}
	sc.readOnly = true
	for _, r := range rs {
		if !roles[r].readOnly {
			sc.readOnly = false
		}
	}
	if sc.readOnly {
		sc.permissions = slices.Clone(ViewerPermissions)
	}
	return sc
}

// names names roles for a message, e.g. "system:viewer (Read-Only Administrator)".
func names(rs []string) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r
		if n := roles[r].name; n != "" {
			out[i] += " (" + n + ")"
		}
	}
	return strings.Join(out, ", ")
}

// roleCacheTTL is how long a scope is answered from memory: every change
// by an admin asks for it. A change reaches every node within this time,
// as a source limit's does.
const roleCacheTTL = time.Second

type roleCache struct {
	mu sync.Mutex
	m  map[string]cachedScope
}

type cachedScope struct {
	scope scope
	at    time.Time
}

// RoleScope is authority.RoleSource: the roles the admin credential id is
// scoped to, whether they leave it read-only, and the permissions that
// introspection reports. A role stored that this version does not know
// (written by a newer one) makes the client read-only, never wider.
func (s *Service) RoleScope(ctx context.Context, credentialID string) ([]string, bool, []string, error) {
	sc, err := s.scope(ctx, credentialID)
	return slices.Clone(sc.roles), sc.readOnly, slices.Clone(sc.permissions), err
}

func (s *Service) scope(ctx context.Context, credentialID string) (scope, error) {
	now := s.auth.Now()
	s.cache.mu.Lock()
	if c, ok := s.cache.m[credentialID]; ok && now.Sub(c.at) < roleCacheTTL && !now.Before(c.at) {
		s.cache.mu.Unlock()
		return c.scope, nil
	}
	s.cache.mu.Unlock()
	stored, err := s.store.ScopedRoles(ctx, credentialID)
	if err != nil {
		return scope{}, err
	}
	sc := scope{roles: stored, readOnly: true, permissions: slices.Clone(ViewerPermissions)}
	if rs, err := checkRoles(stored); err == nil {
		sc = scopeOf(rs)
	}
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m) > 100_000 {
		s.cache.m = map[string]cachedScope{}
	}
	s.cache.m[credentialID] = cachedScope{scope: sc, at: now}
	s.cache.mu.Unlock()
	return sc, nil
}

func (s *Service) forgetScope(credentialID string) {
	s.cache.mu.Lock()
	delete(s.cache.m, credentialID)
	s.cache.mu.Unlock()
}

// withinCaller refuses roles that would give a client more than the admin
// creating or updating it has: no roles (every permission) or admin from a
// read-only caller. The transport already refuses every change to a
// read-only caller; this keeps the rule where the roles are.
func (s *Service) withinCaller(ctx context.Context, rs []string) error {
	p := conncred.PrincipalFrom(ctx)
	if p == nil || p.IsSystem() || p.Kind != conncred.KindAdmin || p.CredentialID == "" {
		return nil
	}
	mine, err := s.scope(ctx, p.CredentialID)
	if err != nil || !mine.readOnly {
		return err
	}
	if !scopeOf(rs).readOnly {
		return conncred.Errorf(conncred.EPermissionDenied, "a personal client's permissions never exceed its creator's: you are scoped to %s, so scopedRoles must be read-only too", names(mine.roles))
	}
	return nil
}
