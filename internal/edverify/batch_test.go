package edverify

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"filippo.io/edwards25519"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// TestVoiBatchAloneIsNotExact is the premise of the R check: voi's own
// batch accepts a batch holding a signature whose R has an order-2
// component, which crypto/ed25519 refuses. VerifyBatch must refuse it.
func TestVoiBatchAloneIsNotExact(t *testing.T) {
	seed := bytes.Repeat([]byte{9}, 32)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	msg := []byte("mixed")
	sig := mixedOrderSig(t, seed, msg, smallOrderPoints(t)[4])
	if ed25519.Verify(pub, msg, sig) {
		t.Fatal("crypto/ed25519 accepts the crafted signature; the premise is wrong")
	}
	good := benchSigs(t, 3)
	k := NewPublicKey(pub)
	v := voi.NewBatchVerifier()
	for _, it := range good {
		v.AddExpanded(it.Key.ek, it.Msg, it.Sig)
	}
	v.AddExpanded(k.ek, msg, sig)
	if !v.VerifyBatchOnly(nil) {
		t.Fatal("voi's batch refuses the crafted signature; the R check would guard nothing")
	}
	got, _ := VerifyBatch(append(good, Item{Key: k, Msg: msg, Sig: sig}))
	if want := []bool{true, true, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("VerifyBatch = %v, want %v", got, want)
	}
}

func TestTorsionFreeR(t *testing.T) {
	sig := benchSigs(t, 1)[0].Sig
	R, err := new(edwards25519.Point).SetBytes(sig[:32])
	if err != nil {
		t.Fatal(err)
	}
	if !torsionFreeR(sig[:32]) {
		t.Error("an honest R is refused")
	}
	for i, T := range smallOrderPoints(t) {
		if got, want := torsionFreeR(T.Bytes()), i == 0; got != want {
			t.Errorf("small-order point %d alone: %v, want %v", i, got, want)
		}
		if got, want := torsionFreeR(new(edwards25519.Point).Add(R, T).Bytes()), i == 0; got != want {
			t.Errorf("R + small-order point %d: %v, want %v", i, got, want)
		}
	}
	for _, s := range nonCanonicalSmallOrder {
		if torsionFreeR(mustHex(t, s)) {
			t.Errorf("non-canonical %s accepted", s)
		}
	}
	if torsionFreeR(bytes.Repeat([]byte{0xff}, 32)) {
		t.Error("a string that is no point accepted")
	}
}

func TestCanBatch(t *testing.T) {
	honest := benchSigs(t, 1)[0].Key
	A, _ := new(edwards25519.Point).SetBytes(honest.Bytes())
	cases := map[string]struct {
		pub  []byte
		want bool
	}{
		"honest":        {honest.Bytes(), true},
		"identity":      {edwards25519.NewIdentityPoint().Bytes(), false},
		"wrong length":  {honest.Bytes()[:31], false},
		"not a point":   {bytes.Repeat([]byte{0xff}, 32), false},
		"non-canonical": {spoilEncoding(edwards25519.NewIdentityPoint().Bytes()), false},
	}
	for i, T := range smallOrderPoints(t)[1:] {
		cases[fmt.Sprintf("small order %d", i+1)] = struct {
			pub  []byte
			want bool
		}{T.Bytes(), false}
		cases[fmt.Sprintf("mixed order %d", i+1)] = struct {
			pub  []byte
			want bool
		}{new(edwards25519.Point).Add(A, T).Bytes(), false}
	}
	for name, c := range cases {
		if got := NewPublicKey(c.pub).canBatch(); got != c.want {
			t.Errorf("%s: canBatch = %v, want %v", name, got, c.want)
		}
	}
}

