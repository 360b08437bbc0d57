// Package edverify verifies and makes Ed25519 signatures faster than
// crypto/ed25519 without changing a single answer: every verification here
// accepts exactly what crypto/ed25519.Verify accepts, and every signature is
// byte for byte what crypto/ed25519.Sign makes.
//
// What is offered:
//
//   - PublicKey: a key decoded once, with the precomputed table of -A the
//     verification equation multiplies. Verify is the cofactorless RFC 8032
//     check crypto/ed25519 makes (R must be the canonical encoding of
//     [S]B - [h]A, S < ℓ, small-order and non-canonical keys taken as
//     crypto/ed25519 takes them).
//   - KeyCache: PublicKeys by their bytes, bounded, for keys that are
//     looked up per request (a credential's key in the token exchange).
//   - Signer: Ed25519 signing with the key expanded once.
//   - VerifyBatch: an exact batch verifier (batch.go). It is correct but
//     not faster than PublicKey.Verify: see its comment and BENCHMARKS.md.
//
// # Why curve25519-voi
//
// The curve arithmetic is github.com/oasisprotocol/curve25519-voi
// (primitives/ed25519 and curve): a Go port of curve25519-dalek by Oasis
// Labs, with dalek's AVX2 backend in assembly, precomputed per-key tables,
// the ABGLSV-Pornin multiplication and a batch verifier derived from
// ed25519consensus. It has explicit verification presets, among them
// VerifyOptionsStdLib, "compatible with crypto/ed25519", which this package
// uses for every single check; FuzzVerify and FuzzVerifyCrafted hold it to
// crypto/ed25519's answers (testdata has the RFC 8032 and ZIP-215 vectors
// and the crafted corpus). Measured here (BENCHMARKS.md, "Batch
// verification (issue 15)") a check with the key's table is about 1.7×
// faster than crypto/ed25519.Verify and a signature about 1.8× faster than
// crypto/ed25519.Sign; filippo.io/edwards25519 (what the standard library
// vendors) has no per-key tables and the same base-point tables as
// crypto/ed25519, so it offered neither gain (the previous edverify was
// built on it: 1.23× on verification, none on signing).
//
// What speaks against it, and why it is still chosen: voi has no tagged
// release (only pseudo-versions; the one pinned is the last commit, from
// 2023-09), so updates come by commit and must be reviewed as such; we
// found no published third-party audit report (its author planned a
// third-party review before Oasis adopted it, oasis-core issue 3829). It
// runs in production in oasis-core and was Tendermint's Ed25519 (v0.35,
// PR 6526). Its only further dependencies are golang.org/x/sys/cpu (the
// AVX2 switch) and golang.org/x/crypto/chacha20 (the batch's random
// coefficients). The guard against a wrong answer from it is not trust
// but the differential tests: the presets are only used where the fuzz
// targets compare them with crypto/ed25519, and the access-token and
// assertion tests in authority compare them again on every hostile input.
//
// No field or curve arithmetic is written here: points, scalars, the
// multiplications and the batch equation are voi's.
package edverify

import (
	"bytes"
	"crypto/ed25519"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// stdOpts makes voi verify as crypto/ed25519 does: cofactorless, small-order
// and non-canonical A allowed, R compared byte for byte with the canonical
// encoding of [S]B - [h]A, S < ℓ.
var stdOpts = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// PublicKey is an Ed25519 public key decoded once. The zero value verifies
// nothing; make one with NewPublicKey. It is safe for concurrent use.
type PublicKey struct {
	raw [ed25519.PublicKeySize]byte
	// ek is the decoded key with its table, nil when raw is not a point
	// encoding crypto/ed25519 accepts (then nothing verifies, as there).
	ek *voi.ExpandedPublicKey

	// batchable (computed on first use: it costs a scalar multiplication
	// that a key only verified singly never needs) says the key is
	// canonically encoded, not the identity, and in the prime-order
	// subgroup, so a cofactored batch equation over it answers what the
	// cofactorless single check answers (batch.go).
	batchOnce sync.Once
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
	if ek, err := voi.NewExpandedPublicKey(pub); err == nil {
		k.ek = ek
	}
	return k
}

// Bytes returns the key's 32-byte encoding as given.
func (k *PublicKey) Bytes() []byte { return bytes.Clone(k.raw[:]) }

// Verify reports whether sig is a valid Ed25519 signature of msg by k,
// with the answer crypto/ed25519.Verify gives.
func (k *PublicKey) Verify(msg, sig []byte) bool {
	if k == nil || k.ek == nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyExpandedWithOptions(k.ek, msg, sig, stdOpts)
}

// canBatch reports whether k may enter a cofactored batch (see batchable).
func (k *PublicKey) canBatch() bool {
	if k == nil || k.ek == nil {
		return false
	}
	k.batchOnce.Do(func() {
		var c curve.CompressedEdwardsY
		if _, err := c.SetBytes(k.raw[:]); err != nil || !c.IsCanonicalVartime() {
			return
		}
		var A curve.EdwardsPoint
		if _, err := A.SetCompressedY(&c); err != nil {
			return
		}
		k.batchable = !A.IsIdentity() && A.IsTorsionFree()
	})
	return k.batchable
}

// Verify reports whether sig is a valid signature of msg by pub, with
// crypto/ed25519.Verify's answer (false, not a panic, for a key of the
// wrong length). It decodes pub on every call; a key used more than once
// is cheaper as a PublicKey or through a KeyCache.
func Verify(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyWithOptions(pub, msg, sig, stdOpts)
}
