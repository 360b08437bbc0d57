package webconsole

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/secret"
)

// TestSecurityHeaders: every console response, pages, errors and the
// sign-in page alike, carries the strict headers; static files are
// cacheable and typed.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	check := func(name string, r response) {
		t.Helper()
		h := r.Header
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got, want)
			}
		}
		if strings.Contains(h.Get("Content-Security-Policy"), "unsafe") {
			t.Errorf("%s: CSP allows unsafe sources", name)
		}
	}
	login := e.get(c, "/console/login?token=abc")
	check("login", login)
	if got := login.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("login: Cache-Control = %q, want no-store", got)
	}
	e.signIn(c)
	for _, p := range []string{"/console/", "/console/apps", "/console/audit", "/console/keys", "/console/no-such-page"} {
		r := e.get(c, p)
		check(p, r)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", p, got)
		}
		if strings.Contains(r.Body, "<script>") || regexp.MustCompile(`<script[^>]*>[^<]`).MatchString(r.Body) || strings.Contains(r.Body, "style=") || strings.Contains(r.Body, "<style") {
			t.Errorf("%s: the page has an inline script or style", p)
		}
	}
	if r := e.get(c, "/console/no-such-page"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "no such page") {
		t.Errorf("unknown page: %d, want 404 with a message", r.StatusCode)
	}
	js := e.get(c, assetURL("htmx.min.js"))
	check("htmx.min.js", js)
	if js.StatusCode != 200 || js.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(js.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("static: %d %q %q", js.StatusCode, js.Header.Get("Content-Type"), js.Header.Get("Cache-Control"))
	}
	if r := e.get(c, "/console/static/nope.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown static file: %d, want 404", r.StatusCode)
	}
	if r := e.get(c, "/console"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
		t.Errorf("/console: %d to %q, want 303 to /console/", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestSignIn walks the one-time link: GET shows a form and spends nothing
// (twice), POST sets a __Host- cookie and redirects; the used link is
// refused; the token never reaches the access log.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	tok := e.sessions.link(e.admin)
	for i := range 2 {
		r := e.get(c, "/console/login?token="+url.QueryEscape(tok))
		if r.StatusCode != 200 || hidden(t, r.Body, "token") != tok || !strings.Contains(r.Body, ">Sign in</button>") {
			t.Fatalf("GET login #%d: %d, want the form with the token", i, r.StatusCode)
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Fatalf("GET login set a cookie")
		}
	}
	if e.sessions.signIns != 0 {
		t.Fatalf("GET login redeemed the link")
	}
	if r := e.get(c, "/console/apps"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/login") {
		t.Fatalf("apps without a session: %d to %q, want 303 to the sign-in page", r.StatusCode, r.Header.Get("Location"))
	}
	r := e.post(c, "/console/login", url.Values{"token": {tok}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
		t.Fatalf("POST login: %d to %q, want 303 to /console/", r.StatusCode, r.Header.Get("Location"))
	}
	sc := r.Header.Get("Set-Cookie")
	for _, want := range []string{CookieName + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	for _, bad := range []string{"Domain=", "Max-Age", "Expires"} {
		if strings.Contains(sc, bad) {
			t.Errorf("Set-Cookie %q has %q", sc, bad)
		}
	}
	if r := e.get(c, "/console/apps"); r.StatusCode != 200 || !strings.Contains(r.Body, e.admin.ClientID) {
		t.Fatalf("apps after sign-in: %d, want 200 naming the admin", r.StatusCode)
	}
	// The same link again, from another browser: refused, no cookie.
	c2 := e.client()
	r = e.post(c2, "/console/login", url.Values{"token": {tok}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "conncred console") || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("used link: %d (cookie %q), want 401 saying how to get a new one", r.StatusCode, r.Header.Get("Set-Cookie"))
	}
	if r := e.post(c2, "/console/login", url.Values{}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("no token: %d, want 400", r.StatusCode)
	}
	if strings.Contains(e.log.String(), tok) {
		t.Fatal("the sign-in token is in the server's log")
	}
	if !strings.Contains(e.log.String(), `"route":"GET /console/login"`) {
		t.Fatalf("the access log has no console request: %s", e.log.String())
	}
}

// TestLogout: POST ends the session and clears the cookie; the old cookie
// then gets the sign-in page, not a page.
func TestLogout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	u, _ := url.Parse(e.srv.URL)
	old := c.Jar.Cookies(u)
	r := e.post(c, "/console/logout", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?why=out" {
		t.Fatalf("logout: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, CookieName+"=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("logout Set-Cookie %q does not clear the cookie", sc)
	}
	if len(c.Jar.Cookies(u)) != 0 {
		t.Errorf("the browser kept the cookie")
	}
	// The old cookie, replayed, is refused.
	c2 := e.client()
	c2.Jar.SetCookies(u, old)
	if r := e.get(c2, "/console/apps"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?why=ended" {
		t.Fatalf("ended session: %d to %q, want the sign-in page", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestAPIRefusesTheCookie: the API reads only Authorization; a console
// cookie alone is 401.
func TestAPIRefusesTheCookie(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	for _, p := range []string{"/api/v1/apps", "/api/v1/auth/introspect"} {
		if r := e.get(c, p); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with only the console cookie: %d, want 401", p, r.StatusCode)
		}
	}
}

// TestCrossOriginRefused: unsafe requests from another origin are refused
// before they reach a handler; the same request from the console's own
// origin works.
func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	for name, h := range map[string][2]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site"},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site", "same-site"},
		"foreign Origin":            {"Origin", "https://evil.example"},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/console/apps", strings.NewReader("name=Evil"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if h[0] == "Origin" {
			req.Header.Set("Sec-Fetch-Site", "")
		}
		req.Header.Set(h[0], h[1])
		r := e.do(c, req)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "another site") {
			t.Errorf("%s: %d, want 403 saying why", name, r.StatusCode)
		}
	}
	apps, _, err := e.auth.ListApps(e.adminCtx(), authority.PageRequest{})
	if err != nil || len(apps) != 0 {
		t.Fatalf("a refused request created apps: %v %v", apps, err)
	}
	r := e.post(c, "/console/apps", url.Values{"name": {"Okta"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin create: %d, want 303", r.StatusCode)
	}
}

// TestHostileNamesAreEscaped: names an admin (or a connector's Hello)
// chose are text, never markup, on every page that shows them.
func TestHostileNamesAreEscaped(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	app, cn := e.setup(evil, evil)
	cred, _, err := e.auth.RotateCredential(e.adminCtx(), app.ID, cn.ID, authority.CredentialOptions{DisplayName: "x" + evil})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/console/apps", "/console/apps?q=" + url.QueryEscape(evil), appPath(app.ID), connectorPath(app.ID, cn.ID),
		credentialPath(app.ID, cn.ID, cred.ID), credentialPath(app.ID, cn.ID, cred.ID) + "/revoke", appPath(app.ID) + "/delete",
		connectorPath(app.ID, cn.ID) + "/rotate", "/console/audit?actor=" + url.QueryEscape(evil)} {
		r := e.get(c, p)
		if r.StatusCode != 200 {
			t.Errorf("%s: %d", p, r.StatusCode)
			continue
		}
		if strings.Contains(r.Body, "<script>alert") || strings.Contains(r.Body, "<img src=x") {
			t.Errorf("%s: the hostile name is rendered as markup", p)
		}
		if !strings.Contains(r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped name is not shown", p)
		}
	}
}

// TestRotateShowsTheSecretOnce: the POST's answer holds the secret (and it
// authenticates); the same form sent again (a reload without JavaScript)
// shows no secret and makes no second credential; no other page shows it.
func TestRotateShowsTheSecretOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	app, cn := e.setup("Okta", "okta sync")
	rotate := connectorPath(app.ID, cn.ID) + "/rotate"
	form := e.get(c, rotate)
	once := hidden(t, form.Body, "once")
	vals := url.Values{"once": {once}, "name": {"ci"}, "expires": {"30d"}, "retire": {"none"}}
	r := e.post(c, rotate, vals)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %q", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	m := regexp.MustCompile(`data-secret>(secret-token:[^<]+)<`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("the rotate answer shows no secret")
	}
	sec := m[1]
	if _, err := secret.Parse(sec); err != nil {
		t.Fatalf("the shown secret does not parse: %v", err)
	}
	if !strings.Contains(r.Body, "will not be shown again") || !strings.Contains(r.Body, `hx-history="false"`) {
		t.Error("the answer lacks the warning or hx-history=false")
	}
	cs, _, err := e.auth.ListCredentials(e.adminCtx(), app.ID, cn.ID, authority.PageRequest{})
	if err != nil || len(cs) != 1 || cs[0].DisplayName != "ci" || cs[0].ExpiresAt == nil || !cs[0].ExpiresAt.Equal(t0.Add(30*24*3600e9)) {
		t.Fatalf("credentials after rotate: %+v %v", cs, err)
	}
	again := e.post(c, rotate, vals)
	if again.StatusCode != http.StatusConflict || strings.Contains(again.Body, "secret-token:") || !strings.Contains(again.Body, "already submitted") {
		t.Fatalf("resubmitted rotate: %d, want 409 without a secret", again.StatusCode)
	}
	if cs, _, _ := e.auth.ListCredentials(e.adminCtx(), app.ID, cn.ID, authority.PageRequest{}); len(cs) != 1 {
		t.Fatalf("the resubmitted form made another credential: %d", len(cs))
	}
	for _, p := range []string{rotate, connectorPath(app.ID, cn.ID), credentialPath(app.ID, cn.ID, cs[0].ID), "/console/audit?range=all"} {
		if strings.Contains(e.get(c, p).Body, sec) {
			t.Errorf("%s shows the secret", p)
		}
	}
	if strings.Contains(e.log.String(), sec) {
		t.Error("the secret is in the server's log")
	}
	// A form without its nonce is refused, and shown again with a new one.
	r = e.post(c, rotate, url.Values{"name": {"x"}})
	if r.StatusCode != http.StatusBadRequest || strings.Contains(r.Body, "secret-token:") || hidden(t, r.Body, "once") == "" {
		t.Fatalf("rotate without nonce: %d", r.StatusCode)
	}
	// Bad input says what to fix and makes nothing.
	r = e.post(c, rotate, url.Values{"once": {hidden(t, form.Body, "once")}, "expires": {"soon"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "30d, 720h or 90m") {
		t.Fatalf("bad expires: %d", r.StatusCode)
	}
}

// TestOverlapRotation retires the other credentials after the grace chosen.
func TestOverlapRotation(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	app, cn := e.setup("Okta", "okta sync")
	old, _, err := e.auth.RotateCredential(e.adminCtx(), app.ID, cn.ID, authority.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rotate := connectorPath(app.ID, cn.ID) + "/rotate"
	once := hidden(t, e.get(c, rotate).Body, "once")
	r := e.post(c, rotate, url.Values{"once": {once}, "retire": {"24h"}})
	if r.StatusCode != 200 || !strings.Contains(r.Body, old.ClientID) || !strings.Contains(r.Body, "secret-token:") {
		t.Fatalf("overlap rotate: %d, want the secret and the retired credential", r.StatusCode)
	}
	got, err := e.auth.GetCredential(e.adminCtx(), app.ID, cn.ID, old.ID)
	if err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(t0.Add(24*3600e9)) {
		t.Fatalf("old credential after overlap rotate: %+v %v", got, err)
	}
}

// TestRevoke: the confirmation names the credential and what stops; the
// POST revokes it and the audit page shows the revocation.
func TestRevoke(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	app, cn := e.setup("Okta", "okta sync")
	cred, _, err := e.auth.RotateCredential(e.adminCtx(), app.ID, cn.ID, authority.CredentialOptions{DisplayName: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	p := credentialPath(app.ID, cn.ID, cred.ID) + "/revoke"
	confirm := e.get(c, p)
	for _, want := range []string{cred.ClientID, "prod", "only active credential", "access tokens already minted"} {
		if !strings.Contains(confirm.Body, want) {
			t.Errorf("the confirmation does not say %q", want)
		}
	}
	if got, _ := e.auth.GetCredential(e.adminCtx(), app.ID, cn.ID, cred.ID); got.DeletedAt != nil {
		t.Fatal("GET of the confirmation revoked the credential")
	}
	r := e.post(c, p, nil)
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "done=revoked") {
		t.Fatalf("revoke: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if got, _ := e.auth.GetCredential(e.adminCtx(), app.ID, cn.ID, cred.ID); got.DeletedAt == nil {
		t.Fatal("the credential is not revoked")
	}
	page := e.get(c, r.Header.Get("Location"))
	if !strings.Contains(page.Body, "Credential revoked.") || !strings.Contains(page.Body, "state-revoked") {
		t.Error("the connector page does not show the revocation")
	}
	audit := e.get(c, "/console/audit?kind=credential.revoked")
	if !strings.Contains(audit.Body, cred.ID) || !strings.Contains(audit.Body, e.admin.ClientID) {
		t.Errorf("the audit page does not show the revocation by the admin")
	}
	if r := e.post(c, credentialPath(app.ID, cn.ID, "0ERrQDm353BInvCbLdR4LVPgUSY")+"/revoke", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("revoke of an unknown credential: %d, want 404", r.StatusCode)
	}
}

// TestVendoredChecksums holds the vendored files to the versions and
// checksums VENDORED.md records.
func TestVendoredChecksums(t *testing.T) {
	for path, want := range map[string]string{
		"static/htmx.min.js":      HTMXSHA256,
		"testdata/axe/axe.min.js": axeSHA256,
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: SHA-256 %s, want %s (update VENDORED.md and the constant together)", path, got, want)
		}
	}
	doc, _ := os.ReadFile("static/VENDORED.md")
	if !strings.Contains(string(doc), HTMXVersion) || !strings.Contains(string(doc), HTMXSHA256) {
		t.Error("static/VENDORED.md does not record htmx's version and checksum")
	}
	if !strings.Contains(string(assets["htmx.min.js"].body), `version:"`+HTMXVersion+`"`) {
		t.Errorf("the embedded htmx is not version %s", HTMXVersion)
	}
}

// axeSHA256 is testdata/axe/axe.min.js's, as testdata/axe/VENDORED.md records.
const axeSHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

// TestRealSignIn runs the sign-in and sign-out through package console's
// Service, with the link from the API route: the link works once, the
// session acts as the admin, sign-out ends it, and the audit trail has
// both, from the console's own audit page.
func TestRealSignIn(t *testing.T) {
	e := newEnvReal(t)
	c := e.client()
	tok := e.loginToken()
	if r := e.get(c, "/console/login?token="+url.QueryEscape(tok)); r.StatusCode != 200 || hidden(t, r.Body, "token") != tok {
		t.Fatalf("GET login: %d", r.StatusCode)
	}
	r := e.post(c, "/console/login", url.Values{"token": {tok}})
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Set-Cookie"), CookieName+"=") {
		t.Fatalf("POST login: %d %q", r.StatusCode, r.Header.Get("Set-Cookie"))
	}
	if r := e.post(e.client(), "/console/login", url.Values{"token": {tok}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the used link: %d, want 401", r.StatusCode)
	}
	if r := e.get(c, "/console/apps"); r.StatusCode != 200 || !strings.Contains(r.Body, e.admin.ClientID) {
		t.Fatalf("apps: %d", r.StatusCode)
	}
	u, _ := url.Parse(e.srv.URL)
	old := c.Jar.Cookies(u)
	e.post(c, "/console/logout", nil)
	c2 := e.client()
	c2.Jar.SetCookies(u, old)
	if r := e.get(c2, "/console/apps"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out the old cookie got %d, want the sign-in page", r.StatusCode)
	}
	e.signIn(c2)
	audit := e.get(c2, "/console/audit?kind=console.signed_out").Body
	if !strings.Contains(audit, "console.signed_out") || strings.Contains(audit, tok) {
		t.Error("the audit page does not show the sign-out (or shows the token)")
	}
	if strings.Contains(e.log.String(), tok) {
		t.Error("the sign-in token is in the server's log")
	}
}
