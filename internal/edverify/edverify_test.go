package edverify

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

// vector is one line of testdata/*.txt: "pub sig msg" in hex (msg may be
// "-" for empty), and what crypto/ed25519.Verify must answer (the files
// state it so that a change of the standard library shows up here too).
type vector struct {
	name          string
	pub, sig, msg []byte
	want          bool
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	if s == "-" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// loadVectors reads testdata/name: lines "label pub sig msg accept|refuse".
func loadVectors(tb testing.TB, name string) []vector {
	tb.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 5 {
			tb.Fatalf("%s: want 5 fields, got %q", name, line)
		}
		out = append(out, vector{name: fs[0], pub: mustHex(tb, fs[1]), sig: mustHex(tb, fs[2]), msg: mustHex(tb, fs[3]), want: fs[4] == "accept"})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestVectors: on the RFC 8032 vectors and the ZIP-215 set (every pair of
// the 8 small-order points' canonical and 6 non-canonical encodings as A
// and R, S = 0), the cached key, the batch and crypto/ed25519 give the
// answer recorded in the file.
func TestVectors(t *testing.T) {
	for _, file := range []string{"rfc8032.txt", "zip215.txt"} {
		vs := loadVectors(t, file)
		if len(vs) == 0 {
			t.Fatalf("%s: no vectors", file)
		}
		var items []Item
		for _, v := range vs {
			t.Run(file+"/"+v.name, func(t *testing.T) {
				if got := ed25519.Verify(v.pub, v.msg, v.sig); got != v.want {
					t.Errorf("crypto/ed25519.Verify = %v, want %v", got, v.want)
				}
				if got := NewPublicKey(v.pub).Verify(v.msg, v.sig); got != v.want {
					t.Errorf("PublicKey.Verify = %v, want %v", got, v.want)
				}
			})
			items = append(items, Item{Key: NewPublicKey(v.pub), Msg: v.msg, Sig: v.sig})
		}
		got, _ := VerifyBatch(items)
		for i, got := range got {
			if got != vs[i].want {
				t.Errorf("%s/%s: in one batch of all: %v, want %v", file, vs[i].name, got, vs[i].want)
			}
		}
	}
}

// TestBatchMixed: valid signatures beside crafted ones in one batch each
// get crypto/ed25519's answer, whether or not the batch equation holds.
func TestBatchMixed(t *testing.T) {
	good := benchSigs(t, 6)
	torsion := smallOrderPoints(t)
	// A signature whose R carries an order-2 component: cofactored
	// equations accept it, crypto/ed25519 refuses it. Made with the
	// private key, as only a key holder can.
	seed := make([]byte, 32)
	seed[0] = 7
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	mixed := mixedOrderSig(t, seed, []byte("mixed"), torsion[4])
	if ed25519.Verify(pub, []byte("mixed"), mixed) {
		t.Fatal("crypto/ed25519 accepted a mixed-order R; the test's premise is wrong")
	}
	if !cofactoredAccepts(t, pub, []byte("mixed"), mixed) {
		t.Fatal("the crafted signature should pass a cofactored check")
	}
	bad := Item{Key: NewPublicKey(pub), Msg: []byte("mixed"), Sig: mixed}
	flipped := good[0]
	flipped.Sig = append([]byte(nil), flipped.Sig...)
	flipped.Sig[40] ^= 1
	for _, tc := range []struct {
		name  string
		items []Item
	}{
		{"all good", good},
		{"one flipped", append([]Item{flipped}, good[1:]...)},
		{"mixed-order R among good", append([]Item{bad}, good...)},
		{"two mixed-order R", []Item{bad, bad, good[1]}},
		{"lone", good[:1]},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := VerifyBatch(tc.items)
			for i, it := range tc.items {
				if want := ed25519.Verify(it.Key.raw[:], it.Msg, it.Sig); got[i] != want {
					t.Errorf("item %d: got %v, want %v", i, got[i], want)
				}
			}
		})
	}
}

// smallOrderPoints returns the 8 points of order dividing 8, T·k for k in
// 0..7, from one point T of order 8.
func smallOrderPoints(tb testing.TB) []*edwards25519.Point {
	tb.Helper()
	t8, err := new(edwards25519.Point).SetBytes(mustHex(tb, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"))
	if err != nil {
		tb.Fatal(err)
	}
	out := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
	for i := 1; i < 8; i++ {
		out = append(out, new(edwards25519.Point).Add(out[i-1], t8))
	}
	if new(edwards25519.Point).MultByCofactor(t8).Equal(edwards25519.NewIdentityPoint()) != 1 || out[4].Equal(edwards25519.NewIdentityPoint()) == 1 {
		tb.Fatal("the order-8 point is not of order 8")
	}
	return out
}

// mixedOrderSig signs msg with seed as RFC 8032 does, except that R gets
// the torsion point T added.
func mixedOrderSig(tb testing.TB, seed, msg []byte, T *edwards25519.Point) []byte {
	tb.Helper()
	priv := ed25519.NewKeyFromSeed(seed)
	a, pub := expandedScalar(tb, seed), []byte(priv.Public().(ed25519.PublicKey))
	r := edwards25519.NewScalar()
	var nonce [64]byte
	nonce[0], nonce[1] = 42, byte(len(msg))
	r.SetUniformBytes(nonce[:])
	R := new(edwards25519.Point).ScalarBaseMult(r)
	R.Add(R, T)
	Rb := R.Bytes()
	h := challenge(tb, Rb, pub, msg)
	S := edwards25519.NewScalar().MultiplyAdd(h, a, r)
	return append(Rb, S.Bytes()...)
}

func expandedScalar(tb testing.TB, seed []byte) *edwards25519.Scalar {
	tb.Helper()
	h := sha512Sum(seed)
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// cofactoredAccepts is the cofactored single check [8]([S]B - R - [h]A) = 0,
// over filippo.io/edwards25519 (independent of the code under test).
func cofactoredAccepts(tb testing.TB, pub, msg, sig []byte) bool {
	tb.Helper()
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false
	}
	S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	R, err := new(edwards25519.Point).SetBytes(sig[:32])
	if err != nil {
		return false
	}
	negA := new(edwards25519.Point).Negate(A)
	p := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(challenge(tb, sig[:32], pub, msg), negA, S)
	p.Subtract(p, R)
	return p.MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}

// challenge is RFC 8032's SHA-512(R || A || M) mod ℓ.
func challenge(tb testing.TB, R, pub, msg []byte) *edwards25519.Scalar {
	tb.Helper()
	h := sha512.New()
	h.Write(R)
	h.Write(pub)
	h.Write(msg)
	s, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
