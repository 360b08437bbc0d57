package server

import (
	"net/http"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

func (s *Server) adminRoutes() {
	if s.cfg.Personal == nil {
		// Without the personal wing (personal.go), the admin records
		// without the official fields.
		s.handle("POST "+apitype.PathPersonalClients, s.handleAdminCreate, true)
		s.handle("GET "+apitype.PathPersonalClients, s.handleAdminList, true)
		s.handle("GET "+apitype.PathPersonalClients+"/{id}", s.handleAdminGet, true)
		s.handle("DELETE "+apitype.PathPersonalClients+"/{id}", s.handleAdminRevoke, true)
	}
	s.handle("GET "+apitype.PathSigningKeys, s.handleKeysList, true)
	s.handle("POST "+apitype.PathRotateKeys, s.handleKeysRotate, true)
	s.handle("GET "+apitype.PathAudit, s.handleAudit, true)
}

func (s *Server) handleAdminCreate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.CreateAdminRequest
	if err := s.readJSON(w, r, authority.ActionWriteAdmins, &req); err != nil {
		return err
	}
	c, sec, err := s.auth.CreateAdmin(r.Context(), credentialOptions(req.DisplayName, req.Expires, req.ExpiresTime))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.PersonalClientResponse{Client: &apitype.PersonalClient{ConnectorCredential: apitype.FromCredential(c)}, ClientSecret: sec.Reveal()})
}

func (s *Server) handleAdminGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.auth.GetAdmin(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.PersonalClientResponse{Client: &apitype.PersonalClient{ConnectorCredential: apitype.FromCredential(c)}})
}

func (s *Server) handleAdminList(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	cs, next, err := s.auth.ListAdmins(r.Context(), p)
	if err != nil {
		return err
	}
	out := apitype.ListPersonalClientsResponse{List: make([]*apitype.PersonalClient, 0, len(cs)), NextPageToken: next}
	for _, c := range cs {
		out.List = append(out.List, &apitype.PersonalClient{ConnectorCredential: apitype.FromCredential(c)})
	}
	return writeJSON(w, out)
}

func (s *Server) handleAdminRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionWriteAdmins, &apitype.Empty{}); err != nil {
		return err
	}
	if _, err := s.auth.RevokeAdmin(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}

func (s *Server) handleKeysList(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.auth.ListSigningKeys(r.Context())
	if err != nil {
		return err
	}
	out := apitype.ListSigningKeysResponse{List: make([]apitype.SigningKey, 0, len(keys))}
	for _, k := range keys {
		out.List = append(out.List, wireKey(k))
	}
	return writeJSON(w, out)
}

func wireKey(k authority.SigningKeyInfo) apitype.SigningKey {
	t := k.CreatedAt.UTC()
	return apitype.SigningKey{KID: k.KID, CreatedAt: &t, Active: k.Active}
}

func (s *Server) handleKeysRotate(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionRotateSigningKeys, &apitype.Empty{}); err != nil {
		return err
	}
	k, err := s.auth.RotateSigningKey(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.RotateSigningKeyResponse{Key: wireKey(k)})
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	aq := authority.AuditQuery{Kind: q.Get("kind"), ConnectorID: q.Get("connector_id"), CredentialID: q.Get("credential_id"),
		Actor: q.Get("actor"), Outcome: q.Get("outcome"), Source: q.Get("source"), Page: p}
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		aq.Newest = true
	default:
		return conncred.Errorf(conncred.EInvalid, "order must be oldest (the default) or newest")
	}
	for name, dst := range map[string]*time.Time{"since": &aq.Since, "until": &aq.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return conncred.Errorf(conncred.EInvalid, "%s must be an RFC 3339 time such as 2026-11-28T17:00:00Z", name)
			}
			*dst = t
		}
	}
	events, next, err := s.auth.ListAudit(r.Context(), aq)
	if err != nil {
		return err
	}
	out := apitype.ListAuditResponse{List: make([]apitype.AuditEvent, 0, len(events)), NextPageToken: next}
	for _, e := range events {
		out.List = append(out.List, apitype.FromAuditEvent(e))
	}
	return writeJSON(w, out)
}
