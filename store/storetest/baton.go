package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/internal/ksuid"
)

// batonTests pin baton.Store, which every conncred store also implements.
var batonTests = []test{
	{"HostUpsert", testBatonHostUpsert},
	{"TaskRoundTrip", testBatonTaskRoundTrip},
	{"OneSyncAtATime", testBatonOneSync},
	{"ClaimOrderAndNotBefore", testBatonClaimOrder},
	{"ClaimRace", testBatonClaimRace},
	{"BeatOnlyOwnRunning", testBatonBeat},
	{"EndOnce", testBatonEndOnce},
	{"Stale", testBatonStale},
	{"ArtifactReplace", testBatonArtifactReplace},
	{"Settings", testBatonSettings},
	{"ListTasksPaging", testBatonListTasks},
}

func batonStore(t *testing.T, s conncred.Store) baton.Store {
	t.Helper()
	bs, ok := s.(baton.Store)
	if !ok {
		t.Fatalf("%T does not implement baton.Store", s)
	}
	return bs
}

func pendingSync(c conncred.Connector, created time.Time) baton.Task {
	return baton.Task{ID: ksuid.New(created), ConnectorID: c.ID, AppID: c.AppID, Type: baton.TypeSyncFull,
		State: baton.StatePending, Attempt: 1, Reason: "test", CreatedAt: created, NotBefore: created}
}

func testBatonHostUpsert(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	h := baton.Host{ConnectorID: c.ID, HostID: "host-b", DisplayName: "Demo", Package: "github.com/x/baton-demo",
		PackageVersion: "v1", LangVersion: "go1.26", OS: baton.OSInfo{OS: "linux", KernelArch: "x86_64"}, FirstSeenAt: at(0), LastSeenAt: at(0)}
	must(t, bs.SaveHost(ctx, h))
	h2 := h
	h2.PackageVersion, h2.FirstSeenAt, h2.LastSeenAt = "v2", at(time.Hour), at(time.Hour)
	must(t, bs.SaveHost(ctx, h2))
	must(t, bs.SaveHost(ctx, baton.Host{ConnectorID: c.ID, HostID: "host-a", FirstSeenAt: at(0), LastSeenAt: at(0)}))
	hosts, err := bs.ListHosts(ctx, c.ID, "", 0)
	must(t, err)
	if len(hosts) != 2 || hosts[0].HostID != "host-a" || hosts[1].HostID != "host-b" {
		t.Fatalf("ListHosts: got %+v, want host-a, host-b", hosts)
	}
	got := hosts[1]
	if got.PackageVersion != "v2" || !got.FirstSeenAt.Equal(at(0)) || !got.LastSeenAt.Equal(at(time.Hour)) || got.OS != h.OS {
		t.Errorf("host after second save: got %+v, want version v2, first seen %v, last seen %v", got, at(0), at(time.Hour))
	}
	page, err := bs.ListHosts(ctx, c.ID, "host-a", 1)
	must(t, err)
	if len(page) != 1 || page[0].HostID != "host-b" {
		t.Errorf("ListHosts after host-a: got %+v, want host-b", page)
	}
	wantCode(t, bs.SaveHost(ctx, baton.Host{ConnectorID: "nope", HostID: "h", FirstSeenAt: at(0), LastSeenAt: at(0)}), conncred.ENotFound)
}

func testBatonTaskRoundTrip(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	tk := pendingSync(c, at(0))
	tk.RetryOf, tk.Attempt, tk.NotBefore = "x", 2, at(time.Minute)
	must(t, bs.CreateTask(ctx, tk))
	got, err := bs.GetTask(ctx, tk.ID)
	must(t, err)
	if got.ID != tk.ID || got.State != baton.StatePending || got.Attempt != 2 || got.RetryOf != "x" || !got.NotBefore.Equal(tk.NotBefore) ||
		!got.CreatedAt.Equal(tk.CreatedAt) || got.StartedAt != nil || got.AppID != c.AppID {
		t.Errorf("GetTask: got %+v, want %+v", got, tk)
	}
	_, err = bs.GetTask(ctx, ksuid.New(at(0)))
	wantCode(t, err, conncred.ENotFound)
	wantCode(t, bs.CreateTask(ctx, tk), conncred.EConflict)
}

