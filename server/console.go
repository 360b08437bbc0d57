package server

// consolePageRoutes mounts the web console (package webconsole, an
// http.Handler) at /console/ and /console. The console is HTML for
// people, not API: its paths are not in openapi.json and are registered
// on the mux directly, not through handle, so they get none of the API's
// bearer authentication, JSON errors or body reader. It signs its own
// users in with a session cookie, which no API route reads. The access
// log records the route pattern (the console's own, such as "GET
// /console/login", which its mux sets on the request), never the path or
// query, so a sign-in link's token does not reach the log.
func (s *Server) consolePageRoutes() {
	if s.cfg.ConsolePages == nil {
		return
	}
	s.mux.Handle("/console/", s.cfg.ConsolePages)
	s.mux.Handle("/console", s.cfg.ConsolePages)
}
