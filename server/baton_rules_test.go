// BatonService tests of the rules around a sync: refusals, hostile uploads,
// malformed protobuf, timeouts and retries, cancel and pause, schedules.

package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
)

// TestBatonRefusals: who may call, and whose tasks they see.
func TestBatonRefusals(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	ctx := t.Context()
	appID, connID, tok := e.connectorToken()
	task := e.forceSync(appID, connID)
	otherApp, otherConn := e.setup()
	_, otherClient, otherSec := e.rotate(otherApp, otherConn)
	otherTok := e.token(otherClient, otherSec)
	// The task's connector claims it.
	if _, err := e.client(tok).GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"})); err != nil {
		t.Fatal(err)
	}
	other := e.client(otherTok)
	beat := &batonv1.BatonServiceHeartbeatRequest{HostId: "h", TaskId: task.ID}
	finish := &batonv1.BatonServiceFinishTaskRequest{HostId: "h", TaskId: task.ID,
		FinalState: &batonv1.BatonServiceFinishTaskRequest_Success_{Success: &batonv1.BatonServiceFinishTaskRequest_Success{}}}

	_, err := e.client("").GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"}))
	wantRPCCode(t, "no token", err, connect.CodeUnauthenticated)
	_, err = e.client("garbage").Hello(ctx, connect.NewRequest(hello("h")))
	wantRPCCode(t, "bad token", err, connect.CodeUnauthenticated)
	_, err = e.client(e.admin).GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"}))
	wantRPCCode(t, "admin token", err, connect.CodePermissionDenied)
	_, err = other.Heartbeat(ctx, connect.NewRequest(beat))
	wantRPCCode(t, "heartbeat of another connector's task", err, connect.CodeNotFound)
	_, err = other.FinishTask(ctx, connect.NewRequest(finish))
	wantRPCCode(t, "finish of another connector's task", err, connect.CodeNotFound)
	err = upload(ctx, other, uploadMsgs("h", task.ID, c1z(10), nil))
	wantRPCCode(t, "upload for another connector's task", err, connect.CodeNotFound)
	_, err = e.client(tok).Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "h", TaskId: "2Jx0000000000000000000000zz"}))
	wantRPCCode(t, "heartbeat of an unknown task", err, connect.CodeNotFound)
	_, err = e.client(tok).Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "h", TaskId: "short"}))
	wantRPCCode(t, "malformed task id", err, connect.CodeInvalidArgument)
	_, err = e.client(tok).GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{}))
	wantRPCCode(t, "empty host id", err, connect.CodeInvalidArgument)

	// Revoking the credential stops its very next RPC.
	if code, _ := e.api("POST", "/api/v1/apps/"+otherApp+"/connectors/"+otherConn+"/credentials/"+credIDOf(t, e, otherClient), e.admin, map[string]any{}); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	_, err = other.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"}))
	wantRPCCode(t, "revoked credential", err, connect.CodeUnauthenticated)
}

