package verifyq

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/edwards25519"

	"github.com/conncred/conncred/internal/edverify"
)

// check is one signature check and crypto/ed25519's answer to it.
type check struct {
	name          string
	pub, msg, sig []byte
	want          bool
}

// checks returns n checks, good and bad: honest signatures under a few
// keys, flipped S, S + ℓ, the wrong key, an R of order 2, a small-order
// key, a mixed-order R made with the key (accepted by a cofactored batch,
// refused by crypto/ed25519), and a short signature.
func checks(tb testing.TB, n int) []check {
	tb.Helper()
	var privs []ed25519.PrivateKey
	for i := range 3 {
		privs = append(privs, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, 32)))
	}
	identity := edwards25519.NewIdentityPoint().Bytes()
	order2 := bytes.Repeat([]byte{0xff}, 32)
	order2[0], order2[31] = 0xec, 0x7f
	out := make([]check, 0, n)
	for i := range n {
		priv := privs[i%len(privs)]
		pub := priv.Public().(ed25519.PublicKey)
		msg := fmt.Appendf(nil, "eyJhbGciOiJFZERTQSJ9.%d", i)
		sig := ed25519.Sign(priv, msg)
		c := check{name: "good", pub: pub, msg: msg, sig: sig}
		switch i % 9 {
		case 1:
			c.name, c.sig = "S flipped", flip(sig, 40)
		case 2:
			c.name, c.sig = "R flipped", flip(sig, 3)
		case 3:
			c.name, c.pub = "wrong key", privs[(i+1)%len(privs)].Public().(ed25519.PublicKey)
		case 4:
			c.name, c.sig = "R of order 2", append(bytes.Clone(order2), sig[32:]...)
		case 5:
			c.name, c.pub = "identity key", identity
			c.sig = append(new(edwards25519.Point).ScalarBaseMult(mustScalar(tb, sig[32:])).Bytes(), sig[32:]...)
		case 6:
			c.name, c.sig = "mixed-order R", mixedOrderSig(tb, priv.Seed(), msg)
		case 7:
			c.name, c.sig = "short", sig[:63]
		}
		c.want = ed25519.Verify(c.pub, c.msg, c.sig)
		out = append(out, c)
	}
	return out
}

func flip(sig []byte, i int) []byte {
	s := bytes.Clone(sig)
	s[i] ^= 1
	return s
}

