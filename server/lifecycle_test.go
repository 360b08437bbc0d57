package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/secret"
)

// tokenStatus exchanges a credential and returns the status and body.
func (e *env) tokenStatus(clientID, secretText string) (int, string) {
	e.t.Helper()
	st, body := e.do("POST", "/auth/v1/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		tokenForm(clientID, assertion(e.t, clientID, secretText, e.clock.Now(), nil)).Encode())
	return st, string(body)
}

func credPath(appID, connID, id string) string {
	return "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials/" + id
}

func TestRotateRetirePrevious(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{MaxActiveCredentials: 3})
	appID, connID := e.setup()
	oldID, oldCID, oldSec := e.rotate(appID, connID)

	st, m := e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"appId": appID, "connectorId": connID, "retirePreviousAfter": "24h"})
	if st != 200 {
		t.Fatalf("rotate with retirePreviousAfter: %d %v", st, m)
	}
	e.secrets = append(e.secrets, str(m, "clientSecret"))
	retired, _ := m["retired"].([]any)
	if len(retired) != 1 || str(retired[0].(map[string]any), "id") != oldID {
		t.Fatalf("retired: got %v, want [%s]", m["retired"], oldID)
	}
	want := t0.Add(24 * time.Hour).Format(time.RFC3339)
	if got := str(retired[0].(map[string]any), "expiresTime"); got != want {
		t.Errorf("retired expiresTime: got %q, want %q", got, want)
	}
	if str(m, "credential", "expiresTime") != "" {
		t.Errorf("the new credential got an expiry: %v", m["credential"])
	}
	// The old one works through the grace, and not after it.
	e.clock.Advance(24*time.Hour - time.Second)
	if st, body := e.tokenStatus(oldCID, oldSec); st != 200 {
		t.Fatalf("old credential within its grace: %d %s", st, body)
	}
	e.clock.Advance(time.Second)
	if st, body := e.tokenStatus(oldCID, oldSec); st != 400 && st != 401 || !strings.Contains(body, "expired") {
		t.Fatalf("old credential after its grace: got %d %s, want a refusal saying it expired", st, body)
	}
}

func TestRotateCapCountsRetiring(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{MaxActiveCredentials: 2})
	appID, connID := e.setup()
	e.rotate(appID, connID)
	st, m := e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"appId": appID, "connectorId": connID, "retirePreviousAfter": "30m"})
	if st != 200 {
		t.Fatalf("rotate: %d %v", st, m)
	}
	e.secrets = append(e.secrets, str(m, "clientSecret"))
	st, m = e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"appId": appID, "connectorId": connID, "retirePreviousAfter": "1h"})
	msg, _ := m["message"].(string)
	if st != 400 || !strings.Contains(msg, "1 of them are retiring") {
		t.Fatalf("rotate over the cap: got %d %q, want 400 saying one credential is retiring", st, msg)
	}
	// Once the retiring one has expired there is room again.
	e.clock.Advance(30 * time.Minute)
	e.rotate(appID, connID)
}

func TestRotateLifecycleBadInput(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	keepID, _, _ := e.rotate(appID, connID)
	for name, body := range map[string]map[string]any{
		"negative grace":     {"retirePreviousAfter": "-1h"},
		"absurd grace":       {"retirePreviousAfter": "100000h"},
		"not a duration":     {"retirePreviousAfter": "soon"},
		"retire id no grace": {"retireCredentialId": keepID},
		"retire unknown id":  {"retirePreviousAfter": "1h", "retireCredentialId": "0ERrQDm353BInvCbLdR4LVPgUSY"},
		"jwk wrong kty":      {"publicKey": map[string]any{"kty": "EC", "crv": "P-256", "x": "AAAA"}},
		"jwk wrong curve":    {"publicKey": map[string]any{"kty": "OKP", "crv": "X25519", "x": b64(make([]byte, 32))}},
		"jwk short x":        {"publicKey": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(make([]byte, 31))}},
		"jwk private":        {"publicKey": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(make([]byte, 32)), "d": b64(make([]byte, 32))}},
	} {
		t.Run(name, func(t *testing.T) {
			body["appId"], body["connectorId"] = appID, connID
			st, m := e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, body)
			if st != 400 {
				t.Fatalf("got %d %v, want 400", st, m)
			}
			if msg, _ := m["message"].(string); msg == "" {
				t.Errorf("400 without a message")
			}
		})
	}
	// Nothing changed: still the one credential, without an expiry.
	st, m := e.api("GET", "/api/v1/apps/"+appID+"/connectors/"+connID+"/credentials", e.admin, nil)
	list, _ := m["list"].([]any)
	if st != 200 || len(list) != 1 || str(list[0].(map[string]any), "expiresTime") != "" {
		t.Fatalf("after refused rotates: %d %v, want the one credential unchanged", st, m)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestRotateBringYourOwnKey(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}
	st, b := e.do("POST", "/api/v1/apps/connectors/credentials", map[string]string{"Authorization": "Bearer " + e.admin},
		mustJSON(t, map[string]any{"appId": appID, "connectorId": connID, "publicKey": key}))
	if st != 200 {
		t.Fatalf("rotate with a public key: %d %s", st, b)
	}
	if strings.Contains(string(b), "clientSecret") || strings.Contains(string(b), "secret-token:") {
		t.Fatalf("the response carries a secret although the caller brought the key: %s", b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	cid := str(m, "credential", "clientId")
	// The caller's own private key authenticates.
	own, err := secret.Encode(priv)
	if err != nil {
		t.Fatal(err)
	}
	if st, body := e.tokenStatus(cid, own.Reveal()); st != 200 {
		t.Fatalf("token with the brought key: %d %s", st, body)
	}
	// The same key again, on any connector, is refused.
	app2, conn2 := e.setup()
	st, m = e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"appId": app2, "connectorId": conn2, "publicKey": key})
	if msg, _ := m["message"].(string); st != 400 || !strings.Contains(msg, "already registered") {
		t.Fatalf("the same key again: got %d %v, want 400 already registered", st, m)
	}
}

