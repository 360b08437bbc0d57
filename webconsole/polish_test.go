package webconsole

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
)

var mustRegexp = regexp.MustCompile

// order returns the positions of wants in body, failing on a missing one.
func order(t *testing.T, what, body string, wants ...string) []int {
	t.Helper()
	var at []int
	for _, w := range wants {
		i := strings.Index(body, w)
		if i < 0 {
			t.Fatalf("%s does not show %q", what, w)
		}
		at = append(at, i)
	}
	return at
}

// section is the part of a page from the heading or caption start to end.
func section(t *testing.T, body, start, end string) string {
	t.Helper()
	i := strings.Index(body, start)
	if i < 0 {
		t.Fatalf("the page has no %q", start)
	}
	body = body[i:]
	if j := strings.Index(body, end); j >= 0 {
		body = body[:j]
	}
	return body
}

// TestConnectorShowsUsableFirst: a connector with more past credentials
// than a page shows its usable ones (newest first) on page one, and pages
// through the past ones, newest first, keeping the usable list.
func TestConnectorShowsUsableFirst(t *testing.T) {
	e := newEnv(t)
	app, cn := e.setup("Okta", "okta sync")
	ctx := e.adminCtx()
	rotate := func(name string, expires time.Duration) conncred.Credential {
		t.Helper()
		cr, _, err := e.auth.RotateCredential(ctx, app.ID, cn.ID, authority.CredentialOptions{DisplayName: name, Expires: expires})
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}
	oldest := rotate("oldest-live", 0)
	var past []string
	for i := range pastPageSize + 5 {
		cr := rotate("gone-"+strings.Repeat("x", i%3)+string(rune('a'+i)), 0)
		if _, err := e.auth.RevokeCredential(ctx, app.ID, cn.ID, cr.ID); err != nil {
			t.Fatal(err)
		}
		past = append(past, cr.ID)
	}
	expired := rotate("short-lived", time.Hour)
	past = append(past, expired.ID)
	newest := rotate("newest-live", 0)
	e.clock.Advance(2 * time.Hour)
	slices.Reverse(past) // newest first

	c := e.client()
	e.signIn(c)
	r := e.get(c, connectorPath(app.ID, cn.ID))
	if r.StatusCode != 200 {
		t.Fatalf("connector page: %d", r.StatusCode)
	}
	usable := section(t, r.Body, "Usable credentials, newest first", "</table>")
	if at := order(t, "the usable list", usable, newest.ID, oldest.ID); at[0] > at[1] {
		t.Error("the usable list is not newest first")
	}
	pastList := section(t, r.Body, "Revoked and expired credentials, newest first", "</table>")
	if at := order(t, "the past list", pastList, past[0], past[1], past[pastPageSize-1]); !slices.IsSorted(at) {
		t.Error("the past list is not newest first")
	}
	if strings.Contains(pastList, past[pastPageSize]) || strings.Contains(pastList, oldest.ID) || strings.Contains(usable, past[0]) {
		t.Error("a list holds a credential it should not")
	}
	mustContain(t, "the past list", pastList, "state-expired", "state-revoked", "Revoke short-lived")
	// The next page of past credentials keeps the usable ones.
	next := regexpFind(t, r.Body, `href="([^"]*past_page=[^"]*)" rel="next"`)
	r = e.get(c, html.UnescapeString(next))
	usable = section(t, r.Body, "Usable credentials, newest first", "</table>")
	pastList = section(t, r.Body, "Revoked and expired credentials, newest first", "</table>")
	order(t, "the usable list on the second page", usable, newest.ID, oldest.ID)
	order(t, "the second page of past credentials", pastList, past[pastPageSize:]...)
	if strings.Contains(pastList, past[pastPageSize-1]) || strings.Contains(r.Body, `past_page=`) {
		t.Error("the second page of past credentials repeats the first, or offers a third")
	}
	// A connector whose credentials are all past says so.
	for _, cr := range []conncred.Credential{oldest, newest} {
		if _, err := e.auth.RevokeCredential(ctx, app.ID, cn.ID, cr.ID); err != nil {
			t.Fatal(err)
		}
	}
	mustContain(t, "a connector without usable credentials", e.get(c, connectorPath(app.ID, cn.ID)).Body, "No usable credential", "Rotate to make a new one")
	// The delete confirmation counts usable credentials only.
	rotate("again", 0)
	mustContain(t, "the delete confirmation", e.get(c, connectorPath(app.ID, cn.ID)+"/delete").Body, "<strong>1</strong> active credential:")
}

