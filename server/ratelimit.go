package server

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/hostport"
)

// failureLimiter throttles failed token requests without letting anyone
// lock a connector out by naming it. Client ids are not secret, so nothing
// is counted per client id alone:
//
//   - Failures are counted per source address and per (client id, source
//     address) pair, in token buckets that hold `limit` failures and refill
//     over `per`. A request is throttled when either bucket is empty.
//     Successes never consume tokens.
//   - A throttled request is still verified if its client id succeeded from
//     its address within `ttl` (the "recent successes" set, refreshed on
//     every success). Such verifications are what a flood could make
//     costly, so they are rationed twice: per pair (`limit` per `per`, so a
//     broken client with a revoked key, or an attacker naming a client from
//     that client's own address, spends little) and server-wide (`global`
//     per second). Past either, 429.
//   - A failure of a recently successful pair counts for the pair only:
//     either the key holder itself is failing (revoked, expired, replayed)
//     or someone at its address names it, and in neither case should
//     neighbours behind the same address pay. Any other failure counts for
//     the address and for the pair.
//
// IPv6 addresses are counted by /64, the block one host or site gets.
// Memory is bounded: both tables are LRU lists of fixed size (see
// maxFailureKeys and maxRecent).
type failureLimiter struct {
	clock  clock.Clock
	limit  float64       // failures per window, and a bucket's capacity
	per    time.Duration // the window a bucket refills over
	ttl    time.Duration // how long a success lets a pair past the throttle
	global float64       // throttled verifications per second server-wide; 0: none

	mu       sync.Mutex
	failures lru[bucket] // by addrKey and pairKey; ordered by last failure
	overflow bucket      // shared by new keys while the failure table is full of live buckets
	recent   lru[recentPair]
	budget   bucket // the global verification budget
}

// Table sizes. Full, the two hold about 40 MiB together (measured by
// TestLimiterMemoryIsBounded: about 200 bytes an entry).
const (
	maxFailureKeys = 100_000
	maxRecent      = 100_000
)

// bucket is a token bucket; an absent bucket is a full one.
type bucket struct {
	tokens float64
	last   time.Time
}

// recentPair is a (client id, address) that exchanged successfully.
type recentPair struct {
	until  time.Time // the success's lifetime
	bypass bucket    // throttled verifications this pair may still spend
}

// limiterConfig configures newFailureLimiter.
type limiterConfig struct {
	limit     int           // failures per window
	per       time.Duration // the window
	ttl       time.Duration // recent-success lifetime
	perSecond int           // server-wide throttled verifications per second; 0: none
}

func newFailureLimiter(c limiterConfig, clk clock.Clock) *failureLimiter {
	return &failureLimiter{
		clock: clk, limit: float64(c.limit), per: c.per, ttl: c.ttl, global: float64(c.perSecond),
		failures: newLRU[bucket](maxFailureKeys),
		recent:   newLRU[recentPair](maxRecent),
		overflow: bucket{tokens: float64(c.limit), last: clk.Now()},
		budget:   bucket{tokens: float64(c.perSecond), last: clk.Now()},
	}
}

// admit reports whether a token request may be verified, and if not how
// long until it may.
func (l *failureLimiter) admit(clientID, ip string) (wait time.Duration, scope string, ok bool) {
	now := l.clock.Now()
	addr := addrKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	wait = l.waitFor(l.failureBucket("a\x00"+addr, now), l.limit, l.rate(), now)
	scope = ScopeAddress
	if clientID != "" {
		if pw := l.waitFor(l.failureBucket(pairKey("p\x00"+addr, clientID), now), l.limit, l.rate(), now); pw > wait {
			wait, scope = pw, ScopePair
		}
	}
	if wait == 0 {
		return 0, "", true
	}
	if clientID == "" || l.global == 0 {
		return wait, scope, false
	}
	p := l.recentPair(pairKey(addr, clientID), now)
	if p == nil {
		return wait, scope, false
	}
	pw := max(l.waitFor(&p.bypass, l.limit, l.rate(), now), l.waitFor(&l.budget, l.global, l.global, now))
	if pw == 0 {
		p.bypass.tokens--
		l.budget.tokens--
		return 0, "", true
	}
	// The client may retry when either way through opens.
	return min(wait, pw), ScopeVerifyBudget, false
}

// Why admit refused a request: the label of the rate-limit metric.
const (
	ScopeAddress      = "address"              // the source address's failure bucket was empty
	ScopePair         = "client_id_at_address" // that client id's bucket at that address was empty
	ScopeVerifyBudget = "verify_budget"        // throttled, and the recent client's verification allowance was spent
)

// fail records a refused token request.
func (l *failureLimiter) fail(clientID, ip string) {
	now := l.clock.Now()
	addr := addrKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, 2)
	if clientID != "" {
		keys = append(keys, pairKey("p\x00"+addr, clientID))
	}
	if clientID == "" || l.recentPair(pairKey(addr, clientID), now) == nil {
		keys = append(keys, "a\x00"+addr)
	}
	overflowed := false
	for _, k := range keys {
		b := l.failures.touch(k)
		if b == nil {
			b = l.newFailureBucket(k, now)
		}
		if b == nil {
			// The table is full of live buckets: new keys share one, so a
			// flood from many addresses is still throttled, once.
			if overflowed {
				continue
			}
			b, overflowed = &l.overflow, true
		}
		l.refill(b, l.limit, l.rate(), now)
		if b.tokens > 0 {
			b.tokens--
		}
	}
}

