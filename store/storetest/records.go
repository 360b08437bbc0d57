package storetest

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

func testApps(t *testing.T, open Opener) {
	s := open(t)
	a := newApp(t, s)
	got, err := s.GetApp(ctx, a.ID)
	must(t, err)
	if got.ID != a.ID || got.DisplayName != a.DisplayName || got.Description != a.Description ||
		!got.CreatedAt.Equal(a.CreatedAt) || !got.UpdatedAt.Equal(a.UpdatedAt) || got.DeletedAt != nil {
		t.Fatalf("GetApp: got %+v, want %+v", got, a)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Fatalf("times come back in %v, want UTC", got.CreatedAt.Location())
	}
	wantCode(t, s.CreateApp(ctx, a), conncred.EConflict)

	a.DisplayName, a.Description, a.UpdatedAt = "Okta prod", "", at(time.Minute)
	must(t, s.UpdateApp(ctx, a))
	got, _ = s.GetApp(ctx, a.ID)
	if got.DisplayName != "Okta prod" || got.Description != "" || !got.UpdatedAt.Equal(at(time.Minute)) {
		t.Fatalf("after UpdateApp: %+v", got)
	}

	unknown := ksuid.New(base)
	_, err = s.GetApp(ctx, unknown)
	wantCode(t, err, conncred.ENotFound)
	wantCode(t, s.UpdateApp(ctx, conncred.App{ID: unknown, DisplayName: "x", UpdatedAt: base}), conncred.ENotFound)
	wantCode(t, s.DeleteApp(ctx, unknown, base), conncred.ENotFound)

	must(t, s.DeleteApp(ctx, a.ID, at(time.Hour)))
	must(t, s.DeleteApp(ctx, a.ID, at(2*time.Hour)))
	got, err = s.GetApp(ctx, a.ID)
	must(t, err)
	if !sameTime(got.DeletedAt, ptr(at(time.Hour))) {
		t.Fatalf("DeletedAt after two deletes: %v, want the first", got.DeletedAt)
	}
	wantCode(t, s.UpdateApp(ctx, a), conncred.ENotFound)
}

func testConnectors(t *testing.T, open Opener) {
	s := open(t)
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	got, err := s.GetConnector(ctx, c.ID)
	must(t, err)
	if got.AppID != a.ID || got.CatalogID != c.CatalogID || got.DisplayName != "Baton" || !reflect.DeepEqual(got.UserIDs, c.UserIDs) {
		t.Fatalf("GetConnector: got %+v, want %+v", got, c)
	}
	// A connector under an unknown app is refused.
	orphan := conncred.Connector{ID: ksuid.New(base), AppID: ksuid.New(base), DisplayName: "x", CreatedAt: base, UpdatedAt: base}
	wantCode(t, s.CreateConnector(ctx, orphan), conncred.ENotFound)

	c.UserIDs, c.Description, c.UpdatedAt = nil, "synced hourly", at(time.Minute)
	must(t, s.UpdateConnector(ctx, c))
	got, _ = s.GetConnector(ctx, c.ID)
	if len(got.UserIDs) != 0 || got.Description != "synced hourly" {
		t.Fatalf("after UpdateConnector: %+v", got)
	}
	other := newConnector(t, s, newApp(t, s).ID)
	list, err := s.ListConnectors(ctx, a.ID, conncred.ListOptions{Limit: 10})
	must(t, err)
	if len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("ListConnectors of one app: %+v (other app's %s must not appear)", list, other.ID)
	}
	_, err = s.GetConnector(ctx, ksuid.New(base))
	wantCode(t, err, conncred.ENotFound)
	wantCode(t, s.DeleteConnector(ctx, ksuid.New(base), base), conncred.ENotFound)
	must(t, s.DeleteConnector(ctx, c.ID, at(time.Hour)))
	list, _ = s.ListConnectors(ctx, a.ID, conncred.ListOptions{Limit: 10})
	if len(list) != 0 {
		t.Fatalf("deleted connector listed: %+v", list)
	}
	list, _ = s.ListConnectors(ctx, a.ID, conncred.ListOptions{Limit: 10, IncludeDeleted: true})
	if len(list) != 1 || !sameTime(list[0].DeletedAt, ptr(at(time.Hour))) {
		t.Fatalf("IncludeDeleted: %+v", list)
	}
}

