package dpop

import (
	"context"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
)

// Store keeps the per-credential "require DPoP" flag (trusts keep theirs
// in their own record, package federation). store/sqlite and
// store/postgres implement it in dpop.go.
type Store interface {
	// SetCredentialDPoP sets the flag of a credential not revoked and
	// moves its updatedAt to at; ENotFound if there is no such credential.
	SetCredentialDPoP(ctx context.Context, credentialID string, require bool, at time.Time) error
	// CredentialDPoP returns the flag; ENotFound if there is no such
	// credential.
	CredentialDPoP(ctx context.Context, credentialID string) (bool, error)
}

// Recorder adds audit events (authority.Authority.Record).
type Recorder interface {
	Record(ctx context.Context, e conncred.AuditEvent)
}

// AuditCredentialDPoP is the audit event of a change of the flag.
const AuditCredentialDPoP = "credential.dpop_updated"

// policyTTL is how long the flag is cached per credential. Only token
// requests without a proof read it, and a change reaches every node within
// this time, as a revocation's backstop does.
const policyTTL = time.Second

// Policy answers whether a credential's token requests must carry a proof
// (authority.BindingPolicy) and changes that.
type Policy struct {
	store Store
	rec   Recorder
	clock clock.Clock

	mu    sync.Mutex
	cache map[string]policyEntry
}

type policyEntry struct {
	require bool
	at      time.Time
}

// maxPolicyEntries bounds the cache; past it the cache starts over, which
// costs a read per credential, never a wrong answer.
const maxPolicyEntries = 1 << 16

// NewPolicy returns a policy over store that records changes with rec.
func NewPolicy(store Store, rec Recorder, clk clock.Clock) *Policy {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Policy{store: store, rec: rec, clock: clk, cache: map[string]policyEntry{}}
}

// RequireDPoP reports whether credentialID's token requests need a proof.
func (p *Policy) RequireDPoP(ctx context.Context, credentialID string) (bool, error) {
	now := p.clock.Now()
	p.mu.Lock()
	e, ok := p.cache[credentialID]
	p.mu.Unlock()
	if ok && now.Sub(e.at) < policyTTL {
		return e.require, nil
	}
	require, err := p.store.CredentialDPoP(ctx, credentialID)
	if err != nil {
		return false, err
	}
	p.mu.Lock()
	if len(p.cache) >= maxPolicyEntries {
		p.cache = map[string]policyEntry{}
	}
	p.cache[credentialID] = policyEntry{require: require, at: now}
	p.mu.Unlock()
	return require, nil
}

// SetCredentialDPoP sets whether credentialID's token requests need a
// proof. Only an admin may: a connector could otherwise drop the
// protection from its own stolen credential.
func (p *Policy) SetCredentialDPoP(ctx context.Context, credentialID string, require bool) error {
	if pr := conncred.PrincipalFrom(ctx); pr == nil {
		return conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	} else if !pr.IsAdmin() {
		return conncred.Errorf(conncred.EPermissionDenied, "only an admin may change whether a credential requires DPoP")
	}
	if err := p.store.SetCredentialDPoP(ctx, credentialID, require, p.clock.Now()); err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return conncred.Errorf(conncred.ENotFound, "no live credential %q: check the id (a revoked credential cannot be changed)", truncate(credentialID))
		}
		return err
	}
	p.mu.Lock()
	delete(p.cache, credentialID)
	p.mu.Unlock()
	reason := "DPoP required"
	if !require {
		reason = "DPoP optional"
	}
	p.rec.Record(ctx, conncred.AuditEvent{Kind: AuditCredentialDPoP, CredentialID: credentialID, Reason: reason})
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// CredentialDPoP returns credentialID's flag as stored. Only an admin may
// read it.
func (p *Policy) CredentialDPoP(ctx context.Context, credentialID string) (bool, error) {
	if pr := conncred.PrincipalFrom(ctx); pr == nil {
		return false, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	} else if !pr.IsAdmin() {
		return false, conncred.Errorf(conncred.EPermissionDenied, "only an admin may read whether a credential requires DPoP")
	}
	require, err := p.store.CredentialDPoP(ctx, credentialID)
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return false, conncred.Errorf(conncred.ENotFound, "no credential %q", truncate(credentialID))
	}
	return require, err
}
