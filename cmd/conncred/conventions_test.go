package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runRaw runs the CLI with exactly args (no --server or --data-dir added).
func runRaw(tb testing.TB, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

// leaves returns every runnable, visible command of the tree by path.
func leaves(root *cobra.Command) map[string]*cobra.Command {
	out := map[string]*cobra.Command{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if !c.HasSubCommands() {
			out[strings.TrimPrefix(c.CommandPath(), "conncred ")] = c
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

func TestExitCodesAndStreams(t *testing.T) {
	e := newCLIEnv(t)
	for _, tc := range []struct {
		name        string
		args        []string
		code        int
		wantStdout  string // substring; "" means stdout must be empty
		wantStderr  string // substring; "" means stderr must be empty
		withServerE bool   // append --server/--data-dir of the test server
	}{
		{"--help", []string{"--help"}, 0, "Available Commands", "", false},
		{"-h", []string{"-h"}, 0, "Available Commands", "", false},
		{"help verb", []string{"help", "credential", "rotate"}, 0, "--expires", "", false},
		{"verb --help", []string{"app", "get", "--help"}, 0, "Examples:", "", false},
		{"group --help", []string{"app", "--help"}, 0, "Available Commands", "", false},
		{"no command", nil, 2, "", "Run 'conncred --help' for usage.", false},
		{"unknown command", []string{"nosuch"}, 2, "", `unknown command "nosuch"`, false},
		{"unknown verb", []string{"app", "lsit"}, 2, "", "did you mean list?", false},
		{"unknown flag", []string{"app", "get", "--bogus"}, 2, "", "unknown flag: --bogus\nRun 'conncred app get --help' for usage.", false},
		{"missing flag", []string{"app", "get"}, 2, "", "missing --id\nRun 'conncred app get --help'", true},
		{"single-dash flag", []string{"app", "get", "-id", "x"}, 2, "", "-id: long flags take two dashes: --id", false},
		{"bad flag value", []string{"app", "list", "--page-size", "many"}, 2, "", `invalid argument "many"`, true},
		{"positional argument", []string{"app", "get", "extra"}, 2, "", `unexpected argument "extra"`, true},
		{"failure", []string{"app", "get", "--id", "2HErg7BRmNdHgX8sTCWVq4E1fyh"}, 1, "", "not found", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut string
			var code int
			if tc.withServerE {
				out, errOut, code = e.run(t, tc.args...)
			} else {
				out, errOut, code = runRaw(t, tc.args...)
			}
			if code != tc.code {
				t.Errorf("exit: got %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			for _, s := range []struct{ name, got, want string }{{"stdout", out, tc.wantStdout}, {"stderr", errOut, tc.wantStderr}} {
				if s.want == "" && s.got != "" {
					t.Errorf("%s: got %q, want nothing", s.name, s.got)
				}
				if !strings.Contains(s.got, s.want) {
					t.Errorf("%s: got %q, want it to contain %q", s.name, s.got, s.want)
				}
			}
		})
	}
}

// TestEveryCommandHasExample: help is where an operator looks first, and an
// example answers most questions before the flag list does.
func TestEveryCommandHasExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
}

var lowerCamel = regexp.MustCompile(`^[a-z][a-z0-9]*([A-Z][a-z0-9]*)*$`)

// TestJSONEveryCommand runs every command that has --json and checks that
// it prints one JSON object whose top-level keys are lowerCamelCase, in the
// API's envelopes. A command added with --json but not here fails the test.
func TestJSONEveryCommand(t *testing.T) {
	e := newCLIEnv(t)
	ids := map[string]string{}
	get := func(v map[string]any, path ...string) string {
		for _, p := range path[:len(path)-1] {
			v, _ = v[p].(map[string]any)
		}
		s, _ := v[path[len(path)-1]].(string)
		return s
	}
	dbDir, dlDir := t.TempDir(), t.TempDir()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	steps := []struct {
		cmd     string
		args    func() []string
		raw     bool     // no --server/--data-dir
		keys    []string // the envelope's top-level keys, sorted
		capture func(map[string]any)
	}{
		{"app create", func() []string { return []string{"--name", "Okta"} }, false, []string{"app"}, func(v map[string]any) { ids["app"] = get(v, "app", "id") }},
		{"app get", func() []string { return []string{"--id", ids["app"]} }, false, []string{"app"}, nil},
		{"app list", func() []string { return nil }, false, []string{"list", "nextPageToken"}, nil},
		{"app update", func() []string { return []string{"--id", ids["app"], "--description", "d"} }, false, []string{"app"}, nil},
		{"connector create", func() []string { return []string{"--app", ids["app"]} }, false, []string{"connectorView", "expanded"}, func(v map[string]any) { ids["conn"] = get(v, "connectorView", "connector", "id") }},
		{"connector get", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"]} }, false, []string{"connectorView", "expanded"}, nil},
		{"connector list", func() []string { return []string{"--app", ids["app"]} }, false, []string{"expanded", "list", "nextPageToken"}, nil},
		{"connector update", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"], "--name", "n"} }, false, []string{"connectorView", "expanded"}, nil},
		{"connector status", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"]} }, false, []string{"canResumeSync", "status"}, nil},
		// The connector then runs the forced sync, so there is a c1z to download.
		{"connector sync", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"]} }, false, []string{"canResumeSync", "status", "syncId"}, func(v map[string]any) {
			ids["sync"] = get(v, "syncId")
			e.runConnectorSync(t, ids["app"], ids["conn"], []byte("C1ZF\x00c1z"))
		}},
		{"connector schedule", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"], "--cron", "0 3 * * *"} }, false, []string{"canResumeSync", "nextSyncAt", "schedule", "status"}, nil},
		{"connector pause", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"]} }, false, []string{"canResumeSync", "nextSyncAt", "schedule", "status", "syncDisabledAt"}, nil},
		{"connector resume", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"]} }, false, []string{"canResumeSync", "nextSyncAt", "schedule", "status"}, nil},
		{"sync list", func() []string { return []string{"--app", ids["app"], "--connector", ids["conn"]} }, false, []string{"list", "nextPageToken"}, nil},
		{"sync get", func() []string { return []string{"--app", ids["app"], "--connector", ids["conn"], "--id", ids["sync"]} }, false, []string{"sync"}, nil},
		{"sync download", func() []string {
			return []string{"--app", ids["app"], "--connector", ids["conn"], "--id", ids["sync"], "--output", filepath.Join(dlDir, "s.c1z")}
		}, false, []string{"sync"}, nil},
		{"credential rotate", func() []string { return []string{"--app", ids["app"], "--connector", ids["conn"]} }, false, []string{"clientSecret", "credential"}, func(v map[string]any) {
			ids["cred"] = get(v, "credential", "id")
			ids["credFile"] = writeCredFile(t, v)
		}},
		{"credential get", func() []string { return []string{"--app", ids["app"], "--connector", ids["conn"], "--id", ids["cred"]} }, false, []string{"credential"}, nil},
		{"credential list", func() []string { return []string{"--app", ids["app"], "--connector", ids["conn"]} }, false, []string{"list", "nextPageToken"}, nil},
		{"policy set", func() []string {
			return []string{"--app", ids["app"], "--connector", ids["conn"], "--max-lifetime", "90d", "--expiry-warnings", "14d,1d"}
		}, false, []string{"effective", "policy", "scope", "scopeId"}, nil},
		{"policy get", func() []string { return nil }, false, []string{"effective", "policy", "scope"}, nil},
		{"credential source-limit set", func() []string {
			return []string{"--app", ids["app"], "--connector", ids["conn"], "--id", ids["cred"], "--allow-cidr", "127.0.0.0/8,::1"}
		}, false, []string{"allowSourceCidr"}, nil},
		{"credential source-limit get", func() []string { return []string{"--app", ids["app"], "--connector", ids["conn"], "--id", ids["cred"]} }, false, []string{"allowSourceCidr"}, nil},
		{"credential self-rotate", func() []string { return []string{"--credentials", ids["credFile"], "--grace", "1h"} }, false, []string{"clientSecret", "credential", "retired"}, func(v map[string]any) { ids["selfFile"] = writeCredFile(t, v) }},
		{"credential self-revoke", func() []string { return []string{"--credentials", ids["selfFile"]} }, false, []string{}, nil},
		{"settings session get", func() []string { return nil }, false, []string{"sessionSettings"}, nil},
		{"settings session set", func() []string {
			return []string{"--connector-source", "127.0.0.0/8,::1", "--connector-source-enabled"}
		}, false, []string{"sessionSettings"}, nil},
		{"settings session test-source-ip", func() []string { return []string{"--cidr", "10.0.0.0/8", "--ip", "10.1.2.3"} }, false, []string{"allowed", "checkedIp"}, nil},
		{"credential dpop set", func() []string { return []string{"--id", ids["cred"], "--require"} }, false, []string{"credentialId", "requireDpop"}, nil},
		{"credential dpop get", func() []string { return []string{"--id", ids["cred"]} }, false, []string{"credentialId", "requireDpop"}, nil},
		{"credential revoke", func() []string { return []string{"--app", ids["app"], "--connector", ids["conn"], "--id", ids["cred"]} }, false, []string{}, nil},
		{"trust create", func() []string {
			return []string{"--issuer", "https://token.actions.githubusercontent.com", "--app", ids["app"], "--connector", ids["conn"], "--condition", `claims.repository == "acme/connectors"`}
		}, false, []string{"trust"}, func(v map[string]any) { ids["trust"] = get(v, "trust", "id") }},
		{"trust get", func() []string { return []string{"--id", ids["trust"]} }, false, []string{"trust"}, nil},
		{"trust list", func() []string { return []string{"--all"} }, false, []string{"list", "nextPageToken"}, nil},
		{"trust update", func() []string { return []string{"--id", ids["trust"], "--max-token-lifetime", "15m"} }, false, []string{"trust"}, nil},
		{"trust delete", func() []string { return []string{"--id", ids["trust"]} }, false, []string{"trust"}, nil},
		{"admin create", func() []string {
			return []string{"--name", "deploy", "--allow-source-cidr", "127.0.0.0/8,::1", "--scoped-role", "admin"}
		}, false, []string{"client", "clientSecret"}, func(v map[string]any) { ids["admin"] = get(v, "client", "id") }},
		{"admin get", func() []string { return []string{"--id", ids["admin"]} }, false, []string{"client"}, nil},
		{"admin list", func() []string { return nil }, false, []string{"list", "nextPageToken"}, nil},
		{"admin search", func() []string { return []string{"--query", "deploy"} }, false, []string{"list", "nextPageToken"}, nil},
		{"admin update", func() []string { return []string{"--id", ids["admin"], "--name", "deploy (old)", "--expires", "30d"} }, false, []string{"client"}, nil},
		{"admin revoke", func() []string { return []string{"--id", ids["admin"]} }, false, []string{}, nil},
		{"webhook add", func() []string {
			return []string{"--url", receiver.URL + "/hook", "--event", "webhook.test,credential.expiring"}
		}, false, []string{"signingSecret", "webhook"}, func(v map[string]any) { ids["hook"] = get(v, "webhook", "id") }},
		{"webhook get", func() []string { return []string{"--id", ids["hook"]} }, false, []string{"webhook"}, nil},
		{"webhook list", func() []string { return []string{"--all"} }, false, []string{"list", "nextPageToken"}, nil},
		{"webhook test", func() []string { return []string{"--id", ids["hook"]} }, false, []string{"eventId"}, func(v map[string]any) {
			ids["event"] = get(v, "eventId")
			if _, err := e.webhooks.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		{"webhook deliveries", func() []string { return []string{"--id", ids["hook"]} }, false, []string{"attempts", "list", "nextPageToken"}, nil},
		{"webhook redeliver", func() []string { return []string{"--id", ids["hook"], "--event", ids["event"]} }, false, []string{}, nil},
		{"webhook delete", func() []string { return []string{"--id", ids["hook"]} }, false, []string{}, nil},
		{"console", func() []string { return nil }, false, []string{"expiresAt", "id", "url"}, nil},
		{"keys list", func() []string { return nil }, false, []string{"list"}, nil},
		{"keys rotate", func() []string { return nil }, false, []string{"key"}, nil},
		{"audit", func() []string { return nil }, false, []string{"list", "nextPageToken"}, nil},
		// The token endpoint's names are RFC 6749's (access_token, ...), which
		// every OAuth tool reads: the API's envelope wins over the casing rule.
		{"token", func() []string { return nil }, false, []string{"access_token", "expires_in", "token_type"}, nil},
		{"whoami", func() []string { return nil }, false, []string{"clientId", "credentialId", "expiresAt", "features", "permissions", "principleId", "roles", "userId"}, nil},
		{"version", func() []string { return nil }, true, []string{"buildDate", "goVersion", "revision", "version"}, nil},
		{"migrate status", func() []string { return []string{"--data-dir", dbDir} }, true, []string{"list"}, nil},
		{"migrate apply", func() []string { return []string{"--data-dir", dbDir} }, true, []string{"list"}, nil},
		{"connector delete", func() []string { return []string{"--app", ids["app"], "--id", ids["conn"]} }, false, []string{}, nil},
		{"app delete", func() []string { return []string{"--id", ids["app"]} }, false, []string{}, nil},
	}
	covered := map[string]bool{}
	for _, st := range steps {
		covered[st.cmd] = true
		t.Run(st.cmd, func(t *testing.T) {
			args := append(append(strings.Fields(st.cmd), st.args()...), "--json")
			var out, errOut string
			var code int
			if st.raw {
				out, errOut, code = runRaw(t, args...)
			} else {
				out, errOut, code = e.run(t, args...)
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out)
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
				if !lowerCamel.MatchString(k) && st.cmd != "token" {
					t.Errorf("key %q is not lowerCamelCase", k)
				}
			}
			sort.Strings(keys)
			if got, want := strings.Join(keys, ","), strings.Join(st.keys, ","); got != want {
				t.Errorf("top-level keys: got %s, want %s", got, want)
			}
			if st.capture != nil {
				st.capture(v)
			}
		})
	}
	for path, c := range leaves(newRoot()) {
		if c.Flags().Lookup("json") != nil && !covered[path] {
			t.Errorf("%q takes --json but this test does not run it", path)
		}
	}
}

// writeCredFile writes the credential of a rotate's --json answer to a
// credential file for --credentials, and returns its path.
func writeCredFile(tb testing.TB, v map[string]any) string {
	tb.Helper()
	cred, _ := v["credential"].(map[string]any)
	id, _ := cred["clientId"].(string)
	sec, _ := v["clientSecret"].(string)
	b, err := json.Marshal(credentialFile{ClientID: id, ClientSecret: sec})
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "credential.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
