package webhook_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/e2e"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/store/postgres"
	"github.com/conncred/conncred/store/sqlite"
	"github.com/conncred/conncred/webhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// This file is the receiver check: a webhook receiver of our own,
// on loopback behind TLS, that verifies every delivery with the public
// Standard Webhooks library (github.com/standard-webhooks/standard-webhooks,
// libraries/go), while the node delivering is killed mid-delivery and
// restarted beside a second node on the same store; after deduplication by
// webhook-id every event arrives exactly once at every endpoint.
//
// The library verifies v1 (HMAC-SHA256) signatures only; it has no v1a
// (Ed25519). The Ed25519 endpoint's deliveries are verified here with
// crypto/ed25519 exactly as the specification writes it (the signed content
// is "id.timestamp.body", the signature base64 after "v1a,"), against the
// key published at /api/v1/webhooks/signing-key. The library's timestamp
// tolerance compares with the wall clock, and these tests run on a fake
// one, so the timestamp is checked here against the fake clock with the
// library's own tolerance (5 minutes) and the signature with
// VerifyIgnoringTimestamp.

// hookStore is what the test needs of a store.
type hookStore interface {
	conncred.Store
	webhook.Store
}

// stores returns the stores to run on: SQLite always, PostgreSQL when
// CONNCRED_TEST_POSTGRES_URL is set.
func stores() map[string]func(t *testing.T) hookStore {
	return map[string]func(t *testing.T) hookStore{
		"sqlite": func(t *testing.T) hookStore {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) hookStore {
			st, err := postgres.Open(t.Context(), e2e.PostgresURL(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// libReceiver is the receiver: /hmac verified with the library, /ed25519
// with crypto/ed25519. It keeps every arrival and the verification of each.
type libReceiver struct {
	t   *testing.T
	srv *httptest.Server
	clk *clock.Fake

	mu       sync.Mutex
	hmac     *standardwebhooks.Webhook
	pub      ed25519.PublicKey
	arrivals map[string][]string // path -> webhook-ids, in arrival order
	bad      []string            // deliveries that did not verify, and why
	failed   int                 // answered 503
	// block, when set, makes the next request wait until its sender
	// gives up, after recording it: the receiver processed the event and
	// the sender died before it could read the answer.
	block    bool
	blocking chan struct{}
	blocked  [2]string // path and webhook-id of the blocked delivery
}

func newLibReceiver(t *testing.T, clk *clock.Fake) *libReceiver {
	rc := &libReceiver{t: t, clk: clk, arrivals: map[string][]string{}, blocking: make(chan struct{}, 1)}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *libReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the sender went away
	}
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	rc.mu.Lock()
	why := rc.verify(r.URL.Path, r.Header, body)
	if why != "" {
		rc.bad = append(rc.bad, fmt.Sprintf("%s %s: %s", r.URL.Path, id, why))
		rc.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.arrivals[r.URL.Path] = append(rc.arrivals[r.URL.Path], id)
	n := len(rc.arrivals[r.URL.Path])
	block := rc.block
	if block {
		rc.block, rc.blocked = false, [2]string{r.URL.Path, id}
	}
	rc.mu.Unlock()
	if block {
		rc.blocking <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second): // a hang, not a measurement
			rc.t.Error("the blocked delivery's sender did not give up within 30s")
		}
		return
	}
	// Every fifth arrival fails once, so retries and backoff take part.
	if n%5 == 0 {
		rc.mu.Lock()
		rc.failed++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify returns why a delivery does not verify, or "".
func (rc *libReceiver) verify(path string, h http.Header, body []byte) string {
	ts, err := strconv.ParseInt(h.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64)
	if err != nil {
		return "no timestamp"
	}
	if d := rc.clk.Now().Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Sprintf("timestamp %d is %s from the clock", ts, d)
	}
	switch path {
	case "/hmac":
		if err := rc.hmac.VerifyIgnoringTimestamp(body, h); err != nil {
			return err.Error()
		}
		return ""
	case "/ed25519":
		content := h.Get(standardwebhooks.HeaderWebhookID) + "." + h.Get(standardwebhooks.HeaderWebhookTimestamp) + "." + string(body)
		for _, sig := range strings.Fields(h.Get(standardwebhooks.HeaderWebhookSignature)) {
			raw, ok := strings.CutPrefix(sig, "v1a,")
			if !ok {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(raw)
			if err == nil && ed25519.Verify(rc.pub, []byte(content), b) {
				return ""
			}
		}
		return "no v1a signature verifies with the published key"
	}
	return "unknown path"
}

// TestReceiverVerifiesWithLibraryAcrossNodeDeath is the check.
func TestReceiverVerifiesWithLibraryAcrossNodeDeath(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) { receiverAcrossNodeDeath(t, open(t)) })
	}
}

func receiverAcrossNodeDeath(t *testing.T, st hookStore) {
	clk := clock.NewFake(t0)
	keys, err := webhook.NewKeyring(bytes.Repeat([]byte{9}, 32))
	must(t, err)
	rc := newLibReceiver(t, clk)
	roots := x509.NewCertPool()
	roots.AddCert(rc.srv.Certificate())
	node := func(name string) *webhook.Service {
		return webhook.New(webhook.Config{Targets: webhook.TargetPolicy{AllowLoopbackHTTP: true, RootCAs: roots}, Node: name,
			Lease: 30 * time.Second, BackoffBase: 10 * time.Second, BackoffMax: 20 * time.Second, MaxAttempts: 50}, st, keys, nil, clk)
	}
	a, b := node("node-a"), node("node-b")
	ctx := admin(t.Context())

	// The receiver is on loopback behind TLS: an https URL.
	_, sec, err := a.Create(ctx, webhook.CreateInput{URL: rc.srv.URL + "/hmac"})
	must(t, err)
	rc.hmac, err = standardwebhooks.NewWebhook(sec.Reveal())
	must(t, err)
	_, _, err = a.Create(ctx, webhook.CreateInput{URL: rc.srv.URL + "/ed25519", Signing: webhook.SigningEd25519})
	must(t, err)
	// As a receiver reads it from GET /api/v1/webhooks/signing-key.
	pub, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a.Keyring().PublicKeyString(), "whpk_"))
	must(t, err)
	rc.pub = pub

	// 12 credentials created and 4 of them revoked: 16 events, each for
	// both endpoints.
	clk.Advance(time.Second)
	var want []string
	for i := range 12 {
		cr := newCredential(t, st, clk.Now())
		want = append(want, "msg_created_"+cr.ID)
		if i%3 == 0 {
			_, err := st.RevokeCredential(t.Context(), cr.ID, clk.Now())
			must(t, err)
			want = append(want, "msg_revoked_"+cr.ID)
		}
	}
	slices.Sort(want)

	// Node A takes the first round and dies while one delivery is in
	// flight: the receiver has it, A never reads the answer, and A's
	// lease is all that is left of its work.
	rc.mu.Lock()
	rc.block = true
	rc.mu.Unlock()
	actx, kill := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.RunOnce(actx) // its error is its death
	}()
	select {
	case <-rc.blocking:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery reached the receiver within 30s")
	}
	kill()
	<-done

	// A restarts beside B; both deliver on the same store, at once,
	// until nothing is due. A's leases expire after 30s.
	a = node("node-a")
	for round := 0; ; round++ {
		depth, err := st.WebhookQueueDepth(t.Context())
		must(t, err)
		if depth == 0 {
			break
		}
		if round == 40 {
			t.Fatalf("%d deliveries still pending after %d rounds", depth, round)
		}
		clk.Advance(31 * time.Second)
		var wg sync.WaitGroup
		for _, n := range []*webhook.Service{a, b} {
			wg.Go(func() {
				if _, err := n.RunOnce(t.Context()); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		wg.Wait()
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, why := range rc.bad {
		t.Errorf("a delivery did not verify: %s", why)
	}
	dups := 0
	for _, path := range []string{"/hmac", "/ed25519"} {
		got := rc.arrivals[path]
		seen := slices.Clone(got)
		slices.Sort(seen)
		seen = slices.Compact(seen)
		dups += len(got) - len(seen)
		if !slices.Equal(seen, want) {
			t.Errorf("%s: after dedup by webhook-id got %d events, want each of %d once:\n got %q\nwant %q", path, len(seen), len(want), seen, want)
		}
	}
	if n := countOf(rc.arrivals[rc.blocked[0]], rc.blocked[1]); n < 2 {
		t.Errorf("the delivery in flight when node A died (%s %s) arrived %d times, want again after A's lease expired", rc.blocked[0], rc.blocked[1], n)
	}
	if rc.failed == 0 {
		t.Error("no delivery was answered 503; the retries were not exercised")
	}
	// The verifier is live: a body changed in transit does not verify.
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, "msg_x")
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(clk.Now().Unix(), 10))
	sig, err := rc.hmac.Sign("msg_x", clk.Now(), []byte(`{"a":1}`))
	must(t, err)
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	if rc.verify("/hmac", h, []byte(`{"a":1}`)) != "" || rc.verify("/hmac", h, []byte(`{"a":2}`)) == "" {
		t.Error("the library's verification accepts a changed body, or refuses the original")
	}
	h.Set(standardwebhooks.HeaderWebhookSignature, webhook.SignEd25519(ed25519.NewKeyFromSeed(make([]byte, 32)), "msg_x", clk.Now().Unix(), []byte(`{"a":1}`)))
	if rc.verify("/ed25519", h, []byte(`{"a":1}`)) == "" {
		t.Error("a v1a signature by another key verifies")
	}
	t.Logf("%d events to 2 endpoints: %d arrivals, %d duplicates, %d answered 503", len(want), len(rc.arrivals["/hmac"])+len(rc.arrivals["/ed25519"]), dups, rc.failed)
}

func countOf(ids []string, id string) int {
	n := 0
	for _, v := range ids {
		if v == id {
			n++
		}
	}
	return n
}

// newCredential stores an app, a connector and a credential, as the
// authority would, and returns the credential.
func newCredential(t *testing.T, st conncred.Store, now time.Time) conncred.Credential {
	t.Helper()
	ctx := t.Context()
	a := conncred.App{ID: ksuid.New(now), DisplayName: "app", CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateApp(ctx, a))
	c := conncred.Connector{ID: ksuid.New(now), AppID: a.ID, DisplayName: "c", CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateConnector(ctx, c))
	id := ksuid.New(now)
	cr := conncred.Credential{ID: id, Kind: conncred.KindConnector, AppID: a.ID, ConnectorID: c.ID, ClientID: "cred-" + id + "@127.0.0.1:8443/ccc",
		DisplayName: "cred", PublicKey: make([]byte, 32), Thumbprint: "tp-" + id, CreatedAt: now, UpdatedAt: now}
	must(t, st.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	return cr
}
