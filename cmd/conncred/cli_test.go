package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	consolesignin "github.com/conncred/conncred/console"
	"github.com/conncred/conncred/dpop"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/server"
	"github.com/conncred/conncred/store/sqlite"
	"github.com/conncred/conncred/webhook"
)

// cliEnv is a real server (authority over SQLite) behind httptest TLS, and a
// data dir holding its bootstrap admin credential and CA, as `serve --dev`
// leaves them.
type cliEnv struct {
	url, dir string
	baton    *baton.Service         // the BatonService's rules, to play a connector
	webhooks *webhook.Service       // the webhooks wing, whose RunOnce delivers
	console  *consolesignin.Service // the console sign-in wing, to redeem login links
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The public host is the address the server listens on, as serve
	// makes it by default: a DPoP proof's htu names the public URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := authority.New(ctx, authority.Config{PublicHost: ln.Addr().String()}, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := bootstrap(ctx, a, filepath.Join(dir, "admin-credential.json"), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// The wings are registered as serve registers them.
	life := lifecycle.New(lifecycle.Config{}, a, st, nil)
	a.SetSourceGuard(life)
	fed := federation.New(federation.Config{PublicHost: a.PublicHost()}, st, a, nil, nil)
	t.Cleanup(func() { fed.Close() })
	arts, err := baton.NewDirStore(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	bs := baton.New(baton.Config{}, baton.Deps{Store: st, Artifacts: arts, Audit: a.RecordAudit})
	policies, err := policy.New(policy.Config{}, a, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetLifetimeLimiter(policies)
	a.SetScopeBindingPolicy(policies)
	pol := dpop.NewPolicy(st, a, nil)
	a.SetBindingPolicy(pol)
	ver := dpop.NewVerifier(dpop.Config{Window: time.Minute}, st, nil)
	keys, err := webhook.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	hooks := webhook.New(webhook.Config{Targets: webhook.TargetPolicy{AllowLoopbackHTTP: true}}, st, keys, a, nil)
	signin := consolesignin.New(a, st, nil, consolesignin.Config{})
	srv := httptest.NewUnstartedServer(server.New(server.Config{Console: signin, Federation: fed, Lifecycle: life, Personal: personal.New(a, st, life), Baton: bs, DPoP: ver, DPoPPolicy: pol, Policy: policies, Webhooks: hooks}, a, slog.New(slog.DiscardHandler)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	return &cliEnv{url: srv.URL, dir: dir, baton: bs, webhooks: hooks, console: signin}
}

func (e *cliEnv) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, er bytes.Buffer
	full := append(args, "--server", e.url, "--data-dir", e.dir)
	code = run(context.Background(), full, &o, &er)
	return o.String(), er.String(), code
}

func (e *cliEnv) mustJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, code := e.run(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("conncred %v: exit %d\n%s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("conncred %v --json: %v\n%s", args, err, out)
	}
}

// connectorJSON is the part of the API's connector envelope tests read.
type connectorJSON struct {
	ConnectorView struct{ Connector struct{ ID string } }
}

func TestCLIWalkthrough(t *testing.T) {
	e := newCLIEnv(t)
	var app struct{ App struct{ ID string } }
	e.mustJSON(t, &app, "app", "create", "--name", "Okta")
	var conn connectorJSON
	e.mustJSON(t, &conn, "connector", "create", "--app", app.App.ID)

	// A rotate prints the secret once, on stdout, with a warning on stderr.
	out, errOut, code := e.run(t, "credential", "rotate", "--app", app.App.ID, "--connector", conn.ConnectorView.Connector.ID)
	if code != 0 {
		t.Fatalf("rotate: exit %d: %s", code, errOut)
	}
	i := strings.Index(out, "secret-token:conncred:v1:")
	if i < 0 || strings.Count(out, "secret-token:") != 1 {
		t.Fatalf("rotate output should show the secret exactly once:\n%s", out)
	}
	sec := strings.Fields(out[i:])[0]
	if strings.Contains(errOut, sec) || !strings.Contains(errOut, "only time the client secret is shown") {
		t.Fatalf("stderr: %q", errOut)
	}
	for _, h := range []string{"ID", "CLIENT ID", "NAME", "CREATED", "EXPIRES", "LAST USED", "DELETED"} {
		if !strings.Contains(out, h) {
			t.Errorf("rotate table lacks column %q:\n%s", h, out)
		}
	}

	var list struct {
		List []struct {
			ID           string
			ClientSecret *string
			DeletedAt    *string
		}
	}
	e.mustJSON(t, &list, "credential", "list", "--app", app.App.ID, "--connector", conn.ConnectorView.Connector.ID)
	if len(list.List) != 1 || list.List[0].ClientSecret != nil {
		t.Fatalf("list: %+v", list)
	}
	id := list.List[0].ID
	if _, errOut, code := e.run(t, "credential", "revoke", "--app", app.App.ID, "--connector", conn.ConnectorView.Connector.ID, "--id", id); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	out, _, _ = e.run(t, "credential", "get", "--app", app.App.ID, "--connector", conn.ConnectorView.Connector.ID, "--id", id)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Contains(out, "secret-token") {
		t.Fatalf("get should print a header and one row, and no secret:\n%s", out)
	}
	if row := strings.Fields(lines[1]); row[len(row)-1] == "-" || !strings.HasSuffix(row[len(row)-1], "Z") {
		t.Fatalf("get after revoke should show the DELETED time:\n%s", out)
	}

	// whoami, keys, audit.
	if out, errOut, code := e.run(t, "whoami"); code != 0 || !strings.Contains(out, "[admin]") {
		t.Fatalf("whoami: %d %s %s", code, out, errOut)
	}
	if out, _, code := e.run(t, "keys", "list"); code != 0 || !strings.Contains(out, "true") {
		t.Fatalf("keys list: %d %s", code, out)
	}
	// Audit events are written behind (the e2e tests read them back); here
	// the command must run and print its table.
	if out, errOut, code := e.run(t, "audit", "--kind", "credential.revoked"); code != 0 || !strings.Contains(out, "KIND") {
		t.Fatalf("audit: %d %s %s", code, out, errOut)
	}
}

func TestCLIErrors(t *testing.T) {
	e := newCLIEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"app", "get", "--id", "2HErg7BRmNdHgX8sTCWVq4E1fyh"}, 1, "not found"},
		{[]string{"app", "get"}, 2, "missing --id"},
		{[]string{"app", "frobnicate"}, 2, "unknown app command"},
		{[]string{"credential", "rotate", "--app", "x"}, 2, "missing --connector"},
		{[]string{"nosuch"}, 2, "unknown command"},
	} {
		_, errOut, code := e.run(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("conncred %v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	var o, er bytes.Buffer
	if code := run(context.Background(), []string{"app", "list", "--data-dir", t.TempDir(), "--server", e.url}, &o, &er); code != 1 || !strings.Contains(er.String(), "no credential") {
		t.Errorf("without a credential: exit %d, %q", code, er.String())
	}
}

func TestCredentialSources(t *testing.T) {
	dir := t.TempDir()
	f := clientFlags{dataDir: dir}
	if _, err := f.credential(); err == nil {
		t.Fatal("no source: want an error")
	}
	os.WriteFile(filepath.Join(dir, "admin-credential.json"), []byte(`{"clientId":"file@h/pcc","clientSecret":"s"}`), 0o600)
	if c, err := f.credential(); err != nil || c.ClientID != "file@h/pcc" {
		t.Fatalf("data dir file: %+v %v", c, err)
	}
	t.Setenv("CONNCRED_CLIENT_ID", "env@h/pcc")
	t.Setenv("CONNCRED_CLIENT_SECRET", "s")
	if c, _ := f.credential(); c.ClientID != "env@h/pcc" {
		t.Fatalf("environment should win over the data dir: %+v", c)
	}
	explicit := filepath.Join(dir, "c.json")
	os.WriteFile(explicit, []byte(`{"clientId":"flag@h/pcc","clientSecret":"s"}`), 0o600)
	f.credentials = explicit
	if c, _ := f.credential(); c.ClientID != "flag@h/pcc" {
		t.Fatalf("--credentials should win: %+v", c)
	}
}

func TestServeConfigFromEnvironment(t *testing.T) {
	t.Setenv("CONNCRED_MAX_ACTIVE_CREDENTIALS", "3")
	t.Setenv("CONNCRED_PUBLIC_HOST", "c1.example.test:8443")
	var cfg serveConfig
	fs := newFlagSet("serve", "", &bytes.Buffer{})
	cfg.flags(fs)
	if err := parse(fs, []string{"--max-active-credentials", "5", "--dev"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxActiveCredentials != 5 || cfg.PublicHost != "c1.example.test:8443" {
		t.Fatalf("flags must win over the environment: %+v", cfg)
	}
	noTLS := serveConfig{Listen: "127.0.0.1:8443", LogFormat: "text", MaxConns: 1, MaxBodyBytes: 1 << 20, MaxHeaderBytes: 1 << 16}
	if err := noTLS.Validate(); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("serving without TLS must be refused with a reason: %v", err)
	}
}

func TestBootstrapFileIsPrivate(t *testing.T) {
	e := newCLIEnv(t)
	st, err := os.Stat(filepath.Join(e.dir, "admin-credential.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin-credential.json mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
}

// TestServeLimits checks that serve's limits reach the HTTP server: a huge
// header block is refused with 431, and a client that stalls mid-headers is
// disconnected.
func TestServeLimits(t *testing.T) {
	var cfg serveConfig
	fs := newFlagSet("serve", "", &bytes.Buffer{})
	cfg.flags(fs)
	if err := parse(fs, []string{"--dev", "--max-header-bytes", "8192", "--read-header-timeout", "200ms"}); err != nil {
		t.Fatal(err)
	}
	srv := httpServer(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("X-Pad", strings.Repeat("a", 64<<10))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a 64 KiB header with --max-header-bytes 8192: %d, want 431", resp.StatusCode)
		}
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("a client stalled in its headers was not disconnected")
		}
	}
}

// TestDebugListen: the profiler has no authentication, so it is refused on
// anything but a loopback address, and when on, it answers there and only
// there, apart from the API.
func TestDebugListen(t *testing.T) {
	base := serveConfig{Listen: "127.0.0.1:0", Dev: true, LogFormat: "text", MaxConns: 1, MaxBodyBytes: 1 << 20, MaxHeaderBytes: 1 << 16}
	for addr, ok := range map[string]bool{
		"127.0.0.1:6060": true, "[::1]:6060": true,
		"0.0.0.0:6060": false, ":6060": false, "localhost:6060": false, "10.1.2.3:6060": false, "127.0.0.1": false,
	} {
		cfg := base
		cfg.DebugListen = addr
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("--debug-listen %s: got %v, want ok=%v", addr, err, ok)
		}
	}
	srv := httptest.NewServer(debugServer().Handler)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("profiler: %d %.80q", resp.StatusCode, body)
	}
}

// TestTuneGC: the server's GOGC default applies only when the operator set
// none.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if got := tuneGC(func(string) string { return "" }); got != serverGCPercent || debug.SetGCPercent(serverGCPercent) != serverGCPercent {
		t.Errorf("no GOGC: %d in force, want %d", got, serverGCPercent)
	}
	debug.SetGCPercent(150) // as the runtime would for GOGC=150
	if got := tuneGC(func(k string) string { return map[string]string{"GOGC": "150"}[k] }); got != 150 || debug.SetGCPercent(150) != 150 {
		t.Errorf("GOGC=150: %d in force, want 150", got)
	}
}
