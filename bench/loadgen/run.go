// Package loadgen drives a conncred server with token exchanges or
// authenticated API calls and measures it against the ceiling its
// cryptography sets; it drives another OAuth2 server's token endpoint (Ory
// Hydra's) the same way, for a comparison in the same run.
// cmd/conncred-bench is its command line. It lives in the bench module so
// the product's module does not carry its dependencies (the chart's
// golang.org/x/image); it reaches conncred through internal/benchnode and
// the conncred.Store interface, never through a store's package.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conncred/conncred/internal/benchnode"
)

// Mode is the request a load sends.
type Mode string

// The modes: token exchanges with a fresh assertion each, or authenticated
// GET /api/v1/auth/introspect calls with bearer tokens.
const (
	ModeToken Mode = "token"
	ModeAPI   Mode = "api"
)

// Target is one server node and the client that reaches it: Raw, if set,
// else Client.
type Target struct {
	URL    string // https://127.0.0.1:port
	Client *http.Client
	Raw    *RawDialer
}

// An Asserter makes the body of one token request
// (application/x-www-form-urlencoded) with a freshly signed client
// assertion: a benchnode.Signer (EdDSA, as ConductorOne's clients sign for
// conncred) or a JWTSigner (ES256 private_key_jwt, for a server such as Ory
// Hydra).
type Asserter interface {
	TokenForm(now time.Time) string
}

// Load is one load point: who is driven, with what, how hard, how long.
type Load struct {
	Mode    Mode
	Targets []Target // requests go round-robin over them
	Signers []Asserter
	Tokens  []string // access tokens, for ModeAPI
	// TokenPath is the token endpoint's path on every target: empty for
	// conncred's (benchnode.TokenPath).
	TokenPath string
	// Concurrency is the number of workers, each with one request in
	// flight at a time over a kept-alive connection.
	Concurrency int
	// Warmup runs before the measured Duration and is not counted: it
	// fills caches and connection pools.
	Warmup   time.Duration
	Duration time.Duration
	// ServerPIDs are the server processes whose CPU and peak RSS are read
	// from /proc over the measured window (none: not reported).
	ServerPIDs []int
	// Progress, if not nil, gets a line every second.
	Progress io.Writer
}

