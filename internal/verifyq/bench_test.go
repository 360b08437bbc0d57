package verifyq

import (
	"crypto/ed25519"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/conncred/conncred/internal/edverify"
)

// BenchmarkParallel verifies good signatures from many goroutines at once
// on every core, as a busy server does: "direct" calls PublicKey.Verify in
// each goroutine, "queue" goes through a Queue (and reports the mean batch
// size). ns/op is wall time per signature with all cores busy, so the
// lower is the more signatures a second the machine verifies:
//
//	go test ./internal/verifyq -run '^$' -bench Parallel -cpu 2
func BenchmarkParallel(b *testing.B) {
	for _, keys := range []int{1, 100} {
		items := make([]edverify.Item, 1024)
		var pubs []*edverify.PublicKey
		var privs []ed25519.PrivateKey
		for range keys {
			pub, priv, _ := ed25519.GenerateKey(nil)
			pubs, privs = append(pubs, edverify.NewPublicKey(pub)), append(privs, priv)
		}
		for i := range items {
			msg := fmt.Appendf(nil, "eyJhbGciOiJFZERTQSJ9.%d", i)
			items[i] = edverify.Item{Key: pubs[i%keys], Msg: msg, Sig: ed25519.Sign(privs[i%keys], msg)}
		}
		for _, par := range []int{1, 8} {
			if keys > 1 && par == 1 {
				continue
			}
			b.Run(fmt.Sprintf("keys=%d/par=%d/direct", keys, par), func(b *testing.B) {
				var next atomic.Int64
				b.SetParallelism(par)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						it := items[next.Add(1)%int64(len(items))]
						if !it.Key.Verify(it.Msg, it.Sig) {
							b.Error("refused")
						}
					}
				})
			})
			b.Run(fmt.Sprintf("keys=%d/par=%d/queue", keys, par), func(b *testing.B) {
				var next atomic.Int64
				var mu sync.Mutex
				batches, sigs := 0, 0
				q := &Queue{Observer: func(n int, _ bool) {
					mu.Lock()
					batches++
					sigs += n
					mu.Unlock()
				}}
				b.SetParallelism(par)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						it := items[next.Add(1)%int64(len(items))]
						if !q.Verify(it.Key, it.Msg, it.Sig) {
							b.Error("refused")
						}
					}
				})
				b.ReportMetric(float64(sigs)/float64(max(batches, 1)), "sigs/batch")
			})
		}
	}
}

// BenchmarkParallelHostile is BenchmarkParallel with one bad signature (S
// changed) in every 8 checks: what a stream of bad signatures costs with
// and without batching, and how small the queue keeps its batches.
func BenchmarkParallelHostile(b *testing.B) {
	items := make([]edverify.Item, 1024)
	pub, priv, _ := ed25519.GenerateKey(nil)
	k := edverify.NewPublicKey(pub)
	for i := range items {
		msg := fmt.Appendf(nil, "eyJhbGciOiJFZERTQSJ9.%d", i)
		sig := ed25519.Sign(priv, msg)
		if i%8 == 0 {
			sig[40] ^= 1
		}
		items[i] = edverify.Item{Key: k, Msg: msg, Sig: sig}
	}
	want := func(i int64) bool { return i%int64(len(items))%8 != 0 }
	b.Run("direct", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				it := items[i%int64(len(items))]
				if it.Key.Verify(it.Msg, it.Sig) != want(i) {
					b.Error("wrong answer")
				}
			}
		})
	})
	b.Run("queue", func(b *testing.B) {
		var next atomic.Int64
		var mu sync.Mutex
		batches, sigs, failed := 0, 0, 0
		q := &Queue{Observer: func(n int, f bool) {
			mu.Lock()
			batches++
			sigs += n
			if f {
				failed++
			}
			mu.Unlock()
		}}
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				it := items[i%int64(len(items))]
				if q.Verify(it.Key, it.Msg, it.Sig) != want(i) {
					b.Error("wrong answer")
				}
			}
		})
		b.ReportMetric(float64(sigs)/float64(max(batches, 1)), "sigs/batch")
		b.ReportMetric(float64(failed)/float64(max(batches, 1)), "failed/batch")
	})
}
