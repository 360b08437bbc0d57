package authority

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

// TestReplayKey: one assertion has one key however often it is sent,
// different assertions have different keys, and keys sort by exp, which is
// what keeps the replay table's inserts together (see replayKey).
func TestReplayKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	now := t0
	parse := func(a assertion) *compactJWS {
		t.Helper()
		j, err := parseJWS(a.sign(t, priv))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	a := officialAssertion("c@h/ccc", "h", now)
	first := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(a))
	if again := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(a)); again != first {
		t.Fatalf("one assertion, two keys: %q, %q", first, again)
	}
	other := officialAssertion("c@h/ccc", "h", now)
	other.header["nonce"] = "another-nonce"
	if k := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(other)); k == first {
		t.Fatal("two nonces, one key")
	}
	if k := replayKey(now.Add(2*time.Minute), "c@h/ccc", "jti-1", parse(a)); k == first {
		t.Fatal("a jti does not change the key")
	}
	noNonce := officialAssertion("c@h/ccc", "h", now)
	delete(noNonce.header, "nonce")
	if k := replayKey(now.Add(2*time.Minute), "c@h/ccc", "", parse(noNonce)); k == first {
		t.Fatal("an assertion without a nonce has the key of one with")
	}
	// Later exps sort later, across a change in the number of digits of
	// the seconds, and the key never reveals the nonce.
	for _, pair := range [][2]time.Time{{now, now.Add(time.Second)}, {time.Unix(9_999_999_999, 0), time.Unix(10_000_000_000, 0)}} {
		early, late := replayKey(pair[0], "c@h/ccc", "", parse(a)), replayKey(pair[1], "c@h/ccc", "", parse(a))
		if !(early < late) {
			t.Errorf("key for exp %v does not sort before the key for %v: %q, %q", pair[0], pair[1], early, late)
		}
	}
	if strings.Contains(first, a.header["nonce"].(string)) {
		t.Errorf("key %q carries the nonce", first)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// replayCounter keeps replay records in memory, to count them.
type replayCounter struct {
	conncred.Store
	mu      sync.Mutex
	expires map[string]time.Time
}

func (c *replayCounter) UseAssertion(_ context.Context, key string, exp time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.expires[key]; ok {
		return conncred.Errorf(conncred.EConflict, "used")
	}
	c.expires[key] = exp
	return nil
}

func (c *replayCounter) SweepAssertions(_ context.Context, before time.Time, n int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deleted := 0
	for k, exp := range c.expires {
		if deleted == n {
			break
		}
		if exp.Before(before) {
			delete(c.expires, k)
			deleted++
		}
	}
	return deleted, nil
}

func (c *replayCounter) live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.expires)
}

// TestReplayRecordsBounded: the replay records kept are those of the last
// assertion lifetime (+ skew + sweep interval), whatever the rate: a sweep
// deletes every expired record, hundreds of thousands if need be, not a
// fixed number per tick that a busy server outruns.
func TestReplayRecordsBounded(t *testing.T) {
	f := newFixture(t, Config{})
	rc := &replayCounter{Store: f.store, expires: map[string]time.Time{}}
	a, err := New(context.Background(), Config{}, rc, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	// A backlog far over one tick's worth of the old fixed sweep (100,000).
	for i := range 250_000 {
		rc.expires[fmt.Sprintf("old-%d", i)] = f.clock.Now().Add(-time.Second)
	}
	if n, _ := a.sweepAssertions(context.Background()); n != 250_000 || rc.live() != 0 {
		t.Fatalf("sweep deleted %d of 250000 expired records; %d left", n, rc.live())
	}

	// Exchanges at a steady rate for longer than an assertion lives: the
	// records level off at rate × (lifetime + skew + sweep interval).
	cred, s, _ := a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	const perSecond = 2
	// officialAssertion's exp is now + 2 min; the record lives 30 s more.
	bound := perSecond * int((2*time.Minute+a.cfg.ClockSkew+replaySweepEvery)/time.Second)
	peak := 0
	for sec := range 600 {
		for range perSecond {
			as := officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now())
			if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, as.sign(t, priv))); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second / perSecond)
		}
		if sec%int(replaySweepEvery/time.Second) == 0 {
			a.sweepAssertions(context.Background())
		}
		peak = max(peak, rc.live())
	}
	if peak > bound || peak < bound/2 {
		t.Fatalf("replay records peaked at %d; want at most rate × (lifetime + skew + sweep interval) = %d, and near it", peak, bound)
	}
}

