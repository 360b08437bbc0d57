package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/conncred/conncred/clock"
	gojose "github.com/go-jose/go-jose/v4"
)

// joseThumbprint is go-jose's own RFC 7638 thumbprint of pub, base64url:
// the independent answer conncred's must match.
func joseThumbprint(tb testing.TB, pub crypto.PublicKey) string {
	tb.Helper()
	tp, err := (&gojose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// p256WithShortCoordinate returns a P-256 key whose x or y has a leading
// zero byte (about 1 in 128 keys): its JWK member must still be 32 bytes,
// a classic thumbprint mismatch between implementations.
func p256WithShortCoordinate(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	for range 10_000 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := k.PublicKey.Bytes() // 0x04 || x || y, fixed width
		if err != nil {
			tb.Fatal(err)
		}
		if b[1] == 0 || b[33] == 0 {
			return k
		}
	}
	tb.Fatal("no P-256 key with a leading zero coordinate byte in 10,000 tries")
	return nil
}

// TestThumbprintMatchesGoJose is a differential check: the thumbprint the
// verifier computes from a proof's jwk (its own canonical JSON, jwk.go) is
// go-jose's Thumbprint of the same key, for EdDSA and ES256 keys, random
// and edge-case, through parseJWK and through a whole Check.
func TestThumbprintMatchesGoJose(t *testing.T) {
	var keys []struct {
		name string
		key  crypto.Signer
	}
	add := func(name string, k crypto.Signer) {
		keys = append(keys, struct {
			name string
			key  crypto.Signer
		}{name, k})
	}
	for range 20 {
		add("Ed25519 random", mustEd25519(t))
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		add("P-256 random", ec)
	}
	add("P-256 leading zero coordinate", p256WithShortCoordinate(t))

	clk := clock.NewFake(t0)
	v := NewVerifier(Config{}, &memReplay{}, clk)
	for i, k := range keys {
		want := joseThumbprint(t, k.key.Public())
		// The jwk as go-jose writes it, read by the verifier's parser.
		raw, err := (&gojose.JSONWebKey{Key: k.key.Public()}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		pk, rerr := parseJWK(raw)
		if rerr != nil {
			t.Fatalf("%s #%d: parseJWK(%s): %v", k.name, i, raw, rerr)
		}
		if pk.jkt != want {
			t.Errorf("%s #%d: parseJWK thumbprint: got %s, want go-jose's %s (jwk %s)", k.name, i, pk.jkt, want, raw)
		}
		// A whole proof, checked as the token endpoint checks it.
		s, err := NewSigner(k.key, clk)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Proof("POST", tokenURL, "", "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Check(context.Background(), Request{Proofs: []string{p}, Method: "POST", URLs: []string{tokenURL}})
		if err != nil {
			t.Fatalf("%s #%d: Check: %v", k.name, i, err)
		}
		if got != want {
			t.Errorf("%s #%d: Check thumbprint: got %s, want go-jose's %s", k.name, i, got, want)
		}
	}
}

// TestThumbprintRFC8037 pins the Ed25519 thumbprint to RFC 8037 §A.3's
// published value, so both implementations are checked against the RFC.
func TestThumbprintRFC8037(t *testing.T) {
	const x, want = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	pk, rerr := parseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}`))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if pk.jkt != want {
		t.Errorf("conncred: got %s, want %s", pk.jkt, want)
	}
	pub, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := joseThumbprint(t, ed25519.PublicKey(pub)); got != want {
		t.Errorf("go-jose: got %s, want %s", got, want)
	}
}
