package edverify

import (
	"crypto/ed25519"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Item is one signature to check in a batch.
type Item struct {
	Key *PublicKey
	Msg []byte
	Sig []byte
}

// VerifyBatch reports, for every item, what crypto/ed25519.Verify reports
// for it, and whether the batch equation was tried and failed (then every
// admitted member was verified alone).
//
// # Why batch accept implies single accept
//
// crypto/ed25519 makes the cofactorless check: R must be the encoding of
// [S]B - [h]A. voi's batch checks the cofactored sum
//
//	[8]( Σ zᵢ·(Rᵢ + [hᵢ]Aᵢ - [Sᵢ]B) ) = identity
//
// for random 128-bit zᵢ, and the two disagree on signatures whose A or R
// has a small-order component. So an item enters the batch only if
//
//   - S is canonical (S < ℓ); otherwise the answer is false, as for
//     crypto/ed25519;
//   - A is canonically encoded, not the identity and of prime order
//     (PublicKey.canBatch, once per key); otherwise the item is verified
//     alone;
//   - R is canonically encoded, decodes, and is torsion-free ([ℓ]R = O;
//     the identity passes, as crypto/ed25519 accepts it when the nonce is
//     0); otherwise the answer is false: a non-canonical or undecodable R
//     never equals the canonical encoding of a computed point, and with A
//     of prime order the computed point has no torsion, so an R with some
//     never equals it either.
//
// Then every term Dᵢ = Rᵢ + [hᵢ]Aᵢ - [Sᵢ]B lies in the prime-order
// subgroup, where multiplying by 8 loses nothing, so the equation holds
// only if Σ zᵢDᵢ = 0, which for a nonzero Dᵢ happens with probability
// about 2⁻¹²⁸ over the zᵢ (voi draws them from crypto/rand after the
// signatures are fixed). Dᵢ = 0 with a canonical Rᵢ is exactly the single
// check's accept. voi's own options cannot give this: its presets either
// verify cofactorlessly (which it refuses to batch) or let R with torsion
// through, so the R check above is ours, made with voi's curve API.
//
// # What a bad signature costs the others
//
// When the equation fails, every member is verified alone
// (PublicKey.Verify), so each good member pays its own single check plus
// its share of the failed equation, however many bad members there are.
// Bisection would find one bad member in 2·log₂n smaller batches, but k bad
// members spread over a batch cost k·2·log₂n of them, so it is not used.
// A caller batching continuously bounds what a steady stream of bad
// signatures costs the good ones by shrinking its batches after a failure
// (internal/verifyq).
//
// # What exactness costs, and why this is not faster
//
// The torsion check of R is one variable-base scalar multiplication by ℓ
// per signature, about as much as the whole single check, and it cannot be
// shared: a random combination Σ wᵢRᵢ of points with torsion cancels in the
// torsion group (of order 8) with probability up to 1/2. Measured
// (BENCHMARKS.md) the exact batch costs more per signature than
// PublicKey.Verify at every size; voi's batch without the R check is
// faster, and that difference is exactly the signatures crypto/ed25519
// refuses.
func VerifyBatch(items []Item) (ok []bool, failed bool) {
	ok = make([]bool, len(items))
	// The cheap checks first: the R check costs about a single check, so it
	// is only worth making when at least two signatures would share the
	// equation. A batch of one (a lone caller) is just the single check.
	candidates := make([]int, 0, len(items))
	for i, it := range items {
		if it.Key == nil || it.Key.ek == nil || len(it.Sig) != ed25519.SignatureSize {
			continue // false
		}
		if !it.Key.canBatch() {
			ok[i] = it.Key.Verify(it.Msg, it.Sig)
			continue
		}
		if !scalar.ScMinimalVartime(it.Sig[32:]) {
			continue // false, as for crypto/ed25519
		}
		candidates = append(candidates, i)
	}
	members := candidates
	if len(candidates) >= 2 {
		members = candidates[:0]
		for _, i := range candidates {
			if torsionFreeR(items[i].Sig[:32]) {
				members = append(members, i)
			} // else false, as argued above
		}
	}
	if len(members) < 2 {
		for _, i := range members {
			ok[i] = items[i].Key.Verify(items[i].Msg, items[i].Sig)
		}
		return ok, false
	}
	v := voi.NewBatchVerifierWithCapacity(len(members))
	for _, i := range members {
		v.AddExpanded(items[i].Key.ek, items[i].Msg, items[i].Sig)
	}
	if v.VerifyBatchOnly(nil) {
		for _, i := range members {
			ok[i] = true
		}
		return ok, false
	}
	for _, i := range members {
		ok[i] = items[i].Key.Verify(items[i].Msg, items[i].Sig)
	}
	return ok, true
}

// torsionFreeR reports whether enc is the canonical encoding of a point in
// the prime-order subgroup (the identity included).
func torsionFreeR(enc []byte) bool {
	var c curve.CompressedEdwardsY
	if _, err := c.SetBytes(enc); err != nil || !c.IsCanonicalVartime() {
		return false
	}
	var R curve.EdwardsPoint
	if _, err := R.SetCompressedY(&c); err != nil {
		return false
	}
	// [ℓ]R in variable time: R is public, and the vartime double-base
	// multiplication (with the base point's scalar 0) measured 20% faster
	// than the constant-time IsTorsionFree.
	var lR curve.EdwardsPoint
	lR.DoubleScalarMulBasepointVartime(scalar.BASEPOINT_ORDER, &R, &zero)
	return lR.IsIdentity()
}

var zero scalar.Scalar
