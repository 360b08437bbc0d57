package postgres

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/store/storetest"
)

// Two Store instances on one schema stand for two server nodes.

func TestUseAssertionAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	exp := now.Add(2 * time.Minute)
	must(t, a.UseAssertion(ctx, "jti-1", exp))
	wantCode(t, b.UseAssertion(ctx, "jti-1", exp), conncred.EConflict)

	// Many nodes racing with one key: exactly one wins.
	const racers = 16
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() { errs <- s.UseAssertion(ctx, "jti-race", exp) })
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch conncred.ErrorCode(err) {
		case "":
			won++
		case conncred.EConflict:
		default:
			t.Fatalf("racing UseAssertion: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d racing uses of one key succeeded, want 1", won, racers)
	}
}

// TestUseAssertionBatches: the suite's AssertionsOnce across two nodes, so
// that a key's copies meet in one node's batch, in the other's, and between
// the two.
func TestUseAssertionBatches(t *testing.T) {
	u := schemaURL(t)
	storetest.AssertionsOnce(t, open(t, u), open(t, u))
}

func TestSweepAssertionsIsBounded(t *testing.T) {
	s := open(t, schemaURL(t))
	for i := range 5 {
		must(t, s.UseAssertion(ctx, "old-"+string(rune('a'+i)), now.Add(-time.Minute)))
	}
	must(t, s.UseAssertion(ctx, "live", now.Add(time.Minute)))
	n, err := s.SweepAssertions(ctx, now, 3)
	must(t, err)
	if n != 3 {
		t.Fatalf("first sweep deleted %d, want 3", n)
	}
	n, err = s.SweepAssertions(ctx, now, 3)
	must(t, err)
	if n != 2 {
		t.Fatalf("second sweep deleted %d, want 2", n)
	}
	wantCode(t, s.UseAssertion(ctx, "live", now.Add(time.Minute)), conncred.EConflict)
	must(t, s.UseAssertion(ctx, "old-a", now.Add(time.Minute))) // swept, so usable again
}

