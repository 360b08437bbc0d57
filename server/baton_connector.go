package server

import (
	"net/http"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
)

// connectorView is a connector's wire view with the official record's
// sync fields (status, syncDisabledAt, canResumeSync) filled in from the
// baton wing when this server runs it. A deleted connector has no sync
// status: its tasks are gone with it.
func (s *Server) connectorView(r *http.Request, c conncred.Connector) (*apitype.ConnectorView, error) {
	v := apitype.FromConnector(c)
	if s.cfg.Baton == nil || c.DeletedAt != nil {
		return v, nil
	}
	st, err := s.cfg.Baton.StatusOf(r.Context(), c)
	if err != nil {
		return nil, err
	}
	view := syncStatusView(st)
	v.Connector.Status = &view.Status
	v.Connector.SyncDisabledAt = st.SyncDisabledAt
	v.Connector.CanResumeSync = &st.CanResumeSync
	return v, nil
}
