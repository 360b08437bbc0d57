package authority

import (
	"context"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

func TestSigningKeyRotationKeepsOldTokensValid(t *testing.T) {
	f := newFixture(t, Config{TokenTTL: time.Hour})
	cred, s, _ := f.a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	mint := func() string {
		t.Helper()
		tok, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv)))
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	old := mint()
	if n := len(f.a.JWKS()); n != 1 {
		t.Fatalf("JWKS before rotation: %d keys", n)
	}
	k, err := f.a.RotateSigningKey(f.admin)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	fresh := mint()
	for _, tok := range []string{old, fresh} {
		if _, err := f.a.Authenticate(context.Background(), tok); err != nil {
			t.Fatalf("Authenticate after rotation: %v", err)
		}
	}
	jwks := f.a.JWKS()
	if len(jwks) != 2 || jwks[1].Kid != k.KID {
		t.Fatalf("JWKS after rotation: %+v", jwks)
	}
	// A restarted node (new Authority, same store) verifies both.
	b, err := New(context.Background(), Config{}, f.store, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, tok := range []string{old, fresh} {
		if _, err := b.Authenticate(context.Background(), tok); err != nil {
			t.Fatalf("Authenticate on another node: %v", err)
		}
	}
	// Once every token of the old key has expired, it is no longer published.
	f.clock.Advance(2 * time.Hour)
	if jwks := f.a.JWKS(); len(jwks) != 1 || jwks[0].Kid != k.KID {
		t.Fatalf("JWKS long after rotation: %+v", jwks)
	}
	_, err = f.a.Authenticate(context.Background(), old)
	wantCode(t, err, conncred.EUnauthenticated)
}

func TestForgedAccessTokensAreRefused(t *testing.T) {
	f := newFixture(t, Config{})
	cred, s, _ := f.a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	// A token the client signs itself, in the server's format, with the
	// server's kid, must not verify.
	k, _ := f.a.keys.active()
	forged, err := signJWS(signWith(priv), accessHeader{Alg: "EdDSA", Kid: k.kid, Typ: "at+jwt"}, accessClaims{
		Iss: f.a.issuer, Sub: cred.ClientID, Exp: f.clock.Now().Add(time.Hour).Unix(), CredentialID: cred.ID, Kind: "admin",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{forged, "", "a.b.c", "not a token"} {
		_, err := f.a.Authenticate(context.Background(), tok)
		wantCode(t, err, conncred.EUnauthenticated)
	}
}
