package webconsole

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/conncred/conncred"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one parsed template set per page: the layout and shared
// parts, plus that page's "content". One set per page keeps the pages'
// "content" definitions from overwriting each other.
type pages struct {
	sets map[string]*template.Template
}

func mustParsePages() *pages {
	funcs := template.FuncMap{
		"asset": assetURL,
		"join":  strings.Join,
	}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		p.sets[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return p
}

// page is what every page template gets.
type page struct {
	Title string
	Nav   string // the navigation entry to mark current
	Who   string // the signed-in client id; "" on the sign-in pages
	Wings wings
	// Flash says what the last action did; Error what to fix.
	Flash string
	Error string
	Data  any
}

// wings says which optional pages the navigation offers.
type wings struct {
	Federation, Policy, Webhooks, Personal, Lifecycle, Baton bool
}

func (c *Console) wings() wings {
	return wings{
		Federation: c.cfg.Federation != nil, Policy: c.cfg.Policy != nil, Webhooks: c.cfg.Webhooks != nil,
		Personal: c.cfg.Personal != nil, Lifecycle: c.cfg.Lifecycle != nil, Baton: c.cfg.Baton != nil,
	}
}

// render writes page name with status. It executes into a buffer first, so
// a template failure is a clean error page, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) error {
	t, ok := c.pages.sets[name]
	if !ok {
		return conncred.Errorf(conncred.EInternal, "no page template %q", name)
	}
	if p.Who == "" {
		if pr := conncred.PrincipalFrom(r.Context()); pr != nil {
			p.Who = pr.ClientID
		}
	}
	p.Wings = c.wings()
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return conncred.WrapError(conncred.EInternal, err, "rendering the %s page", name)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// setSecurityHeaders sets what every console response carries. The policy
// allows scripts, styles and fetches from this origin only: no inline
// script or style, no eval, no frames, forms only to this origin.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// no-referrer everywhere: the sign-in page's URL carries a one-time
	// token, and no console URL is worth telling another site about.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	// Pages show credentials' metadata and, once, a secret: no cache,
	// and (for Chromium) no back/forward cache either. serveStatic
	// overrides this for the versioned assets.
	h.Set("Cache-Control", "no-store")
}

const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// handlerFunc is a page handler that returns its error for one place to
// render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// errNotFoundPage is a path under /console/ that names no page.
var errNotFoundPage = conncred.Errorf(conncred.ENotFound, "there is no such page in the console; use the navigation above")

// handlePublic registers h without a session.
func (c *Console) handlePublic(pattern string, h handlerFunc) {
	c.mux.Handle(pattern, c.adapt(h))
}

// handle registers h behind a session: the request's context carries the
// session's principal, so h calls the authority as that admin.
func (c *Console) handle(pattern string, h handlerFunc) {
	c.mux.Handle(pattern, c.adapt(c.signedIn(h)))
}

func (c *Console) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			c.renderError(w, r, err)
		}
	})
}

// errorView is the error page's data.
type errorView struct {
	Status  int
	Heading string
	Message string
}

// renderError shows err as a page that says what went wrong and what to
// do. Messages of conncred errors are written to be shown; an internal
// error shows only the request id, and its cause goes to the log.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, err error) {
	code := conncred.ErrorCode(err)
	v := errorView{Message: conncred.ErrorMessage(err)}
	switch code {
	case conncred.EInvalid:
		v.Status, v.Heading = http.StatusBadRequest, "That request cannot be done"
	case conncred.ENotFound:
		v.Status, v.Heading = http.StatusNotFound, "Not found"
	case conncred.EConflict:
		v.Status, v.Heading = http.StatusConflict, "That conflicts with the current state"
	case conncred.EPermissionDenied:
		v.Status, v.Heading = http.StatusForbidden, "Not allowed"
	case conncred.EUnauthenticated:
		v.Status, v.Heading = http.StatusUnauthorized, "Sign in again"
	case conncred.EUnavailable:
		v.Status, v.Heading = http.StatusServiceUnavailable, "Temporarily unavailable"
		v.Message += " Try again in a moment."
		w.Header().Set("Retry-After", "1")
	default:
		id := w.Header().Get("X-Request-Id")
		// Only the path: a query can carry a sign-in token.
		c.cfg.Log.Error("console: internal error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		v.Status, v.Heading = http.StatusInternalServerError, "Something went wrong on the server"
		v.Message = "The server could not complete this request (request id " + id + "). Try again; if it keeps failing, the server's log has the cause under that request id."
	}
	if rerr := c.render(w, r, v.Status, "error", page{Title: v.Heading, Data: v}); rerr != nil {
		c.cfg.Log.Error("console: rendering an error page", "err", rerr)
		http.Error(w, v.Heading+": "+v.Message, v.Status)
	}
}

// crossOriginRefused answers an unsafe request that http.CrossOriginProtection
// refused: a form posted from another site, or a script on another origin.
func (c *Console) crossOriginRefused(w http.ResponseWriter, r *http.Request) {
	c.renderError(w, r, conncred.Errorf(conncred.EPermissionDenied,
		"this request came from another site or origin, so the console refused it (cross-site request forgery protection); use the console's own pages and forms"))
}
