package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var credentialTests = []test{
	{"RoundTrip", testCredentialRoundTrip},
	{"Duplicate", testCredentialDuplicate},
	{"UnknownID", testCredentialUnknownID},
	{"Revoke", testCredentialRevoke},
	{"Filter", testCredentialFilter},
}

func testCredentialRoundTrip(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)

	bare := credential(&c)
	bare.UpdatedAt = at(time.Second)
	full := credential(&c)
	full.ExpiresAt, full.LastUsedAt, full.DeletedAt = ptr(at(24*time.Hour)), ptr(at(time.Minute)), ptr(at(time.Hour))
	admin := credential(nil)
	admin.ExpiresAt = ptr(at(90 * 24 * time.Hour))
	for _, cr := range []conncred.Credential{bare, full, admin} {
		must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	}
	for _, want := range []conncred.Credential{bare, full, admin} {
		got, err := s.GetCredential(ctx, want.ID)
		must(t, err)
		checkCredential(t, "GetCredential", got, want)
		got, err = s.GetCredentialByClientID(ctx, want.ClientID)
		must(t, err)
		checkCredential(t, "GetCredentialByClientID", got, want)
	}
	list, err := s.ListCredentials(ctx, conncred.CredentialFilter{ListOptions: conncred.ListOptions{Limit: 10, IncludeDeleted: true}})
	must(t, err)
	wantIDs(t, "ListCredentials", idsOf(list, credentialID), []string{bare.ID, full.ID, admin.ID})
	for i, want := range []conncred.Credential{bare, full, admin} {
		if i < len(list) {
			checkCredential(t, "ListCredentials", list[i], want)
		}
	}
}

func testCredentialDuplicate(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	first := newCredential(t, s, &c)

	sameClient := credential(&c)
	sameClient.ClientID = first.ClientID
	wantCode(t, s.CreateCredential(ctx, sameClient, conncred.ActiveLimit{MaxActive: 10, Now: base}), conncred.EConflict)
	// Unique across kinds too: the client id alone finds the credential.
	sameClientAdmin := credential(nil)
	sameClientAdmin.ClientID = first.ClientID
	wantCode(t, s.CreateCredential(ctx, sameClientAdmin, conncred.ActiveLimit{}), conncred.EConflict)
	sameID := credential(&c)
	sameID.ID = first.ID
	wantCode(t, s.CreateCredential(ctx, sameID, conncred.ActiveLimit{}), conncred.EConflict)

	for _, refused := range []conncred.Credential{sameClient, sameClientAdmin} {
		_, err := s.GetCredential(ctx, refused.ID)
		wantCode(t, err, conncred.ENotFound)
	}
	got, err := s.GetCredentialByClientID(ctx, first.ClientID)
	must(t, err)
	checkCredential(t, "credential after refused duplicates", got, first)
}

func testCredentialUnknownID(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	newCredential(t, s, &c)
	unknown := credential(&c)
	_, err := s.GetCredential(ctx, unknown.ID)
	wantCode(t, err, conncred.ENotFound)
	_, err = s.GetCredentialByClientID(ctx, unknown.ClientID)
	wantCode(t, err, conncred.ENotFound)
	_, err = s.RevokeCredential(ctx, unknown.ID, base)
	wantCode(t, err, conncred.ENotFound)
	_, err = s.GetCredential(ctx, unknown.ID)
	wantCode(t, err, conncred.ENotFound)
}

func testCredentialRevoke(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	cr := newCredential(t, s, &c, expiresAt(at(24*time.Hour)), func(c *conncred.Credential) { c.LastUsedAt = ptr(at(time.Minute)) })
	bystander := newCredential(t, s, &c)

	want := cr
	want.DeletedAt, want.UpdatedAt = ptr(at(time.Hour)), at(time.Hour)
	first, err := s.RevokeCredential(ctx, cr.ID, at(time.Hour))
	must(t, err)
	checkCredential(t, "record returned by the first revoke", first, want)
	// Revoking again keeps the first time, later or earlier, and still
	// returns the stored record.
	for _, again := range []time.Time{at(2 * time.Hour), at(time.Minute)} {
		got, err := s.RevokeCredential(ctx, cr.ID, again)
		must(t, err)
		checkCredential(t, fmt.Sprintf("record returned by a revoke at %s", again), got, want)
	}
	checkCredential(t, "revoked credential", getCredential(t, s, cr.ID), want)
	checkCredential(t, "credential beside a revoked one", getCredential(t, s, bystander.ID), bystander)

	// An expired credential and an admin credential revoke the same way.
	expired := newCredential(t, s, &c, expiresAt(at(time.Second)))
	admin := newCredential(t, s, nil)
	for _, cr := range []conncred.Credential{expired, admin} {
		got, err := s.RevokeCredential(ctx, cr.ID, at(3*time.Hour))
		must(t, err)
		want := cr
		want.DeletedAt, want.UpdatedAt = ptr(at(3*time.Hour)), at(3*time.Hour)
		checkCredential(t, "revoked "+string(cr.Kind)+" credential", got, want)
	}
}

