package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
)

// joinTests pin the join of the policy and webhooks wings in the stores:
// a policy change and a scheduler event enter the webhook outbox in the
// transaction that records them, once.
var joinTests = []test{
	{"PolicyChangeEnqueued", testJoinPolicyChange},
	{"EmitEnqueuesOnlyWhenItWins", testJoinEmitOnce},
	{"RequireDPoPRoundTrip", testJoinRequireDPoP},
}

// testJoinRequireDPoP: a policy's requireDpop keeps true, false and unset
// apart (false overrides a farther true; unset inherits it), alone too.
func testJoinRequireDPoP(t *testing.T, s conncred.Store) {
	ps, ctx := policyStore(t, s), t.Context()
	for i, want := range []*bool{ptr(true), ptr(false), nil} {
		sc := policy.Scope{Kind: policy.ScopeConnector, ID: fmt.Sprintf("c%d", i)}
		must(t, ps.PutPolicy(ctx, sc, policy.Policy{RequireDPoP: want, MaxLifetime: ptr(day(1)), UpdatedAt: base}, nil))
		got, err := ps.Policy(ctx, sc)
		must(t, err)
		if fmt.Sprint(deref(got.RequireDPoP)) != fmt.Sprint(deref(want)) {
			t.Errorf("requireDpop %v: got %v", deref(want), deref(got.RequireDPoP))
		}
	}
	sc := policy.Scope{Kind: policy.ScopeApp, ID: "only-dpop"}
	must(t, ps.PutPolicy(ctx, sc, policy.Policy{RequireDPoP: ptr(true), UpdatedAt: base}, nil))
	all, err := ps.ListPolicies(ctx)
	must(t, err)
	if p := all[sc]; p.RequireDPoP == nil || !*p.RequireDPoP {
		t.Errorf("a policy setting only requireDpop: got %+v, want requireDpop true", p)
	}
}

// deref shows a *bool as true, false or unset.
func deref(b *bool) string {
	if b == nil {
		return "unset"
	}
	return fmt.Sprint(*b)
}

// deliveries dispatches everything pending and returns, per endpoint, how
// many deliveries it has of each event type.
func deliveries(t *testing.T, ws webhook.Store, now time.Time, endpoints ...string) map[string]map[string]int {
	t.Helper()
	ctx := t.Context()
	for {
		n, err := ws.DispatchWebhookEvents(ctx, now, 100)
		must(t, err)
		if n == 0 {
			break
		}
	}
	out := map[string]map[string]int{}
	for _, ep := range endpoints {
		ds, err := ws.ListWebhookDeliveries(ctx, ep, "", conncred.ListOptions{Limit: 10000})
		must(t, err)
		out[ep] = map[string]int{}
		for _, d := range ds {
			out[ep][d.EventType]++
		}
	}
	return out
}

func wantCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// testJoinPolicyChange: PutPolicy's event is enqueued in its transaction
// only while an endpoint exists (as the triggers do), and reaches each
// subscriber once, the same id twice included.
func testJoinPolicyChange(t *testing.T, s conncred.Store) {
	ps, ws, ctx := policyStore(t, s), webhookStore(t, s), t.Context()
	sc := policy.Scope{Kind: policy.ScopeServer}
	ev := func(id string, d time.Duration) []webhook.Event {
		return []webhook.Event{{ID: id, Type: webhook.EventPolicyChanged, Data: []byte(`{"scope":{"kind":"server"}}`), OccurredAt: at(d)}}
	}
	must(t, ps.PutPolicy(ctx, sc, policy.Policy{MaxLifetime: ptr(day(30)), UpdatedAt: at(time.Minute)}, ev("msg_before", time.Minute)))
	if n, err := ws.WebhookQueueDepth(ctx); err != nil || n != 0 {
		t.Fatalf("outbox without endpoints: got %d (%v), want 0", n, err)
	}
	newEndpoint(t, ws, "ep-all")
	newEndpoint(t, ws, "ep-policy", webhook.EventPolicyChanged)
	newEndpoint(t, ws, "ep-other", webhook.EventCredentialDormant)
	for range 2 {
		must(t, ps.PutPolicy(ctx, sc, policy.Policy{MaxLifetime: ptr(day(60)), UpdatedAt: at(2 * time.Minute)}, ev("msg_after", 2*time.Minute)))
	}
	got := deliveries(t, ws, at(3*time.Minute), "ep-all", "ep-policy", "ep-other")
	wantCounts(t, "ep-all", got["ep-all"], map[string]int{webhook.EventPolicyChanged: 1})
	wantCounts(t, "ep-policy", got["ep-policy"], map[string]int{webhook.EventPolicyChanged: 1})
	wantCounts(t, "ep-other", got["ep-other"], map[string]int{})
}