// TestVerifyBatchFailedFlag: failed is set exactly when the equation was
// tried and did not hold.
func TestVerifyBatchFailedFlag(t *testing.T) {
	good := benchSigs(t, 4)
	flipped := good[2]
	flipped.Sig = bytes.Clone(flipped.Sig)
	flipped.Sig[33] ^= 1
	short := good[1]
	short.Sig = short.Sig[:10]
	for _, tc := range []struct {
		name       string
		items      []Item
		wantFailed bool
	}{
		{"all good", good, false},
		{"one bad S", []Item{good[0], good[1], flipped, good[3]}, true},
		{"refused before the batch", []Item{good[0], short, good[3]}, false},
		{"one member", []Item{flipped}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, failed := VerifyBatch(tc.items)
			if failed != tc.wantFailed {
				t.Errorf("failed = %v, want %v", failed, tc.wantFailed)
			}
			for i, it := range tc.items {
				if want := ed25519.Verify(it.Key.Bytes(), it.Msg, it.Sig); ok[i] != want {
					t.Errorf("item %d: %v, want %v", i, ok[i], want)
				}
			}
		})
	}
}

func TestKeyCache(t *testing.T) {
	c := NewKeyCache(4) // two generations of two
	keys := make([][]byte, 5)
	for i := range keys {
		keys[i] = benchSigs(t, 1)[0].Key.Bytes()
	}
	k0 := c.Get(keys[0])
	if c.Get(keys[0]) != k0 {
		t.Error("a hit made a new key")
	}
	c.Get(keys[1])
	c.Get(keys[2]) // turns over: {0,1} old, {2} current
	if c.Get(keys[0]) != k0 {
		t.Error("a key of the old generation was not kept when used again")
	}
	c.Get(keys[3]) // current {2,0} full: turns over to old {2,0}, current {3}
	c.Get(keys[4]) // current {3,4}
	if n := c.Len(); n > 4 {
		t.Errorf("holds %d keys, want at most 4", n)
	}
	c.Get(keys[1]) // 1 was dropped: decoded anew, turns over again
	if n := c.Len(); n > 4 {
		t.Errorf("holds %d keys, want at most 4", n)
	}
	if c.Get(keys[0]) == k0 {
		t.Error("a key unused for two generations is still held")
	}
	if c.Get(keys[0][:31]).Verify([]byte("m"), make([]byte, 64)) {
		t.Error("a short key verifies")
	}
	// Answers do not depend on the cache.
	it := benchSigs(t, 1)[0]
	miss := c.Get(it.Key.Bytes()).Verify(it.Msg, it.Sig)
	hit := c.Get(it.Key.Bytes()).Verify(it.Msg, it.Sig)
	if !miss || !hit {
		t.Errorf("a good signature: accepted on a miss %v, on a hit %v", miss, hit)
	}
}

func TestSignerMatchesStdlib(t *testing.T) {
	for i := range 20 {
		seed := bytes.Repeat([]byte{byte(i)}, 32)
		s, err := NewSigner(seed)
		if err != nil {
			t.Fatal(err)
		}
		priv := ed25519.NewKeyFromSeed(seed)
		if !bytes.Equal(s.Public(), priv.Public().(ed25519.PublicKey)) {
			t.Fatalf("seed %d: public key differs", i)
		}
		msg := bytes.Repeat([]byte("m"), i*13)
		if got, want := s.Sign(msg), ed25519.Sign(priv, msg); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: signature %x, crypto/ed25519 signs %x", i, got, want)
		}
	}
	if _, err := NewSigner(make([]byte, 31)); err == nil {
		t.Error("a 31-byte seed was taken")
	}
}

func TestSignerRedacts(t *testing.T) {
	seed := bytes.Repeat([]byte{0x5a}, 32)
	s, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "signer", s, "value", *s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v", *s, s, s), logged.String()} {
		if strings.Contains(out, "5a5a") || strings.Contains(out, "90 90") || !strings.Contains(out, "REDACTED") {
			t.Errorf("printed %q", out)
		}
	}
}

// FuzzSign: the signer makes crypto/ed25519's signature for any seed and
// message.
func FuzzSign(f *testing.F) {
	f.Add(make([]byte, 32), []byte(""))
	f.Add(bytes.Repeat([]byte{1}, 32), []byte("eyJhbGciOiJFZERTQSJ9.e30"))
	f.Fuzz(func(t *testing.T, seedIn, msg []byte) {
		seed := make([]byte, 32)
		copy(seed, seedIn)
		s, err := NewSigner(seed)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.Sign(msg), ed25519.Sign(ed25519.NewKeyFromSeed(seed), msg); !bytes.Equal(got, want) {
			t.Fatalf("Sign(%x) = %x, crypto/ed25519 signs %x", msg, got, want)
		}
	})
}