func credIDOf(t testing.TB, e *batonEnv, clientID string) string {
	t.Helper()
	c, err := e.store.GetCredentialByClientID(context.Background(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestBatonHostileUploads: each hostile stream is refused with
// InvalidArgument and leaves nothing stored.
func TestBatonHostileUploads(t *testing.T) {
	e := newBatonEnv(t, baton.Config{MaxUploadBytes: 100_000})
	ctx := t.Context()
	appID, connID, tok := e.connectorToken()
	task := e.forceSync(appID, connID)
	c := e.client(tok)
	if _, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"})); err != nil {
		t.Fatal(err)
	}
	body := c1z(5000)
	good := uploadMsgs("h", task.ID, body, nil)
	data := func(b []byte) *batonv1.BatonServiceUploadAssetRequest {
		return &batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Data{Data: &batonv1.BatonServiceUploadAssetRequest_UploadData{Data: b}}}
	}
	for _, tc := range []struct {
		name string
		msgs []*batonv1.BatonServiceUploadAssetRequest
	}{
		{"checksum mismatch", uploadMsgs("h", task.ID, body, bytes.Repeat([]byte{1}, 32))},
		{"short checksum", uploadMsgs("h", task.ID, body, []byte{1, 2, 3})},
		{"no metadata", good[1:]},
		{"data after eof", append(append([]*batonv1.BatonServiceUploadAssetRequest{}, good...), data([]byte("x")))},
		{"no eof", good[:len(good)-1]},
		{"empty data message", append(append([]*batonv1.BatonServiceUploadAssetRequest{good[0]}, data(nil)), good[1:]...)},
		{"over the size limit", uploadMsgs("h", task.ID, c1z(100_001), nil)},
		{"empty stream", nil},
		{"two metadata messages", append([]*batonv1.BatonServiceUploadAssetRequest{good[0]}, good...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := upload(ctx, c, tc.msgs)
			wantRPCCode(t, tc.name, err, connect.CodeInvalidArgument)
			if connect.CodeOf(err) == connect.CodeInvalidArgument && err.Error() == "" {
				t.Error("no message")
			}
			if n := countFiles(t, filepath.Join(e.dir, "artifacts")); n != 0 {
				t.Errorf("files in the artifact directory: got %d, want 0", n)
			}
			if _, _, err := e.svc.GetSync(conncred.WithPrincipal(ctx, conncred.System), appID, connID, task.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
	_, art, _ := e.svc.GetSync(conncred.WithPrincipal(ctx, conncred.System), appID, connID, task.ID)
	if art.Key != "" {
		t.Errorf("an artifact was recorded after hostile uploads: %+v", art)
	}
}

// TestBatonMalformedProtobuf sends bytes that are not a message.
func TestBatonMalformedProtobuf(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	_, _, tok := e.connectorToken()
	frame := append([]byte{0, 0, 0, 0, 3}, 0xff, 0xff, 0xff)
	req, _ := http.NewRequest("POST", e.srv.URL+batonv1connect.BatonServiceGetTaskProcedure, bytes.NewReader(frame))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Trailer.Get("Grpc-Status") + resp.Header.Get("Grpc-Status"); got != "3" {
		t.Errorf("grpc-status: got %q, want 3 (INVALID_ARGUMENT)", got)
	}
}

// TestBatonTimeoutRetryAndIdempotentFinish: a connector that stops
// heartbeating has its task failed after the timeout and retried after
// the back-off; a late FinishTask changes nothing.
func TestBatonTimeoutRetryAndIdempotentFinish(t *testing.T) {
	e := newBatonEnv(t, baton.Config{HeartbeatInterval: 10 * time.Second, HeartbeatTimeout: time.Minute, RetryBackoff: 30 * time.Second})
	ctx := t.Context()
	appID, connID, tok := e.connectorToken()
	c := e.client(tok)
	task := e.forceSync(appID, connID)
	if _, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"})); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	admin := conncred.WithPrincipal(ctx, conncred.System)
	if tk, _, _ := e.svc.GetSync(admin, appID, connID, task.ID); tk.State != baton.StateRunning {
		t.Fatalf("at exactly the timeout: state %s, want running", tk.State)
	}
	e.clock.Advance(time.Second)
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	tk, _, _ := e.svc.GetSync(admin, appID, connID, task.ID)
	if tk.State != baton.StateFailed || tk.ErrorCode != 4 {
		t.Fatalf("after the timeout: %+v, want failed with DEADLINE_EXCEEDED", tk)
	}
	// The abandoned run's late heartbeat is told to stop.
	beat, err := c.Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "h", TaskId: task.ID}))
	if err != nil || !beat.Msg.GetCancelled() {
		t.Fatalf("heartbeat of a timed-out task: %v (%v), want cancelled", beat, err)
	}
	// A late finish is accepted and changes nothing.
	if _, err := c.FinishTask(ctx, connect.NewRequest(&batonv1.BatonServiceFinishTaskRequest{HostId: "h", TaskId: task.ID,
		FinalState: &batonv1.BatonServiceFinishTaskRequest_Success_{Success: &batonv1.BatonServiceFinishTaskRequest_Success{}}})); err != nil {
		t.Fatalf("late FinishTask: %v", err)
	}
	if again, _, _ := e.svc.GetSync(admin, appID, connID, task.ID); again.State != baton.StateFailed {
		t.Errorf("after a late finish: state %s, want failed kept", again.State)
	}
	// The retry waits out its back-off.
	none, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"}))
	if err != nil || none.Msg.GetTask().GetNone() == nil {
		t.Fatalf("GetTask during the back-off: %v (%v), want none", none, err)
	}
	e.clock.Advance(30 * time.Second)
	retry, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"}))
	if err != nil || retry.Msg.GetTask().GetSyncFull() == nil || retry.Msg.GetTask().GetId() == task.ID {
		t.Fatalf("GetTask after the back-off: %v (%v), want a new sync_full", retry, err)
	}
	rt, _, _ := e.svc.GetSync(admin, appID, connID, retry.Msg.GetTask().GetId())
	if rt.Attempt != 2 || rt.RetryOf != task.ID {
		t.Errorf("retry: attempt %d of %q, want 2 of %s", rt.Attempt, rt.RetryOf, task.ID)
	}
	// Finishing twice: the first outcome stands.
	for _, fin := range []*batonv1.BatonServiceFinishTaskRequest{
		{HostId: "h", TaskId: rt.ID, Status: nil, FinalState: &batonv1.BatonServiceFinishTaskRequest_Error_{Error: &batonv1.BatonServiceFinishTaskRequest_Error{NonRetryable: true}}},
		{HostId: "h", TaskId: rt.ID, FinalState: &batonv1.BatonServiceFinishTaskRequest_Success_{Success: &batonv1.BatonServiceFinishTaskRequest_Success{}}},
	} {
		if _, err := c.FinishTask(ctx, connect.NewRequest(fin)); err != nil {
			t.Fatalf("FinishTask: %v", err)
		}
	}
	rt, _, _ = e.svc.GetSync(admin, appID, connID, rt.ID)
	if rt.State != baton.StateFailed || !rt.NonRetryable {
		t.Errorf("after error then success: %+v, want the non-retryable failure kept", rt)
	}
	if n, _ := e.svc.ListTasks(admin, appID, connID, true, "", 0); len(n) != 2 {
		t.Errorf("syncs: got %d, want 2 (a non-retryable failure makes no retry)", len(n))
	}
}

// TestBatonCancelAndPause: an operator's cancel reaches the next heartbeat;
// a paused connector gets no tasks and cannot be forced.
func TestBatonCancelAndPause(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	ctx := t.Context()
	admin := conncred.WithPrincipal(ctx, conncred.System)
	appID, connID, tok := e.connectorToken()
	c := e.client(tok)
	task := e.forceSync(appID, connID)
	if _, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"})); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CancelTask(admin, appID, connID, task.ID); err != nil {
		t.Fatal(err)
	}
	beat, err := c.Heartbeat(ctx, connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "h", TaskId: task.ID}))
	if err != nil || !beat.Msg.GetCancelled() {
		t.Fatalf("heartbeat after cancel: %v (%v), want cancelled", beat, err)
	}
	if tk, _, _ := e.svc.GetSync(admin, appID, connID, task.ID); tk.State != baton.StateCancelled {
		t.Errorf("state after the cancelled heartbeat: %s, want cancelled", tk.State)
	}
	if _, err := e.svc.Pause(admin, appID, connID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ForceSync(admin, appID, connID)
	if conncred.ErrorCode(err) != conncred.EConflict {
		t.Errorf("force sync while paused: %v, want conflict", err)
	}
	st, _ := e.svc.Status(admin, appID, connID)
	if st.Status != baton.SyncStatusDisabled || st.SyncDisabledAt == nil || !st.CanResumeSync {
		t.Errorf("status while paused: %+v", st)
	}
	if _, err := e.svc.Resume(admin, appID, connID); err != nil {
		t.Fatal(err)
	}
	e.forceSync(appID, connID)
	if _, err := e.svc.ForceSync(admin, appID, connID); conncred.ErrorCode(err) != conncred.EConflict {
		t.Errorf("second force sync while one is pending: %v, want conflict", err)
	}
}