func mustScalar(tb testing.TB, b []byte) *edwards25519.Scalar {
	tb.Helper()
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// mixedOrderSig signs msg with seed as RFC 8032 does, except that R gets
// an order-2 point added (and S is computed for that R).
func mixedOrderSig(tb testing.TB, seed, msg []byte) []byte {
	tb.Helper()
	h := sha512Sum(seed)
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		tb.Fatal(err)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	var nonce [64]byte
	copy(nonce[:], msg)
	r, _ := edwards25519.NewScalar().SetUniformBytes(nonce[:])
	order2 := bytes.Repeat([]byte{0xff}, 32)
	order2[0], order2[31] = 0xec, 0x7f
	T, err := new(edwards25519.Point).SetBytes(order2)
	if err != nil {
		tb.Fatal(err)
	}
	R := new(edwards25519.Point).ScalarBaseMult(r)
	Rb := R.Add(R, T).Bytes()
	k := sha512Sum(append(append(bytes.Clone(Rb), pub...), msg...))
	hs, _ := edwards25519.NewScalar().SetUniformBytes(k[:])
	return append(Rb, edwards25519.NewScalar().MultiplyAdd(hs, a, r).Bytes()...)
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	sizes  []int
	failed int
}

func (r *recorder) observe(size int, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sizes = append(r.sizes, size)
	if failed {
		r.failed++
	}
}

func TestLoneCallerVerifiesAtOnce(t *testing.T) {
	var rec recorder
	q := &Queue{Observer: rec.observe}
	for _, c := range checks(t, 9) {
		// Called on this goroutine with nothing else running: if a lone
		// caller waited for company, this would never return.
		if got := q.Verify(edverify.NewPublicKey(c.pub), c.msg, c.sig); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	if fmt.Sprint(rec.sizes) != fmt.Sprint([]int{1, 1, 1, 1, 1, 1, 1, 1, 1}) {
		t.Errorf("batch sizes %v, want nine batches of one", rec.sizes)
	}
	if q.leading != 0 || len(q.pending) != 0 {
		t.Error("the queue is not idle after its callers left")
	}
}

// holdFirstBatch returns an Observer that, on the first batch only, waits
// until the rest of total callers are pending, so that they are verified
// together in the next batch, then calls next. It never waits on a later
// batch, and leaders run one at a time, so it needs no lock of its own.
func holdFirstBatch(q *Queue, total int, next func(int, bool)) func(int, bool) {
	first := true
	return func(size int, failed bool) {
		if first {
			first = false
			for {
				q.mu.Lock()
				n := len(q.pending)
				q.mu.Unlock()
				if n+size >= total {
					break
				}
				runtime.Gosched()
			}
		}
		next(size, failed)
	}
}

// startLeader starts f, which must call q.Verify, and returns once it
// leads (its batch of one taken), so that callers started after it wait.
func startLeader(wg *sync.WaitGroup, q *Queue, f func()) {
	wg.Go(f)
	for {
		q.mu.Lock()
		leading := q.leading
		q.mu.Unlock()
		if leading > 0 {
			return
		}
		runtime.Gosched()
	}
}

// TestLeadersVerifyAtOnce: with Leaders 2, two callers both lead, each
// verifying its own batch at the same time (verification is CPU work: one
// leader would leave the other cores idle), and a third waits.
func TestLeadersVerifyAtOnce(t *testing.T) {
	good := checks(t, 1)[0]
	k := edverify.NewPublicKey(good.pub)
	q := &Queue{Leaders: 2}
	var inside, third atomic.Int32
	q.Observer = func(size int, _ bool) {
		if inside.Add(1) > 2 {
			return // the third caller's batch, after the two held ones
		}
		for inside.Load() < 2 {
			q.mu.Lock()
			waiting, leading := len(q.pending), q.leading
			q.mu.Unlock()
			if waiting > 0 && leading < 2 {
				t.Error("a caller waits while only one leads")
				return
			}
			runtime.Gosched()
		}
		// Both lead now: a third caller must wait for one of them.
		if third.Add(1) == 1 {
			q.mu.Lock()
			leading := q.leading
			q.mu.Unlock()
			if leading != 2 {
				t.Errorf("%d leaders, want 2", leading)
			}
		}
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if !q.Verify(k, good.msg, good.sig) {
				t.Error("a good signature refused")
			}
		})
	}
	wg.Wait()
	if q.leading != 0 || len(q.pending) != 0 {
		t.Errorf("not idle after: %d leading, %d pending", q.leading, len(q.pending))
	}
}

// TestConcurrentMixed: callers arriving while a verification runs are
// verified together, and every caller gets crypto/ed25519's answer,
// whatever else shares its batch.
func TestConcurrentMixed(t *testing.T) {
	cs := checks(t, 120)
	for _, maxN := range []int{0, 7} {
		t.Run(fmt.Sprintf("max=%d", maxN), func(t *testing.T) {
			var rec recorder
			q := &Queue{Max: maxN, Leaders: 1}
			q.Observer = holdFirstBatch(q, len(cs), rec.observe)
			keys := make(map[string]*edverify.PublicKey)
			for _, c := range cs {
				if keys[string(c.pub)] == nil {
					keys[string(c.pub)] = edverify.NewPublicKey(c.pub)
				}
			}
			got := make([]bool, len(cs))
			var wg sync.WaitGroup
			for i, c := range cs {
				wg.Go(func() { got[i] = q.Verify(keys[string(c.pub)], c.msg, c.sig) })
			}
			wg.Wait()
			for i, c := range cs {
				if got[i] != c.want {
					t.Errorf("check %d (%s): got %v, want %v", i, c.name, got[i], c.want)
				}
			}
			total, largest := 0, 0
			for _, s := range rec.sizes {
				total += s
				largest = max(largest, s)
			}
			if total != len(cs) {
				t.Errorf("batches hold %d checks, want %d", total, len(cs))
			}
			limit := q.max()
			if largest < 2 || largest > limit {
				t.Errorf("largest batch %d, want 2..%d (sizes %v)", largest, limit, rec.sizes)
			}
			if rec.failed == 0 {
				t.Error("no batch failed, though bad signatures shared batches with good ones")
			}
		})
	}
}

