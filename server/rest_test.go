package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/conncred/conncred/authority"
)

var rfc3339Z = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)

// checkCredential checks a credential object field by field against
// docs/PROTOCOL.md §1.1.
func checkCredential(t *testing.T, c map[string]any, appID, connID string, wantSecret bool) {
	t.Helper()
	for _, f := range []string{"id", "appId", "connectorId", "clientId", "displayName"} {
		if s, _ := c[f].(string); s == "" {
			t.Errorf("credential.%s missing or empty: %v", f, c[f])
		}
	}
	if c["appId"] != appID || c["connectorId"] != connID {
		t.Errorf("credential parents: %v/%v, want %s/%s", c["appId"], c["connectorId"], appID, connID)
	}
	if !strings.HasSuffix(c["clientId"].(string), "@127.0.0.1:8443/ccc") {
		t.Errorf("clientId %q: want <cutename>@127.0.0.1:8443/ccc", c["clientId"])
	}
	for _, f := range []string{"createdAt", "updatedAt"} {
		if s, _ := c[f].(string); !rfc3339Z.MatchString(s) {
			t.Errorf("credential.%s = %v, want RFC 3339 UTC", f, c[f])
		}
	}
	for _, f := range []string{"deletedAt", "expiresTime", "lastUsedAt"} {
		if v, ok := c[f]; ok && v != nil {
			if s, _ := v.(string); !rfc3339Z.MatchString(s) {
				t.Errorf("credential.%s = %#v: want null, absent or RFC 3339 UTC (never \"\")", f, v)
			}
		}
	}
	_, has := c["clientSecret"]
	if has != wantSecret {
		t.Errorf("credential.clientSecret present = %v, want %v", has, wantSecret)
	}
}

