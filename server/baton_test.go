package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/federation"
	connectorv2 "github.com/conncred/conncred/gen/c1/connector/v2"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
	"github.com/conncred/conncred/store/sqlite"
	"github.com/conncred/conncred/wfe"
)

// batonEnv is a TLS + HTTP/2 server with the BatonService over SQLite and
// a directory artifact store, on a fake clock.
type batonEnv struct {
	*env
	svc       *baton.Service
	artifacts *baton.DirStore
	dir       string
}

func newBatonEnv(t testing.TB, bcfg baton.Config) *batonEnv {
	t.Helper()
	return newBatonEnvWith(t, bcfg, authority.Config{})
}

func newBatonEnvWith(t testing.TB, bcfg baton.Config, acfg authority.Config) *batonEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(t0)
	logBuf := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := authority.New(ctx, acfg, st, clk, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	arts, err := baton.NewDirStore(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	svc := baton.New(bcfg, baton.Deps{Store: st, Artifacts: arts, Clock: clk, Log: log, Audit: a.RecordAudit})
	// Every wing is served, as serve wires them, so the OpenAPI tests that
	// use this server see every route.
	fed := federation.New(federation.Config{PublicHost: a.PublicHost(), Keys: federation.KeyConfig{AllowInsecureLoopback: true}}, st, a, clk, log)
	t.Cleanup(func() { fed.Close() })
	cfg := Config{Clock: clk, Baton: svc, Federation: fed, Wfe: wfe.New(st, fed, a, log)}
	withDPoP(&cfg, st, a, clk)
	withLifecycle(&cfg, a, st, clk)
	withPolicy(t, &cfg, a, st, clk)
	withWebhooks(&cfg, st, a, clk)
	withConsole(&cfg, st, a, clk)
	srv := httptest.NewUnstartedServer(New(cfg, a, log))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, clock: clk, auth: a, store: st, log: logBuf}
	cred, sec, _, err := a.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, sec.Reveal())
	e.admin = e.token(cred.ClientID, sec.Reveal())
	return &batonEnv{env: e, svc: svc, artifacts: arts, dir: dir}
}

// client returns a gRPC client that, like baton-sdk, opens a fresh
// connection for every call and sends the bearer token.
func (e *batonEnv) client(token string) batonv1connect.BatonServiceClient {
	return batonv1connect.NewBatonServiceClient(freshConn{e.srv}, e.srv.URL, connect.WithGRPC(),
		connect.WithInterceptors(bearerInterceptor(token)))
}

// freshConn is an HTTP client with a new transport, so a new TCP+TLS
// connection, per request.
type freshConn struct{ srv *httptest.Server }

func (f freshConn) Do(r *http.Request) (*http.Response, error) {
	tr := f.srv.Client().Transport.(*http.Transport).Clone()
	resp, err := (&http.Client{Transport: tr}).Do(r)
	if err == nil {
		resp.Body = closeIdle{resp.Body, tr}
	}
	return resp, err
}

type closeIdle struct {
	io.ReadCloser
	tr *http.Transport
}

func (c closeIdle) Close() error {
	err := c.ReadCloser.Close()
	c.tr.CloseIdleConnections()
	return err
}

type bearerInterceptor string

func (b bearerInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearerInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		c := next(ctx, spec)
		c.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return c
	}
}

func (b bearerInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// connectorToken makes an app, a connector and a credential, and returns
// the connector's ids and access token.
func (e *batonEnv) connectorToken() (appID, connID, token string) {
	appID, connID = e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	return appID, connID, e.token(clientID, sec)
}

func (e *batonEnv) forceSync(appID, connID string) baton.Task {
	e.t.Helper()
	tk, err := e.svc.ForceSync(conncred.WithPrincipal(context.Background(), conncred.System), appID, connID)
	if err != nil {
		e.t.Fatalf("ForceSync: %v", err)
	}
	return tk
}

func wantRPCCode(t testing.TB, what string, err error, want connect.Code) {
	t.Helper()
	if got := connect.CodeOf(err); err == nil || got != want {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, want)
	}
}

func hello(host string) *batonv1.BatonServiceHelloRequest {
	return &batonv1.BatonServiceHelloRequest{HostId: host,
		BuildInfo:         &batonv1.BatonServiceHelloRequest_BuildInfo{LangVersion: "go1.26.8", Package: "github.com/conductorone/baton-demo", PackageVersion: "(devel)"},
		OsInfo:            &batonv1.BatonServiceHelloRequest_OSInfo{Hostname: "vm", Os: "linux", Platform: "debian", PlatformVersion: "12.11", PlatformFamily: "debian", KernelVersion: "6.1", KernelArch: "x86_64", VirtualizationSystem: "docker"},
		ConnectorMetadata: &connectorv2.ConnectorMetadata{DisplayName: "Demo"}}
}

