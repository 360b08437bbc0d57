package authority

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

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
	for _, tc := range hostileAssertions(t, cred, priv, otherPriv, now) {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.a.Exchange(ctx, tc.req())
			wantTokenError(t, err, tc.code, tc.descPart)
		})
	}

	// After all that, a well-formed assertion still works.
	if _, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "c1.example.test", now).sign(t, priv))); err != nil {
		t.Fatalf("good assertion after hostile ones: %v", err)
	}
}

// hostileCase is one row of the hostile table: a token request and the
// error it must get.
type hostileCase struct {
	name     string
	req      func() TokenRequest
	code     string
	descPart string
}

// hostileAssertions is the hostile table for cred (audience
// c1.example.test, signed by priv, or by otherPriv where a row says so) at
// now. TestHostileAssertions sends every row to the token endpoint;
// TestCachedKeyVerifyRefusesWhatStdlibRefuses checks every row's signature.
func hostileAssertions(t *testing.T, cred conncred.Credential, priv, otherPriv ed25519.PrivateKey, now time.Time) []hostileCase {
	t.Helper()
	good := func() assertion { return officialAssertion(cred.ClientID, "c1.example.test", now) }
	b64 := base64.RawURLEncoding.EncodeToString

	return []hostileCase{
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
}
