package authority

import (
	"context"
	"time"

	"github.com/conncred/conncred"
)

// This file is what the authority offers the policy wing (package
// policy): the maximum lifetime of a connector's new credentials, asked on
// every rotate path, and a revocation on the server's own behalf.

// LifetimeLimiter gives the maximum lifetime of a connector's new
// credentials (0: none) and names where it was set, for the message of a
// refusal ("the policy of connector X"). Package policy implements it.
type LifetimeLimiter interface {
	MaxLifetime(ctx context.Context, appID, connectorID string) (time.Duration, string, error)
}

type limiterBox struct{ l LifetimeLimiter }

// SetLifetimeLimiter makes every rotate of a connector credential (admin
// rotate, overlap rotation, self-rotation) take its maximum lifetime from
// l instead of Config.MaxCredentialLifetime, which then applies to admin
// credentials only. Set it before serving; nil restores the flag.
func (a *Authority) SetLifetimeLimiter(l LifetimeLimiter) {
	if l == nil {
		a.limiter.Store(nil)
		return
	}
	a.limiter.Store(&limiterBox{l})
}

// maxLifetime returns the maximum lifetime of a new credential like c and
// the words that name it in a refusal.
func (a *Authority) maxLifetime(ctx context.Context, c conncred.Credential) (time.Duration, string, error) {
	if b := a.limiter.Load(); b != nil && c.Kind == conncred.KindConnector {
		return b.l.MaxLifetime(ctx, c.AppID, c.ConnectorID)
	}
	return a.cfg.MaxCredentialLifetime, "this server's maximum credential lifetime", nil
}

// RevokeFor revokes a connector credential on the server's own behalf (a
// policy's auto-revoke), as a revoke does: the authentication cache
// forgets it, the store tells the other nodes, and the revocation is
// recorded with reason, as the system. A credential already revoked is
// returned as it is and nothing is recorded, so a repeated or concurrent
// call leaves one revocation in the trail.
func (a *Authority) RevokeFor(ctx context.Context, credentialID, reason string) (conncred.Credential, error) {
	before, err := a.store.GetCredential(ctx, credentialID)
	if err != nil {
		return conncred.Credential{}, mapNotFound(err, "credential", credentialID)
	}
	if before.DeletedAt != nil {
		return before, nil
	}
	now := a.now()
	c, err := a.store.RevokeCredential(ctx, credentialID, now)
	if err != nil {
		return conncred.Credential{}, mapNotFound(err, "credential", credentialID)
	}
	a.creds.invalidate(c.ID)
	if c.DeletedAt != nil && c.DeletedAt.Equal(now) {
		a.record(conncred.WithPrincipal(ctx, conncred.System), conncred.AuditEvent{Kind: "credential.revoked", Reason: reason,
			AppID: c.AppID, ConnectorID: c.ConnectorID, CredentialID: c.ID})
	}
	return c, nil
}

// ScopeBindingPolicy says whether the policy over a connector's credentials
// (package policy's requireDpop) requires DPoP on their token requests. It
// is asked, like BindingPolicy, on every token request without a proof, so
// it must answer from a cache.
type ScopeBindingPolicy interface {
	RequireDPoPFor(ctx context.Context, appID, connectorID string) (bool, error)
}

type scopeBindingBox struct{ p ScopeBindingPolicy }

// SetScopeBindingPolicy makes a connector credential's token requests need
// a DPoP proof when p says its connector's policy requires one, besides
// when the credential's own flag (SetBindingPolicy) does: either one
// suffices, so neither can lift the other's requirement. nil removes it.
func (a *Authority) SetScopeBindingPolicy(p ScopeBindingPolicy) {
	if p == nil {
		a.scopeDPoP.Store(nil)
		return
	}
	a.scopeDPoP.Store(&scopeBindingBox{p})
}

// scopeRequiresDPoP reports whether c's policy requires DPoP.
func (a *Authority) scopeRequiresDPoP(ctx context.Context, c conncred.Credential) (bool, error) {
	b := a.scopeDPoP.Load()
	if b == nil || c.Kind != conncred.KindConnector {
		return false, nil
	}
	return b.p.RequireDPoPFor(ctx, c.AppID, c.ConnectorID)
}
