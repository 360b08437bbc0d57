// Command conncred-bench is conncred's load generator. It starts a server
// (or targets a running one on this machine), creates credentials, and
// drives POST /auth/v1/token with a freshly signed assertion per request,
// or authenticated API calls, from concurrent workers for a fixed time. It
// reports throughput, latency and the server's CPU and memory against the
// ceiling set by this machine's Ed25519 speed. BENCHMARKS.md has the
// figures and how to reproduce them.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/conncred/conncred/bench/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "conncred-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	if len(cfg.scale) > 0 {
		return runScale(ctx, cfg, stdout, logf)
	}
	if cfg.chartOnly {
		return writeChart(cfg, nil)
	}
	if len(cfg.compare) > 0 {
		return compare(cfg.compare[0], cfg.compare[1], stdout)
	}

	// The ceiling first, on an idle machine: nothing else is running yet.
	logf("measuring the Ed25519 ceiling (%s each for sign and verify on every core)...", cfg.ceilingTime)
	ceiling := loadgen.MeasureCeiling(ctx, cfg.ceilingTime)
	if err := ctx.Err(); err != nil {
		return err
	}
	if cfg.ceilingOnly {
		fmt.Fprintf(stdout, "Ed25519 on %d cores: sign %.0f/s, verify %.0f/s\n", ceiling.Procs, ceiling.SignPerSec, ceiling.VerifyPerSec)
		fmt.Fprintf(stdout, "exchange ceiling %.0f/s (client on this machine), %.0f/s (client elsewhere); api ceiling %.0f/s\n",
			ceiling.Exchange(true), ceiling.Exchange(false), ceiling.API())
		return nil
	}

	env, err := setUp(ctx, cfg, logf)
	if env != nil {
		defer env.close()
	}
	if err != nil {
		return err
	}

	rep := loadgen.Report{Scenario: scenario(cfg, env), Machine: loadgen.ThisMachine()}
	rep.SetCeiling(ceiling)
	logf("ceiling: sign %.0f/s, verify %.0f/s on %d cores → %.0f req/s for this mode", ceiling.SignPerSec, ceiling.VerifyPerSec, ceiling.Procs, rep.CeilingRate)

	for _, conc := range cfg.sweep {
		load := loadgen.Load{
			Mode: loadgen.Mode(cfg.mode), Targets: env.targets, Signers: env.signers, Tokens: env.tokens, TokenPath: cfg.tokenPath,
			Concurrency: conc, Warmup: cfg.warmup, Duration: cfg.duration,
			ServerPIDs: env.pids, Progress: stderr,
		}
		logf("-- c=%d: %s warm-up, then %s measured", conc, cfg.warmup, cfg.duration)
		res, err := env.measure(ctx, cfg, load)
		if err != nil {
			return err
		}
		rep.SetRatio(&res)
		rep.Results = append(rep.Results, res)
		logf("   c=%d: %.0f req/s (%.2f of ceiling), p50 %.2f ms, p99 %.2f ms, errors %d",
			conc, res.Throughput, res.Ratio, res.P50Ms, res.P99Ms, res.Requests-res.OK)
	}

	// The ceiling again, now that the load is over, and the faster of the
	// two is the one every ratio is against.
	logf("measuring the Ed25519 ceiling again...")
	again := loadgen.MeasureCeiling(ctx, cfg.ceilingTime)
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.CeilingRuns = []loadgen.Ceiling{ceiling, again}
	rep.SetCeiling(ceiling.Max(again))
	logf("ceiling after the load: sign %.0f/s, verify %.0f/s; ratios are against the faster: %.0f req/s", again.SignPerSec, again.VerifyPerSec, rep.CeilingRate)

	if cfg.chart != "" {
		if err := writeChart(cfg, &rep); err != nil {
			return err
		}
		logf("chart written to %s", cfg.chart)
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(stdout)
}

// scenario describes the run for the report.
func scenario(cfg *config, env *env) loadgen.Scenario {
	s := loadgen.Scenario{
		Label: cfg.label, Mode: loadgen.Mode(cfg.mode), Server: env.server, Nodes: len(env.targets),
		Credentials: cfg.creds, HTTP: "HTTP/" + cfg.http, TLS: strings.HasPrefix(env.targets[0].URL, "https://"), Client: cfg.client,
		ClientLocal: !cfg.clientRemote, Warmup: cfg.warmup.String(), Duration: cfg.duration.String(),
		TokenPath: cfg.tokenPath, Assertion: "EdDSA",
	}
	if cfg.hydraAdmin != "" {
		s.Assertion = "ES256"
	}
	if s.Label == "" {
		s.Label = env.server
		if s.Nodes > 1 {
			s.Label += fmt.Sprintf(" ×%d nodes", s.Nodes)
		}
		if s.Credentials > 1 {
			s.Label += fmt.Sprintf(", %d creds", s.Credentials)
		}
		if s.Mode == loadgen.ModeAPI {
			s.Label += ", api"
		}
	}
	return s
}

