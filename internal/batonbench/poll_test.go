package batonbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/internal/benchnode"
)

// The deployment the issue sizes the BatonService for: 10,000 connectors
// polling every 5 s (serve's default next_poll) is 2,000 polls a second.
const (
	targetConnectors = 10_000
	targetInterval   = 5 * time.Second
	targetRate       = float64(targetConnectors) / 5 // calls per second
)

// TestPollThroughput drives GetTask polls and Heartbeats from many
// connectors (CONNCRED_BATON_BENCH_CONNECTORS, default 1,000), each with
// its own credential, token and connection, against a real serve on
// SQLite over TLS + HTTP/2: with kept-alive connections and with a fresh
// connection per call as baton-sdk dials. Workers (default 64) each keep
// one call in flight and take the connectors in turn (8 workers for the
// fresh connections, CONNCRED_BATON_BENCH_FRESH_WORKERS), for
// CONNCRED_BATON_BENCH_SECONDS (default 10) per phase. It logs calls per
// second, the server's CPU per call from /proc, the CPU 10,000 connectors
// polling every 5 s would cost, and a CPU profile of the server during the
// kept-alive polls with the share its token verification takes.
func TestPollThroughput(t *testing.T) {
	needBench(t)
	n := envInt(t, "CONNCRED_BATON_BENCH_CONNECTORS", 1000)
	secs := envInt(t, "CONNCRED_BATON_BENCH_SECONDS", 10)
	workers := envInt(t, "CONNCRED_BATON_BENCH_WORKERS", 64)
	// Fewer callers for the fresh connections: 64 TLS handshakes in flight
	// on a busy shared machine pass the client's 5 s handshake timeout,
	// and what is measured is the server's CPU per call, not its queue.
	freshWorkers := envInt(t, "CONNCRED_BATON_BENCH_FRESH_WORKERS", 8)
	dur := time.Duration(secs) * time.Second
	outDir := os.Getenv("CONNCRED_BATON_BENCH_OUT")
	if outDir == "" {
		outDir = t.TempDir()
	}

	// One IP holds every connection here, and 1,000 kept-alive ones
	// exceed serve's defaults (--max-conns 1024, per IP 128), which stand
	// for many connectors on many addresses.
	nd := startNode(t, "", "--max-conns", "4096", "--max-conns-per-ip", "-1")
	made := time.Now()
	cs := makeConnectors(t, nd, n)
	t.Logf("%d connectors, each with a credential and an access token, made in %v", n, time.Since(made).Round(time.Millisecond))
	defer func() {
		for _, c := range cs {
			c.tr.CloseIdleConnections()
		}
	}()

	getTask := func(kept bool) func(ctx context.Context, c *connector) error {
		return func(ctx context.Context, c *connector) error {
			cl := c.fresh
			if kept {
				cl = c.kept
			}
			resp, err := cl.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"}))
			if err == nil && resp.Msg.GetNextPoll() == nil {
				err = fmt.Errorf("GetTask without next_poll")
			}
			return err
		}
	}
	// Open every kept-alive connection before measuring: a connector
	// polls for hours on one connection, so handshakes are not the steady
	// state.
	if _, err := runPhase(t, nd, cs, workers, 0, getTask(true)); err != nil {
		t.Fatal(err)
	}

	prof := filepath.Join(outDir, "baton-gettask.pprof")
	profDone := make(chan error, 1)
	go func() { profDone <- fetchProfile(nd.debug, dur-time.Second, prof) }()
	res, err := runPhase(t, nd, cs, workers, dur, getTask(true))
	if err != nil {
		t.Fatal(err)
	}
	res.log(t, "GetTask, kept-alive connections")
	if err := <-profDone; err != nil {
		t.Errorf("profile: %v", err)
	} else {
		logProfile(t, prof)
	}

	res, err = runPhase(t, nd, cs, freshWorkers, dur, getTask(false))
	if err != nil {
		t.Fatal(err)
	}
	res.log(t, "GetTask, a fresh TLS connection per call")

	// Give every connector a running sync to heartbeat.
	taskIDs := make([]string, len(cs))
	for i, c := range cs {
		if err := forceSync(context.Background(), nd, c); err != nil {
			t.Fatal(err)
		}
		resp, err := c.kept.GetTask(context.Background(), connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"}))
		if err != nil {
			t.Fatal(err)
		}
		if taskIDs[i] = resp.Msg.GetTask().GetId(); taskIDs[i] == "" {
			t.Fatalf("connector %d: no task after force_sync", i)
		}
	}
	index := make(map[*connector]string, len(cs))
	for i, c := range cs {
		index[c] = taskIDs[i]
	}
	heartbeat := func(kept bool) func(ctx context.Context, c *connector) error {
		return func(ctx context.Context, c *connector) error {
			cl := c.fresh
			if kept {
				cl = c.kept
			}
			_, err := cl.Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "bench", TaskId: index[c]}))
			return err
		}
	}
	res, err = runPhase(t, nd, cs, workers, dur, heartbeat(true))
	if err != nil {
		t.Fatal(err)
	}
	res.log(t, "Heartbeat, kept-alive connections")
	res, err = runPhase(t, nd, cs, freshWorkers, dur, heartbeat(false))
	if err != nil {
		t.Fatal(err)
	}
	res.log(t, "Heartbeat, a fresh TLS connection per call")
}

