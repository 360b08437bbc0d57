package loadgen_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/bench/loadgen/loadgentest"
	"github.com/conncred/conncred/internal/benchnode"
)

// TestES256Signer checks an assertion by hand: the header, the claims, a
// jti of its own each time, and an r || s signature the JWK's key verifies.
func TestES256Signer(t *testing.T) {
	s, err := loadgen.GenerateES256Signer("client-1", "https://127.0.0.1:4444/oauth2/token")
	if err != nil {
		t.Fatal(err)
	}
	jwk := s.PublicJWK()
	x, _ := base64.RawURLEncoding.DecodeString(jwk["x"])
	y, _ := base64.RawURLEncoding.DecodeString(jwk["y"])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("the JWK's coordinates: %v", err)
	}
	if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk["alg"] != "ES256" || jwk["kid"] == "" {
		t.Fatalf("jwk %v", jwk)
	}

	now := time.Unix(1_800_000_000, 0)
	jtis := map[string]bool{}
	for range 3 {
		parts := strings.Split(s.Assertion(now), ".")
		if len(parts) != 3 {
			t.Fatalf("%d parts", len(parts))
		}
		var hdr map[string]string
		var c struct {
			Iss, Sub, Aud, Jti string
			Iat, Exp           int64
		}
		mustDecode(t, parts[0], &hdr)
		mustDecode(t, parts[1], &c)
		if len(hdr) != 3 || hdr["alg"] != "ES256" || hdr["typ"] != "JWT" || hdr["kid"] != jwk["kid"] {
			t.Errorf("header %v", hdr)
		}
		if c.Iss != "client-1" || c.Sub != "client-1" || c.Aud != "https://127.0.0.1:4444/oauth2/token" || c.Iat != now.Unix() || c.Exp != now.Unix()+120 {
			t.Errorf("claims %+v", c)
		}
		if len(c.Jti) != 32 || jtis[c.Jti] {
			t.Errorf("jti %q: want 32 hex digits, fresh", c.Jti)
		}
		jtis[c.Jti] = true
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || len(sig) != 64 {
			t.Fatalf("signature of %d bytes, %v", len(sig), err)
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Error("the signature does not verify under the JWK")
		}
	}
	form := s.TokenForm(now)
	for _, want := range []string{"grant_type=client_credentials", "client_id=client-1", "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer", "&client_assertion=ey"} {
		if !strings.Contains(form, want) {
			t.Errorf("form %q lacks %q", form, want)
		}
	}
}

func TestES256SignerRefuses(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, f := range map[string]func() error{
		"P-384 key":   func() error { _, err := loadgen.NewES256Signer("c", "https://a/t", "k", p384); return err },
		"no key":      func() error { _, err := loadgen.NewES256Signer("c", "https://a/t", "k", nil); return err },
		"no client":   func() error { _, err := loadgen.NewES256Signer("", "https://a/t", "k", p256); return err },
		"no audience": func() error { _, err := loadgen.NewES256Signer("c", "", "k", p256); return err },
		"no kid":      func() error { _, err := loadgen.NewES256Signer("c", "https://a/t", "", p256); return err },
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func mustDecode(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestRunAgainstHydra registers clients at the Hydra fake and drives its
// token endpoint with the same Run as conncred's, over both clients: every
// assertion passes the fake's strict check, none is replayed.
func TestRunAgainstHydra(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(map[bool]string{false: "net", true: "raw"}[raw], func(t *testing.T) {
			fake := loadgentest.NewOAuth2(t)
			hc, err := benchnode.HTTPClient(fake.CAFile, !raw, 8)
			if err != nil {
				t.Fatal(err)
			}
			clients, err := loadgen.HydraClients(context.Background(), hc, fake.URL, fake.TokenURL, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(clients) != 3 || fake.Clients() != 3 {
				t.Fatalf("%d signers, %d clients registered; want 3", len(clients), fake.Clients())
			}
			target := loadgen.Target{URL: fake.URL, Client: hc}
			if raw {
				if target.Raw, err = loadgen.NewRawDialer(fake.URL, fake.CAFile); err != nil {
					t.Fatal(err)
				}
			}
			var signers []loadgen.Asserter
			for _, c := range clients {
				signers = append(signers, c)
			}
			res, err := loadgen.Run(context.Background(), loadgen.Load{
				Mode: loadgen.ModeToken, Targets: []loadgen.Target{target}, Signers: signers, TokenPath: loadgen.HydraTokenPath,
				Concurrency: 3, Duration: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			// What the fake saw is the check: Run waits for every request
			// it sent, while a loaded machine may finish none inside the
			// window.
			if fake.Exchanges.Load() == 0 || fake.Refused.Load() != 0 {
				t.Fatalf("fake issued %d tokens, refused %d (%s)", fake.Exchanges.Load(), fake.Refused.Load(), res.FirstError)
			}
			if res.OK != res.Requests || res.Errors != nil || fake.Exchanges.Load() < res.OK {
				t.Errorf("ok %d of %d, errors %v; fake issued %d", res.OK, res.Requests, res.Errors, fake.Exchanges.Load())
			}
		})
	}
}

// TestHydraWrongAudience: assertions addressed to another URL are refused,
// and the result says so by status, with the refusal's body.
func TestHydraWrongAudience(t *testing.T) {
	fake := loadgentest.NewOAuth2(t)
	hc, err := benchnode.HTTPClient(fake.CAFile, true, 4)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := loadgen.HydraClients(context.Background(), hc, fake.URL, "https://127.0.0.1:1/oauth2/token", 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(context.Background(), loadgen.Load{
		Mode: loadgen.ModeToken, Targets: []loadgen.Target{{URL: fake.URL, Client: hc}}, Signers: []loadgen.Asserter{clients[0]},
		TokenPath: loadgen.HydraTokenPath, Concurrency: 1, Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if fake.Refused.Load() == 0 || fake.Exchanges.Load() != 0 || res.OK != 0 {
		t.Fatalf("fake refused %d, issued %d; result ok %d", fake.Refused.Load(), fake.Exchanges.Load(), res.OK)
	}
	// A loaded machine may finish no request inside the window; those it
	// finished are counted by status, the first with the refusal's body.
	if res.Requests > 0 && (res.Errors["401"] != res.Requests || !strings.Contains(res.FirstError, "status 401") || !strings.Contains(res.FirstError, "aud")) {
		t.Fatalf("errors %v of %d, first %q; want only 401s naming aud", res.Errors, res.Requests, res.FirstError)
	}
}

// TestHydraClientsRefused: a registration the server refuses, or an admin
// URL with nothing there, is an error naming the status.
func TestHydraClientsRefused(t *testing.T) {
	fake := loadgentest.NewOAuth2(t)
	hc, err := benchnode.HTTPClient(fake.CAFile, true, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadgen.HydraClients(context.Background(), hc, fake.URL+"/nothing", fake.TokenURL, 1); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("no admin API there: %v", err)
	}
	if _, err := loadgen.HydraClients(context.Background(), hc, "https://127.0.0.1:1", fake.TokenURL, 1); err == nil {
		t.Error("nothing listening: no error")
	}
	if fake.Clients() != 0 {
		t.Errorf("%d clients registered", fake.Clients())
	}
}
