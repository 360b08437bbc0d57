package server

import (
	"net/http"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/secret"
)

// personalRoutes serves package personal: ConductorOne's
// PersonalClientService and PersonalClientSearchService on their own paths
// and shapes. Without the wing the admin routes (admin.go) serve the
// create, get, list and delete without the official fields.
func (s *Server) personalRoutes() {
	if s.cfg.Personal == nil {
		return
	}
	s.handle("POST "+apitype.PathPersonalClients, s.handlePersonalCreate, true)
	s.handle("GET "+apitype.PathPersonalClients, s.handlePersonalList, true)
	s.handle("GET "+apitype.PathPersonalClients+"/{id}", s.handlePersonalGet, true)
	s.handle("POST "+apitype.PathPersonalClients+"/{id}", s.handlePersonalUpdate, true)
	s.handle("DELETE "+apitype.PathPersonalClients+"/{id}", s.handlePersonalDelete, true)
	s.handle("POST "+apitype.PathSearchPersonalClients, s.handlePersonalSearch, true)
}

// wirePersonal is a personal client in ConductorOne's shape.
func wirePersonal(c personal.Client) *apitype.PersonalClient {
	return &apitype.PersonalClient{ConnectorCredential: apitype.FromCredential(c.Credential), AllowSourceCidr: c.AllowSourceCIDR, ScopedRoles: c.ScopedRoles}
}

func wirePersonalList(cs []personal.Client, next string) apitype.ListPersonalClientsResponse {
	out := apitype.ListPersonalClientsResponse{List: make([]*apitype.PersonalClient, 0, len(cs)), NextPageToken: next}
	for _, c := range cs {
		out.List = append(out.List, wirePersonal(c))
	}
	return out
}

func (s *Server) handlePersonalCreate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.CreatePersonalClientRequest
	if err := s.readJSON(w, r, authority.ActionWriteAdmins, &req); err != nil {
		return err
	}
	var (
		c   personal.Client
		sec secret.Secret
		err error
	)
	c, sec, err = s.cfg.Personal.Create(r.Context(), personal.CreateRequest{
		DisplayName: req.DisplayName, Expires: time.Duration(req.Expires), ExpiresTime: req.ExpiresTime,
		AllowSourceCIDR: req.AllowSourceCidr, ScopedRoles: req.ScopedRoles,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.PersonalClientResponse{Client: wirePersonal(c), ClientSecret: sec.Reveal()})
}

func (s *Server) handlePersonalGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cfg.Personal.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.PersonalClientResponse{Client: wirePersonal(c)})
}

func (s *Server) handlePersonalList(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	cs, next, err := s.cfg.Personal.List(r.Context(), p.Size, p.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, wirePersonalList(cs, next))
}

func (s *Server) handlePersonalSearch(w http.ResponseWriter, r *http.Request) error {
	var req apitype.SearchPersonalClientsRequest
	if err := s.readJSON(w, r, authority.ActionReadAdmins, &req); err != nil {
		return err
	}
	users := make([]string, 0, len(req.Users))
	for _, u := range req.Users {
		users = append(users, u.ID)
	}
	cs, next, err := s.cfg.Personal.Search(r.Context(), personal.SearchRequest{Query: req.Query, Users: users, PageSize: req.PageSize, PageToken: req.PageToken})
	if err != nil {
		return err
	}
	return writeJSON(w, wirePersonalList(cs, next))
}

func (s *Server) handlePersonalUpdate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.UpdatePersonalClientRequest
	if err := s.readJSON(w, r, authority.ActionWriteAdmins, &req); err != nil {
		return err
	}
	in := req.Client
	c, err := s.cfg.Personal.Update(r.Context(), r.PathValue("id"), personal.Update{
		DisplayName: in.DisplayName, ExpiresTime: in.ExpiresTime,
		AllowSourceCIDR: in.AllowSourceCidr, ScopedRoles: in.ScopedRoles, Mask: req.UpdateMask,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.PersonalClientResponse{Client: wirePersonal(c)})
}

func (s *Server) handlePersonalDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionWriteAdmins, &apitype.Empty{}); err != nil {
		return err
	}
	if err := s.cfg.Personal.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}
