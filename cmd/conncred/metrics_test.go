package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestMetricsListenValidate: the metrics endpoint has no authentication, so
// a non-loopback address needs --metrics-allow-remote.
func TestMetricsListenValidate(t *testing.T) {
	base := serveConfig{Listen: "127.0.0.1:0", Dev: true, LogFormat: "text", MaxConns: 1, MaxBodyBytes: 1 << 20, MaxHeaderBytes: 1 << 16}
	tests := []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"", false, true},
		{"127.0.0.1:9464", false, true},
		{"[::1]:9464", false, true},
		{"0.0.0.0:9464", false, false},
		{":9464", false, false},
		{"localhost:9464", false, false},
		{"10.1.2.3:9464", false, false},
		{"0.0.0.0:9464", true, true},
		{":9464", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			cfg := base
			cfg.MetricsListen, cfg.MetricsAllowRemote = tc.addr, tc.remote
			err := cfg.Validate()
			if got := err == nil; got != tc.ok {
				t.Errorf("--metrics-listen %q --metrics-allow-remote=%v: got %v, want ok=%v", tc.addr, tc.remote, err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "--metrics-allow-remote") {
				t.Errorf("error %q does not say how to allow it", err)
			}
		})
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeMetrics runs `conncred serve --metrics-listen 127.0.0.1:0` in this
// process, sends one API request, and scrapes the metrics listener it
// prints: the wiring of the flag, the listener and the middleware.
func TestServeMetrics(t *testing.T) {
	var cfg serveConfig
	cfg.flags(pflag.NewFlagSet("serve", pflag.ContinueOnError))
	dir := t.TempDir()
	cfg.Listen, cfg.DataDir, cfg.Dev, cfg.MetricsListen = "127.0.0.1:0", dir, true, "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuf{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	// Wait (bounded) for both listeners to be announced.
	apiRE := regexp.MustCompile(`serving (https://[^\s]+)`)
	metRE := regexp.MustCompile(`metrics on (http://[^\s]+)`)
	var api, met string
	for deadline := time.Now().Add(20 * time.Second); api == "" || met == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("server did not announce its listeners:\n%s", stderr.String())
		}
		if m := apiRE.FindStringSubmatch(stderr.String()); m != nil {
			api = m[1]
		}
		if m := metRE.FindStringSubmatch(stderr.String()); m != nil {
			met = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}

	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(api + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	resp, err = http.Get(met)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`conncred_http_requests_total{code="200",route="GET /healthz"} 1`,
		`conncred_build_info{`,
		`conncred_token_exchanges_total{outcome="refused",reason="bad_signature"} 0`,
		`conncred_store_call_duration_seconds_count{method="ListSigningKeys"}`,
		`conncred_connections_accepted_total 1`,
		`conncred_token_exchanges_total{outcome="refused",reason="source_not_allowed"} 0`,
		`conncred_source_refusals_total{kind="connector",scope="credential"} 0`,
		`conncred_credentials_retired_total{trigger="self_rotate"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The API listener does not serve the metrics.
	resp, err = client.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the API: %d, want 404", resp.StatusCode)
	}
}
