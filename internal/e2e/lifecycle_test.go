package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLifecycleSurvivesRestartAndLeaksNoSecret drives the walkthrough of the
// README against a real server: the CLI creates an app, a connector and three
// credentials, one is revoked, tokens are exchanged; then the server is
// stopped gracefully and restarted. Nothing may be lost, lastUsedAt must
// have been flushed on shutdown, and no secret handed out may appear in the
// data directory (database, WAL, any file) or in the server's output.
func TestLifecycleSurvivesRestartAndLeaksNoSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	auditLog := filepath.Join(t.TempDir(), "audit.jsonl")
	s := Start(t, dir, "--dev", "--audit-log", auditLog)
	ctx := context.Background()
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, err := Run(ctx, t, nil, append(args, "--server", s.URL, "--data-dir", dir, "--json")...)
		if err != nil {
			t.Fatalf("conncred %v: %v\n%s", args, err, errOut)
		}
		return out
	}
	var app struct{ App struct{ ID string } }
	mustJSON(t, cli("app", "create", "--name", "Okta"), &app)
	var created struct {
		ConnectorView struct{ Connector struct{ ID string } }
	}
	mustJSON(t, cli("connector", "create", "--app", app.App.ID), &created)
	conn := created.ConnectorView.Connector

	secrets := []string{AdminCredential(t, dir).ClientSecret}
	var creds []Credential
	var ids []string
	for i := 0; i < 3; i++ {
		var rot struct {
			Credential struct {
				ID           string
				ClientID     string
				ClientSecret string
			}
			ClientSecret string
		}
		mustJSON(t, cli("credential", "rotate", "--app", app.App.ID, "--connector", conn.ID), &rot)
		if rot.ClientSecret == "" || rot.Credential.ClientSecret != rot.ClientSecret {
			t.Fatalf("rotate --json: secret missing or differs: %+v", rot)
		}
		secrets = append(secrets, rot.ClientSecret)
		creds = append(creds, Credential{ClientID: rot.Credential.ClientID, ClientSecret: rot.ClientSecret})
		ids = append(ids, rot.Credential.ID)
	}
	cli("credential", "revoke", "--app", app.App.ID, "--connector", conn.ID, "--id", ids[1])

	hc := s.HTTPClient(t)
	Token(t, hc, s.URL, creds[0])
	if status, _ := TokenRequest(t, hc, s.URL, creds[1].ClientID, Assertion(t, creds[1], time.Now())); status != http.StatusUnauthorized {
		t.Fatalf("revoked credential: token status %d, want 401", status)
	}
	// Stop right away: lastUsedAt of creds[0] is still only in memory, and
	// graceful shutdown must write it.
	if err := s.Stop(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, s.Log())
	}
	log1 := s.Log()

	s = Start(t, dir, "--dev")
	var list struct {
		List []struct {
			ID         string
			DeletedAt  *time.Time
			LastUsedAt *time.Time
		}
	}
	out, _, err := Run(ctx, t, nil, "credential", "list", "--app", app.App.ID, "--connector", conn.ID, "--server", s.URL, "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, out, &list)
	if len(list.List) != 3 {
		t.Fatalf("after restart: %d credentials, want 3", len(list.List))
	}
	for i, c := range list.List {
		if c.ID != ids[i] || (c.DeletedAt != nil) != (i == 1) {
			t.Fatalf("after restart, credential %d: %+v", i, c)
		}
	}
	if list.List[0].LastUsedAt == nil {
		t.Fatal("lastUsedAt of the used credential was not flushed on graceful shutdown")
	}
	Token(t, s.HTTPClient(t), s.URL, creds[2])
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	// Search everything for every secret, and for the private key inside it.
	var needles []string
	for _, sec := range secrets {
		needles = append(needles, sec, privateD(t, sec))
	}
	haystacks := map[string][]byte{"server output (first run)": []byte(log1), "server output (second run)": []byte(s.Log())}
	_ = filepath.Walk(filepath.Dir(auditLog), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			haystacks[p] = b
		}
		return nil
	})
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Base(p) != "admin-credential.json" {
			b, _ := os.ReadFile(p)
			haystacks[p] = b
		}
		return nil
	})
	if len(haystacks) < 5 {
		t.Fatalf("searched only %d places", len(haystacks))
	}
	for where, hay := range haystacks {
		for _, n := range needles {
			if bytes.Contains(hay, []byte(n)) {
				t.Errorf("a client secret (or its private key) appears in %s", where)
			}
		}
	}
	if b, _ := os.ReadFile(auditLog); !strings.Contains(string(b), "credential.revoked") {
		t.Errorf("the audit stream has no credential.revoked event:\n%s", b)
	}
}

// privateD returns the base64url private key ("d") inside a secret.
func privateD(t *testing.T, sec string) string {
	t.Helper()
	parts := strings.SplitN(sec, ":", 4)
	raw, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		t.Fatal(err)
	}
	var jwk struct{ D string }
	if err := json.Unmarshal(raw, &jwk); err != nil || jwk.D == "" {
		t.Fatalf("secret has no d: %v", err)
	}
	return jwk.D
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

// TestOneServerPerSQLiteFile: a second `conncred serve` on a data dir whose
// database another one is serving refuses to start, says why, and leaves
// the first one serving.
func TestOneServerPerSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	first := Start(t, dir, "--dev")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, stderr, err := Run(ctx, t, nil, "serve", "--dev", "--data-dir", dir, "--listen", "127.0.0.1:0")
	if err == nil || ctx.Err() != nil || !strings.Contains(stderr, "another conncred serve is using") {
		t.Fatalf("second serve on one SQLite database: err %v (context %v), stderr:\n%s", err, ctx.Err(), stderr)
	}
	hc := first.HTTPClient(t)
	resp, err := hc.Get(first.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the first server after the refused second: %d", resp.StatusCode)
	}
}
