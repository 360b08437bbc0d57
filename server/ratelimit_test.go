package server

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred/authority"
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
