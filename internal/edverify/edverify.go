// Package edverify verifies Ed25519 signatures exactly as crypto/ed25519
// does, faster where that is possible without changing a single answer.
//
// Two things are offered:
//
//   - PublicKey decodes a key once. crypto/ed25519.Verify decodes the
//     public key (a field square root) on every call; the key ring and the
//     credential cache hold the same few keys for hours, so the decoded
//     point is kept beside the bytes. PublicKey.Verify is the RFC 8032
//     cofactorless check crypto/ed25519 makes, step for step, over
//     filippo.io/edwards25519 (the same code the standard library vendors).
//
//   - VerifyBatch checks many signatures with one multi-scalar
//     multiplication and returns, for every item, exactly what
//     crypto/ed25519.Verify returns. See batch.go for how it is kept exact
//     and what that costs.
//
// No field or curve arithmetic is written here: points, scalars and
// multi-scalar multiplication come from filippo.io/edwards25519.
package edverify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"

	"filippo.io/edwards25519"
)

// PublicKey is an Ed25519 public key with its point decoded once. The
// zero value is not usable; make one with NewPublicKey.
type PublicKey struct {
	raw  [ed25519.PublicKeySize]byte
	negA edwards25519.Point // -A, as the verification equation uses it
	// decoded: raw is a point encoding crypto/ed25519 accepts (it accepts
	// non-canonical encodings of y; so does edwards25519.Point.SetBytes).
	decoded bool
	// batchable: A is canonically encoded and in the prime-order subgroup,
	// so a cofactored batch equation over it says what the cofactorless
	// single check says (batch.go). Small-order, mixed-order and
	// non-canonical keys are always verified one at a time.
	batchable bool
}

// NewPublicKey decodes pub. It never fails: a key of the wrong length or
// not on the curve verifies nothing, as with crypto/ed25519 (which panics
// on a wrong length; a stored key of the wrong length is data, not a bug).
func NewPublicKey(pub []byte) *PublicKey {
	k := &PublicKey{}
	if len(pub) != ed25519.PublicKeySize {
		return k
	}
	copy(k.raw[:], pub)
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return k
	}
	k.negA.Negate(A)
	k.decoded = true
	k.batchable = bytes.Equal(A.Bytes(), pub) && A.Equal(edwards25519.NewIdentityPoint()) == 0 && torsionFree(A)
	return k
}

// Bytes returns the key's 32-byte encoding as given.
func (k *PublicKey) Bytes() []byte { return bytes.Clone(k.raw[:]) }

// Verify reports whether sig is a valid Ed25519 signature of msg by k,
// with the answer crypto/ed25519.Verify gives (FuzzVerify checks this).
func (k *PublicKey) Verify(msg, sig []byte) bool {
	if !k.decoded || len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	h := k.challenge(sig[:32], msg)
	// [S]B = R + [h]A, so [h](-A) + [S]B must encode as R.
	R := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(h, &k.negA, S)
	return bytes.Equal(sig[:32], R.Bytes())
}

// challenge is RFC 8032's SHA-512(R || A || M) reduced mod ℓ, over the
// key's bytes as given (as crypto/ed25519 hashes them).
func (k *PublicKey) challenge(R, msg []byte) *edwards25519.Scalar {
	var digest [sha512.Size]byte
	h := sha512.New()
	h.Write(R)
	h.Write(k.raw[:])
	h.Write(msg)
	s, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		panic("edverify: a 64-byte digest is always a uniform scalar")
	}
	return s
}

// lMinusOne is ℓ-1 (ℓ the prime order of the base point), little-endian.
// A scalar holds values below ℓ, so [ℓ]P is computed as [ℓ-1]P + P.
var lMinusOne = mustScalar([]byte{
	0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
})

var zero = edwards25519.NewScalar()

func mustScalar(b []byte) *edwards25519.Scalar {
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b)
	if err != nil {
		panic(err)
	}
	return s
}

// torsionFree reports whether p is in the subgroup of order ℓ generated
// by the base point (the identity included): whether [ℓ]p is the
// identity. A point with any small-order component fails. It costs about
// one variable-base scalar multiplication.
func torsionFree(p *edwards25519.Point) bool {
	id := edwards25519.NewIdentityPoint()
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(lMinusOne, p, zero)
	q.Add(q, p)
	return q.Equal(id) == 1
}
