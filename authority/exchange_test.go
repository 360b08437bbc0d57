package authority

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
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

func TestHostileAssertions(t *testing.T) {
	f := newFixture(t, Config{PublicHost: "c1.example.test:8443"})
	ctx := context.Background()
	cred, s, err := f.a.CreateAdmin(f.admin, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := secret.Parse(s.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	now := f.clock.Now()
	good := func() assertion { return officialAssertion(cred.ClientID, "c1.example.test", now) }
	b64 := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name     string
		req      func() TokenRequest
		code     string
		descPart string
	}{
		{"alg none", func() TokenRequest {
			a := good()
			tok := b64([]byte(`{"alg":"none"}`)) + "." + b64(mustJSON(a.claims)) + "."
			return tokenReq(cred.ClientID, tok)
		}, ErrInvalidClient, "malformed"},
		{"alg HS256", func() TokenRequest {
			a := good()
			a.header["alg"] = "HS256"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "alg must be EdDSA"},
		{"alg RS256", func() TokenRequest {
			a := good()
			a.header["alg"] = "RS256"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "alg must be EdDSA"},
		{"embedded jwk", func() TokenRequest {
			a := good()
			a.header["jwk"] = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(otherPriv.Public().(ed25519.PublicKey))}
			return tokenReq(cred.ClientID, a.sign(t, otherPriv))
		}, ErrInvalidClient, "refuses"},
		{"jku header", func() TokenRequest {
			a := good()
			a.header["jku"] = "https://evil.example/keys"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "refuses"},
		{"crit header", func() TokenRequest {
			a := good()
			a.header["crit"] = []string{"exp"}
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "refuses"},
		{"other key", func() TokenRequest { return tokenReq(cred.ClientID, good().sign(t, otherPriv)) }, ErrInvalidClient, "client authentication failed"},
		{"unknown client", func() TokenRequest {
			a := good()
			id := "lost-lamb-10000@c1.example.test:8443/pcc"
			a.claims["iss"], a.claims["sub"] = id, id
			return tokenReq(id, a.sign(t, priv))
		}, ErrInvalidClient, "client authentication failed"},
		{"other audience", func() TokenRequest {
			a := good()
			a.claims["aud"] = "c1.other.test"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "aud must be"},
		{"no audience", func() TokenRequest {
			a := good()
			delete(a.claims, "aud")
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "aud must be"},
		{"expired", func() TokenRequest {
			a := good()
			a.claims["exp"] = now.Add(-31 * time.Second).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "expired"},
		{"no exp", func() TokenRequest {
			a := good()
			delete(a.claims, "exp")
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "must have exp"},
		{"not yet valid", func() TokenRequest {
			a := good()
			a.claims["nbf"] = now.Add(time.Minute).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "not valid before"},
		{"issued in the future without nbf", func() TokenRequest {
			a := good()
			delete(a.claims, "nbf")
			a.claims["iat"] = now.Add(time.Minute).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "in the future"},
		{"too long-lived", func() TokenRequest {
			a := good()
			a.claims["exp"] = now.Add(6 * time.Minute).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "too far ahead"},
		{"too long-lived without iat", func() TokenRequest {
			a := good()
			delete(a.claims, "iat")
			a.claims["exp"] = now.Add(24 * time.Hour).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "too far ahead"},
		{"lifetime over the maximum inside the window", func() TokenRequest {
			a := good()
			a.claims["iat"] = now.Add(-3 * time.Minute).Unix()
			a.claims["nbf"] = now.Add(-3 * time.Minute).Unix()
			a.claims["exp"] = now.Add(150 * time.Second).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "lifetime"},
		// The outside probe's assertion: iat = exp - 60 s with exp a year
		// ahead, nbf two minutes ago. Its lifetime from iat looks short,
		// but the server's clock says it would be redeemable for a year.
		{"exp a year ahead with iat near it and nbf in the past", func() TokenRequest {
			a := good()
			exp := now.Add(365 * 24 * time.Hour)
			a.claims["exp"], a.claims["iat"], a.claims["nbf"] = exp.Unix(), exp.Add(-time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "too far ahead"},
		{"exp a year ahead with nbf 0", func() TokenRequest {
			a := good()
			exp := now.Add(365 * 24 * time.Hour)
			a.claims["exp"], a.claims["iat"], a.claims["nbf"] = exp.Unix(), exp.Add(-time.Minute).Unix(), 0
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "too far ahead"},
		{"exp 99999999999", func() TokenRequest {
			a := good()
			a.claims["exp"] = int64(99999999999)
			delete(a.claims, "iat")
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "too far ahead"},
		{"nbf 0 in a short window", func() TokenRequest {
			a := good()
			a.claims["nbf"] = 0
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "nbf"},
		{"iat long ago", func() TokenRequest {
			a := good()
			delete(a.claims, "nbf")
			a.claims["iat"] = now.Add(-10 * time.Minute).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "iat"},
		{"iat after exp", func() TokenRequest {
			a := good()
			a.claims["iat"] = now.Add(3 * time.Minute).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "in the future"},
		{"exp past the NumericDate range", func() TokenRequest {
			a := good()
			a.claims["exp"] = json.Number("1e400")
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "exp is out of range"},
		{"negative exp", func() TokenRequest {
			a := good()
			a.claims["exp"] = -1
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "exp is out of range"},
		{"exp as numeric string", func() TokenRequest {
			a := good()
			a.claims["exp"] = "99999999999"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "exp must be a JSON number"},
		{"exp as bool", func() TokenRequest {
			a := good()
			a.claims["exp"] = true
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "exp must be a JSON number"},
		{"exp null", func() TokenRequest {
			a := good()
			a.claims["exp"] = nil
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "exp must be a JSON number"},
		{"exp as object", func() TokenRequest {
			a := good()
			a.claims["exp"] = map[string]int64{"v": now.Unix()}
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "exp must be a JSON number"},
		{"iat as string", func() TokenRequest {
			a := good()
			a.claims["iat"] = fmt.Sprint(now.Unix())
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "iat must be a JSON number"},
		{"nbf as string", func() TokenRequest {
			a := good()
			a.claims["nbf"] = fmt.Sprint(now.Unix())
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "nbf must be a JSON number"},
		// Member names are case-sensitive (RFC 7515 §4, RFC 7519 §4).
		{"alg none beside ALG EdDSA", func() TokenRequest {
			a := good()
			a.header["alg"], a.header["ALG"] = "none", "EdDSA"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "alg must be EdDSA"},
		{"only ALG", func() TokenRequest {
			a := good()
			delete(a.header, "alg")
			a.header["ALG"] = "EdDSA"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "alg must be EdDSA"},
		{"JWK in upper case is ignored, not trusted", func() TokenRequest {
			a := good()
			a.header["JWK"] = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(otherPriv.Public().(ed25519.PublicKey))}
			return tokenReq(cred.ClientID, a.sign(t, otherPriv))
		}, ErrInvalidClient, "client authentication failed"},
		{"aud elsewhere beside AUD here", func() TokenRequest {
			a := good()
			a.claims["AUD"], a.claims["aud"] = a.claims["aud"], "evil.example"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "aud must be"},
		{"only Aud", func() TokenRequest {
			a := good()
			a.claims["Aud"] = a.claims["aud"]
			delete(a.claims, "aud")
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "aud must be"},
		{"only EXP", func() TokenRequest {
			a := good()
			a.claims["EXP"] = a.claims["exp"]
			delete(a.claims, "exp")
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "must have exp"},
		{"ISS and SUB for another client", func() TokenRequest {
			a := good()
			a.claims["ISS"], a.claims["SUB"] = "x@y/z", "x@y/z"
			delete(a.claims, "iss")
			delete(a.claims, "sub")
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "iss and sub"},
		{"duplicate name inside aud", func() TokenRequest {
			a := good()
			a.claims["aud"] = []any{a.claims["aud"], "x"}
			claims := strings.Replace(string(mustJSON(a.claims)), `"aud":[`, `"aud":[{"a":1,"a":2},`, 1)
			hdr := b64(mustJSON(a.header))
			in := hdr + "." + b64([]byte(claims))
			return tokenReq(cred.ClientID, in+"."+b64(ed25519.Sign(priv, []byte(in))))
		}, ErrInvalidClient, "aud must be"},
		{"iss differs from sub", func() TokenRequest {
			a := good()
			a.claims["sub"] = "x@y/z"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "iss and sub"},
		{"exp as string", func() TokenRequest {
			a := good()
			a.claims["exp"] = "tomorrow"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "exp must be a JSON number"},
		{"duplicate claim", func() TokenRequest {
			a := good()
			claims := strings.Replace(string(mustJSON(a.claims)), "{", `{"iss":"x@y/z",`, 1)
			hdr := b64(mustJSON(a.header))
			in := hdr + "." + b64([]byte(claims))
			return tokenReq(cred.ClientID, in+"."+b64(ed25519.Sign(priv, []byte(in))))
		}, ErrInvalidClient, "twice"},
		{"claims not JSON", func() TokenRequest {
			hdr := b64(mustJSON(good().header))
			in := hdr + "." + b64([]byte("not json"))
			return tokenReq(cred.ClientID, in+"."+b64(ed25519.Sign(priv, []byte(in))))
		}, ErrInvalidClient, "claims are not"},
		{"truncated", func() TokenRequest {
			s := good().sign(t, priv)
			return tokenReq(cred.ClientID, s[:len(s)-20])
		}, ErrInvalidClient, "malformed"},
		{"two parts", func() TokenRequest {
			s := good().sign(t, priv)
			return tokenReq(cred.ClientID, s[:strings.LastIndex(s, ".")])
		}, ErrInvalidClient, "malformed"},
		{"oversized", func() TokenRequest {
			a := good()
			a.claims["pad"] = strings.Repeat("A", 10000)
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ErrInvalidClient, "too large"},
		{"wrong grant type", func() TokenRequest {
			r := tokenReq(cred.ClientID, good().sign(t, priv))
			r.GrantType = "password"
			return r
		}, ErrUnsupportedGrantType, "client_credentials"},
		{"missing assertion", func() TokenRequest { return tokenReq(cred.ClientID, "") }, ErrInvalidRequest, "client_assertion is required"},
		{"wrong assertion type", func() TokenRequest {
			r := tokenReq(cred.ClientID, good().sign(t, priv))
			r.AssertionType = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
			return r
		}, ErrInvalidRequest, "client_assertion_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.a.Exchange(ctx, tc.req())
			wantTokenError(t, err, tc.code, tc.descPart)
		})
	}

	// After all that, a well-formed assertion still works.
	if _, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, good().sign(t, priv))); err != nil {
		t.Fatalf("good assertion after hostile ones: %v", err)
	}
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

// TestReplayKey: one assertion has one key however often it is sent,
// different assertions have different keys, and keys sort by exp, which is
// what keeps the replay table's inserts together (see replayKey).
func TestReplayKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	now := t0
	parse := func(a assertion) *compactJWS {
		t.Helper()
		j, err := parseJWS(a.sign(t, priv))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	a := officialAssertion("c@h/ccc", "h", now)
	first := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(a))
	if again := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(a)); again != first {
		t.Fatalf("one assertion, two keys: %q, %q", first, again)
	}
	other := officialAssertion("c@h/ccc", "h", now)
	other.header["nonce"] = "another-nonce"
	if k := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(other)); k == first {
		t.Fatal("two nonces, one key")
	}
	if k := replayKey(now.Add(2*time.Minute), "c@h/ccc", "jti-1", parse(a)); k == first {
		t.Fatal("a jti does not change the key")
	}
	noNonce := officialAssertion("c@h/ccc", "h", now)
	delete(noNonce.header, "nonce")
	if k := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(noNonce)); k == first {
		t.Fatal("an assertion without a nonce has the key of one with")
	}
	// Later exps sort later, across a change in the number of digits of
	// the seconds, and the key never reveals the nonce.
	for _, pair := range [][2]time.Time{{now, now.Add(time.Second)}, {time.Unix(9_999_999_999, 0), time.Unix(10_000_000_000, 0)}} {
		early, late := replayKey(pair[0], "c@h/ccc", "", parse(a)), replayKey(pair[1], "c@h/ccc", "", parse(a))
		if !(early < late) {
			t.Errorf("key for exp %v does not sort before the key for %v: %q, %q", pair[0], pair[1], early, late)
		}
	}
	if strings.Contains(first, a.header["nonce"].(string)) {
		t.Errorf("key %q carries the nonce", first)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// replayCounter keeps replay records in memory, to count them.
type replayCounter struct {
	conncred.Store
	mu      sync.Mutex
	expires map[string]time.Time
}

func (c *replayCounter) UseAssertion(_ context.Context, key string, exp time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.expires[key]; ok {
		return conncred.Errorf(conncred.EConflict, "used")
	}
	c.expires[key] = exp
	return nil
}

func (c *replayCounter) SweepAssertions(_ context.Context, before time.Time, n int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deleted := 0
	for k, exp := range c.expires {
		if deleted == n {
			break
		}
		if exp.Before(before) {
			delete(c.expires, k)
			deleted++
		}
	}
	return deleted, nil
}

func (c *replayCounter) live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.expires)
}

// TestReplayRecordsBounded: the replay records kept are those of the last
// assertion lifetime (+ skew + sweep interval), whatever the rate: a sweep
// deletes every expired record, hundreds of thousands if need be, not a
// fixed number per tick that a busy server outruns.
func TestReplayRecordsBounded(t *testing.T) {
	f := newFixture(t, Config{})
	rc := &replayCounter{Store: f.store, expires: map[string]time.Time{}}
	a, err := New(context.Background(), Config{}, rc, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	// A backlog far over one tick's worth of the old fixed sweep (100,000).
	for i := range 250_000 {
		rc.expires[fmt.Sprintf("old-%d", i)] = f.clock.Now().Add(-time.Second)
	}
	if n, _ := a.sweepAssertions(context.Background()); n != 250_000 || rc.live() != 0 {
		t.Fatalf("sweep deleted %d of 250000 expired records; %d left", n, rc.live())
	}

	// Exchanges at a steady rate for longer than an assertion lives: the
	// records level off at rate × (lifetime + skew + sweep interval).
	cred, s, _ := a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	const perSecond = 2
	// officialAssertion's exp is now + 2 min; the record lives 30 s more.
	bound := perSecond * int((2*time.Minute+a.cfg.ClockSkew+replaySweepEvery)/time.Second)
	peak := 0
	for sec := range 600 {
		for range perSecond {
			as := officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now())
			if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, as.sign(t, priv))); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second / perSecond)
		}
		if sec%int(replaySweepEvery/time.Second) == 0 {
			a.sweepAssertions(context.Background())
		}
		peak = max(peak, rc.live())
	}
	if peak > bound || peak < bound/2 {
		t.Fatalf("replay records peaked at %d; want at most rate × (lifetime + skew + sweep interval) = %d, and near it", peak, bound)
	}
}

// TestReplayRecordsHostileExp: whatever exp, nbf and iat an assertion
// claims, a replay record written for it expires within lifetime + 2×skew
// of being written (exp <= now + lifetime + skew, kept until exp + skew),
// its key keeps one width and sorts by expiry, and the table levels off at
// rate × (lifetime + 2×skew + sweep interval) under a stream of assertions
// with the longest exp accepted, mixed with hostile ones that are refused.
func TestReplayRecordsHostileExp(t *testing.T) {
	f := newFixture(t, Config{})
	rc := &replayCounter{Store: f.store, expires: map[string]time.Time{}}
	a, err := New(context.Background(), Config{}, rc, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cred, s, _ := a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	life, skew := a.cfg.MaxAssertionLifetime, a.cfg.ClockSkew

	n := 0
	sign := func(now time.Time, claims map[string]any) string {
		n++
		as := officialAssertion(cred.ClientID, "127.0.0.1", now)
		as.header["nonce"] = fmt.Sprintf("nonce-%08d", n)
		maps.Copy(as.claims, claims)
		return as.sign(t, priv)
	}
	hostile := func(now time.Time) []map[string]any {
		year := now.Add(365 * 24 * time.Hour)
		return []map[string]any{
			{"exp": year.Unix(), "iat": year.Add(-time.Minute).Unix(), "nbf": now.Add(-2 * time.Minute).Unix()},
			{"exp": year.Unix(), "iat": year.Add(-time.Minute).Unix(), "nbf": 0},
			{"exp": int64(99999999999), "iat": nil, "nbf": nil},
			{"exp": now.Add(life + skew + time.Second).Unix(), "iat": now.Unix()},
			{"exp": "99999999999"},
		}
	}

	const perSecond = 2
	bound := perSecond * int((life+2*skew+replaySweepEvery)/time.Second)
	peak, width := 0, 0
	for sec := range 900 {
		for range perSecond {
			now := f.clock.Now()
			for _, c := range hostile(now) {
				for k, v := range c {
					if v == nil {
						delete(c, k)
					}
				}
				if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, sign(now, c))); err == nil {
					t.Fatalf("hostile claims %v accepted at %v", c, now)
				}
			}
			// The longest-lived assertion the server accepts: exp at the
			// edge of the window, iat as late as that allows, nbf as far back as allowed.
			longest := map[string]any{"exp": now.Add(life + skew).Unix(), "iat": now.Add(skew).Unix(), "nbf": now.Add(-(life + skew)).Unix() + 1}
			before := rc.snapshot()
			if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, sign(now, longest))); err != nil {
				t.Fatalf("the longest assertion the window allows was refused: %v", err)
			}
			for k, exp := range rc.snapshot() {
				if _, old := before[k]; old {
					continue
				}
				if limit := now.Add(life + 2*skew); exp.After(limit) {
					t.Fatalf("record %q written at %v expires at %v, after %v", k, now, exp, limit)
				}
				if width == 0 {
					width = len(k)
				} else if len(k) != width {
					t.Fatalf("record key %q is %d bytes; earlier keys were %d", k, len(k), width)
				}
			}
			f.clock.Advance(time.Second / perSecond)
		}
		if sec%int(replaySweepEvery/time.Second) == 0 {
			a.sweepAssertions(context.Background())
		}
		peak = max(peak, rc.live())
	}
	if peak > bound {
		t.Fatalf("replay records peaked at %d; want at most rate × (lifetime + 2×skew + sweep interval) = %d", peak, bound)
	}
	// The authority's own sweep also runs as the fake clock advances, so
	// the records are read under the counter's lock.
	live := rc.snapshot()
	keys := slices.Collect(maps.Keys(live))
	slices.Sort(keys)
	for i := 1; i < len(keys); i++ {
		if live[keys[i]].Before(live[keys[i-1]]) {
			t.Fatalf("key %q sorts after %q but expires earlier", keys[i], keys[i-1])
		}
	}
}

func (c *replayCounter) snapshot() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.expires)
}
