package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds conncred once per test run, with version variables set as
// scripts/build.sh sets them, under the machine's GOFLAGS (here
// -buildvcs=false, so the toolchain records no revision of its own).
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "conncred-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "conncred")
		out, err := exec.Command("go", "build", "-ldflags",
			"-X main.version=v9.8.7 -X main.revision=0123abcd -X main.buildDate=2026-11-28T20:55:12Z",
			"-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = &exec.ExitError{Stderr: out}
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

func TestBinaryVersion(t *testing.T) {
	bin := binary(t)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(out)), "conncred v9.8.7 (revision 0123abcd, built 2026-11-28T20:55:12Z, go"; !strings.HasPrefix(got, want) {
			t.Errorf("conncred %v: got %q, want it to start with %q", args, got, want)
		}
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var b buildInfo
	if err := json.Unmarshal(out, &b); err != nil || b.Version != "v9.8.7" || b.Revision != "0123abcd" || b.BuildDate != "2026-11-28T20:55:12Z" {
		t.Errorf("version --json: %s (%v)", out, err)
	}
}

// TestResolveVersion: without -ldflags, the toolchain's record fills in,
// and what nothing tells is "unknown".
func TestResolveVersion(t *testing.T) {
	vcs := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "feedface"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}}}, true
	}
	noVCS := func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true }
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, tc := range []struct {
		name         string
		v, rev, date string
		read         func() (*debug.BuildInfo, bool)
		want         buildInfo
	}{
		{"ldflags win", "v9", "r9", "d9", vcs, buildInfo{Version: "v9", Revision: "r9", BuildDate: "d9"}},
		{"toolchain record", "", "", "", vcs, buildInfo{Version: "v1.2.3", Revision: "feedface", BuildDate: "2026-01-02T03:04:05Z"}},
		{"-buildvcs=false", "", "", "", noVCS, buildInfo{Version: "(devel)", Revision: "unknown", BuildDate: "unknown"}},
		{"no build info", "", "", "", none, buildInfo{Version: "unknown", Revision: "unknown", BuildDate: "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveVersion(tc.v, tc.rev, tc.date, tc.read)
			got.GoVersion = ""
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestBinaryExitCodes: the real process, not just run's return value.
func TestBinaryExitCodes(t *testing.T) {
	bin := binary(t)
	for _, tc := range []struct {
		args []string
		code int
	}{{[]string{"--help"}, 0}, {[]string{"nosuch"}, 2}, {[]string{"app", "get"}, 2}, {nil, 2}} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(os.Environ(), "CONNCRED_DATA_DIR="+t.TempDir())
		_ = cmd.Run()
		if got := cmd.ProcessState.ExitCode(); got != tc.code {
			t.Errorf("conncred %v: exit %d, want %d", tc.args, got, tc.code)
		}
	}
}

// TestBashCompletionLoads: the script bash sources must load cleanly and
// register conncred's completion function.
func TestBashCompletionLoads(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := binary(t)
	out, err := exec.Command(bash, "-c", `set -e; source <("$0" completion bash); complete -p conncred`, bin).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "conncred") {
		t.Fatalf("bash could not load the completion: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "error") {
		t.Errorf("loading printed: %s", out)
	}
}
