package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/ksuid"
)

// watchedStore lets a test wait for a node's watcher: it passes every
// notice and listening change on to the service, then to the test.
type watchedStore struct {
	*Store
	notices   chan string
	listening chan bool
}

func watched(s *Store) *watchedStore {
	return &watchedStore{Store: s, notices: make(chan string, 1000), listening: make(chan bool, 100)}
}

func (w *watchedStore) WatchTasks(ctx context.Context, fn func(string), listening func(bool)) error {
	return w.Store.WatchTasks(ctx, func(id string) {
		fn(id)
		w.notices <- id
	}, func(on bool) {
		listening(on)
		w.listening <- on
	})
}

// waitListening waits until the watcher reports on.
func (w *watchedStore) waitListening(t *testing.T, on bool) {
	t.Helper()
	for {
		select {
		case got := <-w.listening:
			if got == on {
				return
			}
		case <-time.After(10 * time.Second): // bounds a failing test only
			t.Fatalf("the watcher did not report listening=%v", on)
		}
	}
}

// waitNotice waits until the node has handled a notice for connectorID.
func (w *watchedStore) waitNotice(t *testing.T, connectorID string) {
	t.Helper()
	for {
		select {
		case id := <-w.notices:
			if id == connectorID {
				return
			}
		case <-time.After(10 * time.Second): // bounds a failing test only
			t.Fatalf("no notice for connector %s", connectorID)
		}
	}
}

// batonNode is one server node's baton.Service on its own pool.
type batonNode struct {
	svc *baton.Service
	ws  *watchedStore
}

// startBatonNode makes a node on u and runs its background pass (and so
// its watcher) until the test ends; run false leaves it without a watcher.
func startBatonNode(t *testing.T, u string, clk clock.Clock, run bool) *batonNode {
	t.Helper()
	ws := watched(open(t, u))
	svc := baton.New(baton.Config{RetryBackoff: 30 * time.Second}, baton.Deps{Store: ws, Clock: clk})
	if run {
		rctx, cancel := context.WithCancel(conncred.WithPrincipal(context.Background(), conncred.System))
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.Run(rctx, nil) // no ticks: only the watcher works
		}()
		t.Cleanup(func() { cancel(); <-done })
		ws.waitListening(t, true)
	}
	return &batonNode{svc: svc, ws: ws}
}

// quietConnector makes a connector and its principal; host h said Hello.
func quietConnector(t *testing.T, s *Store, n *batonNode) (conncred.Connector, context.Context) {
	t.Helper()
	c := batonConnector(t, s)
	cx := conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindConnector, AppID: c.AppID, ConnectorID: c.ID, ClientID: "c@test/ccc"})
	must(t, n.svc.Hello(cx, baton.HelloRequest{HostID: "h"}))
	return c, cx
}

func pollOnce(t *testing.T, n *batonNode, cx context.Context) string {
	t.Helper()
	p, err := n.svc.NextTasks(cx, "h", 1)
	must(t, err)
	if len(p.Tasks) == 0 {
		return ""
	}
	return p.Tasks[0].ID
}

// TestBatonQuietAcrossNodes: node A's "nothing pending" mark ends when
// node B gives the connector a task (force_sync, resume, a retry), so A
// hands it out at its next poll, as if it had read the database.
func TestBatonQuietAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	clk := clock.NewFake(now)
	a, b := startBatonNode(t, u, clk, true), startBatonNode(t, u, clk, true)
	c, cx := quietConnector(t, a.ws.Store, a)
	adm := conncred.WithPrincipal(context.Background(), conncred.System)

	pollOnce(t, a, cx)
	if id := pollOnce(t, a, cx); id != "" {
		t.Fatalf("empty poll handed out %s", id)
	}
	if q := a.svc.Metrics().QuietPolls; q != 1 {
		t.Fatalf("node A answered %d polls from its mark, want 1", q)
	}

	// force_sync on B.
	task, err := b.svc.ForceSync(adm, c.AppID, c.ID)
	must(t, err)
	a.ws.waitNotice(t, c.ID)
	if id := pollOnce(t, a, cx); id != task.ID {
		t.Fatalf("A's poll after B's force_sync: got %q, want %s", id, task.ID)
	}
	must(t, a.svc.Finish(cx, baton.FinishRequest{HostID: "h", TaskID: task.ID, Success: true}))

	// A sync forced, then paused, on B; A polls while paused; B resumes.
	task, err = b.svc.ForceSync(adm, c.AppID, c.ID)
	must(t, err)
	_, err = b.svc.Pause(adm, c.AppID, c.ID)
	must(t, err)
	a.ws.waitNotice(t, c.ID)
	a.ws.waitNotice(t, c.ID)
	for range 2 {
		if id := pollOnce(t, a, cx); id != "" {
			t.Fatalf("A's poll of a paused connector handed out %s", id)
		}
	}
	_, err = b.svc.Resume(adm, c.AppID, c.ID)
	must(t, err)
	a.ws.waitNotice(t, c.ID)
	if id := pollOnce(t, a, cx); id != task.ID {
		t.Fatalf("A's poll after B's resume: got %q, want %s", id, task.ID)
	}

	// The connector reports a failure through B: B makes the retry, due
	// after its back-off; A holds its mark until then, not longer.
	must(t, b.svc.Finish(cx, baton.FinishRequest{HostID: "h", TaskID: task.ID, ErrorCode: 14, ErrorMessage: "unavailable"}))
	a.ws.waitNotice(t, c.ID)
	if id := pollOnce(t, a, cx); id != "" {
		t.Fatalf("A's poll during the retry's back-off handed out %s", id)
	}
	clk.Advance(30 * time.Second)
	if id := pollOnce(t, a, cx); id == "" || id == task.ID {
		t.Fatalf("A's poll when B's retry is due: got %q, want the retry", id)
	}
	if n := a.svc.Metrics().TaskNotices; n < 4 {
		t.Errorf("node A handled %d notices, want at least 4", n)
	}
}