func regexpFind(t *testing.T, body, expr string) string {
	t.Helper()
	m := mustRegexp(expr).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page has nothing like %s", expr)
	}
	return m[1]
}

// TestAuditFiltersAreTheStores: the audit page filters by actor, outcome
// and source through the authority (so the store), newest first unless
// asked otherwise, and says what to fix in a bad filter.
func TestAuditFiltersAreTheStores(t *testing.T) {
	e := newEnv(t)
	record := func(kind, actor, source, outcome string) {
		e.clock.Advance(time.Second)
		e.auth.RecordAudit(context.Background(), conncred.AuditEvent{Kind: kind, Actor: actor, Source: source, Outcome: outcome, Reason: "mark-" + kind})
	}
	record("app.created", "brave-falcon-1@127.0.0.1:8443/pcc", "[::1]:5000", "success")
	record("credential.revoked", "brave-falcon-1@127.0.0.1:8443/pcc", "10.1.2.3:443", "unchanged")
	record("app.deleted", "quiet-otter-2@127.0.0.1:8443/pcc", "10.10.0.1:80", "failure")
	record("policy.changed", "system", "", "success")
	c := e.client()
	e.signIn(c)
	marks := func(q string) []string {
		t.Helper()
		r := e.get(c, "/console/audit?"+q)
		if r.StatusCode != 200 {
			t.Fatalf("audit?%s: %d", q, r.StatusCode)
		}
		var out []string
		for _, m := range mustRegexp(`mark-([a-z.]+)`).FindAllStringSubmatch(r.Body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"range=all", []string{"policy.changed", "app.deleted", "credential.revoked", "app.created"}},
		{"range=all&order=oldest", []string{"app.created", "credential.revoked", "app.deleted", "policy.changed"}},
		{"range=all&actor=brave-falcon", []string{"credential.revoked", "app.created"}},
		{"range=all&actor=falcon", nil},
		{"range=all&outcome=failure", []string{"app.deleted"}},
		{"range=all&source=::1", []string{"app.created"}},
		{"range=all&source=10.1.", []string{"credential.revoked"}},
		{"range=all&actor=brave&outcome=success&source=%5B", []string{"app.created"}},
		{"range=1h&actor=system", []string{"policy.changed"}},
	} {
		if got := marks(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("audit?%s: got %v, want %v", tc.query, got, tc.want)
		}
	}
	// An actor's cell links to the same filter for that actor alone.
	r := e.get(c, "/console/audit?range=7d&kind=app.created")
	link := html.UnescapeString(regexpFind(t, r.Body, `<a href="([^"]*)" title="Only this actor's events">`))
	if u, err := url.Parse(link); err != nil || u.Query().Get("actor") != "brave-falcon-1@127.0.0.1:8443/pcc" || u.Query().Get("range") != "7d" || u.Query().Get("kind") != "app.created" {
		t.Errorf("the actor link is %q", link)
	}
	if got := marks(strings.TrimPrefix(link, "/console/audit?")); !slices.Equal(got, []string{"app.created"}) {
		t.Errorf("the actor link shows %v", got)
	}
	for q, want := range map[string]string{
		"outcome=ok":      "Fix the filter: outcome must be one of success, failure, unchanged",
		"order=sideways":  "Choose an order from the list.",
		"actor=" + "%FF":  "Fix the filter: actor must be UTF-8 text",
		"range=fortnight": "Choose a time range from the list.",
	} {
		r := e.get(c, "/console/audit?"+q)
		if r.StatusCode != 400 || !strings.Contains(html.UnescapeString(r.Body), want) {
			t.Errorf("audit?%s: %d, want 400 saying %q", q, r.StatusCode, want)
		}
	}
}

