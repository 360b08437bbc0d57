package authority

import (
	"context"
	"slices"
	"strings"

	"github.com/conncred/conncred"
)

// Action names an operation the HTTP layer must clear with Authorize before
// it spends anything on the request, in particular before it reads a body.
// The operations themselves check again that the caller is an admin (or
// the connector), so forgetting to call it costs memory, never access to
// a connector; a personal client's scoped roles, though, are enforced
// here only, so every change must be asked about (the server's tests hold
// every route to it).
type Action string

// The actions whose requests carry a body.
const (
	ActionWriteApps         Action = "apps:write"        // create, update, delete apps
	ActionWriteConnectors   Action = "connectors:write"  // create, update, delete connectors
	ActionWriteCredentials  Action = "credentials:write" // rotate, revoke connector credentials
	ActionWriteAdmins       Action = "admins:write"      // create, update, revoke admin clients
	ActionReadAdmins        Action = "admins:read"       // search admin clients (the search is a POST with a body)
	ActionRotateSigningKeys Action = "signing_keys:rotate"
	ActionControlSyncs      Action = "syncs:control"  // force_sync, pause, resume, schedule
	ActionReadSyncs         Action = "syncs:read"     // sync status, hosts, tasks, syncs, their artifacts
	ActionWriteTrusts       Action = "trusts:write"   // create, update, delete workload federation trusts
	ActionWriteSettings     Action = "settings:write" // session settings, source limits (package lifecycle)
	ActionReadSettings      Action = "settings:read"  // try a source address against networks (a POST with a body)
	ActionWritePolicies     Action = "policies:write" // expiry and dormancy policies (package policy)
	ActionWriteWebhooks     Action = "webhooks:write" // create, delete, test, redeliver webhook endpoints (package webhook)
	ActionIssueConsoleLink  Action = "console:link"   // ask for a one-time console login link (package console)
	// ActionSelfCredential is a connector rotating or revoking the
	// credential its token was minted from: only a connector credential may.
	ActionSelfCredential Action = "credentials:self"
)

// writeActions are the admin actions that change something: what a
// read-only role may not do.
// A console login link is one: it makes a record, and opens a session
// that acts for the admin in pages that may not ask about roles.
var writeActions = []Action{ActionWriteApps, ActionWriteConnectors, ActionWriteCredentials, ActionWriteAdmins, ActionRotateSigningKeys,
	ActionControlSyncs, ActionWriteTrusts, ActionWriteSettings, ActionWritePolicies, ActionWriteWebhooks, ActionIssueConsoleLink}

// Authorize reports whether the principal in ctx may perform action: nil,
// or an EUnauthenticated / EPermissionDenied error that says why not. Every
// action but ActionSelfCredential is an admin's; a connector credential may
// otherwise only introspect and read itself, which take no body. An admin
// credential scoped to read-only roles (RoleScope.ReadOnly) may do the
// reads, and no change.
func (a *Authority) Authorize(ctx context.Context, action Action) error {
	switch {
	case action == ActionReadAdmins || action == ActionReadSettings || action == ActionReadSyncs:
		_, err := requireAdmin(ctx)
		return err
	case slices.Contains(writeActions, action):
		p, err := requireAdmin(ctx)
		if err != nil {
			return err
		}
		return a.mayChange(ctx, p, action)
	case action == ActionSelfCredential:
		p := conncred.PrincipalFrom(ctx)
		if p == nil {
			return conncred.Errorf(conncred.EUnauthenticated, "authentication required")
		}
		if p.IsSystem() || p.Kind != conncred.KindConnector {
			return conncred.Errorf(conncred.EPermissionDenied, "only a connector credential's token can rotate or revoke itself; admins use the credential routes")
		}
		return nil
	default:
		// An action without a rule is a programming error; refusing it
		// keeps a typo in a handler from opening anything.
		return conncred.Errorf(conncred.EInternal, "no authorization rule for action %q", string(action))
	}
}

// RoleSource gives what an admin credential's scoped roles leave it:
// package personal decides (the roles are personal clients' scopedRoles);
// the authority enforces it on every change and reports it on
// introspection. It returns the roles (none: not scoped, every admin
// permission), whether they leave the credential read-only (every read an
// admin can make, no change), and the permissions introspection reports
// (nil: every one, "*"). Its results are plain types, so that package
// personal, which the stores import, need not import this package. It
// must answer fast (a cache): every change by an admin asks it.
type RoleSource interface {
	RoleScope(ctx context.Context, credentialID string) (roles []string, readOnly bool, permissions []string, err error)
}

// roleScope is what a RoleSource said of one principal.
type roleScope struct {
	roles       []string
	readOnly    bool
	permissions []string
}

// SetRoleSource makes Authorize and Introspect apply the scopes r gives.
// Set it before serving; nil (the default) scopes no one.
func (a *Authority) SetRoleSource(r RoleSource) {
	if r == nil {
		a.roles.Store(nil)
		return
	}
	a.roles.Store(&r)
}

// roleScope returns p's scope: none for a principal without a credential
// of its own (System, a trust's grant) or when no source is set.
func (a *Authority) roleScope(ctx context.Context, p *conncred.Principal) (roleScope, error) {
	r := a.roles.Load()
	if r == nil || p.IsSystem() || p.Kind != conncred.KindAdmin || p.CredentialID == "" {
		return roleScope{}, nil
	}
	roles, readOnly, perms, err := (*r).RoleScope(ctx, p.CredentialID)
	return roleScope{roles, readOnly, perms}, err
}

// mayChange refuses a change to an admin scoped to read-only roles.
func (a *Authority) mayChange(ctx context.Context, p *conncred.Principal, action Action) error {
	sc, err := a.roleScope(ctx, p)
	if err != nil || !sc.readOnly {
		return err
	}
	return conncred.Errorf(conncred.EPermissionDenied, "this personal client is scoped to the role %s, which may read but not change anything; %s needs an admin client that is not scoped (or is scoped to admin)",
		strings.Join(sc.roles, ", "), string(action))
}

// introspection describes an admin principal as its scoped roles make it.
func (a *Authority) introspection(ctx context.Context, p *conncred.Principal) (Introspection, error) {
	sc, err := a.roleScope(ctx, p)
	if err != nil {
		return Introspection{}, err
	}
	in := Introspection{Principal: *p, Roles: []string{"admin"}, Permissions: []string{"*"}}
	if len(sc.roles) > 0 {
		in.Roles = slices.Clone(sc.roles)
	}
	if sc.permissions != nil {
		in.Permissions = slices.Clone(sc.permissions)
	}
	return in, nil
}
