package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/federation/trustdb"
)

// trustTests pin trustdb.Store, which every conncred store implements
// beside conncred.Store.
var trustTests = []test{
	{"RoundTrip", testTrustRoundTrip},
	{"Duplicate", testTrustDuplicate},
	{"ConnectorMissingOrDeleted", testTrustConnectorMissing},
	{"Update", testTrustUpdate},
	{"DeleteKeepsFirstTime", testTrustDeleteKeepsFirstTime},
	{"CascadeFromConnectorAndApp", testTrustCascade},
	{"ListPaging", testTrustList},
	{"TouchNeverBackwards", testTrustTouch},
}

func trustStore(t testing.TB, s conncred.Store) trustdb.Store {
	t.Helper()
	ts, ok := s.(trustdb.Store)
	if !ok {
		t.Fatalf("%T does not implement trustdb.Store", s)
	}
	return ts
}

func trust(c *conncred.Connector) trustdb.Trust {
	id := newID()
	t := trustdb.Trust{
		ID: id, ClientID: "trust-" + id + "@127.0.0.1:8443/wfe", DisplayName: "ci " + id,
		Issuer: "https://token.actions.githubusercontent.com", Audiences: []string{"https://127.0.0.1:8443", "conncred"},
		Condition: `claims.repository == "acme/connectors"`, Role: trustdb.RoleAdmin,
		MaxTokenLifetime: 15 * time.Minute, RequireDPoP: true,
		CreatedAt: base, UpdatedAt: base,
	}
	if c != nil {
		t.Role, t.AppID, t.ConnectorID, t.RequireDPoP = trustdb.RoleConnector, c.AppID, c.ID, false
	}
	return t
}

func newTrust(t testing.TB, s conncred.Store, c *conncred.Connector) trustdb.Trust {
	t.Helper()
	tr := trust(c)
	must(t, trustStore(t, s).CreateTrust(t.Context(), tr))
	return tr
}

func checkTrust(t testing.TB, what string, got, want trustdb.Trust) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("ClientID", got.ClientID, want.ClientID)
	d.str("DisplayName", got.DisplayName, want.DisplayName)
	d.str("Issuer", got.Issuer, want.Issuer)
	d.str("Audiences", fmt.Sprint(got.Audiences), fmt.Sprint(want.Audiences))
	d.str("Condition", got.Condition, want.Condition)
	d.str("Role", string(got.Role), string(want.Role))
	d.str("AppID", got.AppID, want.AppID)
	d.str("ConnectorID", got.ConnectorID, want.ConnectorID)
	d.str("MaxTokenLifetime", got.MaxTokenLifetime.String(), want.MaxTokenLifetime.String())
	d.str("RequireDPoP", fmt.Sprint(got.RequireDPoP), fmt.Sprint(want.RequireDPoP))
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.timePtr("DeletedAt", got.DeletedAt, want.DeletedAt)
	d.timePtr("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	d.check(t, what)
}

func testTrustRoundTrip(t *testing.T, s conncred.Store) {
	ts := trustStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	for _, want := range []trustdb.Trust{newTrust(t, s, nil), newTrust(t, s, &c)} {
		got, err := ts.GetTrust(t.Context(), want.ID)
		must(t, err)
		checkTrust(t, "GetTrust "+string(want.Role), got, want)
		got, err = ts.GetTrustByClientID(t.Context(), want.ClientID)
		must(t, err)
		checkTrust(t, "GetTrustByClientID "+string(want.Role), got, want)
	}
	_, err := ts.GetTrust(t.Context(), newID())
	wantCode(t, err, conncred.ENotFound)
	_, err = ts.GetTrustByClientID(t.Context(), "nobody@127.0.0.1:8443/wfe")
	wantCode(t, err, conncred.ENotFound)
}

func testTrustDuplicate(t *testing.T, s conncred.Store) {
	ts := trustStore(t, s)
	a := newTrust(t, s, nil)
	sameID := trust(nil)
	sameID.ID = a.ID
	wantCode(t, ts.CreateTrust(t.Context(), sameID), conncred.EConflict)
	sameClient := trust(nil)
	sameClient.ClientID = a.ClientID
	wantCode(t, ts.CreateTrust(t.Context(), sameClient), conncred.EConflict)
}

func testTrustConnectorMissing(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	ts := trustStore(t, s)
	a := newApp(t, s)
	other := newApp(t, s)
	deleted := newConnector(t, s, a.ID)
	must(t, s.DeleteConnector(ctx, deleted.ID, at(time.Minute)))
	live := newConnector(t, s, a.ID)
	for _, tc := range []struct {
		name           string
		app, connector string
	}{
		{"unknown connector", a.ID, newID()},
		{"deleted connector", a.ID, deleted.ID},
		{"connector of another app", other.ID, live.ID},
	} {
		tr := trust(&live)
		tr.AppID, tr.ConnectorID = tc.app, tc.connector
		wantCode(t, ts.CreateTrust(ctx, tr), conncred.ENotFound)
		if _, err := ts.GetTrust(ctx, tr.ID); conncred.ErrorCode(err) != conncred.ENotFound {
			t.Errorf("%s: refused trust was stored (GetTrust: %v)", tc.name, err)
		}
	}
}