// TestEditForms drives the edits the API offers and the console did not:
// a trust, a personal client's name and source networks, a connector
// credential's source networks. Each goes through the wing's service and
// says what to fix without changing anything.
func TestEditForms(t *testing.T) {
	e := newEnv(t)
	s := seed(t, e)
	c := e.client()
	e.signIn(c)
	ctx := e.adminCtx()
	expect := func(name string, r response, status int, wants ...string) {
		t.Helper()
		if r.StatusCode != status {
			t.Errorf("%s: %d, want %d", name, r.StatusCode, status)
		}
		for _, w := range wants {
			if !strings.Contains(html.UnescapeString(r.Body)+r.Header.Get("Location"), w) {
				t.Errorf("%s: no %q", name, w)
			}
		}
	}

	// A trust.
	tp := "/console/trusts/" + s.trust.ID
	expect("trust page", e.get(c, tp), 200, s.trust.ClientID, `value="ci"`, `claims.sub == "repo:acme/sync:ref:refs/heads/main"`, "a connector")
	expect("trusts list links it", e.get(c, "/console/trusts"), 200, `href="`+tp+`"`)
	bad := url.Values{"name": {"ci"}, "issuer": {s.trust.Issuer}, "condition": {"claims.sub =="}}
	expect("trust with a broken condition", e.post(c, tp, bad), 400, "The trust was not saved", `value="claims.sub =="`)
	if got, _ := e.console.cfg.Federation.GetTrust(ctx, s.trust.ID); got.Condition != s.trust.Condition {
		t.Errorf("a refused edit changed the condition to %q", got.Condition)
	}
	expect("trust with a bad lifetime", e.post(c, tp, url.Values{"issuer": {s.trust.Issuer}, "condition": {"true"}, "max_lifetime": {"soon"}}), 400, "15m or 1h")
	edit := url.Values{"name": {"ci-main"}, "issuer": {s.trust.Issuer}, "audiences": {"https://a.example, https://b.example"},
		"condition": {`claims.sub.startsWith("repo:acme/")`}, "max_lifetime": {"15m"}, "require_dpop": {"on"}}
	expect("trust edit", e.post(c, tp, edit), 303, tp+"?done=trust-saved")
	got, err := e.console.cfg.Federation.GetTrust(ctx, s.trust.ID)
	if err != nil || got.DisplayName != "ci-main" || got.Condition != `claims.sub.startsWith("repo:acme/")` || !slices.Equal(got.Audiences, []string{"https://a.example", "https://b.example"}) ||
		got.MaxTokenLifetime != 15*time.Minute || !got.RequireDPoP || got.Role != federation.RoleConnector || got.ConnectorID != s.conn.ID {
		t.Errorf("the trust after the edit: %+v %v", got, err)
	}
	expect("trust page after the edit", e.get(c, tp+"?done=trust-saved"), 200, "Trust saved.", `value="15m0s"`, "checked")
	expect("unknown trust", e.get(c, "/console/trusts/2HErg7BRmNdHgX8sTCWVq4E1fyh"), 404)

	// A personal client.
	pp := "/console/personal-clients/" + s.personal.ID
	expect("personal page", e.get(c, pp), 200, s.personal.ClientID, `value="ops"`, "no limit of its own")
	expect("personal list links it", e.get(c, "/console/personal-clients"), 200, `href="`+pp+`"`)
	expect("personal, bad network", e.post(c, pp, url.Values{"name": {"ops2"}, "sources": {"10.0.0.0/33"}}), 400, "The personal client was not saved", `value="10.0.0.0/33"`)
	if cl, _ := e.console.cfg.Personal.Get(ctx, s.personal.ID); cl.DisplayName != "ops" || len(cl.AllowSourceCIDR) != 0 {
		t.Errorf("a refused edit changed the client: %+v", cl)
	}
	expect("personal edit", e.post(c, pp, url.Values{"name": {"ops-eu"}, "sources": {"10.0.0.0/8, 192.0.2.7"}}), 303, pp+"?done=personal-saved")
	cl, err := e.console.cfg.Personal.Get(ctx, s.personal.ID)
	if err != nil || cl.DisplayName != "ops-eu" || !slices.Equal(cl.AllowSourceCIDR, []string{"10.0.0.0/8", "192.0.2.7/32"}) {
		t.Errorf("the personal client after the edit: %+v %v", cl, err)
	}
	expect("personal list shows the networks", e.get(c, "/console/personal-clients"), 200, "10.0.0.0/8, 192.0.2.7/32")
	expect("personal, empty name keeps it, empty networks clear them", e.post(c, pp, url.Values{"name": {""}, "sources": {""}}), 303, "personal-saved")
	if cl, _ := e.console.cfg.Personal.Get(ctx, s.personal.ID); cl.DisplayName != "ops-eu" || len(cl.AllowSourceCIDR) != 0 {
		t.Errorf("after clearing the networks: %+v", cl)
	}
	if err := e.console.cfg.Personal.Delete(ctx, s.personal.ID); err != nil {
		t.Fatal(err)
	}
	expect("revoked personal client", e.get(c, pp), 200, "nothing left to change")
	expect("edit a revoked personal client", e.post(c, pp, url.Values{"name": {"again"}}), 400, "is revoked")

	// A connector credential's source networks.
	cp := credentialPath(s.app.ID, s.conn.ID, s.cred.ID)
	expect("credential page", e.get(c, cp), 200, "no limit of its own", `action="`+cp+`/sources"`)
	expect("credential, bad network", e.post(c, cp+"/sources", url.Values{"sources": {"not-a-net"}}), 400, "The source networks were not saved", `value="not-a-net"`)
	expect("credential networks", e.post(c, cp+"/sources", url.Values{"sources": {"10.1.0.0/16"}}), 303, cp+"?done=sources-saved")
	if nets, err := e.console.cfg.Lifecycle.CredentialSourceLimit(ctx, s.app.ID, s.conn.ID, s.cred.ID); err != nil || !slices.Equal(nets, []string{"10.1.0.0/16"}) {
		t.Errorf("the credential's networks: %v %v", nets, err)
	}
	expect("credential page after", e.get(c, cp+"?done=sources-saved"), 200, "Source networks saved.", `value="10.1.0.0/16"`)
	expect("credential networks cleared", e.post(c, cp+"/sources", url.Values{"sources": {""}}), 303, "sources-saved")
	if nets, _ := e.console.cfg.Lifecycle.CredentialSourceLimit(ctx, s.app.ID, s.conn.ID, s.cred.ID); len(nets) != 0 {
		t.Errorf("the credential's networks after clearing: %v", nets)
	}
	rp := credentialPath(s.app.ID, s.conn.ID, s.revoked.ID)
	if strings.Contains(e.get(c, rp).Body, "/sources") {
		t.Error("a revoked credential offers its source networks form")
	}
	expect("a revoked credential's networks", e.post(c, rp+"/sources", url.Values{"sources": {"10.0.0.0/8"}}), 400, "is revoked")

	// The audit trail has each change, by the admin.
	for _, kind := range []string{"trust.updated", "credential.source_limit_changed"} {
		expect("audit of "+kind, e.get(c, "/console/audit?range=all&kind="+kind), 200, kind, e.admin.ClientID)
	}
}

// TestAccessLogNamesTheSession: a console request's access log line
// carries the client id of the admin credential its session acts as.
func TestAccessLogNamesTheSession(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	if r := e.get(c, "/console/apps"); r.StatusCode != 200 {
		t.Fatalf("apps: %d", r.StatusCode)
	}
	e.get(e.client(), "/console/apps") // signed out: redirected, no client id
	var signedIn, signedOut int
	for _, line := range strings.Split(e.log.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "request" || m["route"] != "GET /console/apps" {
			continue
		}
		switch m["client_id"] {
		case e.admin.ClientID:
			signedIn++
		case "":
			signedOut++
		default:
			t.Errorf("access log line names %v", m["client_id"])
		}
	}
	if signedIn != 1 || signedOut != 1 {
		t.Errorf("access log: %d signed-in and %d signed-out lines for GET /console/apps, want 1 and 1:\n%s", signedIn, signedOut, e.log.String())
	}
}
