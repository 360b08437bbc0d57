package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/secret"
	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkExchange compares, on one server (SQLite, fake clock), a token
// exchange through a trust with a credential exchange. The trust's issuer
// keys are cached after the first call, so the trust path costs its JWKS-
// cached signature verification (RS256 for GitHub, ES256 for GitLab) and
// the condition, and no network call: the issuer's fetch counter is checked.
func BenchmarkExchange(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	b.Run("credential", func(b *testing.B) {
		c := f.connector(b)
		cred, sec, err := f.auth.RotateCredential(f.admin, c.AppID, c.ID, authority.CredentialOptions{})
		if err != nil {
			b.Fatal(err)
		}
		priv, err := secret.Parse(sec.Reveal())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			// A fresh assertion per exchange: each is single-use.
			a := clientAssertion(b, priv, cred.ClientID, f.clock.Now())
			if _, err := f.auth.Exchange(ctx, authority.TokenRequest{GrantType: authority.GrantClientCredentials, ClientID: cred.ClientID, AssertionType: authority.AssertionTypeJWTBearer, Assertion: a}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name, kid string
		claims    func(iss, aud string, now time.Time) map[string]any
		cond      string
	}{
		{"trust GitHub RS256", "RS256-1", githubClaims, ghCondition},
		{"trust GitLab ES256", "ES256-1", gitlabClaims, `claims.project_path == "acme/connectors" && claims.ref_protected == "true"`},
		{"trust Kubernetes EdDSA", "EdDSA-1", kubernetesClaims, `claims["kubernetes.io"].namespace == "sync"`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tr := f.trust(b, tc.cond)
			subject := f.issuer.sign(b, tc.kid, tc.claims(f.issuer.url(), f.aud, f.clock.Now()))
			if _, err := f.exchange(tr, subject); err != nil {
				b.Fatal(err)
			}
			fetches := f.issuer.jwksHits.Load()
			b.ReportAllocs()
			for b.Loop() {
				// The same subject token may be exchanged again: it is the
				// workload's, and RFC 8693 does not make it single-use.
				if _, err := f.exchange(tr, subject); err != nil {
					b.Fatal(err)
				}
			}
			if got := f.issuer.jwksHits.Load() - fetches; got != 0 {
				b.Errorf("the hot path fetched the issuer's keys %d times", got)
			}
		})
	}
}

// clientAssertion signs an RFC 7523 assertion as the official SDK does.
func clientAssertion(tb testing.TB, priv ed25519.PrivateKey, clientID string, now time.Time) string {
	tb.Helper()
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv}, (&jose.SignerOptions{}).WithHeader("nonce", hex.EncodeToString(nonce[:])))
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := s.Sign([]byte(mustJSON(map[string]any{
		"iss": clientID, "sub": clientID, "aud": "127.0.0.1",
		"iat": now.Unix(), "nbf": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(2 * time.Minute).Unix(),
	})))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
