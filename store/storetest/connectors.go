package storetest

import (
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var connectorTests = []test{
	{"RoundTrip", testConnectorRoundTrip},
	{"DuplicateID", testConnectorDuplicateID},
	{"UnknownApp", testConnectorUnknownApp},
	{"Update", testConnectorUpdate},
	{"UnknownID", testConnectorUnknownID},
	{"UpdateDeleted", testConnectorUpdateDeleted},
	{"DeleteCascades", testConnectorDeleteCascades},
	{"ListByApp", testConnectorListByApp},
}

func testConnectorRoundTrip(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	c := connector(a.ID)
	c.UpdatedAt = at(time.Second)
	must(t, s.CreateConnector(ctx, c))
	got, err := s.GetConnector(ctx, c.ID)
	must(t, err)
	checkConnector(t, "GetConnector", got, c)

	// No user ids, nil or empty, come back as an empty list.
	for _, users := range [][]string{nil, {}} {
		c := connector(a.ID)
		c.UserIDs, c.CatalogID, c.Description = users, "", ""
		must(t, s.CreateConnector(ctx, c))
		got, err := s.GetConnector(ctx, c.ID)
		must(t, err)
		checkConnector(t, "GetConnector without user ids", got, c)
	}
}

func testConnectorDuplicateID(t *testing.T, s conncred.Store) {
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	dup := connector(a.ID)
	dup.ID = c.ID
	wantCode(t, s.CreateConnector(t.Context(), dup), conncred.EConflict)
}

func testConnectorUnknownApp(t *testing.T, s conncred.Store) {
	c := connector(app().ID)
	wantCode(t, s.CreateConnector(t.Context(), c), conncred.ENotFound)
	_, err := s.GetConnector(t.Context(), c.ID)
	wantCode(t, err, conncred.ENotFound)
}

func testConnectorUpdate(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	other := newConnector(t, s, a.ID)
	upd := c
	upd.DisplayName, upd.Description, upd.UserIDs, upd.UpdatedAt = "Baton Okta (prod)", "", []string{"u3"}, at(time.Minute)
	upd.CreatedAt, upd.DeletedAt = at(time.Hour), ptr(at(time.Hour))
	must(t, s.UpdateConnector(ctx, upd))

	want := c
	want.DisplayName, want.Description, want.UserIDs, want.UpdatedAt = "Baton Okta (prod)", "", []string{"u3"}, at(time.Minute)
	got, err := s.GetConnector(ctx, c.ID)
	must(t, err)
	checkConnector(t, "connector after UpdateConnector", got, want)

	upd.UserIDs, upd.UpdatedAt = nil, at(2*time.Minute)
	must(t, s.UpdateConnector(ctx, upd))
	want.UserIDs, want.UpdatedAt = nil, at(2*time.Minute)
	got, err = s.GetConnector(ctx, c.ID)
	must(t, err)
	checkConnector(t, "connector after clearing its user ids", got, want)

	got, err = s.GetConnector(ctx, other.ID)
	must(t, err)
	checkConnector(t, "another connector after UpdateConnector", got, other)
}

func testConnectorUnknownID(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	newConnector(t, s, a.ID)
	unknown := connector(a.ID)
	_, err := s.GetConnector(ctx, unknown.ID)
	wantCode(t, err, conncred.ENotFound)
	wantCode(t, s.UpdateConnector(ctx, unknown), conncred.ENotFound)
	wantCode(t, s.DeleteConnector(ctx, unknown.ID, base), conncred.ENotFound)
	_, err = s.GetConnector(ctx, unknown.ID)
	wantCode(t, err, conncred.ENotFound)
}

func testConnectorUpdateDeleted(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	must(t, s.DeleteConnector(ctx, c.ID, at(time.Hour)))
	upd := c
	upd.DisplayName, upd.UpdatedAt = "renamed", at(2*time.Hour)
	wantCode(t, s.UpdateConnector(ctx, upd), conncred.ENotFound)
	got, err := s.GetConnector(ctx, c.ID)
	must(t, err)
	if got.DisplayName != c.DisplayName {
		t.Errorf("deleted connector renamed to %q", got.DisplayName)
	}
}

func testConnectorDeleteCascades(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	c, sibling := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	revoked := newCredential(t, s, &c)
	_, err := s.RevokeCredential(ctx, revoked.ID, at(time.Minute))
	must(t, err)
	live := newCredential(t, s, &c)
	expired := newCredential(t, s, &c, expiresAt(at(time.Second)))
	siblingCred := newCredential(t, s, &sibling)
	admin := newCredential(t, s, nil)

	deletedAt := at(time.Hour)
	must(t, s.DeleteConnector(ctx, c.ID, deletedAt))
	must(t, s.DeleteConnector(ctx, c.ID, at(2*time.Hour)))

	got, err := s.GetConnector(ctx, c.ID)
	must(t, err)
	if !sameTime(got.DeletedAt, &deletedAt) {
		t.Errorf("connector DeletedAt after two deletes: got %s, want the first, %s", fmtTime(got.DeletedAt), deletedAt)
	}
	for _, tc := range []struct {
		name string
		id   string
		want *time.Time
	}{
		{"live credential", live.ID, &deletedAt},
		{"expired credential", expired.ID, &deletedAt},
		{"credential revoked before", revoked.ID, ptr(at(time.Minute))},
		{"sibling connector's credential", siblingCred.ID, nil},
		{"admin credential", admin.ID, nil},
	} {
		got := getCredential(t, s, tc.id)
		if !sameTime(got.DeletedAt, tc.want) {
			t.Errorf("%s: DeletedAt got %s, want %s", tc.name, fmtTime(got.DeletedAt), fmtTime(tc.want))
		}
	}
	if got, err := s.GetApp(ctx, a.ID); err != nil || got.DeletedAt != nil {
		t.Errorf("app after DeleteConnector: DeletedAt %s, error %v; want live", fmtTime(got.DeletedAt), err)
	}
	if got, err := s.GetConnector(ctx, sibling.ID); err != nil || got.DeletedAt != nil {
		t.Errorf("sibling connector after DeleteConnector: DeletedAt %s, error %v; want live", fmtTime(got.DeletedAt), err)
	}
}

func testConnectorListByApp(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a, b := newApp(t, s), newApp(t, s)
	var all, live []string
	for i := range 6 {
		c := newConnector(t, s, a.ID)
		newConnector(t, s, b.ID)
		all = append(all, c.ID)
		if i%3 == 1 {
			must(t, s.DeleteConnector(ctx, c.ID, at(time.Hour)))
		} else {
			live = append(live, c.ID)
		}
	}
	got, err := s.ListConnectors(ctx, a.ID, conncred.ListOptions{Limit: 100})
	must(t, err)
	wantIDs(t, "ListConnectors", idsOf(got, connectorID), live)
	for _, c := range got {
		if c.AppID != a.ID || len(c.UserIDs) != 2 {
			t.Errorf("listed connector %s: AppID %s, UserIDs %q", c.ID, c.AppID, c.UserIDs)
		}
	}
	got, err = s.ListConnectors(ctx, a.ID, conncred.ListOptions{Limit: 100, IncludeDeleted: true})
	must(t, err)
	wantIDs(t, "ListConnectors with IncludeDeleted", idsOf(got, connectorID), all)
	got, err = s.ListConnectors(ctx, app().ID, conncred.ListOptions{Limit: 100, IncludeDeleted: true})
	must(t, err)
	wantIDs(t, "ListConnectors of an unknown app", idsOf(got, connectorID), nil)
}
