package edverify

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"filippo.io/edwards25519"
)

// check fails the test if the cached key or a batch (alone, and beside a
// valid signature) answers other than crypto/ed25519.Verify.
func check(t *testing.T, pub, msg, sig []byte) {
	t.Helper()
	want := ed25519.Verify(pub, msg, sig)
	k := NewPublicKey(pub)
	if got := k.Verify(msg, sig); got != want {
		t.Fatalf("PublicKey.Verify(%x, %x, %x) = %v, crypto/ed25519 says %v", pub, msg, sig, got, want)
	}
	good := benchSigs(t, 2)
	got := VerifyBatch([]Item{good[0], {Key: k, Msg: msg, Sig: sig}, good[1]})
	if got[1] != want || !got[0] || !got[2] {
		t.Fatalf("VerifyBatch on (%x, %x, %x) = %v, crypto/ed25519 says %v for the middle one", pub, msg, sig, got, want)
	}
}

// FuzzVerify is differential: arbitrary (pub, msg, sig), seeded with the
// RFC 8032 and ZIP-215 vectors of testdata/, must get crypto/ed25519's
// answer from PublicKey.Verify and VerifyBatch.
func FuzzVerify(f *testing.F) {
	for _, file := range []string{"rfc8032.txt", "zip215.txt"} {
		for _, v := range loadVectors(f, file) {
			f.Add(v.pub, v.msg, v.sig)
		}
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return // crypto/ed25519 panics; callers check the length first
		}
		check(t, pub, msg, sig)
	})
}

// FuzzVerifyCrafted builds the signatures where cofactored and
// cofactorless checks part: a key A + Ta and a nonce point R + Tr with
// small-order Ta and Tr, signed correctly otherwise; the fuzzer picks the
// key, message, torsion points, and how to spoil the encodings (y + p
// where possible, the sign bit of x = 0, S + ℓ).
func FuzzVerifyCrafted(f *testing.F) {
	for ta := range uint8(8) {
		for tr := range uint8(8) {
			f.Add([]byte{ta, tr}, []byte("msg"), ta, tr, uint8(0))
		}
	}
	f.Add([]byte{1}, []byte("x"), uint8(0), uint8(4), uint8(1))
	f.Add([]byte{2}, []byte("y"), uint8(2), uint8(0), uint8(2))
	f.Add([]byte{3}, []byte("z"), uint8(0), uint8(0), uint8(3))
	f.Fuzz(func(t *testing.T, seedIn, msg []byte, ta, tr, spoil uint8) {
		torsion := smallOrderPoints(t)
		seed := make([]byte, 32)
		copy(seed, seedIn)
		a := expandedScalar(t, seed)
		A := new(edwards25519.Point).ScalarBaseMult(a)
		A.Add(A, torsion[ta%8])
		pub := A.Bytes()
		var nonce [64]byte
		copy(nonce[:], msg)
		nonce[63] = ta ^ tr
		r, _ := edwards25519.NewScalar().SetUniformBytes(nonce[:])
		R := new(edwards25519.Point).ScalarBaseMult(r)
		R.Add(R, torsion[tr%8])
		Rb := R.Bytes()
		switch spoil % 4 {
		case 1:
			Rb = spoilEncoding(Rb)
		case 2:
			pub = spoilEncoding(pub)
		}
		h := (&PublicKey{raw: [32]byte(pub)}).challenge(Rb, msg)
		S := edwards25519.NewScalar().MultiplyAdd(h, a, r).Bytes()
		if spoil%4 == 3 {
			S = addL(S)
		}
		check(t, pub, msg, append(bytes.Clone(Rb), S...))
	})
}

// spoilEncoding returns a non-canonical encoding of the same point when
// one exists (x = 0 with the sign bit set, or y + p for small y), else b.
func spoilEncoding(b []byte) []byte {
	b = bytes.Clone(b)
	switch {
	case bytes.Equal(b[:31], make([]byte, 31)) && b[31]&0x7f == 0, // y = 0
		b[0] <= 1 && bytes.Equal(b[1:31], make([]byte, 30)) && b[31]&0x7f == 0: // y = 1
		// y + p: p = 2²⁵⁵ - 19, so the low byte gains 0xed and every
		// other byte 0xff (bit 255 is the sign and is kept).
		b[0] += 0xed
		for i := 1; i < 31; i++ {
			b[i] = 0xff
		}
		b[31] = b[31]&0x80 | 0x7f
	default:
		b[31] |= 0x80 // sets x's sign: non-canonical only when x = 0
	}
	return b
}

// addL returns s + ℓ (as 32 bytes little-endian; it fits, ℓ < 2²⁵³).
func addL(s []byte) []byte {
	l := lMinusOne.Bytes()
	out := make([]byte, 32)
	carry := 1 // ℓ = (ℓ-1) + 1
	for i := range 32 {
		v := int(s[i]) + int(l[i]) + carry
		out[i], carry = byte(v), v>>8
	}
	return out
}
