package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

func testPaging(t *testing.T, open Opener) {
	s := open(t)
	c := newConnector(t, s, newApp(t, s).ID)
	var want []string
	for i := 0; i < 25; i++ {
		cr := newCredential(t, s, c)
		want = append(want, cr.ID)
		if i%6 == 0 {
			_, err := s.RevokeCredential(ctx, cr.ID, base)
			must(t, err)
		}
	}
	var got []string
	after := ""
	for {
		page, err := s.ListCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID, ListOptions: conncred.ListOptions{After: after, Limit: 7, IncludeDeleted: true}})
		must(t, err)
		if len(page) > 7 {
			t.Fatalf("page of %d, limit 7", len(page))
		}
		for _, cr := range page {
			got = append(got, cr.ID)
		}
		if len(page) < 7 {
			break
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paging through 25 credentials by 7:\ngot  %v\nwant %v", got, want)
	}
	for i := 0; i < 12; i++ {
		newApp(t, s)
	}
	apps, err := s.ListApps(ctx, conncred.ListOptions{Limit: 5})
	must(t, err)
	rest, err := s.ListApps(ctx, conncred.ListOptions{After: apps[4].ID, Limit: 100})
	must(t, err)
	if len(apps) != 5 || len(rest) != 8 || rest[0].ID <= apps[4].ID {
		t.Fatalf("apps paging: %d then %d", len(apps), len(rest))
	}
}

func testTouch(t *testing.T, open Opener) {
	s := open(t)
	c := newConnector(t, s, newApp(t, s).ID)
	a, b := newCredential(t, s, c), newCredential(t, s, c)
	must(t, s.TouchCredentials(ctx, []conncred.CredentialUse{{ID: a.ID, At: at(time.Minute)}, {ID: b.ID, At: at(2 * time.Minute)}, {ID: ksuid.New(base), At: base}}))
	must(t, s.TouchCredentials(ctx, []conncred.CredentialUse{{ID: a.ID, At: at(time.Second)}}))
	must(t, s.TouchCredentials(ctx, nil))
	for id, want := range map[string]time.Time{a.ID: at(time.Minute), b.ID: at(2 * time.Minute)} {
		got, _ := s.GetCredential(ctx, id)
		if !sameTime(got.LastUsedAt, &want) {
			t.Fatalf("LastUsedAt of %s: %v, want %v (never backwards)", id, got.LastUsedAt, want)
		}
	}
}

func testAssertions(t *testing.T, open Opener) {
	s := open(t)
	must(t, s.UseAssertion(ctx, "k1", at(time.Minute)))
	wantCode(t, s.UseAssertion(ctx, "k1", at(time.Hour)), conncred.EConflict)
	must(t, s.UseAssertion(ctx, "k2", at(time.Hour)))
	for i := 0; i < 5; i++ {
		must(t, s.UseAssertion(ctx, fmt.Sprintf("old%d", i), at(time.Second)))
	}
	n, err := s.SweepAssertions(ctx, at(2*time.Minute), 4)
	must(t, err)
	if n != 4 {
		t.Fatalf("first sweep: %d, want 4 (the limit)", n)
	}
	n, err = s.SweepAssertions(ctx, at(2*time.Minute), 100)
	must(t, err)
	if n != 2 {
		t.Fatalf("second sweep: %d, want 2", n)
	}
	// k1 was swept and may be used again; k2 has not expired.
	must(t, s.UseAssertion(ctx, "k1", at(time.Hour)))
	wantCode(t, s.UseAssertion(ctx, "k2", at(time.Hour)), conncred.EConflict)
}

func testSigningKeys(t *testing.T, open Opener) {
	s := open(t)
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("fresh store has %d signing keys", len(keys))
	}
	k2 := conncred.SigningKey{ID: "kid-b", Seed: make([]byte, 32), CreatedAt: at(time.Hour)}
	k1 := conncred.SigningKey{ID: "kid-a", Seed: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: base}
	must(t, s.CreateSigningKey(ctx, k2))
	must(t, s.CreateSigningKey(ctx, k1))
	wantCode(t, s.CreateSigningKey(ctx, k1), conncred.EConflict)
	keys, err = s.ListSigningKeys(ctx)
	must(t, err)
	if len(keys) != 2 || keys[0].ID != "kid-a" || string(keys[0].Seed) != string(k1.Seed) || !keys[1].CreatedAt.Equal(k2.CreatedAt) {
		t.Fatalf("ListSigningKeys (oldest first): %+v", keys)
	}
}