// testJoinEmitOnce: EmitEvent enqueues its events only when it records
// the key; a second EmitEvent of the key enqueues nothing, even under
// another event id.
func testJoinEmitOnce(t *testing.T, s conncred.Store) {
	ps, ws, ctx := policyStore(t, s), webhookStore(t, s), t.Context()
	newEndpoint(t, ws, "ep-all")
	k := policy.EventKey{CredentialID: newID(), Kind: policy.AuditDormant, Threshold: at(day(1))}
	for i, want := range []bool{true, false, false} {
		hook := webhook.Event{ID: fmt.Sprintf("msg_dormant_%d", i), Type: webhook.EventCredentialDormant, CredentialID: k.CredentialID, OccurredAt: at(day(8))}
		won, err := ps.EmitEvent(ctx, k, policyEvent(k, at(day(8))), []webhook.Event{hook})
		must(t, err)
		if won != want {
			t.Errorf("EmitEvent %d: won %v, want %v", i, won, want)
		}
	}
	got := deliveries(t, ws, at(day(9)), "ep-all")
	wantCounts(t, "ep-all", got["ep-all"], map[string]int{webhook.EventCredentialDormant: 1})
}

// JoinSchedulersDeliverOnce runs one policy scheduler per store (two
// stores over one database are two nodes), two passes per node at once,
// on one fake clock through 40 days, with webhook endpoints, and checks
// that every threshold crossing is exactly one delivery per subscribed
// endpoint.
func JoinSchedulersDeliverOnce(t *testing.T, stores ...conncred.Store) {
	ctx := t.Context()
	s, ws := stores[0], webhookStore(t, stores[0])
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	long := newCredential(t, s, &c, expiresAt(at(day(30)))) // warned at 14d and 1d, then expires
	idle := newCredential(t, s, &c)                         // never used: dormant at 7d, revoked at 20d
	newEndpoint(t, ws, "ep-all")
	newEndpoint(t, ws, "ep-dormant", webhook.EventCredentialDormant, webhook.EventCredentialAutoRevoked)
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
		must(t, s.TouchCredentials(ctx, []conncred.CredentialUse{{ID: long.ID, At: at(step)}}))
		var wg sync.WaitGroup
		for _, svc := range svcs {
			for range 2 {
				wg.Go(func() {
					if _, err := svc.RunOnce(ctx); err != nil {
						t.Errorf("RunOnce at +%s: %v", step, err)
					}
				})
			}
		}
		wg.Wait()
	}
	got := deliveries(t, ws, at(day(41)), "ep-all", "ep-dormant")
	wantCounts(t, "ep-all", got["ep-all"], map[string]int{
		policy.AuditExpiring: 2, policy.AuditExpired: 1, policy.AuditDormant: 1, policy.AuditAutoRevoked: 1,
		// From the triggers: long's first use, and the auto-revoke's own revocation.
		webhook.EventCredentialFirstUsed: 1, webhook.EventCredentialRevoked: 1,
	})
	wantCounts(t, "ep-dormant", got["ep-dormant"], map[string]int{policy.AuditDormant: 1, policy.AuditAutoRevoked: 1})
	if n := revoked.Load(); n != 1 {
		t.Errorf("revocations: got %d, want 1", n)
	}
	if c := getCredential(t, s, idle.ID); c.DeletedAt == nil {
		t.Error("the idle credential was not auto-revoked")
	}
}