// uploadMsgs is an upload as baton-sdk sends it: metadata, 512 KiB data
// chunks, eof with the SHA-256.
func uploadMsgs(host, taskID string, body []byte, sum []byte) []*batonv1.BatonServiceUploadAssetRequest {
	msgs := []*batonv1.BatonServiceUploadAssetRequest{{Msg: &batonv1.BatonServiceUploadAssetRequest_Metadata{
		Metadata: &batonv1.BatonServiceUploadAssetRequest_UploadMetadata{HostId: host, TaskId: taskID}}}}
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 512<<10)
		msgs = append(msgs, &batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Data{
			Data: &batonv1.BatonServiceUploadAssetRequest_UploadData{Data: rest[:n]}}})
		rest = rest[n:]
	}
	if sum == nil {
		s := sha256.Sum256(body)
		sum = s[:]
	}
	return append(msgs, &batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Eof{
		Eof: &batonv1.BatonServiceUploadAssetRequest_UploadEOF{Sha256Checksum: sum}}})
}

func upload(ctx context.Context, c batonv1connect.BatonServiceClient, msgs []*batonv1.BatonServiceUploadAssetRequest) error {
	s := c.UploadAsset(ctx)
	for _, m := range msgs {
		if err := s.Send(m); err != nil {
			break // the server answered early; CloseAndReceive has its error
		}
	}
	_, err := s.CloseAndReceive()
	return err
}

func c1z(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	copy(b, "C1ZF\x00")
	return b
}

