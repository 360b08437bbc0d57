package loadgen

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/conncred/conncred/internal/benchnode"
)

// Report is a whole run: the scenario, the machine, its ceiling, and one
// result per load point.
type Report struct {
	Scenario Scenario `json:"scenario"`
	Machine  Machine  `json:"machine"`
	Ceiling  Ceiling  `json:"ceiling"`
	// CeilingRuns are the ceiling's measurements, before and after the
	// load; Ceiling is the faster of them (Ceiling.Max).
	CeilingRuns []Ceiling `json:"ceilingRuns,omitempty"`
	// CeilingRate is the ceiling of this scenario's mode, in requests per
	// second; every result's Ratio is against it.
	CeilingRate float64  `json:"ceilingRate"`
	Results     []Result `json:"results"`
}

// Scenario says what was measured.
type Scenario struct {
	Label       string `json:"label"`
	Mode        Mode   `json:"mode"`
	Server      string `json:"server"` // sqlite, postgres, or the target's URL
	Nodes       int    `json:"nodes"`
	Credentials int    `json:"credentials"`
	HTTP        string `json:"http"` // HTTP/2 or HTTP/1.1
	// Client is the generator's HTTP client: "net" (Go's net/http) or
	// "raw" (the minimal HTTP/1.1 client).
	Client string `json:"client,omitempty"`
	TLS    bool   `json:"tls"`
	// ClientLocal says the generator shared the server's machine, so the
	// ceiling includes the client's signatures.
	ClientLocal bool   `json:"clientLocal"`
	Warmup      string `json:"warmup"`
	Duration    string `json:"duration"`
	// TokenPath and Assertion say which token endpoint the exchanges went
	// to and how their assertions were signed: conncred's /auth/v1/token
	// with EdDSA, or another server's (such as Hydra's /oauth2/token) with
	// ES256. Reports from before these fields were conncred's.
	TokenPath string `json:"tokenPath,omitempty"`
	Assertion string `json:"assertion,omitempty"`
}

// Machine says where it was measured.
type Machine struct {
	CPUs  int    `json:"cpus"`
	Model string `json:"model"`
	Go    string `json:"go"`
	OS    string `json:"os"`
}

// ThisMachine describes the machine the generator runs on.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// SetCeiling fills in the ceiling of r's mode and every result's ratio.
func (r *Report) SetCeiling(c Ceiling) {
	r.Ceiling = c
	if r.Scenario.Mode == ModeAPI {
		r.CeilingRate = c.API()
	} else {
		r.CeilingRate = c.Exchange(r.Scenario.ClientLocal)
	}
	for i := range r.Results {
		r.SetRatio(&r.Results[i])
	}
}

// SetRatio fills in res's ceiling and ratio from r's.
func (r *Report) SetRatio(res *Result) {
	res.Ceiling = r.CeilingRate
	if r.CeilingRate > 0 {
		res.Ratio = res.Throughput / r.CeilingRate
	}
}

// cryptoMicros is the server's unavoidable CPU time per request on one
// core: one verify (plus one sign for an exchange).
func (r *Report) cryptoMicros() float64 {
	c := r.Ceiling
	if c.SignPerSec <= 0 || c.VerifyPerSec <= 0 {
		return 0
	}
	us := float64(c.Procs) / c.VerifyPerSec
	if r.Scenario.Mode != ModeAPI {
		us += float64(c.Procs) / c.SignPerSec
	}
	return us * 1e6
}

// WriteText writes r as a header and a table.
func (r *Report) WriteText(w io.Writer) error {
	s, m, c := r.Scenario, r.Machine, r.Ceiling
	what := fmt.Sprintf("token exchange (POST %s, fresh %s assertion per request)",
		cmp.Or(s.TokenPath, benchnode.TokenPath), cmp.Or(s.Assertion, "EdDSA"))
	if s.Mode == ModeAPI {
		what = "authenticated API (GET /api/v1/auth/introspect, bearer token)"
	}
	tls := "TLS"
	if !s.TLS {
		tls = "plaintext"
	}
	fmt.Fprintf(w, "scenario: %s — %s\n", s.Label, what)
	client := ""
	if s.Client == "raw" {
		client = " (raw client)"
	}
	fmt.Fprintf(w, "server:   %s, %d node(s), %d credential(s), %s over %s%s, %s warm-up + %s per point\n",
		s.Server, s.Nodes, s.Credentials, s.HTTP, tls, client, s.Warmup, s.Duration)
	fmt.Fprintf(w, "machine:  %d × %s, %s, %s\n", m.CPUs, m.Model, m.Go, m.OS)
	fmt.Fprintf(w, "ceiling:  Ed25519 on %d cores: sign %.0f/s (%.1f µs/core), verify %.0f/s (%.1f µs/core)\n",
		c.Procs, c.SignPerSec, perCore(c.Procs, c.SignPerSec), c.VerifyPerSec, perCore(c.Procs, c.VerifyPerSec))
	if len(r.CeilingRuns) > 1 {
		fmt.Fprintf(w, "          the faster of %d measurements (before and after the load):", len(r.CeilingRuns))
		for _, run := range r.CeilingRuns {
			fmt.Fprintf(w, " sign %.0f/s verify %.0f/s;", run.SignPerSec, run.VerifyPerSec)
		}
		fmt.Fprintln(w)
	}
	switch {
	case s.Mode == ModeAPI:
		fmt.Fprintf(w, "          api ceiling = V = %.0f req/s\n", r.CeilingRate)
	case s.ClientLocal:
		fmt.Fprintf(w, "          exchange ceiling = 1/(1/S_client + 1/V + 1/S) = %.0f req/s (client on this machine)\n", r.CeilingRate)
	default:
		fmt.Fprintf(w, "          exchange ceiling = 1/(1/V + 1/S) = %.0f req/s (client elsewhere)\n", r.CeilingRate)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "c\treq/s\tof ceiling\trequests\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tsrv CPU s\tsrv µs/req\tcrypto share\tsrv peak RSS\tgen CPU s\t")
	crypto := r.cryptoMicros()
	for _, res := range r.Results {
		perReq, share := "-", "-"
		if us := res.ServerMicros(); us > 0 {
			perReq = fmt.Sprintf("%.0f", us)
			if crypto > 0 {
				share = fmt.Sprintf("%.0f%%", 100*crypto/us)
			}
		}
		rss := "-"
		if res.ServerPeakRSS > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(res.ServerPeakRSS)/(1<<20))
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.2f\t%d\t%.2f\t%.2f\t%.2f\t%.1f\t%s\t%.1f\t%s\t%s\t%s\t%.1f\t\n",
			res.Concurrency, res.Throughput, res.Ratio, res.Requests, res.P50Ms, res.P90Ms, res.P99Ms, res.MaxMs,
			formatErrors(res.Errors), res.ServerCPUSeconds, perReq, share, rss, res.ClientCPUSeconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if res.FirstError != "" {
			fmt.Fprintf(w, "c=%d first error: %s\n", res.Concurrency, res.FirstError)
		}
		if len(res.DB) > 0 {
			fmt.Fprintf(w, "c=%d database rows (inserted/updated/deleted, live after):", res.Concurrency)
			for _, name := range sortedKeys(res.DB) {
				t := res.DB[name]
				fmt.Fprintf(w, " %s %d/%d/%d (%d)", name, t.Inserted, t.Updated, t.Deleted, t.Live)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

func perCore(procs int, rate float64) float64 {
	if rate <= 0 {
		return 0
	}
	return float64(procs) / rate * 1e6
}

func formatErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "0"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
