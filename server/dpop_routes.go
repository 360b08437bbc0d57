package server

import (
	"net/http"
	"strings"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/dpop"
)

// dpopRoutes serves the per-credential "require DPoP" flag (a conncred
// extension).
func (s *Server) dpopRoutes() {
	s.handle("GET "+apitype.PathCredentialDPoP, s.handleCredentialDPoPGet, true)
	s.handle("POST "+apitype.PathCredentialDPoP, s.handleCredentialDPoPSet, true)
}

// dpopPolicy returns the policy, or the error for a server without DPoP.
func (s *Server) dpopPolicy() (*dpop.Policy, error) {
	if s.cfg.DPoPPolicy == nil {
		return nil, &httpError{rpc: rpcUnimplemented, msg: "DPoP is not enabled on this server"}
	}
	return s.cfg.DPoPPolicy, nil
}

func (s *Server) handleCredentialDPoPGet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.dpopPolicy()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	require, err := p.CredentialDPoP(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.CredentialDPoPResponse{CredentialID: id, RequireDPoP: require})
}

func (s *Server) handleCredentialDPoPSet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.dpopPolicy()
	if err != nil {
		return err
	}
	var req apitype.CredentialDPoPRequest
	if err := s.readJSON(w, r, authority.ActionWriteCredentials, &req); err != nil {
		return err
	}
	id := strings.TrimSpace(r.PathValue("id"))
	if err := p.SetCredentialDPoP(r.Context(), id, *req.RequireDPoP); err != nil {
		return err
	}
	return writeJSON(w, apitype.CredentialDPoPResponse{CredentialID: id, RequireDPoP: *req.RequireDPoP})
}
