package main

import (
	"strings"
	"testing"
)

// completions runs the hidden __complete command as the shell scripts do
// and returns the suggestions and the directive line.
func completions(t *testing.T, args ...string) (lines []string, directive string) {
	t.Helper()
	out, _, code := runRaw(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d", args, code)
	}
	all := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return all[:len(all)-1], all[len(all)-1]
}

func TestCompleteStatic(t *testing.T) {
	lines, dir := completions(t, "app", "")
	want := []string{"create\tcreate an app", "get\tshow an app", "list\tlist apps, oldest first"}
	for _, w := range want {
		if !contains(lines, w) {
			t.Errorf("__complete app '': got %q, want a line %q", lines, w)
		}
	}
	if dir != ":4" { // ShellCompDirectiveNoFileComp
		t.Errorf("directive: got %q, want :4", dir)
	}
	lines, _ = completions(t, "credential", "rotate", "--exp")
	if !contains(lines, "--expires\tlifetime, in hours (720h) or days (30d) (default: none, or the server's maximum)") {
		t.Errorf("__complete credential rotate --exp: got %q", lines)
	}
}

// TestCompleteIDs: --app completes app ids with names, --connector the
// connector ids of the given --app, and any failure completes nothing
// without an error in the output.
func TestCompleteIDs(t *testing.T) {
	e := newCLIEnv(t)
	appID, connID := setupConnector(t, e)
	conn := []string{"--server", e.url, "--data-dir", e.dir}
	lines, dir := completions(t, append(append([]string{"connector", "list"}, conn...), "--app", "")...)
	if !contains(lines, appID+"\tOkta") || dir != ":4" {
		t.Errorf("--app: got %q %s, want %q", lines, dir, appID+"\tOkta")
	}
	lines, _ = completions(t, append(append([]string{"credential", "rotate"}, conn...), "--app", appID, "--connector", connID[:3])...)
	if len(lines) != 1 || lines[0] != connID+"\tokta sync" {
		t.Errorf("--connector: got %q, want %q", lines, connID+"\tokta sync")
	}
	lines, _ = completions(t, append(append([]string{"credential", "rotate"}, conn...), "--connector", "")...)
	if len(lines) != 0 {
		t.Errorf("--connector without --app: got %q, want nothing", lines)
	}
	for name, args := range map[string][]string{
		"server down":   {"credential", "list", "--server", "https://127.0.0.1:1", "--data-dir", e.dir, "--app", ""},
		"no credential": {"credential", "list", "--server", e.url, "--data-dir", t.TempDir(), "--app", ""},
		"plain http":    {"credential", "list", "--server", "http://127.0.0.1:1", "--data-dir", e.dir, "--app", ""},
	} {
		out, _, code := runRaw(t, append([]string{"__complete"}, args...)...)
		if code != 0 || out != ":4\n" {
			t.Errorf("%s: exit %d, stdout %q; want only the directive", name, code, out)
		}
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