// succeed records an issued token: the pair may pass a throttle for ttl.
func (l *failureLimiter) succeed(clientID, ip string) {
	if clientID == "" {
		return // nothing to name the pair by
	}
	now := l.clock.Now()
	k := pairKey(addrKey(ip), clientID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.recent.touch(k); p != nil {
		p.until = now.Add(l.ttl)
		return
	}
	if l.recent.len() >= l.recent.max {
		l.recent.removeOldest()
	}
	l.recent.add(k, recentPair{until: now.Add(l.ttl), bypass: bucket{tokens: l.limit, last: now}})
}

func (l *failureLimiter) rate() float64 { return l.limit / l.per.Seconds() }

// failureBucket is k's bucket for reading: nil (full) when absent, or the
// overflow bucket when absent because the table is full of live ones.
// Callers hold l.mu.
func (l *failureLimiter) failureBucket(k string, now time.Time) *bucket {
	if b := l.failures.get(k); b != nil {
		return b
	}
	if l.failures.len() >= l.failures.max && !l.oldestIsIdle(now) {
		return &l.overflow
	}
	return nil
}

// newFailureBucket adds a full bucket for k, evicting the least recently
// failed key if it has refilled; nil if the table is full of live buckets.
// Callers hold l.mu.
func (l *failureLimiter) newFailureBucket(k string, now time.Time) *bucket {
	if l.failures.len() >= l.failures.max {
		if !l.oldestIsIdle(now) {
			return nil
		}
		l.failures.removeOldest()
	}
	return l.failures.add(k, bucket{tokens: l.limit, last: now})
}

// oldestIsIdle reports whether the least recently failed key's bucket has
// refilled, so forgetting it changes nothing. Callers hold l.mu.
func (l *failureLimiter) oldestIsIdle(now time.Time) bool {
	_, b := l.failures.oldest()
	if b == nil {
		return true
	}
	l.refill(b, l.limit, l.rate(), now)
	return b.tokens >= l.limit
}

// recentPair is k's unexpired recent success, or nil. Callers hold l.mu.
func (l *failureLimiter) recentPair(k string, now time.Time) *recentPair {
	p := l.recent.get(k)
	if p == nil {
		return nil
	}
	if !now.Before(p.until) {
		l.recent.remove(k)
		return nil
	}
	return p
}

// refill brings b up to date at now; callers hold l.mu.
func (l *failureLimiter) refill(b *bucket, capacity, rate float64, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(capacity, b.tokens+el*rate)
	}
	b.last = now
}

// waitFor is how long until b holds a token (0 if it does; a nil b is
// full). Callers hold l.mu.
func (l *failureLimiter) waitFor(b *bucket, capacity, rate float64, now time.Time) time.Duration {
	if b == nil {
		return 0
	}
	l.refill(b, capacity, rate, now)
	if b.tokens >= 1 {
		return 0
	}
	if rate <= 0 {
		return time.Hour // never refills; only reached when disabled
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// addrKey is what an address is counted by: its hostport.SourceBlock (the
// address itself, or its /64 for IPv6, where one host or site holds a
// whole /64 and could otherwise fail from 2^64 addresses), as a string.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if len(ip) > 64 {
			ip = ip[:64]
		}
		return ip
	}
	if b := hostport.SourceBlock(a); !b.IsSingleIP() {
		return b.String()
	}
	return a.Unmap().WithZone("").String()
}

// pairKey joins an address key and a client id, bounding the client id a
// caller chose.
func pairKey(addr, clientID string) string {
	if len(clientID) > 256 {
		clientID = clientID[:256]
	}
	return addr + "\x00" + clientID
}

// lru is a map whose entries are kept in order of last touch, so the
// oldest can be dropped in O(1) when it is full. Not safe for concurrent
// use.
type lru[V any] struct {
	max   int
	items map[string]*list.Element
	order *list.List // of *lruEntry[V]; front is the most recently touched
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](size int) lru[V] {
	return lru[V]{max: size, items: map[string]*list.Element{}, order: list.New()}
}

func (c *lru[V]) len() int { return len(c.items) }

// get returns k's value without changing the order, or nil.
func (c *lru[V]) get(k string) *V {
	if el, ok := c.items[k]; ok {
		return &el.Value.(*lruEntry[V]).val
	}
	return nil
}

// touch returns k's value and makes it the most recent, or nil.
func (c *lru[V]) touch(k string) *V {
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return &el.Value.(*lruEntry[V]).val
	}
	return nil
}

// add inserts k (absent) as the most recent; callers keep len under max.
func (c *lru[V]) add(k string, v V) *V {
	e := &lruEntry[V]{key: k, val: v}
	c.items[k] = c.order.PushFront(e)
	return &e.val
}

// oldest returns the least recently touched entry, or "", nil.
func (c *lru[V]) oldest() (string, *V) {
	el := c.order.Back()
	if el == nil {
		return "", nil
	}
	e := el.Value.(*lruEntry[V])
	return e.key, &e.val
}

func (c *lru[V]) removeOldest() {
	if k, v := c.oldest(); v != nil {
		c.remove(k)
	}
}

func (c *lru[V]) remove(k string) {
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}
