package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/dpop"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
)

// send sends a raw request and returns the response (body read) and body.
func (e *env) send(method, path string, headers map[string]string, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
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
	return resp, b
}

// signer is a client's DPoP key; its proofs carry the server's (fake) time.
func (e *env) signer() *dpop.Signer {
	e.t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := dpop.NewSigner(priv, e.clock)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// memReplay is the replay store's contract in memory.
type memReplay struct {
	mu   sync.Mutex
	used map[string]bool
}

func (m *memReplay) UseAssertion(_ context.Context, key string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.used == nil {
		m.used = map[string]bool{}
	}
	if m.used[key] {
		return conncred.Errorf(conncred.EConflict, "used")
	}
	m.used[key] = true
	return nil
}

func (e *env) proof(s *dpop.Signer, method, path, token, nonce string) string {
	e.t.Helper()
	// Clients sign for the server's public URL (its issuer), which is
	// all htu may name; the test server's own address is not it.
	p, err := s.Proof(method, e.auth.Issuer()+path, token, nonce)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// dpopTokenResp asks for a token with a proof by s.
// proofFor makes a proof for an explicit URL.
func (e *env) proofFor(s *dpop.Signer, method, url, token string) string {
	e.t.Helper()
	p, err := s.Proof(method, url, token, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) dpopTokenResp(clientID, sec string, s *dpop.Signer, nonce string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, b := e.send("POST", apitype.PathToken, map[string]string{
		"Content-Type": "application/x-www-form-urlencoded",
		"DPoP":         e.proof(s, "POST", apitype.PathToken, "", nonce),
	}, tokenForm(clientID, assertion(e.t, clientID, sec, e.clock.Now(), nil)).Encode())
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("token: %d, body not JSON: %q", resp.StatusCode, b)
	}
	return resp, m
}

// cnfJKT reads the cnf.jkt of an access token (no verification).
func cnfJKT(t testing.TB, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Cnf.JKT
}

// boundToken makes a connector credential and a DPoP-bound token for it.
func (e *env) boundToken(s *dpop.Signer) (credID, clientID, sec, token string) {
	e.t.Helper()
	appID, connID := e.setup()
	credID, clientID, sec = e.rotate(appID, connID)
	resp, m := e.dpopTokenResp(clientID, sec, s, "")
	if resp.StatusCode != 200 {
		e.t.Fatalf("token with a proof: %d %v", resp.StatusCode, m)
	}
	if got, want := str(m, "token_type"), "DPoP"; got != want {
		e.t.Errorf("token_type = %q, want %q", got, want)
	}
	token = str(m, "access_token")
	if got, want := cnfJKT(e.t, token), s.Thumbprint(); got != want {
		e.t.Errorf("cnf.jkt = %q, want the proof key's thumbprint %q", got, want)
	}
	return credID, clientID, sec, token
}

func TestDPoPBoundTokenOnTheAPI(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	s := e.signer()
	_, clientID, _, token := e.boundToken(s)
	path := apitype.PathIntrospect
	call := func(scheme, proof string) (*http.Response, map[string]any) {
		t.Helper()
		h := map[string]string{"Authorization": scheme + " " + token}
		if proof != "" {
			h["DPoP"] = proof
		}
		resp, b := e.send("GET", path, h, "")
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return resp, m
	}

	resp, m := call("DPoP", e.proof(s, "GET", path, token, ""))
	if resp.StatusCode != 200 || str(m, "clientId") != clientID {
		t.Fatalf("DPoP call: %d %v, want 200 as %s", resp.StatusCode, m, clientID)
	}

	other := e.signer()
	replayed := e.proof(s, "GET", path, token, "")
	if resp, m := call("DPoP", replayed); resp.StatusCode != 200 {
		t.Fatalf("fresh proof: %d %v", resp.StatusCode, m)
	}
	tests := []struct {
		name, scheme, proof, wantErr string
	}{
		{"bound token sent as Bearer", "Bearer", "", "invalid_token"},
		{"bound token sent as Bearer with a proof", "Bearer", e.proof(s, "GET", path, token, ""), "invalid_token"},
		{"no proof", "DPoP", "", dpop.ErrInvalidProof},
		{"replayed proof", "DPoP", replayed, dpop.ErrInvalidProof},
		{"proof for another key", "DPoP", e.proof(other, "GET", path, token, ""), dpop.ErrInvalidProof},
		{"wrong htm", "DPoP", e.proof(s, "POST", path, token, ""), dpop.ErrInvalidProof},
		{"wrong htu", "DPoP", e.proof(s, "GET", "/api/v1/apps", token, ""), dpop.ErrInvalidProof},
		// The Host header is the sender's to choose: a proof made for the
		// address the request arrived at, not the public URL, could have been
		// made for another server and replayed here.
		{"htu of the arrival address, not the public URL", "DPoP", e.proofFor(s, "GET", e.srv.URL+path, token), dpop.ErrInvalidProof},
		{"no ath", "DPoP", e.proof(s, "GET", path, "", ""), dpop.ErrInvalidProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := call(tt.scheme, tt.proof)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d (%v), want 401", resp.StatusCode, m)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "DPoP ") || !strings.Contains(got, `error="`+tt.wantErr+`"`) {
				t.Errorf("WWW-Authenticate = %q, want a DPoP challenge with error=%q", got, tt.wantErr)
			}
			if strings.Contains(resp.Header.Get("WWW-Authenticate"), token) || strings.Contains(str(m, "message"), token) {
				t.Errorf("the refusal quotes the token")
			}
		})
	}

	// A stolen bound token is useless after the proof's window, too: the
	// thief cannot make a proof, and a captured one goes stale.
	captured := e.proof(s, "GET", path, token, "")
	e.clock.Advance(2 * time.Minute)
	if resp, _ := call("DPoP", captured); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a captured proof two minutes on: %d, want 401", resp.StatusCode)
	}
}

