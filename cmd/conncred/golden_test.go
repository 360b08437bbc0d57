package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.txt from the current output")

// goldenNormalizers replace what differs between runs (ids, client ids,
// secrets, times, the test server's address and directory) with
// placeholders, and runs of spaces (table padding, which follows the
// widths of those values) with two.
var goldenNormalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`secret-token:conncred:v1:[A-Za-z0-9_\-]+`), "<SECRET>"},
	{regexp.MustCompile(`[a-z]+-[a-z]+-\d+@[^\s/"]+/(ccc|pcc)`), "<CLIENT-ID>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`), "<TIME>"},
	{regexp.MustCompile(`\b[0-9A-Za-z]{27}\b`), "<ID>"},
	{regexp.MustCompile(`https://127\.0\.0\.1:\d+`), "<SERVER>"},
	{regexp.MustCompile(` {2,}`), "  "},
}

func normalizeGolden(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "<DIR>")
	for _, n := range goldenNormalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// TestCLIGolden pins what the CLI prints, byte for byte after
// normalization: tables, the one-time secret and its warning, errors and
// their exit codes, and the help of the commands an operator starts with.
// Run with -update after an intended change, and read the diff.
func TestCLIGolden(t *testing.T) {
	e := newCLIEnv(t)
	var app struct{ App struct{ ID string } }
	e.mustJSON(t, &app, "app", "create", "--name", "Okta")
	var conn connectorJSON
	e.mustJSON(t, &conn, "connector", "create", "--app", app.App.ID, "--name", "okta-prod")
	cred := func() string {
		var list struct{ List []struct{ ID string } }
		e.mustJSON(t, &list, "credential", "list", "--app", app.App.ID, "--connector", conn.ConnectorView.Connector.ID)
		if len(list.List) == 0 {
			t.Fatal("no credential")
		}
		return list.List[0].ID
	}
	ac := []string{"--app", app.App.ID, "--connector", conn.ConnectorView.Connector.ID}
	for _, step := range []struct {
		name string
		args func() []string
	}{
		{"help", func() []string { return []string{"--help"} }},
		{"credential-get-help", func() []string { return []string{"credential", "get", "--help"} }},
		{"app-get", func() []string { return []string{"app", "get", "--id", app.App.ID} }},
		{"connector-list", func() []string { return []string{"connector", "list", "--app", app.App.ID} }},
		{"credential-rotate", func() []string { return append([]string{"credential", "rotate", "--name", "sync agent"}, ac...) }},
		{"credential-list", func() []string { return append([]string{"credential", "list"}, ac...) }},
		{"credential-revoke", func() []string { return append([]string{"credential", "revoke", "--id", cred()}, ac...) }},
		{"credential-get-revoked", func() []string { return append([]string{"credential", "get", "--id", cred()}, ac...) }},
		{"credential-get-unknown", func() []string {
			return append([]string{"credential", "get", "--id", "2HErg7BRmNdHgX8sTCWVq4E1fz0"}, ac...)
		}},
		{"credential-get-missing-flag", func() []string { return []string{"credential", "get", "--app", app.App.ID} }},
		{"whoami", func() []string { return []string{"whoami"} }},
	} {
		t.Run(step.name, func(t *testing.T) {
			out, errOut, code := e.run(t, step.args()...)
			got := normalizeGolden("exit "+strconv.Itoa(code)+"\n--- stdout\n"+out+"--- stderr\n"+errOut, e.dir)
			path := filepath.Join("testdata", "golden", step.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/conncred -run TestCLIGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("conncred %s: output differs from %s\n--- got\n%s\n--- want\n%s", step.name, path, got, want)
			}
		})
	}
}
