package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/conncred/conncred/webhook"
)

// hookReceiver records the deliveries it is sent.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
}

func newHookReceiver(tb testing.TB) *hookReceiver {
	tb.Helper()
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got, h.body = append(h.got, r), append(h.body, b)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(h.Close)
	return h
}

// TestWebhookCLIAddOut: `webhook add --out` writes the signing secret to a
// new 0600 file and nowhere else, refuses to overwrite a file before any
// endpoint exists, and the secret in the file verifies the delivery that
// `webhook test` causes.
func TestWebhookCLIAddOut(t *testing.T) {
	e := newCLIEnv(t)
	rcv := newHookReceiver(t)
	path := filepath.Join(t.TempDir(), "hook.json")

	out, errOut, code := e.run(t, "webhook", "add", "--url", rcv.URL+"/h", "--out", path)
	if code != 0 {
		t.Fatalf("add --out: exit %d: %s", code, errOut)
	}
	if strings.Contains(out+errOut, "whsec_") {
		t.Errorf("add --out printed the secret:\nstdout %s\nstderr %s", out, errOut)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("--out mode: got %v, want %v", got, want)
	}
	var file webhookSecretFile
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &file); err != nil || file.WebhookID == "" || !strings.HasPrefix(file.SigningSecret, "whsec_") {
		t.Fatalf("--out file: %v %s", err, b)
	}

	// A second add to the same file is refused before anything is made.
	if _, errOut, code := e.run(t, "webhook", "add", "--url", rcv.URL+"/h", "--out", path); code != 2 || !strings.Contains(errOut, "never overwritten") {
		t.Errorf("add --out to an existing file: exit %d, stderr %q; want 2 and a message that it is never overwritten", code, errOut)
	}
	var list struct{ List []struct{ ID string } }
	e.mustJSON(t, &list, "webhook", "list")
	if got, want := len(list.List), 1; got != want {
		t.Errorf("endpoints after the refused add: got %d, want %d", got, want)
	}

	var test struct{ EventID string }
	e.mustJSON(t, &test, "webhook", "test", "--id", file.WebhookID)
	if _, err := e.webhooks.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if got, want := len(rcv.got), 1; got != want {
		t.Fatalf("deliveries: got %d, want %d", got, want)
	}
	r := rcv.got[0]
	key, err := webhook.ParseSecret(file.SigningSecret)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	if got, want := r.Header.Get("webhook-signature"), webhook.SignHMAC(key, test.EventID, ts, rcv.body[0]); got != want || r.Header.Get("webhook-id") != test.EventID {
		t.Errorf("signature with the --out secret: got %q (id %q), want %q (id %q)", got, r.Header.Get("webhook-id"), want, test.EventID)
	}
	if strings.Contains(string(rcv.body[0]), file.SigningSecret) {
		t.Error("the delivery's body carries the signing secret")
	}
}

func TestWebhookCLIAdd(t *testing.T) {
	e := newCLIEnv(t)
	rcv := newHookReceiver(t)

	t.Run("prints the secret once", func(t *testing.T) {
		out, errOut, code := e.run(t, "webhook", "add", "--url", rcv.URL, "--description", "pager")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if got := strings.Count(out, "whsec_"); got != 1 {
			t.Errorf("secrets on stdout: got %d, want 1:\n%s", got, out)
		}
		if strings.Contains(errOut, "whsec_") || !strings.Contains(errOut, "only time the webhook signing secret is shown") {
			t.Errorf("stderr: got %q, want the warning and no secret", errOut)
		}
		id := strings.Fields(strings.Split(out, "\n")[1])[0]
		got, errOut, code := e.run(t, "webhook", "get", "--id", id)
		if code != 0 || strings.Contains(got, "whsec_") || !strings.Contains(got, "pager") {
			t.Errorf("get: exit %d, stdout %q, stderr %q", code, got, errOut)
		}
	})
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"ed25519 has no secret to write", []string{"--url", rcv.URL, "--signing", "ed25519", "--out", filepath.Join(t.TempDir(), "x")}, 2, "an ed25519 endpoint has none"},
		{"not https", []string{"--url", "http://hooks.example.com/"}, 1, "url must be https"},
		{"unknown event", []string{"--url", rcv.URL, "--event", "credential.nope"}, 1, `unknown event type "credential.nope"`},
		{"no url", nil, 2, "missing --url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := e.run(t, append([]string{"webhook", "add"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.wantErr) || out != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tc.code, tc.wantErr)
			}
		})
	}
	var list struct{ List []struct{ ID string } }
	e.mustJSON(t, &list, "webhook", "list")
	if got, want := len(list.List), 1; got != want {
		t.Errorf("endpoints after the refused adds: got %d, want %d", got, want)
	}
}

// TestPolicySetRequireDPoP: `policy set --require-dpop` sets the field,
// `--require-dpop=false` sets false (not inherit), `--inherit requireDpop`
// inherits again; the table shows where the value comes from.
func TestPolicySetRequireDPoP(t *testing.T) {
	e := newCLIEnv(t)
	var app struct{ App struct{ ID string } }
	e.mustJSON(t, &app, "app", "create", "--name", "Okta")
	type view struct {
		Policy    struct{ RequireDpop *bool }
		Effective struct {
			RequireDpop bool
			From        map[string]string
		}
	}
	for _, tc := range []struct {
		args     []string
		set      string // "unset", "true" or "false"
		applies  bool
		fromWant string
	}{
		{[]string{"--require-dpop"}, "true", true, "app"},
		{[]string{"--require-dpop=false"}, "false", false, "app"},
		{[]string{"--inherit", "requireDpop"}, "unset", false, "flags"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var v view
			e.mustJSON(t, &v, append([]string{"policy", "set", "--app", app.App.ID}, tc.args...)...)
			if got := deref(v.Policy.RequireDpop); got != tc.set || v.Effective.RequireDpop != tc.applies || v.Effective.From["requireDpop"] != tc.fromWant {
				t.Errorf("got set %s, applies %v from %q; want %s, %v from %q", got, v.Effective.RequireDpop, v.Effective.From["requireDpop"], tc.set, tc.applies, tc.fromWant)
			}
		})
	}
	out, errOut, code := e.run(t, "policy", "set", "--app", app.App.ID, "--require-dpop")
	if code != 0 || !strings.Contains(out, "requireDpop") {
		t.Errorf("table: exit %d, stdout %q, stderr %q; want a requireDpop row", code, out, errOut)
	}
}

func deref(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b)
}
