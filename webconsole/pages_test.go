package webconsole

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/webhook"
)

// seeded is a server with a record of every kind a page shows.
type seeded struct {
	app      conncred.App
	conn     conncred.Connector
	cred     conncred.Credential
	revoked  conncred.Credential
	trust    federation.Trust
	endpoint webhook.Endpoint
	personal personal.Client
}

func seed(t *testing.T, e *env) seeded {
	t.Helper()
	ctx := e.adminCtx()
	var s seeded
	s.app, s.conn = e.setup("Okta", "okta sync")
	var err error
	if s.cred, _, err = e.auth.RotateCredential(ctx, s.app.ID, s.conn.ID, authority.CredentialOptions{DisplayName: "prod", Expires: 5 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if s.revoked, _, err = e.auth.RotateCredential(ctx, s.app.ID, s.conn.ID, authority.CredentialOptions{DisplayName: "old"}); err != nil {
		t.Fatal(err)
	}
	if _, err = e.auth.RevokeCredential(ctx, s.app.ID, s.conn.ID, s.revoked.ID); err != nil {
		t.Fatal(err)
	}
	if _, err = e.baton.ForceSync(ctx, s.app.ID, s.conn.ID); err != nil {
		t.Fatal(err)
	}
	if s.trust, err = e.console.cfg.Federation.CreateTrust(ctx, federation.TrustInput{DisplayName: "ci", Issuer: "https://token.actions.githubusercontent.com",
		Condition: `claims.sub == "repo:acme/sync:ref:refs/heads/main"`, Role: federation.RoleConnector, AppID: s.app.ID, ConnectorID: s.conn.ID}); err != nil {
		t.Fatal(err)
	}
	if s.endpoint, _, err = e.console.cfg.Webhooks.Create(ctx, webhook.CreateInput{URL: "http://127.0.0.1:1/hook", Description: "alerts"}); err != nil {
		t.Fatal(err)
	}
	if s.personal, _, err = e.console.cfg.Personal.Create(ctx, personal.CreateRequest{DisplayName: "ops"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	return s
}

// everyPage lists a GET of each console page, with the records seed made.
func everyPage(s seeded) []string {
	conn := connectorPath(s.app.ID, s.conn.ID)
	return []string{
		"/console/", "/console/apps", "/console/apps?q=okt", appPath(s.app.ID), appPath(s.app.ID) + "/delete",
		conn, conn + "/delete", conn + "/rotate", credentialPath(s.app.ID, s.conn.ID, s.cred.ID),
		credentialPath(s.app.ID, s.conn.ID, s.cred.ID) + "/revoke", credentialPath(s.app.ID, s.conn.ID, s.revoked.ID),
		"/console/audit", "/console/audit?range=all&outcome=success&actor=pcc", "/console/keys",
		"/console/trusts", "/console/policies", "/console/policies/apps/" + s.app.ID, "/console/policies/apps/" + s.app.ID + "/connectors/" + s.conn.ID,
		"/console/webhooks", "/console/webhooks/" + s.endpoint.ID, "/console/personal-clients", "/console/settings",
		"/console/no-such-page",
	}
}

// TestBrowserEveryPage runs axe-core on every page with data in it, and
// checks each reflows at 200 % zoom without sideways scrolling. With
// CONNCRED_CONSOLE_SCREENSHOTS set it also writes the README's pictures.
func TestBrowserEveryPage(t *testing.T) {
	e := newEnv(t)
	s := seed(t, e)
	tb := newTab(t, e)
	tb.signIn()
	shots := map[string]string{"/console/apps": "apps", "/console/keys": "keys", "/console/trusts": "trusts", "/console/webhooks": "webhooks",
		appPath(s.app.ID) + "/delete": "delete-app"}
	for _, p := range everyPage(s) {
		tb.open(p)
		tb.axe(p)
		tb.reflows(p)
		if name, ok := shots[p]; ok {
			tb.shot(name)
		}
	}
	tb.open("/console/login")
	tb.axe("the sign-in page without a link")
	tb.shot("login")
}

// TestEveryPageRenders: each page answers 200 (404 for the page that does
// not exist) with the signed-in admin named, without a browser.
func TestEveryPageRenders(t *testing.T) {
	e := newEnv(t)
	s := seed(t, e)
	c := e.client()
	e.signIn(c)
	for _, p := range everyPage(s) {
		r := e.get(c, p)
		want := http.StatusOK
		if strings.Contains(p, "no-such-page") {
			want = http.StatusNotFound
		}
		if r.StatusCode != want || !strings.Contains(r.Body, e.admin.ClientID) {
			t.Errorf("%s: %d, want %d naming the admin", p, r.StatusCode, want)
		}
	}
	conn := e.get(c, connectorPath(s.app.ID, s.conn.ID)).Body
	for _, want := range []string{"expires in 4 d", "exp-soon", "state-revoked", "force_sync", "pending", "Revoke prod"} {
		if !strings.Contains(conn, want) {
			t.Errorf("the connector page does not show %q", want)
		}
	}
	if strings.Contains(conn, "Revoke old") {
		t.Error("a revoked credential offers Revoke")
	}
}

// TestWingForms drives the wings' forms: their success paths, and errors
// that say what to fix without changing anything.
func TestWingForms(t *testing.T) {
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
			if !strings.Contains(r.Body+r.Header.Get("Location"), w) {
				t.Errorf("%s: no %q", name, w)
			}
		}
	}
	// Trusts.
	expect("trust without issuer", e.post(c, "/console/trusts", url.Values{"condition": {"true"}, "role": {"admin"}}), 400, "The trust was not created")
	expect("trust", e.post(c, "/console/trusts", url.Values{"issuer": {"https://issuer.example"}, "condition": {"true"}, "role": {"admin"}, "name": {"admins"}}), 303, "trust-created")
	expect("trust delete", e.post(c, "/console/trusts/"+s.trust.ID+"/delete", nil), 303, "trust-deleted")
	if _, err := e.console.cfg.Federation.GetTrust(ctx, s.trust.ID); err == nil {
		if got, _ := e.console.cfg.Federation.GetTrust(ctx, s.trust.ID); got.DeletedAt == nil {
			t.Error("the trust is not deleted")
		}
	}
	// Policies.
	pp := "/console/policies/apps/" + s.app.ID
	expect("bad policy", e.post(c, pp, url.Values{"max_lifetime": {"forever"}}), 400, "The policy was not saved", "90d, 720h or 30m")
	expect("policy", e.post(c, pp, url.Values{"max_lifetime": {"90d"}, "warnings": {"7d, 1d"}}), 303, "policy-saved")
	expect("policy page", e.get(c, pp), 200, "90d", "7d, 1d", "app "+s.app.ID)
	// Webhooks: the signing secret once, like a rotate's.
	wh := e.get(c, "/console/webhooks")
	once := hidden(t, wh.Body, "once")
	created := e.post(c, "/console/webhooks", url.Values{"once": {once}, "url": {"http://127.0.0.1:2/h"}})
	expect("webhook", created, 200, "It will not be shown again", `hx-history="false"`)
	if !regexp.MustCompile(`data-secret>[^<]+<`).MatchString(created.Body) {
		t.Error("the new endpoint's secret is not shown")
	}
	expect("webhook again", e.post(c, "/console/webhooks", url.Values{"once": {once}, "url": {"http://127.0.0.1:2/h"}}), 400, "already submitted")
	expect("bad webhook", e.post(c, "/console/webhooks", url.Values{"once": {hidden(t, wh.Body, "once")}, "url": {"ftp://x"}}), 400, "The endpoint was not added")
	expect("test event", e.post(c, "/console/webhooks/"+s.endpoint.ID+"/test", nil), 303, "webhook-tested")
	ds, _, err := e.console.cfg.Webhooks.Deliveries(ctx, s.endpoint.ID, "", webhook.Page{})
	if err != nil || len(ds) == 0 {
		t.Fatalf("deliveries after a test: %v %v", ds, err)
	}
	expect("deliveries", e.get(c, "/console/webhooks/"+s.endpoint.ID), 200, ds[0].EventID, "Redeliver")
	expect("redeliver", e.post(c, "/console/webhooks/"+s.endpoint.ID+"/deliveries/"+ds[0].EventID+"/redeliver", nil), 303, "redelivered")
	expect("webhook delete", e.post(c, "/console/webhooks/"+s.endpoint.ID+"/delete", nil), 303, "webhook-deleted")
	// Personal clients.
	pc := e.get(c, "/console/personal-clients")
	expect("personal list", pc, 200, s.personal.ClientID, "(you)")
	made := e.post(c, "/console/personal-clients", url.Values{"once": {hidden(t, pc.Body, "once")}, "name": {"bot"}})
	expect("personal create", made, 200, "secret-token:", "It will not be shown again")
	expect("personal revoke", e.post(c, "/console/personal-clients/"+s.personal.ID+"/revoke", nil), 303, "personal-revoked")
	if got, err := e.auth.GetAdmin(ctx, s.personal.ID); err != nil || got.DeletedAt == nil {
		t.Errorf("the personal client is not revoked: %v", err)
	}
	// Session settings.
	expect("bad settings", e.post(c, "/console/settings", url.Values{"connector_enabled": {"on"}, "connector_cidrs": {"not-a-net"}}), 400, "The settings were not saved")
	expect("settings", e.post(c, "/console/settings", url.Values{"connector_enabled": {"on"}, "connector_cidrs": {"10.0.0.0/8"}}), 303, "settings-saved")
	expect("settings page", e.get(c, "/console/settings"), 200, "10.0.0.0/8")
	// Sync control and keys.
	conn := connectorPath(s.app.ID, s.conn.ID)
	expect("force sync while one is pending", e.post(c, conn+"/force-sync", nil), 400, "Not done")
	expect("pause", e.post(c, conn+"/pause", nil), 303, "sync-paused")
	expect("resume", e.post(c, conn+"/resume", nil), 303, "sync-resumed")
	expect("bad schedule", e.post(c, conn+"/schedule", url.Values{"cron": {"every day"}}), 400, "Not done")
	expect("schedule", e.post(c, conn+"/schedule", url.Values{"cron": {"0 * * * *"}}), 303, "schedule-set")
	expect("connector page", e.get(c, conn), 200, "0 * * * *")
	before, _ := e.auth.ListSigningKeys(ctx)
	expect("rotate keys", e.post(c, "/console/keys/rotate", nil), 303, "key-rotated")
	if after, _ := e.auth.ListSigningKeys(ctx); len(after) != len(before)+1 {
		t.Errorf("signing keys: %d then %d", len(before), len(after))
	}
	// Apps: rename, delete with the cascade.
	expect("empty app name", e.post(c, appPath(s.app.ID), url.Values{"name": {""}}), 400, "The app was not renamed")
	expect("rename app", e.post(c, appPath(s.app.ID), url.Values{"name": {"Okta EU"}}), 303, "app-renamed")
	expect("delete confirmation", e.get(c, appPath(s.app.ID)+"/delete"), 200, "Okta EU", "okta sync", "<strong>1</strong> active credential")
	expect("delete app", e.post(c, appPath(s.app.ID)+"/delete", nil), 303, "app-deleted")
	if got, _ := e.auth.GetCredential(ctx, s.app.ID, s.conn.ID, s.cred.ID); got.DeletedAt == nil {
		t.Error("deleting the app did not revoke its credential")
	}
	expect("deleted app", e.get(c, appPath(s.app.ID)), 404, "not found")
}
