package conncred

import (
	"context"
	"time"
)

// Principal is who a request acts as, established from a verified access
// token (or System for work the server does on its own behalf).
type Principal struct {
	Kind         CredentialKind
	CredentialID string
	ClientID     string
	AppID        string // for KindConnector
	ConnectorID  string // for KindConnector
	TokenID      string // jti of the access token
	ExpiresAt    time.Time
	Source       string // remote address, for the audit trail
	// JKT is the RFC 7638 thumbprint of the DPoP key the access token is
	// bound to (its cnf.jkt), or "" for a Bearer token: every call with
	// a bound token must carry a proof by that key.
	JKT    string
	system bool
}

// System is the principal of the server itself and of local operator
// commands (bootstrap, key rotation from the CLI). It may do anything.
var System = &Principal{Kind: KindAdmin, ClientID: "system", system: true}

// IsAdmin reports whether p may manage everything.
func (p *Principal) IsAdmin() bool { return p != nil && (p.system || p.Kind == KindAdmin) }

// IsSystem reports whether p is System.
func (p *Principal) IsSystem() bool { return p != nil && p.system }

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

type sourceKey struct{}

// WithSource returns a context that carries the remote address of the
// request, for audit records of unauthenticated requests.
func WithSource(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

// SourceFrom returns the remote address in ctx, or "".
func SourceFrom(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}
