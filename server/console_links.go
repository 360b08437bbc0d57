package server

import (
	"net/http"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

// consoleRoutes serves what package console offers the API: the login
// links `conncred console` asks for. The console's pages and its sign-in
// (GET and POST /console/login) are package webconsole's.
func (s *Server) consoleRoutes() {
	s.handle("POST "+apitype.PathConsoleLoginLinks, s.handleConsoleLoginLink, true)
}

// handleConsoleLoginLink makes a login link for the caller's own admin
// credential. The answer carries the link's token, so it is no-store
// (writeJSON) like every answer with a secret.
func (s *Server) handleConsoleLoginLink(w http.ResponseWriter, r *http.Request) error {
	if err := s.readJSON(w, r, authority.ActionIssueConsoleLink, &apitype.Empty{}); err != nil {
		return err
	}
	if s.cfg.Console == nil {
		return &httpError{rpc: rpcUnimplemented, msg: "the web console is not enabled on this server"}
	}
	token, l, err := s.cfg.Console.IssueLink(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.ConsoleLoginLinkResponse{
		ConsoleLoginLink: apitype.ConsoleLoginLink{ID: l.ID, ExpiresAt: l.ExpiresAt},
		URL:              s.cfg.Console.LoginURL(token),
	})
}
