package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	jose "github.com/go-jose/go-jose/v4"
)

// oidcIssuer is a minimal OIDC issuer on loopback (plain HTTP, which the
// test server's federation admits explicitly) with one EdDSA key.
type oidcIssuer struct {
	srv  *httptest.Server
	priv ed25519.PrivateKey
}

func newOIDCIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &oidcIssuer{priv: priv}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1", Algorithm: "EdDSA", Use: "sig"}}})
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

// token signs a GitHub-Actions-shaped token for aud at now.
func (i *oidcIssuer) token(aud string, now time.Time, repo string) string {
	h := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": "k1"}
	c := map[string]any{
		"iss": i.srv.URL, "aud": aud, "sub": "repo:" + repo + ":ref:refs/heads/main",
		"repository": repo, "ref": "refs/heads/main", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	return signWith(i.priv, h, c)
}

// sdkExchangeForm is the form the official SDK's token_exchange.go posts:
// exactly these four fields.
func sdkExchangeForm(clientID, subject string) string {
	return url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
		"client_id":          {clientID},
	}.Encode()
}

// TestTokenExchangeOverHTTP: the SDK's form, the RFC 8693 response, the
// token acting as the connector on the API, and the trust delete cutting
// it off.
func TestTokenExchangeOverHTTP(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	iss := newOIDCIssuer(t)
	appID, connID := e.setup()
	st, m := e.api("POST", apitype.PathTrusts, e.admin, map[string]any{
		"issuer": iss.srv.URL, "role": "connector", "appId": appID, "connectorId": connID,
		"condition": `claims.repository == "acme/connectors"`,
	})
	if st != 200 {
		t.Fatalf("create trust: %d %v", st, m)
	}
	trustID, clientID := str(m, "trust", "id"), str(m, "trust", "clientId")
	if !strings.HasSuffix(clientID, "/wfe") {
		t.Errorf("trust client id %q does not end in /wfe", clientID)
	}
	subject := iss.token(e.auth.Issuer(), e.clock.Now(), "acme/connectors")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	st, body := e.do("POST", apitype.PathToken, form, sdkExchangeForm(clientID, subject))
	if st != 200 {
		t.Fatalf("exchange: %d %s", st, body)
	}
	var tr map[string]any
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	if tr["token_type"] != "Bearer" || tr["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" {
		t.Errorf("response: got %v, want token_type Bearer and issued_token_type access_token", tr)
	}
	if n, ok := tr["expires_in"].(float64); !ok || n != float64(int(n)) || n < 1 || n > 300 {
		t.Errorf("expires_in: got %v, want an integer within the subject token's 5 minutes", tr["expires_in"])
	}
	access, _ := tr["access_token"].(string)

	st, m = e.api("GET", apitype.PathIntrospect, access, nil)
	if st != 200 || str(m, "connectorId") != connID || str(m, "clientId") != clientID {
		t.Fatalf("introspect with the exchanged token: %d %v; want connector %s as %s", st, m, connID, clientID)
	}
	if st, _ := e.api("GET", "/api/v1/apps", access, nil); st != http.StatusForbidden {
		t.Errorf("a connector trust's token listing apps: got %d, want 403", st)
	}

	// Refusals come back as RFC 6749 bodies.
	st, body = e.do("POST", apitype.PathToken, form, sdkExchangeForm(clientID, iss.token(e.auth.Issuer(), e.clock.Now(), "acme/other")))
	if st != 400 || !strings.Contains(string(body), `"invalid_grant"`) || !strings.Contains(string(body), "condition is false") {
		t.Errorf("condition false: got %d %s, want 400 invalid_grant naming the condition", st, body)
	}
	st, body = e.do("POST", apitype.PathToken, form, sdkExchangeForm("nobody-x-1@127.0.0.1:8443/wfe", subject))
	if st != 401 || !strings.Contains(string(body), `"invalid_client"`) {
		t.Errorf("unknown trust: got %d %s, want 401 invalid_client", st, body)
	}

	if st, m := e.api("DELETE", apitype.PathTrusts+"/"+trustID, e.admin, nil); st != 200 || str(m, "trust", "deletedAt") == "" {
		t.Fatalf("delete trust: %d %v", st, m)
	}
	if st, _ := e.api("GET", apitype.PathIntrospect, access, nil); st != http.StatusUnauthorized {
		t.Errorf("the exchanged token after its trust was deleted: got %d, want 401", st)
	}

	// The subject token is never logged nor audited. Token events are
	// counted per minute, and written once their minute is over.
	e.clock.Advance(2 * time.Minute)
	e.auth.Flush(t.Context())
	if strings.Contains(e.log.String(), subject) {
		t.Error("the log holds a subject token")
	}
	_, audit := e.api("GET", apitype.PathAudit+"?page_size=1000", e.admin, nil)
	b, _ := json.Marshal(audit)
	if strings.Contains(string(b), subject) || strings.Contains(string(b), access) {
		t.Error("the audit trail holds a subject or access token")
	}
	for _, kind := range []string{"trust.created", "trust.deleted", "token.issued", "token.refused"} {
		if !strings.Contains(string(b), `"`+kind+`"`) {
			t.Errorf("audit trail has no %s event", kind)
		}
	}
}