func TestDPoPBearerKeepsWorking(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	resp, b := e.send("POST", apitype.PathToken, map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), nil)).Encode())
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if resp.StatusCode != 200 || str(m, "token_type") != "Bearer" {
		t.Fatalf("token without a proof: %d %v, want a Bearer token", resp.StatusCode, m)
	}
	token := str(m, "access_token")
	if got := cnfJKT(t, token); got != "" {
		t.Errorf("a Bearer token carries cnf.jkt %q", got)
	}
	if st, m := e.api("GET", apitype.PathIntrospect, token, nil); st != 200 {
		t.Errorf("Bearer call: %d %v", st, m)
	}
	// An unbound token sent under the DPoP scheme is refused: it names
	// no key to check a proof against.
	s := e.signer()
	resp, _ = e.send("GET", apitype.PathIntrospect, map[string]string{"Authorization": "DPoP " + token, "DPoP": e.proof(s, "GET", apitype.PathIntrospect, token, "")}, "")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("unbound token as DPoP: %d %q, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestDPoPTokenRequestRefusals(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	s := e.signer()
	form := func() string { return tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), nil)).Encode() }
	tests := []struct{ name, proof string }{
		{"proof for another endpoint", e.proof(s, "POST", "/api/v1/apps", "", "")},
		{"wrong htm", e.proof(s, "GET", apitype.PathToken, "", "")},
		{"not a JWS", "garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.send("POST", apitype.PathToken, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "DPoP": tt.proof}, form())
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if resp.StatusCode != 400 || str(m, "error") != dpop.ErrInvalidProof {
				t.Errorf("got %d %v, want 400 invalid_dpop_proof", resp.StatusCode, m)
			}
		})
	}
}

