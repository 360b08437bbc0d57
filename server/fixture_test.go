package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/dpop"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/secret"
	"github.com/conncred/conncred/store/sqlite"
	"github.com/conncred/conncred/wfe"
)

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

// env is a server over a real authority and SQLite store on a fake clock.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	clock   *clock.Fake
	auth    *authority.Authority
	store   conncred.Store
	log     *lockedBuffer
	admin   string // admin access token
	secrets []string
}

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

func newEnv(t testing.TB, cfg Config, acfg authority.Config) *env {
	return newEnvWith(t, cfg, acfg, false)
}

// newEnvWith starts the server over plain HTTP, or over TLS with HTTP/2
// (as real clients reach it) when tls is set.
func newEnvWith(t testing.TB, cfg Config, acfg authority.Config, tls bool) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conncred.db"))
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
	cfg.Clock = clk
	withLifecycle(&cfg, a, st, clk)
	withPolicy(t, &cfg, a, st, clk)
	if cfg.Federation == nil {
		// Trusted issuers in these tests are plain-HTTP servers on
		// loopback, which only this explicit option admits.
		fed := federation.New(federation.Config{PublicHost: a.PublicHost(), Keys: federation.KeyConfig{AllowInsecureLoopback: true}}, st, a, clk, log)
		t.Cleanup(func() { fed.Close() })
		cfg.Federation = fed
	}
	if cfg.Wfe == nil {
		cfg.Wfe = wfe.New(st, cfg.Federation, a, log)
	}
	withDPoP(&cfg, st, a, clk)
	withWebhooks(&cfg, st, a, clk)
	withConsole(&cfg, st, a, clk)
	srv := httptest.NewUnstartedServer(New(cfg, a, log))
	if tls {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, clock: clk, auth: a, store: st, log: logBuf}
	cred, sec, _, err := a.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, sec.Reveal())
	e.admin = e.token(cred.ClientID, sec.Reveal())
	return e
}

// withDPoP turns DPoP on as serve does, unless the test brought its own
// verifier: clients that send no proof see no difference.
func withDPoP(cfg *Config, st *sqlite.Store, a *authority.Authority, clk *clock.Fake) {
	if cfg.DPoP == nil {
		cfg.DPoP = dpop.NewVerifier(dpop.Config{}, st, clk)
	}
	if cfg.DPoPPolicy == nil {
		cfg.DPoPPolicy = dpop.NewPolicy(st, a, clk)
		a.SetBindingPolicy(cfg.DPoPPolicy)
	}
}

// assertion signs an assertion as the official clients do.
func assertion(t testing.TB, clientID, secretText string, now time.Time, edit func(h, c map[string]any)) string {
	t.Helper()
	priv, err := secret.Parse(secretText)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	h := map[string]any{"alg": "EdDSA", "nonce": hex.EncodeToString(nonce)}
	c := map[string]any{"iss": clientID, "sub": clientID, "aud": []string{"127.0.0.1"},
		"iat": now.Unix(), "nbf": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(2 * time.Minute).Unix()}
	if edit != nil {
		edit(h, c)
	}
	return signWith(priv, h, c)
}

func signWith(priv ed25519.PrivateKey, h, c any) string {
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

func tokenForm(clientID, assertion string) url.Values {
	return url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	}
}

// token exchanges a credential for an access token.
func (e *env) token(clientID, secretText string) string {
	e.t.Helper()
	st, body := e.do("POST", "/auth/v1/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		tokenForm(clientID, assertion(e.t, clientID, secretText, e.clock.Now(), nil)).Encode())
	if st != http.StatusOK {
		e.t.Fatalf("token: %d %s", st, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(body, &tr)
	return tr.AccessToken
}

// do sends a raw request and returns status and body.
func (e *env) do(method, path string, headers map[string]string, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	// Every API error any test provokes must carry the HTTP status its
	// google.rpc code maps to.
	checkAPIError(e.t, method, path, resp.StatusCode, b)
	return resp.StatusCode, b
}

// api sends an authenticated JSON request and decodes the answer.
func (e *env) api(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var s string
	if body != nil {
		b, _ := json.Marshal(body)
		s = string(b)
	}
	h := map[string]string{"Authorization": "Bearer " + token}
	if body != nil {
		h["Content-Type"] = "application/json"
	}
	st, b := e.do(method, path, h, s)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("%s %s: %d, body not a JSON object: %q", method, path, st, b)
	}
	return st, m
}

// setup makes an app and a connector and returns their ids.
func (e *env) setup() (appID, connID string) {
	e.t.Helper()
	st, m := e.api("POST", "/api/v1/apps", e.admin, map[string]any{"displayName": "Okta"})
	if st != 200 {
		e.t.Fatalf("create app: %d %v", st, m)
	}
	appID = str(m, "app", "id")
	st, m = e.api("POST", "/api/v1/apps/"+appID+"/connectors", e.admin, map[string]any{})
	if st != 200 {
		e.t.Fatalf("create connector: %d %v", st, m)
	}
	return appID, str(m, "connectorView", "connector", "id")
}

// rotate adds a credential and returns its id, client id and secret.
func (e *env) rotate(appID, connID string) (id, clientID, sec string) {
	e.t.Helper()
	st, m := e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"appId": appID, "connectorId": connID})
	if st != 200 {
		e.t.Fatalf("rotate: %d %v", st, m)
	}
	sec = str(m, "clientSecret")
	e.secrets = append(e.secrets, sec)
	return str(m, "credential", "id"), str(m, "credential", "clientId"), sec
}

// str digs a string out of decoded JSON.
func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

// withLifecycle registers the lifecycle wing as serve does, unless cfg
// has one already: its routes, and its source guard on the authority.
func withLifecycle(cfg *Config, a *authority.Authority, st lifecycle.Store, clk clock.Clock) {
	if cfg.Lifecycle == nil {
		cfg.Lifecycle = lifecycle.New(lifecycle.Config{}, a, st, clk)
		a.SetSourceGuard(cfg.Lifecycle)
	}
	if ps, ok := st.(personal.Store); ok && cfg.Personal == nil {
		cfg.Personal = personal.New(a, ps, cfg.Lifecycle)
	}
}
