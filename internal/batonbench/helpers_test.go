package batonbench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
	"github.com/conncred/conncred/internal/benchnode"
)

// enabled keeps `go test ./...` quick: these tests build the server, start
// it and load it for minutes.
const enabledEnv = "CONNCRED_BATON_BENCH"

func needBench(t *testing.T) {
	t.Helper()
	if os.Getenv(enabledEnv) != "1" {
		t.Skipf("set %s=1 to run the BatonService measurements (minutes; see BENCHMARKS.md)", enabledEnv)
	}
}

// envInt reads a positive integer setting, or def.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds conncred once per test process (or takes CONNCRED_BIN).
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "batonbench-bin-")
		if binErr != nil {
			return
		}
		binPath, binErr = benchnode.FindBinary(context.Background(), os.Getenv("CONNCRED_BIN"), binDir)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// node is a running `conncred serve --dev` with its profiler on loopback.
type node struct {
	*benchnode.Node
	hc      *http.Client // one kept-alive HTTP/2 connection pool
	admin   *benchnode.Admin
	debug   string // http://127.0.0.1:port of /debug/pprof/
	dbLabel string
}

// startNode starts serve on SQLite in a temp dir, or on a fresh schema of
// the PostgreSQL database at pgURL.
func startNode(t *testing.T, pgURL string, extra ...string) *node {
	t.Helper()
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	debug := freeLoopbackAddr(t)
	args := append([]string{"--dev", "--debug-listen", debug}, extra...)
	label := "sqlite"
	if pgURL != "" {
		db, drop, err := benchnode.FreshSchema(ctx, pgURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		args = append(args, "--db", db)
		label = "postgres"
	}
	n, err := benchnode.StartNode(ctx, binary(t), dataDir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	hc, err := benchnode.HTTPClient(n.CAFile(), true, 64)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := benchnode.LoadCredential(n.AdminFile())
	if err != nil {
		t.Fatal(err)
	}
	admin, err := benchnode.NewAdmin(ctx, hc, n.URL, cred)
	if err != nil {
		t.Fatal(err)
	}
	return &node{Node: n, hc: hc, admin: admin, debug: "http://" + debug, dbLabel: label}
}

// freeLoopbackAddr returns a loopback address nothing listens on now.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// connector is one simulated service-mode connector: its ids, its access
// token, and a client over a kept-alive connection of its own.
type connector struct {
	appID, connID, token string
	kept                 batonv1connect.BatonServiceClient
	fresh                batonv1connect.BatonServiceClient
	tr                   *http.Transport
}

// makeConnectors creates n connectors under one app, each with its own
// credential and access token, as an operator and n connectors would.
func makeConnectors(t *testing.T, nd *node, n int) []*connector {
	t.Helper()
	ctx := context.Background()
	var app struct {
		App struct {
			ID string `json:"id"`
		} `json:"app"`
	}
	if err := nd.admin.Post(ctx, "/api/v1/apps", map[string]string{"displayName": "batonbench"}, &app); err != nil {
		t.Fatal(err)
	}
	out := make([]*connector, n)
	errs := make(chan error, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				c, err := makeConnector(ctx, nd, app.App.ID)
				if err != nil {
					errs <- err
					continue
				}
				out[i] = c
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

func makeConnector(ctx context.Context, nd *node, appID string) (*connector, error) {
	var c struct {
		ConnectorView struct {
			Connector struct {
				ID string `json:"id"`
			} `json:"connector"`
		} `json:"connectorView"`
	}
	if err := nd.admin.Post(ctx, "/api/v1/apps/"+appID+"/connectors", map[string]string{}, &c); err != nil {
		return nil, err
	}
	connID := c.ConnectorView.Connector.ID
	var r struct {
		Credential struct {
			ClientID string `json:"clientId"`
		} `json:"credential"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := nd.admin.Post(ctx, "/api/v1/apps/connectors/credentials", map[string]string{"appId": appID, "connectorId": connID}, &r); err != nil {
		return nil, err
	}
	s, err := benchnode.NewSigner(benchnode.Credential{ClientID: r.Credential.ClientID, ClientSecret: r.ClientSecret})
	if err != nil {
		return nil, err
	}
	tok, err := benchnode.Exchange(ctx, nd.hc, nd.URL, s)
	if err != nil {
		return nil, err
	}
	tr := nd.hc.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost, tr.MaxIdleConns = 1, 1
	opts := []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(bearer(tok))}
	return &connector{
		appID: appID, connID: connID, token: tok, tr: tr,
		kept:  batonv1connect.NewBatonServiceClient(&http.Client{Transport: tr}, nd.URL, opts...),
		fresh: batonv1connect.NewBatonServiceClient(freshConn{nd.hc.Transport.(*http.Transport)}, nd.URL, opts...),
	}, nil
}

// forceSync queues a sync_full task for c through the control API.
func forceSync(ctx context.Context, nd *node, c *connector) error {
	return nd.admin.Post(ctx, fmt.Sprintf("/api/v1/apps/%s/connectors/%s/force_sync", c.appID, c.connID), map[string]string{}, nil)
}

// freshConn opens a new TCP+TLS connection for every call, as baton-sdk's
// service-mode client dials per RPC.
type freshConn struct{ base *http.Transport }

func (f freshConn) Do(r *http.Request) (*http.Response, error) {
	tr := f.base.Clone()
	resp, err := (&http.Client{Transport: tr}).Do(r)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	resp.Body = closeIdle{resp.Body, tr}
	return resp, nil
}

type closeIdle struct {
	body interface {
		Read([]byte) (int, error)
		Close() error
	}
	tr *http.Transport
}

func (c closeIdle) Read(p []byte) (int, error) { return c.body.Read(p) }
func (c closeIdle) Close() error {
	err := c.body.Close()
	c.tr.CloseIdleConnections()
	return err
}

// bearer sends the access token on every call.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		c := next(ctx, spec)
		c.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return c
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// selfCPU is this (the generator's) process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
