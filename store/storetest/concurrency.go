package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var concurrencyTests = []test{
	{"CapUnderContention", testCapUnderContention},
	{"SingleUseUnderContention", testSingleUseUnderContention},
	{"IndependentWriters", testIndependentWriters},
	{"RevokeRace", testRevokeRace},
	{"TouchRace", testTouchRace},
	{"DeleteWhileCreating", testDeleteWhileCreating},
}

// workers is how many goroutines race in each test: more than a small
// connection pool holds, so some wait for a connection too.
const workers = 16

// race runs fn in n goroutines released at once and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and fails on any error whose code is not one of
// allowed.
func tally(t *testing.T, what string, errs []error, allowed ...string) (ok int) {
	t.Helper()
	for _, err := range errs {
		code := conncred.ErrorCode(err)
		switch {
		case err == nil:
			ok++
		case !slices.Contains(allowed, code):
			t.Errorf("%s: unexpected error %v (code %q)", what, err, code)
		}
	}
	return ok
}

func testCapUnderContention(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	for round := range 3 {
		c := newConnector(t, s, a.ID)
		limit := conncred.ActiveLimit{MaxActive: 5, Now: base}
		if round == 2 {
			// Two already there; three places left.
			newCredential(t, s, &c)
			newCredential(t, s, &c)
		}
		errs := race(workers, func(int) error { return s.CreateCredential(ctx, credential(&c), limit) })
		ok := tally(t, "concurrent create under a cap", errs, conncred.EConflict)
		want := 5
		if round == 2 {
			want = 3
		}
		if ok != want {
			t.Errorf("round %d: %d of %d concurrent creates succeeded, want %d", round, ok, workers, want)
		}
		n, err := s.CountCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID, UsableAt: &limit.Now})
		must(t, err)
		if n != 5 {
			t.Errorf("round %d: %d usable credentials under a cap of 5", round, n)
		}
	}
}

func testSingleUseUnderContention(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	for k := range 5 {
		key := fmt.Sprintf("iss|nonce-%d", k)
		errs := race(workers, func(int) error { return s.UseAssertion(ctx, key, at(time.Minute)) })
		if ok := tally(t, "concurrent use of one assertion", errs, conncred.EConflict); ok != 1 {
			t.Errorf("key %s: %d of %d concurrent uses succeeded, want exactly 1", key, ok, workers)
		}
	}
}

// testIndependentWriters runs writers that touch disjoint records, with
// readers beside them. Nothing conflicts, so every call must succeed: a
// backend's own contention (a busy database, a serialization failure) is its
// to absorb, not the caller's.
func testIndependentWriters(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	var done atomic.Bool
	var readErrs []error
	var readers sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		readers.Go(func() {
			for !done.Load() {
				_, err1 := s.ListApps(ctx, conncred.ListOptions{Limit: 50})
				_, err2 := s.ListCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindConnector, ListOptions: conncred.ListOptions{Limit: 50}})
				_, err3 := s.CountCredentials(ctx, conncred.CredentialFilter{UsableAt: ptr(base)})
				_, err4 := s.ListAudit(ctx, conncred.AuditFilter{Limit: 50})
				mu.Lock()
				for _, err := range []error{err1, err2, err3, err4} {
					if err != nil {
						readErrs = append(readErrs, err)
					}
				}
				mu.Unlock()
			}
		})
	}
	errs := race(workers, func(i int) error {
		a := app()
		if err := s.CreateApp(ctx, a); err != nil {
			return err
		}
		c := connector(a.ID)
		if err := s.CreateConnector(ctx, c); err != nil {
			return err
		}
		var creds []conncred.Credential
		for range 3 {
			cr := credential(&c)
			if err := s.CreateCredential(ctx, cr, conncred.ActiveLimit{MaxActive: 3, Now: base}); err != nil {
				return err
			}
			creds = append(creds, cr)
		}
		if err := s.TouchCredentials(ctx, []conncred.CredentialUse{{ID: creds[0].ID, At: at(time.Minute)}}); err != nil {
			return err
		}
		if _, err := s.RevokeCredential(ctx, creds[1].ID, at(time.Hour)); err != nil {
			return err
		}
		if err := s.UseAssertion(ctx, fmt.Sprintf("writer-%d", i), at(time.Minute)); err != nil {
			return err
		}
		if err := s.AppendAudit(ctx, []conncred.AuditEvent{auditEvent(i)}); err != nil {
			return err
		}
		c.DisplayName, c.UpdatedAt = fmt.Sprintf("writer %d", i), at(time.Minute)
		if err := s.UpdateConnector(ctx, c); err != nil {
			return err
		}
		if i%2 == 0 {
			return s.DeleteApp(ctx, a.ID, at(2*time.Hour))
		}
		return s.DeleteConnector(ctx, c.ID, at(2*time.Hour))
	})
	done.Store(true)
	readers.Wait()
	tally(t, "independent writer", errs)
	tally(t, "reader beside writers", readErrs)

	n, err := s.CountCredentials(ctx, conncred.CredentialFilter{ListOptions: conncred.ListOptions{IncludeDeleted: true}})
	must(t, err)
	if n != workers*3 {
		t.Errorf("credentials written: got %d, want %d", n, workers*3)
	}
	n, err = s.CountCredentials(ctx, conncred.CredentialFilter{})
	must(t, err)
	if n != 0 {
		t.Errorf("credentials left live after every connector was deleted: %d", n)
	}
}