// testCredentialFilter checks every CredentialFilter field, alone and
// combined, against Credential.Usable and plain field comparisons.
func testCredentialFilter(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	appA, appB := newApp(t, s), newApp(t, s)
	c1, c2, c3 := newConnector(t, s, appA.ID), newConnector(t, s, appA.ID), newConnector(t, s, appB.ID)
	now := at(time.Hour)

	var all []conncred.Credential
	add := func(c *conncred.Connector, expires *time.Time, revokeAt *time.Time) {
		cr := credential(c)
		cr.ExpiresAt = expires
		must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
		if revokeAt != nil {
			var err error
			cr, err = s.RevokeCredential(ctx, cr.ID, *revokeAt)
			must(t, err)
		}
		all = append(all, cr)
	}
	add(&c1, nil, nil)                                 // live
	add(&c1, ptr(at(2*time.Hour)), nil)                // expires after now
	add(&c1, &now, nil)                                // expires exactly at now: not usable then
	add(&c1, ptr(at(time.Minute)), nil)                // expired before now
	add(&c1, nil, ptr(at(30*time.Minute)))             // revoked before now
	add(&c1, nil, ptr(at(3*time.Hour)))                // revoked after now (still revoked: a store knows no future)
	add(&c2, nil, nil)                                 // live, sibling connector
	add(&c3, ptr(at(48*time.Hour)), nil)               // live, other app
	add(&c3, nil, ptr(at(time.Minute)))                // revoked, other app
	add(nil, nil, nil)                                 // admin, live
	add(nil, ptr(at(30*time.Minute)), nil)             // admin, expired before now
	add(nil, nil, ptr(at(10*time.Minute)))             // admin, revoked
	add(&c1, ptr(at(time.Hour+time.Microsecond)), nil) // expires a microsecond after now

	matches := func(f conncred.CredentialFilter, c conncred.Credential) bool {
		switch {
		case f.Kind != "" && c.Kind != f.Kind,
			f.AppID != "" && c.AppID != f.AppID,
			f.ConnectorID != "" && c.ConnectorID != f.ConnectorID,
			f.UsableAt != nil && !c.Usable(*f.UsableAt),
			f.UnusableAt != nil && c.Usable(*f.UnusableAt),
			!f.IncludeDeleted && f.UnusableAt == nil && c.DeletedAt != nil:
			return false
		}
		return true
	}
	filters := map[string]conncred.CredentialFilter{
		"none":                   {},
		"kind connector":         {Kind: conncred.KindConnector},
		"kind admin":             {Kind: conncred.KindAdmin},
		"app A":                  {AppID: appA.ID},
		"app B":                  {AppID: appB.ID},
		"connector 1":            {ConnectorID: c1.ID},
		"connector 3":            {ConnectorID: c3.ID},
		"app A and connector 2":  {AppID: appA.ID, ConnectorID: c2.ID},
		"app B and connector 1":  {AppID: appB.ID, ConnectorID: c1.ID},
		"kind and connector":     {Kind: conncred.KindConnector, AppID: appA.ID, ConnectorID: c1.ID},
		"unknown connector":      {ConnectorID: c1.ID + "x"},
		"usable now":             {UsableAt: &now},
		"usable at base":         {UsableAt: ptr(base)},
		"usable much later":      {UsableAt: ptr(at(1000 * time.Hour))},
		"connector 1 usable now": {ConnectorID: c1.ID, UsableAt: &now},
		"admins usable now":      {Kind: conncred.KindAdmin, UsableAt: &now},
		"unusable now":           {UnusableAt: &now},
		"unusable at base":       {UnusableAt: ptr(base)},
		"unusable much later":    {UnusableAt: ptr(at(1000 * time.Hour))},
		"connector 1 unusable":   {ConnectorID: c1.ID, UnusableAt: &now},
		"connector 3 unusable":   {Kind: conncred.KindConnector, AppID: appB.ID, ConnectorID: c3.ID, UnusableAt: &now},
		"admins unusable now":    {Kind: conncred.KindAdmin, UnusableAt: &now},
	}
	for name, filter := range filters {
		for _, variant := range []struct{ includeDeleted, descending bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			f := filter
			f.IncludeDeleted, f.Descending = variant.includeDeleted, variant.descending
			name := fmt.Sprintf("%s (IncludeDeleted %v, Descending %v)", name, f.IncludeDeleted, f.Descending)
			var want []string
			for _, c := range all {
				if matches(f, c) {
					want = append(want, c.ID)
				}
			}
			if f.Descending {
				slices.Reverse(want)
			}
			f.Limit = 100
			list, err := s.ListCredentials(ctx, f)
			must(t, err)
			wantIDs(t, "ListCredentials, filter "+name, idsOf(list, credentialID), want)
			for _, got := range list {
				i := slices.IndexFunc(all, func(c conncred.Credential) bool { return c.ID == got.ID })
				if i >= 0 {
					checkCredential(t, "listed credential", got, all[i])
				}
			}
			// CountCredentials ignores After and Limit, and nothing else.
			for _, page := range []conncred.ListOptions{{}, {After: all[len(all)-1].ID, Limit: 1}} {
				f.After, f.Limit = page.After, page.Limit
				n, err := s.CountCredentials(ctx, f)
				must(t, err)
				if n != len(want) {
					t.Errorf("CountCredentials, filter %s, After %q, Limit %d: got %d, want %d", name, f.After, f.Limit, n, len(want))
				}
			}
		}
	}
}
