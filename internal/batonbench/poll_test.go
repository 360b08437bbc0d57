package batonbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
)

// The deployment the issue sizes the BatonService for: 10,000 connectors
// polling every 5 s (serve's default next_poll) is 2,000 polls a second.
const (
	targetConnectors = 10_000
	targetInterval   = 5 * time.Second
	targetRate       = float64(targetConnectors) / 5 // calls per second
)

// baselineEnv names a conncred binary built from another commit; the
// test then measures it beside this tree's build, phase by phase in the
// same run, and logs the ratios.
const baselineEnv = "CONNCRED_BATON_BENCH_BASELINE"

// TestPollThroughput drives GetTask polls and Heartbeats from many
// connectors (CONNCRED_BATON_BENCH_CONNECTORS, default 1,000), each with
// its own credential, token and connection, against a real serve over
// TLS + HTTP/2 on SQLite and, with CONNCRED_TEST_POSTGRES_URL, on
// PostgreSQL: with kept-alive connections and with a fresh connection per
// call as baton-sdk dials. Every connector says Hello first, as both SDK
// generations do at start-up. Workers (default 64) each keep one call in
// flight and take the connectors in turn (8 for the fresh connections,
// CONNCRED_BATON_BENCH_FRESH_WORKERS), for CONNCRED_BATON_BENCH_SECONDS
// (default 10) per round.
//
// With CONNCRED_BATON_BENCH_BASELINE=<binary> the same phases run on that
// build too, in CONNCRED_BATON_BENCH_PAIRS (default 2) alternating rounds
// (before, after, after, before, ...), so load from other tenants falls on
// both alike; the log gives each build's figures and their ratio. It logs
// calls per second, the server's CPU and read/write syscalls per call
// from /proc, what 10,000 connectors polling every 5 s would cost, and CPU
// profiles (not counted rounds) of the GetTask phases.
func TestPollThroughput(t *testing.T) {
	needBench(t)
	b := newBenchRun(t)
	n := envInt(t, "CONNCRED_BATON_BENCH_CONNECTORS", 1000)
	workers := envInt(t, "CONNCRED_BATON_BENCH_WORKERS", 64)
	// Fewer callers for the fresh connections: 64 TLS handshakes in flight
	// on a busy shared machine pass the client's 5 s handshake timeout,
	// and what is measured is the server's CPU per call, not its queue.
	freshWorkers := envInt(t, "CONNCRED_BATON_BENCH_FRESH_WORKERS", 8)
	for _, db := range b.stores {
		targets := b.start(t, db, n)
		label := targets[0].nd.dbLabel
		run := func(name string, l load, call callFunc) {
			compare(t, label+": "+name, targets, b.pairs, l, call)
		}
		kept := load{workers: workers, dur: b.dur}
		fresh := load{workers: freshWorkers, dur: b.dur}
		run("GetTask, kept-alive connections", kept, getTask(false))
		run("GetTask, a fresh TLS connection per call", fresh, getTask(true))
		for _, tg := range targets {
			profile(t, tg, label+"-gettask-kept", b.outDir, kept, getTask(false))
			profile(t, tg, label+"-gettask-fresh", b.outDir, fresh, getTask(true))
		}
		for _, tg := range targets {
			tg.startSyncs(t)
		}
		run("Heartbeat, kept-alive connections", kept, heartbeat(false))
		run("Heartbeat, a fresh TLS connection per call", fresh, heartbeat(true))
		stopTargets(targets)
	}
}

// TestPollTarget is the deployment itself, on kept-alive
// connections: CONNCRED_BATON_BENCH_TARGET_CONNECTORS (default 9,000; two
// builds' connections must fit the test's 20,000 descriptors) connectors
// each polling once per n/2,000 s (4.5 s for 9,000), so 2,000 polls a
// second as 10,000 connectors every 5 s make, with the caches missing as
// they do at that spacing (the credential cache keeps an entry 1 s). It
// logs the cores the server used over the phase, measured, not derived
// from a faster run; with a baseline, for both builds alternately.
func TestPollTarget(t *testing.T) {
	needBench(t)
	b := newBenchRun(t)
	n := envInt(t, "CONNCRED_BATON_BENCH_TARGET_CONNECTORS", 9000)
	every := time.Duration(float64(n) / targetRate * float64(time.Second))
	for _, db := range b.stores {
		targets := b.start(t, db, n)
		label := targets[0].nd.dbLabel
		paced := load{workers: 256, dur: b.dur, every: every}
		compare(t, fmt.Sprintf("%s: GetTask, kept-alive, %d connectors each every %v", label, n, every), targets, b.pairs, paced, getTask(false))
		for _, tg := range targets {
			profile(t, tg, label+"-gettask-target", b.outDir, paced, getTask(false))
		}
		stopTargets(targets)
	}
}

