package server

import (
	"net/http"
	"time"
)

// Observer receives the HTTP layer's measurements, for metrics (package
// metrics implements it). It is an interface so that the server needs no
// metrics library. Every route it is given is a pattern registered here
// (such as "GET /api/v1/apps/{id}") or "unmatched", never a request's own
// path, so ids in paths cannot become labels.
type Observer interface {
	// RequestStarted is called when a request arrives; RequestDone when
	// its answer has been written, with its route, status and duration.
	RequestStarted()
	RequestDone(route string, code int, took time.Duration)
	// TokenRateLimited is called when a token request is refused with 429
	// by the failed-request limit; scope is ScopeAddress, ScopePair or
	// ScopeVerifyBudget (ratelimit.go).
	TokenRateLimited(scope string)
}

// unmatchedRoute is the route of requests no pattern matched (404, 501).
const unmatchedRoute = "unmatched"

// Handler returns the server's http.Handler: the server itself, measured
// by Config.Observer when one is set.
func (s *Server) Handler() http.Handler {
	if s.cfg.Observer == nil {
		return s
	}
	return s.measured(s)
}

// measured wraps next with the request metrics. The route is found with
// mux.Handler before the request is served: ServeHTTP serves a copy of the
// request (with its request id in the context), so the r.Pattern the mux
// sets is not visible out here; the look-up gives the same pattern.
func (s *Server) measured(next http.Handler) http.Handler {
	obs := s.cfg.Observer
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		obs.RequestStarted()
		route := unmatchedRoute
		if _, p := s.mux.Handler(r); p != "" {
			route = p
		}
		sw := &statusWriter{ResponseWriter: w}
		// Deferred so that a panic (even http.ErrAbortHandler, which
		// ServeHTTP re-raises) still ends the in-flight count.
		defer func() { obs.RequestDone(route, sw.status(), time.Since(start)) }()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 { // 1xx are interim, not the answer

		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
