package batonbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
	"github.com/conncred/conncred/internal/benchnode"
)

// client is c's client over its kept-alive connection, or over a fresh
// connection per call.
func (c *connector) client(fresh bool) batonv1connect.BatonServiceClient {
	if fresh {
		return c.fresh
	}
	return c.kept
}

// phaseResult is one phase's figures (or the sum of several rounds).
type phaseResult struct {
	calls, errs         int64
	wall                time.Duration
	serverCPU, selfCPU  time.Duration
	reads, writes       int64 // the server's read and write syscalls
	firstErr            error
	connectors, workers int
	every               time.Duration
	rounds              int
}

func (r *phaseResult) add(o phaseResult) {
	r.calls += o.calls
	r.errs += o.errs
	r.wall += o.wall
	r.serverCPU += o.serverCPU
	r.selfCPU += o.selfCPU
	r.reads += o.reads
	r.writes += o.writes
	r.rounds += o.rounds
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
}

func (r phaseResult) cpuPerCall() float64 { return r.serverCPU.Seconds() / float64(r.calls) * 1e6 }
func (r phaseResult) genPerCall() float64 { return r.selfCPU.Seconds() / float64(r.calls) * 1e6 }
func (r phaseResult) syscallsPerCall() float64 {
	return float64(r.reads+r.writes) / float64(r.calls)
}

func (r phaseResult) log(t *testing.T, name string) {
	t.Helper()
	rate := float64(r.calls) / r.wall.Seconds()
	perCall := r.cpuPerCall()
	pace := "as fast as answered"
	if r.every > 0 {
		pace = "each every " + r.every.String()
	}
	t.Logf("%-62s %d connectors (%s), %d workers, %d round(s): %6.0f calls/s, errors %d, server CPU %5.0f µs/call (%.2f cores used), "+
		"syscalls/call read %.1f write %.1f, generator CPU %5.0f µs/call; %d connectors every %v (%.0f calls/s) would cost %.3f of one core",
		name, r.connectors, pace, r.workers, r.rounds, rate, r.errs, perCall, r.serverCPU.Seconds()/r.wall.Seconds(), float64(r.reads)/float64(r.calls), float64(r.writes)/float64(r.calls),
		r.genPerCall(), targetConnectors, targetInterval, targetRate, perCall*targetRate/1e6)
	if r.firstErr != nil {
		t.Errorf("%s: first error: %v", name, r.firstErr)
	}
}

// load is how a phase calls: workers callers for dur; with every > 0 each
// connector is called at most once per every (as deployed: a connector
// polls every next_poll), else as fast as the server answers.
type load struct {
	workers int
	dur     time.Duration
	every   time.Duration
}

// runPhase lets l.workers call call for l.dur, each taking tg's connectors
// in turn (worker w: w, w+workers, ...), and reads the server's CPU and
// syscalls from /proc before and after. dur 0 makes one call per
// connector instead.
func runPhase(t *testing.T, tg *target, l load, call callFunc) phaseResult {
	t.Helper()
	cs, workers, dur := tg.cs, min(l.workers, len(tg.cs)), l.dur
	limit := dur + time.Minute
	if dur == 0 {
		limit = 15 * time.Minute // one call per connector, however many and however loaded the machine
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	before, err := benchnode.ReadProc(tg.nd.PID)
	if err != nil {
		t.Fatal(err)
	}
	io0, err := readIO(tg.nd.PID)
	if err != nil {
		t.Fatal(err)
	}
	self0 := selfCPU()
	start := time.Now()
	deadline := start.Add(dur)
	// A worker's turn comes round to the same connector after
	// len(cs)/workers calls, so spacing its calls every*workers/len(cs)
	// apart calls each connector once per every.
	var gap time.Duration
	if l.every > 0 {
		gap = l.every * time.Duration(workers) / time.Duration(len(cs))
	}
	var calls, errs atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			next := start.Add(gap * time.Duration(w) / time.Duration(workers)) // spread the workers' first calls
			for i := w; ; i += workers {
				if i >= len(cs) {
					if dur == 0 {
						return
					}
					i %= len(cs)
				}
				if gap > 0 {
					if wait := time.Until(next); wait > 0 {
						timer := time.NewTimer(wait)
						<-timer.C
					}
					next = next.Add(gap)
				}
				if dur > 0 && !time.Now().Before(deadline) {
					return
				}
				if err := call(ctx, tg, cs[i]); err != nil {
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
	after, err := benchnode.ReadProc(tg.nd.PID)
	if err != nil {
		t.Fatal(err)
	}
	io1, err := readIO(tg.nd.PID)
	if err != nil {
		t.Fatal(err)
	}
	return phaseResult{calls: calls.Load(), errs: errs.Load(), wall: wall,
		serverCPU: after.CPU - before.CPU, selfCPU: selfCPU() - self0, firstErr: firstErr,
		reads: io1.reads - io0.reads, writes: io1.writes - io0.writes,
		connectors: len(cs), workers: workers, every: l.every, rounds: 1}
}

// ioCounts are a process's read and write syscalls so far.
type ioCounts struct{ reads, writes int64 }

// readIO reads syscr and syscw from /proc/<pid>/io (Linux only; a
// process of the same user may read it).
func readIO(pid int) (ioCounts, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return ioCounts{}, err
	}
	var c ioCounts
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return ioCounts{}, fmt.Errorf("/proc/%d/io: %q", pid, line)
		}
		switch k {
		case "syscr":
			c.reads = n
		case "syscw":
			c.writes = n
		}
	}
	return c, nil
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

// profileFocus are the parts whose share of the server's CPU the log
// gives, by `go tool pprof -focus`.
var profileFocus = []string{
	`authority\.\(\*Authority\)\.Authenticate$`,
	`crypto/ed25519\.Verify`,
	`baton\.\(\*Service\)\.NextTasks`,
	`baton\.\(\*Service\)\.Heartbeat`,
	`database/sql|jackc/pgx`,
	`compress/`,
	`crypto/tls\.\(\*Conn\)\.(serverHandshake|HandshakeContext)`,
	`crypto/tls\.\(\*serverHandshakeStateTLS13\)\.(sendServerCertificate)`,
	`crypto/internal/fips140/mlkem|crypto/mlkem`,
	`crypto/ecdh|crypto/internal/fips140/edwards25519|x25519|crypto/internal/fips140/nistec`,
	`crypto/ecdsa|crypto/internal/fips140/ecdsa`,
	`net/http\.\(\*http2serverConn\)\.serve$`,
	`crypto/tls`,
	`syscall`,
	`runtime\.gcBgMarkWorker|runtime\.mallocgc`,
}

// logProfile logs the profile's top entries (cumulative) and the share of
// each part of profileFocus, by `go tool pprof`.
func logProfile(t *testing.T, bin, name, path string) {
	t.Helper()
	pprof := func(args ...string) string {
		out, err := exec.Command("go", append([]string{"tool", "pprof"}, args...)...).CombinedOutput()
		if err != nil {
			t.Logf("go tool pprof %v: %v\n%s", args, err, out)
			return ""
		}
		return string(out)
	}
	t.Logf("%s: server CPU profile %s\n%s", name, path, pprof("-top", "-cum", "-nodecount=30", bin, path))
	for _, focus := range profileFocus {
		out := pprof("-top", "-nodecount=100000", "-focus="+focus, bin, path)
		for line := range strings.Lines(out) {
			if strings.Contains(line, "total") {
				t.Logf("%s: share of %s: %s", name, focus, strings.TrimSpace(line))
				break
			}
		}
	}
}