func testBatonOneSync(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	first := pendingSync(c, at(0))
	must(t, bs.CreateTask(ctx, first))
	wantCode(t, bs.CreateTask(ctx, pendingSync(c, at(time.Second))), conncred.EConflict)
	// Another connector is not held back.
	other := newConnector(t, s, c.AppID)
	must(t, bs.CreateTask(ctx, pendingSync(other, at(time.Second))))
	// Running still blocks; a final sync no longer does.
	_, _, err := bs.ClaimTasks(ctx, c.ID, "h", at(time.Second), 1)
	must(t, err)
	wantCode(t, bs.CreateTask(ctx, pendingSync(c, at(2*time.Second))), conncred.EConflict)
	_, changed, err := bs.EndTask(ctx, first.ID, baton.Outcome{State: baton.StateFinished, At: at(3 * time.Second)})
	must(t, err)
	if !changed {
		t.Fatal("EndTask of a running task: changed false")
	}
	must(t, bs.CreateTask(ctx, pendingSync(c, at(4*time.Second))))
}

func testBatonClaimOrder(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	hello1 := pendingSync(c, at(0))
	hello1.Type = baton.TypeHello
	hello2 := pendingSync(c, at(time.Second))
	hello2.Type, hello2.NotBefore = baton.TypeHello, at(time.Hour)
	must(t, bs.CreateTask(ctx, hello1))
	must(t, bs.CreateTask(ctx, hello2))
	got, next, err := bs.ClaimTasks(ctx, c.ID, "h1", at(time.Minute), 10)
	must(t, err)
	if len(got) != 1 || got[0].ID != hello1.ID || got[0].State != baton.StateRunning || got[0].HostID != "h1" ||
		got[0].StartedAt == nil || !got[0].StartedAt.Equal(at(time.Minute)) || !got[0].HeartbeatAt.Equal(at(time.Minute)) {
		t.Fatalf("ClaimTasks before NotBefore of the second: got %+v, want only the first, running on h1", got)
	}
	if !next.IsZero() {
		t.Errorf("ClaimTasks that claimed a task: next %v, want zero", next)
	}
	// Nothing claimable: next says when the second will be.
	got, next, err = bs.ClaimTasks(ctx, c.ID, "h1", at(time.Minute), 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("second ClaimTasks: got %d tasks, want 0", len(got))
	}
	if !next.Equal(at(time.Hour)) {
		t.Errorf("ClaimTasks with a task pending later: next %v, want its NotBefore %v", next, at(time.Hour))
	}
	got, _, err = bs.ClaimTasks(ctx, c.ID, "h2", at(time.Hour), 10)
	must(t, err)
	if len(got) != 1 || got[0].ID != hello2.ID {
		t.Fatalf("ClaimTasks at NotBefore: got %+v, want the second", got)
	}
	// Nothing pending at all: next is zero.
	got, next, err = bs.ClaimTasks(ctx, c.ID, "h2", at(2*time.Hour), 10)
	must(t, err)
	if len(got) != 0 || !next.IsZero() {
		t.Errorf("ClaimTasks with nothing pending: got %d tasks, next %v; want none and zero", len(got), next)
	}
	// Another connector's pending task says nothing about this one.
	other := newConnector(t, s, c.AppID)
	later := pendingSync(other, at(3*time.Hour))
	later.NotBefore = at(4 * time.Hour)
	must(t, bs.CreateTask(ctx, later))
	got, next, err = bs.ClaimTasks(ctx, c.ID, "h2", at(3*time.Hour), 10)
	must(t, err)
	if len(got) != 0 || !next.IsZero() {
		t.Errorf("ClaimTasks beside another connector's task: got %d tasks, next %v; want none and zero", len(got), next)
	}
}

