package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var assertionTests = []test{
	{"SingleUse", testAssertionSingleUse},
	{"Sweep", testAssertionSweep},
	{"ManyAtOnce", func(t *testing.T, s conncred.Store) { AssertionsOnce(t, s) }},
}

// AssertionsOnce sends hundreds of UseAssertion calls at once, each key
// four times, spread over stores (several nodes of one database, or one
// store), so that copies of a key meet within one store's batched commit as
// well as across commits and nodes. Each key must be accepted exactly once,
// and a key must be recorded for every store when its caller hears it was
// accepted: a use of it at once, on another store, is a replay.
func AssertionsOnce(t *testing.T, stores ...conncred.Store) {
	ctx := t.Context()
	const keys, copies = 150, 4
	exp := at(2 * time.Minute)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[string]int{}
	)
	start := make(chan struct{})
	for i := range keys * copies {
		key := fmt.Sprintf("%011d.%d", 1_800_000_000, i%keys)
		s, other := stores[i%len(stores)], stores[(i+1)%len(stores)]
		wg.Go(func() {
			<-start
			err := s.UseAssertion(ctx, key, exp)
			switch {
			case err == nil:
				if again := other.UseAssertion(ctx, key, exp); conncred.ErrorCode(again) != conncred.EConflict {
					t.Errorf("accepted %s, then a use of it elsewhere got %v, want EConflict", key, again)
				}
			case conncred.ErrorCode(err) != conncred.EConflict:
				t.Errorf("UseAssertion: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				accepted[key]++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(accepted) != keys {
		t.Errorf("%d keys accepted, want %d", len(accepted), keys)
	}
	for k, n := range accepted {
		if n != 1 {
			t.Errorf("key %s accepted %d times", k, n)
		}
	}
}

var signingKeyTests = []test{
	{"CreateList", testSigningKeyCreateList},
	{"DuplicateID", testSigningKeyDuplicateID},
}

func testAssertionSingleUse(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	// Keys as the authority builds them: issuer and nonce, up to a few
	// hundred bytes.
	long := "brave-falcon-40213@127.0.0.1:8443/ccc " + strings.Repeat("n0nce-", 40)
	for _, key := range []string{"k1", long, "ключ ✓"} {
		must(t, s.UseAssertion(ctx, key, at(2*time.Minute)))
		wantCode(t, s.UseAssertion(ctx, key, at(2*time.Minute)), conncred.EConflict)
		// Another expiry does not make it another use.
		wantCode(t, s.UseAssertion(ctx, key, at(time.Hour)), conncred.EConflict)
	}
	// Keys differing in case only are different keys.
	must(t, s.UseAssertion(ctx, "K1", at(2*time.Minute)))
}

func testAssertionSweep(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	n, err := s.SweepAssertions(ctx, at(time.Hour), 100)
	must(t, err)
	if n != 0 {
		t.Fatalf("sweep of an empty store: got %d, want 0", n)
	}

	cut := at(2 * time.Minute)
	var expired []string
	for i := range 5 {
		key := fmt.Sprintf("expired-%d", i)
		must(t, s.UseAssertion(ctx, key, at(time.Duration(i)*time.Second)))
		expired = append(expired, key)
	}
	must(t, s.UseAssertion(ctx, "just-expired", cut.Add(-time.Microsecond)))
	expired = append(expired, "just-expired")
	live := []string{"not-yet", "fresh"}
	must(t, s.UseAssertion(ctx, "not-yet", cut.Add(time.Microsecond)))
	must(t, s.UseAssertion(ctx, "fresh", at(time.Hour)))

	// Sweeps are bounded by their limit and report what they deleted.
	for i, want := range []int{4, 2, 0} {
		n, err := s.SweepAssertions(ctx, cut, 4)
		must(t, err)
		if n != want {
			t.Fatalf("sweep %d with limit 4: got %d, want %d", i+1, n, want)
		}
	}
	// Swept keys may be used again; live ones still may not.
	for _, key := range expired {
		must(t, s.UseAssertion(ctx, key, at(3*time.Hour)))
	}
	for _, key := range live {
		wantCode(t, s.UseAssertion(ctx, key, at(3*time.Hour)), conncred.EConflict)
	}
	n, err = s.SweepAssertions(ctx, at(4*time.Hour), 100)
	must(t, err)
	if want := len(expired) + len(live); n != want {
		t.Fatalf("final sweep: got %d, want %d", n, want)
	}
}

func testSigningKeyCreateList(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("fresh store lists %d signing keys", len(keys))
	}
	seed := func(b byte) []byte {
		s := bytes.Repeat([]byte{b}, 32)
		s[0], s[31] = 0, 0xff
		return s
	}
	// The oldest key has the largest ID, and they are written in neither
	// order: the list is ordered by age, not by ID or insertion.
	k3 := conncred.SigningKey{ID: "kid-" + newID(), Seed: seed(3), CreatedAt: at(2 * time.Hour).In(time.FixedZone("UTC-7", -7*3600))}
	k2 := conncred.SigningKey{ID: "kid-" + newID(), Seed: seed(2), CreatedAt: at(time.Hour)}
	k1 := conncred.SigningKey{ID: "kid-" + newID(), Seed: seed(1), CreatedAt: base}
	for _, k := range []conncred.SigningKey{k2, k3, k1} {
		must(t, s.CreateSigningKey(ctx, k))
	}
	keys, err = s.ListSigningKeys(ctx)
	must(t, err)
	want := []conncred.SigningKey{k1, k2, k3}
	if len(keys) != len(want) {
		t.Fatalf("ListSigningKeys: got %d keys, want %d", len(keys), len(want))
	}
	for i := range want {
		var d diff
		d.str("ID", keys[i].ID, want[i].ID)
		if !bytes.Equal(keys[i].Seed, want[i].Seed) {
			d = append(d, fmt.Sprintf("Seed: got %x, want %x", []byte(keys[i].Seed), []byte(want[i].Seed))) // test seeds, not secrets
		}
		d.time("CreatedAt", keys[i].CreatedAt, want[i].CreatedAt)
		d.check(t, fmt.Sprintf("signing key %d (oldest first)", i))
	}
}

func testSigningKeyDuplicateID(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	k := conncred.SigningKey{ID: "kid-" + newID(), Seed: bytes.Repeat([]byte{7}, 32), CreatedAt: base}
	must(t, s.CreateSigningKey(ctx, k))
	dup := conncred.SigningKey{ID: k.ID, Seed: bytes.Repeat([]byte{8}, 32), CreatedAt: at(time.Hour)}
	wantCode(t, s.CreateSigningKey(ctx, dup), conncred.EConflict)
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	if len(keys) != 1 || !bytes.Equal(keys[0].Seed, k.Seed) || !keys[0].CreatedAt.Equal(k.CreatedAt) {
		t.Fatalf("after a refused duplicate: %d keys; want only the original %s, its seed and its time", len(keys), k.ID)
	}
}
