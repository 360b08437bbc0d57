package server

import (
	"net/http"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/lifecycle"
)

// lifecycleRoutes serves package lifecycle: self-rotation and
// self-revocation by a connector, the session settings (ConductorOne's
// paths and shapes) and per-credential source networks.
func (s *Server) lifecycleRoutes() {
	if s.cfg.Lifecycle == nil {
		return
	}
	const cred = "/api/v1/apps/{app_id}/connectors/{connector_id}/credentials/{id}/source_limit"
	s.handle("POST "+apitype.PathSelfRotate, s.handleSelfRotate, true)
	s.handle("POST "+apitype.PathSelfRevoke, s.handleSelfRevoke, true)
	s.handle("GET "+apitype.PathSessionSettings, s.handleSessionSettingsGet, true)
	s.handle("POST "+apitype.PathSessionSettings, s.handleSessionSettingsUpdate, true)
	s.handle("POST "+apitype.PathTestSourceIP, s.handleTestSourceIP, true)
	s.handle("GET "+cred, s.handleSourceLimitGet, true)
	s.handle("POST "+cred, s.handleSourceLimitSet, true)
}

func jwk(k *apitype.PublicJWK) *lifecycle.JWK {
	if k == nil {
		return nil
	}
	return &lifecycle.JWK{Kty: k.Kty, Crv: k.Crv, X: k.X, D: k.D}
}

// rotateLifecycle is a rotate with retirePreviousAfter or a public key.
func (s *Server) rotateLifecycle(w http.ResponseWriter, r *http.Request, appID, connectorID string, req apitype.RotateCredentialRequest) error {
	if s.cfg.Lifecycle == nil {
		return conncred.Errorf(conncred.EInvalid, "this server does not offer retirePreviousAfter, retireCredentialId or publicKey")
	}
	out, err := s.cfg.Lifecycle.Rotate(r.Context(), lifecycle.RotateRequest{
		AppID: appID, ConnectorID: connectorID,
		Options:             lifecycle.CredentialOptions{DisplayName: req.DisplayName, Expires: time.Duration(req.Expires), ExpiresTime: req.ExpiresTime},
		RetirePreviousAfter: time.Duration(req.RetirePreviousAfter), RetireCredentialID: req.RetireCredentialID,
		PublicKey: jwk(req.PublicKey),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, rotatedResponse(out))
}

// rotatedResponse answers both SDK eras, as rotate does, with the secret
// only when the server made the key.
func rotatedResponse(out lifecycle.Rotated) apitype.RotateCredentialResponse {
	resp := apitype.RotateCredentialResponse{Credential: apitype.FromCredential(out.Credential)}
	if out.HasSecret {
		resp = withSecret(out.Credential, out.Secret)
	}
	if len(out.Retired) > 0 {
		resp.Retired = wireCredentials(out.Retired)
	}
	return resp
}

func (s *Server) handleSelfRotate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.SelfRotateRequest
	if err := s.readJSON(w, r, authority.ActionSelfCredential, &req); err != nil {
		return err
	}
	out, err := s.cfg.Lifecycle.SelfRotate(r.Context(), lifecycle.SelfRotateRequest{
		Options:   lifecycle.CredentialOptions{DisplayName: req.DisplayName, Expires: time.Duration(req.Expires), ExpiresTime: req.ExpiresTime},
		Grace:     time.Duration(req.Grace),
		PublicKey: jwk(req.PublicKey),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, rotatedResponse(out))
}

func (s *Server) handleSelfRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionSelfCredential, &apitype.Empty{}); err != nil {
		return err
	}
	if _, err := s.cfg.Lifecycle.SelfRevoke(r.Context()); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}

func wireRestriction(r lifecycle.SourceRestriction) *apitype.CIDRRestriction {
	cidrs := r.CIDRs
	if cidrs == nil {
		cidrs = []string{}
	}
	return &apitype.CIDRRestriction{Enabled: r.Enabled, SourceCidr: cidrs}
}

func wireSessionSettings(st lifecycle.SessionSettings) apitype.SessionSettingsResponse {
	return apitype.SessionSettingsResponse{SessionSettings: &apitype.SessionSettings{
		ConnectorSource: wireRestriction(st.ConnectorSource),
		PCCAdminSource:  wireRestriction(st.PCCAdminSource),
	}}
}

func (s *Server) handleSessionSettingsGet(w http.ResponseWriter, r *http.Request) error {
	st, err := s.cfg.Lifecycle.SessionSettings(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, wireSessionSettings(st))
}

func restriction(r *apitype.CIDRRestriction) *lifecycle.SourceRestriction {
	if r == nil {
		return nil
	}
	return &lifecycle.SourceRestriction{Enabled: r.Enabled, CIDRs: r.SourceCidr}
}

func (s *Server) handleSessionSettingsUpdate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.UpdateSessionSettingsRequest
	if err := s.readJSON(w, r, authority.ActionWriteSettings, &req); err != nil {
		return err
	}
	st, err := s.cfg.Lifecycle.UpdateSessionSettings(r.Context(), lifecycle.SessionUpdate{
		ConnectorSource: restriction(req.SessionSettings.ConnectorSource),
		PCCAdminSource:  restriction(req.SessionSettings.PCCAdminSource),
		Mask:            req.UpdateMask,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, wireSessionSettings(st))
}

func (s *Server) handleTestSourceIP(w http.ResponseWriter, r *http.Request) error {
	var req apitype.TestSourceIPRequest
	// A try changes nothing: a read-only admin may make it.
	if err := s.readJSON(w, r, authority.ActionReadSettings, &req); err != nil {
		return err
	}
	res, err := s.cfg.Lifecycle.TestSourceIP(r.Context(), req.AllowCidr, req.SourceIP)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.TestSourceIPResponse{Allowed: res.Allowed, CheckedIP: res.CheckedIP})
}

func (s *Server) handleSourceLimitGet(w http.ResponseWriter, r *http.Request) error {
	cidrs, err := s.cfg.Lifecycle.CredentialSourceLimit(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), r.PathValue("id"))
	if err != nil {
		return err
	}
	if cidrs == nil {
		cidrs = []string{}
	}
	return writeJSON(w, apitype.SourceLimit{AllowSourceCidr: cidrs})
}

func (s *Server) handleSourceLimitSet(w http.ResponseWriter, r *http.Request) error {
	var req apitype.SourceLimit
	if err := s.readJSON(w, r, authority.ActionWriteSettings, &req); err != nil {
		return err
	}
	cidrs, err := s.cfg.Lifecycle.SetCredentialSourceLimit(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), r.PathValue("id"), req.AllowSourceCidr)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.SourceLimit{AllowSourceCidr: cidrs})
}
