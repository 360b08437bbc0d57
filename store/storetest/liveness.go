package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/policy"
)

// livenessTests pin the connector liveness part of policy.Store: the
// written-behind last-seen times, the activity the scheduler reads, and
// the offline and online events recorded once.
var livenessTests = []test{
	{"Activity", testConnectorActivity},
	{"EventsOnce", testConnectorEventsOnce},
	{"SchedulersOnce", func(t *testing.T, s conncred.Store) { ConnectorSchedulersOnce(t, s) }},
}

func saveHost(t testing.TB, s conncred.Store, c conncred.Connector, host string, hello time.Time) {
	t.Helper()
	bs, ok := s.(baton.Store)
	if !ok {
		t.Fatalf("%T does not implement baton.Store", s)
	}
	must(t, bs.SaveHost(t.Context(), baton.Host{ConnectorID: c.ID, HostID: host, FirstSeenAt: hello, LastSeenAt: hello}))
}

func activityOf(t testing.TB, ps policy.Store, connectorID string) (policy.ConnectorActivity, bool) {
	t.Helper()
	all, err := ps.ConnectorActivity(t.Context(), "", 0)
	must(t, err)
	for _, a := range all {
		if a.ConnectorID == connectorID {
			return a, true
		}
	}
	return policy.ConnectorActivity{}, false
}

// testConnectorActivity: only live connectors with a host are listed, with
// their host count and the latest of their hosts' Hello and their own
// last-seen time, which only moves forward; pages follow the id order.
func testConnectorActivity(t *testing.T, s conncred.Store) {
	ps, ctx := policyStore(t, s), t.Context()
	a := newApp(t, s)
	noHost := newConnector(t, s, a.ID)
	watched := newConnector(t, s, a.ID)
	gone := newConnector(t, s, a.ID)
	saveHost(t, s, watched, "host-a", at(time.Hour))
	saveHost(t, s, watched, "host-b", at(2*time.Hour))
	saveHost(t, s, gone, "host-a", at(time.Hour))
	must(t, s.DeleteConnector(ctx, gone.ID, at(3*time.Hour)))

	all, err := ps.ConnectorActivity(ctx, "", 0)
	must(t, err)
	if len(all) != 1 || all[0].ConnectorID != watched.ID {
		t.Fatalf("ConnectorActivity: got %+v, want only the live connector with hosts (%s)", all, watched.ID)
	}
	got := all[0]
	if got.AppID != a.ID || got.DisplayName != watched.DisplayName || got.Hosts != 2 || !got.LastSeen.Equal(at(2*time.Hour)) || got.OfflineSince != nil {
		t.Errorf("activity: got %+v, want app %s, name %q, 2 hosts, last seen %s, no offline period", got, a.ID, watched.DisplayName, at(2*time.Hour))
	}

	// Heard later than any Hello; an older time never moves it back; an
	// unknown or deleted connector is skipped without failing the batch.
	must(t, ps.NoteConnectorsSeen(ctx, []policy.ConnectorSeen{{ConnectorID: watched.ID, At: at(5 * time.Hour)}, {ConnectorID: newID(), At: at(5 * time.Hour)},
		{ConnectorID: noHost.ID, At: at(5 * time.Hour)}}))
	must(t, ps.NoteConnectorsSeen(ctx, []policy.ConnectorSeen{{ConnectorID: watched.ID, At: at(4 * time.Hour)}}))
	if got, _ := activityOf(t, ps, watched.ID); !got.LastSeen.Equal(at(5 * time.Hour)) {
		t.Errorf("last seen after notes at +5h then +4h: got %s, want %s", got.LastSeen, at(5*time.Hour))
	}
	if _, ok := activityOf(t, ps, noHost.ID); ok {
		t.Error("a connector without a host is listed after being heard; only connectors with hosts are watched")
	}
	// A Hello later than the note wins.
	saveHost(t, s, watched, "host-a", at(6*time.Hour))
	if got, _ := activityOf(t, ps, watched.ID); !got.LastSeen.Equal(at(6 * time.Hour)) {
		t.Errorf("last seen after a Hello at +6h: got %s, want %s", got.LastSeen, at(6*time.Hour))
	}

	// Paging.
	more := newConnector(t, s, a.ID)
	saveHost(t, s, more, "h", at(time.Hour))
	first, err := ps.ConnectorActivity(ctx, "", 1)
	must(t, err)
	if len(first) != 1 || first[0].ConnectorID != watched.ID {
		t.Fatalf("first page: got %+v, want %s", first, watched.ID)
	}
	second, err := ps.ConnectorActivity(ctx, first[0].ConnectorID, 1)
	must(t, err)
	if len(second) != 1 || second[0].ConnectorID != more.ID {
		t.Errorf("second page: got %+v, want %s", second, more.ID)
	}
}

