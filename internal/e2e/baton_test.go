package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
	"github.com/jackc/pgx/v5"
)

// batonClient is a BatonService client as a service-mode connector holds
// it: gRPC over HTTP/2 and TLS, the bearer token on every call.
func batonClient(hc *http.Client, baseURL, token string) batonv1connect.BatonServiceClient {
	return batonv1connect.NewBatonServiceClient(hc, baseURL, connect.WithGRPC(), connect.WithInterceptors(bearer(token)))
}

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

// syncSetup makes an app, a connector and its credential through s, and
// starts a sync of the connector. It returns the connector's base path,
// its connector token and the sync id.
func syncSetup(t *testing.T, s *Server, hc *http.Client, adminTok string) (base, connTok, syncID string) {
	t.Helper()
	status, body := Call(t, hc, "POST", s.URL+"/api/v1/apps", adminTok, map[string]any{"displayName": "baton"})
	if status != http.StatusOK {
		t.Fatalf("create app: %d %v", status, body)
	}
	appID := Get(body, "app", "id")
	_, body = Call(t, hc, "POST", s.URL+"/api/v1/apps/"+appID+"/connectors", adminTok, map[string]any{})
	connID := Get(body, "connectorView", "connector", "id")
	base = "/api/v1/apps/" + appID + "/connectors/" + connID
	status, body = Call(t, hc, "POST", s.URL+base+"/credentials", adminTok, nil)
	if status != http.StatusOK {
		t.Fatalf("rotate: %d %v", status, body)
	}
	cred := Credential{ClientID: Get(body, "credential", "clientId"), ClientSecret: Get(body, "clientSecret")}
	status, body = Call(t, hc, "POST", s.URL+base+"/force_sync", adminTok, map[string]any{})
	if status != http.StatusOK {
		t.Fatalf("force_sync: %d %v", status, body)
	}
	return base, Token(t, hc, s.URL, cred), Get(body, "syncId")
}

func dataMsg(b []byte) *batonv1.BatonServiceUploadAssetRequest {
	return &batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Data{Data: &batonv1.BatonServiceUploadAssetRequest_UploadData{Data: b}}}
}

func metaMsg(taskID string) *batonv1.BatonServiceUploadAssetRequest {
	return &batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Metadata{
		Metadata: &batonv1.BatonServiceUploadAssetRequest_UploadMetadata{HostId: "e2e-host", TaskId: taskID}}}
}

func eofMsg(sum []byte) *batonv1.BatonServiceUploadAssetRequest {
	return &batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Eof{
		Eof: &batonv1.BatonServiceUploadAssetRequest_UploadEOF{Sha256Checksum: sum}}}
}

// claim answers the connector's first poll with the sync and makes its
// first heartbeat, as baton-sdk does before any work.
func claim(t *testing.T, c batonv1connect.BatonServiceClient, syncID string) {
	t.Helper()
	ctx := t.Context()
	got, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "e2e-host"}))
	if err != nil || got.Msg.GetTask().GetId() != syncID {
		t.Fatalf("GetTask: %v (%v), want the sync %s", got, err, syncID)
	}
	if _, err := c.Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "e2e-host", TaskId: syncID})); err != nil {
		t.Fatalf("first heartbeat: %v", err)
	}
}

// waitFor polls cond every 100ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKillDuringUpload kills the server with SIGKILL while a connector's
// UploadAsset stream is half sent, restarts it, and checks that no
// partial artifact is visible (the sync has none, its download is 404,
// the directory store holds no partial file) and that the sync, whose
// connector never finished it, times out and is retried. It runs on
// SQLite with the directory store, and on PostgreSQL with the chunk store
// when CONNCRED_TEST_POSTGRES_URL is set.
func TestKillDuringUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server")
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		partial := func() int64 {
			files, _ := filepath.Glob(filepath.Join(dir, "artifacts", ".upload-*"))
			var n int64
			for _, f := range files {
				if fi, err := os.Stat(f); err == nil {
					n += fi.Size()
				}
			}
			return n
		}
		killDuringUpload(t, dir, nil, partial)
		if n := partial(); n != 0 {
			t.Errorf("after restart: %d bytes of partial uploads left in the artifacts directory, want 0", n)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		db := PostgresURL(t)
		chunks := func() int64 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, db)
			if err != nil {
				return 0
			}
			defer conn.Close(ctx)
			var n int64
			_ = conn.QueryRow(ctx, `SELECT coalesce(sum(length(data)), 0) FROM baton_blob_chunks`).Scan(&n)
			return n
		}
		killDuringUpload(t, filepath.Join(t.TempDir(), "data"), []string{"--db", db}, chunks)
	})
}

