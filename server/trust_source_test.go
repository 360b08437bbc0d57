package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

// TestTrustSourceLimits: the session settings' source restrictions apply to
// tokens minted through a workload federation trust as to the credentials
// whose principal the trust grants: connectorSource to a connector trust,
// pccAdminSource to an admin trust; at the exchange and on every call. The
// workloads' addresses come from X-Forwarded-For (a trusted proxy), so the
// admin configuring the settings stays at 127.0.0.1.
func TestTrustSourceLimits(t *testing.T) {
	e := newEnv(t, Config{TrustProxyHeaders: true}, authority.Config{})
	iss := newOIDCIssuer(t)
	appID, connID := e.setup()
	const inside, outside = "127.0.0.1", "192.0.2.9"

	trust := func(body map[string]any) string {
		t.Helper()
		body["issuer"], body["condition"] = iss.srv.URL, `claims.repository == "acme/connectors"`
		st, m := e.api("POST", apitype.PathTrusts, e.admin, body)
		if st != 200 {
			t.Fatalf("create trust: %d %v", st, m)
		}
		return str(m, "trust", "clientId")
	}
	connTrust := trust(map[string]any{"role": "connector", "appId": appID, "connectorId": connID})
	adminTrust := trust(map[string]any{"role": "admin"})
	restrict := func(which string, cidrs ...string) {
		t.Helper()
		st, m := e.api("POST", "/api/v1/settings/session", e.admin, map[string]any{
			"sessionSettings": map[string]any{which: map[string]any{"enabled": true, "sourceCidr": cidrs}}, "updateMask": which})
		if st != 200 {
			t.Fatalf("set %s: %d %v", which, st, m)
		}
	}
	exchange := func(clientID, from string) (int, map[string]any) {
		t.Helper()
		subject := iss.token(e.auth.Issuer(), e.clock.Now(), "acme/connectors")
		resp, b := e.send("POST", apitype.PathToken, map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": from,
		}, sdkExchangeForm(clientID, subject))
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("exchange: %d, body not JSON: %q", resp.StatusCode, b)
		}
		return resp.StatusCode, m
	}
	mustToken := func(clientID, from string) string {
		t.Helper()
		st, m := exchange(clientID, from)
		if st != 200 {
			t.Fatalf("exchange through %s from %s: %d %v %v, want 200", clientID, from, st, m["error"], m["error_description"])
		}
		return str(m, "access_token")
	}
	call := func(token, from string) int {
		t.Helper()
		resp, _ := e.send("GET", apitype.PathIntrospect, map[string]string{"Authorization": "Bearer " + token, "X-Forwarded-For": from}, "")
		return resp.StatusCode
	}
	refused := func(t *testing.T, clientID, from, which string) {
		t.Helper()
		st, m := exchange(clientID, from)
		desc, _ := m["error_description"].(string)
		if st != http.StatusUnauthorized || m["error"] != authority.ErrInvalidClient || !strings.Contains(desc, which) || !strings.Contains(desc, from) {
			t.Errorf("exchange from %s: got %d %v %q, want 401 invalid_client naming %s and the address", from, st, m["error"], desc, which)
		}
	}

	// Minted before any restriction: the restriction must still reach them.
	connTok, adminTok := mustToken(connTrust, outside), mustToken(adminTrust, outside)

	t.Run("connectorSource applies to a connector trust", func(t *testing.T) {
		restrict("connectorSource", "127.0.0.0/8")
		refused(t, connTrust, outside, "connectorSource")
		tok := mustToken(connTrust, inside)
		for _, c := range []struct {
			name, token, from string
			want              int
		}{
			{"new token inside", tok, inside, 200},
			{"new token carried outside", tok, outside, http.StatusForbidden},
			{"older token outside", connTok, outside, http.StatusForbidden},
			{"older token inside", connTok, inside, 200},
		} {
			if got := call(c.token, c.from); got != c.want {
				t.Errorf("%s: got %d, want %d", c.name, got, c.want)
			}
		}
	})
	t.Run("connectorSource does not apply to an admin trust", func(t *testing.T) {
		mustToken(adminTrust, outside)
		if got := call(adminTok, outside); got != 200 {
			t.Errorf("admin trust token from outside connectorSource: got %d, want 200", got)
		}
	})
	t.Run("pccAdminSource applies to an admin trust", func(t *testing.T) {
		restrict("pccAdminSource", "127.0.0.0/8")
		refused(t, adminTrust, outside, "pccAdminSource")
		if got := call(adminTok, outside); got != http.StatusForbidden {
			t.Errorf("admin trust token outside pccAdminSource: got %d, want 403", got)
		}
		if got := call(mustToken(adminTrust, inside), inside); got != 200 {
			t.Errorf("admin trust token inside pccAdminSource: got %d, want 200", got)
		}
	})
	t.Run("a refusal is audited", func(t *testing.T) {
		// Token events are counted per minute and written once it ends.
		e.clock.Advance(time.Minute)
		e.auth.Flush(t.Context())
		evs, err := e.store.ListAudit(t.Context(), conncred.AuditFilter{Kind: authority.AuditTokenRefused, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Reason == "source address not allowed" && strings.HasSuffix(ev.Actor, "/wfe") {
				n += ev.Count
			}
		}
		if n != 2 {
			t.Errorf("token.refused events for a trust's source: got %d, want 2", n)
		}
	})
}
