package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/bench/loadgen/loadgentest"
	"github.com/conncred/conncred/internal/benchnode/benchnodetest"
)

func TestSweepAgainstTarget(t *testing.T) {
	fake := benchnodetest.New(t)
	dir := t.TempDir()
	chart, first := filepath.Join(dir, "sweep.png"), filepath.Join(dir, "first.json")
	base := []string{"--target", fake.URL, "--ca", fake.CAFile, "--credentials", fake.AdminFile,
		"--server-pid", "1", "--ceiling-time", "50ms", "--warmup", "100ms", "-d", "300ms", "--json"}

	// A first run, whose JSON the second draws beside its own.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(base, "--creds", "12", "-c", "2", "--label", "first"), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if err := os.WriteFile(first, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Credentials()); n != 2 {
		t.Errorf("12 credentials on a target went to %d connectors, want 2 (10 each at most)", n)
	}

	out.Reset()
	args := append(base, "--sweep", "1,2,4", "--http", "1.1", "--chart", chart, "--chart-with", first)
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rep loadgen.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.CeilingRuns) != 2 || rep.Ceiling != rep.CeilingRuns[0].Max(rep.CeilingRuns[1]) {
		t.Errorf("ceiling %+v is not the faster of its runs %+v", rep.Ceiling, rep.CeilingRuns)
	}
	if len(rep.Results) != 3 || rep.CeilingRate <= 0 || rep.Scenario.HTTP != "HTTP/1.1" || !rep.Scenario.ClientLocal {
		t.Fatalf("report: %+v", rep)
	}
	var served int64
	for i, res := range rep.Results {
		// A short point on a loaded machine may complete no request; none
		// may fail, and the sweep as a whole must have served some.
		if res.Concurrency != []int{1, 2, 4}[i] || res.Errors != nil {
			t.Errorf("point %d: %+v", i, res)
		}
		served += res.OK
		if want := res.Throughput / rep.CeilingRate; res.Ratio != want {
			t.Errorf("point %d: ratio %v, want %v", i, res.Ratio, want)
		}
	}
	if served == 0 {
		t.Errorf("the sweep served no request at any point: %+v", rep.Results)
	}
	for _, want := range []string{"measuring the Ed25519 ceiling", "req/s", "c=4"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	f, err := os.Open(chart)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("chart is %v", b)
	}
	if st, _ := f.Stat(); st.Size() > 64<<10 {
		t.Errorf("chart is %d bytes; keep it small", st.Size())
	}

	// --chart-only redraws from saved reports without a server.
	again := filepath.Join(dir, "again.png")
	if err := run(context.Background(), []string{"--chart-only", "--chart", again, "--chart-with", first, "--ceiling-time", "1ms"}, &out, &errOut); err != nil {
		t.Fatalf("--chart-only: %v", err)
	}
	if st, err := os.Stat(again); err != nil || st.Size() == 0 {
		t.Fatalf("--chart-only wrote no chart: %v", err)
	}
}

