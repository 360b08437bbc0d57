package dpop

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
)

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

const (
	tokenURL = "https://127.0.0.1:8443/auth/v1/token"
	apiURL   = "https://127.0.0.1:8443/api/v1/auth/introspect"
)

// memReplay is the replay store's contract in memory.
type memReplay struct {
	mu   sync.Mutex
	used map[string]time.Time
}

func (m *memReplay) UseAssertion(_ context.Context, key string, exp time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.used == nil {
		m.used = map[string]time.Time{}
	}
	if _, ok := m.used[key]; ok {
		return conncred.Errorf(conncred.EConflict, "used")
	}
	m.used[key] = exp
	return nil
}

type countObserver struct {
	mu  sync.Mutex
	got map[string]int
}

func (o *countObserver) DPoPProof(outcome, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.got == nil {
		o.got = map[string]int{}
	}
	o.got[outcome+"/"+reason]++
}

func newVerifier(tb testing.TB, cfg Config) (*Verifier, *clock.Fake, *memReplay) {
	tb.Helper()
	clk := clock.NewFake(t0)
	r := &memReplay{}
	return NewVerifier(cfg, r, clk), clk, r
}

func mustEd25519(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return priv
}

func okpJWK(pub ed25519.PublicKey) map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}
}

// craft signs header and claims with priv as they are, so a test can make
// any proof, however wrong.
func craft(tb testing.TB, priv ed25519.PrivateKey, h, c map[string]any) string {
	tb.Helper()
	hb, err := json.Marshal(h)
	if err != nil {
		tb.Fatal(err)
	}
	cb, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	return signed + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(signed)))
}

// goodProof is a valid proof's header and claims for a call to url.
func goodProof(priv ed25519.PrivateKey, method, url string, now time.Time) (h, c map[string]any) {
	h = map[string]any{"typ": "dpop+jwt", "alg": "EdDSA", "jwk": okpJWK(priv.Public().(ed25519.PublicKey))}
	c = map[string]any{"jti": base64.RawURLEncoding.EncodeToString([]byte(now.String() + method + url)), "htm": method, "htu": url, "iat": now.Unix()}
	return h, c
}

