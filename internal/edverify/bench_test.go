package edverify

import (
	"crypto/ed25519"
	"fmt"
	"testing"
)

// Measurements are reported, never asserted: the machine is shared.

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
}

func BenchmarkVerifyCachedKey(b *testing.B) {
	it := benchSigs(b, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if !it.Key.Verify(it.Msg, it.Sig) {
			b.Fatal("refused")
		}
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
	for _, n := range []int{2, 8, 32, 64} {
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
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/sig")
		})
	}
}