// benchRun is what both poll tests share: the builds, stores and timing.
type benchRun struct {
	builds []string
	bins   map[string]string
	stores []string
	pairs  int
	dur    time.Duration
	outDir string
}

func newBenchRun(t *testing.T) *benchRun {
	t.Helper()
	r := &benchRun{builds: []string{"after"}, bins: map[string]string{"after": binary(t)}, stores: []string{""},
		pairs: envInt(t, "CONNCRED_BATON_BENCH_PAIRS", 2), dur: time.Duration(envInt(t, "CONNCRED_BATON_BENCH_SECONDS", 10)) * time.Second,
		outDir: os.Getenv("CONNCRED_BATON_BENCH_OUT")}
	if r.outDir == "" {
		r.outDir = t.TempDir()
	}
	if b := os.Getenv(baselineEnv); b != "" {
		r.builds = []string{"before", "after"}
		r.bins["before"] = b
	} else {
		r.pairs = 1
	}
	if pg := os.Getenv("CONNCRED_TEST_POSTGRES_URL"); pg != "" {
		r.stores = append(r.stores, pg)
	} else {
		t.Log("CONNCRED_TEST_POSTGRES_URL is unset: polls on PostgreSQL not measured")
	}
	return r
}

// start runs every build on db (SQLite for "") with n connectors each.
func (r *benchRun) start(t *testing.T, db string, n int) []*target {
	t.Helper()
	var targets []*target
	for _, b := range r.builds {
		// One IP holds every connection here, and 1,000 kept-alive ones
		// exceed serve's defaults (--max-conns 1024, per IP 128), which
		// stand for many connectors on many addresses. A connector polls
		// every few seconds; the bench leaves connections idle between
		// phases for longer than serve's default idle timeout (2m), which
		// would close them under it.
		nd := startNodeOf(t, r.bins[b], db, "--max-conns", fmt.Sprint(2*n+1024), "--max-conns-per-ip", "-1", "--idle-timeout", "1h")
		targets = append(targets, newTarget(t, b, nd, n))
	}
	return targets
}

func stopTargets(targets []*target) {
	for _, tg := range targets {
		tg.close()
		tg.nd.Stop()
	}
}

// getTask is an empty poll, on the connector's kept-alive connection or a
// fresh one.
func getTask(fresh bool) callFunc {
	return func(ctx context.Context, tg *target, c *connector) error {
		resp, err := c.client(fresh).GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"}))
		switch {
		case err != nil:
			return err
		case resp.Msg.GetNextPoll() == nil:
			return fmt.Errorf("GetTask without next_poll")
		case resp.Msg.GetTask().GetId() != "":
			return fmt.Errorf("an empty poll handed out task %s", resp.Msg.GetTask().GetId())
		}
		return nil
	}
}

// heartbeat beats the connector's running sync.
func heartbeat(fresh bool) callFunc {
	return func(ctx context.Context, tg *target, c *connector) error {
		_, err := c.client(fresh).Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "bench", TaskId: tg.tasks[c]}))
		return err
	}
}

// target is one server being measured: a build on a store, with its own
// connectors.
type target struct {
	build string // "after" (this tree) or "before" (the baseline)
	nd    *node
	cs    []*connector
	tasks map[*connector]string // each connector's running sync, for heartbeats
}

// callFunc is one call of a phase, by connector c of tg.
type callFunc func(ctx context.Context, tg *target, c *connector) error