// Result is what one load point measured. Throughput counts successful
// requests only, so errors never flatter it.
type Result struct {
	Concurrency int              `json:"concurrency"`
	Seconds     float64          `json:"seconds"`
	Requests    int64            `json:"requests"`
	OK          int64            `json:"ok"`
	Throughput  float64          `json:"throughput"`
	P50Ms       float64          `json:"p50Ms"`
	P90Ms       float64          `json:"p90Ms"`
	P99Ms       float64          `json:"p99Ms"`
	MaxMs       float64          `json:"maxMs"`
	Errors      map[string]int64 `json:"errors,omitempty"`     // by HTTP status, or "transport"
	FirstError  string           `json:"firstError,omitempty"` // the first failure, with a refusal's body
	// ServerCPUSeconds is the CPU time of all server processes over the
	// window; ServerPeakRSS the largest peak RSS of any one of them.
	ServerCPUSeconds float64 `json:"serverCpuSeconds,omitempty"`
	ServerPeakRSS    int64   `json:"serverPeakRssBytes,omitempty"`
	ClientCPUSeconds float64 `json:"clientCpuSeconds"`
	// Ceiling is the rate this mode cannot exceed on this machine, and
	// Ratio the throughput's share of it (set by the caller, who knows
	// whether the client shares the machine).
	Ceiling float64 `json:"ceiling,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	// DB is how many rows each table gained, lost or had updated around
	// the load (PostgreSQL only, warm-up included).
	DB map[string]TableCounts `json:"db,omitempty"`
}

// Validate reports what makes l unrunnable.
func (l *Load) Validate() error {
	switch {
	case len(l.Targets) == 0:
		return errors.New("no target")
	case l.Mode == ModeToken && len(l.Signers) == 0:
		return errors.New("token mode needs at least one credential")
	case l.Mode == ModeAPI && len(l.Tokens) == 0:
		return errors.New("api mode needs at least one access token")
	case l.Mode != ModeToken && l.Mode != ModeAPI:
		return fmt.Errorf("unknown mode %q", l.Mode)
	case l.TokenPath != "" && !strings.HasPrefix(l.TokenPath, "/"):
		return fmt.Errorf("token path %q does not start with /", l.TokenPath)
	case l.Concurrency < 1:
		return errors.New("concurrency must be at least 1")
	case l.Duration <= 0:
		return errors.New("duration must be positive")
	}
	return nil
}

// straggleLimit bounds how long Run waits, after the window, for requests
// still in flight; they are not counted either way.
const straggleLimit = 30 * time.Second

// Run drives the load and measures it. It stops by itself after Warmup +
// Duration (plus at most straggleLimit for requests in flight), or earlier
// when ctx ends, in which case it returns ctx's error.
func Run(ctx context.Context, l Load) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, err
	}
	if l.TokenPath == "" {
		l.TokenPath = benchnode.TokenPath
	}
	start := time.Now()
	from := start.Add(l.Warmup)
	end := from.Add(l.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end.Add(straggleLimit))
	defer cancel()

	var next atomic.Uint64
	var live liveCounts
	workers := make([]*worker, l.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{load: &l, next: &next, live: &live, from: from, end: end, errors: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(runCtx)
		}()
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		reportProgress(l.Progress, &live, start, from, stopProgress)
	}()

	var before, after []benchnode.ProcStats
	var cpuBefore, cpuAfter time.Duration
	if sleepUntil(ctx, from) {
		for _, pid := range l.ServerPIDs {
			_ = benchnode.ResetPeakRSS(pid)
		}
		before = readAll(l.ServerPIDs)
		cpuBefore = selfCPU()
		if sleepUntil(ctx, end) {
			after = readAll(l.ServerPIDs)
			cpuAfter = selfCPU()
		}
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	var hist histogram
	r := Result{Concurrency: l.Concurrency, Seconds: l.Duration.Seconds(), Errors: map[string]int64{}}
	for _, w := range workers {
		hist.merge(&w.hist)
		r.Requests += w.requests
		r.OK += w.ok
		for k, v := range w.errors {
			r.Errors[k] += v
		}
		if r.FirstError == "" {
			r.FirstError = w.firstError
		}
	}
	if len(r.Errors) == 0 {
		r.Errors = nil
	}
	r.Throughput = float64(r.OK) / l.Duration.Seconds()
	r.P50Ms, r.P90Ms, r.P99Ms = ms(hist.quantile(0.50)), ms(hist.quantile(0.90)), ms(hist.quantile(0.99))
	r.MaxMs = ms(hist.max)
	r.ClientCPUSeconds = (cpuAfter - cpuBefore).Seconds()
	if len(before) == len(l.ServerPIDs) && len(after) == len(l.ServerPIDs) {
		for i := range after {
			r.ServerCPUSeconds += (after[i].CPU - before[i].CPU).Seconds()
			r.ServerPeakRSS = max(r.ServerPeakRSS, after[i].PeakRSS)
		}
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// readAll reads every pid's stats, or returns nil if any cannot be read.
func readAll(pids []int) []benchnode.ProcStats {
	out := make([]benchnode.ProcStats, 0, len(pids))
	for _, pid := range pids {
		st, err := benchnode.ReadProc(pid)
		if err != nil {
			return nil
		}
		out = append(out, st)
	}
	return out
}

// sleepUntil waits until t and reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// liveCounts is what the progress line shows while the load runs.
type liveCounts struct {
	done, failed atomic.Int64
}

func reportProgress(w io.Writer, live *liveCounts, start, from time.Time, stop <-chan struct{}) {
	if w == nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	lastAt := start
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			done := live.done.Load()
			rate := float64(done-last) / now.Sub(lastAt).Seconds()
			last, lastAt = done, now
			phase := "load"
			if now.Before(from) {
				phase = "warmup"
			}
			fmt.Fprintf(w, "%5.1fs %-6s %9.0f req/s  %10d done  %6d failed\n", now.Sub(start).Seconds(), phase, rate, done, live.failed.Load())
		}
	}
}

// worker sends one request at a time and keeps its own tallies, merged when
// the load ends, so workers share nothing on the hot path but two counters.
type worker struct {
	load     *Load
	next     *atomic.Uint64
	live     *liveCounts
	from     time.Time
	end      time.Time
	body     bytes.Buffer
	raw      []rawConn // one per target, for targets with a RawDialer
	hist     histogram
	requests int64
	ok       int64
	errors   map[string]int64
	// firstError keeps the first failure's text, for diagnosis: a
	// transport error, or a refusal's status and the start of its body.
	firstError string
}

func (w *worker) loop(ctx context.Context) {
	l := w.load
	defer func() {
		for i := range w.raw {
			w.raw[i].close()
		}
	}()
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(w.end) {
			return
		}
		// One counter picks both the credential and the node, so the
		// load spreads evenly over each.
		i := w.next.Add(1) - 1
		t := l.Targets[i%uint64(len(l.Targets))]
		if t.Raw != nil {
			w.sendRaw(ctx, i, now)
			continue
		}
		var req *http.Request
		var err error
		if l.Mode == ModeToken {
			s := l.Signers[i%uint64(len(l.Signers))]
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, t.URL+l.TokenPath, strings.NewReader(s.TokenForm(now)))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, t.URL+benchnode.IntrospectPath, nil)
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+l.Tokens[i%uint64(len(l.Tokens))])
			}
		}
		if err != nil {
			w.fail("request", err)
			return
		}
		t0 := time.Now()
		status, err := w.send(t.Client, req)
		w.tally(ctx, t0, status, err)
	}
}

// sendRaw sends request number i to its target over the worker's raw
// connection to it.
func (w *worker) sendRaw(ctx context.Context, i uint64, now time.Time) {
	l := w.load
	ti := i % uint64(len(l.Targets))
	if w.raw == nil {
		w.raw = make([]rawConn, len(l.Targets))
	}
	c := &w.raw[ti]
	c.d = l.Targets[ti].Raw
	t0 := time.Now()
	var status int
	var err error
	if l.Mode == ModeToken {
		form := l.Signers[i%uint64(len(l.Signers))].TokenForm(now)
		status, err = c.do("POST", l.TokenPath, "Content-Type: application/x-www-form-urlencoded\r\n", form, &w.body)
	} else {
		status, err = c.do("GET", benchnode.IntrospectPath, "Authorization: Bearer "+l.Tokens[i%uint64(len(l.Tokens))]+"\r\n", "", &w.body)
	}
	if err == nil {
		err = w.checkBody(status)
	}
	w.tally(ctx, t0, status, err)
}

// tally counts one answered (or failed) request that started at t0.
func (w *worker) tally(ctx context.Context, t0 time.Time, status int, err error) {
	t1 := time.Now()
	good := err == nil && status == http.StatusOK
	w.live.done.Add(1)
	if !good {
		w.live.failed.Add(1)
	}
	// Only requests that complete inside the window count: warm-up ones
	// are not, and neither are those the deadline cut short.
	if t1.Before(w.from) || t1.After(w.end) || ctx.Err() != nil {
		return
	}
	w.requests++
	switch {
	case err != nil && status != 0:
		w.fail(strconv.Itoa(status)+" malformed", err)
	case err != nil:
		w.fail("transport", err)
	case !good:
		w.errors[strconv.Itoa(status)]++
		if w.firstError == "" {
			// The answer's start says why (the body is the request's
			// until the next one).
			b := bytes.TrimSpace(w.body.Bytes())
			w.firstError = fmt.Sprintf("status %d: %s", status, b[:min(len(b), 300)])
		}
	default:
		w.ok++
		w.hist.record(t1.Sub(t0))
	}
}

func (w *worker) fail(kind string, err error) {
	w.errors[kind]++
	if w.firstError == "" {
		w.firstError = err.Error()
	}
}

// send does req, reads the whole answer (so the connection is reused), and
// for a token exchange checks that a 200 carries an access token.
func (w *worker) send(hc *http.Client, req *http.Request) (int, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	w.body.Reset()
	_, err = w.body.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, w.checkBody(resp.StatusCode)
}

// checkBody checks that a 200 answer to a token exchange, now in w.body,
// carries an access token.
func (w *worker) checkBody(status int) error {
	if status == http.StatusOK && w.load.Mode == ModeToken && !bytes.Contains(w.body.Bytes(), []byte(`"access_token"`)) {
		return errors.New("a 200 answer without an access_token")
	}
	return nil
}
