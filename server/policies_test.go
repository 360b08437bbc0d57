package server

import (
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/store/sqlite"
)

// withPolicy registers the policy wing as serve does, unless cfg has one
// already: its routes, and its lifetime limit on every rotate.
func withPolicy(t testing.TB, cfg *Config, a *authority.Authority, st policy.Store, clk clock.Clock) {
	t.Helper()
	if cfg.Policy != nil {
		return
	}
	p, err := policy.New(policy.Config{}, a, st, clk)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy = p
	a.SetLifetimeLimiter(p)
	a.SetScopeBindingPolicy(p)
	if cfg.Lifecycle != nil {
		cfg.Lifecycle.SetLifetimeLimiter(p)
	}
}

// checkPolicyOperations drives the policy routes through their success
// and error paths for TestOpenAPIResponsesMatchTheDocument, and returns
// the error statuses each operation must have been validated with.
func checkPolicyOperations(t *testing.T, c *checker, e *env, appID string) map[string][]int {
	t.Helper()
	admin := e.admin
	const unknown = "2HErg7BRmNdHgX8sTCWVq4E1fyh"
	b := c.call("POST", "/api/v1/apps/"+appID+"/connectors", jsonHeaders(admin), `{"displayName":"policy"}`, 200, true)
	connID := jsonField(t, b, "connectorView", "connector", "id")
	appPath := "/api/v1/apps/" + appID + "/policy"
	connPath := "/api/v1/apps/" + appID + "/connectors/" + connID + "/policy"

	c.call("GET", "/api/v1/policy", bearer(admin), "", 200, true)
	c.call("POST", "/api/v1/policy", jsonHeaders(admin), `{"policy":{"expiryWarnings":["336h","24h"],"dormancyThreshold":"720h"}}`, 200, true)
	c.call("POST", appPath, jsonHeaders(admin), `{"policy":{"maxLifetime":"2160h"}}`, 200, true)
	b = c.call("POST", connPath, jsonHeaders(admin), `{"policy":{"maxLifetime":"720h","autoRevokeAfter":"2160h"},"updateMask":"maxLifetime,autoRevokeAfter"}`, 200, true)
	for _, want := range []string{`"scope":"connector"`, `"maxLifetime":"720h0m0s"`, `"from":{"autoRevokeAfter":"connector","dormancyThreshold":"server","expiryWarnings":"server","maxLifetime":"connector","offlineAfter":"flags","requireDpop":"flags"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("connector policy: no %s in %.400s", want, b)
		}
	}
	c.call("GET", appPath, bearer(admin), "", 200, true)
	c.call("GET", connPath, bearer(admin), "", 200, true)

	// The connector's maximum lifetime on a rotate: a 400 naming it.
	cred := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"
	b = c.call("POST", cred, jsonHeaders(admin), `{"expires":"1000h"}`, 400, false)
	if !strings.Contains(string(b), "the policy of connector "+connID+" of 720h") {
		t.Errorf("rotate past the policy: %.300s, want the limit named", b)
	}

	// Bad input: each a 400 that says what to fix.
	for _, body := range []string{
		`{"policy":{"maxLifetime":"-24h"}}`,
		`{"policy":{"maxLifetime":"1000000h"}}`,
		`{"policy":{"dormancyThreshold":"2400h"},"updateMask":"dormancyThreshold"}`, // not shorter than the connector's auto-revoke
		`{"policy":{}, "updateMask":"maxLifeTime"}`,
		`{}`,
	} {
		c.call("POST", connPath, jsonHeaders(admin), body, 400, body != `{}`)
	}
	c.call("POST", "/api/v1/apps/"+unknown+"/policy", jsonHeaders(admin), `{"policy":{}}`, 404, true)
	c.call("GET", "/api/v1/apps/"+appID+"/connectors/"+unknown+"/policy", bearer(admin), "", 404, true)

	// A connector's token may neither read nor set policies.
	b = c.call("POST", cred, jsonHeaders(admin), `{}`, 200, true)
	e.secrets = append(e.secrets, jsonField(t, b, "clientSecret"))
	tok := e.token(jsonField(t, b, "credential", "clientId"), jsonField(t, b, "clientSecret"))
	c.call("GET", "/api/v1/policy", bearer(tok), "", 403, true)
	c.call("POST", appPath, jsonHeaders(tok), `{"policy":{}}`, 403, true)
	c.call("POST", connPath, jsonHeaders(admin), `{"policy":{}}`, 200, true) // inherit all again

	return map[string][]int{
		"getServerPolicy":    {403},
		"setConnectorPolicy": {400},
		"setAppPolicy":       {403, 404},
		"getConnectorPolicy": {404},
	}
}

// TestConnectorHeardThroughTheAuthority wires liveness as serve does (the
// policy wing's WatchUse around the lifecycle wing's source guard) and
// checks that a token exchange and an API call by a connector's credential
// are heard, written behind at the next pass, and that a call the source
// guard refuses is not.
func TestConnectorHeardThroughTheAuthority(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	st := e.store.(*sqlite.Store)
	lc := lifecycle.New(lifecycle.Config{}, e.auth, st, e.clock)
	pol, err := policy.New(policy.Config{Interval: time.Minute, Defaults: policy.Policy{OfflineAfter: ptrDuration(10 * time.Minute)}}, e.auth, st, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	e.auth.SetSourceGuard(pol.WatchUse(lc))
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	if err := st.SaveHost(t.Context(), baton.Host{ConnectorID: connID, HostID: "h", FirstSeenAt: t0, LastSeenAt: t0}); err != nil {
		t.Fatal(err)
	}
	lastSeen := func() time.Time {
		t.Helper()
		if _, err := pol.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		as, err := st.ConnectorActivity(t.Context(), "", 0)
		if err != nil || len(as) != 1 {
			t.Fatalf("ConnectorActivity: %v, %v", as, err)
		}
		return as[0].LastSeen
	}

	e.clock.Advance(time.Minute)
	tok := e.token(clientID, sec) // a token exchange at +1m
	e.clock.Advance(time.Minute)
	if st, body := e.do("GET", "/api/v1/auth/introspect", map[string]string{"Authorization": "Bearer " + tok}, ""); st != 200 {
		t.Fatalf("introspect: %d %s", st, body)
	}
	if got := lastSeen(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("after an exchange at +1m and a call at +2m: last seen %s, want %s", got, t0.Add(2*time.Minute))
	}

	// Limited to a network the test client is not in: refused, not heard.
	admin := conncred.WithPrincipal(t.Context(), conncred.System)
	if _, err := lc.SetCredentialSourceLimit(admin, appID, connID, credID, []string{"192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if st, _ := e.do("GET", "/api/v1/auth/introspect", map[string]string{"Authorization": "Bearer " + tok}, ""); st != 403 {
		t.Fatalf("introspect from outside the limit: %d, want 403", st)
	}
	if got := lastSeen(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("after a refused call: last seen %s, want still %s", got, t0.Add(2*time.Minute))
	}
}

func ptrDuration(d time.Duration) *time.Duration { return &d }
