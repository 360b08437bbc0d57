package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/conncred/conncred"
)

// loginTokenRE finds a login link's token, for the golden files.
var loginTokenRE = regexp.MustCompile(`token=[A-Za-z0-9_\-]{43}`)

// TestConsoleCommand: the link is printed on stdout alone (so it can be
// piped), its expiry on stderr; it points at the server and signs in once.
func TestConsoleCommand(t *testing.T) {
	e := newCLIEnv(t)
	out, errOut, code := e.run(t, "console")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	raw := strings.TrimSuffix(out, "\n")
	u, err := url.Parse(raw)
	if err != nil || strings.Contains(raw, "\n") {
		t.Fatalf("stdout %q: want one URL", out)
	}
	if "https://"+u.Host != e.url || u.Path != "/console/login" {
		t.Errorf("link %q: want %s/console/login?token=...", raw, e.url)
	}
	if !strings.Contains(errOut, "works once, until ") {
		t.Errorf("stderr %q: want the expiry", errOut)
	}
	ctx := conncred.WithSource(context.Background(), "127.0.0.1:40000")
	if _, _, err := e.console.SignIn(ctx, u.Query().Get("token"), ""); err != nil {
		t.Errorf("signing in with the printed link: %v", err)
	}
	if _, _, err := e.console.SignIn(ctx, u.Query().Get("token"), ""); conncred.ErrorCode(err) != conncred.EUnauthenticated {
		t.Errorf("the printed link a second time: %v, want it spent", err)
	}
}

// TestConsoleOpen: --open hands the link to the desktop's opener, and a
// failing opener is reported without failing the command.
func TestConsoleOpen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fake opener is an xdg-open shell script")
	}
	e := newCLIEnv(t)
	bin := t.TempDir()
	got := filepath.Join(bin, "opened")
	script := "#!/bin/sh\nprintf '%s' \"$1\" > " + strconv.Quote(got) + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	out, errOut, code := e.run(t, "console", "--open")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	opened, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("the opener was not run: %v", err)
	}
	if string(opened) != strings.TrimSpace(out) {
		t.Errorf("opened %q, printed %q; want the same link", opened, out)
	}

	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = e.run(t, "console", "--open")
	if code != 0 || !strings.Contains(out, "/console/login?token=") || !strings.Contains(errOut, "could not open a browser") {
		t.Errorf("a failing opener: exit %d, stdout %q, stderr %q; want 0, the link, and a note", code, out, errOut)
	}
	if strings.Contains(errOut, "token=") {
		t.Errorf("stderr repeats the link: %q", errOut)
	}
}

// TestConsoleGolden pins the command's help and output, as TestCLIGolden
// does for the others (run with -update after an intended change).
func TestConsoleGolden(t *testing.T) {
	e := newCLIEnv(t)
	for _, step := range []struct {
		name string
		args []string
	}{
		{"console-help", []string{"console", "--help"}},
		{"console", []string{"console"}},
	} {
		t.Run(step.name, func(t *testing.T) {
			out, errOut, code := e.run(t, step.args...)
			got := "exit " + strconv.Itoa(code) + "\n--- stdout\n" + out + "--- stderr\n" + errOut
			got = normalizeGolden(loginTokenRE.ReplaceAllString(got, "token=<TOKEN>"), e.dir)
			path := filepath.Join("testdata", "golden", step.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/conncred -run TestConsoleGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("conncred %s: output differs from %s\n--- got\n%s\n--- want\n%s", strings.Join(step.args, " "), path, got, want)
			}
		})
	}
}
