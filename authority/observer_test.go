package authority

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred/secret"
)

// recorder is an Observer that remembers what it was told.
type recorder struct {
	mu        sync.Mutex
	exchanges []string // outcome/reason
	hits      int
	misses    int
	replays   int
	swept     int
	flushes   []time.Duration
	flushed   int
	jobs      map[string]int
}

func (r *recorder) TokenExchange(outcome, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges = append(r.exchanges, outcome+"/"+reason)
}

func (r *recorder) CacheLookup(hit bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hit {
		r.hits++
	} else {
		r.misses++
	}
}

func (r *recorder) ReplayWritten() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replays++
}

func (r *recorder) ReplaySwept(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.swept += n
}

func (r *recorder) LastUsedFlush(n int, lag time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushed += n
	r.flushes = append(r.flushes, lag)
}

func (r *recorder) BackgroundRun(job string, _ time.Duration, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jobs == nil {
		r.jobs = map[string]int{}
	}
	r.jobs[job]++
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.exchanges) == 0 {
		return ""
	}
	return r.exchanges[len(r.exchanges)-1]
}

// TestRefusalReasons checks that each kind of refused exchange reaches the
// Observer with its own bounded reason, never "other".
func TestRefusalReasons(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, Config{PublicHost: "c1.example.test:8443", Observer: rec})
	ctx := context.Background()
	conn := f.connector(t)
	cred, s, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := secret.Parse(s.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	now := f.clock.Now()
	good := func() assertion { return officialAssertion(cred.ClientID, "c1.example.test", now) }
	used := good().sign(t, priv)
	if _, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, used)); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.last(), OutcomeIssued+"/"; got != want {
		t.Fatalf("first exchange: got %q, want %q", got, want)
	}

	tests := []struct {
		name string
		req  func() TokenRequest
		want string
	}{
		{"no grant type", func() TokenRequest { r := tokenReq(cred.ClientID, used); r.GrantType = ""; return r }, ReasonInvalidRequest},
		{"password grant", func() TokenRequest { r := tokenReq(cred.ClientID, used); r.GrantType = "password"; return r }, ReasonUnsupportedGrantType},
		{"not a JWS", func() TokenRequest { return tokenReq(cred.ClientID, "a.b") }, ReasonMalformed},
		{"iss is not sub", func() TokenRequest {
			a := good()
			a.claims["sub"] = "someone-else"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ReasonClientID},
		{"client id form", func() TokenRequest {
			a := good()
			a.claims["iss"], a.claims["sub"] = "nobody", "nobody"
			return tokenReq("nobody", a.sign(t, priv))
		}, ReasonClientID},
		{"other audience", func() TokenRequest {
			a := good()
			a.claims["aud"] = "c1.other.test"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ReasonAudience},
		{"expired assertion", func() TokenRequest {
			a := good()
			a.claims["exp"] = now.Add(-time.Minute).Unix()
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ReasonAssertionTime},
		{"exp a string", func() TokenRequest {
			a := good()
			a.claims["exp"] = "soon"
			return tokenReq(cred.ClientID, a.sign(t, priv))
		}, ReasonAssertionTime},
		{"unknown client", func() TokenRequest {
			id := "lost-lamb-10000@c1.example.test:8443/ccc"
			a := good()
			a.claims["iss"], a.claims["sub"] = id, id
			return tokenReq(id, a.sign(t, priv))
		}, ReasonUnknownClient},
		{"other key", func() TokenRequest { return tokenReq(cred.ClientID, good().sign(t, otherPriv)) }, ReasonBadSignature},
		{"replayed", func() TokenRequest { return tokenReq(cred.ClientID, used) }, ReasonReplayed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.a.Exchange(ctx, tc.req()); err == nil {
				t.Fatal("exchange succeeded, want a refusal")
			}
			if got, want := rec.last(), OutcomeRefused+"/"+tc.want; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if !slices.Contains(RefusalReasons, tc.want) {
				t.Errorf("%q is not in RefusalReasons", tc.want)
			}
		})
	}

	t.Run("revoked", func(t *testing.T) {
		if _, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, cred.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, good().sign(t, priv)))
		if err == nil {
			t.Fatal("exchange succeeded, want a refusal")
		}
		if got, want := rec.last(), OutcomeRefused+"/"+ReasonRevoked; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("expired credential", func(t *testing.T) {
		c, s, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{Expires: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := secret.Parse(s.Reveal())
		f.clock.Advance(time.Hour)
		a := officialAssertion(c.ClientID, "c1.example.test", f.clock.Now())
		if _, err := f.a.Exchange(ctx, tokenReq(c.ClientID, a.sign(t, p))); err == nil {
			t.Fatal("exchange succeeded, want a refusal")
		}
		if got, want := rec.last(), OutcomeRefused+"/"+ReasonExpired; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	// One exchange was accepted: one replay record, whatever was refused.
	if got, want := rec.replays, 1; got != want {
		t.Errorf("replay records written: got %d, want %d", got, want)
	}
}

// TestObserverCacheAndLastUsedLag checks the cache and lastUsedAt figures.
func TestObserverCacheAndLastUsedLag(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, Config{Observer: rec, LastUsedInterval: time.Hour})
	ctx := context.Background()
	cred, s, err := f.a.CreateAdmin(f.admin, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := secret.Parse(s.Reveal())
	exchange := func() {
		t.Helper()
		a := officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now())
		a.header["nonce"] = f.clock.Now().String()
		if _, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, a.sign(t, priv))); err != nil {
			t.Fatal(err)
		}
	}
	exchange() // miss: first look-up
	f.clock.Advance(300 * time.Millisecond)
	exchange() // hit: within the cache's 1 s
	f.clock.Advance(1200 * time.Millisecond)
	exchange() // miss: the entry is 1.5 s old
	if got, want := [2]int{rec.hits, rec.misses}, [2]int{1, 2}; got != want {
		t.Errorf("cache hits, misses: got %v, want %v", got, want)
	}

	f.clock.Advance(700 * time.Millisecond)
	f.a.Flush(ctx)
	// The first use was recorded 2.2 s ago, at t0.
	if got, want := rec.flushes, []time.Duration{2200 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("flush lags: got %v, want %v", got, want)
	}
	if got, want := rec.flushed, 1; got != want {
		t.Errorf("credentials flushed: got %d, want %d", got, want)
	}
	f.a.Flush(ctx) // nothing pending: no lag to report
	if got, want := len(rec.flushes), 1; got != want {
		t.Errorf("flushes reported: got %d, want %d", got, want)
	}
}

// TestObserverSweep checks that a sweep reports the records it deleted and
// its run.
func TestObserverSweep(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, Config{Observer: rec})
	ctx := context.Background()
	for i := range 3 {
		if err := f.store.UseAssertion(ctx, fmt.Sprint("k", i), f.clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Advancing the fake clock also fires the background loop's sweep
	// ticker (once or more: a tick is dropped only while an earlier one is
	// unread), and the loop sweeps on its own goroutine, before or after
	// the sweep run here. Whichever deletes the records, the runs together
	// report all three, and every run is reported.
	f.clock.Advance(2 * time.Minute)
	f.a.runSweep(ctx)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		rec.mu.Lock()
		runs := rec.jobs[JobReplaySweep]
		rec.mu.Unlock()
		if runs >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sweep runs reported: %d, want 2 (this one and the background loop's)", runs)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got, want := rec.swept, 3; got != want {
		t.Errorf("swept: got %d, want %d", got, want)
	}
	if got := rec.jobs[JobReplaySweep]; got < 2 {
		t.Errorf("sweep runs reported: got %d, want at least 2", got)
	}
}
