package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// credJSON is the part of a credential envelope these tests read.
type credJSON struct {
	Credential struct {
		ID, ClientID string
		ExpiresTime  *time.Time
	}
	ClientSecret string
	Retired      []struct {
		ID          string
		ExpiresTime *time.Time
	}
}

// lifecycleFixture makes an app, a connector and one credential in a file.
func lifecycleFixture(t *testing.T, e *cliEnv) (app, conn, credID, credFile string) {
	t.Helper()
	var a struct{ App struct{ ID string } }
	e.mustJSON(t, &a, "app", "create", "--name", "Okta")
	var c connectorJSON
	e.mustJSON(t, &c, "connector", "create", "--app", a.App.ID)
	app, conn = a.App.ID, c.ConnectorView.Connector.ID
	credFile = filepath.Join(t.TempDir(), "old.json")
	var r credJSON
	e.mustJSON(t, &r, "credential", "rotate", "--app", app, "--connector", conn, "--out", credFile)
	return app, conn, r.Credential.ID, credFile
}

func (e *cliEnv) credentials(t *testing.T, app, conn string) []credJSON {
	t.Helper()
	var list struct {
		List []struct {
			ID          string
			ExpiresTime *time.Time
		}
	}
	e.mustJSON(t, &list, "credential", "list", "--app", app, "--connector", conn)
	out := make([]credJSON, len(list.List))
	for i, c := range list.List {
		out[i].Credential.ID, out[i].Credential.ExpiresTime = c.ID, c.ExpiresTime
	}
	return out
}