func testCredentials(t *testing.T, open Opener) {
	s := open(t)
	c := newConnector(t, s, newApp(t, s).ID)
	cr := credential(conncred.KindConnector, c.AppID, c.ID)
	cr.ExpiresAt = ptr(at(24 * time.Hour))
	must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	for name, get := range map[string]func() (conncred.Credential, error){
		"by id":        func() (conncred.Credential, error) { return s.GetCredential(ctx, cr.ID) },
		"by client id": func() (conncred.Credential, error) { return s.GetCredentialByClientID(ctx, cr.ClientID) },
	} {
		got, err := get()
		must(t, err)
		if got.ID != cr.ID || got.Kind != cr.Kind || got.AppID != cr.AppID || got.ConnectorID != cr.ConnectorID ||
			got.ClientID != cr.ClientID || got.DisplayName != cr.DisplayName || !bytes.Equal(got.PublicKey, cr.PublicKey) ||
			got.Thumbprint != cr.Thumbprint || !got.CreatedAt.Equal(cr.CreatedAt) || !sameTime(got.ExpiresAt, cr.ExpiresAt) ||
			got.DeletedAt != nil || got.LastUsedAt != nil {
			t.Fatalf("%s: got %+v, want %+v", name, got, cr)
		}
	}
	admin := credential(conncred.KindAdmin, "", "")
	must(t, s.CreateCredential(ctx, admin, conncred.ActiveLimit{MaxActive: 1, Now: base}))
	got, err := s.GetCredential(ctx, admin.ID)
	must(t, err)
	if got.Kind != conncred.KindAdmin || got.AppID != "" || got.ConnectorID != "" {
		t.Fatalf("admin credential: %+v", got)
	}

	dup := credential(conncred.KindConnector, c.AppID, c.ID)
	dup.ClientID = cr.ClientID
	wantCode(t, s.CreateCredential(ctx, dup, conncred.ActiveLimit{}), conncred.EConflict)
	_, err = s.GetCredential(ctx, ksuid.New(base))
	wantCode(t, err, conncred.ENotFound)
	_, err = s.GetCredentialByClientID(ctx, "nobody@127.0.0.1:8443/ccc")
	wantCode(t, err, conncred.ENotFound)
	_, err = s.RevokeCredential(ctx, ksuid.New(base), base)
	wantCode(t, err, conncred.ENotFound)

	// Filters.
	n, err := s.CountCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindAdmin})
	must(t, err)
	if n != 1 {
		t.Fatalf("count admins: %d", n)
	}
	list, err := s.ListCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID, ListOptions: conncred.ListOptions{Limit: 10}})
	must(t, err)
	if len(list) != 1 || list[0].ID != cr.ID {
		t.Fatalf("list by connector: %+v", list)
	}
	for _, tc := range []struct {
		at   time.Time
		want int
	}{{at(time.Hour), 1}, {at(24 * time.Hour), 0}} {
		n, err := s.CountCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID, UsableAt: &tc.at})
		must(t, err)
		if n != tc.want {
			t.Fatalf("usable at %v: %d, want %d", tc.at, n, tc.want)
		}
	}

	// Revoke keeps the first time and reports the stored record.
	r1, err := s.RevokeCredential(ctx, cr.ID, at(time.Hour))
	must(t, err)
	r2, err := s.RevokeCredential(ctx, cr.ID, at(2*time.Hour))
	must(t, err)
	if !sameTime(r1.DeletedAt, ptr(at(time.Hour))) || !sameTime(r2.DeletedAt, ptr(at(time.Hour))) {
		t.Fatalf("revoke twice: %v then %v, want %v both times", r1.DeletedAt, r2.DeletedAt, at(time.Hour))
	}
	list, _ = s.ListCredentials(ctx, conncred.CredentialFilter{ConnectorID: c.ID, ListOptions: conncred.ListOptions{Limit: 10}})
	if len(list) != 0 {
		t.Fatalf("revoked credential listed without IncludeDeleted: %+v", list)
	}
	list, _ = s.ListCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindConnector, ListOptions: conncred.ListOptions{Limit: 10, IncludeDeleted: true}})
	if len(list) != 1 || list[0].DeletedAt == nil {
		t.Fatalf("IncludeDeleted: %+v", list)
	}
}

