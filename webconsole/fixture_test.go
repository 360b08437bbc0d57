package webconsole

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/client"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/console"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/server"
	"github.com/conncred/conncred/store/sqlite"
	"github.com/conncred/conncred/webhook"
)

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

// fakeSessions stands in for package console's Service (test only): one-
// time links and sessions in memory, with the same contract. It acts for
// the admin credential a link was made for.
type fakeSessions struct {
	auth *authority.Authority
	mu   sync.Mutex
	// links maps a token to the admin credential it signs in as.
	links    map[string]conncred.Credential
	sessions map[string]*console.Session
	creds    map[string]conncred.Credential // by session id
	signIns  int
}

func newFakeSessions(a *authority.Authority) *fakeSessions {
	return &fakeSessions{auth: a, links: map[string]conncred.Credential{}, sessions: map[string]*console.Session{}, creds: map[string]conncred.Credential{}}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// link makes a one-time login token for cred.
func (f *fakeSessions) link(cred conncred.Credential) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := randomToken()
	f.links[tok] = cred
	return tok
}

func (f *fakeSessions) SignIn(ctx context.Context, token, source string) (string, console.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cred, ok := f.links[token]
	if !ok {
		return "", console.Session{}, conncred.Errorf(conncred.EUnauthenticated, "this login link is used or expired")
	}
	delete(f.links, token)
	f.signIns++
	cookie := randomToken()
	now := f.auth.Now()
	s := &console.Session{ID: randomToken()[:10], CredentialID: cred.ID, Source: source, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(console.AbsoluteTimeout)}
	f.sessions[cookie] = s
	f.creds[s.ID] = cred
	return cookie, *s, nil
}

func (f *fakeSessions) Resume(ctx context.Context, cookie string) (context.Context, console.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[cookie]
	if !ok || s.EndedAt != nil {
		return nil, console.Session{}, conncred.Errorf(conncred.EUnauthenticated, "no such session")
	}
	cred := f.creds[s.ID]
	p := &conncred.Principal{Kind: conncred.KindAdmin, CredentialID: cred.ID, ClientID: cred.ClientID, Source: conncred.SourceFrom(ctx)}
	return conncred.WithPrincipal(ctx, p), *s, nil
}

func (f *fakeSessions) SignOut(ctx context.Context, cookie string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[cookie]
	if !ok {
		return conncred.Errorf(conncred.ENotFound, "no such session")
	}
	now := f.auth.Now()
	s.EndedAt = &now
	return nil
}

// lockedBuffer is a log sink the server writes from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is the whole server as serve wires it, every wing on, over SQLite
// on a fake clock, with the console mounted, behind TLS.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	clock    *clock.Fake
	auth     *authority.Authority
	store    *sqlite.Store
	sessions *fakeSessions
	baton    *baton.Service
	admin    conncred.Credential
	log      *lockedBuffer
	console  *Console
	// adminSecret is the bootstrap admin's, for its bearer token.
	adminSecret string
	realSignIn  bool
}

func newEnv(t testing.TB) *env { return newEnvWith(t, authority.Config{}, false) }

// newEnvReal is newEnv with package console's real sign-in Service behind
// the pages, links made by the API route as `conncred console` asks.
func newEnvReal(t testing.TB) *env { return newEnvWith(t, authority.Config{}, true) }