// TestLimitAdapts: a failed batch halves the limit, a batch whose equation
// held grows it by one, and it stays within 1..Max.
func TestLimitAdapts(t *testing.T) {
	good := checks(t, 1)[0]
	bad := check{pub: good.pub, msg: good.msg, sig: flip(good.sig, 40)}
	k := edverify.NewPublicKey(good.pub)
	q := &Queue{Max: 8, Leaders: 1}
	if got := q.Limit(); got != 8 {
		t.Fatalf("limit before use %d, want 8", got)
	}
	// A held batch of one good check, then n checks (bads of them bad) in
	// one batch.
	run := func(n, bads int) {
		t.Helper()
		q.Observer = holdFirstBatch(q, n+1, func(int, bool) {})
		var wg sync.WaitGroup
		startLeader(&wg, q, func() { q.Verify(k, good.msg, good.sig) })
		for i := range n {
			c := good
			if i < bads {
				c = bad
			}
			wg.Go(func() {
				if got := q.Verify(k, c.msg, c.sig); got != (i >= bads) {
					t.Errorf("check %d: got %v", i, got)
				}
			})
		}
		wg.Wait()
	}
	run(8, 1)
	if got := q.Limit(); got != 4 {
		t.Errorf("after a failed batch of 8 (and a clean one of 1) the limit is %d, want 4", got)
	}
	run(4, 1)
	if got := q.Limit(); got != 2 {
		t.Errorf("after a failed batch of 4 the limit is %d, want 2", got)
	}
	for range 20 {
		q.Verify(k, good.msg, good.sig)
	}
	if got := q.Limit(); got != 8 {
		t.Errorf("after 20 clean checks the limit is %d, want Max 8", got)
	}
	q.Verify(k, bad.msg, bad.sig) // refused alone: costs nobody, changes nothing
	if got := q.Limit(); got != 8 {
		t.Errorf("after a refused single check the limit is %d, want 8", got)
	}
}

// TestPanicAnswersEveryone: if the verification panics, every caller of the
// batch is answered false (none waits forever), the leader re-panics after
// handing the lead on, and the queue keeps working.
func TestPanicAnswersEveryone(t *testing.T) {
	good := checks(t, 1)[0]
	k := edverify.NewPublicKey(good.pub)
	q := &Queue{Leaders: 1}
	boom := true
	// The held first batch is the leader's alone; the three callers after
	// it form the second, whose Observer panics.
	q.Observer = holdFirstBatch(q, 4, func(size int, _ bool) {
		if size == 3 && boom {
			boom = false
			panic("observer failed")
		}
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var results []bool
	panics := 0
	call := func() {
		defer func() {
			if recover() != nil {
				mu.Lock()
				panics++
				mu.Unlock()
			}
		}()
		ok := q.Verify(k, good.msg, good.sig)
		mu.Lock()
		results = append(results, ok)
		mu.Unlock()
	}
	startLeader(&wg, q, call)
	for range 3 {
		wg.Go(call)
	}
	wg.Wait()
	if panics != 1 {
		t.Errorf("%d callers panicked, want 1 (the leader of the failed batch)", panics)
	}
	trues := 0
	for _, ok := range results {
		if ok {
			trues++
		}
	}
	if len(results) != 3 || trues != 1 {
		t.Errorf("answers %v, want the held leader's true and two false from the batch that panicked", results)
	}
	if !q.Verify(k, good.msg, good.sig) {
		t.Error("the queue refuses a good signature after a panic")
	}
}

func sha512Sum(b []byte) [64]byte { return sha512.Sum512(b) }
