package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
)

// trustRoutes serves the workload federation trusts (a conncred extension).
func (s *Server) trustRoutes() {
	s.handle("POST "+apitype.PathTrusts, s.handleTrustCreate, true)
	s.handle("GET "+apitype.PathTrusts, s.handleTrustList, true)
	s.handle("GET "+apitype.PathTrusts+"/{id}", s.handleTrustGet, true)
	s.handle("POST "+apitype.PathTrusts+"/{id}", s.handleTrustUpdate, true)
	s.handle("DELETE "+apitype.PathTrusts+"/{id}", s.handleTrustDelete, true)
}

// federation returns the service, or the error for a server without it.
func (s *Server) federation() (*federation.Service, error) {
	if s.cfg.Federation == nil {
		return nil, &httpError{rpc: rpcUnimplemented, msg: "workload federation is not enabled on this server"}
	}
	return s.cfg.Federation, nil
}

func trustInput(in apitype.TrustInput) federation.TrustInput {
	return federation.TrustInput{
		DisplayName: in.DisplayName, Issuer: in.Issuer, Audiences: in.Audiences, Condition: in.Condition,
		Role: federation.Role(in.Role), AppID: in.AppID, ConnectorID: in.ConnectorID,
		MaxTokenLifetime: time.Duration(in.MaxTokenLifetime), RequireDPoP: in.RequireDPoP,
	}
}

func (s *Server) handleTrustCreate(w http.ResponseWriter, r *http.Request) error {
	fed, err := s.federation()
	if err != nil {
		return err
	}
	var req apitype.CreateTrustRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	t, err := fed.CreateTrust(r.Context(), trustInput(req.TrustInput))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.TrustResponse{Trust: apitype.FromTrust(t)})
}

func (s *Server) handleTrustGet(w http.ResponseWriter, r *http.Request) error {
	fed, err := s.federation()
	if err != nil {
		return err
	}
	t, err := fed.GetTrust(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.TrustResponse{Trust: apitype.FromTrust(t)})
}

func (s *Server) handleTrustList(w http.ResponseWriter, r *http.Request) error {
	fed, err := s.federation()
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	var includeDeleted bool
	switch v := r.URL.Query().Get("include_deleted"); v {
	case "", "false":
	case "true":
		includeDeleted = true
	default:
		return conncred.Errorf(conncred.EInvalid, "include_deleted must be true or false")
	}
	ts, next, err := fed.ListTrusts(r.Context(), p, includeDeleted)
	if err != nil {
		return err
	}
	out := apitype.ListTrustsResponse{List: make([]*apitype.Trust, 0, len(ts)), NextPageToken: next}
	for _, t := range ts {
		out.List = append(out.List, apitype.FromTrust(t))
	}
	return writeJSON(w, out)
}

func (s *Server) handleTrustUpdate(w http.ResponseWriter, r *http.Request) error {
	fed, err := s.federation()
	if err != nil {
		return err
	}
	var req apitype.UpdateTrustRequest
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &req); err != nil {
		return err
	}
	t, err := fed.UpdateTrust(r.Context(), r.PathValue("id"), trustInput(*req.Trust), req.UpdateMask)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.TrustResponse{Trust: apitype.FromTrust(t)})
}

func (s *Server) handleTrustDelete(w http.ResponseWriter, r *http.Request) error {
	fed, err := s.federation()
	if err != nil {
		return err
	}
	if err := s.readJSON(w, r, authority.ActionWriteTrusts, &apitype.Empty{}); err != nil {
		return err
	}
	t, err := fed.DeleteTrust(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.TrustResponse{Trust: apitype.FromTrust(t)})
}

// handleTokenExchange is the RFC 8693 grant of POST /auth/v1/token, as the
// official SDK's NewWithOIDCToken sends it. It counts against the failure
// limiter like the client-credentials grant; the subject token is never
// logged.
func (s *Server) handleTokenExchange(w http.ResponseWriter, r *http.Request, form url.Values, ip string) error {
	req := federation.ExchangeRequest{
		ClientID:           form.Get("client_id"),
		SubjectToken:       form.Get("subject_token"),
		SubjectTokenType:   form.Get("subject_token_type"),
		RequestedTokenType: form.Get("requested_token_type"),
		Audience:           form.Get("audience"),
		Resource:           form.Get("resource"),
		ActorToken:         form.Get("actor_token"),
	}
	return s.grant(w, r, req.ClientID, ip, func(jkt string) (authority.Token, string, error) {
		req.JKT = jkt
		res, err := s.cfg.Federation.Exchange(r.Context(), req)
		return res.Token, res.IssuedTokenType, err
	})
}
