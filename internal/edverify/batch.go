package edverify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"

	"filippo.io/edwards25519"
)

// Item is one signature to check in a batch.
type Item struct {
	Key *PublicKey
	Msg []byte
	Sig []byte
}

// VerifyBatch reports, for every item, what crypto/ed25519.Verify reports
// for it.
//
// # Why batch accept implies single accept
//
// crypto/ed25519 makes the cofactorless check: R must be the encoding of
// [S]B - [h]A. A batch checks the cofactored sum
//
//	[8]( Σ zᵢ·(Rᵢ + [hᵢ]Aᵢ - [Sᵢ]B) ) = identity
//
// for random 128-bit zᵢ, and the two disagree on signatures whose A or R
// has a small-order component. So an item enters the batch only if
//
//   - S is canonical (S < ℓ) — otherwise the answer is false, as for
//     crypto/ed25519;
//   - A is canonically encoded and of prime order (checked once per key,
//     in NewPublicKey) — otherwise the item is verified alone;
//   - R decodes, is canonically encoded and has no small-order component
//     (the identity is allowed: it is R when the nonce is 0) — otherwise
//     the answer is false: an R that does not decode, or decodes from a
//     non-canonical string, never equals the canonical encoding of a
//     computed point, and with A of prime order the computed point has
//     no torsion, so an R with some never equals it either.
//
// FuzzVerifyCrafted found that an R of the identity must be let through:
// crypto/ed25519 accepts it when the signer's nonce is 0.
//
// Then every term Dᵢ = Rᵢ + [hᵢ]Aᵢ - [Sᵢ]B lies in the prime-order
// subgroup, where multiplying by 8 loses nothing, so the batch equation
// holds only if Σ zᵢDᵢ = 0, and for a nonzero Dᵢ that happens with
// probability below 2⁻¹²⁴ over the zᵢ (drawn from crypto/rand after the
// signatures are fixed). Dᵢ = 0 with canonical Rᵢ is exactly the single
// check's accept.
//
// # What a bad signature costs others
//
// When the batch equation fails, every member is verified alone with
// crypto/ed25519.Verify, so any number of bad signatures in a batch of n
// cost the batch one multi-scalar multiplication plus n single checks:
// each good member pays at most its own single verification plus its
// share of one failed batch (about half a single verification), however
// many bad signatures an attacker sends. Bisection would find one bad
// member in 2·log₂n smaller batches, but k bad members spread over a batch
// cost it k·2·log₂n of them, which grows with the attacker's count, so it
// is not used.
//
// # What exactness costs
//
// Checking that R has no torsion costs one variable-base scalar
// multiplication per signature, about as much as the double-base one a
// single verification makes. It cannot be shared: a random combination
// Σ wᵢRᵢ of points with torsion cancels in the torsion group (of order 8)
// with probability up to 1/2. BENCHMARKS.md reports what that leaves of
// the batch's speed-up.
func VerifyBatch(items []Item) []bool {
	out := make([]bool, len(items))
	type member struct {
		i    int
		R    *edwards25519.Point
		S, h *edwards25519.Scalar
	}
	members := make([]member, 0, len(items))
	for i, it := range items {
		k, sig := it.Key, it.Sig
		if k == nil || !k.decoded || len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
			continue // false
		}
		if !k.batchable {
			out[i] = ed25519.Verify(k.raw[:], it.Msg, sig)
			continue
		}
		S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
		if err != nil {
			continue
		}
		R, err := new(edwards25519.Point).SetBytes(sig[:32])
		if err != nil || !bytes.Equal(R.Bytes(), sig[:32]) || !torsionFree(R) {
			continue
		}
		members = append(members, member{i: i, R: R, S: S, h: k.challenge(sig[:32], it.Msg)})
	}
	switch len(members) {
	case 0:
		return out
	case 1:
		m := members[0]
		out[m.i] = items[m.i].Key.Verify(items[m.i].Msg, items[m.i].Sig)
		return out
	}

	n := len(members)
	zb := make([]byte, 16*n)
	if _, err := rand.Read(zb); err != nil {
		panic("edverify: crypto/rand failed: " + err.Error())
	}
	scalars := make([]*edwards25519.Scalar, 0, 2*n+1)
	points := make([]*edwards25519.Point, 0, 2*n+1)
	sumS := edwards25519.NewScalar()
	var wide [64]byte
	for j, m := range members {
		copy(wide[:16], zb[16*j:16*j+16]) // z < 2¹²⁸, the rest stays zero
		z, err := edwards25519.NewScalar().SetUniformBytes(wide[:])
		if err != nil {
			panic("edverify: a 64-byte string is always a uniform scalar")
		}
		sumS.MultiplyAdd(z, m.S, sumS)
		// Rᵢ + [hᵢ]Aᵢ: the key holds -A, so the scalar is negated.
		zh := edwards25519.NewScalar().Multiply(z, m.h)
		scalars = append(scalars, z, zh.Negate(zh))
		points = append(points, m.R, &items[m.i].Key.negA)
	}
	scalars = append(scalars, sumS.Negate(sumS))
	points = append(points, edwards25519.NewGeneratorPoint())
	sum := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	sum.MultByCofactor(sum)
	if sum.Equal(edwards25519.NewIdentityPoint()) == 1 {
		for _, m := range members {
			out[m.i] = true
		}
		return out
	}
	for _, m := range members {
		it := items[m.i]
		out[m.i] = ed25519.Verify(it.Key.raw[:], it.Msg, it.Sig)
	}
	return out
}
