package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/lifecycle"
)

// lifecycleTests pin lifecycle.Store, which every conncred store also
// implements.
var lifecycleTests = []test{
	{"RetireOthers", testRetireOthers},
	{"RetireOne", testRetireOne},
	{"RetireUnknownChangesNothing", testRetireUnknownChangesNothing},
	{"RetireUnderCap", testRetireUnderCap},
	{"KeyRegisteredOnce", testKeyRegisteredOnce},
	{"KeyRegisteredOnceUnderContention", testKeyRegisteredOnceUnderContention},
	{"SourceLimit", testSourceLimit},
	{"SessionSettings", testSessionSettings},
}

func lifecycleStore(t *testing.T, s conncred.Store) lifecycle.Store {
	t.Helper()
	ls, err := lifecycle.AsStore(s)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// uniqueKey gives a credential a thumbprint of its own; the suite's
// credentials otherwise share one.
func uniqueKey(cr *conncred.Credential) {
	cr.Thumbprint = fmt.Sprintf("tp-%s", cr.ID)
}

// testRetireOthers: every other usable credential of the connector gets
// the retirement time, except one that expires sooner, a revoked one and
// another connector's.
func testRetireOthers(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	ctx := t.Context()
	a := newApp(t, s)
	c, other := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	now, retireAt := at(time.Hour), at(25*time.Hour)
	plain := newCredential(t, s, &c, uniqueKey)
	later := newCredential(t, s, &c, uniqueKey, expiresAt(at(100*time.Hour)))
	sooner := newCredential(t, s, &c, uniqueKey, expiresAt(at(2*time.Hour)))
	revoked := newCredential(t, s, &c, uniqueKey)
	_, err := s.RevokeCredential(ctx, revoked.ID, at(time.Minute))
	must(t, err)
	sibling := newCredential(t, s, &other, uniqueKey)

	cr := credential(&c)
	uniqueKey(&cr)
	retired, err := ls.RotateRetiring(ctx, cr, conncred.ActiveLimit{MaxActive: 10, Now: now}, lifecycle.Retirement{At: retireAt})
	must(t, err)
	wantIDs(t, "retired", sortedIDs(retired), sortedIDs([]conncred.Credential{plain, later}))
	for _, r := range retired {
		if !sameTime(r.ExpiresAt, &retireAt) || !r.UpdatedAt.Equal(now) {
			t.Errorf("retired %s: expires %s, updated %s; want %s, %s", r.ID, fmtTime(r.ExpiresAt), r.UpdatedAt, retireAt, now)
		}
	}
	for _, keep := range []conncred.Credential{sooner, sibling} {
		if got := getCredential(t, s, keep.ID); !sameTime(got.ExpiresAt, keep.ExpiresAt) {
			t.Errorf("%s: expiry moved to %s", keep.ID, fmtTime(got.ExpiresAt))
		}
	}
	if got := getCredential(t, s, cr.ID); got.ExpiresAt != nil {
		t.Errorf("the new credential was retired too: %s", fmtTime(got.ExpiresAt))
	}
}

func sortedIDs(cs []conncred.Credential) []string {
	ids := idsOf(cs, credentialID)
	slices.Sort(ids)
	return ids
}

func testRetireOne(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	one, two := newCredential(t, s, &c, uniqueKey), newCredential(t, s, &c, uniqueKey)
	cr := credential(&c)
	uniqueKey(&cr)
	retired, err := ls.RotateRetiring(t.Context(), cr, conncred.ActiveLimit{Now: at(time.Hour)}, lifecycle.Retirement{At: at(2 * time.Hour), CredentialID: one.ID})
	must(t, err)
	wantIDs(t, "retired", idsOf(retired, credentialID), []string{one.ID})
	if got := getCredential(t, s, two.ID); got.ExpiresAt != nil {
		t.Errorf("a credential not named was retired")
	}
}

// testRetireUnknownChangesNothing: naming a credential that is not a
// usable one of the connector stores nothing.
func testRetireUnknownChangesNothing(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	ctx := t.Context()
	a := newApp(t, s)
	c, other := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	foreign := newCredential(t, s, &other, uniqueKey)
	revoked := newCredential(t, s, &c, uniqueKey)
	_, err := s.RevokeCredential(ctx, revoked.ID, at(0))
	must(t, err)
	for _, id := range []string{newID(), foreign.ID, revoked.ID} {
		cr := credential(&c)
		uniqueKey(&cr)
		_, err := ls.RotateRetiring(ctx, cr, conncred.ActiveLimit{Now: at(time.Hour)}, lifecycle.Retirement{At: at(2 * time.Hour), CredentialID: id})
		wantCode(t, err, conncred.ENotFound)
		_, err = s.GetCredential(ctx, cr.ID)
		wantCode(t, err, conncred.ENotFound)
	}
	if got := getCredential(t, s, foreign.ID); got.ExpiresAt != nil {
		t.Errorf("another connector's credential was retired")
	}
}

// testRetireUnderCap: retiring credentials still count, so a full
// connector refuses the rotate and nothing is retired.
func testRetireUnderCap(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	old := newCredential(t, s, &c, uniqueKey, expiresAt(at(3*time.Hour)))
	cr := credential(&c)
	uniqueKey(&cr)
	_, err := ls.RotateRetiring(t.Context(), cr, conncred.ActiveLimit{MaxActive: 1, Now: at(time.Hour)}, lifecycle.Retirement{At: at(2 * time.Hour)})
	wantCode(t, err, conncred.EConflict)
	if got := getCredential(t, s, old.ID); !sameTime(got.ExpiresAt, old.ExpiresAt) {
		t.Errorf("a refused rotate retired %s", old.ID)
	}
}

func testKeyRegisteredOnce(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	ctx := t.Context()
	a := newApp(t, s)
	c, other := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	first := newCredential(t, s, &c, uniqueKey)
	got, err := ls.CredentialByThumbprint(ctx, first.Thumbprint)
	must(t, err)
	checkCredential(t, "by thumbprint", got, first)
	_, err = ls.CredentialByThumbprint(ctx, "no-such-thumbprint")
	wantCode(t, err, conncred.ENotFound)

	cr := credential(&other)
	cr.Thumbprint = first.Thumbprint
	_, err = ls.RotateRetiring(ctx, cr, conncred.ActiveLimit{Now: at(0)}, lifecycle.Retirement{})
	wantCode(t, err, conncred.EConflict)
	_, err = s.GetCredential(ctx, cr.ID)
	wantCode(t, err, conncred.ENotFound)
}

// testKeyRegisteredOnceUnderContention: of many rotates bringing one key,
// on different connectors at once, exactly one succeeds.
func testKeyRegisteredOnceUnderContention(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	a := newApp(t, s)
	conns := make([]conncred.Connector, 8)
	for i := range conns {
		conns[i] = newConnector(t, s, a.ID)
	}
	errs := race(len(conns), func(i int) error {
		cr := credential(&conns[i])
		cr.Thumbprint = "the-same-key"
		_, err := ls.RotateRetiring(t.Context(), cr, conncred.ActiveLimit{Now: at(0)}, lifecycle.Retirement{})
		return err
	})
	if ok := tally(t, "rotates with one key", errs, conncred.EConflict); ok != 1 {
		t.Fatalf("%d rotates registered the same key, want 1", ok)
	}
}

func testSourceLimit(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	ctx := t.Context()
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	cr := newCredential(t, s, &c, uniqueKey)
	got, err := ls.SourceLimit(ctx, cr.ID)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("a new credential has a source limit: %v", got)
	}
	want := []string{"10.0.0.0/8", "2001:db8::/32"}
	must(t, ls.SetSourceLimit(ctx, cr.ID, want, at(0)))
	got, err = ls.SourceLimit(ctx, cr.ID)
	must(t, err)
	if !slices.Equal(got, want) {
		t.Fatalf("source limit: got %v, want %v", got, want)
	}
	must(t, ls.SetSourceLimit(ctx, cr.ID, []string{"192.0.2.0/24"}, at(time.Minute)))
	got, _ = ls.SourceLimit(ctx, cr.ID)
	if !slices.Equal(got, []string{"192.0.2.0/24"}) {
		t.Fatalf("replaced source limit: got %v", got)
	}
	must(t, ls.SetSourceLimit(ctx, cr.ID, nil, at(2*time.Minute)))
	got, _ = ls.SourceLimit(ctx, cr.ID)
	if len(got) != 0 {
		t.Fatalf("removed source limit: got %v", got)
	}
}

