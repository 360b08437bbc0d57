package e2e

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDatabaseOutage runs a node whose PostgreSQL connections pass through a
// proxy, cuts the proxy (as if the database went away), and checks that
// requests fail fast with 503 and a clear message, then that the node
// recovers on its own once the database is back.
func TestDatabaseOutage(t *testing.T) {
	db := PostgresURL(t)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := NewProxy(t, u.Host)
	u.Host = proxy.Addr
	dir := filepath.Join(t.TempDir(), "data")
	s := Start(t, dir, "--dev", "--db", u.String(), "--failed-token-limit", "-1")
	hc := s.HTTPClient(t)
	admin := AdminCredential(t, dir)
	tok := Token(t, hc, s.URL, admin)
	if status, body := Call(t, hc, "GET", s.URL+"/api/v1/apps", tok, nil); status != http.StatusOK {
		t.Fatalf("before the outage: %d %v", status, body)
	}

	proxy.Down()
	// Token exchanges write the replay record, so they need the database.
	start := time.Now()
	status, body := TokenRequest(t, hc, s.URL, admin.ClientID, Assertion(t, admin, time.Now()))
	took := time.Since(start)
	if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
		t.Fatalf("token request during the outage: %d %v", status, body)
	}
	status, body = Call(t, hc, "POST", s.URL+"/api/v1/apps", tok, map[string]any{"displayName": "x"})
	if status != http.StatusServiceUnavailable || !strings.Contains(Get(body, "message"), "unavailable") {
		t.Fatalf("API write during the outage: %d %v", status, body)
	}
	status, _ = Call(t, hc, "GET", s.URL+"/readyz", "", nil)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("readyz during the outage: %d", status)
	}
	t.Logf("token request during the outage refused after %v", took.Round(time.Millisecond))

	proxy.Up()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _ := TokenRequest(t, hc, s.URL, admin.ClientID, Assertion(t, admin, time.Now()))
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not recover within 30s of the database returning (last status %d)\n%s", status, s.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(s.Log(), "panic") || strings.Contains(s.Log(), "goroutine ") {
		t.Fatalf("server log shows a panic or stack trace:\n%s", s.Log())
	}
}
