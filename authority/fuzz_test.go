package authority

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

func FuzzParseJWS(f *testing.F) {
	for _, v := range []string{
		"eyJhbGciOiJFZERTQSIsIm5vbmNlIjoiOWU5NTZhNTM1YTUwY2IzZmQ1MjZiMDY5NDcwNjA2OGQifQ.eyJpc3MiOiJ4In0.AAAA",
		"eyJhbGciOiJub25lIn0.e30.",
		"a.b.c", "..", "",
	} {
		f.Add(v)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	f.Fuzz(func(t *testing.T, in string) {
		j, err := parseJWS(in)
		if err != nil {
			return
		}
		if j.header.Alg != "EdDSA" || len(j.sig) != ed25519.SignatureSize {
			t.Fatalf("parseJWS accepted alg %q sig %d bytes", j.header.Alg, len(j.sig))
		}
		_ = j.verify(pub)
	})
}

// FuzzExchange drives the whole token exchange with arbitrary assertions and
// client ids: every refusal must be a clean *TokenError, never a panic or an
// internal error.
func FuzzExchange(f *testing.F) {
	fx := newFixture(f, Config{PublicHost: "c1.example.test:8443"})
	cred, s, err := fx.a.CreateAdmin(fx.admin, CredentialOptions{})
	if err != nil {
		f.Fatal(err)
	}
	_ = s
	for _, v := range loadVectors(f) {
		f.Add(v.ClientID, v.Request.Form["client_assertion"])
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	f.Add(cred.ClientID, officialAssertion(cred.ClientID, "c1.example.test", t0).sign(f, priv))
	f.Add("", "")
	f.Fuzz(func(t *testing.T, clientID, assertion string) {
		fx.clock.Set(t0.Add(time.Duration(len(assertion)) * time.Second))
		_, err := fx.a.Exchange(context.Background(), tokenReq(clientID, assertion))
		var te *TokenError
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("Exchange(%q, %q): not a TokenError: %v", clientID, assertion, err)
		}
	})
}
