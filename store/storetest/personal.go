package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/personal"
)

// personalTests pin personal.Store, which every conncred store also
// implements.
var personalTests = []test{
	{"UpdateNameAndExpiry", testPersonalUpdate},
	{"UpdateOnlyLiveAdmins", testPersonalUpdateOnlyLiveAdmins},
	{"ScopedRoles", testPersonalScopedRoles},
}

func personalStore(t *testing.T, s conncred.Store) personal.Store {
	t.Helper()
	ps, ok := personal.AsStore(s)
	if !ok {
		t.Fatal("the store does not implement personal.Store")
	}
	return ps
}

// testPersonalUpdate: name and expiry are replaced (and cleared), the
// update time moves, and a read answers the same.
func testPersonalUpdate(t *testing.T, s conncred.Store) {
	ps := personalStore(t, s)
	ctx := t.Context()
	cr := newCredential(t, s, nil)
	exp := at(48 * time.Hour)
	got, err := ps.UpdatePersonalClient(ctx, cr.ID, "renamed", &exp, at(time.Hour))
	must(t, err)
	if got.DisplayName != "renamed" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || !got.UpdatedAt.Equal(at(time.Hour)) {
		t.Errorf("update returned %+v; want name renamed, expiry %s, updated %s", got, exp, at(time.Hour))
	}
	if read := getCredential(t, s, cr.ID); read.DisplayName != "renamed" || read.ExpiresAt == nil || !read.ExpiresAt.Equal(exp) {
		t.Errorf("read back %+v; want the update", read)
	}
	got, err = ps.UpdatePersonalClient(ctx, cr.ID, "renamed", nil, at(2*time.Hour))
	must(t, err)
	if got.ExpiresAt != nil {
		t.Errorf("expiry %v after clearing it, want none", got.ExpiresAt)
	}
}

// testPersonalUpdateOnlyLiveAdmins: a connector's credential, a revoked
// admin and an unknown id are ENotFound, and nothing changes.
func testPersonalUpdateOnlyLiveAdmins(t *testing.T, s conncred.Store) {
	ps := personalStore(t, s)
	ctx := t.Context()
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	conn := newCredential(t, s, &c)
	revoked := newCredential(t, s, nil)
	_, err := s.RevokeCredential(ctx, revoked.ID, at(time.Minute))
	must(t, err)
	for name, id := range map[string]string{"connector": conn.ID, "revoked": revoked.ID, "unknown": newID()} {
		_, err := ps.UpdatePersonalClient(ctx, id, "x", nil, at(time.Hour))
		if got, want := conncred.ErrorCode(err), conncred.ENotFound; got != want {
			t.Errorf("%s: error code %q (%v), want %q", name, got, err, want)
		}
	}
	if got := getCredential(t, s, conn.ID); got.DisplayName == "x" {
		t.Error("a connector credential was renamed")
	}
}

// testPersonalScopedRoles: none until set, replaced, removed by an empty
// list; per credential.
func testPersonalScopedRoles(t *testing.T, s conncred.Store) {
	ps := personalStore(t, s)
	ctx := t.Context()
	one, two := newCredential(t, s, nil), newCredential(t, s, nil)
	roles, err := ps.ScopedRoles(ctx, one.ID)
	must(t, err)
	if roles != nil {
		t.Errorf("roles %v before any were set, want none", roles)
	}
	must(t, ps.SetScopedRoles(ctx, one.ID, []string{"admin"}, at(time.Hour)))
	must(t, ps.SetScopedRoles(ctx, one.ID, []string{"admin", "auditor"}, at(2*time.Hour)))
	roles, err = ps.ScopedRoles(ctx, one.ID)
	must(t, err)
	if want := []string{"admin", "auditor"}; !slices.Equal(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}
	if roles, _ := ps.ScopedRoles(ctx, two.ID); roles != nil {
		t.Errorf("another client has roles %v, want none", roles)
	}
	must(t, ps.SetScopedRoles(ctx, one.ID, nil, at(3*time.Hour)))
	if roles, _ := ps.ScopedRoles(ctx, one.ID); roles != nil {
		t.Errorf("roles %v after removing them, want none", roles)
	}
}
