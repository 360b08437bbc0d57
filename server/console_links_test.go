package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/console"
	"github.com/conncred/conncred/store/sqlite"
)

// withConsole registers the console sign-in wing as serve does, unless
// cfg has one already.
func withConsole(cfg *Config, st *sqlite.Store, a *authority.Authority, clk clock.Clock) {
	if cfg.Console == nil {
		cfg.Console = console.New(a, st, clk, console.Config{})
	}
}

// checkConsoleOperations calls the console operation with the document's
// checker for TestOpenAPIResponsesMatchTheDocument and returns the error
// statuses it exercised.
func checkConsoleOperations(t *testing.T, c *checker, e *env) map[string][]int {
	t.Helper()
	b := c.call("POST", apitype.PathConsoleLoginLinks, bearer(e.admin), "", 200, true)
	e.secrets = append(e.secrets, jsonField(t, b, "url"))
	c.call("POST", apitype.PathConsoleLoginLinks, jsonHeaders(e.admin), `{}`, 200, true)
	c.call("POST", apitype.PathConsoleLoginLinks, jsonHeaders(e.admin), `[]`, 400, false)
	c.call("POST", apitype.PathConsoleLoginLinks, nil, "", 401, false)
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	c.call("POST", apitype.PathConsoleLoginLinks, bearer(e.token(clientID, sec)), "", 403, true)
	return map[string][]int{"createConsoleLoginLink": {400, 401, 403}}
}

// TestConsoleLoginLinks: an admin gets a link on the public host whose
// token signs in once as that admin; the token is in no log line and no
// audit record; connectors and anonymous callers get none.
func TestConsoleLoginLinks(t *testing.T) {
	e := newEnv(t, Config{AccessLog: true}, authority.Config{})
	st, m := e.api("POST", apitype.PathConsoleLoginLinks, e.admin, nil)
	if st != http.StatusOK {
		t.Fatalf("POST %s: %d %v", apitype.PathConsoleLoginLinks, st, m)
	}
	raw, _ := m["url"].(string)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")
	if u.Scheme != "https" || u.Host != e.auth.PublicHost() || u.Path != console.LoginPath || len(token) != 43 || u.Fragment != "" {
		t.Errorf("url %q; want https://%s%s?token=<43 characters>", raw, e.auth.PublicHost(), console.LoginPath)
	}
	if id, _ := m["id"].(string); len(id) != 27 {
		t.Errorf("id %q, want a record id", id)
	}
	if exp, _ := m["expiresAt"].(string); exp != t0.Add(console.LinkLifetime).Format(time.RFC3339) {
		t.Errorf("expiresAt %q, want %s", exp, t0.Add(console.LinkLifetime).Format(time.RFC3339))
	}

	// The token signs in, once, as the admin that asked.
	srv := e.srv.Config.Handler.(*Server)
	browser := conncred.WithSource(context.Background(), "198.51.100.4:61000")
	cookie, sess, err := srv.cfg.Console.SignIn(browser, token, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, _, err := srv.cfg.Console.Resume(browser, cookie)
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.auth.Introspect(ctx)
	if err != nil || !conncred.PrincipalFrom(ctx).IsAdmin() || in.Principal.CredentialID != sess.CredentialID {
		t.Errorf("the session acts as %+v (%v); want the admin that asked", in.Principal, err)
	}
	if _, _, err := srv.cfg.Console.SignIn(browser, token, ""); conncred.ErrorCode(err) != conncred.EUnauthenticated {
		t.Errorf("the token a second time: %v, want EUnauthenticated", err)
	}
	// The sign-in page's GET carries the token in its query string: the
	// access log names routes, never raw URLs or queries.
	e.do("GET", console.LoginPath+"?token="+token, nil, "")

	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	if st, _ := e.api("POST", apitype.PathConsoleLoginLinks, e.token(clientID, sec), nil); st != http.StatusForbidden {
		t.Errorf("a connector's token: %d, want 403", st)
	}
	if st, _ := e.do("POST", apitype.PathConsoleLoginLinks, nil, ""); st != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", st)
	}

	e.auth.Flush(context.Background())
	events, err := e.store.ListAudit(context.Background(), conncred.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, ev := range events {
		kinds[ev.Kind] = true
		for _, s := range []string{token, cookie} {
			if strings.Contains(ev.Reason+ev.Actor+ev.Source, s) {
				t.Errorf("audit event %s carries a token or cookie", ev.Kind)
			}
		}
	}
	if !kinds[console.AuditLinkIssued] || !kinds[console.AuditSignedIn] {
		t.Errorf("audit kinds %v; want %s and %s", kinds, console.AuditLinkIssued, console.AuditSignedIn)
	}
	log := e.log.String()
	if !strings.Contains(log, "GET /console/login") && !strings.Contains(log, "(no route)") {
		t.Fatalf("the access log has no line for the sign-in page's GET:\n%s", log)
	}
	for _, s := range []string{token, cookie} {
		if strings.Contains(log, s) {
			t.Errorf("the log carries a token or cookie:\n%s", log)
		}
	}
}

// TestConsoleLoginLinksOff: a server without the wing answers 501 to an
// admin, and still 403 to a connector.
func TestConsoleLoginLinksOff(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	off := httptest.NewServer(New(Config{Clock: e.clock}, e.auth, nil))
	t.Cleanup(off.Close)
	call := func(token string) int {
		req, err := http.NewRequest("POST", off.URL+apitype.PathConsoleLoginLinks, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := off.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(e.admin); got != http.StatusNotImplemented {
		t.Errorf("an admin on a server without the console: %d, want 501", got)
	}
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	if got := call(e.token(clientID, sec)); got != http.StatusForbidden {
		t.Errorf("a connector on a server without the console: %d, want 403", got)
	}
}
