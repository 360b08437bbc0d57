package authority

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/bits"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/verifyq"
	"github.com/conncred/conncred/secret"
)

// verifiers are the ways the benchmarks below verify (and sign), side by
// side in one run (BENCHMARKS.md, "Batch verification (issue 15)"):
//
//	go test ./authority -run '^$' -bench 'Authenticate|Exchange|VerifyAssertion|MintToken' -cpu 1
//
// "stdlib" is crypto/ed25519 (the key decoded on every call): conncred
// before issue 15. "voi" is the server's default (sigChecker: edverify,
// each key decoded once). "batch" sends every check through a
// verifyq.Queue (exact batches of concurrent checks). The switch lives in
// the tests only.
var verifiers = []struct {
	name string
	set  func(*sigChecker)
}{
	{"stdlib", func(c *sigChecker) { c.stdlib = true }},
	{"voi", func(c *sigChecker) {}},
	{"batch", func(c *sigChecker) { c.queue = &verifyq.Queue{} }},
}

// useVerifier sets a's signature checks to one of verifiers.
func useVerifier(tb testing.TB, a *Authority, set func(*sigChecker)) {
	tb.Helper()
	a.sigs = newSigChecker()
	set(a.sigs)
}

// signWith returns crypto/ed25519's signer of priv, for signJWS.
func signWith(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(msg []byte) []byte { return ed25519.Sign(priv, msg) }
}

// The benchmarks time each step of a token exchange (in the order exchange
// runs them), the whole exchange in-process, and bearer verification, so
// that a regression or a hot spot shows up as one step's change. The load
// generator (cmd/conncred-bench) measures the same path over HTTP;
// BENCHMARKS.md puts the two side by side.

// benchCred is a connector credential of f with its private key.
func benchCred(b *testing.B, f *fixture) (conncred.Credential, ed25519.PrivateKey) {
	b.Helper()
	conn := f.connector(b)
	cred, sec, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	priv, err := secret.Parse(sec.Reveal())
	if err != nil {
		b.Fatal(err)
	}
	return cred, priv
}

// assertions signs fresh official-style assertions ahead of time, n per
// batch, with the timer stopped, so a benchmark of the server's side never
// pays for the client's signature.
type assertions struct {
	b        *testing.B
	priv     ed25519.PrivateKey
	clientID string
	aud      string
	now      time.Time
	batch    []string
	seq      int
}

func (as *assertions) next() string {
	if len(as.batch) == 0 {
		as.b.StopTimer()
		for range 1000 {
			as.seq++
			a := officialAssertion(as.clientID, as.aud, as.now)
			a.header["nonce"] = fmt.Sprintf("%032x", as.seq)
			as.batch = append(as.batch, a.sign(as.b, as.priv))
		}
		as.b.StartTimer()
	}
	s := as.batch[len(as.batch)-1]
	as.batch = as.batch[:len(as.batch)-1]
	return s
}

func newAssertions(b *testing.B, f *fixture, cred conncred.Credential, priv ed25519.PrivateKey) *assertions {
	return &assertions{b: b, priv: priv, clientID: cred.ClientID, aud: "127.0.0.1", now: f.clock.Now()}
}

func oneAssertion(b *testing.B, f *fixture) (conncred.Credential, *compactJWS, string) {
	cred, priv := benchCred(b, f)
	s := officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(b, priv)
	j, err := parseJWS(s)
	if err != nil {
		b.Fatal(err)
	}
	return cred, j, s
}

