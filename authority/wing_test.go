package authority

import (
	"context"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

// refuseAll is a SourceGuard that refuses every source.
type refuseAll struct{}

func (refuseAll) CheckSource(context.Context, conncred.Credential, string) error {
	return conncred.Errorf(conncred.EPermissionDenied, "source address 192.0.2.1 is not in this credential's allowSourceCidr networks")
}

// TestSourceGuardRefusal checks that an exchange refused by the source
// guard is an invalid_client that says why, counted under its own reason,
// and burns no replay record (the same assertion works once allowed).
func TestSourceGuardRefusal(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, Config{PublicHost: "c1.example.test:8443", Observer: rec})
	conn := f.connector(t)
	cred, s, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := secret.Parse(s.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	jws := officialAssertion(cred.ClientID, "c1.example.test", f.clock.Now()).sign(t, priv)
	f.a.SetSourceGuard(refuseAll{})
	_, err = f.a.Exchange(context.Background(), tokenReq(cred.ClientID, jws))
	te, ok := err.(*TokenError)
	if !ok || te.Code != ErrInvalidClient {
		t.Fatalf("got %v, want an invalid_client TokenError", err)
	}
	if got, want := rec.last(), OutcomeRefused+"/"+ReasonSourceNotAllowed; got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
	f.a.SetSourceGuard(nil)
	if _, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, jws)); err != nil {
		t.Errorf("the refused assertion, once allowed: %v; a refusal must not burn its replay record", err)
	}
}
