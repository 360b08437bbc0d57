package authority

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// TestQueryCredentials: usable and past credentials apart, either order,
// by pages; the same admin and live-connector rules as ListCredentials.
func TestQueryCredentials(t *testing.T) {
	f := newFixture(t, Config{})
	conn := f.connector(t)
	rotate := func(opt CredentialOptions) string {
		t.Helper()
		c, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, opt)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	live1 := rotate(CredentialOptions{})
	expiring := rotate(CredentialOptions{Expires: time.Hour})
	revoked := rotate(CredentialOptions{})
	live2 := rotate(CredentialOptions{Expires: 48 * time.Hour})
	if _, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, revoked); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour) // expiring has expired

	ids := func(q CredentialQuery) []string {
		t.Helper()
		var out []string
		for range 10 {
			cs, next, err := f.a.QueryCredentials(f.admin, conn.AppID, conn.ID, q)
			if err != nil {
				t.Fatalf("QueryCredentials(%+v): %v", q, err)
			}
			for _, c := range cs {
				out = append(out, c.ID)
			}
			if next == "" {
				return out
			}
			q.Page.Token = next
		}
		t.Fatalf("QueryCredentials(%+v): paging did not end", q)
		return nil
	}
	for _, tc := range []struct {
		name string
		q    CredentialQuery
		want []string
	}{
		{"all", CredentialQuery{}, []string{live1, expiring, revoked, live2}},
		{"all, newest first by pages of one", CredentialQuery{Newest: true, Page: PageRequest{Size: 1}}, []string{live2, revoked, expiring, live1}},
		{"usable", CredentialQuery{State: CredentialsUsable}, []string{live1, live2}},
		{"usable, newest first", CredentialQuery{State: CredentialsUsable, Newest: true}, []string{live2, live1}},
		{"past, newest first by pages of one", CredentialQuery{State: CredentialsPast, Newest: true, Page: PageRequest{Size: 1}}, []string{revoked, expiring}},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if got, _, _ := f.a.ListCredentials(f.admin, conn.AppID, conn.ID, PageRequest{}); len(got) != 4 || got[0].ID != live1 {
		t.Errorf("ListCredentials is every credential in creation order: %v", got)
	}

	if _, _, err := f.a.QueryCredentials(f.admin, conn.AppID, conn.ID, CredentialQuery{State: "active"}); conncred.ErrorCode(err) != conncred.EInvalid {
		t.Errorf("an unknown state: %v, want invalid", err)
	}
	connector := conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindConnector, CredentialID: live1})
	if _, _, err := f.a.QueryCredentials(connector, conn.AppID, conn.ID, CredentialQuery{}); conncred.ErrorCode(err) != conncred.EPermissionDenied {
		t.Errorf("a connector's query: %v, want permission denied", err)
	}
	if err := f.a.DeleteConnector(f.admin, conn.AppID, conn.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.QueryCredentials(f.admin, conn.AppID, conn.ID, CredentialQuery{State: CredentialsPast}); conncred.ErrorCode(err) != conncred.ENotFound {
		t.Errorf("a deleted connector's credentials: %v, want not found", err)
	}
}