func mustSigner(tb testing.TB, clk clock.Clock) *Signer {
	tb.Helper()
	s, err := NewSigner(mustEd25519(tb), clk)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestCheckTokenRequest(t *testing.T) {
	v, clk, _ := newVerifier(t, Config{})
	s := mustSigner(t, clk)
	p, err := s.Proof("POST", tokenURL+"?x=1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := v.Check(context.Background(), Request{Proofs: []string{p}, Method: "POST", URLs: []string{"http://127.0.0.1:1234/auth/v1/token", tokenURL}})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got, want := jkt, s.Thumbprint(); got != want {
		t.Errorf("jkt = %q, want %q", got, want)
	}
}

func TestCheckES256(t *testing.T) {
	v, clk, _ := newVerifier(t, Config{})
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k, clk)
	if err != nil {
		t.Fatal(err)
	}
	const tok = "an.access.token"
	p, err := s.Proof("GET", apiURL, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Check(context.Background(), Request{Proofs: []string{p}, Method: "GET", URLs: []string{apiURL}, AccessToken: tok, JKT: s.Thumbprint()}); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestRefusals is RFC 9449's list of checks (§4.3, §7.1), one case each.
func TestRefusals(t *testing.T) {
	priv := mustEd25519(t)
	other := mustEd25519(t)
	const tok = "an.access.token"
	jkt := thumbprint(`{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)) + `"}`)
	ath := AccessTokenHash(tok)
	tests := []struct {
		name   string
		edit   func(h, c map[string]any)
		proof  func(h, c map[string]any) string // default: craft with priv
		req    func(r *Request)
		reason string
	}{
		{name: "wrong htm", edit: func(h, c map[string]any) { c["htm"] = "POST" }, reason: ReasonHTM},
		{name: "htm in other case", edit: func(h, c map[string]any) { c["htm"] = "get" }, reason: ReasonHTM},
		{name: "wrong htu path", edit: func(h, c map[string]any) { c["htu"] = "https://127.0.0.1:8443/api/v1/apps" }, reason: ReasonHTU},
		{name: "wrong htu host", edit: func(h, c map[string]any) { c["htu"] = "https://evil.example/api/v1/auth/introspect" }, reason: ReasonHTU},
		{name: "wrong htu scheme", edit: func(h, c map[string]any) { c["htu"] = "http://127.0.0.1:8443/api/v1/auth/introspect" }, reason: ReasonHTU},
		{name: "htu not a URL", edit: func(h, c map[string]any) { c["htu"] = "/api/v1/auth/introspect" }, reason: ReasonHTU},
		{name: "stale iat", edit: func(h, c map[string]any) { c["iat"] = t0.Add(-61 * time.Second).Unix() }, reason: ReasonIAT},
		{name: "iat in the future", edit: func(h, c map[string]any) { c["iat"] = t0.Add(6 * time.Second).Unix() }, reason: ReasonIAT},
		{name: "iat a string", edit: func(h, c map[string]any) { c["iat"] = "1700000000" }, reason: ReasonIAT},
		{name: "no iat", edit: func(h, c map[string]any) { delete(c, "iat") }, reason: ReasonIAT},
		{name: "no jti", edit: func(h, c map[string]any) { delete(c, "jti") }, reason: ReasonMalformed},
		{name: "missing ath", edit: func(h, c map[string]any) { delete(c, "ath") }, reason: ReasonATH},
		{name: "ath of another token", edit: func(h, c map[string]any) { c["ath"] = AccessTokenHash("another") }, reason: ReasonATH},
		{name: "proof for another key", proof: func(h, c map[string]any) string {
			h["jwk"] = okpJWK(other.Public().(ed25519.PublicKey))
			return craft(t, other, h, c)
		}, reason: ReasonKey},
		{name: "jwk of another key than the signer", edit: func(h, c map[string]any) { h["jwk"] = okpJWK(other.Public().(ed25519.PublicKey)) }, reason: ReasonSignature},
		{name: "alg none", proof: func(h, c map[string]any) string {
			h["alg"] = "none"
			s := craft(t, priv, h, c)
			return s[:strings.LastIndex(s, ".")+1]
		}, reason: ReasonAlg},
		{name: "alg HS256", edit: func(h, c map[string]any) { h["alg"] = "HS256" }, reason: ReasonAlg},
		{name: "alg RS256", edit: func(h, c map[string]any) { h["alg"] = "RS256" }, reason: ReasonAlg},
		{name: "alg ES256 with an Ed25519 key", edit: func(h, c map[string]any) { h["alg"] = "ES256" }, reason: ReasonAlg},
		{name: "ALG in capitals", edit: func(h, c map[string]any) { delete(h, "alg"); h["ALG"] = "EdDSA" }, reason: ReasonAlg},
		{name: "jwk with the private key", edit: func(h, c map[string]any) {
			h["jwk"].(map[string]any)["d"] = base64.RawURLEncoding.EncodeToString(priv.Seed())
		}, reason: ReasonJWK},
		{name: "no jwk", edit: func(h, c map[string]any) { delete(h, "jwk") }, reason: ReasonJWK},
		{name: "kid beside jwk", edit: func(h, c map[string]any) { h["kid"] = "k1" }, reason: ReasonJWK},
		{name: "jku", edit: func(h, c map[string]any) { h["jku"] = "https://evil.example/jwks" }, reason: ReasonJWK},
		{name: "symmetric jwk", edit: func(h, c map[string]any) { h["jwk"] = map[string]any{"kty": "oct", "k": "c2VjcmV0"} }, reason: ReasonJWK},
		{name: "wrong typ", edit: func(h, c map[string]any) { h["typ"] = "JWT" }, reason: ReasonTyp},
		{name: "no typ", edit: func(h, c map[string]any) { delete(h, "typ") }, reason: ReasonTyp},
		{name: "bad signature", proof: func(h, c map[string]any) string {
			s := craft(t, priv, h, c)
			return s[:len(s)-4] + "AAAA"
		}, reason: ReasonSignature},
		{name: "not a JWS", proof: func(h, c map[string]any) string { return "not-a-jws" }, reason: ReasonMalformed},
		{name: "no proof", req: func(r *Request) { r.Proofs = nil }, reason: ReasonMissing},
		{name: "two proofs", req: func(r *Request) { r.Proofs = append(r.Proofs, r.Proofs[0]) }, reason: ReasonMultiple},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &countObserver{}
			v, _, _ := newVerifier(t, Config{Observer: obs})
			h, c := goodProof(priv, "GET", apiURL, t0)
			c["ath"] = ath
			if tt.edit != nil {
				tt.edit(h, c)
			}
			var p string
			if tt.proof != nil {
				p = tt.proof(h, c)
			} else {
				p = craft(t, priv, h, c)
			}
			req := Request{Proofs: []string{p}, Method: "GET", URLs: []string{apiURL}, AccessToken: tok, JKT: jkt}
			if tt.req != nil {
				tt.req(&req)
			}
			_, err := v.Check(context.Background(), req)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Check: %v, want a refusal for %s", err, tt.reason)
			}
			if got, want := e.Reason, tt.reason; got != want {
				t.Errorf("reason = %q (%s), want %q", got, e.Description, want)
			}
			if got, want := e.Code, ErrInvalidProof; got != want {
				t.Errorf("code = %q, want %q", got, want)
			}
			if strings.Contains(e.Description, p) || strings.Contains(e.Description, tok) {
				t.Errorf("description %q quotes the proof or the token", e.Description)
			}
			if got := obs.got[OutcomeRefused+"/"+tt.reason]; got != 1 {
				t.Errorf("refusals counted for %s = %d, want 1", tt.reason, got)
			}
		})
	}
}

