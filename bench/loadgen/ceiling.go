package loadgen

import (
	"context"
	"crypto/ed25519"
	"runtime"
	"sync"
	"time"
)

// Ceiling is what this machine's cores do in Ed25519 alone: the rates, on
// every core at once, of the two operations a token exchange cannot avoid.
// No server can exchange tokens faster than its cryptography allows, so the
// ceiling is the yardstick a measured throughput is divided by.
type Ceiling struct {
	Procs        int     `json:"procs"`
	SignPerSec   float64 `json:"signPerSec"`
	VerifyPerSec float64 `json:"verifyPerSec"`
}

// Exchange returns the token-exchange ceiling in exchanges per second. Each
// exchange costs the server one verify (the client's assertion) and one sign
// (the access token it mints); when the load generator shares the machine
// (clientLocal), the client's signature on the assertion is paid from the
// same cores too. The costs add, so the rates combine harmonically:
// 1 / (1/S_client + 1/V_server + 1/S_server).
func (c Ceiling) Exchange(clientLocal bool) float64 {
	if c.SignPerSec <= 0 || c.VerifyPerSec <= 0 {
		return 0
	}
	cost := 1/c.VerifyPerSec + 1/c.SignPerSec
	if clientLocal {
		cost += 1 / c.SignPerSec
	}
	return 1 / cost
}

// Max returns the faster of c and o for each operation. A run measures the
// ceiling before and after its load and divides by the faster of the two:
// a machine that slowed down for one measurement (they swing 2x from one
// minute to the next) must not make the load look closer to its ceiling
// than it was.
func (c Ceiling) Max(o Ceiling) Ceiling {
	return Ceiling{Procs: max(c.Procs, o.Procs), SignPerSec: max(c.SignPerSec, o.SignPerSec), VerifyPerSec: max(c.VerifyPerSec, o.VerifyPerSec)}
}

// API returns the ceiling of authenticated API calls: each one verifies the
// bearer token's signature once, and nothing else is cryptography.
func (c Ceiling) API() float64 { return c.VerifyPerSec }

// ceilingMessage is about as long as a real assertion's signing input, so
// the SHA-512 inside Ed25519 hashes what it hashes in production.
var ceilingMessage = make([]byte, 320)

// MeasureCeiling measures the all-core Ed25519 sign rate, then the verify
// rate, each for about each (on GOMAXPROCS goroutines, so every core is
// busy). It stops early, with what it measured so far, when ctx ends.
func MeasureCeiling(ctx context.Context, each time.Duration) Ceiling {
	_, priv, _ := ed25519.GenerateKey(nil)
	pub := priv.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(priv, ceilingMessage)
	procs := runtime.GOMAXPROCS(0)
	return Ceiling{
		Procs:        procs,
		SignPerSec:   allCoreRate(ctx, procs, each, func() { ed25519.Sign(priv, ceilingMessage) }),
		VerifyPerSec: allCoreRate(ctx, procs, each, func() { ed25519.Verify(pub, ceilingMessage, sig) }),
	}
}

// allCoreRate runs op on procs goroutines until d has passed and returns the
// combined operations per second.
func allCoreRate(ctx context.Context, procs int, d time.Duration, op func()) float64 {
	// Looking at the clock costs little next to an Ed25519 operation, but
	// doing it every few operations keeps the overrun of the deadline tiny.
	const batch = 8
	start := time.Now()
	deadline := start.Add(d)
	counts := make([]int, procs)
	var wg sync.WaitGroup
	for g := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for ctx.Err() == nil && time.Now().Before(deadline) {
				for range batch {
					op()
				}
				n += batch
			}
			counts[g] = n
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := 0
	for _, n := range counts {
		total += n
	}
	if elapsed <= 0 {
		return 0
	}
	return float64(total) / elapsed.Seconds()
}
