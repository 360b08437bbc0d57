package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred/secret"

	"github.com/spf13/pflag"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningServe is `conncred serve` run in this process, as main runs it.
type runningServe struct {
	stderr *syncBuffer
	exited chan struct{} // closed when run returns, with code set
	code   int
	stop   context.CancelFunc
}

// startServe runs `conncred serve args...` and waits until its output
// contains want, or until it exits. The server is stopped when the test
// ends.
func startServe(t *testing.T, want string, args ...string) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningServe{stderr: &syncBuffer{}, exited: make(chan struct{}), stop: cancel}
	go func() {
		s.code = run(ctx, append([]string{"serve"}, args...), &bytes.Buffer{}, s.stderr)
		close(s.exited)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s of its context ending")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.stderr.String(), want) {
		select {
		case <-s.exited:
			return s
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not print %q within 30s:\n%s", want, s.stderr.String())
		}
	}
	return s
}

// TestServeListenPort0: with --listen 127.0.0.1:0 the port actually bound
// is the public host's, in the banner, the bootstrap admin's client id and
// the RFC 8414 issuer; and the banner's advice for trusting the dev CA
// works for curl (which ignores SSL_CERT_FILE) and for Go programs.
func TestServeListenPort0(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "Next steps", "--listen", "127.0.0.1:0", "--dev", "--data-dir", dir)
	out := s.stderr.String()
	var host string
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, "serving https://"); ok {
			host, _, _ = strings.Cut(rest, " ")
		}
	}
	if host == "" || strings.HasSuffix(host, ":0") {
		t.Fatalf("serving line: host %q, want 127.0.0.1:<bound port>\n%s", host, out)
	}
	if strings.Contains(out, "127.0.0.1:0") {
		t.Errorf("the start-up output names port 0:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "admin-credential.json"))
	if err != nil {
		t.Fatal(err)
	}
	var admin struct{ ClientID string }
	if err := json.Unmarshal(b, &admin); err != nil {
		t.Fatal(err)
	}
	if id, err := secret.ParseClientID(admin.ClientID); err != nil || id.Host != host {
		t.Errorf("bootstrap admin client id %q: host %q, want %q (%v)", admin.ClientID, id.Host, host, err)
	}
	ca := filepath.Join(dir, "ca.pem")
	for _, want := range []string{"curl --cacert " + ca + " https://" + host + "/", "CURL_CA_BUNDLE=" + ca, "SSL_CERT_FILE=" + ca, "--server https://" + host} {
		if !strings.Contains(out, want) {
			t.Errorf("the banner lacks %q:\n%s", want, out)
		}
	}
	resp, err := httpsClient(t, ca).Get("https://" + host + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct{ Issuer string }
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if got, want := meta.Issuer, "https://"+host; got != want {
		t.Errorf("issuer: got %q, want %q", got, want)
	}
}

// TestServePortTakenDoesNotBootstrap: a start that cannot bind fails
// before it mints and writes an admin credential.
func TestServePortTakenDoesNotBootstrap(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	s := startServe(t, "listening on", "--listen", taken.Addr().String(), "--dev", "--data-dir", dir)
	select {
	case <-s.exited:
		if s.code == 0 {
			t.Errorf("serve on a taken port exited 0")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve on a taken port did not exit")
	}
	if _, err := os.Stat(filepath.Join(dir, "admin-credential.json")); !os.IsNotExist(err) {
		t.Errorf("a failed start wrote admin-credential.json (stat: %v)\n%s", err, s.stderr.String())
	}
	if strings.Contains(s.stderr.String(), "created the first admin credential") {
		t.Errorf("a failed start bootstrapped:\n%s", s.stderr.String())
	}
}

// TestServeJSONLogs: with --log-format json every line serve writes is a
// JSON record, the banner's facts included, and requests are access-logged.
func TestServeJSONLogs(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, `"msg":"serving"`, "--listen", "127.0.0.1:0", "--dev", "--data-dir", dir, "--log-format", "json", "--public-host", "localhost:0")
	var url string
	for _, line := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a line in json format is not JSON: %q\n%s", line, s.stderr.String())
		}
		if m["msg"] == "serving" {
			url, _ = m["url"].(string)
		}
	}
	if url == "" {
		t.Fatalf("no serving record with a url:\n%s", s.stderr.String())
	}
	resp, err := httpsClient(t, filepath.Join(dir, "ca.pem")).Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.stop()
	<-s.exited
	out := s.stderr.String()
	for _, want := range []string{`"msg":"request"`, `"route":"GET /healthz"`, "has no dot", `"msg":"stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("json log lacks %s:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not JSON: %q", line)
		}
	}
}

// TestStartupWarnings: the public host defaults to the bound port, and a
// dotless public host or an admin credential minted for another host is
// reported with what to do.
func TestStartupWarnings(t *testing.T) {
	t.Run("default public host", func(t *testing.T) {
		tests := []struct {
			public, listen, bound, want string
			note                        bool
		}{
			{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:40123", "127.0.0.1:40123", false},
			{"127.0.0.1:8443", "127.0.0.1:8443", "127.0.0.1:8443", "127.0.0.1:8443", false},
			{"c1.example.lan", "127.0.0.1:0", "127.0.0.1:40123", "c1.example.lan", false},
			{":0", ":0", "[::]:40123", "127.0.0.1:40123", true},
			{"0.0.0.0:8443", "0.0.0.0:8443", "0.0.0.0:8443", "127.0.0.1:8443", true},
		}
		for _, tt := range tests {
			got, note := defaultPublicHost(tt.public, tt.listen, tt.bound)
			if got != tt.want || (note != "") != tt.note {
				t.Errorf("defaultPublicHost(%q, %q, %q) = %q, note %q; want %q, note %v", tt.public, tt.listen, tt.bound, got, note, tt.want, tt.note)
			}
		}
	})
	t.Run("dotless host", func(t *testing.T) {
		for host, warn := range map[string]bool{"localhost:8443": true, "c1:443": true, "127.0.0.1:8443": false, "[::1]:8443": false, "c1.example.lan:8443": false, "c1.example.lan": false} {
			got := dotlessHostWarning(host)
			if (got != "") != warn {
				t.Errorf("dotlessHostWarning(%q) = %q, want a warning: %v", host, got, warn)
			}
			if warn && !strings.Contains(got, "dotted name") {
				t.Errorf("dotlessHostWarning(%q) = %q does not name the fix", host, got)
			}
		}
	})
	t.Run("admin minted for another host", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "admin-credential.json")
		if got := adminHostWarning(f, "127.0.0.1:8443"); got != "" {
			t.Errorf("no admin file: %q, want no warning", got)
		}
		os.WriteFile(f, []byte(`{"clientId":"wise-coyote-1@127.0.0.1:8443/pcc","clientSecret":"x"}`), 0o600)
		if got := adminHostWarning(f, "127.0.0.1:8443"); got != "" {
			t.Errorf("same host: %q, want no warning", got)
		}
		got := adminHostWarning(f, "c1.example.lan:8443")
		for _, want := range []string{"127.0.0.1:8443", "c1.example.lan:8443", "--public-host 127.0.0.1:8443", "conncred admin create"} {
			if !strings.Contains(got, want) {
				t.Errorf("warning %q lacks %q", got, want)
			}
		}
	})
}

// httpsClient trusts only the CA in caFile.
func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// TestFederationLoopbackFlag: plain-http issuers on loopback are a test
// option that is off unless --federation-allow-loopback-http is given.
func TestFederationLoopbackFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--federation-allow-loopback-http"}, true}} {
		var cfg serveConfig
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		cfg.flags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := federationConfig(cfg).Keys.AllowInsecureLoopback; got != tc.want {
			t.Errorf("serve %v: AllowInsecureLoopback %v, want %v", tc.args, got, tc.want)
		}
	}
}
