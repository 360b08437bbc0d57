package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/internal/benchnode"
)

// config is the command line.
type config struct {
	// --scale: prefilled counts to measure latencies at, instead of load.
	scale     []int
	scaleReps int
	chartOnly bool
	plain     bool
	client    string

	// --serve: start the server(s) here.
	serve       bool
	conncred    string
	db          string
	freshSchema bool
	nodes       int
	serverArgs  multiFlag

	// --target: drive a server that is already running.
	target      string
	ca          string
	credentials string
	serverPID   int
	allowRemote bool
	// --hydra-admin: the target is an Ory Hydra (or a server with its
	// admin API), driven with ES256 private_key_jwt assertions.
	hydraAdmin string
	tokenPath  string
	audience   string

	mode         string
	creds        int
	perConnector int
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	sweep        []int
	http         string
	clientRemote bool
	ceilingTime  time.Duration

	ceilingOnly bool

	label      string
	jsonOut    bool
	chart      string
	chartWith  multiFlag
	compare    multiFlag
	cpuprofile string
	keep       bool
}

// Bounds that keep a run from running away with a shared machine.
const (
	maxDuration    = 10 * time.Minute
	maxConcurrency = 1024
	maxCreds       = 100_000
)

const usage = `conncred-bench drives a conncred server with token exchanges (or
authenticated API calls) and reports throughput and latency against the
ceiling this machine's Ed25519 sets.

Start the server(s) here:
  conncred-bench --serve [--db postgres://...] [--nodes 2] [flags]
Or drive a running server on this machine:
  conncred-bench --target https://127.0.0.1:8443 --ca ca.pem --credentials admin-credential.json [--server-pid PID] [flags]
Or drive a running Ory Hydra's token endpoint with ES256 private_key_jwt assertions:
  conncred-bench --target https://127.0.0.1:4444 --hydra-admin https://127.0.0.1:4445 --ca ca.pem [--server-pid PID] [flags]

Examples:
  conncred-bench --serve -d 10s
  conncred-bench --serve --creds 10000 -c 16
  conncred-bench --serve --mode api -c 16
  conncred-bench --serve --http 1.1 --client raw -c 64
  conncred-bench --serve --sweep 1,2,4,8,16,32,64 -d 5s --chart sweep.png
  conncred-bench --serve --scale 1000,1000000
  conncred-bench --compare results/hydra-conncred.json --compare results/hydra.json

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("conncred-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.serve, "serve", false, "start `conncred serve` here (--listen 127.0.0.1:0 --dev, in a temp data dir) and drive it")
	fs.StringVar(&c.conncred, "conncred", "", "the conncred binary for --serve (default: conncred beside this binary, else built with go build)")
	fs.StringVar(&c.db, "db", "", "--db for the server(s): empty for SQLite, or postgres://... (--serve)")
	fs.BoolVar(&c.freshSchema, "fresh-schema", true, "with a postgres:// --db, run in a new schema and drop it afterwards")
	fs.IntVar(&c.nodes, "nodes", 1, "server nodes to start on one PostgreSQL; load goes round-robin over them (--serve)")
	fs.Var(&c.serverArgs, "server-arg", "a further flag for `conncred serve` (repeatable), e.g. --server-arg=--token-ttl=1h")
	fs.StringVar(&c.target, "target", "", "base URL of a running server to drive instead of --serve")
	fs.StringVar(&c.ca, "ca", "", "CA certificate (PEM) the target's certificate chains to (--target)")
	fs.StringVar(&c.credentials, "credentials", "", "admin credential file {clientId, clientSecret} (--target)")
	fs.IntVar(&c.serverPID, "server-pid", 0, "the target's process id, to report its CPU and peak RSS (--target)")
	fs.StringVar(&c.hydraAdmin, "hydra-admin", "", "the target is an Ory Hydra v2 whose admin API is at this URL: register --creds OAuth2 clients there (private_key_jwt, ES256, as Hydra has no EdDSA) and drive its token endpoint with their assertions (--target, token mode)")
	fs.StringVar(&c.tokenPath, "token-path", "", "the token endpoint's path (default /auth/v1/token, or "+loadgen.HydraTokenPath+" with --hydra-admin)")
	fs.StringVar(&c.audience, "audience", "", "the aud of ES256 assertions (--hydra-admin; default: the target's URL and --token-path)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow a target or database that is not on a loopback address")
	fs.StringVar(&c.mode, "mode", "token", "token: POST /auth/v1/token with a fresh assertion each; api: GET /api/v1/auth/introspect with bearer tokens")
	fs.IntVar(&c.creds, "creds", 1, "credentials to create and use round-robin")
	fs.IntVar(&c.perConnector, "per-connector", 0, "credentials per connector (default 1000 with --serve, which raises the server's cap; 10 with --target)")
	fs.IntVar(&c.concurrency, "c", 32, "concurrent workers, each with one request in flight (the default saturates a small server; -c 1 measures latency)")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "measured duration of each load point")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured warm-up before each load point")
	sweep := fs.String("sweep", "", "comma-separated concurrencies to run one after the other, e.g. 1,2,4,8,16,32 (overrides -c)")
	fs.StringVar(&c.http, "http", "2", "HTTP version: 2 or 1.1")
	fs.StringVar(&c.client, "client", "net", "net: Go's net/http client; raw: a minimal HTTP/1.1 client, so the generator costs the machine little more than its signatures (--http 1.1)")
	fs.BoolVar(&c.plain, "plain", false, "serve and drive plain HTTP, without TLS (--serve; HTTP/1.1 only)")
	fs.BoolVar(&c.clientRemote, "client-remote", false, "leave the client's signature out of the ceiling (the generator is not on the server's machine)")
	fs.DurationVar(&c.ceilingTime, "ceiling-time", 2*time.Second, "how long to measure each of Ed25519 sign and verify for the ceiling")
	fs.BoolVar(&c.ceilingOnly, "ceiling-only", false, "measure and print the ceiling, then stop (no server needed)")
	fs.StringVar(&c.label, "label", "", "name of this run in the report and chart (default: from the scenario)")
	fs.BoolVar(&c.jsonOut, "json", false, "write the report as JSON instead of a table")
	fs.StringVar(&c.chart, "chart", "", "write a PNG chart of throughput and ratio to the ceiling against concurrency")
	fs.BoolVar(&c.chartOnly, "chart-only", false, "draw --chart from the --chart-with reports alone, without running a load")
	fs.Var(&c.chartWith, "chart-with", "a JSON report of an earlier run to draw on the same chart (repeatable)")
	fs.Var(&c.compare, "compare", "instead of load: given twice, two JSON reports (base, then other) to print side by side, other's throughput and server CPU per request as ratios of base's")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "record the server processes with `perf record -g` over each measured window into FILE (FILE.c<N> per sweep point)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temp data dirs and server logs (--serve)")
	scale := fs.String("scale", "", "instead of load: for each comma-separated count, e.g. 1000,1000000, a fresh SQLite server prefilled with that many credentials, and the latency of get, list, rotate and token exchange in it (--serve)")
	fs.IntVar(&c.scaleReps, "scale-reps", 300, "requests of each kind per count (--scale)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *scale != "" {
		for _, f := range strings.Split(*scale, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 10_000_000 {
				return nil, fmt.Errorf("--scale: %q is not a count between 1 and 10000000", f)
			}
			c.scale = append(c.scale, n)
		}
	}
	if *sweep != "" {
		for _, f := range strings.Split(*sweep, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return nil, fmt.Errorf("--sweep: %q is not a number", f)
			}
			c.sweep = append(c.sweep, n)
		}
	} else {
		c.sweep = []int{c.concurrency}
	}
	if c.tokenPath == "" {
		c.tokenPath = benchnode.TokenPath
		if c.hydraAdmin != "" {
			c.tokenPath = loadgen.HydraTokenPath
		}
	}
	if c.audience == "" && c.hydraAdmin != "" {
		c.audience = strings.TrimRight(c.target, "/") + c.tokenPath
	}
	if c.perConnector == 0 {
		c.perConnector = 10
		if c.serve {
			c.perConnector = 1000
		}
	}
	return c, c.validate()
}

func (c *config) validate() error {
	switch {
	case len(c.compare) > 0:
		if len(c.compare) != 2 {
			return errors.New("--compare takes exactly two reports: --compare BASE.json --compare OTHER.json")
		}
		return nil
	case c.chartOnly:
		if c.chart == "" || len(c.chartWith) == 0 {
			return errors.New("--chart-only needs --chart and at least one --chart-with")
		}
		return nil
	case c.ceilingOnly:
		return nil
	case len(c.scale) > 0 && (!c.serve || c.db != "" || c.scaleReps < 1 || c.scaleReps > 100_000):
		return errors.New("--scale needs --serve on SQLite (no --db), and --scale-reps between 1 and 100000")
	case c.serve == (c.target != ""):
		return errors.New("give either --serve or --target")
	case c.hydraAdmin != "" && (c.target == "" || c.mode != string(loadgen.ModeToken)):
		return errors.New("--hydra-admin needs --target (Hydra's public URL) and token mode")
	case c.audience != "" && c.hydraAdmin == "":
		return errors.New("--audience is for ES256 assertions (--hydra-admin); conncred's aud follows the client id")
	case !strings.HasPrefix(c.tokenPath, "/"):
		return fmt.Errorf("--token-path %q must start with /", c.tokenPath)
	case c.target != "" && c.hydraAdmin == "" && c.credentials == "":
		return errors.New("--target needs --credentials (the admin credential file)")
	case c.mode != string(loadgen.ModeToken) && c.mode != string(loadgen.ModeAPI):
		return fmt.Errorf("--mode must be token or api, not %q", c.mode)
	case c.http != "2" && c.http != "1.1":
		return fmt.Errorf("--http must be 2 or 1.1, not %q", c.http)
	case c.client != "net" && c.client != "raw":
		return fmt.Errorf("--client must be net or raw, not %q", c.client)
	case c.client == "raw" && c.http != "1.1":
		return errors.New("--client raw speaks HTTP/1.1 only: add --http 1.1")
	case c.plain && (!c.serve || c.http != "1.1"):
		return errors.New("--plain needs --serve and --http 1.1 (HTTP/2 without TLS is not served)")
	case c.creds < 1 || c.creds > maxCreds:
		return fmt.Errorf("--creds must be between 1 and %d", maxCreds)
	case c.duration <= 0 || c.duration > maxDuration || c.warmup < 0 || c.warmup > time.Minute:
		return fmt.Errorf("-d must be in (0, %s] and --warmup in [0, 1m]", maxDuration)
	case len(c.sweep) > 20:
		return errors.New("--sweep takes at most 20 points")
	case c.ceilingTime < 0 || c.ceilingTime > 30*time.Second:
		return errors.New("--ceiling-time must be at most 30s")
	case c.nodes < 1 || c.nodes > 8:
		return errors.New("--nodes must be between 1 and 8")
	case c.nodes > 1 && !strings.HasPrefix(c.db, "postgres"):
		return errors.New("--nodes > 1 needs a shared PostgreSQL (--db postgres://URL)")
	}
	for _, n := range c.sweep {
		if n < 1 || n > maxConcurrency {
			return fmt.Errorf("concurrency must be between 1 and %d, not %d", maxConcurrency, n)
		}
	}
	if !c.allowRemote {
		if c.target != "" {
			if err := loadgen.CheckLoopback(c.target); err != nil {
				return fmt.Errorf("--target: %w (pass --allow-remote if you mean it)", err)
			}
		}
		if c.hydraAdmin != "" {
			if err := loadgen.CheckLoopback(c.hydraAdmin); err != nil {
				return fmt.Errorf("--hydra-admin: %w (pass --allow-remote if you mean it)", err)
			}
		}
		if c.db != "" {
			if err := checkLocalDB(c.db); err != nil {
				return fmt.Errorf("--db: %w (pass --allow-remote if you mean it)", err)
			}
		}
	}
	return nil
}

// checkLocalDB refuses a database URL whose host is neither loopback nor a
// Unix socket directory.
func checkLocalDB(db string) error {
	u, err := url.Parse(db)
	if err != nil {
		return err
	}
	if u.Hostname() == "" || strings.HasPrefix(u.Query().Get("host"), "/") {
		return nil
	}
	return loadgen.CheckLoopback(db)
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
