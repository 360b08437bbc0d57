package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// TestAuditQueryPlans pins the index each audit filter uses, oldest and
// newest first: a regression to a scan of the whole trail is invisible to
// the tests' small tables.
func TestAuditQueryPlans(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "conncred.db"))
	day := t0.Add(-24 * time.Hour)
	for _, tc := range []struct {
		f    conncred.AuditFilter
		want string
	}{
		{conncred.AuditFilter{CredentialID: "c", ActorPrefix: "system", Outcome: "failure"}, "audit_by_credential"},
		{conncred.AuditFilter{ConnectorID: "c", Kind: "token.refused", Since: day}, "audit_by_connector"},
		{conncred.AuditFilter{ActorPrefix: "brave-falcon", Outcome: "success", Since: day}, "audit_by_actor"},
		{conncred.AuditFilter{Actor: "system", Kind: "token.issued", Since: day}, "audit_by_actor"},
		{conncred.AuditFilter{SourcePrefixes: []string{"::1", "[::1"}, Kind: "token.issued"}, "audit_by_source"},
		{conncred.AuditFilter{Kind: "token.refused", Outcome: "failure"}, "audit_by_kind"},
		{conncred.AuditFilter{Outcome: "failure", Since: day}, "audit_by_outcome"},
	} {
		for _, v := range []struct {
			desc  bool
			after string
		}{{false, ""}, {false, "x"}, {true, ""}, {true, "x"}} {
			tc.f.Descending, tc.f.After, tc.f.Limit = v.desc, v.after, 51
			plan := explainAudit(t, s, tc.f)
			if !strings.Contains(plan, "INDEX "+tc.want+" ") {
				t.Errorf("audit %+v: plan %q, want index %s", tc.f, plan, tc.want)
			}
		}
	}
}

func explainAudit(t *testing.T, s *Store, f conncred.AuditFilter) string {
	t.Helper()
	q, args := auditQuery(f)
	return explain(t, s, q, args...)
}

// TestExactActorPlan: an exact actor's page comes out of its index in
// order, with no sort however many events the actor has.
func TestExactActorPlan(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "conncred.db"))
	// An exact actor's page comes out of its index in order: no sort,
	// however many events it has.
	for _, after := range []string{"", "x"} {
		f := conncred.AuditFilter{Actor: "brave-falcon-40213@127.0.0.1:8443/pcc", Since: t0, Descending: true, After: after, Limit: 51}
		if plan := explainAudit(t, s, f); !strings.Contains(plan, "INDEX audit_by_actor ") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("audit %+v: plan %q, want audit_by_actor in order", f, plan)
		}
	}
}

// TestNewestFirstCredentialPlans: a connector's credentials newest first,
// usable or past, are read from its indexes in order, never sorted: the
// console's connector page asks for both.
func TestNewestFirstCredentialPlans(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "conncred.db"))
	now := t0
	for _, tc := range []struct {
		f    conncred.CredentialFilter
		want string
	}{
		{conncred.CredentialFilter{Kind: conncred.KindConnector, AppID: "a", ConnectorID: "c", UsableAt: &now}, "credentials_live_by_connector"},
		{conncred.CredentialFilter{Kind: conncred.KindConnector, AppID: "a", ConnectorID: "c", UnusableAt: &now}, "credentials_by_connector"},
		{conncred.CredentialFilter{Kind: conncred.KindConnector, AppID: "a", ConnectorID: "c", ListOptions: conncred.ListOptions{IncludeDeleted: true}}, "credentials_by_connector"},
	} {
		for _, after := range []string{"", "x"} {
			tc.f.Descending, tc.f.After, tc.f.Limit = true, after, 51
			q, args := credentialQuery(tc.f)
			plan := explain(t, s, q, args...)
			if !strings.Contains(plan, "INDEX "+tc.want+" ") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("list %+v: plan %q, want index %s in order", tc.f, plan, tc.want)
			}
		}
	}
}