func TestTouchFromTwoNodesKeepsLatest(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	cr := adminCredential()
	must(t, a.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	later := now.Add(time.Second)
	must(t, b.TouchCredentials(ctx, []conncred.CredentialUse{{ID: cr.ID, At: later}}))
	must(t, a.TouchCredentials(ctx, []conncred.CredentialUse{{ID: cr.ID, At: now}, {ID: "unknown", At: now}}))
	got, err := a.GetCredential(ctx, cr.ID)
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) {
		t.Fatalf("lastUsedAt: %v, want %v", got.LastUsedAt, later)
	}

	// Both nodes at once, many rounds, interleaved times: the maximum wins.
	latest := now.Add(time.Hour)
	var wg sync.WaitGroup
	for i := range 20 {
		s := a
		if i%2 == 1 {
			s = b
		}
		at := now.Add(time.Duration(i) * time.Minute)
		if i == 7 {
			at = latest
		}
		wg.Go(func() {
			if err := s.TouchCredentials(ctx, []conncred.CredentialUse{{ID: cr.ID, At: at}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err = b.GetCredential(ctx, cr.ID)
	must(t, err)
	if !got.LastUsedAt.Equal(latest) {
		t.Fatalf("lastUsedAt after concurrent touches: %v, want %v", got.LastUsedAt, latest)
	}
}

// TestTouchWithRepeatedIDs checks that a batch naming one credential twice
// keeps the later time, whatever its position: UPDATE ... FROM would
// otherwise apply one of the two joined rows at random.
func TestTouchWithRepeatedIDs(t *testing.T) {
	s := open(t, schemaURL(t))
	cr := adminCredential()
	must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	late := now.Add(time.Minute)
	for _, uses := range [][]conncred.CredentialUse{
		{{ID: cr.ID, At: late}, {ID: cr.ID, At: now}},
		{{ID: cr.ID, At: now}, {ID: cr.ID, At: late}},
	} {
		must(t, s.TouchCredentials(ctx, uses))
		got, err := s.GetCredential(ctx, cr.ID)
		must(t, err)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(late) {
			t.Fatalf("lastUsedAt after %v: %v, want %v", uses, got.LastUsedAt, late)
		}
	}
}

// TestActiveCapAcrossNodes rotates one connector from two nodes at once:
// the connector row lock makes them take turns, so the cap holds.
func TestActiveCapAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	conn := newConnector(t, a)
	const maxActive, tries = 3, 12
	errs := make(chan error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			errs <- s.CreateCredential(ctx, connectorCredential(conn), conncred.ActiveLimit{MaxActive: maxActive, Now: now})
		})
	}
	wg.Wait()
	close(errs)
	created := 0
	for err := range errs {
		switch conncred.ErrorCode(err) {
		case "":
			created++
		case conncred.EConflict:
		default:
			t.Fatalf("CreateCredential: %v", err)
		}
	}
	n, err := a.CountCredentials(ctx, conncred.CredentialFilter{ConnectorID: conn.ID})
	must(t, err)
	if created != maxActive || n != maxActive {
		t.Fatalf("%d rotates succeeded and %d credentials exist, want %d", created, n, maxActive)
	}
}

// watch starts WatchRevocations on s and returns the ids it reports.
func watch(t *testing.T, s *Store) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.WatchRevocations(ctx, func(id string) { got <- id }); err != context.Canceled {
			t.Errorf("WatchRevocations returned %v, want context.Canceled", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	// The watcher says "" once it listens.
	waitFor(t, got, "")
	return got
}

// waitFor reads ids until want arrives; a generous bound only keeps a
// broken watcher from hanging the test.
func waitFor(t *testing.T, got <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case id := <-got:
			if id == want {
				return
			}
		case <-timeout:
			t.Fatalf("no notification %q within 10s", want)
		}
	}
}

func TestRevocationsReachOtherNodes(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	got := watch(t, b)

	cr := adminCredential()
	must(t, a.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	start := time.Now()
	_, err := a.RevokeCredential(ctx, cr.ID, now)
	must(t, err)
	waitFor(t, got, cr.ID)
	t.Logf("notification arrived after %v", time.Since(start).Round(time.Microsecond))
}

func TestDeletesAnnounceEachCredential(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	got := watch(t, b)

	conn := newConnector(t, a)
	var ids []string
	for range 3 {
		cr := connectorCredential(conn)
		must(t, a.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
		ids = append(ids, cr.ID)
	}
	_, err := a.RevokeCredential(ctx, ids[0], now)
	must(t, err)
	waitFor(t, got, ids[0])
	must(t, a.DeleteConnector(ctx, conn.ID, now))
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !seen[ids[1]] || !seen[ids[2]] {
		select {
		case id := <-got:
			seen[id] = true
		case <-timeout:
			t.Fatalf("after DeleteConnector, saw %v within 10s, want %v", seen, ids[1:])
		}
	}

	// An app delete announces the credentials of every connector below it.
	other := newConnector(t, a)
	cr := connectorCredential(other)
	must(t, a.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	must(t, a.DeleteApp(ctx, other.AppID, now))
	waitFor(t, got, cr.ID)
}

func TestRevokeRolledBackIsNotAnnounced(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	got := watch(t, b)
	// A revoke of an unknown id fails, and its transaction with it.
	_, err := a.RevokeCredential(ctx, "unknown-id", now)
	wantCode(t, err, conncred.ENotFound)
	cr := adminCredential()
	must(t, a.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	_, err = a.RevokeCredential(ctx, cr.ID, now)
	must(t, err)
	var before []string
	timeout := time.After(10 * time.Second)
	for !slices.Contains(before, cr.ID) {
		select {
		case id := <-got:
			before = append(before, id)
		case <-timeout:
			t.Fatalf("no notification for %s within 10s", cr.ID)
		}
	}
	// Notifications arrive in commit order, so the failed one would be first.
	if slices.Contains(before, "unknown-id") {
		t.Fatalf("a failed revoke was announced: %v", before)
	}
}
