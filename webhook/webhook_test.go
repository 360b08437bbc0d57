package webhook_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/store/sqlite"
	"github.com/conncred/conncred/webhook"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func admin(ctx context.Context) context.Context {
	return conncred.WithPrincipal(ctx, &conncred.Principal{Kind: conncred.KindAdmin, CredentialID: "admin", ClientID: "admin@x/pcc"})
}

// verify checks a delivery as a Standard Webhooks receiver does, written
// from the specification, not with the package's own signer.
func verify(tb testing.TB, r *http.Request, body []byte, key []byte, pub ed25519.PublicKey) bool {
	tb.Helper()
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	if id == "" || ts == "" {
		return false
	}
	content := id + "." + ts + "." + string(body)
	for _, sig := range strings.Split(r.Header.Get("webhook-signature"), " ") {
		ver, b64, _ := strings.Cut(sig, ",")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		switch {
		case ver == "v1" && key != nil:
			m := hmac.New(sha256.New, key)
			m.Write([]byte(content))
			if hmac.Equal(m.Sum(nil), raw) {
				return true
			}
		case ver == "v1a" && pub != nil:
			if ed25519.Verify(pub, []byte(content), raw) {
				return true
			}
		}
	}
	return false
}

// receiver is a webhook endpoint of our own on loopback.
type receiver struct {
	tb   testing.TB
	srv  *httptest.Server
	mu   sync.Mutex
	key  []byte
	pub  ed25519.PublicKey
	fail int // answer 500 to this many more requests
	got  []delivered
	raw  [][]byte
}

type delivered struct {
	ID, Type string
	Valid    bool
	Data     json.RawMessage
}

func newReceiver(tb testing.TB) *receiver {
	rc := &receiver{tb: tb}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.raw = append(rc.raw, body)
		if rc.fail > 0 {
			rc.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var m webhook.Message
		if err := json.Unmarshal(body, &m); err != nil {
			tb.Errorf("body is not a message: %v", err)
		}
		rc.got = append(rc.got, delivered{ID: r.Header.Get("webhook-id"), Type: m.Type, Valid: verify(tb, r, body, rc.key, rc.pub), Data: m.Data})
	}))
	tb.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

type fixture struct {
	store *sqlite.Store
	clk   *clock.Fake
	keys  *webhook.Keyring
	logs  *bytes.Buffer
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	st, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "db.sqlite"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	keys, err := webhook.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{store: st, clk: clock.NewFake(t0), keys: keys, logs: &bytes.Buffer{}}
}

func (f *fixture) service(node string, cfg webhook.Config) *webhook.Service {
	cfg.Targets.AllowLoopbackHTTP = true
	cfg.Node = node
	cfg.Log = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return webhook.New(cfg, f.store, f.keys, nil, f.clk)
}

