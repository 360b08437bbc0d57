package authority

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// TestAuditQueryFilters: actor, source and outcome are filters of the
// query (so of the store), a source finds both stored forms of an IPv6
// address, Newest pages newest first, and a bad filter is a 400 that says
// what to send.
func TestAuditQueryFilters(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	const alice, bob = "brave-falcon-40213@127.0.0.1:8443/pcc", "quiet-otter-7@127.0.0.1:8443/pcc"
	record := func(kind, actor, source, outcome string) {
		f.clock.Advance(time.Second)
		f.a.RecordAudit(ctx, conncred.AuditEvent{Kind: kind, Actor: actor, Source: source, Outcome: outcome})
	}
	record("app.created", alice, "[::1]:5000", "success")
	record("token.issued", alice, "[::1]:6000", "success") // counted: stored with source "::1"
	record("credential.revoked", bob, "10.1.2.3:443", "unchanged")
	record("token.refused", "system", "10.10.0.1:80", "failure")
	record("app.deleted", bob, "", "failure")
	f.a.audit.flushAll(ctx, f.clock.Now())

	list := func(q AuditQuery) []string {
		t.Helper()
		events, _, err := f.a.ListAudit(f.admin, q)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", q, err)
		}
		var kinds []string
		for _, e := range events {
			kinds = append(kinds, e.Kind)
		}
		return kinds
	}
	for _, tc := range []struct {
		name string
		q    AuditQuery
		want []string
	}{
		{"actor, whole", AuditQuery{Actor: bob}, []string{"credential.revoked", "app.deleted"}},
		{"actor, beginning", AuditQuery{Actor: "brave-"}, []string{"app.created", "token.issued"}},
		{"actor, a whole id is not a beginning", AuditQuery{Actor: "brave-falcon-4021@127.0.0.1:8443/pcc"}, nil},
		{"actor system", AuditQuery{Actor: "system", Newest: true}, []string{"token.refused"}},
		{"actor is a beginning, not a part", AuditQuery{Actor: "falcon"}, nil},
		{"outcome", AuditQuery{Outcome: "failure"}, []string{"token.refused", "app.deleted"}},
		{"outcome unchanged", AuditQuery{Outcome: OutcomeUnchanged}, []string{"credential.revoked"}},
		{"IPv6 without brackets", AuditQuery{Source: "::1"}, []string{"app.created", "token.issued"}},
		{"IPv6 with a bracket", AuditQuery{Source: "[::1"}, []string{"app.created", "token.issued"}},
		{"IPv6 in brackets", AuditQuery{Source: "[::1]"}, []string{"app.created", "token.issued"}},
		{"IPv6 with a port", AuditQuery{Source: "[::1]:5000"}, []string{"app.created"}},
		{"IPv4 beginning", AuditQuery{Source: "10.1."}, []string{"credential.revoked"}},
		{"IPv4 with a port", AuditQuery{Source: "10.1.2.3:443"}, []string{"credential.revoked"}},
		{"a counted event by its address", AuditQuery{Source: "10.10.0.1"}, []string{"token.refused"}},
		{"a counted event keeps no port", AuditQuery{Source: "10.10.0.1:80"}, nil},
		{"actor and outcome", AuditQuery{Actor: bob, Outcome: "failure"}, []string{"app.deleted"}},
		{"newest first", AuditQuery{Actor: "brave-", Newest: true}, []string{"token.issued", "app.created"}},
	} {
		if got := list(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// Newest first by pages of one: every event once, in reverse.
	oldest := list(AuditQuery{})
	var newest []string
	q := AuditQuery{Newest: true, Page: PageRequest{Size: 1}}
	for range 20 {
		events, next, err := f.a.ListAudit(f.admin, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			newest = append(newest, e.Kind)
		}
		if next == "" {
			break
		}
		q.Page.Token = next
	}
	slices.Reverse(newest)
	if len(oldest) != 5 || !slices.Equal(newest, oldest) {
		t.Errorf("newest first by pages of one, reversed: %v; oldest first: %v", newest, oldest)
	}

	for _, tc := range []struct {
		q    AuditQuery
		want string
	}{
		{AuditQuery{Outcome: "ok"}, "outcome must be one of success, failure, unchanged"},
		{AuditQuery{Actor: "\xff"}, "actor must be UTF-8 text"},
		{AuditQuery{Source: strings.Repeat("1", maxAuditPrefix+1)}, "source must be UTF-8 text of at most 512 bytes"},
		{AuditQuery{Since: t0, Until: t0}, "until must be after since"},
	} {
		_, _, err := f.a.ListAudit(f.admin, tc.q)
		if conncred.ErrorCode(err) != conncred.EInvalid || !strings.Contains(conncred.ErrorMessage(err), tc.want) {
			t.Errorf("ListAudit(%+v): %v, want invalid: %q", tc.q, err, tc.want)
		}
	}
	connector := conncred.WithPrincipal(ctx, &conncred.Principal{Kind: conncred.KindConnector, CredentialID: "c"})
	if _, _, err := f.a.ListAudit(connector, AuditQuery{Actor: alice}); conncred.ErrorCode(err) != conncred.EPermissionDenied {
		t.Errorf("a connector's ListAudit: %v, want permission denied", err)
	}
}

func TestSourcePrefixes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"10.1.", []string{"10.1."}},
		{"::1", []string{"::1", "[::1"}},
		{"fe80:", []string{"fe80:", "[fe80:"}},
		{"[::1", []string{"[::1", "::1"}},
		{"[::1]", []string{"[::1]", "::1"}},
		{"[::1]:53211", []string{"[::1]:53211"}},
		{"[", []string{"["}},
	} {
		if got := sourcePrefixes(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("sourcePrefixes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWholeActor(t *testing.T) {
	for in, want := range map[string]bool{
		"system": true, "sys": false, "": false,
		"brave-falcon-40213@127.0.0.1:8443/pcc": true, "brave-falcon-40213@127.0.0.1:8443/ccc": true, "brave-falcon-40213@127.0.0.1:8443/wfe": true,
		"brave-falcon-40213@127.0.0.1:8443/pc": false, "brave-falcon-40213@127.0.0.1:8443/": false, "brave-falcon-40213@127.0.0.1": false,
		"brave-falcon": false, "(overflow)": false,
	} {
		if got := wholeActor(in); got != want {
			t.Errorf("wholeActor(%q) = %v, want %v", in, got, want)
		}
	}
}