func TestDPoPNonceFlow(t *testing.T) {
	key := []byte("a test nonce key of 32 bytes....")
	v := dpop.NewVerifier(dpop.Config{NonceKey: key}, &memReplay{}, clock.NewFake(t0))
	e := newEnv(t, Config{DPoP: v}, authority.Config{})
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	s := e.signer()

	resp, m := e.dpopTokenResp(clientID, sec, s, "")
	if resp.StatusCode != 400 || str(m, "error") != dpop.ErrUseNonce {
		t.Fatalf("token request without a nonce: %d %v, want 400 use_dpop_nonce", resp.StatusCode, m)
	}
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("use_dpop_nonce without a DPoP-Nonce header")
	}
	resp, m = e.dpopTokenResp(clientID, sec, s, nonce)
	if resp.StatusCode != 200 || str(m, "token_type") != "DPoP" {
		t.Fatalf("token request with the nonce: %d %v", resp.StatusCode, m)
	}
	if got := resp.Header.Get("DPoP-Nonce"); got != nonce {
		t.Errorf("token response DPoP-Nonce = %q, want %q", got, nonce)
	}
	token := str(m, "access_token")
	// At the API, a proof without the nonce is a use_dpop_nonce challenge.
	resp, _ = e.send("GET", apitype.PathIntrospect, map[string]string{"Authorization": "DPoP " + token, "DPoP": e.proof(s, "GET", apitype.PathIntrospect, token, "")}, "")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) || resp.Header.Get("DPoP-Nonce") != nonce {
		t.Errorf("API call without the nonce: %d %q nonce %q, want 401 use_dpop_nonce with the nonce", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("DPoP-Nonce"))
	}
	resp, _ = e.send("GET", apitype.PathIntrospect, map[string]string{"Authorization": "DPoP " + token, "DPoP": e.proof(s, "GET", apitype.PathIntrospect, token, nonce)}, "")
	if resp.StatusCode != 200 {
		t.Errorf("API call with the nonce: %d", resp.StatusCode)
	}
}

func TestDPoPRequiredByCredential(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	path := strings.Replace(apitype.PathCredentialDPoP, "{id}", credID, 1)
	if st, m := e.api("POST", path, e.admin, map[string]any{}); st != 400 {
		t.Errorf("set without requireDpop: %d %v, want 400", st, m)
	}
	if st, m := e.api("POST", path, e.admin, map[string]any{"requireDpop": true}); st != 200 || m["requireDpop"] != true {
		t.Fatalf("require DPoP: %d %v", st, m)
	}
	if st, m := e.api("GET", path, e.admin, nil); st != 200 || m["requireDpop"] != true {
		t.Errorf("get: %d %v", st, m)
	}
	resp, b := e.send("POST", apitype.PathToken, map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), nil)).Encode())
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if resp.StatusCode != 400 || str(m, "error") != dpop.ErrInvalidProof {
		t.Fatalf("token request without a proof: %d %v, want 400 invalid_dpop_proof", resp.StatusCode, m)
	}
	s := e.signer()
	if resp, m := e.dpopTokenResp(clientID, sec, s, ""); resp.StatusCode != 200 || str(m, "token_type") != "DPoP" {
		t.Errorf("token request with a proof: %d %v", resp.StatusCode, m)
	}
	// A connector may not lift its own requirement.
	token := e.token(e.rotateAdminless(appID, connID))
	if st, _ := e.api("POST", path, token, map[string]any{"requireDpop": false}); st != http.StatusForbidden {
		t.Errorf("a connector lifting the flag: %d, want 403", st)
	}
	found := false
	for _, ev := range auditEvents(t, e) {
		if ev.Kind == dpop.AuditCredentialDPoP && ev.CredentialID == credID {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s audit event for %s", dpop.AuditCredentialDPoP, credID)
	}
}

// rotateAdminless adds a credential (not requiring DPoP) and returns its
// client id and secret.
func (e *env) rotateAdminless(appID, connID string) (string, string) {
	_, clientID, sec := e.rotate(appID, connID)
	return clientID, sec
}

