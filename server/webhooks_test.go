package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/store/sqlite"
	"github.com/conncred/conncred/webhook"
)

// withWebhooks registers the webhooks wing as serve does, with plain http
// to loopback allowed for the tests' receivers.
func withWebhooks(cfg *Config, st *sqlite.Store, a *authority.Authority, clk clock.Clock) {
	if cfg.Webhooks != nil {
		return
	}
	keys, err := webhook.NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		panic(err)
	}
	cfg.Webhooks = webhook.New(webhook.Config{Targets: webhook.TargetPolicy{AllowLoopbackHTTP: true}}, st, keys, a, clk)
}

// testWebhooks is a second service over the env's store and the same key:
// the worker of another node.
func testWebhooks(e *env) *webhook.Service {
	var cfg Config
	withWebhooks(&cfg, e.store.(*sqlite.Store), e.auth, e.clock)
	return cfg.Webhooks
}

// TestWebhookRoutes: an admin adds an endpoint (the secret shown once), a
// rotate and a revoke over the API reach it signed, and the delivery log
// lists them; bad input is a 400 that changes nothing.
func TestWebhookRoutes(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	var mu sync.Mutex
	var bodies []string
	var types []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m webhook.Message
		json.Unmarshal(b, &m)
		mu.Lock()
		bodies, types = append(bodies, string(b)), append(types, m.Type)
		mu.Unlock()
	}))
	defer rc.Close()

	for _, bad := range []string{"http://hooks.example.com/", "ftp://x/", "https://169.254.169.254/"} {
		if st, m := e.api("POST", apitype.PathWebhooks, e.admin, map[string]any{"url": bad}); st != 400 || !strings.Contains(str(m, "message"), "url") {
			t.Errorf("create with %s: %d %v, want 400 naming the url", bad, st, m)
		}
	}
	st, m := e.api("POST", apitype.PathWebhooks, e.admin, map[string]any{"url": rc.URL, "eventTypes": []string{"credential.created", "credential.revoked"}})
	if st != 200 || !strings.HasPrefix(str(m, "signingSecret"), "whsec_") {
		t.Fatalf("create: %d %v, want 200 with a whsec_ secret", st, m)
	}
	secret, id := str(m, "signingSecret"), str(m, "webhook", "id")
	st, m = e.api("GET", apitype.PathWebhooks+"/"+id, e.admin, nil)
	if raw, _ := json.Marshal(m); st != 200 || strings.Contains(string(raw), strings.TrimPrefix(secret, "whsec_")) {
		t.Errorf("get: %d %s, want 200 without the secret", st, raw)
	}
	if st, m := e.api("GET", apitype.PathWebhooks, e.admin, nil); st != 200 || len(m["list"].([]any)) != 1 {
		t.Errorf("list: %d %v, want one endpoint", st, m)
	}

	appID, connID := e.setup()
	credID, _, credSecret := e.rotate(appID, connID)
	if st, _ := e.api("DELETE", "/api/v1/apps/"+appID+"/connectors/"+connID, e.admin, nil); st != 200 {
		t.Fatalf("delete connector: %d", st)
	}
	if _, err := testWebhooks(e).RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := strings.Join(types, ",")
	all := strings.Join(bodies, "\n")
	mu.Unlock()
	if got != "credential.created,credential.revoked" && got != "credential.revoked,credential.created" {
		t.Errorf("receiver got %q, want credential.created and credential.revoked (the cascade of the connector delete)", got)
	}
	if !strings.Contains(all, credID) {
		t.Errorf("bodies do not name credential %s", credID)
	}
	for _, s := range append([]string{secret, credSecret}, e.secrets...) {
		if strings.Contains(all, s) || strings.Contains(e.log.String(), s) {
			t.Errorf("a secret appears in a webhook body or the log")
		}
	}
	st, m = e.api("GET", apitype.PathWebhooks+"/"+id+"/deliveries", e.admin, nil)
	if st != 200 || len(m["list"].([]any)) != 2 || len(m["attempts"].([]any)) != 2 {
		t.Errorf("deliveries: %d %v, want 2 deliveries and 2 attempts", st, m)
	}
	if st, m := e.api("GET", apitype.PathWebhookSigningKey, "", nil); st != 200 || !strings.HasPrefix(str(m, "publicKey"), "whpk_") {
		t.Errorf("signing key: %d %v", st, m)
	}
	if st, _ := e.api("DELETE", apitype.PathWebhooks+"/"+id, e.admin, nil); st != 200 {
		t.Errorf("delete: %d", st)
	}
}

// TestTrustUsedOverHTTP wires the webhooks' audit sink as serve does and
// exchanges workload tokens through a trust: the first exchange of the
// hour is one trust.used naming the trust, its connector and the
// workload's subject, never the workload's token nor the one minted.
func TestTrustUsedOverHTTP(t *testing.T) {
	var sink atomic.Pointer[func(conncred.AuditEvent)]
	e := newEnv(t, Config{}, authority.Config{AuditSink: func(ev conncred.AuditEvent) {
		if f := sink.Load(); f != nil {
			(*f)(ev)
		}
	}})
	hooks := testWebhooks(e)
	f := hooks.AuditSink(authority.RefusedRevoked)
	sink.Store(&f)
	var mu sync.Mutex
	var bodies []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer rc.Close()
	if st, m := e.api("POST", apitype.PathWebhooks, e.admin, map[string]any{"url": rc.URL, "eventTypes": []string{webhook.EventTrustUsed}}); st != 200 {
		t.Fatalf("create endpoint: %d %v", st, m)
	}

	iss := newOIDCIssuer(t)
	appID, connID := e.setup()
	st, m := e.api("POST", apitype.PathTrusts, e.admin, map[string]any{
		"issuer": iss.srv.URL, "role": "connector", "appId": appID, "connectorId": connID, "condition": `claims.repository == "acme/connectors"`,
	})
	if st != 200 {
		t.Fatalf("create trust: %d %v", st, m)
	}
	trustID, clientID := str(m, "trust", "id"), str(m, "trust", "clientId")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	var tokens []string
	for i := range 3 { // three workload runs within the hour
		e.clock.Advance(time.Minute)
		subject := iss.token(e.auth.Issuer(), e.clock.Now(), "acme/connectors")
		st, body := e.do("POST", apitype.PathToken, form, sdkExchangeForm(clientID, subject))
		if st != 200 {
			t.Fatalf("exchange %d: %d %s", i, st, body)
		}
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
			t.Fatalf("exchange %d: %s (%v)", i, body, err)
		}
		tokens = append(tokens, subject, tr.AccessToken)
	}
	if _, err := hooks.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(bodies)
	mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("deliveries: got %d, want 1 trust.used for three exchanges in one hour: %q", len(got), got)
	}
	var msg struct {
		Type string               `json:"type"`
		Data webhook.TrustUseData `json:"data"`
	}
	if err := json.Unmarshal([]byte(got[0]), &msg); err != nil {
		t.Fatal(err)
	}
	want := webhook.TrustUseData{TrustID: trustID, ClientID: clientID, Subject: "repo:acme/connectors:ref:refs/heads/main", Role: "connector",
		AppID: appID, ConnectorID: connID, Source: "127.0.0.1"}
	if msg.Type != webhook.EventTrustUsed || msg.Data != want {
		t.Errorf("delivery: got %s %+v, want trust.used %+v", msg.Type, msg.Data, want)
	}
	for _, tok := range tokens {
		if strings.Contains(got[0], tok) {
			t.Error("the trust.used body holds a workload token or the token response")
		}
	}
}