func TestSelfRotateAndRevoke(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	otherID, _, _ := e.rotate(appID, connID)
	oldID, oldCID, oldSec := e.rotate(appID, connID)
	tok := e.token(oldCID, oldSec)

	// An admin token cannot self-rotate; a connector can.
	if st, m := e.api("POST", "/api/v1/credentials/self/rotate", e.admin, map[string]any{}); st != 403 {
		t.Fatalf("admin self-rotate: got %d %v, want 403", st, m)
	}
	st, m := e.api("POST", "/api/v1/credentials/self/rotate", tok, map[string]any{"grace": "2h"})
	if st != 200 {
		t.Fatalf("self-rotate: %d %v", st, m)
	}
	newSec, newCID, newID := str(m, "clientSecret"), str(m, "credential", "clientId"), str(m, "credential", "id")
	e.secrets = append(e.secrets, newSec)
	retired, _ := m["retired"].([]any)
	if len(retired) != 1 || str(retired[0].(map[string]any), "id") != oldID {
		t.Fatalf("self-rotate retired %v, want only the caller's credential %s", m["retired"], oldID)
	}
	// The other credential of the connector is untouched.
	_, m = e.api("GET", credPath(appID, connID, otherID), e.admin, nil)
	if str(m, "credential", "expiresTime") != "" {
		t.Errorf("self-rotate touched another credential: %v", m)
	}
	// Nothing else is widened: the old token still cannot read others.
	if st, _ := e.api("GET", credPath(appID, connID, newID), tok, nil); st != 403 {
		t.Errorf("old token reading the new credential: got %d, want 403", st)
	}
	if st, _ := e.api("GET", "/api/v1/apps/"+appID+"/connectors/"+connID+"/credentials", tok, nil); st != 403 {
		t.Errorf("connector listing credentials: got %d, want 403", st)
	}
	// A grace longer than allowed is refused.
	if st, _ := e.api("POST", "/api/v1/credentials/self/rotate", tok, map[string]any{"grace": "10000h"}); st != 400 {
		t.Errorf("self-rotate with an absurd grace: got %d, want 400", st)
	}
	// The new credential revokes itself; its token then stops working.
	ntok := e.token(newCID, newSec)
	if st, m := e.api("POST", "/api/v1/credentials/self/revoke", ntok, nil); st != 200 {
		t.Fatalf("self-revoke: %d %v", st, m)
	}
	if st, _ := e.api("GET", "/api/v1/auth/introspect", ntok, nil); st != 401 {
		t.Errorf("token of a self-revoked credential: got %d, want 401", st)
	}
	// The old one still works until its grace ends.
	if st, body := e.tokenStatus(oldCID, oldSec); st != 200 {
		t.Errorf("old credential within its grace: %d %s", st, body)
	}
	e.clock.Advance(2 * time.Hour)
	if st, _ := e.tokenStatus(oldCID, oldSec); st == 200 {
		t.Errorf("old credential after its grace still gets tokens")
	}
	e.checkNoSecretsLogged()
}