// killDuringUpload runs the kill test; written reports how many bytes of
// the upload the server has stored so far.
func killDuringUpload(t *testing.T, dir string, extra []string, written func() int64) {
	args := append([]string{"--dev", "--connector-heartbeat-timeout", "2s"}, extra...)
	s := Start(t, dir, args...)
	hc := s.HTTPClient(t)
	adminTok := Token(t, hc, s.URL, AdminCredential(t, dir))
	base, connTok, syncID := syncSetup(t, s, hc, adminTok)
	c := batonClient(hc, s.URL, connTok)
	claim(t, c, syncID)

	// Half an upload: metadata and 2 MiB of 4, no EOF. The stream stays
	// open until the server dies under it.
	stream := c.UploadAsset(context.Background())
	if err := stream.Send(metaMsg(syncID)); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 512<<10)
	_, _ = rand.Read(chunk)
	for range 4 {
		if err := stream.Send(dataMsg(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the server storing part of the upload", func() bool { return written() >= 1<<20 })
	t.Logf("killing the server with %d bytes of the upload stored", written())
	s.Kill()
	if _, err := stream.CloseAndReceive(); err == nil {
		t.Fatal("the half upload succeeded on a killed server")
	}

	s = Start(t, dir, args...)
	hc = s.HTTPClient(t)
	adminTok = Token(t, hc, s.URL, AdminCredential(t, dir))
	status, body := Call(t, hc, "GET", s.URL+base+"/syncs/"+syncID, adminTok, nil)
	if status != http.StatusOK || Get(body, "sync", "artifactSha256") != "" || Get(body, "sync", "state") != "running" {
		t.Fatalf("sync after restart: %d %v; want running with no artifact", status, body)
	}
	if status, _ := Call(t, hc, "GET", s.URL+base+"/syncs/"+syncID+"/download", adminTok, nil); status != http.StatusNotFound {
		t.Errorf("download of the half-uploaded sync: %d, want 404", status)
	}
	// No heartbeat comes: the background pass (every 5s) times the sync
	// out after 2s and makes attempt 2.
	var retry map[string]any
	waitFor(t, 30*time.Second, "the sync timing out and being retried", func() bool {
		_, body := Call(t, hc, "GET", s.URL+base+"/syncs", adminTok, nil)
		list, _ := body["list"].([]any)
		for _, v := range list {
			if m, _ := v.(map[string]any); m["retryOf"] == syncID {
				retry = m
				return true
			}
		}
		return false
	})
	_, body = Call(t, hc, "GET", s.URL+base+"/syncs/"+syncID, adminTok, nil)
	if Get(body, "sync", "state") != "failed" || retry["attempt"] != float64(2) || retry["state"] != "pending" {
		t.Errorf("after the timeout: killed sync %v, retry %v; want failed, and attempt 2 pending", body, retry)
	}
}

// TestDownloadURLAcrossNodes: a sync uploaded through node A, its
// download_url asked of node A, fetched from node B (a load balancer may
// send it anywhere) returns the same bytes: the URL's key is shared
// through the database.
func TestDownloadURLAcrossNodes(t *testing.T) {
	db := PostgresURL(t)
	const publicHost = "127.0.0.1:8443"
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := Start(t, dirA, "--dev", "--db", db, "--public-host", publicHost)
	b := Start(t, dirB, "--dev", "--db", db, "--public-host", publicHost)
	hcA, hcB := a.HTTPClient(t), b.HTTPClient(t)
	adminTok := Token(t, hcA, a.URL, AdminCredential(t, dirA))
	base, connTok, syncID := syncSetup(t, a, hcA, adminTok)
	c := batonClient(hcA, a.URL, connTok)
	claim(t, c, syncID)

	body := make([]byte, 1<<20+123)
	_, _ = rand.Read(body)
	copy(body, "C1ZF\x00")
	sum := sha256.Sum256(body)
	stream := c.UploadAsset(t.Context())
	for _, m := range []*batonv1.BatonServiceUploadAssetRequest{metaMsg(syncID), dataMsg(body[:512<<10]), dataMsg(body[512<<10 : 1<<20]), dataMsg(body[1<<20:]), eofMsg(sum[:])} {
		if err := stream.Send(m); err != nil {
			break
		}
	}
	if _, err := stream.CloseAndReceive(); err != nil {
		t.Fatalf("upload through A: %v", err)
	}
	if _, err := c.FinishTask(t.Context(), connect.NewRequest(&batonv1.BatonServiceFinishTaskRequest{HostId: "e2e-host", TaskId: syncID,
		FinalState: &batonv1.BatonServiceFinishTaskRequest_Success_{Success: &batonv1.BatonServiceFinishTaskRequest_Success{}}})); err != nil {
		t.Fatalf("finish through A: %v", err)
	}

	status, out := Call(t, hcA, "GET", a.URL+base+"/syncs/"+syncID+"/download_url", adminTok, nil)
	if status != http.StatusOK {
		t.Fatalf("download_url on A: %d %v", status, out)
	}
	u, err := url.Parse(Get(out, "downloadUrl"))
	if err != nil || u.Host != publicHost {
		t.Fatalf("downloadUrl %q: want one on the public host %s", Get(out, "downloadUrl"), publicHost)
	}
	for _, n := range []struct {
		name string
		s    *Server
		hc   *http.Client
	}{{"B", b, hcB}, {"A", a, hcA}} {
		resp, err := n.hc.Get(n.s.URL + u.Path) // no token: the URL is the authorization
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Errorf("download URL made on A, fetched from %s: %d, %d bytes (%v); want 200 and the %d uploaded bytes", n.name, resp.StatusCode, len(got), err, len(body))
		}
	}
	// A tampered URL is refused on either node.
	resp, err := hcB.Get(b.URL + u.Path + "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered URL on B: %d, want 403", resp.StatusCode)
	}
}
