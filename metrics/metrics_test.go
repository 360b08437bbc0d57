package metrics

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/groupcommit"
	"github.com/conncred/conncred/secret"
	"github.com/conncred/conncred/server"
	"github.com/conncred/conncred/store/sqlite"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

// node is a conncred server in this process, wired as cmd/conncred wires
// it, with its API and its metrics on two loopback listeners.
type node struct {
	t       *testing.T
	api     *httptest.Server
	metrics *httptest.Server
	auth    *authority.Authority
	clock   *clock.Fake
	secrets []string // every secret, token, client id and record id handed out
}

func newNode(t *testing.T) *node {
	t.Helper()
	ctx := context.Background()
	m := New(BuildInfo{Version: "v1.2.3", Revision: "abc123", GoVersion: "go1.26"})
	groupcommit.SetBatchObserver(m.GroupCommitBatch)
	t.Cleanup(func() { groupcommit.SetBatchObserver(nil) })
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(t0)
	// No background flush during the test: the test flushes, so the counts
	// do not depend on when a ticker fires.
	a, err := authority.New(ctx, authority.Config{
		Observer: m.Authority(), LastUsedInterval: time.Hour, AuditInterval: time.Hour,
	}, m.Store(st), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := server.New(server.Config{FailedTokenLimit: -1, Clock: clk, Observer: m}, a, nil)
	n := &node{t: t, auth: a, clock: clk}
	n.api = httptest.NewServer(srv.Handler())
	t.Cleanup(n.api.Close)
	n.metrics = httptest.NewServer(m.Handler())
	t.Cleanup(n.metrics.Close)
	return n
}

// sign makes an assertion as the official clients do, aged by age.
func (n *node) sign(clientID, secretText string, age time.Duration) string {
	n.t.Helper()
	priv, err := secret.Parse(secretText)
	if err != nil {
		n.t.Fatal(err)
	}
	return signWith(priv, clientID, n.clock.Now().Add(-age))
}

func signWith(priv ed25519.PrivateKey, clientID string, now time.Time) string {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	hb, _ := json.Marshal(map[string]any{"alg": "EdDSA", "nonce": hex.EncodeToString(nonce)})
	cb, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": []string{"127.0.0.1"},
		"iat": now.Unix(), "nbf": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(2 * time.Minute).Unix()})
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

// exchange posts a token request and returns the status and access token.
func (n *node) exchange(grant, clientID, assertion string) (int, string) {
	n.t.Helper()
	form := url.Values{"grant_type": {grant}, "client_id": {clientID},
		"client_assertion_type": {authority.AssertionTypeJWTBearer}, "client_assertion": {assertion}}
	resp, err := http.PostForm(n.api.URL+"/auth/v1/token", form)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	if tr.AccessToken != "" {
		n.secrets = append(n.secrets, tr.AccessToken)
	}
	return resp.StatusCode, tr.AccessToken
}

// call sends an authenticated API request and decodes its answer.
func (n *node) call(method, path, token string, body any) (int, map[string]any) {
	n.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, n.api.URL+path, r)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// scrape GETs /metrics from the metrics listener and parses it.
func (n *node) scrape() (map[string]*dto.MetricFamily, string) {
	n.t.Helper()
	resp, err := http.Get(n.metrics.URL + "/metrics")
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		n.t.Fatalf("parsing /metrics: %v\n%s", err, b)
	}
	return fams, string(b)
}

// value returns the counter or gauge value, or the histogram's count, of
// the series of family name whose labels include want (-1: no such series).
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	s := series(fams, name, want)
	switch {
	case s == nil:
		return -1
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	}
	return -1
}