func BenchmarkParseAssertion(b *testing.B) {
	f := newFixture(b, Config{})
	_, j, s := oneAssertion(b, f)
	b.Run("jws", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseJWS(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What exchange does with the payload before it looks anything up.
	b.Run("claims", func(b *testing.B) {
		b.ReportAllocs()
		now := f.clock.Now()
		for b.Loop() {
			cl, err := parseClaims(j.payload)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := secret.ParseClientID(cl.Iss); err != nil {
				b.Fatal(err)
			}
			if err := f.a.checkAudience(cl.Aud); err != nil {
				b.Fatal(err)
			}
			if _, err := f.a.checkTimes(cl, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyAssertion is the client's signature check of an exchange:
// with crypto/ed25519 ("stdlib") and as the server makes it ("voi": the
// credential's key from the key cache).
func BenchmarkVerifyAssertion(b *testing.B) {
	f := newFixture(b, Config{})
	cred, j, _ := oneAssertion(b, f)
	for _, v := range verifiers[:2] {
		b.Run(v.name, func(b *testing.B) {
			useVerifier(b, f.a, v.set)
			b.ReportAllocs()
			for b.Loop() {
				if !f.a.sigs.credential(cred.PublicKey, j) {
					b.Fatal("signature does not verify")
				}
			}
		})
	}
}

func BenchmarkReplayCheck(b *testing.B) {
	f := newFixture(b, Config{})
	cred, j, _ := oneAssertion(b, f)
	b.Run("key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			replayKey(t0, cred.ClientID, "", j)
		}
	})
	// The one write of an exchange: an insert under a unique key.
	b.Run("store", func(b *testing.B) {
		ctx := context.Background()
		exp := f.clock.Now().Add(150 * time.Second)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := f.store.UseAssertion(ctx, fmt.Sprintf("bench-%064d", i), exp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCredentialLookup(b *testing.B) {
	f := newFixture(b, Config{})
	cred, _ := benchCred(b, f)
	ctx := context.Background()
	b.Run("cached", func(b *testing.B) {
		if _, err := f.a.creds.byClientID(ctx, cred.ClientID); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.a.creds.byClientID(ctx, cred.ClientID); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What the first exchange after a revocation, a cache expiry or a cold
	// start costs: a read from the store.
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.a.creds.invalidate(cred.ID)
			if _, err := f.a.creds.byClientID(ctx, cred.ClientID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMintToken(b *testing.B) {
	for _, v := range verifiers[:2] {
		b.Run(v.name, func(b *testing.B) {
			f := newFixture(b, Config{})
			useVerifier(b, f.a, v.set)
			cred, _ := benchCred(b, f)
			now := f.clock.Now()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.a.mint(cred, now, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLastUsedTouch(b *testing.B) {
	f := newFixture(b, Config{})
	cred, _ := benchCred(b, f)
	now := f.a.now()
	// What every exchange pays: a map write under a mutex.
	b.Run("touch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.a.lastUsed.touch(cred.ID, cred.CreatedAt, now)
		}
	})
	// What the writer pays once a second: one batch write per flush, one
	// row per credential used since the last.
	b.Run("flush", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(time.Microsecond)
			f.a.lastUsed.touch(cred.ID, cred.CreatedAt, now)
			f.a.lastUsed.flush(ctx)
		}
	})
}

// BenchmarkExchange is the whole exchange in process, one at a time (a
// lone caller: the batch mode verifies at once, a batch of one).
func BenchmarkExchange(b *testing.B) {
	for _, v := range verifiers {
		b.Run(v.name, func(b *testing.B) {
			f := newFixture(b, Config{})
			useVerifier(b, f.a, v.set)
			cred, priv := benchCred(b, f)
			as := newAssertions(b, f, cred, priv)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, as.next())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// batchSizes observes the batch mode's queue, if set, and when the
// benchmark ends reports its mean batch size and the share of signatures
// verified in a batch of two or more, and logs the distribution (how many
// signatures were verified in batches of 1, 2–3, 4–7, ... members).
func batchSizes(b *testing.B, a *Authority) {
	if a.sigs.queue == nil {
		return
	}
	var mu sync.Mutex
	var bySize [8]int // signatures in batches of [2^i, 2^(i+1)) members
	batches, sigs := 0, 0
	a.sigs.queue.Observer = func(n int, _ bool) {
		mu.Lock()
		batches++
		sigs += n
		bySize[min(bits.Len(uint(n))-1, len(bySize)-1)] += n
		mu.Unlock()
	}
	b.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if batches == 0 {
			return
		}
		b.ReportMetric(float64(sigs)/float64(batches), "sigs/batch")
		b.ReportMetric(100*float64(sigs-bySize[0])/float64(sigs), "%batched")
		b.Logf("signatures by batch size (1, 2-3, 4-7, 8-15, 16-31, 32-63, 64-127, 128+): %v of %d in %d batches", bySize, sigs, batches)
	})
}

// BenchmarkExchangeParallel is the exchange on every core at once, as the
// server runs it: contention on the caches, the key ring and the store
// shows here and not in BenchmarkExchange, and so does batching.
func BenchmarkExchangeParallel(b *testing.B) {
	for _, v := range verifiers {
		b.Run(v.name, func(b *testing.B) {
			f := newFixture(b, Config{})
			useVerifier(b, f.a, v.set)
			batchSizes(b, f.a)
			cred, priv := benchCred(b, f)
			// Sign ahead, off the clock: RunParallel cannot stop the timer. It
			// runs b.N iterations in all, so b.N assertions are enough.
			signed := make(chan string, b.N)
			as := newAssertions(b, f, cred, priv)
			for range b.N {
				signed <- as.next()
			}
			ctx := context.Background()
			b.ReportAllocs()
			// Four goroutines a core, as a server has several requests in flight:
			// with one a core, a core idles whenever its goroutine waits for the
			// replay record's commit (measured: 139 us/op against 93 with four).
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, <-signed)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAuthenticate is one authenticated API call's token check (the
// signature is verified on every call, no cache of verified tokens).
func BenchmarkAuthenticate(b *testing.B) {
	for _, v := range verifiers {
		b.Run(v.name, func(b *testing.B) {
			f := newFixture(b, Config{})
			useVerifier(b, f.a, v.set)
			tok := benchToken(b, f)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.a.Authenticate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthenticateParallel is the token check on every core at once,
// eight goroutines a core: what batching would share.
func BenchmarkAuthenticateParallel(b *testing.B) {
	for _, v := range verifiers {
		b.Run(v.name, func(b *testing.B) {
			f := newFixture(b, Config{})
			useVerifier(b, f.a, v.set)
			batchSizes(b, f.a)
			tok := benchToken(b, f)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := f.a.Authenticate(ctx, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchToken is an access token of a fresh credential of f.
func benchToken(b *testing.B, f *fixture) string {
	b.Helper()
	cred, priv := benchCred(b, f)
	as := newAssertions(b, f, cred, priv)
	tok, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, as.next()))
	if err != nil {
		b.Fatal(err)
	}
	return tok.AccessToken
}
