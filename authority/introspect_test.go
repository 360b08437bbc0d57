package authority

import (
	"context"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

// exchangeFor mints an access token for cred, whose secret is s.
func (f *fixture) exchangeFor(t testing.TB, cred conncred.Credential, s secret.Secret) string {
	t.Helper()
	priv, err := secret.Parse(s.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	// officialAssertion's nonce comes from the time: a fresh one per call.
	f.clock.Advance(time.Millisecond)
	tok, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv)))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// as returns a context authenticated by token.
func (f *fixture) as(t testing.TB, token string) context.Context {
	t.Helper()
	p, err := f.a.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return conncred.WithPrincipal(context.Background(), p)
}

// TestIntrospectTokenWhoMayAsk checks RFC 7662 §2.2 scoping: an admin
// learns about any token; a connector only about tokens of its own
// credential, and any other token reads as inactive, so a connector cannot
// learn an admin's client id.
func TestIntrospectTokenWhoMayAsk(t *testing.T) {
	f := newFixture(t, Config{})
	conn := f.connector(t)
	credA, secA, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	credB, secB, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	adminCred, adminSec, err := f.a.CreateAdmin(f.admin, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokA, tokA2 := f.exchangeFor(t, credA, secA), f.exchangeFor(t, credA, secA)
	tokB := f.exchangeFor(t, credB, secB)
	tokAdmin := f.exchangeFor(t, adminCred, adminSec)
	otherConn := f.connector(t)
	credC, secC, err := f.a.RotateCredential(f.admin, otherConn.AppID, otherConn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokC := f.exchangeFor(t, credC, secC)

	tests := []struct {
		name       string
		caller     context.Context
		token      string
		wantActive bool
		wantClient string
	}{
		{"connector, its own token", f.as(t, tokA), tokA, true, credA.ClientID},
		{"connector, another token of its own credential", f.as(t, tokA), tokA2, true, credA.ClientID},
		{"connector, a sibling credential's token", f.as(t, tokA), tokB, false, ""},
		{"connector, another connector's token", f.as(t, tokA), tokC, false, ""},
		{"connector, an admin's token", f.as(t, tokA), tokAdmin, false, ""},
		{"admin, a connector's token", f.as(t, tokAdmin), tokB, true, credB.ClientID},
		{"admin, its own token", f.as(t, tokAdmin), tokAdmin, true, adminCred.ClientID},
		{"system, a connector's token", f.admin, tokC, true, credC.ClientID},
		{"admin, garbage", f.as(t, tokAdmin), "x.y.z", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := f.a.IntrospectToken(tc.caller, tc.token)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := info.Active, tc.wantActive; got != want {
				t.Fatalf("active: got %v, want %v (%+v)", got, want, info)
			}
			if got, want := info.ClientID, tc.wantClient; got != want {
				t.Fatalf("client id: got %q, want %q", got, want)
			}
			if !info.Active && info != (TokenInfo{}) {
				t.Fatalf("an inactive answer says more than active=false: %+v", info)
			}
		})
	}
}

func TestIntrospectTokenMissingTokenIsInvalidRequest(t *testing.T) {
	f := newFixture(t, Config{})
	_, err := f.a.IntrospectToken(f.admin, "")
	wantTokenError(t, err, ErrInvalidRequest, "token=")
}
