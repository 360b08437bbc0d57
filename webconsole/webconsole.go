// Package webconsole serves conncred's web console: server-rendered HTML
// pages under /console/ for the people who run conncred. It is a transport,
// like package server: every page calls the same authority and wing
// methods as the API route that does the same thing, with the signed-in
// session's principal in the context, so the console has no second path to
// the data and no rules of its own. Sign-in itself (one-time links,
// sessions, timeouts) is package console's; this package only asks it, via
// Sessions, who a request's cookie acts for.
//
// # What a browser gets
//
// Pages are html/template (so everything rendered is escaped), embedded
// with go:embed, styled by one plain CSS file. Reading works without
// JavaScript. Two scripts are served as files, never inline: the vendored
// htmx (static/VENDORED.md records its version and SHA-256, a test holds
// the file to it) for in-page search and the rotate form, and console.js
// for local times, copy, download and the secret's show/hide. Every
// response carries a Content-Security-Policy without 'unsafe-inline',
// frame-ancestors 'none', X-Frame-Options DENY, nosniff, Referrer-Policy
// no-referrer and Cache-Control no-store (static files excepted). Every
// unsafe method passes Go's http.CrossOriginProtection first.
//
// # The secret, once
//
// A rotate's secret is rendered in exactly one response: the answer to
// the rotate POST (rotate.go explains how a reload, Back and htmx's
// history are kept from showing it again or rotating twice).
package webconsole

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/console"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
)

// Sessions is what the console needs of package console's Service: redeem
// a one-time link for a session cookie, find the principal a cookie acts
// for, and end a session.
type Sessions interface {
	// SignIn redeems a login link's token and returns the new session's
	// cookie value (shown to this response only, stored only hashed).
	SignIn(ctx context.Context, token, source string) (cookie string, s console.Session, err error)
	// Resume returns ctx carrying the session's admin principal, or an
	// error when the session is unknown, ended, idle or too old, or its
	// credential can no longer authenticate.
	Resume(ctx context.Context, cookie string) (context.Context, console.Session, error)
	// SignOut ends the session.
	SignOut(ctx context.Context, cookie string) error
}

// Config is what the console is built from. Auth and Sessions are
// required; a nil wing leaves its pages out of the navigation and answers
// them with a page that says the server does not run it, as the API does.
type Config struct {
	Auth       *authority.Authority
	Sessions   Sessions
	Baton      *baton.Service
	Lifecycle  *lifecycle.Service
	Policy     *policy.Service
	Webhooks   *webhook.Service
	Personal   *personal.Service
	Federation *federation.Service
	// Clock renders relative times ("3 h ago") and expiry warnings
	// (default real time).
	Clock clock.Clock
	// Log receives internal errors with the request id; never a secret,
	// a token or a cookie.
	Log *slog.Logger
}

// Console is the web console's http.Handler.
type Console struct {
	cfg     Config
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
	handler http.Handler // mux behind cop
	pages   *pages
	forms   *formGuard
}

// New returns the console. It panics if Auth or Sessions is nil: that is
// a wiring mistake, found at start-up.
func New(cfg Config) *Console {
	if cfg.Auth == nil || cfg.Sessions == nil {
		panic("webconsole: Config.Auth and Config.Sessions are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Console{cfg: cfg, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection(), pages: mustParsePages(), forms: newFormGuard(cfg.Clock)}
	c.cop.SetDenyHandler(http.HandlerFunc(c.crossOriginRefused))
	c.routes()
	c.handler = c.cop.Handler(c.mux)
	return c
}

// Prefix is where the console is mounted.
const Prefix = "/console"

func (c *Console) routes() {
	// Unauthenticated: the assets, and signing in and out.
	c.mux.HandleFunc("GET "+Prefix+"/static/{file}", c.serveStatic)
	c.handlePublic("GET "+Prefix+"/login", c.loginPage)
	c.handlePublic("POST "+Prefix+"/login", c.loginSubmit)
	c.handlePublic("POST "+Prefix+"/logout", c.logout)
	c.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})

	c.handle("GET "+Prefix+"/{$}", c.home)
	c.appRoutes()
	c.connectorRoutes()
	c.credentialRoutes()
	c.auditRoutes()
	c.keyRoutes()
	c.wingRoutes()
	// Anything else under /console/ is a page that does not exist.
	c.handle(Prefix+"/", func(w http.ResponseWriter, r *http.Request) error {
		return errNotFoundPage
	})
}

// ServeHTTP sets the headers every console response carries, refuses
// cross-origin unsafe requests, and routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	c.handler.ServeHTTP(w, r)
}