func testRevokeRace(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	cr := newCredential(t, s, &c)
	results := make([]conncred.Credential, workers)
	errs := race(workers, func(i int) error {
		var err error
		results[i], err = s.RevokeCredential(ctx, cr.ID, at(time.Duration(i+1)*time.Minute))
		return err
	})
	tally(t, "concurrent revoke", errs)
	stored := getCredential(t, s, cr.ID)
	if stored.DeletedAt == nil || stored.DeletedAt.Before(at(time.Minute)) || stored.DeletedAt.After(at(workers*time.Minute)) {
		t.Fatalf("DeletedAt after concurrent revokes: %s, want one of the revoke times", fmtTime(stored.DeletedAt))
	}
	// Every caller sees the one revocation that won, never its own.
	for i, got := range results {
		if errs[i] == nil {
			checkCredential(t, fmt.Sprintf("record returned to revoker %d", i), got, stored)
		}
	}
}

func testTouchRace(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	var creds []conncred.Credential
	for range 4 {
		creds = append(creds, newCredential(t, s, &c))
	}
	// Each worker touches every credential with its own time, in its own
	// order; the latest time must win whatever order the writes land in.
	errs := race(workers, func(i int) error {
		uses := make([]conncred.CredentialUse, len(creds))
		for j, cr := range creds {
			uses[j] = conncred.CredentialUse{ID: cr.ID, At: at(time.Duration(i*len(creds)+j) * time.Second)}
		}
		rand.Shuffle(len(uses), func(a, b int) { uses[a], uses[b] = uses[b], uses[a] })
		return s.TouchCredentials(ctx, uses)
	})
	tally(t, "concurrent touch", errs)
	for j, cr := range creds {
		want := at(time.Duration((workers-1)*len(creds)+j) * time.Second)
		if got := getCredential(t, s, cr.ID); !sameTime(got.LastUsedAt, &want) {
			t.Errorf("credential %d: LastUsedAt got %s, want the latest, %s", j, fmtTime(got.LastUsedAt), want)
		}
	}
}

// testDeleteWhileCreating deletes a connector, or its app, while credentials
// are being created on it: whichever order the writes land in, no live
// credential may be left under a deleted connector.
func testDeleteWhileCreating(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	for round, viaApp := range []bool{false, true, false, true} {
		a := newApp(t, s)
		c := newConnector(t, s, a.ID)
		limit := conncred.ActiveLimit{}
		if round >= 2 {
			limit = conncred.ActiveLimit{MaxActive: 5, Now: base}
		}
		errs := race(workers+1, func(i int) error {
			if i == workers/2 {
				if viaApp {
					return s.DeleteApp(ctx, a.ID, at(time.Hour))
				}
				return s.DeleteConnector(ctx, c.ID, at(time.Hour))
			}
			return s.CreateCredential(ctx, credential(&c), limit)
		})
		ok := tally(t, "create or delete", errs, conncred.ENotFound, conncred.EConflict)
		if errs[workers/2] != nil {
			t.Fatalf("round %d: delete: %v", round, errs[workers/2])
		}
		live, err := s.CountCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID})
		must(t, err)
		if live != 0 {
			t.Errorf("round %d: %d live credentials under a deleted connector", round, live)
		}
		list, err := s.ListCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID, ListOptions: conncred.ListOptions{Limit: 100, IncludeDeleted: true}})
		must(t, err)
		if created := ok - 1; len(list) != created {
			t.Errorf("round %d: %d credentials stored, %d creates succeeded", round, len(list), created)
		}
	}
}
