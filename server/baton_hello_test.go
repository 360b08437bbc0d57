package server

import (
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
)

// TestBatonHelloTasks: a host that polls without a Hello on record (a
// v0.2.x connector whose one start-up Hello failed) is sent a hello task
// once HelloGrace has passed; its Hello with the task's id records the
// host and finishes the task (the connector never calls FinishTask for
// hello). A host whose Hello came, even after its first poll, is never
// asked; a sync goes before a hello; an unanswered hello times out
// without a retry and is asked again later.
func TestBatonHelloTasks(t *testing.T) {
	const grace = time.Minute
	e := newBatonEnv(t, baton.Config{HelloGrace: grace, HeartbeatTimeout: 2 * time.Minute})
	ctx := t.Context()
	admin := conncred.WithPrincipal(ctx, conncred.System)
	appID, connID, tok := e.connectorToken()
	c := e.client(tok)
	poll := func(host string) *batonv1.Task {
		t.Helper()
		got, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: host}))
		if err != nil {
			t.Fatalf("GetTask(%s): %v", host, err)
		}
		return got.Msg.GetTask()
	}
	isNone := func(tk *batonv1.Task) bool { return tk.GetNone() != nil }

	// v0.2.51's order: the first poll overtakes Hello. Not asked then,
	// nor after the grace, because the Hello came.
	if tk := poll("good"); !isNone(tk) {
		t.Fatalf("first poll of a new host: got %v, want none", tk)
	}
	if _, err := c.Hello(ctx, connect.NewRequest(hello("good"))); err != nil {
		t.Fatal(err)
	}
	// The host whose Hello failed polls too.
	if tk := poll("mute"); !isNone(tk) {
		t.Fatalf("first poll of the mute host: got %v, want none", tk)
	}
	e.clock.Advance(grace)
	if tk := poll("good"); !isNone(tk) {
		t.Errorf("host with a Hello after the grace: got %v, want none", tk)
	}

	// A pending sync goes first; the hello waits for a poll with room.
	sync := e.forceSync(appID, connID)
	if tk := poll("mute"); tk.GetId() != sync.ID || tk.GetSyncFull() == nil {
		t.Fatalf("poll with a sync pending: got %v, want the sync %s", tk, sync.ID)
	}
	helloTask := poll("mute")
	if helloTask.GetHello() == nil || len(helloTask.GetId()) != 27 {
		t.Fatalf("poll of the mute host after the grace: got %v, want a hello task", helloTask)
	}
	if tk := poll("mute"); !isNone(tk) {
		t.Errorf("poll while the hello task is out: got %v, want none (one hello at a time)", tk)
	}

	// The connector answers with Hello(task_id) and no FinishTask.
	req := hello("mute")
	req.TaskId = helloTask.GetId()
	if _, err := c.Hello(ctx, connect.NewRequest(req)); err != nil {
		t.Fatalf("Hello answering the task: %v", err)
	}
	tasks, err := e.svc.ListTasks(admin, appID, connID, false, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if tk.ID == helloTask.GetId() && (tk.Type != baton.TypeHello || tk.State != baton.StateFinished || tk.HostID != "mute") {
			t.Errorf("answered hello task: %+v, want finished on host mute", tk)
		}
	}
	hosts, _ := e.svc.ListHosts(admin, appID, connID, "", 0)
	if len(hosts) != 2 {
		t.Errorf("hosts after the answer: %d, want good and mute", len(hosts))
	}
	e.clock.Advance(10 * grace)
	if tk := poll("mute"); !isNone(tk) {
		t.Errorf("poll after the answered hello: got %v, want none", tk)
	}
	if m := e.svc.Metrics(); m.HelloTasks != 1 {
		t.Errorf("hello tasks sent: %d, want 1", m.HelloTasks)
	}

	// A host that never answers: its hello times out, is not retried, and
	// is asked again after the heartbeat timeout.
	poll("silent")
	e.clock.Advance(grace)
	first := poll("silent")
	if first.GetHello() == nil {
		t.Fatalf("silent host after the grace: got %v, want a hello task", first)
	}
	e.clock.Advance(2*time.Minute + time.Second)
	if err := e.svc.Tick(admin); err != nil {
		t.Fatal(err)
	}
	tasks, _ = e.svc.ListTasks(admin, appID, connID, false, "", 0)
	for _, tk := range tasks {
		if tk.RetryOf == first.GetId() {
			t.Errorf("the unanswered hello was retried: %+v", tk)
		}
		if tk.ID == first.GetId() && tk.State != baton.StateFailed {
			t.Errorf("unanswered hello after the timeout: %s, want failed", tk.State)
		}
	}
	if again := poll("silent"); again.GetHello() == nil || again.GetId() == first.GetId() {
		t.Errorf("silent host after the timeout: got %v, want a new hello task", again)
	}
}

// TestBatonHelloTaskOnOtherNode: a Hello recorded through another node
// (another Service on the same store) spares the host a hello task: the
// store is read once the grace has passed.
func TestBatonHelloTaskOnOtherNode(t *testing.T) {
	e := newBatonEnv(t, baton.Config{HelloGrace: time.Minute})
	_, _, tok := e.connectorToken()
	c := e.client(tok)
	ctx := t.Context()
	if _, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"})); err != nil {
		t.Fatal(err)
	}
	// The other node: same store, its own memory.
	other := baton.New(baton.Config{}, baton.Deps{Store: e.store.(baton.Store), Artifacts: e.artifacts, Clock: e.clock})
	p, err := e.auth.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Hello(conncred.WithPrincipal(ctx, p), baton.HelloRequest{HostID: "h"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	got, err := c.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "h"}))
	if err != nil || got.Msg.GetTask().GetNone() == nil {
		t.Errorf("poll after a Hello on the other node: %v (%v), want none", got.Msg.GetTask(), err)
	}
}