func testTrustUpdate(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	ts := trustStore(t, s)
	tr := newTrust(t, s, nil)
	want := tr
	want.DisplayName, want.Issuer, want.Audiences, want.Condition = "renamed", "https://gitlab.example.com", []string{"x"}, "true"
	want.MaxTokenLifetime, want.RequireDPoP, want.UpdatedAt = time.Hour, false, at(time.Minute)
	want.Role, want.ClientID = trustdb.RoleConnector, "changed@127.0.0.1:8443/wfe" // not mutable: ignored
	must(t, ts.UpdateTrust(ctx, want))
	got, err := ts.GetTrust(ctx, tr.ID)
	must(t, err)
	want.Role, want.ClientID = tr.Role, tr.ClientID
	checkTrust(t, "after update", got, want)

	unknown := trust(nil)
	wantCode(t, ts.UpdateTrust(ctx, unknown), conncred.ENotFound)
	_, err = ts.DeleteTrust(ctx, tr.ID, at(time.Hour))
	must(t, err)
	again := want
	again.DisplayName = "after delete"
	wantCode(t, ts.UpdateTrust(ctx, again), conncred.ENotFound)
}

func testTrustDeleteKeepsFirstTime(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	ts := trustStore(t, s)
	tr := newTrust(t, s, nil)
	first := at(time.Hour)
	got, err := ts.DeleteTrust(ctx, tr.ID, first)
	must(t, err)
	if !sameTime(got.DeletedAt, &first) {
		t.Errorf("DeletedAt after delete: got %s, want %s", fmtTime(got.DeletedAt), first)
	}
	got, err = ts.DeleteTrust(ctx, tr.ID, at(2*time.Hour))
	must(t, err)
	if !sameTime(got.DeletedAt, &first) || !got.UpdatedAt.Equal(first) {
		t.Errorf("after a second delete: DeletedAt %s, UpdatedAt %s; want both the first, %s", fmtTime(got.DeletedAt), got.UpdatedAt, first)
	}
	_, err = ts.DeleteTrust(ctx, newID(), first)
	wantCode(t, err, conncred.ENotFound)
}

func testTrustCascade(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	ts := trustStore(t, s)
	a := newApp(t, s)
	c, sibling := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	byConnector, bySibling, admin := newTrust(t, s, &c), newTrust(t, s, &sibling), newTrust(t, s, nil)

	connectorGone := at(time.Hour)
	must(t, s.DeleteConnector(ctx, c.ID, connectorGone))
	appGone := at(2 * time.Hour)
	for _, tc := range []struct {
		name string
		id   string
		want *time.Time
	}{
		{"trust of the deleted connector", byConnector.ID, &connectorGone},
		{"trust of a sibling connector", bySibling.ID, nil},
		{"admin trust", admin.ID, nil},
	} {
		got, err := ts.GetTrust(ctx, tc.id)
		must(t, err)
		if !sameTime(got.DeletedAt, tc.want) {
			t.Errorf("%s: DeletedAt got %s, want %s", tc.name, fmtTime(got.DeletedAt), fmtTime(tc.want))
		}
	}
	must(t, s.DeleteApp(ctx, a.ID, appGone))
	got, err := ts.GetTrust(ctx, bySibling.ID)
	must(t, err)
	if !sameTime(got.DeletedAt, &appGone) {
		t.Errorf("trust of a connector of a deleted app: DeletedAt got %s, want %s", fmtTime(got.DeletedAt), appGone)
	}
	live, err := ts.ListTrusts(ctx, conncred.ListOptions{})
	must(t, err)
	wantIDs(t, "live trusts after the cascade", idsOf(live, trustID), []string{admin.ID})
}

func trustID(t trustdb.Trust) string { return t.ID }

func testTrustList(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	ts := trustStore(t, s)
	var all, live []string
	for i := range 7 {
		tr := newTrust(t, s, nil)
		all = append(all, tr.ID)
		if deletedIndex(i) {
			_, err := ts.DeleteTrust(ctx, tr.ID, at(time.Minute))
			must(t, err)
		} else {
			live = append(live, tr.ID)
		}
	}
	slices.Sort(all)
	slices.Sort(live)
	checkWalks(t, "trusts", all, live, func(opt conncred.ListOptions) ([]string, error) {
		ts, err := ts.ListTrusts(ctx, opt)
		return idsOf(ts, trustID), err
	})
}

func testTrustTouch(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	ts := trustStore(t, s)
	tr := newTrust(t, s, nil)
	must(t, ts.TouchTrust(ctx, tr.ID, at(2*time.Minute)))
	must(t, ts.TouchTrust(ctx, tr.ID, at(time.Minute)))
	must(t, ts.TouchTrust(ctx, newID(), at(time.Minute)))
	got, err := ts.GetTrust(ctx, tr.ID)
	must(t, err)
	if want := at(2 * time.Minute); !sameTime(got.LastUsedAt, &want) {
		t.Errorf("LastUsedAt: got %s, want %s (never backwards)", fmtTime(got.LastUsedAt), want)
	}
}
