package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/webhook"
)

// webhookTests pin webhook.Store, which every conncred store implements.
var webhookTests = []test{
	{"TriggersAndLeases", testWebhookTriggersAndLeases},
	{"ClaimOnceUnderContention", testWebhookClaimOnce},
}

func webhookStore(t *testing.T, s conncred.Store) webhook.Store {
	t.Helper()
	ws, err := webhook.AsStore(s)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func newEndpoint(t *testing.T, ws webhook.Store, id string, types ...string) {
	t.Helper()
	if len(types) == 0 {
		types = []string{webhook.AllEvents}
	}
	must(t, ws.CreateWebhookEndpoint(t.Context(), webhook.Endpoint{ID: id, URL: "https://hooks.example.com/" + id, Signing: webhook.SigningHMAC,
		EventTypes: types, CreatedAt: at(0), UpdatedAt: at(0)}, []byte{1, 2, 3}))
}

// testWebhookTriggersAndLeases: creating and revoking a credential (here
// by a connector delete's cascade) writes its events in the same
// transaction; each is fanned out once to each subscriber; a lease keeps
// others off until it expires; a stale finish changes nothing.
func testWebhookTriggersAndLeases(t *testing.T, s conncred.Store) {
	ws := webhookStore(t, s)
	ctx := t.Context()
	newEndpoint(t, ws, "ep-all")
	newEndpoint(t, ws, "ep-revoked", webhook.EventCredentialRevoked)
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	cr := newCredential(t, s, &c, func(cr *conncred.Credential) { cr.CreatedAt = at(time.Minute) })
	must(t, s.DeleteConnector(ctx, c.ID, at(2*time.Minute)))
	for range 2 {
		if _, err := ws.DispatchWebhookEvents(ctx, at(3*time.Minute), 10); err != nil {
			t.Fatal(err)
		}
	}
	claims, err := ws.ClaimWebhookDeliveries(ctx, "a", at(3*time.Minute), at(4*time.Minute), 10)
	must(t, err)
	got := map[string]int{}
	for _, cl := range claims {
		if cl.Event.CredentialID != cr.ID || cl.Delivery.Attempts != 1 {
			t.Errorf("claim %+v: want credential %s, attempt 1", cl, cr.ID)
		}
		got[cl.Delivery.EndpointID+" "+cl.Event.Type]++
	}
	want := map[string]int{"ep-all credential.created": 1, "ep-all credential.revoked": 1, "ep-revoked credential.revoked": 1}
	if len(got) != len(want) || len(claims) != 3 {
		t.Fatalf("claims = %v, want %v", got, want)
	}
	if more, err := ws.ClaimWebhookDeliveries(ctx, "b", at(3*time.Minute+time.Second), at(5*time.Minute), 10); err != nil || len(more) != 0 {
		t.Fatalf("node b claimed %d leased deliveries (err %v), want 0", len(more), err)
	}
	retaken, err := ws.ClaimWebhookDeliveries(ctx, "b", at(4*time.Minute), at(5*time.Minute), 10)
	must(t, err)
	if len(retaken) != 3 || retaken[0].Delivery.Attempts != 2 {
		t.Fatalf("after the lease expired node b took %d (attempt %d), want 3 at attempt 2", len(retaken), retaken[0].Delivery.Attempts)
	}
	first := claims[0]
	must(t, ws.FinishWebhookDelivery(ctx, "a", webhook.Result{State: webhook.StateDead, Attempt: webhook.Attempt{EndpointID: first.Delivery.EndpointID,
		EventID: first.Event.ID, Attempt: 1, At: at(4 * time.Minute), Outcome: webhook.OutcomeDead}}))
	ds, err := ws.ListWebhookDeliveries(ctx, first.Delivery.EndpointID, webhook.StateDead, conncred.ListOptions{Limit: 10})
	must(t, err)
	if len(ds) != 0 {
		t.Errorf("a stale finish by the lease's old owner dead-lettered %d deliveries", len(ds))
	}
	log, err := ws.ListWebhookAttempts(ctx, first.Delivery.EndpointID, 10)
	must(t, err)
	if len(log) != 1 || log[0].Outcome != webhook.OutcomeDead {
		t.Errorf("delivery log = %+v, want the stale attempt recorded", log)
	}
}

// testWebhookClaimOnce: concurrent claimers never share a delivery.
func testWebhookClaimOnce(t *testing.T, s conncred.Store) {
	ws := webhookStore(t, s)
	ctx := t.Context()
	newEndpoint(t, ws, "ep")
	const n = 40
	events := make([]webhook.Event, n)
	for i := range events {
		events[i] = webhook.Event{ID: "msg_" + string(rune('A'+i)), Type: webhook.EventTest, OccurredAt: at(time.Minute), Data: []byte(`{}`)}
	}
	must(t, ws.EnqueueWebhookEvents(ctx, events))
	_, err := ws.DispatchWebhookEvents(ctx, at(time.Minute), 100)
	must(t, err)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 10 {
				cs, err := ws.ClaimWebhookDeliveries(ctx, string(rune('a'+w)), at(time.Minute), at(time.Hour), 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.Event.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct deliveries, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("delivery %s claimed %d times", id, k)
		}
	}
}
