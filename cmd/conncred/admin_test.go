package main

import (
	"path/filepath"
	"strings"
	"testing"
)

type personalJSON struct {
	Client struct {
		ID              string
		DisplayName     string
		ExpiresTime     string
		AllowSourceCidr []string
		ScopedRoles     []string
	}
	ClientSecret string
}

// TestCLIAdminPersonalClients: the create carries the official fields, and
// an update changes only the fields whose flags are given (its updateMask
// names those), so an unnamed field keeps its value.
func TestCLIAdminPersonalClients(t *testing.T) {
	e := newCLIEnv(t)
	var created personalJSON
	e.mustJSON(t, &created, "admin", "create", "--name", "deploy bot", "--expires", "90d", "--allow-source-cidr", "10.0.0.0/8,192.0.2.7", "--scoped-role", "admin")
	c := created.Client
	if got, want := strings.Join(c.AllowSourceCidr, ","), "10.0.0.0/8,192.0.2.7/32"; got != want {
		t.Errorf("created allowSourceCidr: got %s, want %s", got, want)
	}
	if got, want := strings.Join(c.ScopedRoles, ","), "admin"; got != want {
		t.Errorf("created scopedRoles: got %s, want %s", got, want)
	}
	if created.ClientSecret == "" || c.ExpiresTime == "" {
		t.Fatalf("create: no secret or no expiry: %+v", c)
	}

	for _, tc := range []struct {
		name      string
		args      []string
		wantName  string
		wantCIDRs string
		noExpiry  bool
	}{
		{"name only keeps networks and expiry", []string{"--name", "deploy bot (old)"}, "deploy bot (old)", "10.0.0.0/8,192.0.2.7/32", false},
		{"networks only keep the name", []string{"--allow-source-cidr", "127.0.0.0/8"}, "deploy bot (old)", "127.0.0.0/8", false},
		{"empty networks remove the limit", []string{"--allow-source-cidr", ""}, "deploy bot (old)", "", false},
		{"no-expiry removes the expiry", []string{"--no-expiry"}, "deploy bot (old)", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got personalJSON
			e.mustJSON(t, &got, append([]string{"admin", "update", "--id", c.ID}, tc.args...)...)
			if got.Client.DisplayName != tc.wantName {
				t.Errorf("displayName: got %q, want %q", got.Client.DisplayName, tc.wantName)
			}
			if g := strings.Join(got.Client.AllowSourceCidr, ","); g != tc.wantCIDRs {
				t.Errorf("allowSourceCidr: got %q, want %q", g, tc.wantCIDRs)
			}
			if (got.Client.ExpiresTime == "") != tc.noExpiry {
				t.Errorf("expiresTime: got %q, want none: %v", got.Client.ExpiresTime, tc.noExpiry)
			}
			if strings.Join(got.Client.ScopedRoles, ",") != "admin" {
				t.Errorf("scopedRoles changed: %v", got.Client.ScopedRoles)
			}
			if got.ClientSecret != "" {
				t.Errorf("an update printed a secret")
			}
		})
	}

	var found struct{ List []struct{ ID string } }
	e.mustJSON(t, &found, "admin", "search", "--query", "BOT (OLD)")
	if len(found.List) != 1 || found.List[0].ID != c.ID {
		t.Errorf("search: got %+v, want only %s", found.List, c.ID)
	}
	e.mustJSON(t, &found, "admin", "search", "--query", "no such client")
	if len(found.List) != 0 {
		t.Errorf("search for nothing: got %+v", found.List)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"nothing to change", []string{"admin", "update", "--id", c.ID}, 2, "nothing to change"},
		{"two expiries", []string{"admin", "update", "--id", c.ID, "--expires", "1h", "--no-expiry"}, 2, "one of --expires"},
		{"bad network", []string{"admin", "update", "--id", c.ID, "--allow-source-cidr", "10.0.0.1/8"}, 1, "10.0.0.0/8"},
		{"unhonoured role", []string{"admin", "create", "--scoped-role", "connector"}, 1, "scopedRoles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, errOut, code := e.run(t, tc.args...); code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d %q; want %d containing %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}

// TestCLIReadOnlyAdmin: a client scoped to system:viewer, used with
// --credentials, lists but cannot create, and the error names the role;
// an update with --scoped-role "" lifts the scope.
func TestCLIReadOnlyAdmin(t *testing.T) {
	e := newCLIEnv(t)
	file := filepath.Join(t.TempDir(), "viewer.json")
	var created personalJSON
	e.mustJSON(t, &created, "admin", "create", "--name", "inventory", "--scoped-role", "system:viewer", "--out", file)
	if got := strings.Join(created.Client.ScopedRoles, ","); got != "system:viewer" {
		t.Fatalf("scopedRoles: got %q, want system:viewer", got)
	}
	var apps struct{ List []any }
	e.mustJSON(t, &apps, "app", "list", "--credentials", file)
	if _, errOut, code := e.run(t, "app", "create", "--name", "nope", "--credentials", file); code != 1 || !strings.Contains(errOut, "system:viewer") {
		t.Errorf("app create as a viewer: exit %d %q; want 1 naming the role system:viewer", code, errOut)
	}
	var up personalJSON
	e.mustJSON(t, &up, "admin", "update", "--id", created.Client.ID, "--scoped-role", "")
	if len(up.Client.ScopedRoles) != 0 {
		t.Errorf("after --scoped-role \"\": %v, want none", up.Client.ScopedRoles)
	}
	if _, errOut, code := e.run(t, "app", "create", "--name", "now", "--credentials", file); code != 0 {
		t.Errorf("app create after the scope was lifted: exit %d %q", code, errOut)
	}
}
