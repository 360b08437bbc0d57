package server

import (
	"maps"
	"sync"
	"testing"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/lifecycle"
)

// lifecycleRecorder is a lifecycle.Observer that counts.
type lifecycleRecorder struct {
	mu      sync.Mutex
	refused map[string]int // kind/scope
	retired map[string]int // trigger
}

func (r *lifecycleRecorder) SourceRefused(kind, scope string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused[kind+"/"+scope]++
}

func (r *lifecycleRecorder) CredentialsRetired(trigger string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retired[trigger] += n
}

func (r *lifecycleRecorder) counts() (refused, retired map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.refused), maps.Clone(r.retired)
}

// withLifecycleObserver replaces e's lifecycle service by one reporting to
// a recorder, before any request uses it.
func withLifecycleObserver(e *env) *lifecycleRecorder {
	rec := &lifecycleRecorder{refused: map[string]int{}, retired: map[string]int{}}
	svc := lifecycle.New(lifecycle.Config{Observer: rec}, e.auth, e.store.(lifecycle.Store), e.clock)
	e.srv.Config.Handler.(*Server).cfg.Lifecycle = svc
	e.auth.SetSourceGuard(svc)
	return rec
}

// TestLifecycleObserver checks that refusals by source and retirements
// reach the observer (and so /metrics) with their labels, once each.
func TestLifecycleObserver(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	rec := withLifecycleObserver(e)
	appID, connID := e.setup()
	id, cid, sec := e.rotate(appID, connID)
	limit := credPath(appID, connID, id) + "/source_limit"

	if st, m := e.api("POST", limit, e.admin, map[string]any{"allowSourceCidr": []string{"10.0.0.0/8"}}); st != 200 {
		t.Fatalf("set source limit: %d %v", st, m)
	}
	if st, _ := e.tokenStatus(cid, sec); st == 200 {
		t.Fatal("exchange from outside allowSourceCidr succeeded")
	}
	e.api("POST", limit, e.admin, map[string]any{"allowSourceCidr": []string{}})
	tok := e.token(cid, sec)
	settings := func(enabled bool) {
		t.Helper()
		body := map[string]any{"sessionSettings": map[string]any{"connectorSource": map[string]any{"enabled": enabled, "sourceCidr": []string{"10.0.0.0/8"}}}}
		if st, m := e.api("POST", "/api/v1/settings/session", e.admin, body); st != 200 {
			t.Fatalf("session settings: %d %v", st, m)
		}
	}
	settings(true)
	if st, _ := e.api("GET", "/api/v1/auth/introspect", tok, nil); st != 403 {
		t.Fatalf("API call from outside connectorSource: got %d, want 403", st)
	}
	settings(false)

	if st, m := e.api("POST", "/api/v1/apps/connectors/credentials", e.admin, map[string]any{"appId": appID, "connectorId": connID, "retirePreviousAfter": "24h"}); st != 200 {
		t.Fatalf("rotate: %d %v", st, m)
	} else {
		e.secrets = append(e.secrets, str(m, "clientSecret"))
	}
	if st, m := e.api("POST", "/api/v1/credentials/self/rotate", tok, map[string]any{"grace": "1h"}); st != 200 {
		t.Fatalf("self-rotate: %d %v", st, m)
	} else {
		e.secrets = append(e.secrets, str(m, "clientSecret"))
	}

	refused, retired := rec.counts()
	for k, want := range map[string]int{"connector/credential": 1, "connector/session_settings": 1} {
		if got := refused[k]; got != want {
			t.Errorf("SourceRefused %s: got %d, want %d (all: %v)", k, got, want, refused)
		}
	}
	for k, want := range map[string]int{lifecycle.TriggerRotate: 1, lifecycle.TriggerSelfRotate: 1} {
		if got := retired[k]; got != want {
			t.Errorf("CredentialsRetired %s: got %d, want %d", k, got, want)
		}
	}
}