// testBatonClaimRace claims from many goroutines (on PostgreSQL, many
// connections: what two nodes do) and checks that no task is handed out
// twice and none is lost.
func testBatonClaimRace(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	const tasks = 60
	for i := range tasks {
		tk := pendingSync(c, at(time.Duration(i)*time.Millisecond))
		tk.Type = baton.TypeHello // not bound by the one-sync index
		must(t, bs.CreateTask(ctx, tk))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for {
				got, _, err := bs.ClaimTasks(ctx, c.ID, "host", at(time.Hour), 3)
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, tk := range got {
					seen[tk.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != tasks {
		t.Errorf("claimed %d distinct tasks, want %d", len(seen), tasks)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("task %s handed out %d times, want once", id, n)
		}
	}
}

func testBatonBeat(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	other := newConnector(t, s, c.AppID)
	mine, theirs := pendingSync(c, at(0)), pendingSync(other, at(0))
	must(t, bs.CreateTask(ctx, mine))
	must(t, bs.CreateTask(ctx, theirs))
	got, err := bs.BeatTasks(ctx, c.ID, []string{mine.ID}, at(time.Second))
	must(t, err)
	if len(got) != 1 || got[0].HeartbeatAt != nil {
		t.Fatalf("beat of a pending task: got %+v, want it unchanged (no heartbeat time)", got)
	}
	_, _, err = bs.ClaimTasks(ctx, c.ID, "h", at(time.Second), 1)
	must(t, err)
	_, _, err = bs.ClaimTasks(ctx, other.ID, "h", at(time.Second), 1)
	must(t, err)
	got, err = bs.BeatTasks(ctx, c.ID, []string{mine.ID, theirs.ID, "unknown"}, at(time.Minute))
	must(t, err)
	if len(got) != 1 || got[0].ID != mine.ID || !got[0].HeartbeatAt.Equal(at(time.Minute)) {
		t.Fatalf("BeatTasks: got %+v, want only the connector's own task, beaten at %v", got, at(time.Minute))
	}
	th, err := bs.GetTask(ctx, theirs.ID)
	must(t, err)
	if !th.HeartbeatAt.Equal(at(time.Second)) {
		t.Errorf("another connector's task was beaten: heartbeat %v, want %v", th.HeartbeatAt, at(time.Second))
	}
}

func testBatonEndOnce(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	tk := pendingSync(c, at(0))
	must(t, bs.CreateTask(ctx, tk))
	// A pending task cannot finish, only be cancelled.
	_, changed, err := bs.EndTask(ctx, tk.ID, baton.Outcome{State: baton.StateFinished, At: at(time.Second)})
	must(t, err)
	if changed {
		t.Fatal("EndTask finished a pending task")
	}
	_, _, err = bs.ClaimTasks(ctx, c.ID, "h", at(time.Second), 1)
	must(t, err)
	first := baton.Outcome{State: baton.StateFailed, At: at(2 * time.Second), ErrorCode: 14, ErrorMessage: "boom", NonRetryable: true, Response: []byte{1, 2}}
	got, changed, err := bs.EndTask(ctx, tk.ID, first)
	must(t, err)
	if !changed || got.State != baton.StateFailed || got.ErrorCode != 14 || got.ErrorMessage != "boom" || !got.NonRetryable ||
		!bytes.Equal(got.Response, []byte{1, 2}) || !got.FinishedAt.Equal(at(2*time.Second)) {
		t.Fatalf("EndTask: got %+v changed %v, want the failure recorded", got, changed)
	}
	got, changed, err = bs.EndTask(ctx, tk.ID, baton.Outcome{State: baton.StateFinished, At: at(3 * time.Second)})
	must(t, err)
	if changed || got.State != baton.StateFailed || !got.FinishedAt.Equal(at(2*time.Second)) {
		t.Errorf("second EndTask: got %+v changed %v, want the first outcome kept", got, changed)
	}
	_, _, err = bs.EndTask(ctx, ksuid.New(at(0)), first)
	wantCode(t, err, conncred.ENotFound)
}

func testBatonStale(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	tk := pendingSync(c, at(0))
	must(t, bs.CreateTask(ctx, tk))
	_, _, err := bs.ClaimTasks(ctx, c.ID, "h", at(0), 1)
	must(t, err)
	_, err = bs.BeatTasks(ctx, c.ID, []string{tk.ID}, at(time.Minute))
	must(t, err)
	for _, tc := range []struct {
		before time.Time
		want   int
	}{{at(time.Minute), 0}, {at(time.Minute + time.Microsecond), 1}} {
		got, err := bs.StaleTasks(ctx, tc.before, 10)
		must(t, err)
		if len(got) != tc.want {
			t.Errorf("StaleTasks(%v): got %d, want %d", tc.before, len(got), tc.want)
		}
	}
	cancelled, err := bs.RequestCancel(ctx, tk.ID)
	must(t, err)
	if !cancelled.CancelRequested || cancelled.State != baton.StateRunning {
		t.Errorf("RequestCancel: got %+v, want running with CancelRequested", cancelled)
	}
}

func testBatonArtifactReplace(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	tk := pendingSync(c, at(0))
	must(t, bs.CreateTask(ctx, tk))
	a := baton.Artifact{TaskID: tk.ID, Kind: baton.KindC1Z, Key: "k1", Size: 5, SHA256: bytes.Repeat([]byte{7}, 32), CreatedAt: at(0), ConnectorID: c.ID}
	replaced, err := bs.SaveArtifact(ctx, a)
	must(t, err)
	if replaced != "" {
		t.Errorf("first SaveArtifact replaced %q, want none", replaced)
	}
	a.Key, a.Size = "k2", 9
	replaced, err = bs.SaveArtifact(ctx, a)
	must(t, err)
	if replaced != "k1" {
		t.Errorf("second SaveArtifact replaced %q, want k1", replaced)
	}
	got, err := bs.GetArtifact(ctx, tk.ID, baton.KindC1Z)
	must(t, err)
	if got.Key != "k2" || got.Size != 9 || !bytes.Equal(got.SHA256, a.SHA256) || !got.CreatedAt.Equal(at(0)) {
		t.Errorf("GetArtifact: got %+v, want %+v", got, a)
	}
	_, err = bs.GetArtifact(ctx, tk.ID, baton.KindDebugLog)
	wantCode(t, err, conncred.ENotFound)
}

func testBatonSettings(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	_, err := bs.GetSettings(ctx, c.ID)
	wantCode(t, err, conncred.ENotFound)
	st := baton.Settings{ConnectorID: c.ID, Cron: "0 3 * * *", TimeZone: "Europe/Berlin", NextRunAt: ptr(at(time.Hour)), UpdatedAt: at(0)}
	must(t, bs.SaveSettings(ctx, st))
	st.DisabledAt = ptr(at(time.Minute))
	must(t, bs.SaveSettings(ctx, st))
	got, err := bs.GetSettings(ctx, c.ID)
	must(t, err)
	if got.Cron != st.Cron || got.TimeZone != st.TimeZone || !sameTime(got.NextRunAt, st.NextRunAt) || !sameTime(got.DisabledAt, st.DisabledAt) {
		t.Errorf("GetSettings: got %+v, want %+v", got, st)
	}
	due, err := bs.DueSchedules(ctx, at(time.Hour-time.Microsecond), 10)
	must(t, err)
	if len(due) != 0 {
		t.Errorf("DueSchedules before the run: got %d, want 0", len(due))
	}
	due, err = bs.DueSchedules(ctx, at(time.Hour), 10)
	must(t, err)
	if len(due) != 1 || due[0].ConnectorID != c.ID {
		t.Errorf("DueSchedules at the run: got %+v, want the connector", due)
	}
}

func testBatonListTasks(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	bs := batonStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	var ids []string
	for i := range 5 {
		tk := pendingSync(c, at(time.Duration(i)*time.Second))
		tk.Type = baton.TypeHello
		must(t, bs.CreateTask(ctx, tk))
		ids = append(ids, tk.ID)
	}
	page, err := bs.ListTasks(ctx, baton.TaskFilter{ConnectorID: c.ID, Descending: true, Limit: 2})
	must(t, err)
	page2, err := bs.ListTasks(ctx, baton.TaskFilter{ConnectorID: c.ID, Descending: true, Limit: 2, After: page[1].ID})
	must(t, err)
	var got []string
	for _, tk := range append(page, page2...) {
		got = append(got, tk.ID)
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(got, want[:4]) {
		t.Errorf("two pages newest first: got %v, want %v", got, want[:4])
	}
	none, err := bs.ListTasks(ctx, baton.TaskFilter{ConnectorID: c.ID, Type: baton.TypeSyncFull})
	must(t, err)
	if len(none) != 0 {
		t.Errorf("filter by type sync_full: got %d, want 0", len(none))
	}
	pending, err := bs.ListTasks(ctx, baton.TaskFilter{ConnectorID: c.ID, States: []string{baton.StatePending, baton.StateRunning}})
	must(t, err)
	if len(pending) != 5 {
		t.Errorf("filter by states: got %d, want 5", len(pending))
	}
}