func TestTableOutput(t *testing.T) {
	fake := benchnodetest.New(t)
	var out, errOut bytes.Buffer
	args := []string{"--target", fake.URL, "--ca", fake.CAFile, "--credentials", fake.AdminFile,
		"--mode", "api", "--ceiling-time", "50ms", "--warmup", "0s", "-d", "300ms", "-c", "2"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{"authenticated API", "api ceiling = V", "of ceiling", "p99 ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFlagsRefuse(t *testing.T) {
	for name, args := range map[string][]string{
		"neither serve nor target": {},
		"both":                     {"--serve", "--target", "https://127.0.0.1:1", "--credentials", "x"},
		"remote target":            {"--target", "https://10.1.2.3:8443", "--credentials", "x"},
		"remote database":          {"--serve", "--db", "postgres://u@db.example.com:5432/x"},
		"two nodes on SQLite":      {"--serve", "--nodes", "2"},
		"unbounded duration":       {"--serve", "-d", "2h"},
		"bad sweep":                {"--serve", "--sweep", "1,x"},
		"zero concurrency":         {"--serve", "--sweep", "0"},
		"bad mode":                 {"--serve", "--mode", "grpc"},
		"bad http":                 {"--serve", "--http", "3"},
		"too many creds":           {"--serve", "--creds", "1000001"},
		"scale on a target":        {"--target", "https://127.0.0.1:1", "--credentials", "x", "--scale", "1000"},
		"scale on PostgreSQL":      {"--serve", "--db", "postgres://postgres@127.0.0.1:5432/test", "--scale", "1000"},
		"scale not a count":        {"--serve", "--scale", "1000,lots"},
		"scale of zero":            {"--serve", "--scale", "0"},
		"scale without requests":   {"--serve", "--scale", "10", "--scale-reps", "0"},
		"chart-only without input": {"--chart-only", "--chart", "x.png"},
		"plain over HTTP/2":        {"--serve", "--plain"},
		"raw client over HTTP/2":   {"--serve", "--client", "raw"},
		"unknown client":           {"--serve", "--client", "curl", "--http", "1.1"},
		"plain on a target":        {"--target", "http://127.0.0.1:1", "--credentials", "x", "--plain", "--http", "1.1"},
		"hydra without a target":   {"--serve", "--hydra-admin", "https://127.0.0.1:2"},
		"hydra in api mode":        {"--target", "https://127.0.0.1:1", "--hydra-admin", "https://127.0.0.1:2", "--mode", "api"},
		"remote hydra admin":       {"--target", "https://127.0.0.1:1", "--hydra-admin", "https://10.1.2.3:4445"},
		"audience for conncred":    {"--serve", "--audience", "https://127.0.0.1:1/auth/v1/token"},
		"relative token path":      {"--serve", "--token-path", "auth/v1/token"},
		"compare one report":       {"--compare", "a.json"},
	} {
		var errOut bytes.Buffer
		if _, err := parseFlags(args, &errOut); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := parseFlags([]string{"--target", "https://10.1.2.3:8443", "--credentials", "x", "--allow-remote"}, &bytes.Buffer{})
	if err != nil || c.perConnector != 10 {
		t.Errorf("--allow-remote: %v, per connector %v", err, c)
	}
	c, err = parseFlags([]string{"--target", "https://127.0.0.1:4444/", "--hydra-admin", "https://127.0.0.1:4445"}, &bytes.Buffer{})
	if err != nil || c.tokenPath != "/oauth2/token" || c.audience != "https://127.0.0.1:4444/oauth2/token" {
		t.Errorf("--hydra-admin: %v, token path %q, audience %q", err, c.tokenPath, c.audience)
	}
	c, err = parseFlags([]string{"--serve"}, &bytes.Buffer{})
	if err != nil || c.tokenPath != "/auth/v1/token" || c.audience != "" {
		t.Errorf("--serve: %v, token path %q, audience %q", err, c.tokenPath, c.audience)
	}
	c, err = parseFlags([]string{"--serve", "--scale", "1000, 1000000"}, &bytes.Buffer{})
	if err != nil || !slices.Equal(c.scale, []int{1000, 1000000}) || c.scaleReps != 300 {
		t.Errorf("--scale: %v, %+v", err, c)
	}
	c, err = parseFlags([]string{"--serve", "--db", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "--nodes", "2"}, &bytes.Buffer{})
	if err != nil || c.perConnector != 1000 || len(c.sweep) != 1 || c.sweep[0] != 32 {
		t.Errorf("serve on local PostgreSQL: %v, %+v", err, c)
	}
}

// TestHydraTarget drives the Hydra fake end to end: clients registered
// through its admin API, ES256 assertions to its token endpoint, and a
// report that says so.
func TestHydraTarget(t *testing.T) {
	fake := loadgentest.NewOAuth2(t)
	var out, errOut bytes.Buffer
	args := []string{"--target", fake.URL, "--hydra-admin", fake.URL, "--ca", fake.CAFile, "--creds", "2",
		"--ceiling-time", "50ms", "--warmup", "100ms", "-d", "300ms", "-c", "2", "--label", "hydra", "--json"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rep loadgen.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Scenario
	if s.Assertion != "ES256" || s.TokenPath != "/oauth2/token" || s.Label != "hydra" || len(rep.Results) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	if res := rep.Results[0]; res.Errors != nil || fake.Clients() != 2 || fake.Refused.Load() != 0 || fake.Exchanges.Load() == 0 {
		t.Fatalf("result %+v; %d clients, %d refused, %d issued", res, fake.Clients(), fake.Refused.Load(), fake.Exchanges.Load())
	}

	out.Reset()
	if err := rep.WriteText(&out); err != nil || !strings.Contains(out.String(), "POST /oauth2/token, fresh ES256 assertion") {
		t.Errorf("table: %v\n%s", err, out.String())
	}

	// The report against itself: every ratio is 1.
	path := filepath.Join(t.TempDir(), "hydra.json")
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"--compare", path, "--compare", path}, &out, &errOut); err != nil {
		t.Fatalf("--compare: %v\n%s", err, errOut.String())
	}
	// A loaded machine may complete no request in 300 ms: then the ratio
	// is "-", never a number.
	wantRatio := "1.000"
	if rep.Results[0].OK == 0 {
		wantRatio = "-"
	}
	if !strings.Contains(out.String(), "other: hydra (") || !strings.Contains(out.String(), wantRatio) {
		t.Errorf("comparison:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"--compare", path, "--compare", path + ".missing"}, &out, &errOut); err == nil {
		t.Error("--compare with a missing report: no error")
	}
}
