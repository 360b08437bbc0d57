package authority

import (
	"context"

	"github.com/conncred/conncred"
)

// Action names an operation the HTTP layer must clear with Authorize before
// it spends anything on the request, in particular before it reads a body.
// The operations themselves check again (Authorize is the same rule, asked
// earlier), so forgetting to call it costs memory, never access.
type Action string

// The actions whose requests carry a body.
const (
	ActionWriteApps         Action = "apps:write"        // create, update, delete apps
	ActionWriteConnectors   Action = "connectors:write"  // create, update, delete connectors
	ActionWriteCredentials  Action = "credentials:write" // rotate, revoke connector credentials
	ActionWriteAdmins       Action = "admins:write"      // create, revoke admin clients
	ActionRotateSigningKeys Action = "signing_keys:rotate"
	ActionControlSyncs      Action = "syncs:control" // force_sync, pause, resume, schedule
	ActionWriteTrusts       Action = "trusts:write"  // create, update, delete workload federation trusts
)

// Authorize reports whether the principal in ctx may perform action: nil,
// or an EUnauthenticated / EPermissionDenied error that says why not. Every
// action it knows today is an admin's; a connector credential may only
// introspect and read itself, which take no body.
func (a *Authority) Authorize(ctx context.Context, action Action) error {
	switch action {
	case ActionWriteApps, ActionWriteConnectors, ActionWriteCredentials, ActionWriteAdmins, ActionRotateSigningKeys, ActionControlSyncs, ActionWriteTrusts:
		_, err := requireAdmin(ctx)
		return err
	default:
		// An action without a rule is a programming error; refusing it
		// keeps a typo in a handler from opening anything.
		return conncred.Errorf(conncred.EInternal, "no authorization rule for action %q", string(action))
	}
}
