package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLICredentialDPoP: an admin turns a credential's "require DPoP" flag
// on and off from the CLI, and the token command follows it: refused
// without --dpop while required, bound with it, Bearer again once off.
func TestCLICredentialDPoP(t *testing.T) {
	e := newCLIEnv(t)
	_, _, credID, credFile := lifecycleFixture(t, e)
	type flag struct {
		CredentialID string
		RequireDpop  bool
	}
	get := func(t *testing.T) bool {
		t.Helper()
		var f flag
		e.mustJSON(t, &f, "credential", "dpop", "get", "--id", credID)
		if f.CredentialID != credID {
			t.Errorf("credentialId: got %q, want %q", f.CredentialID, credID)
		}
		return f.RequireDpop
	}
	tokenType := func(t *testing.T, args ...string) (string, int, string) {
		t.Helper()
		out, errOut, code := e.run(t, append([]string{"token", "--credentials", credFile, "--json"}, args...)...)
		var tok struct {
			TokenType string `json:"token_type"`
		}
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &tok); err != nil {
				t.Fatalf("token --json: %v\n%s", err, out)
			}
		}
		return tok.TokenType, code, errOut
	}

	if get(t) {
		t.Fatal("a new credential requires DPoP; want optional by default")
	}
	t.Run("set without --require is a usage error", func(t *testing.T) {
		_, errOut, code := e.run(t, "credential", "dpop", "set", "--id", credID)
		if code != 2 || !strings.Contains(errOut, "--require") {
			t.Errorf("exit %d, stderr %q; want 2 naming --require", code, errOut)
		}
	})
	t.Run("--require refuses token requests without a proof", func(t *testing.T) {
		var f flag
		e.mustJSON(t, &f, "credential", "dpop", "set", "--id", credID, "--require")
		if !f.RequireDpop || !get(t) {
			t.Fatalf("after set --require: answer %+v, get %v; want true", f, get(t))
		}
		if _, code, errOut := tokenType(t); code == 0 || !strings.Contains(errOut, "DPoP") {
			t.Errorf("token without --dpop: exit %d, stderr %q; want a refusal naming DPoP", code, errOut)
		}
		if typ, code, errOut := tokenType(t, "--dpop"); code != 0 || typ != "DPoP" {
			t.Errorf("token --dpop: exit %d, type %q, stderr %q; want 0 and DPoP", code, typ, errOut)
		}
	})
	t.Run("--require=false gives Bearer tokens again", func(t *testing.T) {
		var f flag
		e.mustJSON(t, &f, "credential", "dpop", "set", "--id", credID, "--require=false")
		if f.RequireDpop || get(t) {
			t.Fatalf("after set --require=false: answer %+v; want false", f)
		}
		if typ, code, errOut := tokenType(t); code != 0 || typ != "Bearer" {
			t.Errorf("token: exit %d, type %q, stderr %q; want 0 and Bearer", code, typ, errOut)
		}
	})
	t.Run("a connector may not change its own flag", func(t *testing.T) {
		_, errOut, code := e.run(t, "credential", "dpop", "set", "--id", credID, "--require=false", "--credentials", credFile)
		if code != 1 || !strings.Contains(errOut, "admin") {
			t.Errorf("exit %d, stderr %q; want 1 and a refusal for want of an admin", code, errOut)
		}
	})
	t.Run("an unknown credential is not found", func(t *testing.T) {
		_, errOut, code := e.run(t, "credential", "dpop", "get", "--id", "2HErg7BRmNdHgX8sTCWVq4E1fz0")
		if code != 1 || !strings.Contains(errOut, "no credential") {
			t.Errorf("exit %d, stderr %q; want 1 and no credential", code, errOut)
		}
	})
}

// TestCLITrustRequireDPoP: trust update turns a trust's requireDpop on and,
// with --require-dpop=false, off again (the mask names the field even when
// the value is the zero one).
func TestCLITrustRequireDPoP(t *testing.T) {
	e := newCLIEnv(t)
	app, conn, _, _ := lifecycleFixture(t, e)
	type trustJSON struct {
		Trust struct {
			ID          string
			RequireDpop bool
		}
	}
	var tr trustJSON
	e.mustJSON(t, &tr, "trust", "create", "--issuer", "https://token.actions.githubusercontent.com",
		"--app", app, "--connector", conn, "--condition", `claims.repository == "acme/connectors"`)
	if tr.Trust.RequireDpop {
		t.Fatal("a new trust requires DPoP without --require-dpop")
	}
	for _, tc := range []struct {
		arg  string
		want bool
	}{{"--require-dpop", true}, {"--require-dpop=false", false}} {
		t.Run(tc.arg, func(t *testing.T) {
			var up, got trustJSON
			e.mustJSON(t, &up, "trust", "update", "--id", tr.Trust.ID, tc.arg)
			e.mustJSON(t, &got, "trust", "get", "--id", tr.Trust.ID)
			if up.Trust.RequireDpop != tc.want || got.Trust.RequireDpop != tc.want {
				t.Errorf("requireDpop: update answered %v, get %v; want %v", up.Trust.RequireDpop, got.Trust.RequireDpop, tc.want)
			}
		})
	}
}