// checkNoSecretsLogged fails if any secret handed out is in the server log
// or the audit trail.
func (e *env) checkNoSecretsLogged() {
	e.t.Helper()
	e.auth.Flush(e.t.Context())
	evs, err := e.store.ListAudit(e.t.Context(), conncred.AuditFilter{Limit: 10000})
	if err != nil {
		e.t.Fatal(err)
	}
	trail, _ := json.Marshal(evs)
	for _, s := range e.secrets {
		tail := s[len(s)-43:]
		if strings.Contains(e.log.String(), tail) || strings.Contains(string(trail), tail) {
			e.t.Fatal("a client secret appears in the server log or the audit trail")
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCredentialSourceLimit(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	id, cid, sec := e.rotate(appID, connID)
	tok := e.token(cid, sec) // minted while no limit applies
	path := credPath(appID, connID, id) + "/source_limit"

	if st, m := e.api("POST", path, e.admin, map[string]any{"allowSourceCidr": []string{"10.0.0.0/33"}}); st != 400 {
		t.Fatalf("malformed CIDR: got %d %v, want 400", st, m)
	}
	if st, m := e.api("POST", path, e.admin, map[string]any{"allowSourceCidr": []string{"10.1.2.3/8"}}); st != 400 || !strings.Contains(m["message"].(string), "10.0.0.0/8") {
		t.Fatalf("host bits: got %d %v, want 400 suggesting 10.0.0.0/8", st, m)
	}
	if st, m := e.api("POST", path, e.admin, map[string]any{"allowSourceCidr": []string{"10.0.0.0/8"}}); st != 200 {
		t.Fatalf("set limit: %d %v", st, m)
	}
	// The test server's clients come from 127.0.0.1: outside the limit.
	if st, body := e.tokenStatus(cid, sec); st == 200 || !strings.Contains(body, "allowSourceCidr") {
		t.Fatalf("token from outside the limit: got %d %s, want a refusal naming allowSourceCidr", st, body)
	}
	if st, m := e.api("GET", "/api/v1/auth/introspect", tok, nil); st != 403 {
		t.Fatalf("API call with a token carried outside its networks: got %d %v, want 403", st, m)
	}
	if st, m := e.api("POST", path, e.admin, map[string]any{"allowSourceCidr": []string{"127.0.0.0/8", "::1"}}); st != 200 {
		t.Fatalf("set limit: %d %v", st, m)
	}
	if st, body := e.tokenStatus(cid, sec); st != 200 {
		t.Fatalf("token from inside the limit: %d %s", st, body)
	}
	st, m := e.api("GET", path, e.admin, nil)
	if got := mustJSON(t, m["allowSourceCidr"]); st != 200 || got != `["127.0.0.0/8","::1/128"]` {
		t.Fatalf("get limit: %d %s", st, got)
	}
}

func TestSessionSettings(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	_, cid, sec := e.rotate(appID, connID)

	st, m := e.api("GET", "/api/v1/settings/session", e.admin, nil)
	if st != 200 || mustJSON(t, m["sessionSettings"]) != `{"connectorSource":{"enabled":false,"sourceCidr":[]},"pccAdminSource":{"enabled":false,"sourceCidr":[]}}` {
		t.Fatalf("default settings: %d %v", st, m)
	}
	// Locking the admins out is refused, and changes nothing.
	st, m = e.api("POST", "/api/v1/settings/session", e.admin, map[string]any{
		"sessionSettings": map[string]any{"pccAdminSource": map[string]any{"enabled": true, "sourceCidr": []string{"192.0.2.0/24"}}}, "updateMask": "pccAdminSource"})
	if st != 400 || !strings.Contains(m["message"].(string), "lock you out") {
		t.Fatalf("admin lock-out: got %d %v, want 400", st, m)
	}
	st, m = e.api("POST", "/api/v1/settings/session/test-source-ip", e.admin, map[string]any{"allowCidr": []string{"192.0.2.0/24"}})
	if st != 200 || m["allowed"] != false || m["checkedIp"] != "127.0.0.1" {
		t.Fatalf("test-source-ip: %d %v", st, m)
	}
	st, m = e.api("POST", "/api/v1/settings/session", e.admin, map[string]any{
		"sessionSettings": map[string]any{"connectorSource": map[string]any{"enabled": true, "sourceCidr": []string{"192.0.2.0/24"}}}})
	if st != 200 {
		t.Fatalf("set connectorSource: %d %v", st, m)
	}
	if st, body := e.tokenStatus(cid, sec); st == 200 || !strings.Contains(body, "connectorSource") {
		t.Fatalf("connector token from outside connectorSource: got %d %s", st, body)
	}
	// Admins are not under connectorSource.
	if st, _ := e.api("GET", "/api/v1/apps", e.admin, nil); st != 200 {
		t.Fatalf("admin call under a connectorSource restriction: %d", st)
	}
	// A connector cannot read or change the settings (its token is
	// minted after lifting the restriction).
	if st, m := e.api("POST", "/api/v1/settings/session", e.admin, map[string]any{
		"sessionSettings": map[string]any{"connectorSource": map[string]any{"enabled": false}}, "updateMask": "connectorSource"}); st != 200 {
		t.Fatalf("lift connectorSource: %d %v", st, m)
	}
	ctok := e.token(cid, sec)
	for _, r := range []struct{ method, path string }{{"GET", "/api/v1/settings/session"}, {"POST", "/api/v1/settings/session"}, {"POST", "/api/v1/settings/session/test-source-ip"}} {
		if st, _ := e.api(r.method, r.path, ctok, map[string]any{}); st != http.StatusForbidden {
			t.Errorf("connector %s %s: got %d, want 403", r.method, r.path, st)
		}
	}
}