// TestReplayRecordsHostileExp: whatever exp, nbf and iat an assertion
// claims, a replay record written for it expires within lifetime + 2×skew
// of being written (exp <= now + lifetime + skew, kept until exp + skew),
// its key keeps one width and sorts by expiry, and the table levels off at
// rate × (lifetime + 2×skew + sweep interval) under a stream of assertions
// with the longest exp accepted, mixed with hostile ones that are refused.
func TestReplayRecordsHostileExp(t *testing.T) {
	f := newFixture(t, Config{})
	rc := &replayCounter{Store: f.store, expires: map[string]time.Time{}}
	a, err := New(context.Background(), Config{}, rc, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cred, s, _ := a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	life, skew := a.cfg.MaxAssertionLifetime, a.cfg.ClockSkew

	n := 0
	sign := func(now time.Time, claims map[string]any) string {
		n++
		as := officialAssertion(cred.ClientID, "127.0.0.1", now)
		as.header["nonce"] = fmt.Sprintf("nonce-%08d", n)
		maps.Copy(as.claims, claims)
		return as.sign(t, priv)
	}
	hostile := func(now time.Time) []map[string]any {
		year := now.Add(365 * 24 * time.Hour)
		return []map[string]any{
			{"exp": year.Unix(), "iat": year.Add(-time.Minute).Unix(), "nbf": now.Add(-2 * time.Minute).Unix()},
			{"exp": year.Unix(), "iat": year.Add(-time.Minute).Unix(), "nbf": 0},
			{"exp": int64(99999999999), "iat": nil, "nbf": nil},
			{"exp": now.Add(life + skew + time.Second).Unix(), "iat": now.Unix()},
			{"exp": "99999999999"},
		}
	}

	const perSecond = 2
	bound := perSecond * int((life+2*skew+replaySweepEvery)/time.Second)
	peak, width := 0, 0
	for sec := range 900 {
		for range perSecond {
			now := f.clock.Now()
			for _, c := range hostile(now) {
				for k, v := range c {
					if v == nil {
						delete(c, k)
					}
				}
				if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, sign(now, c))); err == nil {
					t.Fatalf("hostile claims %v accepted at %v", c, now)
				}
			}
			// The longest-lived assertion the server accepts: exp at the
			// edge of the window, iat as late as that allows, nbf as far back as allowed.
			longest := map[string]any{"exp": now.Add(life + skew).Unix(), "iat": now.Add(skew).Unix(), "nbf": now.Add(-(life + skew)).Unix() + 1}
			before := rc.snapshot()
			if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, sign(now, longest))); err != nil {
				t.Fatalf("the longest assertion the window allows was refused: %v", err)
			}
			for k, exp := range rc.snapshot() {
				if _, old := before[k]; old {
					continue
				}
				if limit := now.Add(life + 2*skew); exp.After(limit) {
					t.Fatalf("record %q written at %v expires at %v, after %v", k, now, exp, limit)
				}
				if width == 0 {
					width = len(k)
				} else if len(k) != width {
					t.Fatalf("record key %q is %d bytes; earlier keys were %d", k, len(k), width)
				}
			}
			f.clock.Advance(time.Second / perSecond)
		}
		if sec%int(replaySweepEvery/time.Second) == 0 {
			a.sweepAssertions(context.Background())
		}
		peak = max(peak, rc.live())
	}
	if peak > bound {
		t.Fatalf("replay records peaked at %d; want at most rate × (lifetime + 2×skew + sweep interval) = %d", peak, bound)
	}
	// The authority's own sweep also runs as the fake clock advances, so
	// the records are read under the counter's lock.
	live := rc.snapshot()
	keys := slices.Collect(maps.Keys(live))
	slices.Sort(keys)
	for i := 1; i < len(keys); i++ {
		if live[keys[i]].Before(live[keys[i-1]]) {
			t.Fatalf("key %q sorts after %q but expires earlier", keys[i], keys[i-1])
		}
	}
}

func (c *replayCounter) snapshot() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.expires)
}