func newEnvWith(t testing.TB, acfg authority.Config, realSignIn bool) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(t0)
	logBuf := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := authority.New(ctx, acfg, st, clk, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	life := lifecycle.New(lifecycle.Config{}, a, st, clk)
	a.SetSourceGuard(life)
	pers := personal.New(a, st, life)
	pol, err := policy.New(policy.Config{}, a, st, clk)
	if err != nil {
		t.Fatal(err)
	}
	a.SetLifetimeLimiter(pol)
	a.SetScopeBindingPolicy(pol)
	fed := federation.New(federation.Config{PublicHost: a.PublicHost()}, st, a, clk, log)
	t.Cleanup(func() { fed.Close() })
	keys, err := webhook.NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	wh := webhook.New(webhook.Config{Targets: webhook.TargetPolicy{AllowLoopbackHTTP: true}}, st, keys, a, clk)
	arts, err := baton.NewDirStore(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	bsvc := baton.New(baton.Config{}, baton.Deps{Store: st, Artifacts: arts, Clock: clk, Log: log, Audit: a.RecordAudit})
	sess := newFakeSessions(a)
	signin := console.New(a, st, clk, console.Config{Log: log})
	var sessions Sessions = sess
	if realSignIn {
		sessions = signin
	}
	con := New(Config{Auth: a, Sessions: sessions, Baton: bsvc, Lifecycle: life, Policy: pol, Webhooks: wh, Personal: pers, Federation: fed, Clock: clk, Log: log})
	srv := httptest.NewUnstartedServer(server.New(server.Config{Clock: clk, AccessLog: true, Baton: bsvc, Lifecycle: life, Policy: pol,
		Webhooks: wh, Personal: pers, Federation: fed, Console: signin, ConsolePages: con}, a, log))
	srv.EnableHTTP2 = true
	// Chromium's first connections, before the tab is told to accept
	// httptest's certificate, fail their handshake: not worth a log line.
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	admin, sec, _, err := a.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, clock: clk, auth: a, store: st, sessions: sess, baton: bsvc, admin: admin, adminSecret: sec.Reveal(),
		log: logBuf, console: con, realSignIn: realSignIn}
}

// loginToken is a one-time sign-in token for the admin: from the fake, or,
// with the real Service, from POST /api/v1/console/login-links called with
// the admin's bearer token, as `conncred console` calls it.
func (e *env) loginToken() string {
	e.t.Helper()
	if !e.realSignIn {
		return e.sessions.link(e.admin)
	}
	ts, err := client.NewTokenSource(e.admin.ClientID, e.adminSecret, client.WithServerURL(e.srv.URL), client.WithHTTPClient(e.srv.Client()), client.WithClock(e.clock))
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+apitype.PathConsoleLoginLinks, strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out apitype.ConsoleLoginLinkResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("login link: %d %v", resp.StatusCode, err)
	}
	u, err := url.Parse(out.URL)
	if err != nil || u.Path != "/console/login" || u.Query().Get("token") == "" {
		e.t.Fatalf("login link URL %q is not /console/login?token=…", out.URL)
	}
	return u.Query().Get("token")
}

// adminCtx is a context that acts as the bootstrap admin, for setting up
// records through the authority.
func (e *env) adminCtx() context.Context {
	return conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindAdmin, CredentialID: e.admin.ID, ClientID: e.admin.ClientID})
}

// client is a browser-like client: a cookie jar, no redirects followed,
// and Sec-Fetch-Site: same-origin on every request, as a browser sends on
// the console's own forms.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	return &http.Client{Transport: sameOrigin{c.Transport}, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type sameOrigin struct{ rt http.RoundTripper }

func (s sameOrigin) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, set := r.Header["Sec-Fetch-Site"]; !set {
		r = r.Clone(r.Context())
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	return s.rt.RoundTrip(r)
}

// signIn signs c in through a fresh one-time link.
func (e *env) signIn(c *http.Client) {
	e.t.Helper()
	tok := e.loginToken()
	resp := e.post(c, "/console/login", url.Values{"token": {tok}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in: status %d, want 303", resp.StatusCode)
	}
}

type response struct {
	*http.Response
	Body string
}

func (e *env) do(c *http.Client, req *http.Request) response {
	e.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

func (e *env) get(c *http.Client, path string) response {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	return e.do(c, req)
}

func (e *env) post(c *http.Client, path string, form url.Values) response {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(c, req)
}

// hidden returns the value of the hidden input name in an HTML page.
func hidden(t testing.TB, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hidden input %q in the page", name)
	}
	return m[1]
}

// setup makes an app and a connector through the authority.
func (e *env) setup(appName, connName string) (conncred.App, conncred.Connector) {
	e.t.Helper()
	app, err := e.auth.CreateApp(e.adminCtx(), authority.AppInput{DisplayName: appName})
	if err != nil {
		e.t.Fatal(err)
	}
	cn, err := e.auth.CreateConnector(e.adminCtx(), app.ID, authority.ConnectorInput{DisplayName: connName})
	if err != nil {
		e.t.Fatal(err)
	}
	return app, cn
}
