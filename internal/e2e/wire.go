package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/internal/hostport"
	"github.com/conncred/conncred/secret"
)

// Credential is a client id and its secret, as the admin file holds them.
type Credential struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// AdminCredential reads the bootstrap admin file of a data dir.
func AdminCredential(t testing.TB, dataDir string) Credential {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-credential.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c Credential
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// Assertion signs a client assertion exactly as ConductorOne's clients do,
// built here by hand so the tests do not lean on conncred's own client.
func Assertion(t testing.TB, c Credential, now time.Time) string {
	t.Helper()
	priv, err := secret.Parse(c.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	id, err := secret.ParseClientID(c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	aud := hostport.Audience(id.Host)
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	hdr, _ := json.Marshal(map[string]string{"alg": "EdDSA", "nonce": hex.EncodeToString(nonce)})
	claims, _ := json.Marshal(map[string]any{
		"iss": c.ClientID, "sub": c.ClientID, "aud": []string{aud},
		"iat": now.Unix(), "nbf": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(2 * time.Minute).Unix(),
	})
	enc := base64.RawURLEncoding
	in := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	return in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

// TokenRequest posts an assertion to baseURL's token endpoint and returns
// the status and decoded body.
func TokenRequest(t testing.TB, hc *http.Client, baseURL, clientID, assertion string) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	resp, err := hc.PostForm(baseURL+"/auth/v1/token", form)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	return decode(t, resp)
}

// Token exchanges c for an access token at baseURL, failing the test if it
// is refused.
func Token(t testing.TB, hc *http.Client, baseURL string, c Credential) string {
	t.Helper()
	status, body := TokenRequest(t, hc, baseURL, c.ClientID, Assertion(t, c, time.Now()))
	tok, _ := body["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %v", status, body)
	}
	return tok
}

// Call sends a JSON API request with a bearer token and returns the status
// and decoded body.
func Call(t testing.TB, hc *http.Client, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return decode(t, resp)
}

func decode(t testing.TB, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("status %d, body is not JSON: %q", resp.StatusCode, truncate(string(b)))
		}
	}
	return resp.StatusCode, m
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return strings.TrimSpace(s)
}

// Get returns m[k1][k2]... as a string ("" when absent).
func Get(m map[string]any, path ...string) string {
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

// decodeQuiet decodes a JSON response body, returning nil on any failure.
func decodeQuiet(resp *http.Response) (int, map[string]any) {
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&m)
	return resp.StatusCode, m
}
