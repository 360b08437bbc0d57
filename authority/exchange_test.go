package authority

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/secret"
)

// installVector stores the vector's credential (public key only) as a
// server that had issued it would have.
func installVector(t *testing.T, f *fixture, v interopVector) conncred.Credential {
	t.Helper()
	x, err := base64.RawURLEncoding.DecodeString(v.PublicKeyX)
	if err != nil {
		t.Fatal(err)
	}
	c := conncred.Credential{
		ID: ksuid.New(f.clock.Now()), Kind: conncred.KindAdmin, ClientID: v.ClientID, DisplayName: "vector",
		PublicKey: x, Thumbprint: secret.Thumbprint(x), CreatedAt: f.a.now(), UpdatedAt: f.a.now(),
	}
	if strings.HasSuffix(v.ClientID, "/ccc") {
		conn := f.connector(t)
		c.Kind, c.AppID, c.ConnectorID = conncred.KindConnector, conn.AppID, conn.ID
	}
	if err := f.store.CreateCredential(context.Background(), c, conncred.ActiveLimit{}); err != nil {
		t.Fatal(err)
	}
	return c
}

func wantTokenError(t *testing.T, err error, code, descPart string) {
	t.Helper()
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a *TokenError %s", err, code)
	}
	if te.Code != code || !strings.Contains(te.Description, descPart) {
		t.Fatalf("got %s %q, want %s containing %q", te.Code, te.Description, code, descPart)
	}
}

func TestInteropVectors(t *testing.T) {
	for name, v := range loadVectors(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			newVectorFixture := func(t *testing.T, host string) (*fixture, conncred.Credential) {
				f := newFixture(t, Config{PublicHost: host})
				f.clock.Set(v.CapturedAt)
				return f, installVector(t, f, v)
			}

			t.Run("accepted once then refused as a replay", func(t *testing.T) {
				f, cred := newVectorFixture(t, v.PublicHost)
				tok, err := f.a.Exchange(ctx, v.request())
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if tok.AccessToken == "" || tok.ExpiresIn != 3600 {
					t.Fatalf("token: got %+v", tok)
				}
				p, err := f.a.Authenticate(ctx, tok.AccessToken)
				if err != nil || p.CredentialID != cred.ID || p.ClientID != v.ClientID {
					t.Fatalf("Authenticate: %+v, %v", p, err)
				}
				_, err = f.a.Exchange(ctx, v.request())
				wantTokenError(t, err, ErrInvalidClient, "already been used")
			})

			t.Run("accepted at the edges of its window", func(t *testing.T) {
				for _, at := range []time.Duration{-120 * time.Second, 120*time.Second + 29*time.Second} {
					f, _ := newVectorFixture(t, v.PublicHost)
					f.clock.Set(v.CapturedAt.Truncate(time.Second).Add(at))
					if _, err := f.a.Exchange(ctx, v.request()); err != nil {
						t.Errorf("at iat%+v: %v", at, err)
					}
				}
			})

			t.Run("refused after exp plus skew", func(t *testing.T) {
				f, _ := newVectorFixture(t, v.PublicHost)
				f.clock.Set(v.CapturedAt.Truncate(time.Second).Add(150 * time.Second))
				_, err := f.a.Exchange(ctx, v.request())
				wantTokenError(t, err, ErrInvalidClient, "expired")
			})

			t.Run("refused before nbf minus skew", func(t *testing.T) {
				f, _ := newVectorFixture(t, v.PublicHost)
				f.clock.Set(v.CapturedAt.Truncate(time.Second).Add(-151 * time.Second))
				_, err := f.a.Exchange(ctx, v.request())
				wantTokenError(t, err, ErrInvalidClient, "not valid before")
			})

			t.Run("refused by a server with another public host", func(t *testing.T) {
				f, _ := newVectorFixture(t, "c1.other.test:8443")
				_, err := f.a.Exchange(ctx, v.request())
				wantTokenError(t, err, ErrInvalidClient, "aud must be")
			})

			t.Run("refused with any signature byte changed", func(t *testing.T) {
				f, _ := newVectorFixture(t, v.PublicHost)
				req := v.request()
				parts := strings.Split(req.Assertion, ".")
				sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
				for i := range sig {
					bad := append([]byte(nil), sig...)
					bad[i] ^= 0x01
					r := req
					r.Assertion = parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(bad)
					_, err := f.a.Exchange(ctx, r)
					wantTokenError(t, err, ErrInvalidClient, "client authentication failed")
				}
				// The genuine one still works: the tampered tries used no
				// replay record.
				if _, err := f.a.Exchange(ctx, req); err != nil {
					t.Fatalf("genuine after tampered: %v", err)
				}
			})

			t.Run("refused with the claims changed", func(t *testing.T) {
				f, _ := newVectorFixture(t, v.PublicHost)
				req := v.request()
				parts := strings.Split(req.Assertion, ".")
				claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
				forged := strings.Replace(string(claims), `"exp":17`, `"exp":18`, 1)
				req.Assertion = parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
				_, err := f.a.Exchange(ctx, req)
				if err == nil {
					t.Fatal("forged claims accepted")
				}
			})

			t.Run("refused once revoked", func(t *testing.T) {
				f, cred := newVectorFixture(t, v.PublicHost)
				if _, err := f.a.revoke(f.admin, cred); err != nil {
					t.Fatal(err)
				}
				_, err := f.a.Exchange(ctx, v.request())
				wantTokenError(t, err, ErrInvalidClient, "revoked")
			})

			t.Run("refused once expired", func(t *testing.T) {
				f, _ := newVectorFixtureExpired(t, v, v.CapturedAt.Add(-time.Second).Truncate(time.Microsecond))
				_, err := f.a.Exchange(ctx, v.request())
				wantTokenError(t, err, ErrInvalidClient, "expired at")
			})

			t.Run("refused with client_id other than iss", func(t *testing.T) {
				f, _ := newVectorFixture(t, v.PublicHost)
				req := v.request()
				req.ClientID = "someone-else-12345@" + v.PublicHost + "/ccc"
				_, err := f.a.Exchange(ctx, req)
				wantTokenError(t, err, ErrInvalidClient, "does not match")
			})
		})
	}
}

// newVectorFixtureExpired installs the vector's credential with an expiry
// already past at captured_at.
func newVectorFixtureExpired(t *testing.T, v interopVector, exp time.Time) (*fixture, conncred.Credential) {
	f := newFixture(t, Config{PublicHost: v.PublicHost})
	f.clock.Set(v.CapturedAt)
	x, _ := base64.RawURLEncoding.DecodeString(v.PublicKeyX)
	created := exp.Add(-time.Hour)
	c := conncred.Credential{
		ID: ksuid.New(created), Kind: conncred.KindAdmin, ClientID: v.ClientID, DisplayName: "vector",
		PublicKey: x, Thumbprint: secret.Thumbprint(x), CreatedAt: created, UpdatedAt: created, ExpiresAt: &exp,
	}
	if err := f.store.CreateCredential(context.Background(), c, conncred.ActiveLimit{}); err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestAssertionWithoutNonceIsSingleUse(t *testing.T) {
	f := newFixture(t, Config{})
	cred, s, _ := f.a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	a := officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now())
	delete(a.header, "nonce")
	tok := a.sign(t, priv)
	if _, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, tok)); err != nil {
		t.Fatal(err)
	}
	_, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, tok))
	wantTokenError(t, err, ErrInvalidClient, "already been used")
}
