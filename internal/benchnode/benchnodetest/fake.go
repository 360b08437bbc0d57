// Package benchnodetest is a fake conncred server for testing benchnode and
// the load generator without the real one: it serves the routes they use,
// checks every assertion as strictly as docs/PROTOCOL.md §3.1 describes the
// official clients' (so a generator that signs wrongly fails its tests), and
// counts what it served.
package benchnodetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred/secret"
)

// MaxPerConnector is the fake's cap on a connector's credentials, the real
// server's default.
const MaxPerConnector = 10

// Server is a running fake.
type Server struct {
	URL       string
	CAFile    string // PEM of the certificate to trust
	AdminFile string // admin credential {clientId, clientSecret}
	host      string // host:port of client ids
	ts        *httptest.Server

	mu         sync.Mutex
	keys       map[string]ed25519.PublicKey // client id → key
	nonces     map[string]bool
	tokens     map[string]string   // access token → client id
	connectors map[string][]string // connector id → its client ids
	apps       map[string]bool

	// Exchanges and APICalls count successful requests; HTTP2 counts
	// requests that arrived over HTTP/2.
	Exchanges, APICalls, HTTP2 atomic.Int64
}

// New starts a fake over TLS (with HTTP/2), with its files in a temp dir,
// and stops it when tb ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake over TLS (with HTTP/2) on 127.0.0.1 and writes its
// CA (ca.pem) and admin credential (admin-credential.json) into dir, as
// `conncred serve --dev` does into its data dir. Close stops it.
func Start(dir string) (*Server, error) {
	s := &Server{
		keys: map[string]ed25519.PublicKey{}, nonces: map[string]bool{}, tokens: map[string]string{},
		connectors: map[string][]string{}, apps: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/v1/token", s.token)
	mux.HandleFunc("GET /api/v1/auth/introspect", s.authed(s.introspect))
	mux.HandleFunc("POST /api/v1/apps", s.authed(s.createApp))
	mux.HandleFunc("POST /api/v1/apps/{app}/connectors", s.authed(s.createConnector))
	mux.HandleFunc("POST /api/v1/apps/connectors/credentials", s.authed(s.rotate))
	ts := httptest.NewUnstartedServer(mux)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	s.ts = ts
	s.URL = ts.URL
	s.host = strings.TrimPrefix(ts.URL, "https://")

	s.CAFile = filepath.Join(dir, "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, cert, 0o600); err != nil {
		ts.Close()
		return nil, err
	}
	id, sec, err := s.newCredential("pcc")
	if err != nil {
		ts.Close()
		return nil, err
	}
	b, _ := json.Marshal(map[string]string{"clientId": id, "clientSecret": sec})
	s.AdminFile = filepath.Join(dir, "admin-credential.json")
	if err := os.WriteFile(s.AdminFile, b, 0o600); err != nil {
		ts.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the fake.
func (s *Server) Close() { s.ts.Close() }

func (s *Server) newCredential(suffix string) (clientID, clientSecret string, err error) {
	pub, sec, err := secret.Generate()
	if err != nil {
		return "", "", err
	}
	id, err := secret.NewClientID(s.host, suffix)
	if err != nil {
		return "", "", err
	}
	s.mu.Lock()
	s.keys[id.String()] = pub
	s.mu.Unlock()
	return id.String(), sec.Reveal(), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 {
		s.HTTP2.Add(1)
	}
	if err := s.checkTokenRequest(r); err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": err.Error()})
		return
	}
	tok := randomHex(16)
	s.mu.Lock()
	s.tokens[tok] = r.PostForm.Get("client_id")
	s.mu.Unlock()
	s.Exchanges.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// checkTokenRequest holds the request to the exact shape of the official
// clients' (docs/PROTOCOL.md §3.1).
func (s *Server) checkTokenRequest(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		return fmt.Errorf("content type %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" || f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return fmt.Errorf("grant_type or client_assertion_type")
	}
	clientID := f.Get("client_id")
	parts := strings.Split(f.Get("client_assertion"), ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a compact JWS")
	}
	var hdr map[string]string
	if err := decodePart(parts[0], &hdr); err != nil || len(hdr) != 2 || hdr["alg"] != "EdDSA" || len(hdr["nonce"]) != 32 {
		return fmt.Errorf("header %v: want exactly alg EdDSA and a 32-hex-digit nonce", hdr)
	}
	if _, err := hex.DecodeString(hdr["nonce"]); err != nil {
		return fmt.Errorf("nonce is not hex")
	}
	var c struct {
		Iss, Sub      string
		Aud           []string
		Iat, Nbf, Exp int64
	}
	if err := decodePart(parts[1], &c); err != nil {
		return fmt.Errorf("claims: %v", err)
	}
	now := time.Now().Unix()
	switch {
	case c.Iss != clientID || c.Sub != clientID:
		return fmt.Errorf("iss/sub %q/%q, want %q", c.Iss, c.Sub, clientID)
	case len(c.Aud) != 1 || c.Aud[0] != "127.0.0.1":
		return fmt.Errorf("aud %v, want [127.0.0.1]", c.Aud)
	case c.Iat < now-5 || c.Iat > now+1 || c.Nbf != c.Iat-120 || c.Exp != c.Iat+120:
		return fmt.Errorf("iat %d nbf %d exp %d at %d", c.Iat, c.Nbf, c.Exp, now)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pub, ok := s.keys[clientID]
	if !ok || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return fmt.Errorf("unknown client or bad signature")
	}
	if s.nonces[hdr["nonce"]] {
		return fmt.Errorf("replayed nonce")
	}
	s.nonces[hdr["nonce"]] = true
	return nil
}

func decodePart(p string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// authed requires a bearer token the fake issued.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		_, known := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !known {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": "bad token"})
			return
		}
		h(w, r)
	}
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	s.APICalls.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"principleId": "p", "roles": []string{}})
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	id := randomHex(8)
	s.mu.Lock()
	s.apps[id] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"app": map[string]string{"id": id}})
}

func (s *Server) createConnector(w http.ResponseWriter, r *http.Request) {
	id := randomHex(8)
	s.mu.Lock()
	ok := s.apps[r.PathValue("app")]
	if ok {
		s.connectors[id] = nil
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 5, "message": "no such app"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"connectorView": map[string]any{"connector": map[string]string{"id": id}}})
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	var in struct{ AppID, ConnectorID string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 3, "message": err.Error()})
		return
	}
	id, sec, err := s.newCredential("ccc")
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": 13, "message": err.Error()})
		return
	}
	s.mu.Lock()
	have, ok := s.connectors[in.ConnectorID]
	ok = ok && s.apps[in.AppID]
	full := len(have) >= MaxPerConnector
	if ok && !full {
		s.connectors[in.ConnectorID] = append(have, id)
	} else {
		delete(s.keys, id)
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 5, "message": "no such connector"})
	case full:
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 9, "message": "connector full"}) // FAILED_PRECONDITION, as conncred answers the cap
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"credential":   map[string]string{"id": randomHex(8), "clientId": id},
			"clientSecret": sec,
		})
	}
}

// Credentials returns how many credentials each connector has.
func (s *Server) Credentials() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for id, ids := range s.connectors {
		out[id] = len(ids)
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