func TestReplayedJTI(t *testing.T) {
	v, clk, r := newVerifier(t, Config{})
	priv := mustEd25519(t)
	h, c := goodProof(priv, "POST", tokenURL, t0)
	p := craft(t, priv, h, c)
	req := Request{Proofs: []string{p}, Method: "POST", URLs: []string{tokenURL}}
	if _, err := v.Check(context.Background(), req); err != nil {
		t.Fatalf("first use: %v", err)
	}
	clk.Advance(30 * time.Second)
	_, err := v.Check(context.Background(), req)
	if e, ok := err.(*Error); !ok || e.Reason != ReasonReplay {
		t.Fatalf("second use: %v, want a replay refusal", err)
	}
	for k, exp := range r.used {
		if !strings.HasPrefix(k, "dpop.") {
			t.Errorf("replay key %q does not start with dpop.", k)
		}
		if got, want := exp, t0.Add(time.Minute+5*time.Second); !got.Equal(want) {
			t.Errorf("replay record expires %s, want %s (iat + window + skew)", got, want)
		}
	}
	// The same jti from another key is another proof.
	other := mustEd25519(t)
	h2, _ := goodProof(other, "POST", tokenURL, t0)
	if _, err := v.Check(context.Background(), Request{Proofs: []string{craft(t, other, h2, c)}, Method: "POST", URLs: []string{tokenURL}}); err != nil {
		t.Errorf("the same jti under another key: %v, want accepted", err)
	}
}

// TestIATEdges moves the fake clock to the window's exact edges.
func TestIATEdges(t *testing.T) {
	priv := mustEd25519(t)
	tests := []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"window's last second", t0.Add(time.Minute), true},
		{"past the window", t0.Add(time.Minute + time.Second), false},
		{"skew's edge", t0.Add(-5 * time.Second), true},
		{"past the skew", t0.Add(-6 * time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, clk, _ := newVerifier(t, Config{})
			clk.Set(tt.now)
			h, c := goodProof(priv, "POST", tokenURL, t0)
			_, err := v.Check(context.Background(), Request{Proofs: []string{craft(t, priv, h, c)}, Method: "POST", URLs: []string{tokenURL}})
			if got := err == nil; got != tt.ok {
				t.Errorf("accepted = %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}

func TestNonceFlow(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	v, clk, _ := newVerifier(t, Config{NonceKey: key, NonceWindow: 5 * time.Minute})
	s := mustSigner(t, clk)
	check := func(nonce string) error {
		t.Helper()
		p, err := s.Proof("POST", tokenURL, "", nonce)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Check(context.Background(), Request{Proofs: []string{p}, Method: "POST", URLs: []string{tokenURL}})
		return err
	}
	err := check("")
	e, ok := err.(*Error)
	if !ok || e.Code != ErrUseNonce || e.Nonce == "" {
		t.Fatalf("proof without a nonce: %v, want use_dpop_nonce with a nonce", err)
	}
	if got, want := e.Nonce, v.Nonce(); got != want {
		t.Errorf("refusal's nonce = %q, want the current one %q", got, want)
	}
	if err := check(e.Nonce); err != nil {
		t.Fatalf("proof with the server's nonce: %v", err)
	}
	// Another node with the same key agrees: the nonce is stateless.
	other := NewVerifier(Config{NonceKey: key, NonceWindow: 5 * time.Minute}, &memReplay{}, clk)
	if got, want := other.Nonce(), e.Nonce; got != want {
		t.Errorf("another node's nonce = %q, want %q", got, want)
	}
	// Still good in the next window, stale in the one after.
	clk.Advance(5 * time.Minute)
	if err := check(e.Nonce); err != nil {
		t.Errorf("nonce in the next window: %v, want accepted", err)
	}
	clk.Advance(5 * time.Minute)
	if err := check(e.Nonce); err == nil || err.(*Error).Code != ErrUseNonce {
		t.Errorf("nonce two windows on: %v, want use_dpop_nonce", err)
	}
	// A nonce made with another key is not this server's.
	if err := check(nonceAt([]byte("another key"), window(clk.Now(), 5*time.Minute))); err == nil || err.(*Error).Code != ErrUseNonce {
		t.Errorf("nonce of another key: %v, want use_dpop_nonce", err)
	}
}

func TestNoncesOff(t *testing.T) {
	v, _, _ := newVerifier(t, Config{})
	if got := v.Nonce(); got != "" {
		t.Errorf("Nonce() = %q with nonces off, want empty", got)
	}
}
