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
		{conncred.AuditFilter{SourcePrefixes: []string{"::1", "[::1"}, Kind: "token.issued"}, "audit_by_source"},
		{conncred.AuditFilter{Kind: "token.refused", Outcome: "failure"}, "audit_by_kind"},
		{conncred.AuditFilter{Outcome: "failure", Since: day}, "audit_by_outcome"},
	} {
		for _, desc := range []bool{false, true} {
			tc.f.Descending, tc.f.After, tc.f.Limit = desc, "x", 51
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
