package storetest

import (
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var appTests = []test{
	{"RoundTrip", testAppRoundTrip},
	{"DuplicateID", testAppDuplicateID},
	{"Update", testAppUpdate},
	{"UnknownID", testAppUnknownID},
	{"UpdateDeleted", testAppUpdateDeleted},
	{"DeleteKeepsFirstTime", testAppDeleteKeepsFirstTime},
	{"DeleteCascades", testAppDeleteCascades},
	{"ListIncludeDeleted", testAppListIncludeDeleted},
}

func testAppRoundTrip(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := app()
	a.UpdatedAt = at(time.Second)
	must(t, s.CreateApp(ctx, a))
	got, err := s.GetApp(ctx, a.ID)
	must(t, err)
	checkApp(t, "GetApp", got, a)

	// A time in another zone is the same instant; it comes back in UTC.
	b := app()
	b.Description = ""
	b.CreatedAt = base.In(time.FixedZone("UTC+5", 5*3600))
	b.UpdatedAt = b.CreatedAt
	must(t, s.CreateApp(ctx, b))
	got, err = s.GetApp(ctx, b.ID)
	must(t, err)
	checkApp(t, "GetApp of an app written with a non-UTC time", got, b)
}

func testAppDuplicateID(t *testing.T, s conncred.Store) {
	a := newApp(t, s)
	dup := app()
	dup.ID = a.ID
	wantCode(t, s.CreateApp(t.Context(), dup), conncred.EConflict)
	got, err := s.GetApp(t.Context(), a.ID)
	must(t, err)
	checkApp(t, "app after a refused duplicate", got, a)
}

func testAppUpdate(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	other := newApp(t, s)
	upd := a
	upd.DisplayName, upd.Description, upd.UpdatedAt = "Okta (prod)", "", at(time.Minute)
	// Only the mutable fields move: a caller's stray CreatedAt or DeletedAt
	// must not reach the record.
	upd.CreatedAt, upd.DeletedAt = at(time.Hour), ptr(at(time.Hour))
	must(t, s.UpdateApp(ctx, upd))

	want := a
	want.DisplayName, want.Description, want.UpdatedAt = "Okta (prod)", "", at(time.Minute)
	got, err := s.GetApp(ctx, a.ID)
	must(t, err)
	checkApp(t, "app after UpdateApp", got, want)
	got, err = s.GetApp(ctx, other.ID)
	must(t, err)
	checkApp(t, "another app after UpdateApp", got, other)
}

func testAppUnknownID(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	newApp(t, s)
	unknown := app()
	_, err := s.GetApp(ctx, unknown.ID)
	wantCode(t, err, conncred.ENotFound)
	wantCode(t, s.UpdateApp(ctx, unknown), conncred.ENotFound)
	wantCode(t, s.DeleteApp(ctx, unknown.ID, base), conncred.ENotFound)
	_, err = s.GetApp(ctx, unknown.ID)
	wantCode(t, err, conncred.ENotFound)
}

func testAppUpdateDeleted(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	must(t, s.DeleteApp(ctx, a.ID, at(time.Hour)))
	upd := a
	upd.DisplayName, upd.UpdatedAt = "renamed", at(2*time.Hour)
	wantCode(t, s.UpdateApp(ctx, upd), conncred.ENotFound)
	got, err := s.GetApp(ctx, a.ID)
	must(t, err)
	want := a
	want.DeletedAt = ptr(at(time.Hour))
	want.UpdatedAt = got.UpdatedAt // a delete may or may not stamp UpdatedAt
	checkApp(t, "deleted app after a refused update", got, want)
}

func testAppDeleteKeepsFirstTime(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	must(t, s.DeleteApp(ctx, a.ID, at(time.Hour)))
	must(t, s.DeleteApp(ctx, a.ID, at(2*time.Hour)))
	must(t, s.DeleteApp(ctx, a.ID, at(time.Minute)))
	got, err := s.GetApp(ctx, a.ID)
	must(t, err)
	if !sameTime(got.DeletedAt, ptr(at(time.Hour))) {
		t.Fatalf("DeletedAt after three deletes: got %s, want the first, %s", fmtTime(got.DeletedAt), at(time.Hour))
	}
}

func testAppDeleteCascades(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	live, gone := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	revoked := newCredential(t, s, &live)
	_, err := s.RevokeCredential(ctx, revoked.ID, at(time.Minute))
	must(t, err)
	liveCred := newCredential(t, s, &live)
	expired := newCredential(t, s, &live, expiresAt(at(time.Second)))
	goneCred := newCredential(t, s, &gone)
	must(t, s.DeleteConnector(ctx, gone.ID, at(2*time.Minute)))
	admin := newCredential(t, s, nil)

	other := newApp(t, s)
	otherConn := newConnector(t, s, other.ID)
	otherCred := newCredential(t, s, &otherConn)

	deletedAt := at(time.Hour)
	must(t, s.DeleteApp(ctx, a.ID, deletedAt))
	// A second delete changes nothing, not even for records the first one
	// marked.
	must(t, s.DeleteApp(ctx, a.ID, at(2*time.Hour)))

	gotApp, err := s.GetApp(ctx, a.ID)
	must(t, err)
	if !sameTime(gotApp.DeletedAt, &deletedAt) {
		t.Errorf("app DeletedAt: got %s, want %s", fmtTime(gotApp.DeletedAt), deletedAt)
	}
	for _, tc := range []struct {
		name string
		id   string
		want *time.Time
	}{
		{"live connector", live.ID, &deletedAt},
		{"connector deleted before", gone.ID, ptr(at(2 * time.Minute))},
		{"other app's connector", otherConn.ID, nil},
	} {
		got, err := s.GetConnector(ctx, tc.id)
		must(t, err)
		if !sameTime(got.DeletedAt, tc.want) {
			t.Errorf("%s: DeletedAt got %s, want %s", tc.name, fmtTime(got.DeletedAt), fmtTime(tc.want))
		}
	}
	for _, tc := range []struct {
		name string
		id   string
		want *time.Time
	}{
		{"live credential", liveCred.ID, &deletedAt},
		{"expired credential", expired.ID, &deletedAt},
		{"credential revoked before", revoked.ID, ptr(at(time.Minute))},
		{"credential of a connector deleted before", goneCred.ID, ptr(at(2 * time.Minute))},
		{"admin credential", admin.ID, nil},
		{"other app's credential", otherCred.ID, nil},
	} {
		got := getCredential(t, s, tc.id)
		if !sameTime(got.DeletedAt, tc.want) {
			t.Errorf("%s: DeletedAt got %s, want %s", tc.name, fmtTime(got.DeletedAt), fmtTime(tc.want))
		}
	}
}

func testAppListIncludeDeleted(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	var all, live []string
	for i := range 6 {
		a := newApp(t, s)
		all = append(all, a.ID)
		if i%2 == 0 {
			must(t, s.DeleteApp(ctx, a.ID, at(time.Hour)))
		} else {
			live = append(live, a.ID)
		}
	}
	got, err := s.ListApps(ctx, conncred.ListOptions{Limit: 100})
	must(t, err)
	wantIDs(t, "ListApps", idsOf(got, appID), live)
	got, err = s.ListApps(ctx, conncred.ListOptions{Limit: 100, IncludeDeleted: true})
	must(t, err)
	wantIDs(t, "ListApps with IncludeDeleted", idsOf(got, appID), all)
	for _, a := range got {
		if a.ID == all[0] && !sameTime(a.DeletedAt, ptr(at(time.Hour))) {
			t.Errorf("listed deleted app: DeletedAt %s, want %s", fmtTime(a.DeletedAt), at(time.Hour))
		}
	}
}
