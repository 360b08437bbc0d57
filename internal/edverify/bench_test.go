package edverify

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Measurements are reported, never asserted: the machine is shared.
// BENCHMARKS.md ("Batch verification (issue 15)") compares these in one
// run, one core:
//
//	go test ./internal/edverify -run '^$' -bench . -cpu 1
//
// Every verification benchmark reports µs/sig, so the single checks and the
// batch sizes read side by side.

var batchSizes = []int{1, 2, 4, 8, 16, 32, 64}

func benchSigs(tb testing.TB, n int) []Item {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	k := NewPublicKey(pub)
	items := make([]Item, n)
	for i := range items {
		msg := fmt.Appendf(nil, "eyJhbGciOiJFZERTQSJ9.message-%d", i)
		items[i] = Item{Key: k, Msg: msg, Sig: ed25519.Sign(priv, msg)}
	}
	return items
}

// reportPerSig reports the time per signature of a loop checking n a turn.
func reportPerSig(b *testing.B, n int) {
	b.Helper()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/sig")
}

// BenchmarkVerifyStd is the reference: crypto/ed25519.Verify.
func BenchmarkVerifyStd(b *testing.B) {
	it := benchSigs(b, 1)[0]
	pub := it.Key.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, it.Msg, it.Sig) {
			b.Fatal("refused")
		}
	}
	reportPerSig(b, 1)
}

// BenchmarkVerifyVoi is voi's crypto/ed25519-compatible check with the key
// decoded on every call (Verify).
func BenchmarkVerifyVoi(b *testing.B) {
	it := benchSigs(b, 1)[0]
	pub := it.Key.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if !Verify(pub, it.Msg, it.Sig) {
			b.Fatal("refused")
		}
	}
	reportPerSig(b, 1)
}

// BenchmarkVerifyCachedKey is the same with the key and its table made once
// (PublicKey.Verify): what the server uses.
func BenchmarkVerifyCachedKey(b *testing.B) {
	it := benchSigs(b, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if !it.Key.Verify(it.Msg, it.Sig) {
			b.Fatal("refused")
		}
	}
	reportPerSig(b, 1)
}

// BenchmarkVerifyBatch is the exact batch (VerifyBatch), every signature
// good. n = 1 is the single check (a lone caller makes no R check).
func BenchmarkVerifyBatch(b *testing.B) {
	for _, n := range batchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			items := benchSigs(b, n)
			b.ReportAllocs()
			for b.Loop() {
				ok, _ := VerifyBatch(items)
				for _, ok := range ok {
					if !ok {
						b.Fatal("refused")
					}
				}
			}
			reportPerSig(b, n)
		})
	}
}

// BenchmarkVerifyBatchFailed is the exact batch with one bad signature
// (its S changed): the failed equation, then every member alone.
func BenchmarkVerifyBatchFailed(b *testing.B) {
	for _, n := range batchSizes[1:] {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			items := benchSigs(b, n)
			bad := append([]byte(nil), items[0].Sig...)
			bad[40] ^= 1
			items[0].Sig = bad
			b.ReportAllocs()
			for b.Loop() {
				if ok, failed := VerifyBatch(items); ok[0] || !ok[n-1] || !failed {
					b.Fatal("wrong answer")
				}
			}
			reportPerSig(b, n)
		})
	}
}

// BenchmarkVoiBatchInexact is voi's own cofactored batch without the R
// check: the figure the issue quotes. It accepts signatures that
// crypto/ed25519 refuses (R with torsion), so it is not used; it shows
// what exactness costs.
func BenchmarkVoiBatchInexact(b *testing.B) {
	for _, n := range batchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			items := benchSigs(b, n)
			b.ReportAllocs()
			for b.Loop() {
				v := voi.NewBatchVerifierWithCapacity(n)
				for _, it := range items {
					v.AddExpanded(it.Key.ek, it.Msg, it.Sig)
				}
				if !v.VerifyBatchOnly(nil) {
					b.Fatal("refused")
				}
			}
			reportPerSig(b, n)
		})
	}
}

// BenchmarkTorsionCheckR is the per-signature price of exactness: decode R
// and check [ℓ]R = O.
func BenchmarkTorsionCheckR(b *testing.B) {
	it := benchSigs(b, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if !torsionFreeR(it.Sig[:32]) {
			b.Fatal("torsion")
		}
	}
}

// BenchmarkNewPublicKey is a key cache miss: decoding and tabling a key.
func BenchmarkNewPublicKey(b *testing.B) {
	pub := benchSigs(b, 1)[0].Key.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if NewPublicKey(pub).ek == nil {
			b.Fatal("not decoded")
		}
	}
}

// BenchmarkKeyCacheHit is a key cache hit.
func BenchmarkKeyCacheHit(b *testing.B) {
	pub := benchSigs(b, 1)[0].Key.Bytes()
	c := NewKeyCache(16)
	c.Get(pub)
	b.ReportAllocs()
	for b.Loop() {
		c.Get(pub)
	}
}

func BenchmarkSignStd(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("eyJhbGciOiJFZERTQSJ9.message")
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

func BenchmarkSignVoi(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	s, err := NewSigner(priv.Seed())
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte("eyJhbGciOiJFZERTQSJ9.message")
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(msg)
	}
}