// TestBatonFullSyncV02 drives one full sync in the order baton-sdk v0.2.51
// makes its calls (BATON-WIRE §3): GetTask first, Heartbeat and Hello
// concurrently, upload, finish, then an empty poll; a connection per RPC.
func TestBatonFullSyncV02(t *testing.T) {
	e := newBatonEnv(t, baton.Config{PollInterval: 2 * time.Second, HeartbeatInterval: time.Second})
	ctx := t.Context()
	appID, connID, tok := e.connectorToken()
	c := e.client(tok)
	task := e.forceSync(appID, connID)

	got, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "host-1"}))
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	if got.Msg.GetTask().GetId() != task.ID || got.Msg.GetTask().GetSyncFull() == nil {
		t.Fatalf("GetTask: got %v, want sync_full %s", got.Msg.GetTask(), task.ID)
	}
	if got.Msg.GetNextPoll().AsDuration() != 2*time.Second || got.Msg.GetNextHeartbeat().AsDuration() != time.Second {
		t.Errorf("GetTask: next_poll %v, next_heartbeat %v; want 2s, 1s", got.Msg.GetNextPoll().AsDuration(), got.Msg.GetNextHeartbeat().AsDuration())
	}
	var wg sync.WaitGroup
	var helloErr, beatErr error
	var beat *connect.Response[batonv1.BatonServiceHeartbeatResponse]
	wg.Go(func() { _, helloErr = c.Hello(ctx, connect.NewRequest(hello("host-1"))) })
	wg.Go(func() {
		beat, beatErr = c.Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "host-1", TaskId: task.ID}))
	})
	wg.Wait()
	if helloErr != nil || beatErr != nil {
		t.Fatalf("Hello: %v; Heartbeat: %v", helloErr, beatErr)
	}
	if beat.Msg.GetCancelled() || beat.Msg.GetNextHeartbeat().AsDuration() != time.Second {
		t.Errorf("Heartbeat: got %v, want not cancelled, next_heartbeat 1s", beat.Msg)
	}
	body := c1z(1<<20 + 12345) // three chunks
	if err := upload(ctx, c, uploadMsgs("host-1", task.ID, body, nil)); err != nil {
		t.Fatalf("UploadAsset: %v", err)
	}
	if _, err := c.FinishTask(ctx, connect.NewRequest(&batonv1.BatonServiceFinishTaskRequest{HostId: "host-1", TaskId: task.ID,
		FinalState: &batonv1.BatonServiceFinishTaskRequest_Success_{Success: &batonv1.BatonServiceFinishTaskRequest_Success{}}})); err != nil {
		t.Fatalf("FinishTask: %v", err)
	}
	next, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "host-1"}))
	if err != nil {
		t.Fatalf("second GetTask: %v", err)
	}
	if next.Msg.GetTask().GetNone() == nil || next.Msg.GetNextPoll().AsDuration() != 2*time.Second {
		t.Errorf("second GetTask: got %v, want none with next_poll 2s", next.Msg)
	}

	admin := conncred.WithPrincipal(ctx, conncred.System)
	st, err := e.svc.Status(admin, appID, connID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != baton.SyncStatusDone || st.CompletedAt == nil {
		t.Errorf("status: got %+v, want %s with completedAt", st, baton.SyncStatusDone)
	}
	sync, art, err := e.svc.GetSync(admin, appID, connID, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sync.State != baton.StateFinished || art.Size != int64(len(body)) || art.Kind != baton.KindC1Z {
		t.Errorf("sync: got %+v / %+v, want finished with a %d-byte c1z", sync, art, len(body))
	}
	r, err := e.svc.OpenArtifact(admin, art)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stored, _ := io.ReadAll(r)
	if !bytes.Equal(stored, body) {
		t.Errorf("stored artifact: %d bytes, not byte-identical to the %d uploaded", len(stored), len(body))
	}
	hosts, err := e.svc.ListHosts(admin, appID, connID, "", 0)
	if err != nil || len(hosts) != 1 || hosts[0].DisplayName != "Demo" || hosts[0].OS.VirtualizationSystem != "docker" {
		t.Errorf("hosts: got %+v (%v), want host-1 with Demo's metadata", hosts, err)
	}
}

// TestBatonFullSyncV025 is the v0.25 order: Hello first, GetTasks, one
// heartbeat, the upload retried from the first byte (the last complete one
// is kept), finish.
func TestBatonFullSyncV025(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	ctx := t.Context()
	appID, connID, tok := e.connectorToken()
	c := e.client(tok)
	if _, err := c.Hello(ctx, connect.NewRequest(hello("ldap-host"))); err != nil {
		t.Fatalf("Hello before any task: %v", err)
	}
	task := e.forceSync(appID, connID)
	got, err := c.GetTasks(ctx, connect.NewRequest(&batonv1.BatonServiceGetTasksRequest{HostId: "ldap-host", PageSize: 6}))
	if err != nil {
		t.Fatalf("GetTasks: %v", err)
	}
	if len(got.Msg.GetTasks()) != 1 || got.Msg.GetTasks()[0].GetId() != task.ID || got.Msg.GetNextPoll() == nil || got.Msg.GetNextHeartbeat() == nil {
		t.Fatalf("GetTasks: got %v, want the one sync and both intervals", got.Msg)
	}
	if _, err := c.Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "ldap-host", TaskId: task.ID})); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	first, second := c1z(1000), c1z(2000)
	copy(second, "C1Z3\x00")
	for _, body := range [][]byte{first, second} {
		if err := upload(ctx, c, uploadMsgs("ldap-host", task.ID, body, nil)); err != nil {
			t.Fatalf("UploadAsset: %v", err)
		}
	}
	if _, err := c.FinishTask(ctx, connect.NewRequest(&batonv1.BatonServiceFinishTaskRequest{HostId: "ldap-host", TaskId: task.ID,
		FinalState: &batonv1.BatonServiceFinishTaskRequest_Success_{Success: &batonv1.BatonServiceFinishTaskRequest_Success{}}})); err != nil {
		t.Fatalf("FinishTask: %v", err)
	}
	_, art, err := e.svc.GetSync(conncred.WithPrincipal(ctx, conncred.System), appID, connID, task.ID)
	if err != nil || art.Size != int64(len(second)) {
		t.Fatalf("artifact after two uploads: %+v (%v), want the second (%d bytes)", art, err, len(second))
	}
	if n := countFiles(t, filepath.Join(e.dir, "artifacts")); n != 1 {
		t.Errorf("artifact files: got %d, want 1 (the replaced upload deleted)", n)
	}
}

func countFiles(t testing.TB, dir string) int {
	t.Helper()
	ents, err := readDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func readDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, err
}

// completeSync makes a connector run one full sync with a c1z of size n
// and returns its app, connector and sync ids and the bytes.
func (e *batonEnv) completeSync(n int) (appID, connID, syncID string, body []byte) {
	e.t.Helper()
	ctx := context.Background()
	appID, connID, tok := e.connectorToken()
	c := e.client(tok)
	task := e.forceSync(appID, connID)
	if _, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"})); err != nil {
		e.t.Fatal(err)
	}
	if _, err := c.Hello(ctx, connect.NewRequest(hello("h"))); err != nil {
		e.t.Fatal(err)
	}
	body = c1z(n)
	if err := upload(ctx, c, uploadMsgs("h", task.ID, body, nil)); err != nil {
		e.t.Fatal(err)
	}
	if _, err := c.FinishTask(ctx, connect.NewRequest(&batonv1.BatonServiceFinishTaskRequest{HostId: "h", TaskId: task.ID,
		FinalState: &batonv1.BatonServiceFinishTaskRequest_Success_{Success: &batonv1.BatonServiceFinishTaskRequest_Success{}}})); err != nil {
		e.t.Fatal(err)
	}
	return appID, connID, task.ID, body
}
