package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/conncred/conncred/clock"
)

// proofPool hands out fresh proofs, made in batches with the timer
// stopped: a proof is single-use, and signing one is the client's cost,
// not the server's.
type proofPool struct {
	s           *Signer
	method, url string
	token       string
	buf         []string
}

func (p *proofPool) next(b *testing.B) string {
	b.Helper()
	if len(p.buf) == 0 {
		b.StopTimer()
		for range 512 {
			pr, err := p.s.Proof(p.method, p.url, p.token, "")
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

// BenchmarkVerifyProof is the server's cost of one DPoP proof (RFC 9449):
// parse, signature, htm/htu/iat, ath for an API call, and the single-use
// jti record (here in memory; the server's goes to its replay store, whose
// cost BenchmarkExchange in package federation includes).
func BenchmarkVerifyProof(b *testing.B) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		key   crypto.Signer
		url   string
		token string
	}{
		{"EdDSA/token endpoint", mustEd25519(b), tokenURL, ""},
		{"ES256/token endpoint", ecKey, tokenURL, ""},
		{"EdDSA/API call with ath", mustEd25519(b), apiURL, "eyJhbGciOiJFZERTQSJ9.e30.c2ln"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			clk := clock.NewFake(t0)
			v := NewVerifier(Config{}, &memReplay{}, clk)
			s, err := NewSigner(tc.key, clk)
			if err != nil {
				b.Fatal(err)
			}
			method := "POST"
			req := Request{Method: method, URLs: []string{tc.url}, AccessToken: tc.token}
			if tc.token != "" {
				method, req.Method, req.JKT = "GET", "GET", s.Thumbprint()
			}
			pool := &proofPool{s: s, method: method, url: tc.url, token: tc.token}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				req.Proofs = []string{pool.next(b)}
				if _, err := v.Check(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignProof is the client's cost of one proof, for comparison.
func BenchmarkSignProof(b *testing.B) {
	s, err := NewSigner(mustEd25519(b), clock.NewFake(t0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Proof("POST", tokenURL, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}