func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// TestMetricsUnderRealTraffic runs token exchanges that succeed and fail in
// known numbers and API calls against a server in this process, scrapes
// /metrics over HTTP, and checks each counter moved by exactly what the
// traffic implies, and that no label or value carries a secret or an id.
func TestMetricsUnderRealTraffic(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	admin, adminSecret, _, err := n.auth.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n.secrets = append(n.secrets, adminSecret.Reveal(), admin.ClientID, admin.ID)

	// Before any traffic, every outcome and reason is already at zero.
	fams, _ := n.scrape()
	for _, r := range authority.RefusalReasons {
		if got := value(fams, "conncred_token_exchanges_total", map[string]string{"outcome": "refused", "reason": r}); got != 0 {
			t.Errorf("before traffic, refused/%s: got %v, want 0", r, got)
		}
	}

	// 1 admin exchange; API calls: create app, connector, rotate.
	st, adminToken := n.exchange(authority.GrantClientCredentials, admin.ClientID, n.sign(admin.ClientID, adminSecret.Reveal(), 0))
	if st != 200 {
		t.Fatalf("admin token: %d", st)
	}
	st, m := n.call("POST", "/api/v1/apps", adminToken, map[string]any{"displayName": "Okta"})
	if st != 200 {
		t.Fatalf("create app: %d %v", st, m)
	}
	appID := m["app"].(map[string]any)["id"].(string)
	st, m = n.call("POST", "/api/v1/apps/"+appID+"/connectors", adminToken, map[string]any{})
	if st != 200 {
		t.Fatalf("create connector: %d %v", st, m)
	}
	connID := m["connectorView"].(map[string]any)["connector"].(map[string]any)["id"].(string)
	st, m = n.call("POST", "/api/v1/apps/connectors/credentials", adminToken, map[string]any{"appId": appID, "connectorId": connID})
	if st != 200 {
		t.Fatalf("rotate: %d %v", st, m)
	}
	cred := m["credential"].(map[string]any)
	clientID, credID, sec := cred["clientId"].(string), cred["id"].(string), m["clientSecret"].(string)
	n.secrets = append(n.secrets, appID, connID, clientID, credID, sec)
	if st, _ := n.call("GET", "/api/v1/apps/"+appID, adminToken, nil); st != 200 {
		t.Fatalf("get app: %d", st)
	}
	if st, _ := n.call("GET", "/api/v1/apps/nope-not-here/connectors/x/y/z", adminToken, nil); st != 404 {
		t.Fatalf("unknown path: %d, want 404", st)
	}

	// Token traffic in known numbers.
	const issued, badSig, unknown, stale, wrongGrant = 5, 3, 2, 2, 1
	var first string
	for i := range issued {
		a := n.sign(clientID, sec, 0)
		if i == 0 {
			first = a
		}
		if st, _ := n.exchange(authority.GrantClientCredentials, clientID, a); st != 200 {
			t.Fatalf("exchange %d: %d", i, st)
		}
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	for range badSig {
		if st, _ := n.exchange(authority.GrantClientCredentials, clientID, signWith(otherKey, clientID, n.clock.Now())); st != 401 {
			t.Fatalf("bad signature: %d, want 401", st)
		}
	}
	for i := range unknown {
		id := []string{"lost-lamb-10000@127.0.0.1/ccc", "odd-owl-20000@127.0.0.1/ccc"}[i]
		n.secrets = append(n.secrets, id)
		if st, _ := n.exchange(authority.GrantClientCredentials, id, signWith(otherKey, id, n.clock.Now())); st != 401 {
			t.Fatalf("unknown client: %d, want 401", st)
		}
	}
	for range stale {
		if st, _ := n.exchange(authority.GrantClientCredentials, clientID, n.sign(clientID, sec, 10*time.Minute)); st != 401 {
			t.Fatalf("stale assertion: %d, want 401", st)
		}
	}
	if st, _ := n.exchange(authority.GrantClientCredentials, clientID, first); st != 401 {
		t.Fatalf("replay: %d, want 401", st)
	}
	if st, _ := n.exchange("password", clientID, n.sign(clientID, sec, 0)); st != 400 {
		t.Fatalf("wrong grant: %d, want 400", st)
	}
	// lastUsedAt: the admin's use was recorded at t0; flush 1.5 s later.
	n.clock.Advance(1500 * time.Millisecond)
	n.auth.Flush(ctx)

	fams, body := n.scrape()
	exch := func(outcome, reason string) map[string]string {
		return map[string]string{"outcome": outcome, "reason": reason}
	}
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"issued", "conncred_token_exchanges_total", exch("issued", ""), 1 + issued},
		{"bad signature", "conncred_token_exchanges_total", exch("refused", authority.ReasonBadSignature), badSig},
		{"unknown client", "conncred_token_exchanges_total", exch("refused", authority.ReasonUnknownClient), unknown},
		{"stale", "conncred_token_exchanges_total", exch("refused", authority.ReasonAssertionTime), stale},
		{"replayed", "conncred_token_exchanges_total", exch("refused", authority.ReasonReplayed), 1},
		{"wrong grant", "conncred_token_exchanges_total", exch("refused", authority.ReasonUnsupportedGrantType), wrongGrant},
		{"other", "conncred_token_exchanges_total", exch("refused", authority.ReasonOther), 0},
		{"unavailable", "conncred_token_exchanges_total", exch("error", authority.ReasonUnavailable), 0},
		{"not rate limited", "conncred_token_rate_limited_total", map[string]string{"scope": "address"}, 0},
		{"token 200s", "conncred_http_requests_total", map[string]string{"route": "POST /auth/v1/token", "code": "200"}, 1 + issued},
		{"token 401s", "conncred_http_requests_total", map[string]string{"route": "POST /auth/v1/token", "code": "401"}, badSig + unknown + stale + 1},
		{"token 400s", "conncred_http_requests_total", map[string]string{"route": "POST /auth/v1/token", "code": "400"}, wrongGrant},
		{"token latencies", "conncred_http_request_duration_seconds", map[string]string{"route": "POST /auth/v1/token"}, 1 + issued + badSig + unknown + stale + 1 + wrongGrant},
		{"create app", "conncred_http_requests_total", map[string]string{"route": "POST /api/v1/apps", "code": "200"}, 1},
		{"get app", "conncred_http_request_duration_seconds", map[string]string{"route": "GET /api/v1/apps/{id}"}, 1},
		{"unmatched", "conncred_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"in flight", "conncred_http_requests_in_flight", nil, 0},
		{"replay records", "conncred_replay_records_written_total", nil, 1 + issued},
		// Every UseAssertion (the replayed one too) goes through a group
		// commit, and through the store decorator.
		{"store UseAssertion", "conncred_store_call_duration_seconds", map[string]string{"method": "UseAssertion"}, 1 + issued + 1},
		{"store UseAssertion conflict", "conncred_store_call_errors_total", map[string]string{"method": "UseAssertion", "code": "conflict"}, 1},
		{"store unknown clients", "conncred_store_call_errors_total", map[string]string{"method": "GetCredentialByClientID", "code": "not_found"}, unknown},
		{"store TouchCredentials", "conncred_store_call_duration_seconds", map[string]string{"method": "TouchCredentials"}, 1},
		{"lastUsedAt credentials", "conncred_last_used_flushed_credentials_total", nil, 2},
		{"lastUsedAt flushes", "conncred_last_used_flush_lag_seconds", nil, 1},
		{"lastUsedAt flush job", "conncred_background_runs_total", map[string]string{"job": "last_used_flush", "result": "ok"}, 1},
		{"sweep job, not yet run", "conncred_background_runs_total", map[string]string{"job": "replay_sweep", "result": "ok"}, 0},
		{"build info", "conncred_build_info", map[string]string{"version": "v1.2.3", "revision": "abc123", "goversion": "go1.26"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := value(fams, tc.metric, tc.labels); got != tc.want {
				t.Errorf("%s%v: got %v, want %v", tc.metric, tc.labels, got, tc.want)
			}
		})
	}

	t.Run("sums", func(t *testing.T) {
		if got, want := series(fams, "conncred_last_used_flush_lag_seconds", nil).Histogram.GetSampleSum(), 1.5; got != want {
			t.Errorf("lastUsedAt lag: got %v s, want %v s", got, want)
		}
		if got, want := series(fams, "conncred_group_commit_batch_size", nil).Histogram.GetSampleSum(), float64(1+issued+1); got != want {
			t.Errorf("items group-committed: got %v, want %v", got, want)
		}
		// Every credential look-up is a hit or a miss, and each miss is
		// one store read.
		hits := value(fams, "conncred_credential_cache_lookups_total", map[string]string{"result": "hit"})
		misses := value(fams, "conncred_credential_cache_lookups_total", map[string]string{"result": "miss"})
		reads := value(fams, "conncred_store_call_duration_seconds", map[string]string{"method": "GetCredentialByClientID"}) +
			value(fams, "conncred_store_call_duration_seconds", map[string]string{"method": "GetCredential"})
		if misses != reads {
			t.Errorf("cache misses %v, credential reads %v: want equal", misses, reads)
		}
		// Look-ups: exchanges that got past the claims (issued, bad
		// signature, unknown, replayed) and bearer checks (4 API calls and
		// the authenticated 404 is not routed, so not checked).
		if got, want := hits+misses, float64(1+issued+badSig+unknown+1+4); got != want {
			t.Errorf("cache look-ups: got %v, want %v", got, want)
		}
	})

	t.Run("no secret or id in any label or value", func(t *testing.T) {
		for _, s := range n.secrets {
			if s != "" && strings.Contains(body, s) {
				t.Errorf("/metrics contains %q", s)
			}
		}
		allowed := map[string]bool{"outcome": true, "reason": true, "scope": true, "route": true, "code": true,
			"result": true, "method": true, "job": true, "version": true, "revision": true, "goversion": true}
		for name, f := range fams {
			for _, m := range f.Metric {
				for _, l := range m.Label {
					if strings.HasPrefix(name, "conncred_") && !allowed[l.GetName()] {
						t.Errorf("%s has unexpected label %q", name, l.GetName())
					}
					if strings.Contains(l.GetValue(), "@") || strings.Contains(l.GetValue(), "secret-token") {
						t.Errorf("%s label %s=%q looks like a client id or secret", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	})
}

// TestStoreKeepsRevocationWatcher: the decorator must not hide a store's
// RevocationWatcher, or nodes would stop hearing each other's revocations.
func TestStoreKeepsRevocationWatcher(t *testing.T) {
	m := New(BuildInfo{})
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := m.Store(st).(interface {
		WatchRevocations(context.Context, func(string)) error
	}); ok {
		t.Error("SQLite store wrapped as a RevocationWatcher; it is not one")
	}
	if _, ok := m.Store(watcher{st}).(interface {
		WatchRevocations(context.Context, func(string)) error
	}); !ok {
		t.Error("the wrapped store lost WatchRevocations")
	}
}

type watcher struct{ *sqlite.Store }

func (watcher) WatchRevocations(context.Context, func(string)) error { return nil }

// TestRateLimitedScopeIsClosed: an unexpected scope cannot add a series.
func TestRateLimitedScopeIsClosed(t *testing.T) {
	m := New(BuildInfo{})
	m.TokenRateLimited(ScopeAddress)
	m.TokenRateLimited("client:alice@example/ccc")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	n := &node{t: t, metrics: srv}
	fams, body := n.scrape()
	if got := value(fams, "conncred_token_rate_limited_total", map[string]string{"scope": "address"}); got != 1 {
		t.Errorf("address: got %v, want 1", got)
	}
	if got := value(fams, "conncred_token_rate_limited_total", map[string]string{"scope": "other"}); got != 1 {
		t.Errorf("other: got %v, want 1", got)
	}
	if strings.Contains(body, "alice") {
		t.Error("a caller-chosen scope reached /metrics")
	}
}

// TestScopesMatchServer: the scopes this package accepts are the ones the
// server's limiter reports, so no refusal is counted as "other".
func TestScopesMatchServer(t *testing.T) {
	got := []string{ScopeAddress, ScopePair, ScopeVerifyBudget}
	want := []string{server.ScopeAddress, server.ScopePair, server.ScopeVerifyBudget}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("scope %d: metrics %q, server %q", i, got[i], want[i])
		}
	}
}

// TestConnStats: the listener's counts are read at every scrape.
func TestConnStats(t *testing.T) {
	m := New(BuildInfo{})
	cs := ConnStats{Open: 3, Accepted: 10, RefusedPerIP: 2, Evicted: 4, TimedOut: 1}
	m.WatchConns(func() ConnStats { return cs })
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	n := &node{t: t, metrics: srv}
	cs.Accepted = 11 // changed after registration: read at scrape time
	fams, _ := n.scrape()
	for name, want := range map[string]float64{
		"conncred_connections_open": 3, "conncred_connections_accepted_total": 11, "conncred_connections_refused_per_ip_total": 2,
		"conncred_connections_evicted_total": 4, "conncred_connections_timed_out_total": 1,
	} {
		if got := value(fams, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
