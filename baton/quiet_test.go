package baton_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/store/sqlite"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// countingStore counts the store reads an empty poll makes.
type countingStore struct {
	*sqlite.Store
	claims, settings atomic.Int64
}

func (s *countingStore) ClaimTasks(ctx context.Context, connectorID, host string, now time.Time, n int) ([]baton.Task, time.Time, error) {
	s.claims.Add(1)
	return s.Store.ClaimTasks(ctx, connectorID, host, now, n)
}

func (s *countingStore) GetSettings(ctx context.Context, connectorID string) (baton.Settings, error) {
	s.settings.Add(1)
	return s.Store.GetSettings(ctx, connectorID)
}

// quietEnv is a baton.Service over SQLite on a fake clock with one
// connector whose host "h" said Hello.
type quietEnv struct {
	t      *testing.T
	svc    *baton.Service
	store  *countingStore
	clock  *clock.Fake
	app    string
	conn   conncred.Connector
	connCx context.Context // the connector's principal
	admin  context.Context
}

func newQuietEnv(t *testing.T, cfg baton.Config) *quietEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(t0)
	cs := &countingStore{Store: st}
	e := &quietEnv{t: t, store: cs, clock: clk, svc: baton.New(cfg, baton.Deps{Store: cs, Clock: clk}),
		admin: conncred.WithPrincipal(ctx, conncred.System)}
	a := conncred.App{ID: ksuid.New(t0), DisplayName: "a", CreatedAt: t0, UpdatedAt: t0}
	must(t, st.CreateApp(ctx, a))
	e.conn = conncred.Connector{ID: ksuid.New(t0), AppID: a.ID, DisplayName: "c", CreatedAt: t0, UpdatedAt: t0}
	must(t, st.CreateConnector(ctx, e.conn))
	e.app = a.ID
	e.connCx = conncred.WithPrincipal(ctx, &conncred.Principal{Kind: conncred.KindConnector, AppID: a.ID, ConnectorID: e.conn.ID, ClientID: "c@test/ccc"})
	must(t, e.svc.Hello(e.connCx, baton.HelloRequest{HostID: "h"}))
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// poll is one GetTask from host h; it returns the id of the task handed
// out, "" for none.
func (e *quietEnv) poll() string {
	e.t.Helper()
	p, err := e.svc.NextTasks(e.connCx, "h", 1)
	must(e.t, err)
	if p.NextPoll <= 0 {
		e.t.Fatal("a poll without next_poll")
	}
	if len(p.Tasks) == 0 {
		return ""
	}
	return p.Tasks[0].ID
}

// reads is how often polls read the store so far.
func (e *quietEnv) reads() int64 { return e.store.claims.Load() + e.store.settings.Load() }

// TestQuietPollsSkipTheStore: after one empty poll, the next ones answer
// from the mark without reading the store, for at least half of QuietTTL
// and at most all of it.
func TestQuietPollsSkipTheStore(t *testing.T) {
	e := newQuietEnv(t, baton.Config{QuietTTL: time.Minute})
	if id := e.poll(); id != "" {
		t.Fatalf("first poll handed out %s; want none", id)
	}
	if got := e.reads(); got != 2 {
		t.Fatalf("first poll: %d store reads, want 2 (settings and tasks)", got)
	}
	for range 5 {
		e.clock.Advance(5 * time.Second)
		if id := e.poll(); id != "" {
			t.Fatalf("quiet poll handed out %s", id)
		}
	}
	if got := e.reads(); got != 2 {
		t.Errorf("5 quiet polls within half of QuietTTL: %d store reads in all, want still 2", got)
	}
	if m := e.svc.Metrics(); m.QuietPolls != 5 || m.Polls != 6 {
		t.Errorf("metrics: %d quiet of %d polls, want 5 of 6", m.QuietPolls, m.Polls)
	}
	e.clock.Advance(35 * time.Second) // QuietTTL after the first poll
	e.poll()
	if got := e.reads(); got != 4 {
		t.Errorf("a poll QuietTTL after the mark: %d store reads in all, want 4 (it reads again)", got)
	}
}

// TestQuietMarksEndApart: marks set at the same moment (every connector's
// first poll after a restart) end at different times within QuietTTL, so
// their store reads do not come all at once.
func TestQuietMarksEndApart(t *testing.T) {
	e := newQuietEnv(t, baton.Config{QuietTTL: time.Minute})
	others := make([]context.Context, 20)
	for i := range others {
		c := conncred.Connector{ID: ksuid.New(t0.Add(time.Duration(i+1) * time.Millisecond)), AppID: e.app, DisplayName: "c", CreatedAt: t0, UpdatedAt: t0}
		must(t, e.store.CreateConnector(context.Background(), c))
		others[i] = conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindConnector, AppID: e.app, ConnectorID: c.ID})
		must(t, e.svc.Hello(others[i], baton.HelloRequest{HostID: "h"}))
		_, err := e.svc.NextTasks(others[i], "h", 1)
		must(t, err)
	}
	ended := map[int]time.Duration{} // connector → when its first mark had ended
	first, last := time.Duration(-1), time.Duration(-1)
	for at := 5 * time.Second; at <= time.Minute; at += 5 * time.Second {
		e.clock.Set(t0.Add(at))
		for i, cx := range others {
			before := e.reads()
			_, err := e.svc.NextTasks(cx, "h", 1)
			must(t, err)
			if _, seen := ended[i]; !seen && e.reads() != before {
				ended[i] = at
				if first < 0 {
					first = at
				}
				last = at
			}
		}
	}
	if len(ended) != len(others) {
		t.Fatalf("%d of %d marks ended within QuietTTL", len(ended), len(others))
	}
	if first < 30*time.Second {
		t.Errorf("a mark ended after %v, before half of QuietTTL", first)
	}
	if first == last {
		t.Errorf("all %d marks set together ended together (at %v); want them spread over QuietTTL", len(others), first)
	}
}

