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
	if got := Verify(pub, msg, sig); got != want {
		t.Fatalf("Verify(%x, %x, %x) = %v, crypto/ed25519 says %v", pub, msg, sig, got, want)
	}
	good := benchSigs(t, 2)
	got, _ := VerifyBatch([]Item{good[0], {Key: k, Msg: msg, Sig: sig}, good[1]})
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
		pub, sig := crafted(t, seedIn, msg, ta, tr, spoil)
		check(t, pub, msg, sig)
	})
}

// crafted signs msg with the key of seedIn, plus the small-order point
// ta%8 on the key and tr%8 on the nonce point, spoiled as spoil%4 says (1:
// R's encoding, 2: A's encoding, 3: S + ℓ). The arithmetic is
// filippo.io/edwards25519's, independent of the code under test.
func crafted(tb testing.TB, seedIn, msg []byte, ta, tr, spoil uint8) (pub, sig []byte) {
	tb.Helper()
	torsion := smallOrderPoints(tb)
	seed := make([]byte, 32)
	copy(seed, seedIn)
	a := expandedScalar(tb, seed)
	A := new(edwards25519.Point).ScalarBaseMult(a)
	A.Add(A, torsion[ta%8])
	pub = A.Bytes()
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
	h := challenge(tb, Rb, pub, msg)
	S := edwards25519.NewScalar().MultiplyAdd(h, a, r).Bytes()
	if spoil%4 == 3 {
		S = addL(S)
	}
	return pub, append(bytes.Clone(Rb), S...)
}

// FuzzVerifyBatch puts several crafted signatures (4 bytes of spec each:
// key seed, torsion on A, torsion on R, spoiling; a repeated seed shares a
// key) between good ones into one batch, so that bad members meet each
// other and the equation: every item must get crypto/ed25519's answer.
func FuzzVerifyBatch(f *testing.F) {
	f.Add([]byte{1, 0, 4, 0, 1, 0, 4, 0}, []byte("m"))          // two order-2 R, one key
	f.Add([]byte{1, 0, 2, 0, 2, 0, 6, 0}, []byte("m"))          // order-4 R that cancel
	f.Add([]byte{1, 0, 0, 0, 2, 4, 0, 0, 3, 0, 0, 3}, []byte{}) // mixed A, S + ℓ, identity R
	f.Add([]byte{5, 0, 0, 1, 6, 0, 1, 1, 7, 1, 1, 2}, []byte{}) // spoiled encodings
	good := benchSigs(f, 3)
	f.Fuzz(func(t *testing.T, spec, msg []byte) {
		if len(spec) > 4*12 {
			spec = spec[:4*12]
		}
		var items []Item
		var pubs [][]byte
		for i := 0; i+4 <= len(spec); i += 4 {
			m := append(bytes.Clone(msg), byte(i))
			pub, sig := crafted(t, spec[i:i+1], m, spec[i+1], spec[i+2], spec[i+3])
			items = append(items, Item{Key: NewPublicKey(pub), Msg: m, Sig: sig}, good[i/4%3])
			pubs = append(pubs, pub, good[i/4%3].Key.Bytes())
		}
		got, _ := VerifyBatch(items)
		for i, it := range items {
			if want := ed25519.Verify(pubs[i], it.Msg, it.Sig); got[i] != want {
				t.Fatalf("item %d of %d (spec %x): batch says %v, crypto/ed25519 says %v", i, len(items), spec, got[i], want)
			}
		}
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
	l := groupOrderLE
	out := make([]byte, 32)
	carry := 0
	for i := range 32 {
		v := int(s[i]) + int(l[i]) + carry
		out[i], carry = byte(v), v>>8
	}
	return out
}

// groupOrderLE is ℓ, the order of the base point, little-endian.
var groupOrderLE = []byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
}
