package dpop

import (
	"context"
	"testing"
	"time"
)

// FuzzProof feeds arbitrary proofs to the verifier: it must never panic,
// and whatever it accepts must name the request it was checked against.
func FuzzProof(f *testing.F) {
	priv := mustEd25519(f)
	h, c := goodProof(priv, "POST", tokenURL, t0)
	f.Add(craft(f, priv, h, c))
	h["alg"] = "none"
	f.Add(craft(f, priv, h, c))
	f.Add("e30.e30.")
	f.Add("..")
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AA")
	f.Fuzz(func(t *testing.T, s string) {
		v, _, _ := newVerifier(t, Config{})
		if _, err := v.Check(context.Background(), Request{Proofs: []string{s}, Method: "POST", URLs: []string{tokenURL}}); err != nil {
			return
		}
		p, perr := parse(s)
		if perr != nil {
			t.Fatalf("accepted a proof parse refuses: %v", perr)
		}
		if p.claims.HTM != "POST" || p.iat.Before(t0.Add(-time.Minute)) {
			t.Fatalf("accepted a proof for another request: %+v", p.claims)
		}
	})
}
