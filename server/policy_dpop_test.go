package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/dpop"
)

// TestDPoPRequiredByPolicy: requireDpop in a policy (nearest scope wins)
// makes a connector credential's token request without a proof a 400
// invalid_dpop_proof, together with the credential's own flag: either one
// suffices, so a policy's false does not lift a credential's true.
func TestDPoPRequiredByPolicy(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	appPolicy := strings.Replace(apitype.PathAppPolicy, "{app_id}", appID, 1)
	connPolicy := strings.NewReplacer("{app_id}", appID, "{connector_id}", connID).Replace(apitype.PathConnectorPolicy)
	unbound := func() (int, string) {
		t.Helper()
		resp, b := e.send("POST", apitype.PathToken, map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), nil)).Encode())
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, str(m, "error")
	}
	set := func(path string, body map[string]any) map[string]any {
		t.Helper()
		st, m := e.api("POST", path, e.admin, body)
		if st != 200 {
			t.Fatalf("POST %s %v: %d %v", path, body, st, m)
		}
		return m
	}
	for _, step := range []struct {
		name     string
		do       func()
		wantCode int
	}{
		{"no policy", func() {}, 200},
		{"the app's policy requires it", func() {
			m := set(appPolicy, map[string]any{"policy": map[string]any{"requireDpop": true}, "updateMask": "requireDpop"})
			eff, _ := m["effective"].(map[string]any)
			from, _ := eff["from"].(map[string]any)
			if eff["requireDpop"] != true || from["requireDpop"] != "app" {
				t.Errorf("effective: got %v, want requireDpop true from app", eff)
			}
		}, 400},
		{"the connector's false is nearer", func() {
			set(connPolicy, map[string]any{"policy": map[string]any{"requireDpop": false}, "updateMask": "requireDpop"})
		}, 200},
		{"the credential's own flag still requires it", func() {
			set(strings.Replace(apitype.PathCredentialDPoP, "{id}", credID, 1), map[string]any{"requireDpop": true})
		}, 400},
		{"the flag lifted, the connector's false applies", func() {
			set(strings.Replace(apitype.PathCredentialDPoP, "{id}", credID, 1), map[string]any{"requireDpop": false})
		}, 200},
		{"the connector inherits again: the app's true", func() {
			set(connPolicy, map[string]any{"policy": map[string]any{}, "updateMask": "requireDpop"})
		}, 400},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.do()
			st, code := unbound()
			if st != step.wantCode || (st == 400 && code != dpop.ErrInvalidProof) {
				t.Errorf("token request without a proof: got %d %q, want %d", st, code, step.wantCode)
			}
		})
	}
	// With a proof the exchange works, and the token is bound.
	if resp, m := e.dpopTokenResp(clientID, sec, e.signer(), ""); resp.StatusCode != 200 || str(m, "token_type") != "DPoP" {
		t.Errorf("token request with a proof: %d %v", resp.StatusCode, m)
	}
}
