package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// setupConnector makes an app and a connector and returns their ids.
func setupConnector(t *testing.T, e *cliEnv) (appID, connID string) {
	t.Helper()
	var app struct{ App struct{ ID string } }
	e.mustJSON(t, &app, "app", "create", "--name", "Okta")
	var conn connectorJSON
	e.mustJSON(t, &conn, "connector", "create", "--app", app.App.ID, "--name", "okta sync")
	return app.App.ID, conn.ConnectorView.Connector.ID
}

// TestOutFile: --out writes the secret to a new 0600 file and never to
// stdout, refuses an existing file (leaving it as it was), and the file
// authenticates as --credentials.
func TestOutFile(t *testing.T) {
	e := newCLIEnv(t)
	appID, connID := setupConnector(t, e)
	for _, tc := range []struct {
		name, role string
		args       []string
	}{
		{"credential rotate", "[connector]", []string{"credential", "rotate", "--app", appID, "--connector", connID}},
		{"admin create", "[admin]", []string{"admin", "create"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cred.json")
			out, errOut, code := e.run(t, append(tc.args, "--out", path)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if strings.Contains(out+errOut, "secret-token:") {
				t.Errorf("the secret was printed:\n%s%s", out, errOut)
			}
			if !strings.Contains(out, "are in "+path+" (mode 0600)") || !strings.Contains(out, "CLIENT ID") {
				t.Errorf("stdout should show the record and where the secret went:\n%s", out)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := st.Mode().Perm(), os.FileMode(0o600); got != want {
				t.Errorf("mode: got %v, want %v", got, want)
			}
			before, _ := os.ReadFile(path)
			_, errOut, code = e.run(t, append(tc.args, "--out", path)...)
			if code != 2 || !strings.Contains(errOut, "exists") || !strings.Contains(errOut, "remove it first, or give another path") {
				t.Errorf("second --out to the same file: exit %d, %q; want 2 and a refusal saying what to do", code, errOut)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Error("the refused --out changed the existing file")
			}
			out, errOut, code = e.run(t, "whoami", "--credentials", path)
			if code != 0 || !strings.Contains(out, tc.role) {
				t.Errorf("whoami --credentials %s: exit %d, %s%s; want role %s", path, code, out, errOut, tc.role)
			}
		})
	}
	// With --json the record stays parseable and carries no secret.
	path := filepath.Join(t.TempDir(), "c.json")
	var v map[string]json.RawMessage
	e.mustJSON(t, &v, "credential", "rotate", "--app", appID, "--connector", connID, "--out", path)
	if _, ok := v["credential"]; !ok || strings.Contains(string(v["credential"]), "secret-token") || v["clientSecret"] != nil {
		t.Errorf("--out --json: %s", v)
	}
}

// TestExpiresDays: credential lifetimes are thought of in days.
func TestExpiresDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"30d", 720 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"720h", 720 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"30x", 0, "use hours, e.g. 720h"},
		{"d", 0, "use hours, e.g. 720h"},
		{"-1d", 0, "use hours, e.g. 720h"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var d time.Duration
			err := lifetime{&d}.Set(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error saying %q", err, tc.err)
				}
				return
			}
			if err != nil || d != tc.want {
				t.Fatalf("got %v, %v; want %v", d, err, tc.want)
			}
		})
	}
	e := newCLIEnv(t)
	appID, connID := setupConnector(t, e)
	var rot struct {
		Credential struct{ CreatedAt, ExpiresTime time.Time }
	}
	e.mustJSON(t, &rot, "credential", "rotate", "--app", appID, "--connector", connID, "--expires", "30d")
	if got, want := rot.Credential.ExpiresTime.Sub(rot.Credential.CreatedAt).Round(time.Minute), 720*time.Hour; got != want {
		t.Errorf("--expires 30d: lifetime %v, want %v", got, want)
	}
	_, errOut, code := e.run(t, "credential", "rotate", "--app", appID, "--connector", connID, "--expires", "30days")
	if code != 2 || !strings.Contains(errOut, "use hours, e.g. 720h") {
		t.Errorf("--expires 30days: exit %d, %q", code, errOut)
	}
}