// TestBatonSchedule: a cron schedule in a time zone starts syncs on the
// fake clock, and one missed run or many make one sync.
func TestBatonSchedule(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	ctx := t.Context()
	admin := conncred.WithPrincipal(ctx, conncred.System)
	appID, connID, _ := e.connectorToken()
	// t0 is 17:00 UTC = 18:00 in Berlin; 19:30 Berlin is 18:30 UTC.
	st, err := e.svc.SetSchedule(admin, appID, connID, "30 19 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(90 * time.Minute); st.NextRunAt == nil || !st.NextRunAt.Equal(want) {
		t.Fatalf("next run: got %v, want %v", st.NextRunAt, want)
	}
	for _, bad := range [][2]string{{"every day", ""}, {"0 3 * * *", "Mars/Olympus"}} {
		if _, err := e.svc.SetSchedule(admin, appID, connID, bad[0], bad[1]); conncred.ErrorCode(err) != conncred.EInvalid {
			t.Errorf("SetSchedule(%q, %q): %v, want invalid", bad[0], bad[1], err)
		}
	}
	e.clock.Advance(90*time.Minute - time.Second)
	_ = e.svc.Tick(ctx)
	if n, _ := e.svc.ListTasks(admin, appID, connID, true, "", 0); len(n) != 0 {
		t.Fatalf("syncs before the scheduled time: %d, want 0", len(n))
	}
	e.clock.Advance(3 * 24 * time.Hour) // down for days: one sync, not three
	_ = e.svc.Tick(ctx)
	_ = e.svc.Tick(ctx)
	syncs, _ := e.svc.ListTasks(admin, appID, connID, true, "", 0)
	if len(syncs) != 1 || syncs[0].Reason != "schedule" {
		t.Fatalf("syncs after the scheduled time: %+v, want one scheduled", syncs)
	}
}
