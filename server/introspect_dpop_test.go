package server

import (
	"encoding/json"
	"testing"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

// TestTokenIntrospectionDPoP: RFC 7662 introspection of a DPoP-bound token
// says so (token_type DPoP and cnf.jkt, RFC 9449 §6.2), so a resource
// server that introspects can demand proofs by that key; a Bearer token
// has neither.
func TestTokenIntrospectionDPoP(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	s := e.signer()
	_, _, _, bound := e.boundToken(s)
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	bearer := e.token(clientID, sec)

	for _, tc := range []struct {
		name, token, wantType, wantJKT string
	}{
		{"bound", bound, "DPoP", s.Thumbprint()},
		{"bearer", bearer, "Bearer", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := e.do("POST", apitype.PathTokenIntrospect, map[string]string{
				"Authorization": "Bearer " + e.admin, "Content-Type": "application/x-www-form-urlencoded",
			}, "token="+tc.token)
			var got apitype.TokenIntrospection
			if err := json.Unmarshal(b, &got); err != nil || st != 200 {
				t.Fatalf("introspect: %d %q (%v)", st, b, err)
			}
			if !got.Active {
				t.Fatalf("active: got false, want true (%s)", b)
			}
			if got.TokenType != tc.wantType {
				t.Errorf("token_type: got %q, want %q", got.TokenType, tc.wantType)
			}
			var gotJKT string
			if got.Cnf != nil {
				gotJKT = got.Cnf.JKT
			}
			if gotJKT != tc.wantJKT {
				t.Errorf("cnf.jkt: got %q, want %q (%s)", gotJKT, tc.wantJKT, b)
			}
			if tc.wantJKT == "" && got.Cnf != nil {
				t.Errorf("a Bearer token's introspection has cnf: %s", b)
			}
		})
	}
}