// newTarget makes n connectors on nd, has each say Hello as a connector
// does at start-up, and opens each one's kept-alive connection with a
// first poll: a connector polls for hours on one connection, so
// handshakes are not the steady state.
func newTarget(t *testing.T, build string, nd *node, n int) *target {
	t.Helper()
	made := time.Now()
	tg := &target{build: build, nd: nd, cs: makeConnectors(t, nd, n)}
	t.Cleanup(tg.close)
	hello := func(ctx context.Context, _ *target, c *connector) error {
		_, err := c.kept.Hello(ctx, connect.NewRequest(&batonv1.BatonServiceHelloRequest{HostId: "bench",
			BuildInfo: &batonv1.BatonServiceHelloRequest_BuildInfo{LangVersion: "go", Package: "batonbench", PackageVersion: "0"}}))
		return err
	}
	poll := func(ctx context.Context, _ *target, c *connector) error {
		_, err := c.kept.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"}))
		return err
	}
	for _, call := range []callFunc{hello, poll} {
		if r := runPhase(t, tg, load{workers: 16}, call); r.firstErr != nil {
			t.Fatalf("%s: setting up connectors: %v", build, r.firstErr)
		}
	}
	t.Logf("%s (%s): %d connectors, each with a credential, an access token, a Hello and a kept-alive connection, made in %v",
		build, nd.dbLabel, n, time.Since(made).Round(time.Millisecond))
	return tg
}

func (tg *target) close() {
	for _, c := range tg.cs {
		c.tr.CloseIdleConnections()
	}
}

// startSyncs gives every connector a running sync to heartbeat.
func (tg *target) startSyncs(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	tg.tasks = make(map[*connector]string, len(tg.cs))
	for i, c := range tg.cs {
		if err := forceSync(ctx, tg.nd, c); err != nil {
			t.Fatal(err)
		}
		resp, err := c.kept.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"}))
		if err != nil {
			t.Fatal(err)
		}
		if tg.tasks[c] = resp.Msg.GetTask().GetId(); tg.tasks[c] == "" {
			t.Fatalf("%s: connector %d: no task after force_sync", tg.build, i)
		}
	}
}

// compare runs one phase on every target, pairs times each, alternating
// the order (before, after, after, before, ...), and logs each target's
// sums and the ratio after/before.
func compare(t *testing.T, name string, targets []*target, pairs int, l load, call callFunc) {
	t.Helper()
	sums := make(map[string]*phaseResult, len(targets))
	for r := range pairs {
		for i := range targets {
			tg := targets[i]
			if r%2 == 1 {
				tg = targets[len(targets)-1-i]
			}
			res := runPhase(t, tg, l, call)
			if s := sums[tg.build]; s == nil {
				sums[tg.build] = &res
			} else {
				s.add(res)
			}
		}
	}
	for _, tg := range targets {
		sums[tg.build].log(t, tg.build+" "+name)
	}
	if b, a := sums["before"], sums["after"]; b != nil && a != nil {
		t.Logf("%s: after/before server CPU per call %.2f (%.0f → %.0f µs), syscalls per call %.2f (%.1f → %.1f), generator CPU per call %.2f",
			name, a.cpuPerCall()/b.cpuPerCall(), b.cpuPerCall(), a.cpuPerCall(),
			a.syscallsPerCall()/b.syscallsPerCall(), b.syscallsPerCall(), a.syscallsPerCall(),
			a.genPerCall()/b.genPerCall())
	}
}

// profile saves and logs a CPU profile of tg's server over one round of
// the phase (not counted in the figures: profiling costs CPU itself).
func profile(t *testing.T, tg *target, name, outDir string, l load, call callFunc) {
	t.Helper()
	path := filepath.Join(outDir, fmt.Sprintf("baton-%s-%s.pprof", tg.build, strings.ReplaceAll(name, " ", "-")))
	done := make(chan error, 1)
	go func() { done <- fetchProfile(tg.nd.debug, l.dur-time.Second, path) }()
	res := runPhase(t, tg, l, call)
	if err := <-done; err != nil {
		t.Errorf("profile: %v", err)
		return
	}
	if res.firstErr != nil {
		t.Errorf("%s %s (profiled round): %v", tg.build, name, res.firstErr)
	}
	logProfile(t, tg.nd.bin, tg.build+" "+name, path)
}
