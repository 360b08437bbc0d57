package authority

import (
	"context"
	"time"

	"github.com/conncred/conncred"
)

// This file is what the console wing (package console) needs of the
// authority: who may ask for a console login link, and the principal of the
// credential a console session acts as, checked on every request exactly as
// the credential behind a bearer token is. A session has no token of its
// own to verify, so its credential is all there is to check.

// AuthorizeConsoleLink returns the principal in ctx if it may ask for a
// console login link: an admin, calling with the token of a stored admin
// (personal client) credential that is still usable from the request's
// source. A connector is refused as for every admin action. A token minted
// through a workload federation trust and System are refused too: a session
// acts as one stored credential, so that revoking that credential ends the
// session, and a trust or the server itself has none.
func (a *Authority) AuthorizeConsoleLink(ctx context.Context) (*conncred.Principal, error) {
	if err := a.Authorize(ctx, ActionIssueConsoleLink); err != nil {
		return nil, err
	}
	p := conncred.PrincipalFrom(ctx)
	if p.IsSystem() {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "console login links are for personal client credentials; the server's own principal has none")
	}
	// A grant's principal carries the trust's id where a credential's id
	// would be: it names no stored credential (or, were ids ever to
	// collide, not one with this client id).
	cred, err := a.creds.get(ctx, p.CredentialID)
	if conncred.ErrorCode(err) == conncred.ENotFound || (err == nil && cred.ClientID != p.ClientID) {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "a token minted through a workload federation trust cannot ask for a console login link: a console session acts as one personal client credential; use one (conncred admin create)")
	}
	if err != nil {
		return nil, err
	}
	return a.AuthenticateCredential(ctx, p.CredentialID)
}

// AuthenticateCredential returns the principal of the stored credential
// credentialID, which a console session acts as. It applies exactly the
// checks Authenticate applies to the credential behind a bearer token (it
// exists, is not revoked, has not expired, and may be used from the source
// in ctx under the session settings and its own networks), through the
// same short-lived cache: revoking or expiring the credential ends its
// sessions at the next request on this node, and within the cache's
// lifetime on the others. Only an admin credential may act through the
// console, so a connector credential is refused.
//
// The principal's Source is the one in ctx; it has no token id or expiry,
// which the caller may fill in from the session.
func (a *Authority) AuthenticateCredential(ctx context.Context, credentialID string) (*conncred.Principal, error) {
	cred, err := a.usableCredential(ctx, credentialID, a.clock.Now(), "this console session acts as")
	if err != nil {
		return nil, err
	}
	if cred.Kind != conncred.KindAdmin {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "only an admin (personal client) credential can act through the console")
	}
	if err := a.checkSource(ctx, cred); err != nil {
		return nil, err
	}
	return &conncred.Principal{
		Kind:         cred.Kind,
		CredentialID: cred.ID,
		ClientID:     cred.ClientID,
		Source:       conncred.SourceFrom(ctx),
	}, nil
}

// usableCredential returns credential id if it can still authenticate at
// now: it exists, is not revoked and has not expired. Each refusal is
// EUnauthenticated naming the credential as "the credential <what>". It is
// the one place these checks are made, for bearer tokens (Authenticate)
// and console sessions (AuthenticateCredential) alike.
func (a *Authority) usableCredential(ctx context.Context, id string, now time.Time, what string) (conncred.Credential, error) {
	cred, err := a.creds.get(ctx, id)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return conncred.Credential{}, conncred.Errorf(conncred.EUnauthenticated, "the credential %s no longer exists", what)
		}
		return conncred.Credential{}, err
	}
	if cred.DeletedAt != nil {
		return conncred.Credential{}, conncred.Errorf(conncred.EUnauthenticated, "the credential %s has been revoked", what)
	}
	if cred.ExpiresAt != nil && !now.Before(*cred.ExpiresAt) {
		return conncred.Credential{}, conncred.Errorf(conncred.EUnauthenticated, "the credential %s has expired", what)
	}
	return cred, nil
}