func TestCredentialLifecycleShapes(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	base := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"

	t.Run("rotate, current path", func(t *testing.T) {
		st, m := e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"appId": appID, "connectorId": connID})
		if st != http.StatusOK {
			t.Fatalf("%d %v", st, m)
		}
		cred := m["credential"].(map[string]any)
		checkCredential(t, cred, appID, connID, true)
		if cred["clientSecret"] != m["clientSecret"] || !strings.HasPrefix(m["clientSecret"].(string), "secret-token:conncred:v1:") {
			t.Fatalf("secret inside and at top level differ or malformed")
		}
		e.secrets = append(e.secrets, m["clientSecret"].(string))
	})
	t.Run("rotate, legacy path with no body and no content type", func(t *testing.T) {
		st, b := e.do("POST", base, map[string]string{"Authorization": "Bearer " + e.admin}, "")
		if st != http.StatusOK || !strings.Contains(string(b), `"clientSecret":"secret-token:conncred:v1:`) {
			t.Fatalf("%d %s", st, b)
		}
	})
	t.Run("rotate, legacy path with {} and an empty content type", func(t *testing.T) {
		st, b := e.do("POST", base, map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": ""}, "{}")
		if st != http.StatusOK {
			t.Fatalf("%d %s", st, b)
		}
	})
	t.Run("rotate, snake_case body", func(t *testing.T) {
		st, m := e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"app_id": appID, "connector_id": connID, "display_name": "ci", "expires": "720h"})
		if st != http.StatusOK || str(m, "credential", "displayName") != "ci" || str(m, "credential", "expiresTime") == "" {
			t.Fatalf("%d %v", st, m)
		}
	})
	id, clientID, sec := e.rotate(appID, connID)
	t.Run("get leaves the secret out", func(t *testing.T) {
		st, m := e.api("GET", base+"/"+id, e.admin, nil)
		if st != http.StatusOK {
			t.Fatalf("%d %v", st, m)
		}
		checkCredential(t, m["credential"].(map[string]any), appID, connID, false)
	})
	t.Run("list in creation order with paging", func(t *testing.T) {
		var ids []string
		token := ""
		for pages := 1; ; pages++ {
			st, m := e.api("GET", base+"?page_size=2&page_token="+token, e.admin, nil)
			list, _ := m["list"].([]any)
			if st != http.StatusOK || len(list) > 2 {
				t.Fatalf("page %d: %d %v", pages, st, m)
			}
			for _, c := range list {
				ids = append(ids, c.(map[string]any)["id"].(string))
			}
			token, _ = m["nextPageToken"].(string)
			if token == "" {
				if pages != 3 {
					t.Fatalf("%d pages of 2 for 5 credentials", pages)
				}
				break
			}
		}
		if len(ids) != 5 || ids[4] != id {
			t.Fatalf("listed %v; want 5 with the newest (%s) last", ids, id)
		}
	})
	t.Run("the credential authenticates; its token reads only itself", func(t *testing.T) {
		tok := e.token(clientID, sec)
		if st, m := e.api("GET", base+"/"+id, tok, nil); st != http.StatusOK {
			t.Fatalf("own credential: %d %v", st, m)
		}
		st, m := e.api("GET", "/api/v1/auth/introspect", tok, nil)
		if st != http.StatusOK || m["principleId"] != id || m["roles"].([]any)[0] != "connector" {
			t.Fatalf("introspect: %d %v", st, m)
		}
		for _, path := range []string{"/api/v1/apps", base, "/api/v1/audit", "/api/v1/iam/personal_clients"} {
			if st, m := e.api("GET", path, tok, nil); st != http.StatusForbidden || m["code"] != float64(7) {
				t.Errorf("GET %s with a connector token: %d %v, want 403", path, st, m)
			}
		}
		if st, _ := e.api("POST", "/api/v1/apps/connectors/credentials", tok, map[string]any{"appId": appID, "connectorId": connID}); st != http.StatusForbidden {
			t.Errorf("rotate with a connector token: %d, want 403", st)
		}
	})
	t.Run("revoke is POST, idempotent, and shows deletedAt", func(t *testing.T) {
		tok := e.token(clientID, sec)
		for i := 0; i < 2; i++ {
			st, b := e.do("POST", base+"/"+id, map[string]string{"Authorization": "Bearer " + e.admin}, "")
			if st != http.StatusOK || strings.TrimSpace(string(b)) != "{}" {
				t.Fatalf("revoke %d: %d %s", i, st, b)
			}
		}
		st, m := e.api("GET", base+"/"+id, e.admin, nil)
		if st != http.StatusOK || str(m, "credential", "deletedAt") == "" {
			t.Fatalf("get after revoke: %d %v", st, m)
		}
		// The token minted before the revoke is refused on the next call.
		if st, m := e.api("GET", "/api/v1/auth/introspect", tok, nil); st != http.StatusUnauthorized || m["code"] != float64(16) {
			t.Fatalf("token of a revoked credential: %d %v", st, m)
		}
		st, b := e.do("POST", "/auth/v1/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), nil)).Encode())
		if st != http.StatusUnauthorized || !strings.Contains(string(b), `"invalid_client"`) {
			t.Fatalf("assertion of a revoked credential: %d %s", st, b)
		}
	})
	t.Run("deleting the connector revokes what is left", func(t *testing.T) {
		other, _, _ := e.rotate(appID, connID)
		if st, m := e.api("DELETE", "/api/v1/apps/"+appID+"/connectors/"+connID, e.admin, nil); st != http.StatusOK {
			t.Fatalf("delete connector: %d %v", st, m)
		}
		if st, m := e.api("GET", base+"/"+other, e.admin, nil); st != http.StatusOK || str(m, "credential", "deletedAt") == "" {
			t.Fatalf("credential after connector delete: %d %v", st, m)
		}
		if st, _ := e.api("GET", "/api/v1/apps/"+appID+"/connectors/"+connID, e.admin, nil); st != http.StatusNotFound {
			t.Fatalf("deleted connector: %d, want 404", st)
		}
	})
}

func TestTokenEndpointShapes(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	st, b := e.do("POST", "/auth/v1/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
		tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), nil)).Encode())
	if st != http.StatusOK || !regexp.MustCompile(`^\{"access_token":"[^"]+","token_type":"Bearer","expires_in":3600\}\s*$`).Match(b) {
		t.Fatalf("token response: %d %s", st, b)
	}
	st, b = e.do("GET", "/.well-known/jwks.json", nil, "")
	if st != http.StatusOK || !strings.Contains(string(b), `"crv":"Ed25519"`) || strings.Contains(string(b), `"d"`) {
		t.Fatalf("jwks: %d %s", st, b)
	}
	st, b = e.do("GET", "/.well-known/oauth-authorization-server", nil, "")
	if st != http.StatusOK || !strings.Contains(string(b), `"token_endpoint":"https://127.0.0.1:8443/auth/v1/token"`) {
		t.Fatalf("metadata: %d %s", st, b)
	}
}

func TestNoSecretInTheLog(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	for i := 0; i < 3; i++ {
		_, clientID, sec := e.rotate(appID, connID)
		e.token(clientID, sec)
	}
	// Trigger error paths that log, too.
	e.do("POST", "/auth/v1/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "grant_type=client_credentials&client_assertion=garbage")
	e.auth.Flush(t.Context())
	if len(e.secrets) < 4 {
		t.Fatalf("only %d secrets handed out", len(e.secrets))
	}
	for _, s := range e.secrets {
		if strings.Contains(e.log.String(), s) || strings.Contains(e.log.String(), s[len(s)-43:]) {
			t.Fatal("a client secret appears in the server log")
		}
	}
}
