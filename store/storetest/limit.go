package storetest

import (
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var activeLimitTests = []test{
	{"CountsOnlyUsable", testLimitCountsOnlyUsable},
	{"RefusedLeavesNothing", testLimitRefusedLeavesNothing},
	{"ZeroMeansNoCap", testLimitZeroMeansNoCap},
	{"ConnectorMissingOrDeleted", testLimitConnectorMissingOrDeleted},
	{"AdminHasNoCap", testLimitAdminHasNoCap},
}

var touchTests = []test{
	{"NeverBackwards", testTouchNeverBackwards},
	{"Batch", testTouchBatch},
}

// testLimitCountsOnlyUsable fills a connector to its cap beside credentials
// that must not count: revoked, expired at or before Now, another
// connector's, admins'.
func testLimitCountsOnlyUsable(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	c, sibling := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	now := at(time.Hour)
	limit := conncred.ActiveLimit{MaxActive: 3, Now: now}

	newCredential(t, s, &c, expiresAt(now))             // expires exactly at Now
	newCredential(t, s, &c, expiresAt(at(time.Minute))) // expired before Now
	revoked := newCredential(t, s, &c, expiresAt(at(48*time.Hour)))
	_, err := s.RevokeCredential(ctx, revoked.ID, at(time.Minute))
	must(t, err)
	for range 4 {
		newCredential(t, s, &sibling)
		newCredential(t, s, nil)
	}

	var counted []conncred.Credential
	for i := range 3 {
		cr := credential(&c)
		if i == 0 {
			cr.ExpiresAt = ptr(at(90 * time.Minute))
		}
		must(t, s.CreateCredential(ctx, cr, limit))
		counted = append(counted, cr)
	}
	wantCode(t, s.CreateCredential(ctx, credential(&c), limit), conncred.EConflict)
	// A larger cap is the caller's to give.
	must(t, s.CreateCredential(ctx, credential(&c), conncred.ActiveLimit{MaxActive: 4, Now: now}))
	wantCode(t, s.CreateCredential(ctx, credential(&c), conncred.ActiveLimit{MaxActive: 4, Now: now}), conncred.EConflict)

	// Revoking one frees a place.
	_, err = s.RevokeCredential(ctx, counted[1].ID, at(2*time.Hour))
	must(t, err)
	must(t, s.CreateCredential(ctx, credential(&c), conncred.ActiveLimit{MaxActive: 4, Now: now}))
	wantCode(t, s.CreateCredential(ctx, credential(&c), conncred.ActiveLimit{MaxActive: 4, Now: now}), conncred.EConflict)

	// Usability is judged at limit.Now: at 90 minutes counted[0] has
	// expired, so there is room again.
	later := conncred.ActiveLimit{MaxActive: 4, Now: at(90 * time.Minute)}
	must(t, s.CreateCredential(ctx, credential(&c), later))
	wantCode(t, s.CreateCredential(ctx, credential(&c), later), conncred.EConflict)

	n, err := s.CountCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID, UsableAt: ptr(at(90 * time.Minute))})
	must(t, err)
	if n != 4 {
		t.Errorf("usable credentials after filling a cap of 4: got %d, want 4", n)
	}
}

// testLimitRefusedLeavesNothing checks that a refused create stores nothing:
// the same credential goes in once there is room.
func testLimitRefusedLeavesNothing(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	limit := conncred.ActiveLimit{MaxActive: 1, Now: base}
	first := credential(&c)
	must(t, s.CreateCredential(ctx, first, limit))
	refused := credential(&c)
	wantCode(t, s.CreateCredential(ctx, refused, limit), conncred.EConflict)
	_, err := s.GetCredential(ctx, refused.ID)
	wantCode(t, err, conncred.ENotFound)
	_, err = s.GetCredentialByClientID(ctx, refused.ClientID)
	wantCode(t, err, conncred.ENotFound)

	_, err = s.RevokeCredential(ctx, first.ID, base)
	must(t, err)
	must(t, s.CreateCredential(ctx, refused, limit))
	checkCredential(t, "credential created after a refusal", getCredential(t, s, refused.ID), refused)
}

func testLimitZeroMeansNoCap(t *testing.T, s conncred.Store) {
	c := newConnector(t, s, newApp(t, s).ID)
	for range 12 {
		must(t, s.CreateCredential(t.Context(), credential(&c), conncred.ActiveLimit{MaxActive: 0, Now: base}))
	}
	n, err := s.CountCredentials(t.Context(), conncred.CredentialFilter{ConnectorID: c.ID, UsableAt: ptr(base)})
	must(t, err)
	if n != 12 {
		t.Errorf("usable credentials: got %d, want 12", n)
	}
}

