package authority

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"github.com/conncred/conncred/internal/edverify"
	"github.com/conncred/conncred/secret"
)

// Client assertions and access tokens are verified with internal/edverify
// (curve25519-voi, each key decoded once: sigChecker), which must answer
// exactly what crypto/ed25519 answers. These tests hold it to that on the
// signatures this package sees: the interop vectors, every row of the
// hostile table and the server's own tokens, each also spoiled in the ways
// that separate Ed25519 verifiers (non-canonical S, small-order and
// non-canonical R, small-order keys), through each of the sigChecker's
// modes. internal/edverify fuzzes the same property over random and
// crafted inputs.

// groupOrder is ℓ, the order of the Ed25519 base point.
var groupOrder, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// spoiled returns sig as is and, if it has a signature's length, spoiled
// in every way the tests try.
func spoiled(tb testing.TB, sig []byte) map[string][]byte {
	tb.Helper()
	if len(sig) != ed25519.SignatureSize {
		return map[string][]byte{"as signed": slices.Clone(sig)}
	}
	with := func(f func(s []byte)) []byte {
		s := slices.Clone(sig)
		f(s)
		return s
	}
	out := map[string][]byte{
		"as signed":             slices.Clone(sig),
		"R bit flipped":         with(func(s []byte) { s[3] ^= 0x10 }),
		"S bit flipped":         with(func(s []byte) { s[40] ^= 0x01 }),
		"S top bits set":        with(func(s []byte) { s[63] |= 0xe0 }),
		"R identity":            with(func(s []byte) { copy(s[:32], identityEnc()) }),
		"R of order 2":          with(func(s []byte) { copy(s[:32], order2Enc()) }),
		"R identity, y = p + 1": with(func(s []byte) { copy(s[:32], nonCanonicalIdentity()) }),
		"R sign bit flipped":    with(func(s []byte) { s[31] ^= 0x80 }),
	}
	// S + ℓ: the same scalar, non-canonically encoded. RFC 8032 and
	// crypto/ed25519 refuse it; some verifiers reduce it and accept.
	S := new(big.Int).SetBytes(reversed(sig[32:]))
	S.Add(S, groupOrder)
	out["S + ℓ"] = with(func(s []byte) { copy(s[32:], reversed(S.FillBytes(make([]byte, 32)))) })
	return out
}

func reversed(b []byte) []byte {
	r := slices.Clone(b)
	slices.Reverse(r)
	return r
}

func identityEnc() []byte { return edwards25519.NewIdentityPoint().Bytes() }

// order2Enc is (0, -1): y = p - 1, x = 0.
func order2Enc() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0xff
	}
	b[0], b[31] = 0xec, 0x7f
	return b
}

// nonCanonicalIdentity encodes y = p + 1, which reduces to y = 1.
func nonCanonicalIdentity() []byte {
	b := order2Enc()
	b[0] = 0xee
	return b
}

// sameAnswers fails t if edverify and crypto/ed25519 answer differently
// for pub, msg and any spoiling of sig.
func sameAnswers(t *testing.T, pub, msg, sig []byte) {
	t.Helper()
	vk := edverify.NewPublicKey(pub)
	for how, s := range spoiled(t, sig) {
		got, want := vk.Verify(msg, s), ed25519.Verify(pub, msg, s)
		if got != want {
			t.Errorf("signature %s: edverify says %v, crypto/ed25519 says %v", how, got, want)
		}
	}
}

