package authority

import (
	"context"

	"github.com/conncred/conncred"
)

// CredentialState selects credentials by whether they can authenticate
// now.
type CredentialState string

const (
	// CredentialsAll is every credential, revoked and expired ones too.
	CredentialsAll CredentialState = ""
	// CredentialsUsable is the credentials neither revoked nor expired.
	CredentialsUsable CredentialState = "usable"
	// CredentialsPast is the credentials revoked or expired.
	CredentialsPast CredentialState = "past"
)

// CredentialQuery selects a connector's credentials for QueryCredentials.
type CredentialQuery struct {
	State CredentialState
	// Newest lists newest first; the default is creation order.
	Newest bool
	Page   PageRequest
}

// QueryCredentials returns a page of a connector's credentials as q
// selects them. A connector rotated daily for years has thousands of
// revoked credentials; its usable ones, and its latest past ones, are each
// one indexed page away, so a console can show them first. Admins only.
func (a *Authority) QueryCredentials(ctx context.Context, appID, connectorID string, q CredentialQuery) ([]conncred.Credential, string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	if _, err := a.liveConnector(ctx, appID, connectorID); err != nil {
		return nil, "", err
	}
	opt, err := listOptions(q.Page)
	if err != nil {
		return nil, "", err
	}
	f := conncred.CredentialFilter{Kind: conncred.KindConnector, AppID: appID, ConnectorID: connectorID, Descending: q.Newest}
	now := a.now()
	switch q.State {
	case CredentialsAll:
		opt.IncludeDeleted = true
	case CredentialsUsable:
		f.UsableAt = &now
	case CredentialsPast:
		f.UnusableAt = &now
	default:
		return nil, "", conncred.Errorf(conncred.EInvalid, "state must be usable, past or empty (every credential)")
	}
	f.ListOptions = opt
	cs, err := a.store.ListCredentials(ctx, f)
	if err != nil {
		return nil, "", err
	}
	cs, next := page(cs, opt, func(x conncred.Credential) string { return x.ID })
	return cs, next, nil
}