// TestQuietMarkEndsOnWrites: every write that gives the connector a task
// sooner ends its mark, so the next poll hands the task out.
func TestQuietMarkEndsOnWrites(t *testing.T) {
	t.Run("force_sync", func(t *testing.T) {
		e := newQuietEnv(t, baton.Config{})
		e.poll()
		task, err := e.svc.ForceSync(e.admin, e.app, e.conn.ID)
		must(t, err)
		if id := e.poll(); id != task.ID {
			t.Errorf("poll after force_sync: got %q, want %s", id, task.ID)
		}
	})
	t.Run("resume", func(t *testing.T) {
		e := newQuietEnv(t, baton.Config{})
		task, err := e.svc.ForceSync(e.admin, e.app, e.conn.ID)
		must(t, err)
		_, err = e.svc.Pause(e.admin, e.app, e.conn.ID)
		must(t, err)
		e.poll()
		if id := e.poll(); id != "" {
			t.Fatalf("poll of a paused connector handed out %s", id)
		}
		_, err = e.svc.Resume(e.admin, e.app, e.conn.ID)
		must(t, err)
		if id := e.poll(); id != task.ID {
			t.Errorf("poll after resume: got %q, want %s", id, task.ID)
		}
	})
	t.Run("schedule", func(t *testing.T) {
		e := newQuietEnv(t, baton.Config{})
		_, err := e.svc.SetSchedule(e.admin, e.app, e.conn.ID, "*/5 * * * *", "")
		must(t, err)
		e.poll()
		e.clock.Advance(5 * time.Minute)
		e.poll() // still quiet: the schedule has not run
		must(t, e.svc.Tick(e.admin))
		if id := e.poll(); id == "" {
			t.Error("poll after the scheduled sync was made: none handed out")
		}
	})
	t.Run("retry after its back-off", func(t *testing.T) {
		e := newQuietEnv(t, baton.Config{RetryBackoff: 30 * time.Second})
		task, err := e.svc.ForceSync(e.admin, e.app, e.conn.ID)
		must(t, err)
		if id := e.poll(); id != task.ID {
			t.Fatalf("poll: got %q, want %s", id, task.ID)
		}
		must(t, e.svc.Finish(e.connCx, baton.FinishRequest{HostID: "h", TaskID: task.ID, ErrorCode: 14, ErrorMessage: "unavailable"}))
		if id := e.poll(); id != "" {
			t.Fatalf("poll during the retry's back-off handed out %s", id)
		}
		before := e.reads()
		e.clock.Advance(29 * time.Second)
		if id := e.poll(); id != "" {
			t.Fatalf("poll 1 s before the retry is due handed out %s", id)
		}
		if e.reads() != before {
			t.Errorf("poll during the back-off read the store; want the mark to answer")
		}
		e.clock.Advance(time.Second)
		id := e.poll()
		if id == "" || id == task.ID {
			t.Fatalf("poll when the retry is due: got %q, want the retry", id)
		}
		got, err := e.store.GetTask(context.Background(), id)
		must(t, err)
		if got.RetryOf != task.ID {
			t.Errorf("handed out %s retrying %q, want a retry of %s", id, got.RetryOf, task.ID)
		}
	})
	t.Run("hello task for a host without Hello", func(t *testing.T) {
		e := newQuietEnv(t, baton.Config{HelloGrace: time.Minute})
		e.poll() // h: the connector is quiet
		p, err := e.svc.NextTasks(e.connCx, "silent", 1)
		must(t, err)
		if len(p.Tasks) != 0 {
			t.Fatal("a host's first poll got a hello task; want the grace first")
		}
		e.clock.Advance(time.Minute)
		p, err = e.svc.NextTasks(e.connCx, "silent", 1)
		must(t, err)
		if len(p.Tasks) != 1 || p.Tasks[0].Type != baton.TypeHello {
			t.Errorf("a host without Hello past the grace: got %+v, want a hello task", p.Tasks)
		}
	})
}

// TestQuietMarkBackstop: a task no node announces (written behind the
// service's back) is handed out once QuietTTL has passed, and not within
// the half of it every mark lasts: the bound on how long a mark can hide
// anything.
func TestQuietMarkBackstop(t *testing.T) {
	e := newQuietEnv(t, baton.Config{QuietTTL: time.Minute})
	e.poll()
	now := e.clock.Now()
	task := baton.Task{ID: ksuid.New(now), ConnectorID: e.conn.ID, AppID: e.app, Type: baton.TypeSyncFull,
		State: baton.StatePending, Attempt: 1, Reason: "by hand", CreatedAt: now, NotBefore: now}
	must(t, e.store.CreateTask(context.Background(), task))
	e.clock.Advance(29 * time.Second)
	if id := e.poll(); id != "" {
		t.Fatalf("poll within half of QuietTTL handed out %s; the mark should still answer", id)
	}
	e.clock.Advance(31 * time.Second)
	if id := e.poll(); id != task.ID {
		t.Errorf("poll at QuietTTL: got %q, want %s", id, task.ID)
	}
}