// testConnectorEventsOnce: an offline event is recorded once per key and
// opens the offline period (even for a connector never heard, only seen
// by its Hello); the online event with the same threshold closes it, once.
func testConnectorEventsOnce(t *testing.T, s conncred.Store) {
	ps, ctx := policyStore(t, s), t.Context()
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	saveHost(t, s, c, "h", at(time.Hour))
	off := policy.EventKey{CredentialID: c.ID, Kind: policy.AuditConnectorOffline, Threshold: at(time.Hour)}
	for i, want := range []bool{true, false} {
		won, err := ps.EmitConnectorEvent(ctx, off, true, policyEvent(off, at(2*time.Hour)), nil)
		must(t, err)
		if won != want {
			t.Errorf("offline #%d: got %t, want %t", i+1, won, want)
		}
	}
	got, _ := activityOf(t, ps, c.ID)
	if got.OfflineSince == nil || !got.OfflineSince.Equal(at(time.Hour)) {
		t.Fatalf("after the offline event: offline since %s, want %s", fmtTime(got.OfflineSince), at(time.Hour))
	}
	if !got.LastSeen.Equal(at(time.Hour)) {
		t.Errorf("after the offline event: last seen %s, want still %s", got.LastSeen, at(time.Hour))
	}
	// An online event of another threshold does not close this period.
	stray := policy.EventKey{CredentialID: c.ID, Kind: policy.AuditConnectorOnline, Threshold: at(30 * time.Minute)}
	_, err := ps.EmitConnectorEvent(ctx, stray, false, policyEvent(stray, at(3*time.Hour)), nil)
	must(t, err)
	if got, _ := activityOf(t, ps, c.ID); got.OfflineSince == nil {
		t.Error("an online event of another threshold closed the offline period")
	}
	on := policy.EventKey{CredentialID: c.ID, Kind: policy.AuditConnectorOnline, Threshold: at(time.Hour)}
	for i, want := range []bool{true, false} {
		won, err := ps.EmitConnectorEvent(ctx, on, false, policyEvent(on, at(3*time.Hour)), nil)
		must(t, err)
		if won != want {
			t.Errorf("online #%d: got %t, want %t", i+1, won, want)
		}
	}
	if got, _ := activityOf(t, ps, c.ID); got.OfflineSince != nil {
		t.Errorf("after the online event: offline since %s, want none", fmtTime(got.OfflineSince))
	}
	evs, err := s.ListAudit(ctx, conncred.AuditFilter{CredentialID: c.ID, Limit: 100})
	must(t, err)
	if len(evs) != 3 {
		t.Errorf("audit events: got %d, want 3 (offline, the stray online, online)", len(evs))
	}
}

// ConnectorSchedulersOnce runs one policy scheduler per store (two stores
// over one database are two nodes) on one fake clock while a connector is
// heard on every node, then falls silent, comes back and falls silent
// again, and checks that each offline and online event was recorded once.
func ConnectorSchedulersOnce(t *testing.T, stores ...conncred.Store) {
	ctx := t.Context()
	s := stores[0]
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	cred := newCredential(t, s, &c)
	saveHost(t, s, c, "host-a", base)
	clk := clock.NewFake(base)
	var svcs []*policy.Service
	for _, st := range stores {
		ten := 10 * time.Minute
		svc, err := policy.New(policy.Config{Interval: time.Minute, Defaults: policy.Policy{OfflineAfter: &ten}}, storeAuthority{st, clk, nil}, policyStore(t, st), clk)
		must(t, err)
		svcs = append(svcs, svc)
	}
	// heard: minute offsets at which the connector makes a call, on
	// every node in turn.
	heard := func(m int) bool { return m < 30 || (m >= 60 && m < 70) }
	for m := 0; m <= 120; m++ {
		clk.Set(at(time.Duration(m) * time.Minute))
		if heard(m) {
			must(t, svcs[m%len(svcs)].WatchUse(nil).CheckSource(ctx, cred, "192.0.2.1"))
		}
		var wg sync.WaitGroup
		for _, svc := range svcs {
			for range 2 { // two passes per node at once: a node that restarted mid-pass
				wg.Go(func() {
					if _, err := svc.RunOnce(ctx); err != nil {
						t.Errorf("RunOnce at +%dm: %v", m, err)
					}
				})
			}
		}
		wg.Wait()
	}
	evs, err := s.ListAudit(ctx, conncred.AuditFilter{Limit: 1000})
	must(t, err)
	slices.SortFunc(evs, func(a, b conncred.AuditEvent) int { return a.Time.Compare(b.Time) })
	var got []string
	for _, e := range evs {
		if e.ConnectorID == c.ID && (e.Kind == policy.AuditConnectorOffline || e.Kind == policy.AuditConnectorOnline) {
			got = append(got, e.Kind+" +"+e.Time.Sub(base).String())
		}
	}
	// Last heard at +29m: offline once 10m later. Heard at +60m: online
	// at once. Last heard at +69m: offline at +79m.
	want := []string{policy.AuditConnectorOffline + " +39m0s", policy.AuditConnectorOnline + " +1h0m0s", policy.AuditConnectorOffline + " +1h19m0s"}
	if len(got) != len(want) {
		t.Fatalf("events: got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("events: got %q, want %q", got, want)
			break
		}
	}
}
