package federation

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/store/sqlite"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testIssuer is a real OIDC issuer on loopback: a TLS server with a
// discovery document and a JWKS, keys that can be rotated, and a switch that
// takes it down. It counts the JWKS fetches.
type testIssuer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]testKey // kid -> key, published
	down     bool
	jwksHits atomic.Int64
}

type testKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	iss := &testIssuer{keys: map[string]testKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if iss.isDown() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss.url(), "jwks_uri": iss.url() + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		iss.jwksHits.Add(1)
		if iss.isDown() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		iss.mu.Lock()
		var set jose.JSONWebKeySet
		for kid, k := range iss.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: kid, Algorithm: string(k.alg), Use: "sig"})
		}
		iss.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA} {
		iss.addKey(t, string(alg)+"-1", alg)
	}
	return iss
}

func (i *testIssuer) url() string { return i.srv.URL }

func (i *testIssuer) isDown() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.down
}

func (i *testIssuer) setDown(d bool) {
	i.mu.Lock()
	i.down = d
	i.mu.Unlock()
}

func newSigner(t testing.TB, alg jose.SignatureAlgorithm) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// addKey publishes a new key; removeKey unpublishes one (rotation).
func (i *testIssuer) addKey(t testing.TB, kid string, alg jose.SignatureAlgorithm) {
	t.Helper()
	k := newSigner(t, alg)
	i.mu.Lock()
	i.keys[kid] = testKey{alg: alg, priv: k}
	i.mu.Unlock()
}

func (i *testIssuer) removeKey(kid string) {
	i.mu.Lock()
	delete(i.keys, kid)
	i.mu.Unlock()
}

// sign signs claims with the published key kid.
func (i *testIssuer) sign(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	i.mu.Lock()
	k, ok := i.keys[kid]
	i.mu.Unlock()
	if !ok {
		t.Fatalf("no key %q", kid)
	}
	return signWith(t, k.alg, k.priv, kid, claims)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Claim sets shaped like the real platforms' tokens (their claim names),
// issued at now for audience aud.

func githubClaims(iss, aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "aud": aud, "sub": "repo:acme/connectors:ref:refs/heads/main",
		"jti": "6f4b8c2e", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"ref": "refs/heads/main", "ref_type": "branch", "sha": "e2a1c0f", "repository": "acme/connectors",
		"repository_owner": "acme", "repository_id": "123456", "repository_owner_id": "654321",
		"repository_visibility": "private", "run_id": "9876543210", "run_number": "42", "run_attempt": "1",
		"actor": "octocat", "actor_id": "583231", "workflow": "sync", "event_name": "push",
		"workflow_ref":       "acme/connectors/.github/workflows/sync.yml@refs/heads/main",
		"job_workflow_ref":   "acme/connectors/.github/workflows/sync.yml@refs/heads/main",
		"runner_environment": "github-hosted", "environment": "production",
	}
}

func gitlabClaims(iss, aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "aud": aud, "sub": "project_path:acme/connectors:ref_type:branch:ref:main",
		"jti": "a1b2", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"namespace_id": "72", "namespace_path": "acme", "project_id": "20", "project_path": "acme/connectors",
		"user_id": "1", "user_login": "sync-bot", "pipeline_id": "574", "pipeline_source": "push",
		"job_id": "302", "ref": "main", "ref_type": "branch", "ref_protected": "true",
		"environment": "production", "environment_protected": "true", "runner_environment": "gitlab-hosted",
	}
}

func kubernetesClaims(iss, aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "aud": []string{aud}, "sub": "system:serviceaccount:sync:baton-okta",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      "sync",
			"serviceaccount": map[string]any{"name": "baton-okta", "uid": "c1f0e7a4"},
			"pod":            map[string]any{"name": "baton-okta-7d9f", "uid": "9a8b"},
			"node":           map[string]any{"name": "node-1", "uid": "44aa"},
		},
	}
}

func terraformClaims(iss, aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "aud": aud, "sub": "organization:acme:project:Default Project:workspace:conncred:run_phase:apply",
		"jti": "tf-1", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(90 * time.Minute).Unix(),
		"terraform_organization_name": "acme", "terraform_project_name": "Default Project",
		"terraform_workspace_name": "conncred", "terraform_run_phase": "apply", "terraform_full_workspace": "organization:acme:project:Default Project:workspace:conncred",
	}
}

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

// fixture is a federation Service over a real authority and SQLite store,
// on a fake clock, trusting a loopback issuer.
type fixture struct {
	svc    *Service
	auth   *authority.Authority
	store  *sqlite.Store
	clock  *clock.Fake
	issuer *testIssuer
	admin  context.Context
	aud    string // the default audience (the server's URL)
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(t0)
	a, err := authority.New(ctx, authority.Config{PublicHost: "127.0.0.1:8443"}, st, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	iss := newTestIssuer(t)
	svc := New(Config{PublicHost: "127.0.0.1:8443", Keys: KeyConfig{HTTPClient: iss.srv.Client()}}, st, a, clk, nil)
	t.Cleanup(func() { svc.Close() })
	return &fixture{svc: svc, auth: a, store: st, clock: clk, issuer: iss, admin: conncred.WithPrincipal(ctx, conncred.System), aud: a.Issuer()}
}

// connector makes an app and a connector.
func (f *fixture) connector(t testing.TB) conncred.Connector {
	t.Helper()
	app, err := f.auth.CreateApp(f.admin, authority.AppInput{DisplayName: "Okta"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.auth.CreateConnector(f.admin, app.ID, authority.ConnectorInput{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trust creates a connector trust on the test issuer with cond.
func (f *fixture) trust(t testing.TB, cond string, edit ...func(*TrustInput)) Trust {
	t.Helper()
	c := f.connector(t)
	in := TrustInput{Issuer: f.issuer.url(), Condition: cond, Role: RoleConnector, AppID: c.AppID, ConnectorID: c.ID}
	for _, e := range edit {
		e(&in)
	}
	tr, err := f.svc.CreateTrust(f.admin, in)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (f *fixture) exchange(tr Trust, subject string) (ExchangeResult, error) {
	return f.svc.Exchange(context.Background(), ExchangeRequest{ClientID: tr.ClientID, SubjectToken: subject, SubjectTokenType: TokenTypeJWT})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func b64json(v any) string { return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(v))) }
