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
	ActionWriteAdmins       Action = "admins:write"      // create, update, revoke admin clients
	ActionReadAdmins        Action = "admins:read"       // search admin clients (the search is a POST with a body)
	ActionRotateSigningKeys Action = "signing_keys:rotate"
	ActionControlSyncs      Action = "syncs:control"  // force_sync, pause, resume, schedule
	ActionWriteTrusts       Action = "trusts:write"   // create, update, delete workload federation trusts
	ActionWriteSettings     Action = "settings:write" // session settings, source limits (package lifecycle)
	ActionWritePolicies     Action = "policies:write" // expiry and dormancy policies (package policy)
	ActionWriteWebhooks     Action = "webhooks:write" // create, delete, test, redeliver webhook endpoints (package webhook)
	ActionIssueConsoleLink  Action = "console:link"   // ask for a one-time console login link (package console)
	// ActionSelfCredential is a connector rotating or revoking the
	// credential its token was minted from: only a connector credential may.
	ActionSelfCredential Action = "credentials:self"
)

// Authorize reports whether the principal in ctx may perform action: nil,
// or an EUnauthenticated / EPermissionDenied error that says why not. Every
// action but ActionSelfCredential is an admin's; a connector credential may
// otherwise only introspect and read itself, which take no body.
func (a *Authority) Authorize(ctx context.Context, action Action) error {
	switch action {
	case ActionWriteApps, ActionWriteConnectors, ActionWriteCredentials, ActionWriteAdmins, ActionReadAdmins, ActionRotateSigningKeys, ActionControlSyncs, ActionWriteTrusts, ActionWriteSettings, ActionWritePolicies, ActionWriteWebhooks, ActionIssueConsoleLink:
		_, err := requireAdmin(ctx)
		return err
	case ActionSelfCredential:
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