func testLimitConnectorMissingOrDeleted(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	missing := connector(a.ID)
	deleted := newConnector(t, s, a.ID)
	must(t, s.DeleteConnector(ctx, deleted.ID, base))
	b := newApp(t, s)
	underDeletedApp := newConnector(t, s, b.ID)
	must(t, s.DeleteApp(ctx, b.ID, base))

	for name, c := range map[string]conncred.Connector{"missing": missing, "deleted": deleted, "of a deleted app": underDeletedApp} {
		for _, limit := range []conncred.ActiveLimit{{}, {MaxActive: 5, Now: base}} {
			cr := credential(&c)
			if err := s.CreateCredential(ctx, cr, limit); conncred.ErrorCode(err) != conncred.ENotFound {
				t.Errorf("credential of a %s connector, MaxActive %d: got %v, want code %q", name, limit.MaxActive, err, conncred.ENotFound)
			}
			_, err := s.GetCredential(ctx, cr.ID)
			wantCode(t, err, conncred.ENotFound)
		}
	}
}

func testLimitAdminHasNoCap(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	var want []string
	for range 3 {
		cr := credential(nil)
		must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{MaxActive: 1, Now: base}))
		want = append(want, cr.ID)
	}
	list, err := s.ListCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindAdmin, ListOptions: conncred.ListOptions{Limit: 10}})
	must(t, err)
	wantIDs(t, "admin credentials", idsOf(list, credentialID), want)
	for _, c := range list {
		if c.AppID != "" || c.ConnectorID != "" {
			t.Errorf("admin credential %s: AppID %q, ConnectorID %q, want both empty", c.ID, c.AppID, c.ConnectorID)
		}
	}
}

func testTouchNeverBackwards(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	a, b := newCredential(t, s, &c), newCredential(t, s, &c)
	untouched := newCredential(t, s, &c)
	unknown := credential(&c)

	steps := []struct {
		uses  []conncred.CredentialUse
		wantA time.Time
	}{
		{[]conncred.CredentialUse{{ID: a.ID, At: at(time.Minute)}, {ID: b.ID, At: at(2 * time.Minute)}}, at(time.Minute)},
		{[]conncred.CredentialUse{{ID: a.ID, At: at(time.Second)}}, at(time.Minute)},
		{[]conncred.CredentialUse{{ID: a.ID, At: at(time.Minute)}}, at(time.Minute)},
		{[]conncred.CredentialUse{{ID: unknown.ID, At: at(time.Hour)}, {ID: a.ID, At: at(5 * time.Minute)}}, at(5 * time.Minute)},
		{[]conncred.CredentialUse{{ID: a.ID, At: at(10 * time.Minute)}, {ID: a.ID, At: at(7 * time.Minute)}}, at(10 * time.Minute)},
		{[]conncred.CredentialUse{{ID: a.ID, At: at(11 * time.Minute)}, {ID: a.ID, At: at(12 * time.Minute)}}, at(12 * time.Minute)},
		{nil, at(12 * time.Minute)},
		{[]conncred.CredentialUse{}, at(12 * time.Minute)},
	}
	for i, step := range steps {
		must(t, s.TouchCredentials(ctx, step.uses))
		got := getCredential(t, s, a.ID)
		if !sameTime(got.LastUsedAt, &step.wantA) {
			t.Errorf("step %d: LastUsedAt got %s, want %s", i, fmtTime(got.LastUsedAt), step.wantA)
		}
	}
	if got := getCredential(t, s, b.ID); !sameTime(got.LastUsedAt, ptr(at(2*time.Minute))) {
		t.Errorf("second credential: LastUsedAt got %s, want %s", fmtTime(got.LastUsedAt), at(2*time.Minute))
	}
	checkCredential(t, "credential never touched", getCredential(t, s, untouched.ID), untouched)
	_, err := s.GetCredential(ctx, unknown.ID)
	wantCode(t, err, conncred.ENotFound)

	// Touching changes nothing but LastUsedAt.
	got := getCredential(t, s, a.ID)
	want := a
	want.LastUsedAt, want.UpdatedAt = ptr(at(12*time.Minute)), got.UpdatedAt
	checkCredential(t, "touched credential", got, want)
}

// testTouchBatch writes one batch as the write-behind flusher does, many
// credentials at once, with an unknown id in the middle.
func testTouchBatch(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	var uses []conncred.CredentialUse
	for i := range 60 {
		cr := newCredential(t, s, &c)
		uses = append(uses, conncred.CredentialUse{ID: cr.ID, At: at(time.Duration(i) * time.Second)})
		if i == 30 {
			uses = append(uses, conncred.CredentialUse{ID: credential(&c).ID, At: at(time.Hour)})
		}
	}
	must(t, s.TouchCredentials(ctx, uses))
	for _, u := range uses {
		got, err := s.GetCredential(ctx, u.ID)
		if conncred.ErrorCode(err) == conncred.ENotFound {
			continue // the unknown id
		}
		must(t, err)
		if !sameTime(got.LastUsedAt, &u.At) {
			t.Errorf("credential %s: LastUsedAt got %s, want %s", u.ID, fmtTime(got.LastUsedAt), u.At)
		}
	}
}