func testActiveLimit(t *testing.T, open Opener) {
	s := open(t)
	c := newConnector(t, s, newApp(t, s).ID)
	limit := conncred.ActiveLimit{MaxActive: 3, Now: at(time.Hour)}
	expired := credential(conncred.KindConnector, c.AppID, c.ID)
	expired.ExpiresAt = ptr(at(time.Minute))
	must(t, s.CreateCredential(ctx, expired, limit))
	var ids []string
	for i := 0; i < 3; i++ {
		cr := credential(conncred.KindConnector, c.AppID, c.ID)
		must(t, s.CreateCredential(ctx, cr, limit))
		ids = append(ids, cr.ID)
	}
	wantCode(t, s.CreateCredential(ctx, credential(conncred.KindConnector, c.AppID, c.ID), limit), conncred.EConflict)
	_, err := s.RevokeCredential(ctx, ids[0], at(time.Hour))
	must(t, err)
	must(t, s.CreateCredential(ctx, credential(conncred.KindConnector, c.AppID, c.ID), limit))
	// No cap when MaxActive is 0.
	must(t, s.CreateCredential(ctx, credential(conncred.KindConnector, c.AppID, c.ID), conncred.ActiveLimit{}))

	// Missing or deleted connectors refuse new credentials.
	wantCode(t, s.CreateCredential(ctx, credential(conncred.KindConnector, c.AppID, ksuid.New(base)), limit), conncred.ENotFound)
	must(t, s.DeleteConnector(ctx, c.ID, at(2*time.Hour)))
	wantCode(t, s.CreateCredential(ctx, credential(conncred.KindConnector, c.AppID, c.ID), conncred.ActiveLimit{}), conncred.ENotFound)
}

func testCascade(t *testing.T, open Opener) {
	s := open(t)
	a := newApp(t, s)
	c1, c2 := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	early := newCredential(t, s, c1)
	_, err := s.RevokeCredential(ctx, early.ID, at(time.Minute))
	must(t, err)
	live1, live2 := newCredential(t, s, c1), newCredential(t, s, c2)
	bystander := newCredential(t, s, newConnector(t, s, newApp(t, s).ID))

	must(t, s.DeleteConnector(ctx, c1.ID, at(time.Hour)))
	got, _ := s.GetCredential(ctx, live1.ID)
	if !sameTime(got.DeletedAt, ptr(at(time.Hour))) {
		t.Fatalf("DeleteConnector did not revoke its credential: %v", got.DeletedAt)
	}
	got, _ = s.GetCredential(ctx, early.ID)
	if !sameTime(got.DeletedAt, ptr(at(time.Minute))) {
		t.Fatalf("DeleteConnector moved an earlier revocation: %v", got.DeletedAt)
	}
	must(t, s.DeleteApp(ctx, a.ID, at(2*time.Hour)))
	for id, want := range map[string]*time.Time{live1.ID: ptr(at(time.Hour)), live2.ID: ptr(at(2 * time.Hour)), bystander.ID: nil} {
		got, _ := s.GetCredential(ctx, id)
		if !sameTime(got.DeletedAt, want) {
			t.Fatalf("credential %s after DeleteApp: DeletedAt %v, want %v", id, got.DeletedAt, want)
		}
	}
	conn, _ := s.GetConnector(ctx, c2.ID)
	if !sameTime(conn.DeletedAt, ptr(at(2*time.Hour))) {
		t.Fatalf("DeleteApp did not delete its connector: %v", conn.DeletedAt)
	}
}
