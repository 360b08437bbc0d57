package server

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

// TestAuditFiltersAndOrder: GET /api/v1/audit passes actor, outcome,
// source and order to the authority (the store filters), and a bad value
// is a 400 that says what to send.
func TestAuditFiltersAndOrder(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	ctx := conncred.WithSource(context.Background(), "10.1.2.3:5000")
	e.auth.RecordAudit(ctx, conncred.AuditEvent{Kind: "policy.changed", Actor: "system", Outcome: "failure"})
	e.auth.Flush(context.Background())

	list := func(query url.Values) []apitype.AuditEvent {
		t.Helper()
		var out apitype.ListAuditResponse
		st, b := e.do("GET", apitype.PathAudit+"?"+query.Encode(), map[string]string{"Authorization": "Bearer " + e.admin}, "")
		if st != 200 {
			t.Fatalf("audit %s: %d %s", query.Encode(), st, b)
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out.List
	}
	kinds := func(events []apitype.AuditEvent) []string {
		var out []string
		for _, ev := range events {
			if !strings.HasPrefix(ev.Kind, "token.") { // the admin's own exchanges, counted per minute
				out = append(out, ev.Kind)
			}
		}
		return out
	}
	if got := kinds(list(url.Values{"outcome": {"failure"}})); !slices.Equal(got, []string{"policy.changed"}) {
		t.Errorf("outcome=failure: %v", got)
	}
	if got := kinds(list(url.Values{"source": {"10.1."}})); !slices.Equal(got, []string{"policy.changed"}) {
		t.Errorf("source=10.1.: %v", got)
	}
	// The bootstrap admin is made by the system too.
	if got := kinds(list(url.Values{"actor": {"sys"}})); !slices.Equal(got, []string{"admin.created", "policy.changed"}) {
		t.Errorf("actor=sys: %v", got)
	}
	admin := list(url.Values{"kind": {"app.created"}})
	if len(admin) != 1 || admin[0].AppID != appID {
		t.Fatalf("app.created: %+v", admin)
	}
	byAdmin := url.Values{"actor": {admin[0].Actor}, "outcome": {"success"}}
	if got := kinds(list(byAdmin)); !slices.Equal(got, []string{"app.created", "connector.created"}) {
		t.Errorf("the admin's successes, oldest first: %v", got)
	}
	byAdmin.Set("order", "newest")
	newest := list(byAdmin)
	if got := kinds(newest); !slices.Equal(got, []string{"connector.created", "app.created"}) || newest[0].ConnectorID != connID {
		t.Errorf("the admin's successes, newest first: %v", got)
	}
	for _, tc := range []struct{ query, want string }{
		{"order=sideways", "order must be oldest (the default) or newest"},
		{"outcome=ok", "outcome must be one of success, failure, unchanged"},
		{"actor=%FF", "actor must be UTF-8 text"},
	} {
		st, m := e.api("GET", apitype.PathAudit+"?"+tc.query, e.admin, nil)
		if msg, _ := m["message"].(string); st != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("audit?%s: %d %v, want 400 saying %q", tc.query, st, m, tc.want)
		}
	}
}