// splitJWS returns what a compact JWS's signature covers and the
// signature, or ok false if s does not have three parts.
func splitJWS(s string) (signed, sig []byte, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 || strings.Count(s, ".") != 2 {
		return nil, nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(s[i+1:])
	if err != nil {
		return nil, nil, false
	}
	return []byte(s[:i]), sig, true
}

func TestCachedKeyVerifyRefusesWhatStdlibRefuses(t *testing.T) {
	// The server's own access tokens, as Authenticate verifies them.
	f := newFixture(t, Config{PublicHost: "c1.example.test:8443"})
	cred, s, err := f.a.CreateAdmin(f.admin, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := secret.Parse(s.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	tok, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "c1.example.test", now).sign(t, priv)))
	if err != nil {
		t.Fatal(err)
	}
	k, ok := f.a.keys.active()
	if !ok {
		t.Fatal("no active signing key")
	}
	msg, sig, ok := splitJWS(tok.AccessToken)
	if !ok {
		t.Fatalf("access token %q is not a compact JWS", tok.AccessToken)
	}
	t.Run("access token", func(t *testing.T) { sameAnswers(t, k.pub, msg, sig) })

	// Keys of small order: crypto/ed25519 accepts, for the identity key, any
	// message with R = [S]B; the cached key must say the same.
	t.Run("identity key", func(t *testing.T) {
		S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
		if err != nil {
			t.Fatal(err)
		}
		forged := append(new(edwards25519.Point).ScalarBaseMult(S).Bytes(), sig[32:]...)
		sameAnswers(t, identityEnc(), msg, forged)
		sameAnswers(t, order2Enc(), msg, forged)
		sameAnswers(t, nonCanonicalIdentity(), msg, forged)
	})

	t.Run("interop vectors", func(t *testing.T) {
		for name, v := range loadVectors(t) {
			pub, err := base64.RawURLEncoding.DecodeString(v.PublicKeyX)
			if err != nil || len(pub) != ed25519.PublicKeySize {
				t.Fatalf("%s: public_key_x is not a 32-byte base64url key: %v", name, err)
			}
			msg, sig, ok := splitJWS(v.request().Assertion)
			if !ok {
				t.Fatalf("%s: client_assertion is not a compact JWS", name)
			}
			if !ed25519.Verify(pub, msg, sig) {
				t.Fatalf("%s: crypto/ed25519 refuses the vector as captured", name)
			}
			t.Run(name, func(t *testing.T) { sameAnswers(t, pub, msg, sig) })
		}
	})

	t.Run("hostile table", func(t *testing.T) {
		_, otherPriv, _ := ed25519.GenerateKey(nil)
		otherPub := otherPriv.Public().(ed25519.PublicKey)
		for _, tc := range hostileAssertions(t, cred, priv, otherPriv, now) {
			msg, sig, ok := splitJWS(tc.req().Assertion)
			if !ok {
				continue // no signature to check: refused before verification
			}
			t.Run(tc.name, func(t *testing.T) {
				sameAnswers(t, cred.PublicKey, msg, sig)
				sameAnswers(t, otherPub, msg, sig)
			})
		}
	})
}

// TestAuthenticateRefusesSpoiledSignatures is the same property where it
// matters: Authenticate, in every sigChecker mode, takes the token as
// signed and refuses every spoiling of its signature, as crypto/ed25519
// does; and so does the exchange for the client's assertion.
func TestAuthenticateRefusesSpoiledSignatures(t *testing.T) {
	for _, v := range verifiers {
		t.Run(v.name, func(t *testing.T) {
			f := newFixture(t, Config{PublicHost: "c1.example.test:8443"})
			useVerifier(t, f.a, v.set)
			cred, s, err := f.a.CreateAdmin(f.admin, CredentialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			priv, err := secret.Parse(s.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			assertion := officialAssertion(cred.ClientID, "c1.example.test", f.clock.Now()).sign(t, priv)
			tok, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, assertion))
			if err != nil {
				t.Fatal(err)
			}
			k, _ := f.a.keys.active()
			msg, sig, _ := splitJWS(tok.AccessToken)
			for how, s := range spoiled(t, sig) {
				token := string(msg) + "." + base64.RawURLEncoding.EncodeToString(s)
				_, err := f.a.Authenticate(ctx, token)
				if got, want := err == nil, ed25519.Verify(k.pub, msg, s); got != want {
					t.Errorf("access token signature %s: Authenticate accepts: %v (err %v); crypto/ed25519 accepts: %v", how, got, err, want)
				}
			}
			// The assertion was used once; spoiled copies are new signatures
			// of the same claims, refused before the replay record unless
			// crypto/ed25519 accepts them.
			amsg, asig, _ := splitJWS(assertion)
			for how, s := range spoiled(t, asig) {
				if how == "as signed" {
					continue
				}
				spoiledAssertion := string(amsg) + "." + base64.RawURLEncoding.EncodeToString(s)
				_, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, spoiledAssertion))
				want := ed25519.Verify(cred.PublicKey, amsg, s)
				var te *TokenError
				refusedAsBadSig := errors.As(err, &te) && te.Reason == "bad signature"
				if refusedAsBadSig == want {
					t.Errorf("assertion signature %s: refused as a bad signature: %v (err %v); crypto/ed25519 accepts: %v", how, refusedAsBadSig, err, want)
				}
			}
		})
	}
}
