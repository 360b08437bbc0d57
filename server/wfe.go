package server

import (
	"net/http"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/wfe"
)

// wfeRoutes serves ConductorOne's WorkloadFederationService (package wfe)
// on its own paths and shapes, over the trusts conncred's own routes
// (trusts.go) also serve.
func (s *Server) wfeRoutes() {
	if s.cfg.Wfe == nil {
		return
	}
	s.handle("POST "+apitype.PathWfeProviders, s.handleWfeProviderCreate, true)
	s.handle("GET "+apitype.PathWfeProviders, s.handleWfeProviderList, true)
	s.handle("GET "+apitype.PathWfeProviders+"/{id}", s.handleWfeProviderGet, true)
	s.handle("PATCH "+apitype.PathWfeProviders+"/{id}", s.handleWfeProviderUpdate, true)
	s.handle("DELETE "+apitype.PathWfeProviders+"/{id}", s.handleWfeProviderDelete, true)
	s.handle("POST "+apitype.PathServiceTrusts, s.handleWfeTrustCreate, true)
	s.handle("GET "+apitype.PathServiceTrusts, s.handleWfeTrustList, true)
	s.handle("GET "+apitype.PathServiceTrustID, s.handleWfeTrustGet, true)
	s.handle("PATCH "+apitype.PathServiceTrustID, s.handleWfeTrustUpdate, true)
	s.handle("DELETE "+apitype.PathServiceTrustID, s.handleWfeTrustDelete, true)
	s.handle("POST "+apitype.PathWfeSearch, s.handleWfeTrustSearch, true)
	s.handle("POST "+apitype.PathWfeTestCEL, s.handleWfeTestCEL, true)
}

func wireProvider(p wfe.Provider) *apitype.WfeProvider {
	c, u := p.CreatedAt, p.UpdatedAt
	return &apitype.WfeProvider{ID: p.ID, DisplayName: p.DisplayName, Description: p.Description, IssuerURL: p.IssuerURL,
		WellKnownProvider: p.WellKnown, CreatedAt: &c, UpdatedAt: &u}
}

func wireWfeTrust(t wfe.Trust) *apitype.WfeTrust {
	c, u := t.CreatedAt, t.UpdatedAt
	return &apitype.WfeTrust{ClientID: t.ClientID, DisplayName: t.DisplayName, Description: t.Description,
		ConditionExpression: t.Condition, ProviderID: t.ProviderID, ServicePrincipalID: t.ServicePrincipalID,
		AllowSourceCidrs: []string{}, PassthroughClaims: []string{}, ScopedRoleIds: []string{}, CreatedAt: &c, UpdatedAt: &u}
}

func wireWfeTrusts(ts []wfe.Trust, next string) apitype.ListWfeTrustsResponse {
	out := apitype.ListWfeTrustsResponse{List: make([]*apitype.WfeTrust, 0, len(ts)), NextPageToken: next}
	for _, t := range ts {
		out.List = append(out.List, wireWfeTrust(t))
	}
	return out
}

func providerInput(in apitype.WfeProviderInput) wfe.ProviderInput {
	return wfe.ProviderInput{DisplayName: in.DisplayName, Description: in.Description, Disabled: in.Disabled}
}

func wfeTrustInput(in apitype.WfeTrustInput) wfe.TrustInput {
	return wfe.TrustInput{DisplayName: in.DisplayName, Description: in.Description, ConditionExpression: in.ConditionExpression,
		Disabled: in.Disabled, AllowSourceCidrs: in.AllowSourceCidrs, PassthroughClaims: in.PassthroughClaims, ScopedRoleIds: in.ScopedRoleIds}
}

func (s *Server) handleWfeProviderCreate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.CreateWfeProviderRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	p, err := s.cfg.Wfe.CreateProvider(r.Context(), req.IssuerURL, req.WellKnownProvider, providerInput(req.WfeProviderInput))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.WfeProviderResponse{Provider: wireProvider(p)})
}

func (s *Server) handleWfeProviderGet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.cfg.Wfe.GetProvider(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.WfeProviderResponse{Provider: wireProvider(p)})
}

func (s *Server) handleWfeProviderList(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	ps, next, err := s.cfg.Wfe.ListProviders(r.Context(), p)
	if err != nil {
		return err
	}
	out := apitype.ListWfeProvidersResponse{List: make([]*apitype.WfeProvider, 0, len(ps)), NextPageToken: next}
	for _, p := range ps {
		out.List = append(out.List, wireProvider(p))
	}
	return writeJSON(w, out)
}

func (s *Server) handleWfeProviderUpdate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.UpdateWfeProviderRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	p, err := s.cfg.Wfe.UpdateProvider(r.Context(), r.PathValue("id"), providerInput(*req.Provider), req.UpdateMask)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.WfeProviderResponse{Provider: wireProvider(p)})
}

func (s *Server) handleWfeProviderDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &apitype.Empty{}); err != nil {
		return err
	}
	if err := s.cfg.Wfe.DeleteProvider(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}

func (s *Server) handleWfeTrustCreate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.CreateWfeTrustRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	t, err := s.cfg.Wfe.CreateTrust(r.Context(), r.PathValue("service_principal_id"), req.ProviderID, wfeTrustInput(req.WfeTrustInput))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.WfeTrustResponse{Trust: wireWfeTrust(t)})
}

func (s *Server) handleWfeTrustGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.cfg.Wfe.GetTrust(r.Context(), r.PathValue("service_principal_id"), r.PathValue("client_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.WfeTrustResponse{Trust: wireWfeTrust(t)})
}

func (s *Server) handleWfeTrustList(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	ts, next, err := s.cfg.Wfe.ListTrusts(r.Context(), r.PathValue("service_principal_id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, wireWfeTrusts(ts, next))
}

func (s *Server) handleWfeTrustUpdate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.UpdateWfeTrustRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	t, err := s.cfg.Wfe.UpdateTrust(r.Context(), r.PathValue("service_principal_id"), r.PathValue("client_id"), wfeTrustInput(*req.Trust), req.UpdateMask)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.WfeTrustResponse{Trust: wireWfeTrust(t)})
}

func (s *Server) handleWfeTrustDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &apitype.Empty{}); err != nil {
		return err
	}
	if err := s.cfg.Wfe.DeleteTrust(r.Context(), r.PathValue("service_principal_id"), r.PathValue("client_id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}

func (s *Server) handleWfeTrustSearch(w http.ResponseWriter, r *http.Request) error {
	var req apitype.SearchWfeTrustsRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	ts, next, err := s.cfg.Wfe.SearchTrusts(r.Context(), wfe.SearchRequest{Query: req.Query, ProviderID: req.ProviderID,
		ServicePrincipalID: req.ServicePrincipalID, Page: authority.PageRequest{Size: req.PageSize, Token: req.PageToken}})
	if err != nil {
		return err
	}
	return writeJSON(w, wireWfeTrusts(ts, next))
}

func (s *Server) handleWfeTestCEL(w http.ResponseWriter, r *http.Request) error {
	var req apitype.TestCELRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	matched, msg, err := s.cfg.Wfe.TestCEL(r.Context(), req.Expression, req.ClaimsJSON)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.TestCELResponse{Expression: req.Expression, Matched: matched, Error: msg})
}
