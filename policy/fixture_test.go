package policy_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/store/sqlite"
)

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func dur(d time.Duration) *time.Duration { return &d }

// fixture is an authority and a policy service over one SQLite file on a
// fake clock, wired as serve wires them.
type fixture struct {
	path  string
	store *sqlite.Store
	clock *clock.Fake
	auth  *authority.Authority
	svc   *policy.Service
	obs   *countingObserver
	admin context.Context
}

func newFixture(t *testing.T, cfg policy.Config) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "conncred.db"), clock: clock.NewFake(t0)}
	f.start(t, cfg)
	return f
}

// start opens the store, authority and service (again, for a restart).
func (f *fixture) start(t *testing.T, cfg policy.Config) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := authority.New(ctx, authority.Config{}, st, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	f.obs = &countingObserver{passes: make(chan policy.Pass, 1), emitted: map[string]int{}}
	cfg.Observer = f.obs
	svc, err := policy.New(cfg, a, st, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	a.SetLifetimeLimiter(svc)
	f.store, f.auth, f.svc = st, a, svc
	f.admin = conncred.WithPrincipal(ctx, conncred.System)
}

func (f *fixture) connector(t *testing.T) conncred.Connector {
	t.Helper()
	app, err := f.auth.CreateApp(f.admin, authority.AppInput{DisplayName: "Okta"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.auth.CreateConnector(f.admin, app.ID, authority.ConnectorInput{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) rotate(t *testing.T, c conncred.Connector, expires time.Duration) conncred.Credential {
	t.Helper()
	cr, _, err := f.auth.RotateCredential(f.admin, c.AppID, c.ID, authority.CredentialOptions{Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func (f *fixture) set(t *testing.T, scope policy.Scope, p policy.Policy) {
	t.Helper()
	if _, err := f.svc.Set(f.admin, policy.Update{Scope: scope, Policy: p}); err != nil {
		t.Fatal(err)
	}
}

// events returns the audit trail's events of the scheduler's kinds and
// the revocations, as "kind credential at", after flushing the buffer.
func (f *fixture) events(t *testing.T) []conncred.AuditEvent {
	t.Helper()
	f.auth.Flush(context.Background())
	evs, err := f.store.ListAudit(context.Background(), conncred.AuditFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var out []conncred.AuditEvent
	for _, e := range evs {
		switch e.Kind {
		case policy.AuditExpiring, policy.AuditExpired, policy.AuditDormant, policy.AuditAutoRevoked, "credential.revoked":
			out = append(out, e)
		}
	}
	return out
}

// countingObserver counts events and hands each finished pass to the
// test, which waits for it instead of sleeping.
type countingObserver struct {
	mu      sync.Mutex
	passes  chan policy.Pass
	emitted map[string]int
	runs    map[string]int
}

func (o *countingObserver) SchedulerRun(outcome string, n int, _ time.Duration) {
	o.mu.Lock()
	if o.runs == nil {
		o.runs = map[string]int{}
	}
	o.runs[outcome]++
	o.mu.Unlock()
	o.passes <- policy.Pass{Credentials: n}
}

func (o *countingObserver) EventEmitted(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.emitted[kind]++
}

// runLoop starts Service.Run and returns a function that waits for its
// next pass, and one that stops it.
func (f *fixture) runLoop(t *testing.T) (next func(), stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.Run(ctx, nil)
	}()
	next = func() {
		t.Helper()
		select {
		case <-f.obs.passes:
		case <-time.After(30 * time.Second): // a hang, not a measurement
			t.Fatal("no scheduler pass within 30s")
		}
	}
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return next, stop
}
