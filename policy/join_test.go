package policy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
)

// received is what a test receiver was posted, by path.
type received struct {
	mu   sync.Mutex
	msgs map[string][]receivedMsg
}

type receivedMsg struct {
	id   string
	body webhook.Message
	raw  string
}

func newReceiver(t *testing.T) (*received, string) {
	t.Helper()
	r := &received{msgs: map[string][]receivedMsg{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var m webhook.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("body: %v", err)
		}
		r.mu.Lock()
		r.msgs[req.URL.Path] = append(r.msgs[req.URL.Path], receivedMsg{req.Header.Get("webhook-id"), m, string(b)})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// ofType returns the messages of one type posted to path.
func (r *received) ofType(path, typ string) []receivedMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedMsg
	for _, m := range r.msgs[path] {
		if m.body.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// deliverAll runs the webhook worker's rounds until nothing is left.
func deliverAll(t *testing.T, hooks *webhook.Service) {
	t.Helper()
	for range 20 {
		n, err := hooks.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the webhook worker still had work after 20 rounds")
}

// TestThresholdIsOneWebhookPerEndpoint: a dormancy threshold crossed once,
// looked at by several passes and a restart, is one credential.dormant
// delivery per endpoint, whose webhook-id derives from the event's key; a
// policy change is one policy.changed per endpoint; and the scheduler's
// audit event reaches the audit stream once, under the id it is stored
// with.
func TestThresholdIsOneWebhookPerEndpoint(t *testing.T) {
	cfg := policy.Config{Interval: time.Hour, Defaults: policy.Policy{DormancyThreshold: dur(7 * day)}}
	f := newFixture(t, cfg)
	rcv, url := newReceiver(t)
	keys, err := webhook.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	newHooks := func() *webhook.Service {
		return webhook.New(webhook.Config{Targets: webhook.TargetPolicy{AllowLoopbackHTTP: true}}, f.store, keys, nil, f.clock)
	}
	hooks := newHooks()
	for _, ep := range []webhook.CreateInput{
		{URL: url + "/all"},
		{URL: url + "/policy", Signing: webhook.SigningEd25519, EventTypes: []string{webhook.EventCredentialDormant, webhook.EventPolicyChanged}},
	} {
		if _, _, err := hooks.Create(f.admin, ep); err != nil {
			t.Fatal(err)
		}
	}
	cr := f.rotate(t, f.connector(t), 0)

	// RunOnce hands each pass to the fixture's observer, which holds one.
	pass := func() {
		t.Helper()
		if _, err := f.svc.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-f.obs.passes
	}
	f.clock.Advance(7*day + time.Hour)
	pass()
	pass()
	f.start(t, cfg) // a restart: the same store, a new scheduler
	pass()
	hooks = newHooks()
	deliverAll(t, hooks)

	wantID := "msg_" + policy.AuditDormant + "_" + cr.ID + "_" + strconv.FormatInt(cr.CreatedAt.UTC().UnixMicro(), 10)
	for _, path := range []string{"/all", "/policy"} {
		got := rcv.ofType(path, policy.AuditDormant)
		if len(got) != 1 {
			t.Fatalf("%s: got %d credential.dormant deliveries, want 1", path, len(got))
		}
		if got[0].id != wantID {
			t.Errorf("%s: webhook-id got %q, want %q (derived from the event's key)", path, got[0].id, wantID)
		}
		var data webhook.CredentialData
		if err := json.Unmarshal(got[0].body.Data, &data); err != nil || data.Credential.ID != cr.ID {
			t.Errorf("%s: data got %s (%v), want the credential %s", path, got[0].body.Data, err, cr.ID)
		}
		if strings.Contains(got[0].raw, "secret") {
			t.Errorf("%s: the body mentions a secret: %s", path, got[0].raw)
		}
	}

	// The audit stream saw the scheduler's event once, under its stored id.
	var streamed []conncred.AuditEvent
	for _, e := range f.streamed.all() {
		if e.Kind == policy.AuditDormant {
			streamed = append(streamed, e)
		}
	}
	stored := f.events(t)
	if len(streamed) != 1 || len(stored) != 1 || streamed[0].ID != stored[0].ID || streamed[0].CredentialID != cr.ID {
		t.Errorf("credential.dormant: streamed %+v, stored %+v; want one each, the same id", streamed, stored)
	}

	// A policy change: one policy.changed per endpoint, naming its scope.
	f.set(t, policy.Scope{Kind: policy.ScopeApp, ID: cr.AppID}, policy.Policy{DormancyThreshold: dur(30 * day)})
	deliverAll(t, hooks)
	for _, path := range []string{"/all", "/policy"} {
		got := rcv.ofType(path, webhook.EventPolicyChanged)
		if len(got) != 1 {
			t.Fatalf("%s: got %d policy.changed deliveries, want 1", path, len(got))
		}
		var data policy.ChangedData
		if err := json.Unmarshal(got[0].body.Data, &data); err != nil || data.Scope.Kind != policy.ScopeApp || data.Scope.ID != cr.AppID ||
			data.Policy[policy.FieldDormancyThreshold] != (30*day).String() {
			t.Errorf("%s: policy.changed data %s (%v)", path, got[0].body.Data, err)
		}
	}
}
