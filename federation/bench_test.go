package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/dpop"
	"github.com/conncred/conncred/secret"
	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkExchange compares, on one server (SQLite, fake clock), a token
// exchange through a trust with a credential exchange, each without and
// with DPoP. The trust's issuer keys are cached after the first call, so
// the trust path costs its JWKS-cached signature verification (RS256 for
// GitHub, ES256 for GitLab) and the condition, and no network call: the
// issuer's fetch counter is checked. "+DPoP" adds what the token endpoint
// does for a proof: its check (signature, claims, the jti's replay record
// in the same SQLite store) and the binding; signing the proof is the
// client's cost and is left out (made in batches with the timer stopped).
func BenchmarkExchange(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	verifier := dpop.NewVerifier(dpop.Config{}, f.store, f.clock)
	// bind returns the thumbprint of a fresh, checked proof ("" without DPoP).
	bind := func(b *testing.B, pool *proofPool) string {
		if pool == nil {
			return ""
		}
		jkt, err := verifier.Check(ctx, dpop.Request{Proofs: []string{pool.next(b)}, Method: "POST", URLs: []string{f.auth.Issuer() + apitype.PathToken}})
		if err != nil {
			b.Fatal(err)
		}
		return jkt
	}
	for _, withDPoP := range []bool{false, true} {
		suffix := ""
		if withDPoP {
			suffix = "+DPoP"
		}
		b.Run("credential"+suffix, func(b *testing.B) {
			c := f.connector(b)
			cred, sec, err := f.auth.RotateCredential(f.admin, c.AppID, c.ID, authority.CredentialOptions{})
			if err != nil {
				b.Fatal(err)
			}
			priv, err := secret.Parse(sec.Reveal())
			if err != nil {
				b.Fatal(err)
			}
			pool := newProofPool(b, f, withDPoP)
			b.ReportAllocs()
			for b.Loop() {
				// A fresh assertion per exchange: each is single-use.
				a := clientAssertion(b, priv, cred.ClientID, f.clock.Now())
				tok, err := f.auth.Exchange(ctx, authority.TokenRequest{GrantType: authority.GrantClientCredentials, ClientID: cred.ClientID, AssertionType: authority.AssertionTypeJWTBearer, Assertion: a, JKT: bind(b, pool)})
				if err != nil {
					b.Fatal(err)
				}
				if tok.Bound != withDPoP {
					b.Fatalf("bound = %v, want %v", tok.Bound, withDPoP)
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
			b.Run(tc.name+suffix, func(b *testing.B) {
				tr := f.trust(b, tc.cond)
				subject := f.issuer.sign(b, tc.kid, tc.claims(f.issuer.url(), f.aud, f.clock.Now()))
				if _, err := f.exchange(tr, subject); err != nil {
					b.Fatal(err)
				}
				fetches := f.issuer.jwksHits.Load()
				pool := newProofPool(b, f, withDPoP)
				b.ReportAllocs()
				for b.Loop() {
					// The same subject token may be exchanged again: it is the
					// workload's, and RFC 8693 does not make it single-use.
					res, err := f.svc.Exchange(ctx, ExchangeRequest{ClientID: tr.ClientID, SubjectToken: subject, SubjectTokenType: TokenTypeJWT, JKT: bind(b, pool)})
					if err != nil {
						b.Fatal(err)
					}
					if res.Token.Bound != withDPoP {
						b.Fatalf("bound = %v, want %v", res.Token.Bound, withDPoP)
					}
				}
				if got := f.issuer.jwksHits.Load() - fetches; got != 0 {
					b.Errorf("the hot path fetched the issuer's keys %d times", got)
				}
			})
		}
	}
}

// proofPool hands out fresh DPoP proofs for the token endpoint, made in
// batches with the timer stopped (a proof is single-use, and signing it is
// the client's cost).
type proofPool struct {
	s   *dpop.Signer
	url string
	buf []string
}

// newProofPool returns a pool with a new Ed25519 key, or nil without DPoP.
func newProofPool(b *testing.B, f *fixture, on bool) *proofPool {
	b.Helper()
	if !on {
		return nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	s, err := dpop.NewSigner(priv, f.clock)
	if err != nil {
		b.Fatal(err)
	}
	return &proofPool{s: s, url: f.auth.Issuer() + apitype.PathToken}
}

func (p *proofPool) next(b *testing.B) string {
	if len(p.buf) == 0 {
		b.StopTimer()
		for range 512 {
			pr, err := p.s.Proof("POST", p.url, "", "")
			if err != nil {
				b.Fatal(err)
			}
			p.buf = append(p.buf, pr)
		}
		b.StartTimer()
	}
	pr := p.buf[len(p.buf)-1]
	p.buf = p.buf[:len(p.buf)-1]
	return pr
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
