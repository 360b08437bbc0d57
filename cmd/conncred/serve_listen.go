package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/conncred/conncred/internal/connlimit"
)

// listen opens the API's listener with the connection limits applied:
// --max-conns in all, --max-conns-per-ip from one address (more are closed
// at once), --first-request-timeout for a connection to begin a request,
// and past 90% of --max-conns each new connection closes the longest-idle
// one, so idle connections cannot keep new clients out. Only when every
// connection has a request in flight do new ones wait in the kernel's
// accept queue. The server must be passed to Instrument.
func listen(cfg serveConfig) (*connlimit.Listener, error) {
	perIP := cfg.MaxConnsPerIP
	switch {
	case perIP < -1:
		return nil, fmt.Errorf("--max-conns-per-ip %d: give a positive number, 0 for the default or -1 for no limit", perIP)
	case perIP == 0 && cfg.TrustProxyHeaders:
		// Behind a proxy every connection comes from the proxy.
		perIP = -1
	case perIP == 0:
		// An eighth of the slots, but never so few that a small
		// --max-conns starves one ordinary client's connection pool.
		perIP = max(cfg.MaxConns/8, min(cfg.MaxConns, 8))
	}
	if cfg.FirstRequestTimeout < 0 {
		return nil, fmt.Errorf("--first-request-timeout %v: give a positive duration, or 0 for none", cfg.FirstRequestTimeout)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	return connlimit.New(ln, connlimit.Config{
		MaxConns:            cfg.MaxConns,
		MaxPerIP:            max(perIP, 0),
		FirstRequestTimeout: cfg.FirstRequestTimeout,
	}), nil
}

// httpServer applies the configured limits to the HTTP server.
//
// The TLS handshake is bounded by the smallest of the read-header, read and
// write timeouts, and an HTTP/1.1 connection's first request headers by
// ReadHeaderTimeout (net/http sets that deadline as the connection starts,
// checked by TestSilentConnectionsClosed); HTTP/2's 10 s preface timeout
// is fixed inside net/http (http.HTTP2Config has no field for it), and
// after the preface a silent connection would last until IdleTimeout, so
// --first-request-timeout (connlimit) is the explicit bound for both.
func httpServer(cfg serveConfig, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}
