package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/policy"
)

// policyTests pin policy.Store, which every conncred store also
// implements.
var policyTests = []test{
	{"RoundTrip", testPolicyRoundTrip},
	{"EmptyRemoves", testPolicyEmptyRemoves},
	{"EmitOnce", testEmitOnce},
	{"EmitOnceUnderContention", func(t *testing.T, s conncred.Store) { PolicyEventsOnce(t, s) }},
	{"SchedulerOnce", func(t *testing.T, s conncred.Store) { PolicySchedulersOnce(t, s) }},
}

func policyStore(t testing.TB, s conncred.Store) policy.Store {
	t.Helper()
	ps, err := policy.AsStore(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// testPolicyRoundTrip: every field keeps its value, and unset (nil) stays
// apart from none (0, or no warnings).
func testPolicyRoundTrip(t *testing.T, s conncred.Store) {
	ps, ctx := policyStore(t, s), t.Context()
	full := policy.Policy{MaxLifetime: ptr(day(90)), ExpiryWarnings: &[]time.Duration{day(14), day(1), 90 * time.Minute},
		DormancyThreshold: ptr(day(30)), AutoRevokeAfter: ptr(day(60)), OfflineAfter: ptr(15 * time.Minute), UpdatedAt: at(time.Hour)}
	partial := policy.Policy{MaxLifetime: ptr(time.Duration(0)), ExpiryWarnings: &[]time.Duration{}, UpdatedAt: at(2 * time.Hour)}
	tests := []struct {
		scope policy.Scope
		p     policy.Policy
	}{
		{policy.Scope{Kind: policy.ScopeServer}, full},
		{policy.Scope{Kind: policy.ScopeApp, ID: newID()}, partial},
		{policy.Scope{Kind: policy.ScopeConnector, ID: newID()}, policy.Policy{DormancyThreshold: ptr(day(7)), OfflineAfter: ptr(time.Duration(0)), UpdatedAt: at(3 * time.Hour)}},
	}
	for _, tc := range tests {
		must(t, ps.PutPolicy(ctx, tc.scope, tc.p, nil))
		got, err := ps.Policy(ctx, tc.scope)
		must(t, err)
		checkPolicy(t, tc.scope.String(), got, tc.p)
	}
	// A replace sets exactly the new fields.
	must(t, ps.PutPolicy(ctx, tests[0].scope, partial, nil))
	got, err := ps.Policy(ctx, tests[0].scope)
	must(t, err)
	checkPolicy(t, "replaced", got, partial)

	all, err := ps.ListPolicies(ctx)
	must(t, err)
	if len(all) != len(tests) {
		t.Fatalf("ListPolicies: got %d policies, want %d", len(all), len(tests))
	}
	for _, tc := range tests[1:] {
		checkPolicy(t, "listed "+tc.scope.String(), all[tc.scope], tc.p)
	}
	none, err := ps.Policy(ctx, policy.Scope{Kind: policy.ScopeApp, ID: newID()})
	must(t, err)
	if !none.Empty() {
		t.Errorf("Policy of a scope never set: got %+v, want empty", none)
	}
}

func testPolicyEmptyRemoves(t *testing.T, s conncred.Store) {
	ps, ctx := policyStore(t, s), t.Context()
	sc := policy.Scope{Kind: policy.ScopeApp, ID: newID()}
	must(t, ps.PutPolicy(ctx, sc, policy.Policy{}, nil)) // nothing to remove
	must(t, ps.PutPolicy(ctx, sc, policy.Policy{MaxLifetime: ptr(day(1)), UpdatedAt: base}, nil))
	must(t, ps.PutPolicy(ctx, sc, policy.Policy{}, nil))
	all, err := ps.ListPolicies(ctx)
	must(t, err)
	if len(all) != 0 {
		t.Errorf("ListPolicies after an empty put: got %v, want none", all)
	}
}

func checkPolicy(t testing.TB, what string, got, want policy.Policy) {
	t.Helper()
	if g, w := policy.Describe(got), policy.Describe(want); g != w {
		t.Errorf("%s: got %s, want %s", what, g, w)
	}
	if (got.ExpiryWarnings == nil) != (want.ExpiryWarnings == nil) {
		t.Errorf("%s: expiryWarnings set: got %t, want %t", what, got.ExpiryWarnings != nil, want.ExpiryWarnings != nil)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: UpdatedAt got %s, want %s", what, got.UpdatedAt, want.UpdatedAt)
	}
}

func policyEvent(k policy.EventKey, now time.Time) conncred.AuditEvent {
	return conncred.AuditEvent{ID: ksuid.New(now), Time: now, Kind: k.Kind, Actor: "system", Outcome: "success",
		Reason: "test", CredentialID: k.CredentialID, Count: 1}
}

// testEmitOnce: the first EmitEvent of a key records it and its audit
// event; a second changes nothing; another threshold is another event.
func testEmitOnce(t *testing.T, s conncred.Store) {
	ps, ctx := policyStore(t, s), t.Context()
	id := newID()
	k := policy.EventKey{CredentialID: id, Kind: policy.AuditExpiring, Threshold: at(day(16))}
	for i, want := range []bool{true, false} {
		won, err := ps.EmitEvent(ctx, k, policyEvent(k, at(day(16)+time.Duration(i)*time.Minute)), nil)
		must(t, err)
		if won != want {
			t.Errorf("EmitEvent #%d: got %t, want %t", i+1, won, want)
		}
	}
	k2 := k
	k2.Threshold = at(day(29))
	won, err := ps.EmitEvent(ctx, k2, policyEvent(k2, at(day(29))), nil)
	must(t, err)
	if !won {
		t.Errorf("EmitEvent of another threshold: got false, want true")
	}
	got, err := ps.EmittedEvents(ctx, []string{id, newID()})
	must(t, err)
	slices.SortFunc(got, func(a, b policy.Emitted) int { return a.Threshold.Compare(b.Threshold) })
	if len(got) != 2 || !got[0].Threshold.Equal(k.Threshold) || !got[0].At.Equal(at(day(16))) || !got[1].Threshold.Equal(k2.Threshold) || got[0].Kind != k.Kind {
		t.Errorf("EmittedEvents: got %+v, want %v at %v and %v", got, k.Threshold, at(day(16)), k2.Threshold)
	}
	evs, err := s.ListAudit(ctx, conncred.AuditFilter{CredentialID: id})
	must(t, err)
	if len(evs) != 2 {
		t.Errorf("audit events: got %d, want 2 (one per recorded key)", len(evs))
	}
}

// PolicyEventsOnce races EmitEvent for the same keys across stores (two
// stores over one database are two nodes) and checks that each key is
// won once and appears once in the audit trail.
func PolicyEventsOnce(t *testing.T, stores ...conncred.Store) {
	ctx := t.Context()
	const keys, copies = 40, 4
	var wins [keys]atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	cred := newID()
	for i := range keys * copies {
		s := policyStore(t, stores[i%len(stores)])
		wg.Go(func() {
			<-start
			k := policy.EventKey{CredentialID: cred, Kind: policy.AuditDormant, Threshold: at(time.Duration(i%keys) * time.Hour)}
			won, err := s.EmitEvent(ctx, k, policyEvent(k, at(day(40))), nil)
			if err != nil {
				t.Errorf("EmitEvent: %v", err)
				return
			}
			if won {
				wins[i%keys].Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range keys {
		if n := wins[i].Load(); n != 1 {
			t.Errorf("key %d won %d times, want 1", i, n)
		}
	}
	evs, err := stores[0].ListAudit(ctx, conncred.AuditFilter{CredentialID: cred, Limit: 1000})
	must(t, err)
	if len(evs) != keys {
		t.Errorf("audit events: got %d, want %d", len(evs), keys)
	}
}

// storeAuthority is the policy.Authority of a node in these tests: it
// revokes straight through the store and counts the revocations it made.
type storeAuthority struct {
	s       conncred.Store
	clk     clock.Clock
	revoked *atomic.Int32
}

func (a storeAuthority) Record(context.Context, conncred.AuditEvent) {}
func (a storeAuthority) StreamAudit(conncred.AuditEvent)             {}
func (a storeAuthority) Now() time.Time                              { return a.clk.Now() }
func (a storeAuthority) RevokeFor(ctx context.Context, id, _ string) (conncred.Credential, error) {
	c, err := a.s.GetCredential(ctx, id)
	if err != nil || c.DeletedAt != nil {
		return c, err
	}
	a.revoked.Add(1)
	return a.s.RevokeCredential(ctx, id, a.clk.Now())
}

// PolicySchedulersOnce runs one policy scheduler per store (two stores
// over one database are two nodes) on one fake clock through 40 days, the
// passes of every node racing at each step, and checks that every event
// was recorded once and the dormant credential revoked once.
func PolicySchedulersOnce(t *testing.T, stores ...conncred.Store) {
	ctx := t.Context()
	s := stores[0]
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	long := newCredential(t, s, &c, expiresAt(at(day(30)))) // warned at 14d and 1d, then expires
	short := newCredential(t, s, &c, expiresAt(at(day(2)))) // too short for the 14d warning
	idle := newCredential(t, s, &c)                         // never used: dormant at 7d, revoked at 20d
	must(t, policyStore(t, s).PutPolicy(ctx, policy.Scope{Kind: policy.ScopeServer}, policy.Policy{
		ExpiryWarnings: &[]time.Duration{day(14), day(1)}, DormancyThreshold: ptr(day(7)), AutoRevokeAfter: ptr(day(20)), UpdatedAt: base}, nil))

	clk := clock.NewFake(base)
	var revoked atomic.Int32
	var svcs []*policy.Service
	for _, st := range stores {
		svc, err := policy.New(policy.Config{Interval: time.Hour}, storeAuthority{st, clk, &revoked}, policyStore(t, st), clk)
		must(t, err)
		svcs = append(svcs, svc)
	}
	for step := time.Duration(0); step <= day(40); step += 12 * time.Hour {
		clk.Set(at(step))
		// The connectors of long and short exchange tokens all along.
		must(t, s.TouchCredentials(ctx, []conncred.CredentialUse{{ID: long.ID, At: at(step)}, {ID: short.ID, At: at(step)}}))
		var wg sync.WaitGroup
		for _, svc := range svcs {
			for range 2 { // two passes per node at once: a node that restarted mid-pass
				wg.Go(func() {
					if _, err := svc.RunOnce(ctx); err != nil {
						t.Errorf("RunOnce at +%s: %v", step, err)
					}
				})
			}
		}
		wg.Wait()
	}
	evs, err := s.ListAudit(ctx, conncred.AuditFilter{Limit: 1000})
	must(t, err)
	got := map[string]int{}
	for _, e := range evs {
		got[fmt.Sprintf("%s %s", e.CredentialID, e.Kind)]++
	}
	want := map[string]int{
		long.ID + " " + policy.AuditExpiring:    2,
		long.ID + " " + policy.AuditExpired:     1,
		short.ID + " " + policy.AuditExpiring:   1,
		short.ID + " " + policy.AuditExpired:    1,
		idle.ID + " " + policy.AuditDormant:     1,
		idle.ID + " " + policy.AuditAutoRevoked: 1,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %d events, want %d", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
	if n := revoked.Load(); n != 1 {
		t.Errorf("revocations: got %d, want 1", n)
	}
	if c := getCredential(t, s, idle.ID); c.DeletedAt == nil || !c.DeletedAt.Equal(at(day(20))) {
		t.Errorf("idle credential: deletedAt %s, want %s", fmtTime(c.DeletedAt), at(day(20)))
	}
}
