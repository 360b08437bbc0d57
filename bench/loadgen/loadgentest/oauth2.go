// Package loadgentest is a fake of the OAuth2 server the load generator
// drives besides conncred (Ory Hydra v2): its admin API's client
// registration and a token endpoint that authenticates clients by
// private_key_jwt with ES256, as strictly as RFC 7523 and Hydra ask (kid,
// iss = sub = client id, aud naming the token endpoint, a jti never seen
// before, exp ahead), so a generator that signs wrongly fails its tests.
// The fake of conncred itself is internal/benchnode/benchnodetest.
package loadgentest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// OAuth2 is a running fake, over TLS with HTTP/2; its admin API is on the
// same address (Hydra's is on a port of its own).
type OAuth2 struct {
	URL      string // https://127.0.0.1:port
	TokenURL string // URL + /oauth2/token, the aud assertions must name
	CAFile   string // PEM of the certificate to trust
	ts       *httptest.Server

	mu      sync.Mutex
	clients map[string]map[string]*ecdsa.PublicKey // client id → kid → key
	jtis    map[string]bool

	// Exchanges counts tokens issued, Refused token requests refused.
	Exchanges, Refused atomic.Int64
}

// NewOAuth2 starts a fake and stops it when tb ends.
func NewOAuth2(tb testing.TB) *OAuth2 {
	tb.Helper()
	s := &OAuth2{clients: map[string]map[string]*ecdsa.PublicKey{}, jtis: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/clients", s.register)
	mux.HandleFunc("POST /oauth2/token", s.token)
	ts := httptest.NewUnstartedServer(mux)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	s.ts, s.URL, s.TokenURL = ts, ts.URL, ts.URL+"/oauth2/token"
	s.CAFile = filepath.Join(tb.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, cert, 0o600); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Clients returns how many clients are registered.
func (s *OAuth2) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type jwk struct {
	Kty, Crv, Alg, Use, Kid, X, Y string
}

// register takes a client as the generator registers it and nothing else:
// client_credentials, private_key_jwt with ES256, one P-256 key.
func (s *OAuth2) register(w http.ResponseWriter, r *http.Request) {
	var c struct {
		GrantTypes     []string `json:"grant_types"`
		AuthMethod     string   `json:"token_endpoint_auth_method"`
		AuthSigningAlg string   `json:"token_endpoint_auth_signing_alg"`
		JWKS           struct {
			Keys []jwk `json:"keys"`
		} `json:"jwks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_metadata", "error_description": err.Error()})
		return
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range c.JWKS.Keys {
		pub, err := publicKey(k)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_metadata", "error_description": err.Error()})
			return
		}
		keys[k.Kid] = pub
	}
	if !slices.Equal(c.GrantTypes, []string{"client_credentials"}) || c.AuthMethod != "private_key_jwt" || c.AuthSigningAlg != "ES256" || len(keys) != 1 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_metadata", "error_description": "want client_credentials, private_key_jwt, ES256 and one key"})
		return
	}
	id := randomHex(8)
	s.mu.Lock()
	s.clients[id] = keys
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"client_id": id, "token_endpoint_auth_method": "private_key_jwt"})
}

// publicKey decodes an ES256 public JWK.
func publicKey(k jwk) (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || k.Crv != "P-256" || k.Alg != "ES256" || k.Kid == "" {
		return nil, fmt.Errorf("key %+v: want an EC P-256 ES256 key with a kid", k)
	}
	x, err1 := base64.RawURLEncoding.DecodeString(k.X)
	y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
	if err := errors.Join(err1, err2); err != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("key %s: bad coordinates", k.Kid)
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
}

func (s *OAuth2) token(w http.ResponseWriter, r *http.Request) {
	if err := s.checkTokenRequest(r); err != nil {
		s.Refused.Add(1)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": err.Error()})
		return
	}
	s.Exchanges.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "ory_at_" + randomHex(16), "token_type": "bearer", "expires_in": 3599})
}

func (s *OAuth2) checkTokenRequest(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" || f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return errors.New("grant_type or client_assertion_type")
	}
	parts := strings.Split(f.Get("client_assertion"), ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	var hdr map[string]string
	if err := decodePart(parts[0], &hdr); err != nil || hdr["alg"] != "ES256" || hdr["kid"] == "" {
		return fmt.Errorf("header %v: want alg ES256 and a kid", hdr)
	}
	var c struct {
		Iss, Sub, Jti string
		Aud           any // a string or an array, as RFC 7519 allows
		Iat, Exp      int64
	}
	if err := decodePart(parts[1], &c); err != nil {
		return fmt.Errorf("claims: %v", err)
	}
	now := time.Now().Unix()
	switch {
	case c.Iss == "" || c.Iss != c.Sub || (f.Get("client_id") != "" && f.Get("client_id") != c.Iss):
		return fmt.Errorf("iss/sub/client_id %q/%q/%q", c.Iss, c.Sub, f.Get("client_id"))
	case !audienceIs(c.Aud, s.TokenURL):
		return fmt.Errorf("aud %v, want %s", c.Aud, s.TokenURL)
	case c.Jti == "":
		return errors.New("no jti")
	case c.Exp <= now || c.Iat > now+5:
		return fmt.Errorf("iat %d exp %d at %d", c.Iat, c.Exp, now)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("signature: want 64 bytes r || s")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pub := s.clients[c.Iss][hdr["kid"]]
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if pub == nil || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("unknown client or key, or bad signature")
	}
	if s.jtis[c.Jti] {
		return errors.New("jti used before")
	}
	s.jtis[c.Jti] = true
	return nil
}

func audienceIs(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.Contains(a, any(want))
	}
	return false
}

func decodePart(p string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