func testSessionSettings(t *testing.T, s conncred.Store) {
	ls := lifecycleStore(t, s)
	ctx := t.Context()
	got, err := ls.SessionSettings(ctx)
	must(t, err)
	if got.ConnectorSource.Enabled || got.PCCAdminSource.Enabled || len(got.ConnectorSource.CIDRs) != 0 {
		t.Fatalf("settings never set: %+v", got)
	}
	want := lifecycle.SessionSettings{
		ConnectorSource: lifecycle.SourceRestriction{Enabled: true, CIDRs: []string{"10.0.0.0/8"}},
		PCCAdminSource:  lifecycle.SourceRestriction{Enabled: false, CIDRs: []string{"192.0.2.1/32"}},
		UpdatedAt:       at(time.Hour),
	}
	for range 2 { // the second put replaces the first
		must(t, ls.PutSessionSettings(ctx, want))
	}
	got, err = ls.SessionSettings(ctx)
	must(t, err)
	if !got.ConnectorSource.Enabled || !slices.Equal(got.ConnectorSource.CIDRs, want.ConnectorSource.CIDRs) ||
		got.PCCAdminSource.Enabled || !slices.Equal(got.PCCAdminSource.CIDRs, want.PCCAdminSource.CIDRs) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("settings: got %+v, want %+v", got, want)
	}
}
