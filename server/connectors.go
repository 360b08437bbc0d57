package server

import (
	"net/http"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

func (s *Server) connectorRoutes() {
	s.handle("POST /api/v1/apps/{app_id}/connectors", s.handleConnectorCreate, true)
	s.handle("POST /api/v1/apps/{app_id}/connectors/create", s.handleConnectorCreate, true)
	s.handle("GET /api/v1/apps/{app_id}/connectors", s.handleConnectorList, true)
	s.handle("GET /api/v1/apps/{app_id}/connectors/{id}", s.handleConnectorGet, true)
	s.handle("POST /api/v1/apps/{app_id}/connectors/{id}", s.handleConnectorUpdate, true)
	s.handle("DELETE /api/v1/apps/{app_id}/connectors/{id}", s.handleConnectorDelete, true)
}

// handleConnectorCreate serves both CreateDelegated and Create; conncred
// keeps no connector configuration, so the two differ only in path.
func (s *Server) handleConnectorCreate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.CreateConnectorRequest
	if err := s.readJSON(w, r, authority.ActionWriteConnectors, &req); err != nil {
		return err
	}
	c, err := s.auth.CreateConnector(r.Context(), r.PathValue("app_id"), authority.ConnectorInput{
		CatalogID: req.CatalogID, DisplayName: req.DisplayName, Description: req.Description, UserIDs: req.UserIDs,
	})
	if err != nil {
		return err
	}
	v, err := s.connectorView(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.ConnectorResponse{ConnectorView: v, Expanded: []any{}})
}

func (s *Server) handleConnectorGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.auth.GetConnector(r.Context(), r.PathValue("app_id"), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := s.connectorView(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.ConnectorResponse{ConnectorView: v, Expanded: []any{}})
}

func (s *Server) handleConnectorList(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	cs, next, err := s.auth.ListConnectors(r.Context(), r.PathValue("app_id"), p)
	if err != nil {
		return err
	}
	out := apitype.ListConnectorsResponse{List: make([]*apitype.ConnectorView, 0, len(cs)), NextPageToken: next, Expanded: []any{}}
	for _, c := range cs {
		v, err := s.connectorView(r, c)
		if err != nil {
			return err
		}
		out.List = append(out.List, v)
	}
	return writeJSON(w, out)
}

func (s *Server) handleConnectorUpdate(w http.ResponseWriter, r *http.Request) error {
	var req apitype.UpdateConnectorRequest
	if err := s.readJSON(w, r, authority.ActionWriteConnectors, &req); err != nil {
		return err
	}
	var u authority.ConnectorUpdate
	if req.UpdateMask.Has("displayName") {
		u.DisplayName = req.Connector.DisplayName
	}
	if req.UpdateMask.Has("description") {
		u.Description = req.Connector.Description
	}
	if req.UpdateMask.Has("userIds") && (req.Connector.UserIDs != nil || len(req.UpdateMask) > 0) {
		ids := req.Connector.UserIDs
		u.UserIDs = &ids
	}
	c, err := s.auth.UpdateConnector(r.Context(), r.PathValue("app_id"), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	v, err := s.connectorView(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.ConnectorResponse{ConnectorView: v, Expanded: []any{}})
}

func (s *Server) handleConnectorDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionWriteConnectors, &apitype.Empty{}); err != nil {
		return err
	}
	if err := s.auth.DeleteConnector(r.Context(), r.PathValue("app_id"), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}