// TestBatonQuietWaitsForTheListener: a node on the shared database that
// does not listen (its background pass not started) leaves no marks, so
// another node's task is handed out at once.
func TestBatonQuietWaitsForTheListener(t *testing.T) {
	u := schemaURL(t)
	clk := clock.NewFake(now)
	a, b := startBatonNode(t, u, clk, false), startBatonNode(t, u, clk, false)
	c, cx := quietConnector(t, a.ws.Store, a)
	for range 3 {
		pollOnce(t, a, cx)
	}
	if q := a.svc.Metrics().QuietPolls; q != 0 {
		t.Fatalf("a node that does not listen answered %d polls from marks, want 0", q)
	}
	task, err := b.svc.ForceSync(conncred.WithPrincipal(context.Background(), conncred.System), c.AppID, c.ID)
	must(t, err)
	if id := pollOnce(t, a, cx); id != task.ID {
		t.Errorf("poll right after another node's force_sync: got %q, want %s", id, task.ID)
	}
}

// TestBatonQuietListenerLost: when a node's listener connection dies,
// its marks go (notices may be lost until it listens again), so a task
// made meanwhile on another node is handed out; the watcher reconnects.
func TestBatonQuietListenerLost(t *testing.T) {
	u := schemaURL(t)
	app := fmt.Sprintf("conncred-watch-%s", ksuid.New(time.Now()))
	clk := clock.NewFake(now)
	a := startBatonNode(t, withParams(t, u, "application_name", app), clk, true)
	b := startBatonNode(t, u, clk, true)
	c, cx := quietConnector(t, a.ws.Store, a)
	pollOnce(t, a, cx)
	pollOnce(t, a, cx)
	if q := a.svc.Metrics().QuietPolls; q != 1 {
		t.Fatalf("quiet polls before the loss: %d, want 1", q)
	}
	admin(t, fmt.Sprintf(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '%s' AND query LIKE 'LISTEN%%'`, app))
	a.ws.waitListening(t, false)
	task, err := b.svc.ForceSync(conncred.WithPrincipal(context.Background(), conncred.System), c.AppID, c.ID)
	must(t, err)
	if id := pollOnce(t, a, cx); id != task.ID {
		t.Fatalf("poll after the listener was lost: got %q, want %s", id, task.ID)
	}
	if n := a.svc.Metrics().TaskWatchLost; n != 1 {
		t.Errorf("listener losses counted: %d, want 1", n)
	}
	// It listens again, and notices flow again.
	a.ws.waitListening(t, true)
	must(t, a.svc.Finish(cx, baton.FinishRequest{HostID: "h", TaskID: task.ID, Success: true}))
	pollOnce(t, a, cx)
	task, err = b.svc.ForceSync(conncred.WithPrincipal(context.Background(), conncred.System), c.AppID, c.ID)
	must(t, err)
	a.ws.waitNotice(t, c.ID)
	if id := pollOnce(t, a, cx); id != task.ID {
		t.Errorf("poll after reconnecting and another force_sync: got %q, want %s", id, task.ID)
	}
}

// TestWatchTasksAnnouncesCommittedWrites: a task created or settings
// saved through any pool is announced with its connector id; a refused
// insert is not.
func TestWatchTasksAnnouncesCommittedWrites(t *testing.T) {
	u := schemaURL(t)
	listener, writer := watched(open(t, u)), open(t, u)
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- listener.WatchTasks(wctx, func(string) {}, func(bool) {}) }()
	listener.waitListening(t, true)

	c1, c2 := batonConnector(t, writer), batonConnector(t, writer)
	sync1 := baton.Task{ID: ksuid.New(now), ConnectorID: c1.ID, AppID: c1.AppID, Type: baton.TypeSyncFull, State: baton.StatePending,
		Attempt: 1, CreatedAt: now, NotBefore: now}
	must(t, writer.CreateTask(ctx, sync1))
	listener.waitNotice(t, c1.ID)
	// A second live sync is refused: nothing is announced for it, so the
	// next notice is the next write's.
	again := sync1
	again.ID = ksuid.New(now.Add(time.Second))
	wantCode(t, writer.CreateTask(ctx, again), conncred.EConflict)
	must(t, writer.SaveSettings(ctx, baton.Settings{ConnectorID: c2.ID, UpdatedAt: now}))
	select {
	case id := <-listener.notices:
		if id != c2.ID {
			t.Errorf("notice after a refused insert and c2's settings: got %q, want c2 %q", id, c2.ID)
		}
	case <-time.After(10 * time.Second): // bounds a failing test only
		t.Fatal("no notice for saved settings")
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("WatchTasks returned %v, want context.Canceled", err)
	}
	listener.waitListening(t, false)
}
