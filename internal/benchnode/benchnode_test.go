package benchnode_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/internal/benchnode"
	"github.com/conncred/conncred/internal/benchnode/benchnodetest"
	"github.com/conncred/conncred/secret"
)

func TestReadProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	st, err := benchnode.ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PeakRSS < 1<<20 {
		t.Errorf("peak RSS %d bytes: implausibly small", st.PeakRSS)
	}
	if _, err := benchnode.ReadProc(1 << 30); err == nil {
		t.Error("ReadProc of a pid that cannot exist: no error")
	}
}

// login starts the fake and logs in as its admin.
func login(t *testing.T) (*benchnodetest.Server, *benchnode.Admin, func(benchnode.Credential) (string, error)) {
	t.Helper()
	fake := benchnodetest.New(t)
	hc, err := benchnode.HTTPClient(fake.CAFile, true, 8)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := benchnode.LoadCredential(fake.AdminFile)
	if err != nil {
		t.Fatal(err)
	}
	a, err := benchnode.NewAdmin(context.Background(), hc, fake.URL, admin)
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(c benchnode.Credential) (string, error) {
		s, err := benchnode.NewSigner(c)
		if err != nil {
			return "", err
		}
		return benchnode.Exchange(context.Background(), hc, fake.URL, s)
	}
	return fake, a, exchange
}

func TestCreateCredentialsSpreadsOverConnectors(t *testing.T) {
	fake, a, _ := login(t)
	var last int
	creds, err := a.CreateCredentials(context.Background(), 25, benchnodetest.MaxPerConnector, 3, func(done int) { last = done })
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 25 || last != 25 {
		t.Fatalf("got %d credentials, last progress %d; want 25", len(creds), last)
	}
	seen := map[string]bool{}
	for _, c := range creds {
		if c.ClientID == "" || !strings.HasPrefix(c.ClientSecret, "secret-token:") || seen[c.ClientID] {
			t.Fatalf("bad or repeated credential %+v", c.ClientID)
		}
		seen[c.ClientID] = true
	}
	per := fake.Credentials()
	if len(per) != 3 {
		t.Errorf("got %d connectors (%v), want 3 for 25 credentials at 10 each", len(per), per)
	}

	// Past the cap the server refuses, and so does CreateCredentials.
	if _, err := a.CreateCredentials(context.Background(), 11, 11, 2, nil); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("11 on one connector: got %v, want the server's 400 (FAILED_PRECONDITION)", err)
	}
}

// TestExchange: a created credential's assertion passes the fake's strict
// check (header, claims, signature, fresh nonce) and gets a token; a
// credential the server does not know, or a malformed one, does not.
func TestExchange(t *testing.T) {
	fake, a, exchange := login(t)
	creds, err := a.CreateCredentials(context.Background(), 1, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // twice: each assertion has its own nonce
		if tok, err := exchange(creds[0]); err != nil || tok == "" {
			t.Fatalf("exchange: %q, %v", tok, err)
		}
	}
	if got := fake.Exchanges.Load(); got != 3 { // the admin's and the two above
		t.Errorf("fake served %d exchanges, want 3", got)
	}

	_, sec, err := secret.Generate()
	if err != nil {
		t.Fatal(err)
	}
	stranger := benchnode.Credential{ClientID: creds[0].ClientID, ClientSecret: sec.Reveal()}
	if _, err := exchange(stranger); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a key the server does not know: %v, want its 401", err)
	}
	if _, err := exchange(benchnode.Credential{ClientID: creds[0].ClientID, ClientSecret: "nope"}); err == nil {
		t.Error("a malformed secret: no error")
	}
	if _, err := exchange(benchnode.Credential{ClientID: "not-a-client-id", ClientSecret: creds[0].ClientSecret}); err == nil {
		t.Error("a malformed client id: no error")
	}
}

func TestLoadCredential(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := benchnode.LoadCredential(write("ok.json", `{"clientId":"a@h/pcc","clientSecret":"s"}`))
	if err != nil || c.ClientID != "a@h/pcc" || c.ClientSecret != "s" {
		t.Fatalf("got %+v, %v", c, err)
	}
	for name, body := range map[string]string{"empty.json": `{}`, "bad.json": `{`, "half.json": `{"clientId":"a"}`} {
		if _, err := benchnode.LoadCredential(write(name, body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := benchnode.LoadCredential(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file: accepted")
	}
}

// TestStartNode runs a stand-in for the binary that exits at once: StartNode
// reports it, with the log's end, instead of waiting its minute.
func TestStartNode(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "conncred")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'no database here' >&2\nexit 3\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := benchnode.StartNode(context.Background(), bin, filepath.Join(dir, "node1"), "--dev")
	if err == nil || !strings.Contains(err.Error(), "no database here") {
		t.Fatalf("got %v, want the exit with the log's end", err)
	}
	if took := time.Since(start); took > 50*time.Second {
		t.Errorf("took %v to see an exit", took)
	}
	if p, err := benchnode.FindBinary(context.Background(), bin, dir); err != nil || p != bin {
		t.Errorf("FindBinary with a path: %q, %v", p, err)
	}
}