// TestServerMessages: the two ways to miss the server say what to do.
func TestServerMessages(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "admin-credential.json"), []byte(`{"clientId":"a-b-1@127.0.0.1/pcc","clientSecret":"secret-token:conncred:v1:x"}`), 0o600)
	_, errOut, code := runRaw(t, "app", "list", "--data-dir", dir, "--server", "http://127.0.0.1:8443")
	if code != 2 || !strings.Contains(errOut, "https is required") || !strings.Contains(errOut, "https://127.0.0.1:8443") {
		t.Errorf("--server http://: exit %d, %q", code, errOut)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	e := newCLIEnv(t)
	_, errOut, code = runRaw(t, "whoami", "--data-dir", e.dir, "--server", "https://"+addr)
	if code != 1 || !strings.Contains(errOut, "connection refused") || !strings.Contains(errOut, "check --server") || !strings.Contains(errOut, "conncred serve") {
		t.Errorf("nothing at --server: exit %d, %q; want 1 and advice", code, errOut)
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conncred.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigPrecedenceServe: flag > env > file > default, for serve.
func TestConfigPrecedenceServe(t *testing.T) {
	path := writeConfig(t, `# a comment
max-active-credentials = 4   # overridden by the flag
public-host = "file.example.test"  # overridden by the environment
token-ttl = "30m"            # from the file
dev = true
`)
	t.Setenv("CONNCRED_PUBLIC_HOST", "env.example.test")
	t.Setenv("CONNCRED_CONFIG", path)
	root := newRoot()
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		active       int
		host, listen string
		ttl          time.Duration
		dev          bool
	}
	serve.RunE = func(cmd *cobra.Command, _ []string) error { // read what serve would have run with
		fs := cmd.Flags()
		got.active, _ = fs.GetInt("max-active-credentials")
		got.host, _ = fs.GetString("public-host")
		got.listen, _ = fs.GetString("listen")
		got.ttl, _ = fs.GetDuration("token-ttl")
		got.dev, _ = fs.GetBool("dev")
		return nil
	}
	root.SetArgs([]string{"serve", "--max-active-credentials", "5"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.active != 5 || got.host != "env.example.test" || got.ttl != 30*time.Minute || !got.dev || got.listen != "127.0.0.1:8443" {
		t.Errorf("got %+v; want the flag's 5, the environment's host, the file's 30m and dev, the default listen", got)
	}
}

// TestConfigPrecedenceClient: flag > env > file for a client command, and
// a file's mistakes are named.
func TestConfigPrecedenceClient(t *testing.T) {
	e := newCLIEnv(t)
	appID, _ := setupConnector(t, e)
	path := writeConfig(t, "server = \""+e.url+"\"\ndata-dir = '"+e.dir+"'\nlisten = \"127.0.0.1:1\" # serve's: skipped here\nname = \"from the file\"\n")
	t.Setenv("CONNCRED_CONFIG", "")
	if out, errOut, code := runRaw(t, "app", "get", "--id", appID, "--config", path); code != 0 || !strings.Contains(out, "Okta") {
		t.Fatalf("server and data dir from the file: exit %d %s%s", code, out, errOut)
	}
	dead := "https://127.0.0.1:1"
	t.Setenv("CONNCRED_SERVER", dead)
	if _, errOut, code := runRaw(t, "app", "get", "--id", appID, "--config", path); code != 1 || !strings.Contains(errOut, dead) {
		t.Errorf("the environment should win over the file: exit %d %s", code, errOut)
	}
	if _, errOut, code := runRaw(t, "app", "get", "--id", appID, "--config", path, "--server", e.url); code != 0 {
		t.Errorf("the flag should win over the environment: exit %d %s", code, errOut)
	}
	t.Setenv("CONNCRED_SERVER", "")
	os.Unsetenv("CONNCRED_SERVER")

	// An update changes only what its command line names, not the file's name.
	var app struct {
		App struct{ DisplayName, Description string }
	}
	if out, errOut, code := runRaw(t, "app", "update", "--id", appID, "--description", "d", "--json", "--config", path); code != 0 || json.Unmarshal([]byte(out), &app) != nil {
		t.Fatalf("update: exit %d %s%s", code, out, errOut)
	}
	if app.App.DisplayName != "Okta" || app.App.Description != "d" {
		t.Errorf("update with a config file naming name: %+v; want only the description changed", app.App)
	}

	for _, tc := range []struct{ text, want string }{
		{"sever = \"x\"\n", `unknown key "sever"`},
		{"config = \"other.toml\"\n", `unknown key "config"`},
		{"page-size = [1]\n", `key "page-size": want a string, number or boolean`},
		{"page-size = \"many\"\n", `page-size = many: invalid argument`},
		{"server = \n", "reading --config"},
	} {
		bad := writeConfig(t, tc.text)
		_, errOut, code := runRaw(t, "app", "list", "--config", bad)
		if code != 2 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, bad) {
			t.Errorf("config %q: exit %d, %q; want 2, the file and %q", tc.text, code, errOut, tc.want)
		}
	}
}
