package dpop

import (
	"context"
	"testing"
)

// TestNewVerifierNilClock: serve makes its verifier with a nil clock, as it
// makes the policy; that must mean the real clock, not a nil dereference on
// the first proof (which answered every DPoP token request with a 500).
func TestNewVerifierNilClock(t *testing.T) {
	s, err := NewEphemeralSigner()
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(Config{}, &memReplay{}, nil)
	p, err := s.Proof("POST", tokenURL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Check(context.Background(), Request{Proofs: []string{p}, Method: "POST", URLs: []string{tokenURL}})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if want := s.Thumbprint(); got != want {
		t.Errorf("thumbprint: got %q, want %q", got, want)
	}
}
