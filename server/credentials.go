package server

import (
	"net/http"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/secret"
)

func (s *Server) credentialRoutes() {
	const base = "/api/v1/apps/{app_id}/connectors/{connector_id}/credentials"
	s.handle("POST /api/v1/apps/connectors/credentials", s.handleRotate, true)
	s.handle("POST "+base, s.handleRotateLegacy, true)
	s.handle("GET "+base, s.handleCredentialList, true)
	s.handle("GET "+base+"/{id}", s.handleCredentialGet, true)
	s.handle("POST "+base+"/{id}", s.handleCredentialRevoke, true)
}

// handleRotate is the current RotateCredential (SDK 1.26 and later): the
// app and connector come in the body.
func (s *Server) handleRotate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.RotateCredentialRequest
	if err := s.readJSON(w, r, authority.ActionWriteCredentials, &req); err != nil {
		return err
	}
	if req.AppID == "" {
		return conncred.Errorf(conncred.EInvalid, "appId is required")
	}
	if req.ConnectorID == "" {
		return conncred.Errorf(conncred.EInvalid, "connectorId is required")
	}
	return s.rotate(w, r, req.AppID, req.ConnectorID, req)
}

// handleRotateLegacy is RotateCredential as SDKs up to 1.25 call it: the app
// and connector come in the path and the body is empty.
func (s *Server) handleRotateLegacy(w http.ResponseWriter, r *http.Request) error {
	var req apitype.RotateCredentialRequest
	if err := s.readJSON(w, r, authority.ActionWriteCredentials, &req); err != nil {
		return err
	}
	return s.rotate(w, r, r.PathValue("app_id"), r.PathValue("connector_id"), req)
}

// rotate answers both eras at once: the secret is inside the credential
// (read by SDK 1.26+) and at the top level (read by older SDKs).
func (s *Server) rotate(w http.ResponseWriter, r *http.Request, appID, connectorID string, req apitype.RotateCredentialRequest) error {
	if req.HasLifecycle() {
		return s.rotateLifecycle(w, r, appID, connectorID, req)
	}
	c, sec, err := s.auth.RotateCredential(r.Context(), appID, connectorID, credentialOptions(req.DisplayName, req.Expires, req.ExpiresTime))
	if err != nil {
		return err
	}
	return writeJSON(w, withSecret(c, sec))
}

func withSecret(c conncred.Credential, sec secret.Secret) apitype.RotateCredentialResponse {
	wire := apitype.FromCredential(c)
	text := sec.Reveal()
	wire.ClientSecret = &text
	return apitype.RotateCredentialResponse{Credential: wire, ClientSecret: text}
}

func credentialOptions(name string, expires apitype.Duration, expiresTime *time.Time) authority.CredentialOptions {
	return authority.CredentialOptions{DisplayName: name, Expires: time.Duration(expires), ExpiresTime: expiresTime}
}

func (s *Server) handleCredentialGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.auth.GetCredential(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.CredentialResponse{Credential: apitype.FromCredential(c)})
}

func (s *Server) handleCredentialList(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	cs, next, err := s.auth.ListCredentials(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.ListCredentialsResponse{List: wireCredentials(cs), NextPageToken: next})
}

func wireCredentials(cs []conncred.Credential) []*apitype.ConnectorCredential {
	out := make([]*apitype.ConnectorCredential, 0, len(cs))
	for _, c := range cs {
		out = append(out, apitype.FromCredential(c))
	}
	return out
}

// handleCredentialRevoke is RevokeCredential: POST with {} or no body.
func (s *Server) handleCredentialRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionWriteCredentials, &apitype.Empty{}); err != nil {
		return err
	}
	if _, err := s.auth.RevokeCredential(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}
