package loadgen_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/internal/benchnode"
	"github.com/conncred/conncred/internal/benchnode/benchnodetest"
)

func TestCeilingFormula(t *testing.T) {
	c := loadgen.Ceiling{Procs: 2, SignPerSec: 40000, VerifyPerSec: 20000}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// 1/(2/S + 1/V) = 1/(2/40000 + 1/20000) = 10000
		{"client on this machine", c.Exchange(true), 10000},
		// 1/(1/S + 1/V) = 1/(1/40000 + 1/20000) = 13333
		{"client elsewhere", c.Exchange(false), 40000.0 / 3},
		{"api", c.API(), 20000},
		{"unmeasured", loadgen.Ceiling{}.Exchange(true), 0},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-6 {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestMeasureCeiling(t *testing.T) {
	// Speeds are reported, not asserted: on a shared machine the two
	// measurements can see very different loads.
	c := loadgen.MeasureCeiling(context.Background(), 100*time.Millisecond)
	if c.Procs < 1 || c.SignPerSec <= 0 || c.VerifyPerSec <= 0 {
		t.Fatalf("got %+v", c)
	}
	t.Logf("sign %.0f/s, verify %.0f/s on %d procs", c.SignPerSec, c.VerifyPerSec, c.Procs)

	// A cancelled measurement returns instead of running its minute.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		loadgen.MeasureCeiling(ctx, time.Minute)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // far under the minute it would run
		t.Error("a cancelled measurement did not return")
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, u := range []string{"https://127.0.0.1:8443", "https://127.1.2.3", "https://localhost:1", "https://[::1]:8443", "postgres://postgres@127.0.0.1:5432/test"} {
		if err := loadgen.CheckLoopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"https://10.0.0.1:8443", "https://example.com", "https://192.168.1.1", "https://0.0.0.0:8443", "https://[::]:1", "no-host"} {
		if err := loadgen.CheckLoopback(u); err == nil {
			t.Errorf("%s: accepted", u)
		}
	}
}

// fixture starts the fake and logs in as its admin.
func fixture(t *testing.T, http2 bool) (*benchnodetest.Server, loadgen.Target, *benchnode.Admin) {
	t.Helper()
	fake := benchnodetest.New(t)
	hc, err := benchnode.HTTPClient(fake.CAFile, http2, 8)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := benchnode.LoadCredential(fake.AdminFile)
	if err != nil {
		t.Fatal(err)
	}
	a, err := benchnode.NewAdmin(context.Background(), hc, fake.URL, admin)
	if err != nil {
		t.Fatal(err)
	}
	return fake, loadgen.Target{URL: fake.URL, Client: hc}, a
}

func TestRunTokenMode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		h2, raw bool
	}{{"HTTP/2", true, false}, {"HTTP/1.1", false, false}, {"raw HTTP/1.1", false, true}} {
		h2 := tc.h2
		t.Run(tc.name, func(t *testing.T) {
			fake, target, a := fixture(t, h2)
			if tc.raw {
				target.Raw = rawDialer(t, fake)
			}
			creds, err := a.CreateCredentials(context.Background(), 3, 10, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			var signers []loadgen.Asserter
			for _, c := range creds {
				s, err := benchnode.NewSigner(c)
				if err != nil {
					t.Fatal(err)
				}
				signers = append(signers, s)
			}
			var progress bytes.Buffer
			start := time.Now()
			res, err := loadgen.Run(context.Background(), loadgen.Load{
				Mode: loadgen.ModeToken, Targets: []loadgen.Target{target}, Signers: signers,
				Concurrency: 4, Warmup: 200 * time.Millisecond, Duration: 1100 * time.Millisecond,
				ServerPIDs: []int{os.Getpid()}, Progress: &progress,
			})
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > time.Minute {
				t.Errorf("a 1.3s load took %v", took) // it stops by itself, however loaded the machine
			}
			if res.OK == 0 || res.OK != res.Requests || res.Errors != nil {
				t.Fatalf("ok %d of %d, errors %v (%s)", res.OK, res.Requests, res.Errors, res.FirstError)
			}
			// Every exchange the fake served was a fresh, well-formed
			// assertion (it refuses anything else), and the warm-up's
			// are served but not counted.
			if served := fake.Exchanges.Load() - 1; served < res.OK {
				t.Errorf("fake served %d exchanges, result counts %d", served, res.OK)
			}
			if got := fake.HTTP2.Load() > 0; got != h2 {
				t.Errorf("requests over HTTP/2: %v, want %v", got, h2)
			}
			if res.P50Ms <= 0 || res.P50Ms > res.P99Ms || res.P99Ms > res.MaxMs {
				t.Errorf("latencies p50 %v p99 %v max %v", res.P50Ms, res.P99Ms, res.MaxMs)
			}
			if d := math.Abs(res.Throughput - float64(res.OK)/1.1); d > 1e-6 {
				t.Errorf("throughput %v, want ok/duration", res.Throughput)
			}
			// CPU time is read from /proc in clock ticks: a server that a
			// loaded machine gave little time can read 0, never less.
			if res.ServerCPUSeconds < 0 || res.ServerPeakRSS <= 0 {
				t.Errorf("server stats: cpu %v rss %v", res.ServerCPUSeconds, res.ServerPeakRSS)
			}
			if !strings.Contains(progress.String(), "req/s") {
				t.Errorf("no progress line: %q", progress.String())
			}
		})
	}
}

func TestRunAPIModeAndErrors(t *testing.T) {
	t.Run("net", func(t *testing.T) { testRunAPIModeAndErrors(t, false) })
	t.Run("raw", func(t *testing.T) { testRunAPIModeAndErrors(t, true) })
}

func rawDialer(t *testing.T, fake *benchnodetest.Server) *loadgen.RawDialer {
	t.Helper()
	d, err := loadgen.NewRawDialer(fake.URL, fake.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testRunAPIModeAndErrors(t *testing.T, raw bool) {
	fake, target, a := fixture(t, true)
	creds, err := a.CreateCredentials(context.Background(), 2, 10, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, c := range creds {
		s, _ := benchnode.NewSigner(c)
		tok, err := benchnode.Exchange(context.Background(), target.Client, target.URL, s)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	// One good token, one the server never issued: half the calls fail
	// with 401, and the result says so by status.
	tokens = append(tokens[:1], "not-a-token")
	if raw {
		target.Raw = rawDialer(t, fake)
	}
	res, err := loadgen.Run(context.Background(), loadgen.Load{
		Mode: loadgen.ModeAPI, Targets: []loadgen.Target{target}, Tokens: tokens,
		Concurrency: 2, Duration: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 || res.Errors["401"] == 0 || res.OK+res.Errors["401"] != res.Requests {
		t.Fatalf("ok %d, errors %v of %d", res.OK, res.Errors, res.Requests)
	}
	if fake.APICalls.Load() < res.OK {
		t.Errorf("fake served %d calls, result counts %d ok", fake.APICalls.Load(), res.OK)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	_, target, _ := fixture(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := loadgen.Run(ctx, loadgen.Load{
		Mode: loadgen.ModeAPI, Targets: []loadgen.Target{target}, Tokens: []string{"x"},
		Concurrency: 2, Duration: time.Minute,
	})
	if err == nil {
		t.Fatal("cancelled run: no error")
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("cancelled run took %v", took)
	}
}

func TestRunValidates(t *testing.T) {
	tgt := []loadgen.Target{{URL: "https://127.0.0.1:1"}}
	for name, l := range map[string]loadgen.Load{
		"no target":      {Mode: loadgen.ModeAPI, Tokens: []string{"x"}, Concurrency: 1, Duration: time.Second},
		"no signers":     {Mode: loadgen.ModeToken, Targets: tgt, Concurrency: 1, Duration: time.Second},
		"no tokens":      {Mode: loadgen.ModeAPI, Targets: tgt, Concurrency: 1, Duration: time.Second},
		"no concurrency": {Mode: loadgen.ModeAPI, Targets: tgt, Tokens: []string{"x"}, Duration: time.Second},
		"no duration":    {Mode: loadgen.ModeAPI, Targets: tgt, Tokens: []string{"x"}, Concurrency: 1},
		"bad mode":       {Mode: "x", Targets: tgt, Tokens: []string{"x"}, Concurrency: 1, Duration: time.Second},
		"bad token path": {Mode: loadgen.ModeAPI, Targets: tgt, Tokens: []string{"x"}, Concurrency: 1, Duration: time.Second, TokenPath: "oauth2/token"},
	} {
		if _, err := loadgen.Run(context.Background(), l); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestCeilingMax: the ratio is against the faster measurement of each
// operation, so a slow moment during one of them never flatters the load.
func TestCeilingMax(t *testing.T) {
	before := loadgen.Ceiling{Procs: 2, SignPerSec: 80000, VerifyPerSec: 30000}
	after := loadgen.Ceiling{Procs: 2, SignPerSec: 60000, VerifyPerSec: 36000}
	got := before.Max(after)
	if got.SignPerSec != 80000 || got.VerifyPerSec != 36000 || got.Procs != 2 {
		t.Fatalf("Max: %+v", got)
	}
	if got.Exchange(true) < before.Exchange(true) || got.Exchange(true) < after.Exchange(true) {
		t.Errorf("the combined ceiling %v is below one of its measurements", got.Exchange(true))
	}
	rep := loadgen.Report{Scenario: loadgen.Scenario{Mode: loadgen.ModeToken, ClientLocal: true}, Results: []loadgen.Result{{Throughput: 1000}}}
	rep.SetCeiling(got)
	if want := 1000 / got.Exchange(true); rep.Results[0].Ratio != want {
		t.Errorf("ratio %v, want %v", rep.Results[0].Ratio, want)
	}
}

func TestCompare(t *testing.T) {
	base := loadgen.Report{Scenario: loadgen.Scenario{Label: "conncred", Server: "sqlite"}, Results: []loadgen.Result{
		{Concurrency: 16, Throughput: 5000, OK: 50000, ServerCPUSeconds: 10},
		{Concurrency: 64, Throughput: 6000, OK: 60000},
	}}
	other := loadgen.Report{Scenario: loadgen.Scenario{Label: "hydra", Server: "https://127.0.0.1:4444", Assertion: "ES256"}, Results: []loadgen.Result{
		{Concurrency: 16, Throughput: 250, OK: 2500, ServerCPUSeconds: 5},
		{Concurrency: 64, Throughput: 300, OK: 3000, ServerCPUSeconds: 6},
	}}
	var out bytes.Buffer
	if err := loadgen.Compare(&out, base, other); err != nil {
		t.Fatal(err)
	}
	// c=16: 250/5000 = 0.050; 2000 µs against 200 µs = 10.000. At c=64
	// base's CPU is unknown: its ratio is "-", never a number.
	for _, want := range []string{"conncred (sqlite, EdDSA", "hydra (https://127.0.0.1:4444, ES256", "0.050", "200", "2000", "10.000", "0.050  "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, out.String())
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(strings.TrimSpace(last), "-") || !strings.HasPrefix(strings.TrimSpace(last), "64") {
		t.Errorf("c=64 line %q: want an unknown CPU ratio as -", last)
	}
	other.Results = other.Results[:0]
	if err := loadgen.Compare(&out, base, other); err == nil {
		t.Error("reports with no common point: no error")
	}
}
