package server

import (
	"net/http"
	"strconv"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

func (s *Server) appRoutes() {
	s.handle("POST /api/v1/apps", s.handleAppCreate, true)
	s.handle("GET /api/v1/apps", s.handleAppList, true)
	s.handle("GET /api/v1/apps/{id}", s.handleAppGet, true)
	s.handle("POST /api/v1/apps/{id}", s.handleAppUpdate, true)
	s.handle("DELETE /api/v1/apps/{id}", s.handleAppDelete, true)
}

func (s *Server) handleAppCreate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.CreateAppRequest
	if err := s.readJSON(w, r, authority.ActionWriteApps, &req); err != nil {
		return err
	}
	app, err := s.auth.CreateApp(r.Context(), authority.AppInput{DisplayName: req.DisplayName, Description: req.Description})
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.AppResponse{App: apitype.FromApp(app)})
}

func (s *Server) handleAppGet(w http.ResponseWriter, r *http.Request) error {
	app, err := s.auth.GetApp(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.AppResponse{App: apitype.FromApp(app)})
}

func (s *Server) handleAppList(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	apps, next, err := s.auth.ListApps(r.Context(), p)
	if err != nil {
		return err
	}
	out := apitype.ListAppsResponse{List: make([]*apitype.App, 0, len(apps)), NextPageToken: next}
	for _, a := range apps {
		out.List = append(out.List, apitype.FromApp(a))
	}
	return writeJSON(w, out)
}

func (s *Server) handleAppUpdate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.UpdateAppRequest
	if err := s.readJSON(w, r, authority.ActionWriteApps, &req); err != nil {
		return err
	}
	var u authority.AppUpdate
	if req.UpdateMask.Has("displayName") {
		u.DisplayName = req.App.DisplayName
	}
	if req.UpdateMask.Has("description") {
		u.Description = req.App.Description
	}
	app, err := s.auth.UpdateApp(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.AppResponse{App: apitype.FromApp(app)})
}

func (s *Server) handleAppDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionWriteApps, &apitype.Empty{}); err != nil {
		return err
	}
	if err := s.auth.DeleteApp(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}

// pageRequest reads page_size and page_token (pageSize and pageToken too,
// since gateways accept both spellings).
func pageRequest(r *http.Request) (authority.PageRequest, error) {
	q := r.URL.Query()
	size := q.Get("page_size")
	if size == "" {
		size = q.Get("pageSize")
	}
	token := q.Get("page_token")
	if token == "" {
		token = q.Get("pageToken")
	}
	var p authority.PageRequest
	if size != "" {
		n, err := strconv.Atoi(size)
		if err != nil {
			return p, conncred.Errorf(conncred.EInvalid, "page_size must be an integer")
		}
		p.Size = n
	}
	if len(token) > 256 {
		return p, conncred.Errorf(conncred.EInvalid, "page_token is not valid; pass the nextPageToken of the previous page")
	}
	p.Token = token
	return p, nil
}
