package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/secret"
)

func decodePart(t *testing.T, s string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// TestAssertionMatchesTheOfficialClients compares the assertion this client
// signs with the one ConductorOne's Go SDK sent (testdata/interop): the same
// header members, the same claims, the same lifetimes.
func TestAssertionMatchesTheOfficialClients(t *testing.T) {
	raw, err := os.ReadFile("../testdata/interop/sdk-go-ccc.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Request      struct {
			Form map[string]string `json:"form"`
		} `json:"request"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	official := strings.Split(v.Request.Form["client_assertion"], ".")
	oh, oc := decodePart(t, official[0]), decodePart(t, official[1])

	clk := clock.NewFake(time.Unix(int64(oc["iat"].(float64)), 0))
	src, err := newAssertionSource(v.ClientID, v.ClientSecret, []Option{WithClock(clk)})
	if err != nil {
		t.Fatal(err)
	}
	as, err := src.Assertion()
	if err != nil {
		t.Fatal(err)
	}
	ours := strings.Split(as, ".")
	h, c := decodePart(t, ours[0]), decodePart(t, ours[1])
	if !reflect.DeepEqual(keys(h), keys(oh)) || h["alg"] != "EdDSA" || len(h["nonce"].(string)) != 32 {
		t.Fatalf("header %v, official %v", h, oh)
	}
	if h["nonce"] == oh["nonce"] {
		t.Fatal("nonce is not fresh")
	}
	delete(oh, "nonce")
	delete(h, "nonce")
	if !reflect.DeepEqual(c, oc) {
		t.Fatalf("claims %v, official %v", c, oc)
	}
	// And the signature verifies with the credential's public key.
	priv, _ := secret.Parse(v.ClientSecret)
	sig, _ := base64.RawURLEncoding.DecodeString(ours[2])
	if !ed25519.Verify(priv.Public().(ed25519.PublicKey), []byte(ours[0]+"."+ours[1]), sig) {
		t.Fatal("signature does not verify")
	}
}

func newCred(t *testing.T) (string, string) {
	t.Helper()
	_, s, err := secret.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return "brave-falcon-40213@c1.example.test:8443/ccc", s.Reveal()
}

func TestTokenIsReusedUntilNearExpiry(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
			r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			http.Error(w, "bad form", 400)
			return
		}
		c := decodePart(t, strings.Split(r.PostForm.Get("client_assertion"), ".")[1])
		if aud, _ := c["aud"].([]any); len(aud) != 1 || aud[0] != "127.0.0.1" {
			t.Errorf("aud %v: want [127.0.0.1] (the server host without port)", c["aud"])
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"tok","token_type":"Bearer","expires_in":60}`))
	}))
	defer srv.Close()
	id, sec := newCred(t)
	clk := clock.NewFake(time.Now())
	ts, err := NewTokenSource(id, sec, WithServerURL(srv.URL), WithHTTPClient(srv.Client()), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if tok, err := ts.Token(); err != nil || tok.AccessToken != "tok" {
			t.Fatalf("Token: %v %v", tok, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d token requests for three Token calls, want 1", n)
	}
}

func TestErrorsSayWhatHappenedWithoutSecrets(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/auth/") {
			if r.Header.Get("X-Fail") != "" {
				w.WriteHeader(401)
				w.Write([]byte(`{"error":"invalid_client","error_description":"this credential has been revoked"}`))
				return
			}
			w.Write([]byte(`{"access_token":"tok","token_type":"Bearer","expires_in":3600}`))
			return
		}
		w.WriteHeader(404)
		w.Write([]byte(`{"code":5,"message":"app \"x\" not found","details":[]}`))
	}))
	defer srv.Close()
	id, sec := newCred(t)
	c, err := New(id, sec, WithServerURL(srv.URL), WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetApp(context.Background(), "x")
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Code != 5 || !strings.Contains(err.Error(), `app "x" not found`) {
		t.Fatalf("GetApp error: %v", err)
	}
	if strings.Contains(err.Error(), sec) {
		t.Fatal("error carries the secret")
	}
	_, err = NewTokenSource("no-at-sign", sec)
	if err == nil || strings.Contains(err.Error(), sec) {
		t.Fatalf("bad client id: %v", err)
	}
	_, err = NewTokenSource(id, "secret-token:conncred:v1:AAAA")
	if err == nil || strings.Contains(err.Error(), "AAAA") {
		t.Fatalf("bad secret: %v", err)
	}
}

func TestNilSafeGetters(t *testing.T) {
	var c *ConnectorCredential
	if c.GetID() != nil || c.GetClientSecret() != nil || c.GetDeletedAt() != nil || c.GetLastUsedAt() != nil {
		t.Fatal("getters on a nil credential must return nil")
	}
}

// TestClientImportsNoServerCode keeps the client usable on its own: it must
// never depend on the authority, the server or a store.
func TestClientImportsNoServerCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/authority", "/server", "/store/", "/internal/e2e", "modernc.org/sqlite", "jackc/pgx"} {
			if strings.Contains(dep, "github.com/conncred/conncred"+banned) || strings.Contains(dep, banned) && !strings.HasPrefix(banned, "/") {
				t.Errorf("client depends on %s", dep)
			}
		}
	}
}
