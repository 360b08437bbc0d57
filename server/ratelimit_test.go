package server

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
)

// reply is what the token endpoint answered.
type reply struct {
	status     int
	retryAfter string
	body       string
}

// tokenFrom posts a token request as if from addr: the env must trust
// X-Forwarded-For, which is how a request gets a source other than
// 127.0.0.1 here.
func (e *env) tokenFrom(tb testing.TB, addr, body string) reply {
	tb.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/auth/v1/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		// Errorf, not Fatal: the flood calls this from its own goroutines.
		tb.Errorf("token request from %s: %v", addr, err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
}

// good is a valid token request for clientID, signed now.
func (e *env) good(tb testing.TB, clientID, sec string) string {
	tb.Helper()
	return tokenForm(clientID, assertion(tb, clientID, sec, e.clock.Now(), nil)).Encode()
}

// forged is a well-formed token request naming clientID, signed by a key
// that is not its own: what anyone who knows a client id can send.
func (e *env) forged(tb testing.TB, clientID string) string {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	now := e.clock.Now()
	c := map[string]any{"iss": clientID, "sub": clientID, "aud": "127.0.0.1",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	return tokenForm(clientID, signWith(priv, map[string]any{"alg": "EdDSA"}, c)).Encode()
}

// wantStatus fails the test unless r has status st (and, for 429, a
// positive Retry-After).
func wantStatus(tb testing.TB, what string, r reply, st int) {
	tb.Helper()
	if r.status != st {
		tb.Fatalf("%s: got %d %.200s, want %d", what, r.status, r.body, st)
	}
	if st == http.StatusTooManyRequests {
		if r.retryAfter == "" || r.retryAfter == "0" || !strings.Contains(r.body, "slow_down") {
			tb.Fatalf("%s: 429 with Retry-After %q and body %.200s, want slow_down and a positive Retry-After", what, r.retryAfter, r.body)
		}
	}
}

// TestJunkNamingAClientDoesNotLockItOut is the outside probe's attack:
// client ids are not secret, so anyone can send failing requests in a
// victim's name from their own address. The victim's valid requests from
// its address must all succeed, including its very first one.
func TestJunkNamingAClientDoesNotLockItOut(t *testing.T) {
	e := newEnv(t, Config{TrustProxyHeaders: true}, authority.Config{})
	appID, connID := e.setup()
	_, victim, sec := e.rotate(appID, connID)
	const victimAddr, attacker = "10.0.0.1", "203.0.113.66"

	junk, limited := 0, 0
	for i := range 150 {
		// A burst of 40, then one junk request every 2 s, as the probe
		// kept up.
		if i >= 40 {
			e.clock.Advance(2 * time.Second)
		}
		// Malformed, unsigned and forged requests, all naming the victim.
		var body string
		switch i % 3 {
		case 0:
			body = e.forged(t, victim)
		case 1:
			body = tokenForm(victim, "x.y.z").Encode()
		default:
			body = tokenForm(victim, assertion(t, victim, sec, e.clock.Now(), func(h, c map[string]any) { c["aud"] = "elsewhere" })).Encode()
		}
		r := e.tokenFrom(t, attacker, body)
		switch r.status {
		case http.StatusTooManyRequests:
			wantStatus(t, "attacker", r, http.StatusTooManyRequests)
			limited++
		case http.StatusUnauthorized:
			junk++
		default:
			t.Fatalf("junk request %d: %d %.200s", i, r.status, r.body)
		}
		// The victim exchanges after the attacker's bucket is long empty,
		// and keeps exchanging while the junk continues.
		if i >= 40 && i%10 == 0 {
			wantStatus(t, fmt.Sprintf("victim after %d junk requests", i+1), e.tokenFrom(t, victimAddr, e.good(t, victim, sec)), http.StatusOK)
		}
	}
	if limited == 0 {
		t.Fatalf("the attacker got %d refusals and no 429", junk)
	}
	t.Logf("attacker: %d requests answered 401, %d answered 429", junk, limited)
}

// TestFloodFromASharedAddress floods failures from the address a victim
// shares with the flood (a NAT, one host running many connectors). A client
// that already succeeded from there keeps working; a client id never seen
// from there waits (the documented limitation), and one from another
// address does not.
func TestFloodFromASharedAddress(t *testing.T) {
	e := newEnv(t, Config{TrustProxyHeaders: true}, authority.Config{})
	appID, connID := e.setup()
	_, victim, sec := e.rotate(appID, connID)
	_, other, _ := e.rotate(appID, connID)           // named by forged requests
	_, newcomer, newSec := e.rotate(appID, connID)   // never seen at the shared address
	_, elsewhere, elseSec := e.rotate(appID, connID) // first token from another address
	const shared = "198.51.100.7"

	wantStatus(t, "victim before the flood", e.tokenFrom(t, shared, e.good(t, victim, sec)), http.StatusOK)
	e.clock.Advance(10 * time.Minute)

	// flood sends n failures from each of 8 workers, concurrently.
	flood := func(n int) {
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range n {
					var body string
					switch i % 3 {
					case 0:
						body = e.forged(t, other)
					case 1:
						lost := fmt.Sprintf("lost-lamb-%d-%d@127.0.0.1:8443/ccc", w, i)
						body = e.forged(t, lost)
					default:
						body = "grant_type=client_credentials&client_assertion=garbage"
					}
					if r := e.tokenFrom(t, shared, body); r.status != http.StatusUnauthorized && r.status != http.StatusBadRequest && r.status != http.StatusTooManyRequests {
						t.Errorf("flood: %d %.200s", r.status, r.body)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	flood(10) // 80 failures: the address's bucket of 30 is empty.

	done := make(chan struct{})
	go func() { defer close(done); flood(40) }()
	var during []reply
	for range 5 {
		during = append(during, e.tokenFrom(t, shared, e.good(t, victim, sec)))
		e.clock.Advance(time.Second)
	}
	<-done // before any Fatal, which would close the server under the flood
	for i, r := range during {
		wantStatus(t, fmt.Sprintf("victim during the flood (%d)", i), r, http.StatusOK)
	}
	flood(2) // however the two raced, the address's bucket is empty now

	wantStatus(t, "a new client id at the flooded address", e.tokenFrom(t, shared, e.good(t, newcomer, newSec)), http.StatusTooManyRequests)
	wantStatus(t, "a new client id at another address", e.tokenFrom(t, "198.51.100.8", e.good(t, elsewhere, elseSec)), http.StatusOK)
	wantStatus(t, "victim after the flood", e.tokenFrom(t, shared, e.good(t, victim, sec)), http.StatusOK)
}

// TestFailedTokenRequestsAreRateLimited: repeated failures from one address
// get 429 with a Retry-After that is right, and the bucket refills on the
// clock.
func TestFailedTokenRequestsAreRateLimited(t *testing.T) {
	obs := &scopeCounter{}
	e := newEnv(t, Config{FailedTokenLimit: 5, TrustProxyHeaders: true, Observer: obs}, authority.Config{})
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	const from = "192.0.2.10"
	bad := tokenForm("lost-lamb-10000@127.0.0.1:8443/ccc", "x.y.z").Encode()
	for i := range 5 {
		wantStatus(t, fmt.Sprintf("failure %d", i+1), e.tokenFrom(t, from, bad), http.StatusUnauthorized)
	}
	// 5 a minute is one every 12 s.
	steps := []struct {
		advance    time.Duration
		status     int
		retryAfter string
	}{
		{0, http.StatusTooManyRequests, "12"},
		{11 * time.Second, http.StatusTooManyRequests, "1"},
		{time.Second, http.StatusUnauthorized, ""}, // one token back
		{0, http.StatusTooManyRequests, "12"},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		r := e.tokenFrom(t, from, bad)
		wantStatus(t, fmt.Sprintf("step %d", i), r, s.status)
		if r.retryAfter != s.retryAfter {
			t.Fatalf("step %d: Retry-After %q, want %q", i, r.retryAfter, s.retryAfter)
		}
	}
	// A client never seen from this address waits like any other request
	// from it; once the bucket has refilled it succeeds.
	wantStatus(t, "first token from the throttled address", e.tokenFrom(t, from, e.good(t, clientID, sec)), http.StatusTooManyRequests)
	e.clock.Advance(time.Minute)
	wantStatus(t, "after the window", e.tokenFrom(t, from, e.good(t, clientID, sec)), http.StatusOK)
	// Every 429 above was reported to the metrics, by the bucket that was
	// empty: the address's (the unknown client id's pair bucket is no
	// emptier, and the good client has none).
	if got, want := obs.counts(), map[string]int{ScopeAddress: 4}; !maps.Equal(got, want) {
		t.Errorf("rate-limit metrics: %v, want %v", got, want)
	}
}

// scopeCounter is a server Observer that counts TokenRateLimited calls.
type scopeCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *scopeCounter) RequestStarted()                        {}
func (c *scopeCounter) RequestDone(string, int, time.Duration) {}
func (c *scopeCounter) TokenRateLimited(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[scope]++
}
func (c *scopeCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// TestClientNamedFromItsOwnAddress: an attacker at the victim's own address
// naming the victim's client id is the one case the signature alone tells
// apart, so every such request that passes the throttle costs a
// verification. They are bounded per pair, and the address is not charged,
// so the neighbours are unaffected. The victim itself can be denied while
// this lasts (documented).
func TestClientNamedFromItsOwnAddress(t *testing.T) {
	const limit = 5
	e := newEnv(t, Config{FailedTokenLimit: limit, TrustProxyHeaders: true}, authority.Config{})
	appID, connID := e.setup()
	_, victim, sec := e.rotate(appID, connID)
	_, neighbour, nSec := e.rotate(appID, connID)
	const shared = "198.51.100.20"
	wantStatus(t, "victim's first token", e.tokenFrom(t, shared, e.good(t, victim, sec)), http.StatusOK)

	verified := 0
	for range 100 {
		r := e.tokenFrom(t, shared, e.forged(t, victim))
		switch r.status {
		case http.StatusUnauthorized:
			verified++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("forged request: %d %.200s", r.status, r.body)
		}
	}
	// limit failures empty the pair's bucket, then limit more pass as the
	// recent pair's throttled verifications.
	if verified > 2*limit {
		t.Fatalf("%d forged requests were verified in one instant, want at most %d", verified, 2*limit)
	}
	wantStatus(t, "a new client at the same address", e.tokenFrom(t, shared, e.good(t, neighbour, nSec)), http.StatusOK)
	wantStatus(t, "the victim while its pair's allowance is spent", e.tokenFrom(t, shared, e.good(t, victim, sec)), http.StatusTooManyRequests)
	e.clock.Advance(time.Minute / limit)
	wantStatus(t, "the victim once the allowance refills", e.tokenFrom(t, shared, e.good(t, victim, sec)), http.StatusOK)
}

// TestVerifiedFailuresCountForThePair: a client that holds its key but keeps
// failing (revoked, replaying) is slowed down as a pair; its address is not
// charged, so neighbours behind it, even new ones, are not.
func TestVerifiedFailuresCountForThePair(t *testing.T) {
	const limit = 5
	e := newEnv(t, Config{FailedTokenLimit: limit, TrustProxyHeaders: true}, authority.Config{})
	appID, connID := e.setup()
	credID, broken, sec := e.rotate(appID, connID)
	_, replayer, rSec := e.rotate(appID, connID)
	_, newcomer, newSec := e.rotate(appID, connID)
	const shared = "2001:db8:1:2::10"
	wantStatus(t, "broken client's first token", e.tokenFrom(t, shared, e.good(t, broken, sec)), http.StatusOK)
	once := e.good(t, replayer, rSec)
	wantStatus(t, "replayer's first token", e.tokenFrom(t, shared, once), http.StatusOK)
	base := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials/"
	if st, b := e.do("POST", base+credID, map[string]string{"Authorization": "Bearer " + e.admin}, ""); st != http.StatusOK {
		t.Fatalf("revoke: %d %s", st, b)
	}

	counts := map[int]int{}
	for i := range 60 {
		// Another address in the same /64 is the same host or site.
		from := fmt.Sprintf("2001:db8:1:2::%x", 0x10+i%4)
		counts[e.tokenFrom(t, from, e.good(t, broken, sec)).status]++
		counts[e.tokenFrom(t, from, once).status]++
	}
	if counts[http.StatusUnauthorized] > 4*limit || counts[http.StatusTooManyRequests] == 0 || len(counts) != 2 {
		t.Fatalf("120 refused requests from two keyed clients got %v, want at most %d 401 and the rest 429", counts, 4*limit)
	}
	t.Logf("statuses: %v", counts)
	wantStatus(t, "a new client at the same address", e.tokenFrom(t, shared, e.good(t, newcomer, newSec)), http.StatusOK)
	wantStatus(t, "the replayer with a fresh assertion", e.tokenFrom(t, shared, e.good(t, replayer, rSec)), http.StatusTooManyRequests)
}

// TestThrottledVerificationBudget: verifications spent on throttled
// requests of recently successful pairs are bounded server-wide.
func TestThrottledVerificationBudget(t *testing.T) {
	clk := clock.NewFake(t0)
	l := newFailureLimiter(limiterConfig{limit: 2, per: time.Minute, ttl: 3 * time.Hour, perSecond: 5}, clk)
	const addr = "10.1.1.1"
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d@127.0.0.1/ccc", i)
		l.succeed(ids[i], addr)
	}
	l.fail("", addr)
	l.fail("", addr) // the address is throttled now
	admitted := func() (n int, wait time.Duration) {
		for _, id := range ids {
			if w, _, ok := l.admit(id, addr); ok {
				n++
			} else {
				wait = max(wait, w)
			}
		}
		return n, wait
	}
	if n, wait := admitted(); n != 5 || wait <= 0 || wait > time.Second {
		t.Fatalf("admitted %d, longest wait %v; want 5 and at most 1s", n, wait)
	}
	if n, _ := admitted(); n != 0 {
		t.Fatalf("admitted %d more in the same instant, want 0", n)
	}
	clk.Advance(time.Second)
	if n, _ := admitted(); n != 5 {
		t.Fatalf("a second later admitted %d, want 5", n)
	}
	// Unknown pairs, and pairs whose success expired, are not admitted.
	if _, _, ok := l.admit("stranger@127.0.0.1/ccc", addr); ok {
		t.Fatal("a client id never seen from the address was admitted")
	}
	clk.Advance(3 * time.Hour)
	l.fail("", addr)
	l.fail("", addr)
	clk.Advance(time.Second)
	if _, _, ok := l.admit(ids[0], addr); ok {
		t.Fatal("a pair whose success expired was admitted")
	}
	// Disabled, nothing throttled is admitted.
	l = newFailureLimiter(limiterConfig{limit: 1, per: time.Minute, ttl: time.Hour}, clk)
	l.succeed(ids[0], addr)
	l.fail("", addr)
	if _, _, ok := l.admit(ids[0], addr); ok {
		t.Fatal("with no budget a throttled request was admitted")
	}
}

// TestLimiterMemoryIsBounded fills both tables with twice their size of
// distinct keys and checks their size, the heap they hold, and that a flood
// from more addresses than the table holds is still throttled.
func TestLimiterMemoryIsBounded(t *testing.T) {
	clk := clock.NewFake(t0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := newFailureLimiter(limiterConfig{limit: 30, per: time.Minute, ttl: 3 * time.Hour, perSecond: 100}, clk)
	for i := range 2 * maxFailureKeys {
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		l.fail(fmt.Sprintf("lost-lamb-%d@127.0.0.1:8443/ccc", i), ip)
		l.succeed(fmt.Sprintf("lamb-%d@127.0.0.1:8443/ccc", i), ip)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := l.failures.len(); got > maxFailureKeys {
		t.Fatalf("failure table: got %d keys, want at most %d", got, maxFailureKeys)
	}
	if got := l.recent.len(); got > maxRecent {
		t.Fatalf("recent successes: got %d, want at most %d", got, maxRecent)
	}
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("full tables hold %.1f MiB (%d failure keys, %d recent pairs)", float64(held)/(1<<20), l.failures.len(), l.recent.len())
	if held > 64<<20 {
		t.Fatalf("full tables hold %d MiB, want under 64", held>>20)
	}
	runtime.KeepAlive(l)

	// Small tables: past their size, new keys share the overflow bucket
	// while the table is full of live buckets, and get their own once the
	// oldest have refilled.
	l = newFailureLimiter(limiterConfig{limit: 3, per: time.Minute, ttl: time.Hour, perSecond: 1}, clk)
	l.failures.max, l.recent.max = 64, 16
	for i := range 1000 {
		l.fail("", fmt.Sprintf("10.9.%d.%d", i>>8, i&255))
		l.succeed("c@127.0.0.1/ccc", fmt.Sprintf("10.9.%d.%d", i>>8, i&255))
	}
	if got := l.failures.len(); got != 64 {
		t.Fatalf("small failure table: %d keys, want 64", got)
	}
	if got := l.recent.len(); got != 16 {
		t.Fatalf("small recent table: %d pairs, want 16", got)
	}
	if _, _, ok := l.admit("", "10.10.0.1"); ok {
		t.Fatal("a new address was admitted while a flood from more addresses than the table holds fills it")
	}
	clk.Advance(time.Minute)
	if _, _, ok := l.admit("", "10.10.0.1"); !ok {
		t.Fatal("a new address was refused after the flood's buckets refilled")
	}
	l.fail("", "10.10.0.1")
	if l.failures.get("a\x0010.10.0.1") == nil {
		t.Fatal("a new address got no bucket of its own after the oldest refilled")
	}
}

func TestAddrKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2::10", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
		{strings.Repeat("x", 100), strings.Repeat("x", 64)},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := addrKey(tc.in); got != tc.want {
				t.Fatalf("addrKey(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// BenchmarkLimiter is the limiter's cost per token request: a recent
// client's admit and success, and a junk request's admit and failure from
// one of 10,000 addresses.
func BenchmarkLimiter(b *testing.B) {
	clk := clock.NewFake(t0)
	l := newFailureLimiter(limiterConfig{limit: 30, per: time.Minute, ttl: 3 * time.Hour, perSecond: 100}, clk)
	addrs := make([]string, 10_000)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.0.%d.%d", i>>8, i&255)
	}
	const id = "lamb-1@127.0.0.1:8443/ccc"
	b.Run("success", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			a := addrs[i%len(addrs)]
			if _, _, ok := l.admit(id, a); ok {
				l.succeed(id, a)
			}
		}
	})
	b.Run("failure", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			a := addrs[i%len(addrs)]
			if _, _, ok := l.admit("lost@127.0.0.1:8443/ccc", a); ok {
				l.fail("lost@127.0.0.1:8443/ccc", a)
			}
		}
	})
}
