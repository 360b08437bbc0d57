package authority

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func FuzzParseJWS(f *testing.F) {
	for _, v := range []string{
		"eyJhbGciOiJFZERTQSIsIm5vbmNlIjoiOWU5NTZhNTM1YTUwY2IzZmQ1MjZiMDY5NDcwNjA2OGQifQ.eyJpc3MiOiJ4In0.AAAA",
		"eyJhbGciOiJub25lIn0.e30.",
		"a.b.c", "..", "",
	} {
		f.Add(v)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	f.Fuzz(func(t *testing.T, in string) {
		j, err := parseJWS(in)
		if err != nil {
			return
		}
		if j.header.Alg != "EdDSA" || len(j.sig) != ed25519.SignatureSize {
			t.Fatalf("parseJWS accepted alg %q sig %d bytes", j.header.Alg, len(j.sig))
		}
		_ = j.verify(pub)
	})
}

// FuzzExchange drives the whole token exchange with arbitrary assertions and
// client ids: every refusal must be a clean *TokenError, never a panic or an
// internal error.
func FuzzExchange(f *testing.F) {
	fx := newFixture(f, Config{PublicHost: "c1.example.test:8443"})
	cred, s, err := fx.a.CreateAdmin(fx.admin, CredentialOptions{})
	if err != nil {
		f.Fatal(err)
	}
	_ = s
	for _, v := range loadVectors(f) {
		f.Add(v.ClientID, v.Request.Form["client_assertion"])
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	f.Add(cred.ClientID, officialAssertion(cred.ClientID, "c1.example.test", t0).sign(f, priv))
	f.Add("", "")
	f.Fuzz(func(t *testing.T, clientID, assertion string) {
		fx.clock.Set(t0.Add(time.Duration(len(assertion)) * time.Second))
		_, err := fx.a.Exchange(context.Background(), tokenReq(clientID, assertion))
		var te *TokenError
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("Exchange(%q, %q): not a TokenError: %v", clientID, assertion, err)
		}
	})
}

// FuzzDecodeHeader holds decodeHeader to a plain reference: the header is a
// JSON object (null, arrays and scalars refused), it names no member twice
// (members it ignores may hold anything), none is in refusedHeaderMembers, member names match
// exactly (RFC 7515 §4: "ALG" is not "alg"), and what it returns is what
// the exactly named members hold.
func FuzzDecodeHeader(f *testing.F) {
	for _, v := range []string{
		`{"alg":"EdDSA","nonce":"n"}`, `{"alg":"EdDSA","alg":"none"}`, `{"alg":"EdDSA","jwk":{}}`,
		`null`, `[]`, `"x"`, `{"alg":"EdDSA"} x`, `{"alg":5}`, `{"a":{"jwk":1},"alg":"EdDSA"}`, ` {"kid":"k","KID":"K"} `,
		`{"alg":"none","ALG":"EdDSA"}`, `{"ALG":"EdDSA"}`, `{"Alg":"EdDSA","alg":"EdDSA"}`, `{"alg":"EdDSA","JWK":{}}`,
		`{"alg":"EdDSA","x":{"a":1,"a":2}}`, `{"alg":"EdDSA","kid":"a","kid":"a"}`, `{"\u0061lg":"EdDSA"}`, `{"alg":null}`, `{"alg":"EdDSA","crit":null}`,
	} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHeader(b)
		want, wantOK := referenceHeader(b)
		if (err == nil) != wantOK || (err == nil && h != want) {
			t.Fatalf("decodeHeader(%q) = %+v, %v; the reference says %+v, ok=%v", b, h, err, want, wantOK)
		}
	})
}

// referenceHeader is decodeHeader written the slow, obvious way: decode to
// a map (which must be a non-nil object; map keys are exact), look for
// refused names, count the top-level names by walking the tokens, then read each
// understood member from the map by its exact name.
func referenceHeader(b []byte) (jwsHeader, bool) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return jwsHeader{}, false
	}
	for _, m := range refusedHeaderMembers {
		if _, ok := raw[m]; ok {
			return jwsHeader{}, false
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token() // {
	names := 0
	for dec.More() {
		dec.Token()
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return jwsHeader{}, false
		}
		names++
	}
	if names != len(raw) {
		return jwsHeader{}, false // a name given twice
	}
	var h jwsHeader
	for name, dst := range map[string]*string{"alg": &h.Alg, "kid": &h.Kid, "typ": &h.Typ, "nonce": &h.Nonce} {
		if v, ok := raw[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return jwsHeader{}, false
			}
		}
	}
	return h, true
}