// credential makes an app, a connector and a credential through the store,
// as the authority would.
func (f *fixture) credential(tb testing.TB) conncred.Credential {
	tb.Helper()
	ctx := tb.Context()
	now := f.clk.Now()
	a := conncred.App{ID: ksuid.New(now), DisplayName: "app", CreatedAt: now, UpdatedAt: now}
	must(tb, f.store.CreateApp(ctx, a))
	c := conncred.Connector{ID: ksuid.New(now), AppID: a.ID, DisplayName: "c", CreatedAt: now, UpdatedAt: now}
	must(tb, f.store.CreateConnector(ctx, c))
	id := ksuid.New(now)
	cr := conncred.Credential{ID: id, Kind: conncred.KindConnector, AppID: a.ID, ConnectorID: c.ID, ClientID: "cred-" + id + "@127.0.0.1:8443/ccc",
		DisplayName: "cred", PublicKey: make([]byte, 32), Thumbprint: "tp-" + id, CreatedAt: now, UpdatedAt: now}
	must(tb, f.store.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	return cr
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func run(tb testing.TB, s *webhook.Service) int {
	tb.Helper()
	n, err := s.RunOnce(tb.Context())
	must(tb, err)
	return n
}

// TestSpecVector checks the v1 signature against the example of the
// Standard Webhooks reference libraries.
func TestSpecVector(t *testing.T) {
	key, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	must(t, err)
	got := webhook.SignHMAC(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("SignHMAC = %q, want %q", got, want)
	}
}

func TestCredentialEventsSigned(t *testing.T) {
	f := newFixture(t)
	s := f.service("a", webhook.Config{})
	ctx := admin(t.Context())
	hm, ed := newReceiver(t), newReceiver(t)
	e1, sec, err := s.Create(ctx, webhook.CreateInput{URL: hm.srv.URL + "/hook"})
	must(t, err)
	if sec == nil {
		t.Fatal("an hmac endpoint's create returned no secret")
	}
	hm.key, err = webhook.ParseSecret(sec.Reveal())
	must(t, err)
	_, sec2, err := s.Create(ctx, webhook.CreateInput{URL: ed.srv.URL, Signing: webhook.SigningEd25519, EventTypes: []string{webhook.EventCredentialRevoked}})
	must(t, err)
	if sec2 != nil {
		t.Error("an ed25519 endpoint's create returned a secret")
	}
	ed.pub = f.keys.PublicKey()

	f.clk.Advance(time.Second)
	cr := f.credential(t)
	f.clk.Advance(time.Second)
	_, err = f.store.RevokeCredential(t.Context(), cr.ID, f.clk.Now())
	must(t, err)
	if n := run(t, s); n != 3 {
		t.Errorf("attempted %d deliveries, want 3 (created and revoked to hmac, revoked to ed25519)", n)
	}
	got := hm.deliveries()
	if len(got) != 2 || got[0].Type != webhook.EventCredentialCreated && got[1].Type != webhook.EventCredentialCreated {
		t.Fatalf("hmac endpoint got %+v, want credential.created and credential.revoked", got)
	}
	for _, d := range append(got, ed.deliveries()...) {
		if !d.Valid {
			t.Errorf("delivery %s (%s) does not verify", d.ID, d.Type)
		}
		var cd webhook.CredentialData
		must(t, json.Unmarshal(d.Data, &cd))
		if cd.Credential.ID != cr.ID {
			t.Errorf("data names credential %q, want %q", cd.Credential.ID, cr.ID)
		}
	}
	if got := ed.deliveries(); len(got) != 1 || got[0].Type != webhook.EventCredentialRevoked {
		t.Errorf("ed25519 endpoint got %+v, want one credential.revoked", got)
	}
	ds, _, err := s.Deliveries(ctx, e1.ID, "", webhook.Page{Size: 10})
	must(t, err)
	for _, d := range ds {
		if d.State != webhook.StateSucceeded || d.Attempts != 1 {
			t.Errorf("delivery %s: state %s after %d attempts, want succeeded after 1", d.EventID, d.State, d.Attempts)
		}
	}
}

func TestRetryBackoffDeadLetterRedeliver(t *testing.T) {
	f := newFixture(t)
	s := f.service("a", webhook.Config{MaxAttempts: 3, BackoffBase: 10 * time.Second, BackoffMax: time.Minute})
	ctx := admin(t.Context())
	rc := newReceiver(t)
	rc.fail = 1000
	e, _, err := s.Create(ctx, webhook.CreateInput{URL: rc.srv.URL})
	must(t, err)
	id, err := s.Test(ctx, e.ID)
	must(t, err)

	if n := run(t, s); n != 1 {
		t.Fatalf("first round attempted %d, want 1", n)
	}
	// Equal jitter: the second attempt waits between 5s and 10s.
	f.clk.Advance(4 * time.Second)
	if n := run(t, s); n != 0 {
		t.Errorf("retried after 4s, before the backoff's least wait of 5s")
	}
	f.clk.Advance(6 * time.Second)
	if n := run(t, s); n != 1 {
		t.Errorf("second round attempted %d, want 1 (10s after the failure)", n)
	}
	f.clk.Advance(20 * time.Second)
	if n := run(t, s); n != 1 {
		t.Errorf("third round attempted %d, want 1", n)
	}
	f.clk.Advance(time.Hour)
	if n := run(t, s); n != 0 {
		t.Errorf("a delivery past the retry cap was attempted again")
	}
	ds, _, err := s.Deliveries(ctx, e.ID, webhook.StateDead, webhook.Page{Size: 10})
	must(t, err)
	if len(ds) != 1 || ds[0].EventID != id || ds[0].Attempts != 3 || ds[0].LastCode != 500 {
		t.Fatalf("dead deliveries = %+v, want event %s after 3 attempts with code 500", ds, id)
	}
	log, err := s.Attempts(ctx, e.ID, 10)
	must(t, err)
	if len(log) != 3 || log[0].Outcome != webhook.OutcomeDead || log[2].Outcome != webhook.OutcomeRetry || log[0].StatusCode != 500 {
		t.Errorf("delivery log = %+v, want retry, retry, dead with code 500", log)
	}

	rc.mu.Lock()
	rc.fail = 0
	rc.mu.Unlock()
	must(t, s.Redeliver(ctx, e.ID, id))
	if n := run(t, s); n != 1 {
		t.Errorf("redelivery attempted %d, want 1", n)
	}
	if got := rc.deliveries(); len(got) != 1 || got[0].ID != id || got[0].Type != webhook.EventTest {
		t.Errorf("receiver got %+v, want the test event %s", got, id)
	}
}

// TestNodeDeath: node A leases a delivery and dies before finishing; node B
// takes it when the lease expires, and A's late answer changes nothing.
// After deduplication by webhook-id every event arrives exactly once.
func TestNodeDeath(t *testing.T) {
	f := newFixture(t)
	cfg := webhook.Config{Lease: 30 * time.Second}
	a, b := f.service("node-a", cfg), f.service("node-b", cfg)
	ctx := admin(t.Context())
	rc := newReceiver(t)
	_, sec, err := a.Create(ctx, webhook.CreateInput{URL: rc.srv.URL})
	must(t, err)
	rc.key, _ = webhook.ParseSecret(sec.Reveal())
	f.clk.Advance(time.Second)
	const n = 5
	for range n {
		f.credential(t)
	}
	_, err = f.store.DispatchWebhookEvents(t.Context(), f.clk.Now(), 100)
	must(t, err)
	// A claims two deliveries and dies.
	claims, err := f.store.ClaimWebhookDeliveries(t.Context(), "node-a", f.clk.Now(), f.clk.Now().Add(30*time.Second), 2)
	must(t, err)
	if len(claims) != 2 {
		t.Fatalf("node A claimed %d, want 2", len(claims))
	}
	if got := run(t, b); got != n-2 {
		t.Errorf("node B attempted %d while A held 2 leases, want %d", got, n-2)
	}
	f.clk.Advance(31 * time.Second)
	if got := run(t, b); got != 2 {
		t.Errorf("node B attempted %d after A's leases expired, want 2", got)
	}
	// A comes back and reports its stale attempt as a failure: ignored.
	must(t, f.store.FinishWebhookDelivery(t.Context(), "node-a", webhook.Result{State: webhook.StatePending, NextAt: f.clk.Now(),
		Attempt: webhook.Attempt{EndpointID: claims[0].Delivery.EndpointID, EventID: claims[0].Event.ID, Attempt: claims[0].Delivery.Attempts, At: f.clk.Now(), Outcome: webhook.OutcomeRetry}}))
	if got := run(t, a); got != 0 {
		t.Errorf("a stale finish made a delivered event pending again (%d attempted)", got)
	}
	seen := map[string]int{}
	for _, d := range rc.deliveries() {
		if !d.Valid {
			t.Errorf("delivery %s does not verify", d.ID)
		}
		seen[d.ID]++
	}
	if len(seen) != n {
		t.Errorf("got %d distinct events, want %d", len(seen), n)
	}
}

// TestNoSecretLeaks: neither the endpoint's secret nor a credential's
// secret appears in a body, the delivery log or a log line.
func TestNoSecretLeaks(t *testing.T) {
	f := newFixture(t)
	s := f.service("a", webhook.Config{MaxAttempts: 1})
	ctx := admin(t.Context())
	rc := newReceiver(t)
	rc.fail = 1
	e, sec, err := s.Create(ctx, webhook.CreateInput{URL: rc.srv.URL + "/hook?token=receiver-token-123"})
	must(t, err)
	f.clk.Advance(time.Second)
	f.credential(t)
	run(t, s)
	slog.New(slog.NewTextHandler(f.logs, nil)).Info("endpoint", "secret", *sec)
	log, err := s.Attempts(ctx, e.ID, 10)
	must(t, err)
	logJSON, _ := json.Marshal(log)
	rc.mu.Lock()
	bodies := bytes.Join(rc.raw, nil)
	rc.mu.Unlock()
	b64 := strings.TrimPrefix(sec.Reveal(), "whsec_")
	for name, text := range map[string]string{"bodies": string(bodies), "delivery log": string(logJSON), "logs": f.logs.String()} {
		for _, bad := range []string{b64, "receiver-token-123", "secret-token:"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s contain %q", name, bad)
			}
		}
	}
}

func TestURLPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		pol       webhook.TargetPolicy
		ok        bool
	}{
		{"https", "https://hooks.example.com/x", webhook.TargetPolicy{}, true},
		{"plain http", "http://hooks.example.com/x", webhook.TargetPolicy{AllowLoopbackHTTP: true}, false},
		{"loopback http without flag", "http://127.0.0.1:9/x", webhook.TargetPolicy{}, false},
		{"loopback http with flag", "http://127.0.0.1:9/x", webhook.TargetPolicy{AllowLoopbackHTTP: true}, true},
		{"private address", "https://10.0.0.5/x", webhook.TargetPolicy{}, false},
		{"link-local metadata", "https://169.254.169.254/latest", webhook.TargetPolicy{}, false},
		{"private allowed", "https://10.0.0.5/x", webhook.TargetPolicy{AllowPrivate: true}, true},
		{"user info", "https://u:p@hooks.example.com/", webhook.TargetPolicy{}, false},
		{"ftp", "ftp://hooks.example.com/", webhook.TargetPolicy{}, false},
		{"relative", "/hooks", webhook.TargetPolicy{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			s := webhook.New(webhook.Config{Targets: tc.pol}, f.store, f.keys, nil, f.clk)
			_, _, err := s.Create(admin(t.Context()), webhook.CreateInput{URL: tc.url})
			if got := err == nil; got != tc.ok {
				t.Errorf("Create(%q) error = %v, want ok %v", tc.url, err, tc.ok)
			}
			if err != nil && conncred.ErrorCode(err) != conncred.EInvalid {
				t.Errorf("code = %s, want invalid", conncred.ErrorCode(err))
			}
		})
	}
}

// TestSSRFAtDial: a URL that passed creation but resolves to a private
// address is refused when dialled.
func TestSSRFAtDial(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	port := rc.srv.Listener.Addr().(*net.TCPAddr).Port
	s := webhook.New(webhook.Config{MaxAttempts: 1}, f.store, f.keys, nil, f.clk)
	ctx := admin(t.Context())
	// localhost is a name, so creation cannot check its address.
	e, _, err := s.Create(ctx, webhook.CreateInput{URL: "https://localhost:" + strconv.Itoa(port) + "/"})
	must(t, err)
	_, err = s.Test(ctx, e.ID)
	must(t, err)
	run(t, s)
	log, err := s.Attempts(ctx, e.ID, 1)
	must(t, err)
	if len(log) != 1 || !strings.Contains(log[0].Error, "may not connect") {
		t.Errorf("attempt = %+v, want refused by the address check", log)
	}
	if len(rc.deliveries()) != 0 {
		t.Error("the receiver on loopback got a delivery")
	}
}
