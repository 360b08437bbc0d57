package edverify

import (
	"crypto/ed25519"
	"fmt"
	"testing"
)

// Measurements are reported, never asserted: the machine is shared.
// BENCHMARKS.md compares these in one run:
//
//	go test ./internal/edverify -run '^$' -bench 'Verify(Std|CachedKey|Batch)' -cpu 1 -count 5
//
// Every verification benchmark reports µs/sig, so the single checks and the
// batch sizes read side by side.

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

// reportPerSig reports the time per signature of a loop checking n a turn.
func reportPerSig(b *testing.B, n int) {
	b.Helper()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/sig")
}

func BenchmarkSignStd(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("eyJhbGciOiJFZERTQSJ9.message")
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

func BenchmarkPrimeOrderCheck(b *testing.B) {
	it := benchSigs(b, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if !torsionFree(&it.Key.negA) {
			b.Fatal("refused")
		}
	}
}

func BenchmarkVerifyBatch(b *testing.B) {
	// n = 1 goes through the batch code (its one-member shortcut, after
	// the R checks) and shows what the batch's admission checks cost alone.
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			items := benchSigs(b, n)
			b.ReportAllocs()
			for b.Loop() {
				for _, ok := range VerifyBatch(items) {
					if !ok {
						b.Fatal("refused")
					}
				}
			}
			reportPerSig(b, n)
		})
	}
}