// phaseResult is one phase's figures.
type phaseResult struct {
	calls, errs         int64
	wall                time.Duration
	serverCPU, selfCPU  time.Duration
	firstErr            error
	connectors, workers int
}

func (r phaseResult) log(t *testing.T, name string) {
	t.Helper()
	rate := float64(r.calls) / r.wall.Seconds()
	perCall := r.serverCPU.Seconds() / float64(r.calls) * 1e6
	genPerCall := r.selfCPU.Seconds() / float64(r.calls) * 1e6
	cores := perCall * targetRate / 1e6
	t.Logf("%-44s %d connectors, %d workers: %8.0f calls/s, errors %d, server CPU %6.0f µs/call, generator CPU %6.0f µs/call; "+
		"%d connectors every %v (%.0f calls/s) would cost %.3f of one core",
		name, r.connectors, r.workers, rate, r.errs, perCall, genPerCall, targetConnectors, targetInterval, targetRate, cores)
	if r.firstErr != nil {
		t.Errorf("%s: first error: %v", name, r.firstErr)
	}
}

// runPhase lets workers call call for dur, each taking the connectors in
// turn (worker w: w, w+workers, ...), and reads the server's CPU from
// /proc before and after. dur 0 makes one call per connector instead.
func runPhase(t *testing.T, nd *node, cs []*connector, workers int, dur time.Duration, call func(context.Context, *connector) error) (phaseResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dur+time.Minute)
	defer cancel()
	before, err := benchnode.ReadProc(nd.PID)
	if err != nil {
		return phaseResult{}, err
	}
	self0 := selfCPU()
	start := time.Now()
	deadline := start.Add(dur)
	var calls, errs atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for w := range min(workers, len(cs)) {
		wg.Go(func() {
			for i := w; ; i += workers {
				if i >= len(cs) {
					if dur == 0 {
						return
					}
					i %= len(cs)
				}
				if dur > 0 && !time.Now().Before(deadline) {
					return
				}
				if err := call(ctx, cs[i]); err != nil {
					errs.Add(1)
					once.Do(func() { firstErr = err })
					if ctx.Err() != nil {
						return
					}
					continue
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	after, err := benchnode.ReadProc(nd.PID)
	if err != nil {
		return phaseResult{}, err
	}
	return phaseResult{calls: calls.Load(), errs: errs.Load(), wall: wall,
		serverCPU: after.CPU - before.CPU, selfCPU: selfCPU() - self0, firstErr: firstErr,
		connectors: len(cs), workers: workers}, nil
}

// fetchProfile saves a CPU profile of the server over d.
func fetchProfile(debug string, d time.Duration, path string) error {
	secs := max(1, int(d/time.Second))
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", debug, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// logProfile logs the profile's top entries (cumulative) and the share of
// the server's CPU spent verifying access tokens, by `go tool pprof`.
func logProfile(t *testing.T, path string) {
	t.Helper()
	pprof := func(args ...string) string {
		out, err := exec.Command("go", append([]string{"tool", "pprof"}, args...)...).CombinedOutput()
		if err != nil {
			t.Logf("go tool pprof %v: %v\n%s", args, err, out)
			return ""
		}
		return string(out)
	}
	t.Logf("server CPU profile during the kept-alive polls: %s\n%s", path,
		pprof("-top", "-cum", "-nodecount=30", binary(t), path))
	for _, focus := range []string{`authority\.\(\*Authority\)\.Authenticate$`, `crypto/ed25519\.Verify`, `baton\.\(\*Service\)\.NextTasks`, `crypto/tls`, `syscall`} {
		out := pprof("-top", "-nodecount=100000", "-focus="+focus, binary(t), path)
		for line := range strings.Lines(out) {
			if strings.Contains(line, "total") {
				t.Logf("share of %s: %s", focus, strings.TrimSpace(line))
				break
			}
		}
	}
}
