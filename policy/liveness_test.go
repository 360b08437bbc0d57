package policy_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
)

// watched makes a connector with a baton host (a service-mode connector,
// which is what liveness watches) and a credential, and makes the
// authority's source checks the heard-uses of f.svc.
func (f *fixture) watched(t *testing.T) (conncred.Connector, conncred.Credential) {
	t.Helper()
	c := f.connector(t)
	if err := f.store.SaveHost(context.Background(), baton.Host{ConnectorID: c.ID, HostID: "host-1", FirstSeenAt: f.clock.Now(), LastSeenAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	return c, f.rotate(t, c, 0)
}

// hear is one accepted use of cred, as the authority reports it to its
// SourceGuard on a token exchange or an authenticated call.
func (f *fixture) hear(t *testing.T, cred conncred.Credential) {
	t.Helper()
	if err := f.svc.WatchUse(nil).CheckSource(context.Background(), cred, "192.0.2.7:4000"); err != nil {
		t.Fatal(err)
	}
}

// liveness returns the connector events in the audit trail as "kind +offset".
func (f *fixture) liveness(t *testing.T, connectorID string) []string {
	t.Helper()
	f.auth.Flush(context.Background())
	evs, err := f.store.ListAudit(context.Background(), conncred.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(evs, func(a, b conncred.AuditEvent) int { return a.Time.Compare(b.Time) })
	var out []string
	for _, e := range evs {
		if e.ConnectorID == connectorID && (e.Kind == policy.AuditConnectorOffline || e.Kind == policy.AuditConnectorOnline) {
			out = append(out, e.Kind+" +"+e.Time.Sub(t0).String())
		}
	}
	return out
}

// step moves the clock n scheduler intervals of one minute, one at a
// time, waiting for each pass: a longer jump would fire the ticker more
// than once and let the loop make passes nobody waits for.
func step(f *fixture, next func(), n int) {
	for range n {
		f.clock.Advance(time.Minute)
		next()
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestConnectorOfflineAndOnline drives the scheduler's own loop a minute
// at a time: a connector heard for 20 minutes, silent for 30, heard again
// and silent again gets offline, online, offline, each once, each at the
// pass after its threshold; a connector with no host is never watched.
func TestConnectorOfflineAndOnline(t *testing.T) {
	cfg := policy.Config{Interval: time.Minute, Defaults: policy.Policy{OfflineAfter: dur(10 * time.Minute)}}
	f := newFixture(t, cfg)
	c, cred := f.watched(t)
	oneShot := f.connector(t) // no host: a connector that only exchanges tokens now and then
	oneShotCred := f.rotate(t, oneShot, 0)
	next, _ := f.runLoop(t)
	next()
	heard := func(m int) bool { return m < 20 || (m >= 50 && m < 55) }
	for m := 0; m <= 90; m++ {
		if heard(m) {
			f.hear(t, cred)
		}
		if m == 0 {
			f.hear(t, oneShotCred)
		}
		f.clock.Advance(time.Minute)
		next()
	}
	// Heard last at +19m: offline at the pass at +29m. Heard at +50m:
	// online at the pass that writes it, +51m. Last heard at +54m (written
	// by the pass at +55m): offline at the pass at +64m.
	equal(t, "events", f.liveness(t, c.ID), []string{
		"connector.offline +29m0s", "connector.online +51m0s", "connector.offline +1h4m0s",
	})
	equal(t, "events of a connector without a host", f.liveness(t, oneShot.ID), nil)

	// The audit stream saw them too, under their stored ids.
	n := 0
	for _, e := range f.streamed.all() {
		if e.ConnectorID == c.ID && (e.Kind == policy.AuditConnectorOffline || e.Kind == policy.AuditConnectorOnline) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("streamed connector events: got %d, want 3", n)
	}
	if got := f.obs.emitted[policy.AuditConnectorOffline]; got != 2 {
		t.Errorf("observer: got %d connector.offline, want 2", got)
	}
}

// TestConnectorSilentWhileServerDown: a server down for hours does not
// report its connectors offline for its own absence. Restarted, it gives
// them offlineAfter to call again: one that does gets no event at all; one
// that does not gets one offline event, whose silence began when it was
// last heard before the outage (written when the server stopped), and a
// second restart records nothing again.
func TestConnectorSilentWhileServerDown(t *testing.T) {
	cfg := policy.Config{Interval: time.Minute, Defaults: policy.Policy{OfflineAfter: dur(15 * time.Minute)}}
	f := newFixture(t, cfg)
	back, backCred := f.watched(t)
	lost, lostCred := f.watched(t)
	next, stop := f.runLoop(t)
	next()
	step(f, next, 5) // to +5m
	f.hear(t, backCred)
	f.hear(t, lostCred) // heard at +5m; no pass wrote it before the stop
	stop()

	f.clock.Set(t0.Add(3 * time.Hour)) // down for almost three hours
	f.start(t, cfg)
	next, stop = f.runLoop(t)
	next()
	equal(t, "events at the first pass after the start", f.liveness(t, lost.ID), nil)
	for m := 1; m <= 20; m++ {
		if m >= 2 { // calls again soon after the start, and keeps calling
			f.hear(t, backCred)
		}
		f.clock.Advance(time.Minute)
		next()
	}
	stop()
	equal(t, "the connector that came back", f.liveness(t, back.ID), nil)
	equal(t, "the connector that did not", f.liveness(t, lost.ID), []string{"connector.offline +3h15m0s"})
	f.auth.Flush(context.Background())
	evs, err := f.store.ListAudit(context.Background(), conncred.AuditFilter{ConnectorID: lost.ID, Kind: policy.AuditConnectorOffline})
	if err != nil {
		t.Fatal(err)
	}
	if want := "last heard " + t0.Add(5*time.Minute).Format(time.RFC3339); len(evs) != 1 || !strings.Contains(evs[0].Reason, want) {
		t.Errorf("offline event %+v: want its reason to name %q (written when the server stopped)", evs, want)
	}

	f.start(t, cfg)
	next, _ = f.runLoop(t)
	next()
	step(f, next, 20)
	equal(t, "after another restart", f.liveness(t, lost.ID), []string{"connector.offline +3h15m0s"})
}

// TestOfflineAfterPolicy: offlineAfter is set per scope like the other
// fields (0: not watched), refused under 5 minutes or under three
// scheduler intervals, and a connector's own 0 turns it off below a
// server default.
func TestOfflineAfterPolicy(t *testing.T) {
	f := newFixture(t, policy.Config{Interval: 2 * time.Minute, Defaults: policy.Policy{OfflineAfter: dur(10 * time.Minute)}})
	quiet, quietCred := f.watched(t)
	loud, loudCred := f.watched(t)
	f.set(t, policy.Scope{Kind: policy.ScopeConnector, ID: quiet.ID}, policy.Policy{OfflineAfter: dur(0)})
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Minute, "offlineAfter of 1m0s is too short; use at least 5m0s"},
		{-time.Minute, "offlineAfter must not be negative"},
		{5 * time.Minute, "offlineAfter (5m0s) must be at least three policy scheduler intervals (6m0s on this server)"},
	} {
		_, err := f.svc.Set(f.admin, policy.Update{Scope: policy.Scope{Kind: policy.ScopeApp, ID: loud.AppID}, Policy: policy.Policy{OfflineAfter: &tc.d}})
		if conncred.ErrorCode(err) != conncred.EInvalid || !strings.Contains(conncred.ErrorMessage(err), tc.want) {
			t.Errorf("Set offlineAfter %s: got %v, want invalid with %q", tc.d, err, tc.want)
		}
	}
	if v, err := f.svc.Get(f.admin, policy.Scope{Kind: policy.ScopeApp, ID: loud.AppID}); err != nil || !v.Set.Empty() {
		t.Errorf("after refused sets the app's policy is %+v (%v), want nothing set", v.Set, err)
	}
	// The serve flags' default (15m) does not stop a server with a long
	// interval: the pass raises it to three intervals instead.
	if _, err := policy.New(policy.Config{Interval: time.Hour, Defaults: policy.Policy{OfflineAfter: dur(15 * time.Minute)}}, f.auth, f.store, f.clock); err != nil {
		t.Errorf("New with --policy-offline-after under three intervals: %v, want it to start", err)
	}

	next, _ := f.runLoop(t)
	next()
	f.hear(t, quietCred)
	f.hear(t, loudCred)
	for range 10 {
		f.clock.Advance(2 * time.Minute)
		next()
	}
	equal(t, "connector with offlineAfter 0", f.liveness(t, quiet.ID), nil)
	equal(t, "connector under the server default", f.liveness(t, loud.ID), []string{"connector.offline +10m0s"})
}

// TestConnectorWebhook: the offline event enters the webhook outbox in its
// transaction, under an id derived from its key, with the connector and
// when it was last heard, and nothing secret.
func TestConnectorWebhook(t *testing.T) {
	cfg := policy.Config{Interval: time.Minute, Defaults: policy.Policy{OfflineAfter: dur(5 * time.Minute)}}
	f := newFixture(t, cfg)
	rcv, url := newReceiver(t)
	keys, err := webhook.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	hooks := webhook.New(webhook.Config{Targets: webhook.TargetPolicy{AllowLoopbackHTTP: true}}, f.store, keys, nil, f.clock)
	if _, _, err := hooks.Create(f.admin, webhook.CreateInput{URL: url + "/c", EventTypes: []string{webhook.EventConnectorOffline, webhook.EventConnectorOnline}}); err != nil {
		t.Fatal(err)
	}
	c, cred := f.watched(t)
	f.hear(t, cred)
	next, _ := f.runLoop(t)
	next()
	heardAt := t0
	step(f, next, 6)
	f.hear(t, cred)
	step(f, next, 1)
	deliverAll(t, hooks)
	off, on := rcv.ofType("/c", webhook.EventConnectorOffline), rcv.ofType("/c", webhook.EventConnectorOnline)
	if len(off) != 1 || len(on) != 1 {
		t.Fatalf("deliveries: %d offline, %d online, want 1 each", len(off), len(on))
	}
	wantID := "msg_" + policy.AuditConnectorOffline + "_" + c.ID + "_" + strconv.FormatInt(heardAt.UnixMicro(), 10)
	if off[0].id != wantID {
		t.Errorf("webhook-id: got %q, want %q", off[0].id, wantID)
	}
	var d policy.ConnectorData
	if err := json.Unmarshal(off[0].body.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.ConnectorID != c.ID || d.AppID != c.AppID || d.Hosts != 1 || !d.LastSeenAt.Equal(heardAt) || d.OfflineAfter != "5m0s" {
		t.Errorf("offline data: got %+v, want connector %s, app %s, 1 host, last seen %s, offlineAfter 5m0s", d, c.ID, c.AppID, heardAt)
	}
	if err := json.Unmarshal(on[0].body.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.OfflineSince == nil || !d.OfflineSince.Equal(heardAt) || !d.LastSeenAt.After(heardAt) {
		t.Errorf("online data: got %+v, want offlineSince %s and a later lastSeenAt", d, heardAt)
	}
	for _, m := range append(off, on...) {
		if strings.Contains(m.raw, "secret") || strings.Contains(m.raw, cred.ClientID) {
			t.Errorf("a connector event names a secret or a client id: %s", m.raw)
		}
	}
}
