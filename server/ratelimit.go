package server

import (
	"sync"
	"time"

	"github.com/conncred/conncred/clock"
)

// failureLimiter limits FAILED token requests per client id and per remote
// IP with token buckets: each key may fail `limit` times per `per`, refilled
// continuously. Successes never consume tokens, so a healthy connector is
// never slowed; a guessing or misconfigured one is. Note that anyone can fail
// in a client id's name, so the per-client limit can be used to slow a real
// client's retries after its own failures only when the attacker also fails
// with that id; the per-IP bucket is the main defence.
type failureLimiter struct {
	limit float64
	rate  float64 // tokens per second
	clock clock.Clock

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the limiter's memory; past it, buckets that have
// refilled completely (idle keys) are dropped.
const maxBuckets = 100_000

func newFailureLimiter(limit int, per time.Duration, clk clock.Clock) *failureLimiter {
	return &failureLimiter{limit: float64(limit), rate: float64(limit) / per.Seconds(), clock: clk, buckets: map[string]*bucket{}}
}

func (l *failureLimiter) keys(clientID, ip string) []string {
	var k []string
	if clientID != "" {
		if len(clientID) > 256 {
			clientID = clientID[:256]
		}
		k = append(k, "client:"+clientID)
	}
	if ip != "" {
		k = append(k, "ip:"+ip)
	}
	return k
}

// refill brings b up to date at now; callers hold l.mu.
func (l *failureLimiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * l.rate
		if b.tokens > l.limit {
			b.tokens = l.limit
		}
	}
	b.last = now
}

// limited reports whether either key has no failures left, and how long
// until it has one.
func (l *failureLimiter) limited(clientID, ip string) (time.Duration, bool) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range l.keys(clientID, ip) {
		b, ok := l.buckets[k]
		if !ok {
			continue
		}
		l.refill(b, now)
		if b.tokens < 1 {
			if w := time.Duration((1 - b.tokens) / l.rate * float64(time.Second)); w > wait {
				wait = w
			}
		}
	}
	return wait, wait > 0
}

// fail consumes one token from each key's bucket.
func (l *failureLimiter) fail(clientID, ip string) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) >= maxBuckets {
		for k, b := range l.buckets {
			l.refill(b, now)
			if b.tokens >= l.limit {
				delete(l.buckets, k)
			}
		}
	}
	for _, k := range l.keys(clientID, ip) {
		b, ok := l.buckets[k]
		if !ok {
			if len(l.buckets) >= maxBuckets {
				continue
			}
			b = &bucket{tokens: l.limit, last: now}
			l.buckets[k] = b
		}
		l.refill(b, now)
		if b.tokens > 0 {
			b.tokens--
		}
	}
}
