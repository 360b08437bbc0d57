package server

import (
	"net/http"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/policy"
)

// policyRoutes serves package policy: the server default, an app's and a
// connector's expiry and dormancy policy (conncred extensions).
func (s *Server) policyRoutes() {
	if s.cfg.Policy == nil {
		return
	}
	s.handle("GET "+apitype.PathServerPolicy, s.handlePolicyGet, true)
	s.handle("POST "+apitype.PathServerPolicy, s.handlePolicySet, true)
	s.handle("GET "+apitype.PathAppPolicy, s.handlePolicyGet, true)
	s.handle("POST "+apitype.PathAppPolicy, s.handlePolicySet, true)
	s.handle("GET "+apitype.PathConnectorPolicy, s.handlePolicyGet, true)
	s.handle("POST "+apitype.PathConnectorPolicy, s.handlePolicySet, true)
}

// policyScope reads the scope from the route's path values.
func policyScope(r *http.Request) policy.Scope {
	app, conn := r.PathValue("app_id"), r.PathValue("connector_id")
	switch {
	case conn != "":
		return policy.Scope{Kind: policy.ScopeConnector, ID: conn, AppID: app}
	case app != "":
		return policy.Scope{Kind: policy.ScopeApp, ID: app}
	default:
		return policy.Scope{Kind: policy.ScopeServer}
	}
}

func (s *Server) handlePolicyGet(w http.ResponseWriter, r *http.Request) error {
	v, err := s.cfg.Policy.Get(r.Context(), policyScope(r))
	if err != nil {
		return err
	}
	return writeJSON(w, wirePolicyView(v))
}

func (s *Server) handlePolicySet(w http.ResponseWriter, r *http.Request) error {
	var req apitype.SetPolicyRequest
	if err := s.readJSON(w, r, authority.ActionWritePolicies, &req); err != nil {
		return err
	}
	v, err := s.cfg.Policy.Set(r.Context(), policy.Update{Scope: policyScope(r), Policy: fromWirePolicy(*req.Policy), Mask: req.UpdateMask})
	if err != nil {
		return err
	}
	return writeJSON(w, wirePolicyView(v))
}

func fromWireDuration(d *apitype.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

func fromWirePolicy(p apitype.Policy) policy.Policy {
	out := policy.Policy{MaxLifetime: fromWireDuration(p.MaxLifetime), DormancyThreshold: fromWireDuration(p.DormancyThreshold), AutoRevokeAfter: fromWireDuration(p.AutoRevokeAfter),
		RequireDPoP: p.RequireDPoP, OfflineAfter: fromWireDuration(p.OfflineAfter)}
	if p.ExpiryWarnings != nil {
		ws := make([]time.Duration, len(*p.ExpiryWarnings))
		for i, w := range *p.ExpiryWarnings {
			ws[i] = time.Duration(w)
		}
		out.ExpiryWarnings = &ws
	}
	return out
}

func wireDuration(d *time.Duration) *apitype.Duration {
	if d == nil {
		return nil
	}
	v := apitype.Duration(*d)
	return &v
}

func wireDurations(ds []time.Duration) []apitype.Duration {
	out := make([]apitype.Duration, len(ds))
	for i, d := range ds {
		out[i] = apitype.Duration(d)
	}
	return out
}

func wirePolicyView(v policy.View) apitype.PolicyResponse {
	p := apitype.Policy{MaxLifetime: wireDuration(v.Set.MaxLifetime), DormancyThreshold: wireDuration(v.Set.DormancyThreshold), AutoRevokeAfter: wireDuration(v.Set.AutoRevokeAfter),
		RequireDPoP: v.Set.RequireDPoP, OfflineAfter: wireDuration(v.Set.OfflineAfter)}
	if v.Set.ExpiryWarnings != nil {
		ws := wireDurations(*v.Set.ExpiryWarnings)
		p.ExpiryWarnings = &ws
	}
	if !v.Set.UpdatedAt.IsZero() {
		t := v.Set.UpdatedAt.UTC()
		p.UpdatedAt = &t
	}
	e := v.Effective
	from := map[string]string{}
	for _, f := range policy.Fields {
		from[f] = "flags"
		if sc, ok := e.From[f]; ok {
			from[f] = sc.Kind
		}
	}
	return apitype.PolicyResponse{Scope: v.Scope.Kind, ScopeID: v.Scope.ID, Policy: p,
		Effective: apitype.EffectivePolicy{MaxLifetime: apitype.Duration(e.MaxLifetime), ExpiryWarnings: wireDurations(e.ExpiryWarnings),
			DormancyThreshold: apitype.Duration(e.DormancyThreshold), AutoRevokeAfter: apitype.Duration(e.AutoRevokeAfter), RequireDPoP: e.RequireDPoP,
			OfflineAfter: apitype.Duration(e.OfflineAfter), From: from}}
}