// measure runs one load point, with the database's row counters read
// around it and the server recorded by perf when asked.
func (e *env) measure(ctx context.Context, cfg *config, load loadgen.Load) (loadgen.Result, error) {
	pg := e.db != "" && strings.HasPrefix(e.db, "postgres")
	var before map[string]loadgen.TableCounts
	if pg {
		before, _ = loadgen.TableStats(ctx, e.db)
	}
	var wg sync.WaitGroup
	if cfg.cpuprofile != "" && len(load.ServerPIDs) > 0 {
		out := cfg.cpuprofile
		if len(cfg.sweep) > 1 {
			out = fmt.Sprintf("%s.c%d", out, load.Concurrency)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := perfRecord(ctx, out, load.ServerPIDs, load.Warmup, load.Duration); err != nil {
				fmt.Fprintln(load.Progress, "perf record:", err)
			}
		}()
	}
	res, err := loadgen.Run(ctx, load)
	wg.Wait()
	if err != nil {
		return res, err
	}
	if pg && before != nil {
		// Backends publish their row counts about once a second.
		time.Sleep(2 * time.Second)
		if after, err := loadgen.TableStats(ctx, e.db); err == nil {
			res.DB = loadgen.DiffTables(before, after)
		}
	}
	for _, n := range e.nodes {
		if !n.Alive() {
			return res, fmt.Errorf("server %s exited during the load; its log is %s", n.URL, n.LogFile)
		}
	}
	return res, nil
}

// readReport reads a JSON report of an earlier run.
func readReport(path string) (loadgen.Report, error) {
	var r loadgen.Report
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// compare prints the reports at basePath and otherPath side by side.
func compare(basePath, otherPath string, w io.Writer) error {
	base, err := readReport(basePath)
	if err != nil {
		return err
	}
	other, err := readReport(otherPath)
	if err != nil {
		return err
	}
	return loadgen.Compare(w, base, other)
}

// writeChart draws the --chart-with reports and rep, if not nil.
func writeChart(cfg *config, rep *loadgen.Report) error {
	reports := []loadgen.Report{}
	for _, f := range cfg.chartWith {
		r, err := readReport(f)
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}
	if rep != nil {
		reports = append(reports, *rep)
	}
	ch := loadgen.Chart{Title: chartTitle(reports[len(reports)-1])}
	seen := map[float64]bool{}
	for _, r := range reports {
		ch.Series = append(ch.Series, loadgen.SeriesOf(r))
		if g := goalFor(r.Scenario); g.Ratio > 0 && !seen[g.Ratio] {
			seen[g.Ratio] = true
			ch.Goals = append(ch.Goals, g)
		}
	}
	if err := os.MkdirAll(filepath.Dir(cfg.chart), 0o755); err != nil {
		return err
	}
	f, err := os.Create(cfg.chart)
	if err != nil {
		return err
	}
	if err := ch.WritePNG(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func chartTitle(r loadgen.Report) string {
	what := "token exchange"
	if r.Scenario.Mode == loadgen.ModeAPI {
		what = "authenticated API"
	}
	return fmt.Sprintf("conncred %s, %s over TLS, %d x %s", what, r.Scenario.HTTP, r.Machine.CPUs, r.Machine.Model)
}

// goalFor is the target ratio for a scenario: token exchange at 60%
// of the ceiling on SQLite and 45% on PostgreSQL; API calls at 70% of raw
// verify.
func goalFor(s loadgen.Scenario) loadgen.Goal {
	switch {
	case s.Mode == loadgen.ModeAPI:
		return loadgen.Goal{Ratio: 0.70, Label: "API target 0.70"}
	case s.Server == "sqlite":
		return loadgen.Goal{Ratio: 0.60, Label: "SQLite target 0.60"}
	case s.Server == "postgres":
		return loadgen.Goal{Ratio: 0.45, Label: "PostgreSQL target 0.45"}
	}
	return loadgen.Goal{}
}