func TestCLISelfRotate(t *testing.T) {
	e := newCLIEnv(t)
	app, conn, oldID, oldFile := lifecycleFixture(t, e)
	dir := t.TempDir()

	t.Run("refuses an existing --out before anything changes", func(t *testing.T) {
		taken := filepath.Join(dir, "taken.json")
		if err := os.WriteFile(taken, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := e.run(t, "credential", "self-rotate", "--credentials", oldFile, "--out", taken)
		if code != 2 || !strings.Contains(errOut, "never overwritten") {
			t.Fatalf("exit %d, stderr %q; want 2 and a refusal to overwrite", code, errOut)
		}
		if b, _ := os.ReadFile(taken); string(b) != "keep me" {
			t.Errorf("the existing file changed: %q", b)
		}
		if got := e.credentials(t, app, conn); len(got) != 1 || got[0].Credential.ExpiresTime != nil {
			t.Errorf("credentials after the refusal: got %+v, want the old one alone, not retiring", got)
		}
	})
	t.Run("refuses an --out that cannot be created before anything changes", func(t *testing.T) {
		_, _, code := e.run(t, "credential", "self-rotate", "--credentials", oldFile, "--out", filepath.Join(dir, "no-such-dir", "new.json"))
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if got := e.credentials(t, app, conn); len(got) != 1 || got[0].Credential.ExpiresTime != nil {
			t.Errorf("credentials after the failure: got %+v, want the old one alone, not retiring", got)
		}
	})
	t.Run("needs --credentials", func(t *testing.T) {
		if _, errOut, code := e.run(t, "credential", "self-rotate", "--out", filepath.Join(dir, "x.json")); code != 2 || !strings.Contains(errOut, "--credentials") {
			t.Fatalf("exit %d, stderr %q; want 2 naming --credentials", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
			t.Errorf("a usage error left an --out file behind")
		}
	})

	newFile := filepath.Join(dir, "new.json")
	before := time.Now()
	var r credJSON
	e.mustJSON(t, &r, "credential", "self-rotate", "--credentials", oldFile, "--out", newFile, "--grace", "2h")
	if r.ClientSecret != "" {
		t.Errorf("--json with --out printed the secret")
	}
	if len(r.Retired) != 1 || r.Retired[0].ID != oldID || r.Retired[0].ExpiresTime == nil {
		t.Fatalf("retired: got %+v, want %s with an expiry", r.Retired, oldID)
	}
	if exp := r.Retired[0].ExpiresTime.Sub(before); exp < 2*time.Hour-time.Minute || exp > 2*time.Hour+time.Minute {
		t.Errorf("old credential expires %v from now, want about 2h", exp)
	}
	fi, err := os.Stat(newFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("--out mode: got %v, want 0600", fi.Mode().Perm())
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".new.json.*")); len(m) != 0 {
		t.Errorf("temporary files left behind: %v", m)
	}
	var f credentialFile
	if b, err := os.ReadFile(newFile); err != nil || json.Unmarshal(b, &f) != nil || f.ClientID != r.Credential.ClientID || !strings.HasPrefix(f.ClientSecret, "secret-token:") {
		t.Fatalf("--out holds %+v (%v), want the new credential %s", f, err, r.Credential.ClientID)
	}
	// Both work during the grace.
	for _, file := range []string{oldFile, newFile} {
		if _, errOut, code := e.run(t, "whoami", "--credentials", file); code != 0 {
			t.Errorf("whoami with %s: exit %d %s", file, code, errOut)
		}
	}

	// The old one gives itself up.
	if out, errOut, code := e.run(t, "credential", "self-revoke", "--credentials", oldFile, "--json"); code != 0 || strings.TrimSpace(out) != "{}" {
		t.Fatalf("self-revoke: exit %d, %q %q", code, out, errOut)
	}
	if _, _, code := e.run(t, "whoami", "--credentials", oldFile); code != 1 {
		t.Errorf("whoami with a self-revoked credential: exit %d, want 1", code)
	}
	// An admin cannot self-rotate.
	if _, errOut, code := e.run(t, "credential", "self-rotate", "--credentials", filepath.Join(e.dir, "admin-credential.json")); code != 1 || !strings.Contains(errOut, "connector credential") {
		t.Errorf("self-rotate as admin: exit %d, %q", code, errOut)
	}
}

func TestCLIRotateOverlapAndOwnKey(t *testing.T) {
	e := newCLIEnv(t)
	app, conn, oldID, _ := lifecycleFixture(t, e)
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x := base64.RawURLEncoding.EncodeToString(pub)
	keyFile := filepath.Join(dir, "key.jwk")
	if err := os.WriteFile(keyFile, []byte(`{"kty":"OKP","crv":"Ed25519","x":"`+x+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	privFile := filepath.Join(dir, "priv.jwk")
	d := base64.RawURLEncoding.EncodeToString(priv.Seed())
	if err := os.WriteFile(privFile, []byte(`{"kty":"OKP","crv":"Ed25519","x":"`+x+`","d":"`+d+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rotate := []string{"credential", "rotate", "--app", app, "--connector", conn}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"private key", []string{"--public-key-file", privFile}, "private key"},
		{"--out with a key", []string{"--public-key-file", keyFile, "--out", filepath.Join(dir, "x.json")}, "no secret"},
		{"--retire-credential alone", []string{"--retire-credential", oldID}, "--retire-previous-after"},
		{"bad grace", []string{"--retire-previous-after", "soon"}, "lifetime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := e.run(t, append(rotate, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
	if got := e.credentials(t, app, conn); len(got) != 1 {
		t.Fatalf("refused rotates created credentials: %+v", got)
	}

	out, errOut, code := e.run(t, append(rotate, "--public-key-file", keyFile, "--retire-previous-after", "1d", "--json")...)
	if code != 0 {
		t.Fatalf("rotate with a key: exit %d %s", code, errOut)
	}
	var r credJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "clientSecret") || strings.Contains(out, "secret-token") {
		t.Errorf("rotate with the caller's key printed a secret:\n%s", out)
	}
	if len(r.Retired) != 1 || r.Retired[0].ID != oldID {
		t.Errorf("retired: got %+v, want %s", r.Retired, oldID)
	}
	// The key is now taken.
	if _, errOut, code := e.run(t, append(rotate, "--public-key-file", keyFile)...); code != 1 || !strings.Contains(errOut, "already registered") {
		t.Errorf("the same key again: exit %d, %q", code, errOut)
	}
}

func TestCLISourceLimitsAndSessionSettings(t *testing.T) {
	e := newCLIEnv(t)
	app, conn, credID, credFile := lifecycleFixture(t, e)
	limit := []string{"credential", "source-limit", "set", "--app", app, "--connector", conn, "--id", credID}

	if _, errOut, code := e.run(t, limit...); code != 2 || !strings.Contains(errOut, "--none") {
		t.Errorf("set without networks or --none: exit %d %q", code, errOut)
	}
	if _, errOut, code := e.run(t, append(limit, "--allow-cidr", "10.0.0.1/8")...); code != 1 || !strings.Contains(errOut, "10.0.0.0/8") {
		t.Errorf("a network with host bits: exit %d %q; want 1 suggesting 10.0.0.0/8", code, errOut)
	}
	var got struct{ AllowSourceCidr []string }
	e.mustJSON(t, &got, append(limit, "--allow-cidr", "10.0.0.0/8", "--allow-cidr", "192.0.2.7")...)
	if strings.Join(got.AllowSourceCidr, ",") != "10.0.0.0/8,192.0.2.7/32" {
		t.Errorf("stored: got %v", got.AllowSourceCidr)
	}
	if _, errOut, code := e.run(t, "whoami", "--credentials", credFile); code != 1 || !strings.Contains(errOut, "allowSourceCidr") {
		t.Errorf("whoami from outside the networks: exit %d %q; want 1 naming allowSourceCidr", code, errOut)
	}
	e.mustJSON(t, &got, append(limit, "--none")...)
	if len(got.AllowSourceCidr) != 0 {
		t.Errorf("after --none: %v", got.AllowSourceCidr)
	}
	if _, errOut, code := e.run(t, "whoami", "--credentials", credFile); code != 0 {
		t.Errorf("whoami after --none: exit %d %q", code, errOut)
	}

	// Session settings: only what is named changes.
	type session struct {
		SessionSettings struct {
			ConnectorSource, PccAdminSource struct {
				Enabled    bool
				SourceCidr []string
			}
		}
	}
	var s session
	e.mustJSON(t, &s, "settings", "session", "set", "--connector-source", "10.0.0.0/8")
	if s.SessionSettings.ConnectorSource.Enabled || len(s.SessionSettings.ConnectorSource.SourceCidr) != 1 {
		t.Errorf("after setting networks only: %+v", s)
	}
	e.mustJSON(t, &s, "settings", "session", "set", "--connector-source-enabled")
	if !s.SessionSettings.ConnectorSource.Enabled || strings.Join(s.SessionSettings.ConnectorSource.SourceCidr, ",") != "10.0.0.0/8" {
		t.Errorf("enabling kept the networks? %+v", s)
	}
	if _, errOut, code := e.run(t, "whoami", "--credentials", credFile); code != 1 || !strings.Contains(errOut, "connectorSource") {
		t.Errorf("connector from outside connectorSource: exit %d %q", code, errOut)
	}
	if _, errOut, code := e.run(t, "settings", "session", "set", "--admin-source", "10.0.0.0/8", "--admin-source-enabled"); code != 1 || !strings.Contains(errOut, "lock you out") {
		t.Errorf("an admin restriction excluding the caller: exit %d %q", code, errOut)
	}
	e.mustJSON(t, &s, "settings", "session", "set", "--connector-source-enabled=false")
	if _, errOut, code := e.run(t, "whoami", "--credentials", credFile); code != 0 {
		t.Errorf("whoami after disabling: exit %d %q", code, errOut)
	}
	if _, _, code := e.run(t, "settings", "session", "set"); code != 2 {
		t.Errorf("set with nothing: exit %d, want 2", code)
	}
	var tr struct {
		Allowed   bool
		CheckedIP string
	}
	e.mustJSON(t, &tr, "settings", "session", "test-source-ip", "--cidr", "127.0.0.0/8,::1")
	if !tr.Allowed {
		t.Errorf("test-source-ip of the caller's own loopback address: %+v", tr)
	}
	out, _, code := e.run(t, "settings", "session", "test-source-ip", "--cidr", "10.0.0.0/8", "--ip", "192.0.2.1")
	if code != 0 || !strings.Contains(out, "192.0.2.1 refused") {
		t.Errorf("test-source-ip outside: exit %d %q", code, out)
	}
}