func auditEvents(t *testing.T, e *env) []conncred.AuditEvent {
	t.Helper()
	e.auth.Flush(t.Context())
	evs, err := e.store.ListAudit(t.Context(), conncred.AuditFilter{Kind: dpop.AuditCredentialDPoP, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestDPoPTrustExchange(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	iss := newOIDCIssuer(t)
	appID, connID := e.setup()
	st, m := e.api("POST", apitype.PathTrusts, e.admin, map[string]any{
		"issuer": iss.srv.URL, "role": "connector", "appId": appID, "connectorId": connID,
		"condition": `claims.repository == "acme/connectors"`, "requireDpop": true,
	})
	if st != 200 {
		t.Fatalf("create trust: %d %v", st, m)
	}
	clientID := str(m, "trust", "clientId")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	subject := iss.token(e.auth.Issuer(), e.clock.Now(), "acme/connectors")
	resp, b := e.send("POST", apitype.PathToken, form, sdkExchangeForm(clientID, subject))
	if resp.StatusCode != 400 || !strings.Contains(string(b), dpop.ErrInvalidProof) {
		t.Fatalf("exchange without a proof through a requireDpop trust: %d %s, want 400 invalid_dpop_proof", resp.StatusCode, b)
	}
	s := e.signer()
	form["DPoP"] = e.proof(s, "POST", apitype.PathToken, "", "")
	resp, b = e.send("POST", apitype.PathToken, form, sdkExchangeForm(clientID, subject))
	var tr map[string]any
	_ = json.Unmarshal(b, &tr)
	if resp.StatusCode != 200 || str(tr, "token_type") != "DPoP" {
		t.Fatalf("exchange with a proof: %d %s", resp.StatusCode, b)
	}
	token := str(tr, "access_token")
	if got, want := cnfJKT(t, token), s.Thumbprint(); got != want {
		t.Errorf("cnf.jkt = %q, want %q", got, want)
	}
	resp, _ = e.send("GET", apitype.PathIntrospect, map[string]string{"Authorization": "DPoP " + token, "DPoP": e.proof(s, "GET", apitype.PathIntrospect, token, "")}, "")
	if resp.StatusCode != 200 {
		t.Errorf("API call with the trust's bound token: %d", resp.StatusCode)
	}
	resp, _ = e.send("GET", apitype.PathIntrospect, map[string]string{"Authorization": "Bearer " + token}, "")
	if resp.StatusCode != 401 {
		t.Errorf("the trust's bound token as Bearer: %d, want 401", resp.StatusCode)
	}
}

// dpopInterceptor sends a bound token with a fresh proof per call, as
// conncred's client does.
type dpopInterceptor struct {
	token string
	s     *dpop.Signer
	base  string
}

func (d dpopInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		p, err := d.s.Proof("POST", d.base+req.Spec().Procedure, d.token, "")
		if err != nil {
			return nil, err
		}
		req.Header().Set("Authorization", "DPoP "+d.token)
		req.Header().Set("DPoP", p)
		return next(ctx, req)
	}
}

func (d dpopInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (d dpopInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func TestDPoPBatonService(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	s := e.signer()
	_, _, _, token := e.boundToken(s)
	c := batonv1connect.NewBatonServiceClient(freshConn{e.srv}, e.srv.URL, connect.WithGRPC(),
		connect.WithInterceptors(dpopInterceptor{token: token, s: s, base: e.auth.Issuer()}))
	if _, err := c.Hello(context.Background(), connect.NewRequest(hello("host-1"))); err != nil {
		t.Fatalf("Hello with DPoP: %v", err)
	}
	_, err := e.client(token).Hello(context.Background(), connect.NewRequest(hello("host-1")))
	wantRPCCode(t, "Hello with the bound token as Bearer", err, connect.CodeUnauthenticated)
	other := e.signer()
	c = batonv1connect.NewBatonServiceClient(freshConn{e.srv}, e.srv.URL, connect.WithGRPC(),
		connect.WithInterceptors(dpopInterceptor{token: token, s: other, base: e.auth.Issuer()}))
	_, err = c.GetTask(context.Background(), connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "host-1"}))
	wantRPCCode(t, "GetTask with a proof by another key", err, connect.CodeUnauthenticated)
}
