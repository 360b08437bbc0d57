package policy

import (
	"context"
	"sync"
	"time"
)

// requireDPoPTTL is how long RequireDPoPFor answers from one read of every
// policy. It is on the path of every token request without a proof, so it
// must not read the database each time; a change reaches every node within
// this time, as the per-credential flag's does (package dpop).
const requireDPoPTTL = time.Second

// policyCache is a snapshot of every stored policy and when it was read.
type policyCache struct {
	mu       sync.Mutex
	at       time.Time
	policies map[Scope]Policy
}

// RequireDPoPFor is authority.ScopeBindingPolicy: whether the policy that
// applies to a connector's credentials (connector, app, server default,
// serve flags; nearest wins) requires DPoP on their token requests.
func (s *Service) RequireDPoPFor(ctx context.Context, appID, connectorID string) (bool, error) {
	policies, err := s.snapshot(ctx)
	if err != nil {
		return false, err
	}
	e := resolve(s.cfg.Defaults,
		scoped{Scope{Kind: ScopeConnector, ID: connectorID}, policies[Scope{Kind: ScopeConnector, ID: connectorID}]},
		scoped{Scope{Kind: ScopeApp, ID: appID}, policies[Scope{Kind: ScopeApp, ID: appID}]},
		scoped{Scope{Kind: ScopeServer}, policies[Scope{Kind: ScopeServer}]})
	return e.RequireDPoP, nil
}

// snapshot returns every stored policy, read at most once per
// requireDPoPTTL (and again at once after this node changes one).
func (s *Service) snapshot(ctx context.Context) (map[Scope]Policy, error) {
	now := s.clock.Now()
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.policies != nil && now.Sub(c.at) < requireDPoPTTL && !now.Before(c.at) {
		return c.policies, nil
	}
	ps, err := s.store.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	c.policies, c.at = ps, now
	return ps, nil
}

// forget drops the snapshot after a change on this node.
func (s *Service) forget() {
	s.cache.mu.Lock()
	s.cache.policies = nil
	s.cache.mu.Unlock()
}
