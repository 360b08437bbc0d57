package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

// recordingBody is a request body that remembers whether anyone read it.
type recordingBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *recordingBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}
func (b *recordingBody) Close() error { return nil }

// TestBodyReadOnlyAfterAuthorization sends a 1 MiB body to every route that
// reads one, as a caller that may not use it, and checks the answer comes
// without a byte of the body read; an admin's identical request is read.
func TestBodyReadOnlyAfterAuthorization(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	connector := e.token(clientID, sec)
	creds := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/apps/connectors/credentials"},
		{"POST", creds},
		{"POST", creds + "/" + credID},
		{"POST", "/api/v1/apps"},
		{"POST", "/api/v1/apps/" + appID},
		{"DELETE", "/api/v1/apps/" + appID},
		{"POST", "/api/v1/apps/" + appID + "/connectors"},
		{"POST", "/api/v1/apps/" + appID + "/connectors/create"},
		{"POST", "/api/v1/apps/" + appID + "/connectors/" + connID},
		{"DELETE", "/api/v1/apps/" + appID + "/connectors/" + connID},
		{"POST", "/api/v1/iam/personal_clients"},
		{"DELETE", "/api/v1/iam/personal_clients/" + credID},
		{"POST", "/api/v1/signing_keys/rotate"},
	}
	big := `{"pad":"` + strings.Repeat("a", 1<<20-20) + `"}`
	send := func(method, path, bearer string) (int, bool) {
		t.Helper()
		body := &recordingBody{r: strings.NewReader(big)}
		req := httptest.NewRequest(method, path, nil)
		req.Body, req.ContentLength = body, int64(len(big))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, req)
		return rec.Code, body.read.Load()
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			if got, read := send(rt.method, rt.path, connector); got != http.StatusForbidden || read {
				t.Errorf("connector token: status %d, body read %v; want 403 unread", got, read)
			}
			if got, read := send(rt.method, rt.path, ""); got != http.StatusUnauthorized || read {
				t.Errorf("no token: status %d, body read %v; want 401 unread", got, read)
			}
		})
	}
	// The control: the same body from an admin is read (and, being valid
	// JSON of an unknown member, reaches the authority).
	if _, read := send("POST", creds+"/"+credID, e.admin); !read {
		t.Fatal("an admin's body was not read: the recorder proves nothing")
	}
}

// TestBodyLargerThanDeclaredLimit checks that a declared Content-Length
// over the limit is refused before reading.
func TestBodyLargerThanDeclaredLimit(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 1000}, authority.Config{})
	body := &recordingBody{r: strings.NewReader(strings.Repeat(" ", 1001))}
	req := httptest.NewRequest("POST", "/api/v1/apps", nil)
	req.Body, req.ContentLength = body, 1001
	req.Header.Set("Authorization", "Bearer "+e.admin)
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	if got, want := rec.Code, http.StatusBadRequest; got != want || body.read.Load() || !strings.Contains(rec.Body.String(), "limit of 1000 bytes") {
		t.Fatalf("status %d, body read %v; want %d unread", got, body.read.Load(), want)
	}
}

func TestBodyBudget(t *testing.T) {
	b := newBodyBudget(100, time.Hour)
	release60, err := b.acquire(context.Background(), 60)
	if err != nil {
		t.Fatal(err)
	}
	// The next 60 cannot be had: a caller whose wait ends gets 503.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.acquire(ctx, 60); !is503(err) {
		t.Fatalf("over budget: %v, want 503", err)
	}
	// A waiter gets its bytes as soon as they are given back.
	got := make(chan error, 1)
	go func() {
		release, err := b.acquire(context.Background(), 60)
		if err == nil {
			release()
		}
		got <- err
	}()
	release60()
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	// A body larger than the whole budget takes all of it, alone.
	releaseAll, err := b.acquire(context.Background(), 1000)
	if err != nil {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := b.acquire(ctx, 1); !is503(err) {
		t.Fatalf("with the budget taken: %v, want 503", err)
	}
	releaseAll()
	// No bound at all.
	if _, err := newBodyBudget(-1, 0).acquire(ctx, 1<<40); err != nil {
		t.Fatalf("unbounded: %v", err)
	}
}

func is503(err error) bool {
	he, ok := err.(*httpError)
	return ok && httpStatusFor(he.rpc) == http.StatusServiceUnavailable
}

// TestBodyBudgetAnswers503 fills the in-flight budget and checks the next
// request with a body waits its (here one nanosecond) turn and gets 503
// with Retry-After and a message saying so, while a request without a
// body is served; once the budget is free the same request succeeds.
func TestBodyBudgetAnswers503(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytesInFlight: 4096, BodyWait: time.Nanosecond}, authority.Config{})
	srv := e.srv.Config.Handler.(*Server)
	release, err := srv.bodies.acquire(context.Background(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": "application/json"}
	st, body := e.do("POST", "/api/v1/apps", h, `{"displayName":"a"}`)
	var m struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &m)
	if st != http.StatusServiceUnavailable || m.Code != 14 || !strings.Contains(m.Message, "Retry-After") {
		t.Fatalf("with the budget full: %d %s; want 503, code 14, a message naming Retry-After", st, body)
	}
	req := httptest.NewRequest("POST", "/api/v1/apps", strings.NewReader(`{"displayName":"a"}`))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if got, want := rec.Header().Get("Retry-After"), "1"; rec.Code != http.StatusServiceUnavailable || got != want {
		t.Fatalf("with the budget full: %d, Retry-After %q; want 503 and %q", rec.Code, got, want)
	}
	if st, _ := e.do("POST", "/api/v1/apps/x", h, ""); st != http.StatusBadRequest {
		t.Fatalf("a request without a body: %d, want 400 (app is required), not 503", st)
	}
	release()
	if st, body := e.do("POST", "/api/v1/apps", h, `{"displayName":"a"}`); st != http.StatusOK {
		t.Fatalf("with the budget free: %d %s", st, body)
	}
}

// TestFormBodiesShareTheBudget: token and introspection forms reserve their
// bytes like JSON bodies; with the budget full the token endpoint answers
// RFC 6749 503 temporarily_unavailable with Retry-After, and works again
// once it is free.
func TestFormBodiesShareTheBudget(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytesInFlight: 4096, BodyWait: time.Nanosecond}, authority.Config{})
	srv := e.srv.Config.Handler.(*Server)
	release, err := srv.bodies.acquire(context.Background(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	form := "grant_type=client_credentials&client_id=x"
	req := httptest.NewRequest("POST", "/auth/v1/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var oe apitype.OAuthError
	_ = json.Unmarshal(rec.Body.Bytes(), &oe)
	if rec.Code != http.StatusServiceUnavailable || oe.Error != "temporarily_unavailable" || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("with the budget full: %d %s (Retry-After %q); want 503 temporarily_unavailable with Retry-After 1", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	release()
	req = httptest.NewRequest("POST", "/auth/v1/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("with the budget free: %d %s; want 400 (no assertion)", rec.Code, rec.Body)
	}
}