func testAudit(t *testing.T, open Opener) {
	s := open(t)
	var events []conncred.AuditEvent
	for i := 0; i < 10; i++ {
		e := conncred.AuditEvent{ID: ksuid.New(base), Time: at(time.Duration(i) * time.Minute), Kind: "token.issued", Actor: "a@h/ccc",
			Source: "127.0.0.1:5000", Outcome: "success", ConnectorID: "conn-even", CredentialID: fmt.Sprintf("cred-%d", i%3), Count: i + 1}
		if i%2 == 1 {
			e.Kind, e.Outcome, e.Reason, e.ConnectorID = "token.refused", "failure", "bad signature", "conn-odd"
		}
		events = append(events, e)
	}
	must(t, s.AppendAudit(ctx, events))
	must(t, s.AppendAudit(ctx, nil))
	all, err := s.ListAudit(ctx, conncred.AuditFilter{Limit: 100})
	must(t, err)
	if len(all) != 10 || all[3] != events[3] {
		t.Fatalf("ListAudit: %d events; [3] = %+v, want %+v", len(all), all[3], events[3])
	}
	for name, tc := range map[string]struct {
		f    conncred.AuditFilter
		want int
	}{
		"kind":       {conncred.AuditFilter{Kind: "token.refused", Limit: 100}, 5},
		"connector":  {conncred.AuditFilter{ConnectorID: "conn-even", Limit: 100}, 5},
		"credential": {conncred.AuditFilter{CredentialID: "cred-0", Limit: 100}, 4},
		"since":      {conncred.AuditFilter{Since: at(7 * time.Minute), Limit: 100}, 3},
		"until":      {conncred.AuditFilter{Until: at(2 * time.Minute), Limit: 100}, 2},
		"window":     {conncred.AuditFilter{Since: at(2 * time.Minute), Until: at(4 * time.Minute), Limit: 100}, 2},
		"after":      {conncred.AuditFilter{After: events[7].ID, Limit: 100}, 2},
		"limit":      {conncred.AuditFilter{Limit: 3}, 3},
	} {
		got, err := s.ListAudit(ctx, tc.f)
		must(t, err)
		if len(got) != tc.want {
			t.Errorf("%s: %d events, want %d", name, len(got), tc.want)
		}
	}
}

func testConcurrency(t *testing.T, open Opener) {
	s := open(t)
	c := newConnector(t, s, newApp(t, s).ID)
	const workers = 16
	var wg sync.WaitGroup
	results := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- s.CreateCredential(ctx, credential(conncred.KindConnector, c.AppID, c.ID), conncred.ActiveLimit{MaxActive: 5, Now: base})
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch conncred.ErrorCode(err) {
		case "":
			ok++
		case conncred.EConflict:
		default:
			t.Fatalf("concurrent create: %v", err)
		}
	}
	if ok != 5 {
		t.Fatalf("%d concurrent creates succeeded under a cap of 5", ok)
	}

	uses := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uses <- s.UseAssertion(ctx, "same-key", at(time.Hour))
		}()
	}
	wg.Wait()
	close(uses)
	ok = 0
	for err := range uses {
		if err == nil {
			ok++
		} else {
			wantCode(t, err, conncred.EConflict)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent uses of one assertion succeeded, want 1", ok)
	}

	// Writers on different connectors all succeed, with readers beside them.
	errs := make(chan error, workers*3)
	for i := 0; i < workers; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			conn := conncred.Connector{ID: ksuid.New(base), AppID: c.AppID, DisplayName: "x", CreatedAt: base, UpdatedAt: base}
			if err := s.CreateConnector(ctx, conn); err != nil {
				errs <- err
				return
			}
			cr := credential(conncred.KindConnector, c.AppID, conn.ID)
			errs <- s.CreateCredential(ctx, cr, conncred.ActiveLimit{MaxActive: 10, Now: base})
			_, err := s.RevokeCredential(ctx, cr.ID, base)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.ListCredentials(ctx, conncred.CredentialFilter{AppID: c.AppID, ListOptions: conncred.ListOptions{Limit: 50}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
}
