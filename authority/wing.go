package authority

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

// This file is what the authority offers the wings beside it (package
// lifecycle and the ones to come): the pieces of a credential's life that
// must stay in one place, without the authorization that the wing decides
// for itself.

// IssueConnectorCredential adds a credential to a live connector as a
// rotate does (expiry under the server's maximum, client id, name, the
// active-credential cap) and stores it with insert, which must apply the
// cap atomically as conncred.Store.CreateCredential does and may write more
// in the same transaction. With pub nil a key is generated and its secret
// returned; with pub given (a key the caller brought) the Secret is zero.
//
// It checks no authorization: the wing calling it has decided that the
// principal in ctx may rotate this connector, and records its own audit
// event.
//
// Its parameters are plain types, so that a wing can declare the interface
// it uses without importing this package.
func (a *Authority) IssueConnectorCredential(ctx context.Context, appID, connectorID, displayName string, expires time.Duration, expiresTime *time.Time,
	pub ed25519.PublicKey, insert func(context.Context, conncred.Credential, conncred.ActiveLimit) error) (conncred.Credential, secret.Secret, error) {
	opt := CredentialOptions{DisplayName: displayName, Expires: expires, ExpiresTime: expiresTime}
	if _, err := a.liveConnector(ctx, appID, connectorID); err != nil {
		return conncred.Credential{}, secret.Secret{}, a.rotateNotFound(ctx, appID, err)
	}
	if pub != nil && len(pub) != ed25519.PublicKeySize {
		return conncred.Credential{}, secret.Secret{}, conncred.Errorf(conncred.EInvalid, "an Ed25519 public key has %d bytes, not %d", ed25519.PublicKeySize, len(pub))
	}
	c := conncred.Credential{Kind: conncred.KindConnector, AppID: appID, ConnectorID: connectorID}
	c, s, err := a.createCredential(ctx, c, secret.SuffixConnector, opt, pub, insert)
	if err != nil {
		return conncred.Credential{}, secret.Secret{}, a.rotateNotFound(ctx, appID, err)
	}
	return c, s, nil
}

// capError explains a refusal by the active-credential cap: how many
// credentials are active, and how many of those are only retiring (they
// have an expiry, and still count until it passes), so that an operator
// who just rotated with an overlap sees why there is no room and when
// there will be. cause is returned as is when no cap applies.
func (a *Authority) capError(ctx context.Context, connectorID string, limit conncred.ActiveLimit, cause error) error {
	if limit.MaxActive <= 0 {
		return cause
	}
	msg := fmt.Sprintf("connector %s already has %d active credentials, the maximum; revoke one before rotating", connectorID, limit.MaxActive)
	now := limit.Now
	cs, err := a.store.ListCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindConnector, ConnectorID: connectorID, UsableAt: &now,
		ListOptions: conncred.ListOptions{Limit: limit.MaxActive + 100}})
	if err != nil {
		return conncred.Errorf(conncred.EConflict, "%s", msg)
	}
	retiring := 0
	var first time.Time
	for _, c := range cs {
		if c.ExpiresAt == nil {
			continue
		}
		retiring++
		if first.IsZero() || c.ExpiresAt.Before(first) {
			first = *c.ExpiresAt
		}
	}
	if retiring > 0 {
		msg = fmt.Sprintf("connector %s already has %d active credentials, the maximum; %d of them are retiring or expiring and still count until they expire (the first at %s); revoke one before rotating, or wait",
			connectorID, len(cs), retiring, first.UTC().Format(time.RFC3339))
	}
	return conncred.Errorf(conncred.EConflict, "%s", msg)
}

// Record and Now, which the wing also uses, are in grant.go.

// Forget drops a credential from the authentication cache after a wing
// changed it (a retirement, a revocation), so this node sees the change at
// once; other nodes see it within the cache's lifetime.
func (a *Authority) Forget(credentialID string) { a.creds.invalidate(credentialID) }

// RevokeOwn revokes the credential behind the principal in ctx, which must
// be a connector credential's token: a connector giving up its own key. It
// is recorded as a revocation by that credential.
func (a *Authority) RevokeOwn(ctx context.Context) (conncred.Credential, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return conncred.Credential{}, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if p.Kind != conncred.KindConnector || p.IsSystem() {
		return conncred.Credential{}, conncred.Errorf(conncred.EPermissionDenied, "only a connector credential can revoke itself; admins revoke with POST .../credentials/{id}")
	}
	c, err := a.connectorCredential(ctx, p.AppID, p.ConnectorID, p.CredentialID)
	if err != nil {
		return conncred.Credential{}, err
	}
	return a.revoke(ctx, c)
}

// SourceGuard decides whether a credential may be used from an address
// (the request's source as the server computed it). Package lifecycle
// implements it with the session settings and per-credential networks.
type SourceGuard interface {
	CheckSource(ctx context.Context, cred conncred.Credential, addr string) error
}

// SetSourceGuard makes every token exchange and every authenticated call
// ask g whether the credential may be used from the request's source. Set
// it before serving; nil (the default) allows every source.
func (a *Authority) SetSourceGuard(g SourceGuard) {
	if g == nil {
		a.guard.Store(nil)
		return
	}
	a.guard.Store(&g)
}

// checkSource asks the guard, if any.
func (a *Authority) checkSource(ctx context.Context, cred conncred.Credential) error {
	g := a.guard.Load()
	if g == nil {
		return nil
	}
	return (*g).CheckSource(ctx, cred, conncred.SourceFrom(ctx))
}

// IssuePersonalClient creates an admin (personal client) credential as
// CreateAdmin does, for package personal, in plain types.
func (a *Authority) IssuePersonalClient(ctx context.Context, displayName string, expires time.Duration, expiresTime *time.Time) (conncred.Credential, secret.Secret, error) {
	return a.CreateAdmin(ctx, CredentialOptions{DisplayName: displayName, Expires: expires, ExpiresTime: expiresTime})
}

// ListPersonalClients returns a page of admin credentials as ListAdmins
// does, for package personal, in plain types.
func (a *Authority) ListPersonalClients(ctx context.Context, pageSize int, pageToken string) ([]conncred.Credential, string, error) {
	return a.ListAdmins(ctx, PageRequest{Size: pageSize, Token: pageToken})
}

// PersonalExpiry applies the server's maximum credential lifetime to an
// expiry set by a personal client's update: a time in the future, within
// the maximum from now; nil (no expiry) only when the server has no
// maximum.
func (a *Authority) PersonalExpiry(expiresTime *time.Time) (*time.Time, error) {
	if expiresTime == nil {
		if a.cfg.MaxCredentialLifetime > 0 {
			return nil, conncred.Errorf(conncred.EInvalid, "this server's maximum credential lifetime is %s, so expiresTime cannot be cleared; give a time within it", fmtDuration(a.cfg.MaxCredentialLifetime))
		}
		return nil, nil
	}
	return expiry(a.now(), CredentialOptions{ExpiresTime: expiresTime}, a.cfg.MaxCredentialLifetime, "this server's maximum credential lifetime")
}
