package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred/internal/connlimit"
	"github.com/conncred/conncred/tlsutil"
)

// connsServer is the API's listener and http.Server as serve builds them
// (listen, httpServer, Instrument), with a handler that answers "ok" and
// holds /slow until release is closed.
type connsServer struct {
	ln      *connlimit.Listener
	addr    string
	release chan struct{}
	slow    atomic.Int32   // /slow requests being held
	ca      *x509.CertPool // nil: plain HTTP
}

func startConnsServer(tb testing.TB, cfg serveConfig, useTLS bool) *connsServer {
	tb.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = 64 << 10
	}
	ln, err := listen(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s := &connsServer{ln: ln, addr: ln.Addr().String(), release: make(chan struct{})}
	srv := httpServer(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			s.slow.Add(1)
			defer s.slow.Add(-1)
			select {
			case <-s.release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	}), slog.New(slog.DiscardHandler))
	ln.Instrument(srv)
	done := make(chan struct{})
	if useTLS {
		cert, caFile, err := tlsutil.DevCert(tb.TempDir(), "127.0.0.1", time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			tb.Fatal(err)
		}
		s.ca = x509.NewCertPool()
		s.ca.AppendCertsFromPEM(pem)
		srv.TLSConfig = tlsutil.ServerConfig(cert)
		go func() { srv.ServeTLS(ln, "", ""); close(done) }()
	} else {
		go func() { srv.Serve(ln); close(done) }()
	}
	tb.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// dialFrom opens a TCP connection to s from the loopback address ip (all of
// 127/8 routes to lo on Linux).
func (s *connsServer) dialFrom(ctx context.Context, ip string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return d.DialContext(ctx, "tcp", s.addr)
}

// get sends one HTTP/1.1 request on c and reads the response head.
func get(c net.Conn, path string) (string, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Status, nil
}

// closedByServer reports whether the server closed c within wait.
func closedByServer(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestMaxConns: with --max-conns 2, two idle keep-alive connections do not
// keep a third out (the longer idle is closed for it), while two with
// requests in flight do, until one of the requests ends.
func TestMaxConns(t *testing.T) {
	cfg := serveConfig{MaxConns: 2, MaxConnsPerIP: -1, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute}
	ctx := t.Context()

	t.Run("idle connections make room", func(t *testing.T) {
		s := startConnsServer(t, cfg, false)
		var open []net.Conn
		for i := range 2 {
			c, err := s.dialFrom(ctx, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got, err := get(c, "/"); err != nil || got != "200 OK" {
				t.Fatalf("connection %d: %q, %v", i+1, got, err)
			}
			open = append(open, c)
		}
		third, err := s.dialFrom(ctx, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		third.SetDeadline(time.Now().Add(5 * time.Second))
		if got, err := get(third, "/"); err != nil || got != "200 OK" {
			t.Fatalf("third connection past two idle ones: %q, %v", got, err)
		}
		if !closedByServer(open[0], 5*time.Second) {
			t.Error("the longest-idle connection was not closed for the third")
		}
		if closedByServer(open[1], 100*time.Millisecond) {
			t.Error("the younger idle connection was closed too")
		}
	})

	t.Run("requests in flight are not cut off", func(t *testing.T) {
		s := startConnsServer(t, cfg, false)
		results := make(chan string, 2)
		for range 2 {
			c, err := s.dialFrom(ctx, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() {
				got, err := get(c, "/slow")
				results <- fmt.Sprint(got, err)
			}()
		}
		// Both requests are in their handler, not merely connected: a
		// connection whose request has not arrived yet is idle.
		waitFor(t, func() bool { return s.ln.Stats().Open == 2 && s.slow.Load() == 2 })
		third, err := s.dialFrom(ctx, "127.0.0.1") // the kernel accepts it; the server waits
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		answered := make(chan string, 1)
		go func() {
			got, err := get(third, "/")
			answered <- fmt.Sprint(got, err)
		}()
		select {
		case got := <-answered:
			t.Fatalf("a third connection was served while two requests were in flight: %q", got)
		case <-time.After(300 * time.Millisecond): // a bounded look for a wrong answer
		}
		close(s.release)
		for range 2 {
			if got := <-results; got != "200 OK<nil>" {
				t.Errorf("request in flight: %q, want 200 OK", got)
			}
		}
		select {
		case got := <-answered:
			if got != "200 OK<nil>" {
				t.Fatalf("third connection after the requests ended: %q", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the third connection was not served after the requests ended")
		}
	})
}

// waitFor polls cond (bounded), for state that another goroutine reaches.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatal("condition not reached in 5 s")
}

// h2Greeting is what an HTTP/2 client sends first: the preface and an
// empty SETTINGS frame (length 0, type 4, flags 0, stream 0).
var h2Greeting = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")

// silentConn opens a TLS connection from ip that speaks proto and then goes
// quiet: HTTP/1.1 after one request (keep-alive), HTTP/2 after its preface
// and SETTINGS. If the server has not answered within 200 ms (it has not
// accepted the connection) the connection is returned all the same, as a
// prober would keep it: it takes a slot whenever the server accepts it. An
// error means the server refused or closed it.
func (s *connsServer) silentConn(ctx context.Context, ip, proto string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	raw, err := s.dialFrom(ctx, ip)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, &tls.Config{RootCAs: s.ca, ServerName: "127.0.0.1", NextProtos: []string{proto}})
	c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	err = c.HandshakeContext(ctx)
	if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
		raw.SetDeadline(time.Time{})
		return raw, nil // waiting to be accepted
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if err == nil && proto == "h2" {
		_, err = c.Write(h2Greeting)
	} else if err == nil {
		var got string
		if got, err = get(c, "/healthz"); err == nil && got != "200 OK" {
			err = fmt.Errorf("status %q", got)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// TestIdleConnectionsCannotKeepClientsOut is the property the outside probe
// broke: however many idle connections (HTTP/1.1 keep-alive after a
// request, HTTP/2 after preface and SETTINGS) other addresses open against
// the real server configuration with --max-conns 64, a new client from
// 127.0.0.3 completes a request within 1 s.
func TestIdleConnectionsCannotKeepClientsOut(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a few hundred TLS connections")
	}
	const maxConns = 64
	var attackers []string
	for i := range 16 {
		attackers = append(attackers, fmt.Sprintf("127.0.0.%d", 10+i))
	}
	tests := []struct {
		name      string
		perIP     int // --max-conns-per-ip
		attackers []string
		victim    string // protocol of the new client
	}{
		{"one address, default per-IP limit", 0, []string{"127.0.0.2"}, "h2"},
		{"one address, no per-IP limit (as behind a proxy)", -1, []string{"127.0.0.2"}, "h2"},
		{"one address, no per-IP limit, HTTP/1.1 client", -1, []string{"127.0.0.2"}, "http/1.1"},
		{"16 addresses at the per-IP limit", 0, attackers, "h2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := serveConfig{
				MaxConns: maxConns, MaxConnsPerIP: tt.perIP, FirstRequestTimeout: 10 * time.Second,
				ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
				WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			}
			s := startConnsServer(t, cfg, true)
			ctx := t.Context()

			// Every attacker address opens connections, alternating
			// HTTP/1.1 and HTTP/2, until it has tried 2×max-conns in all.
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			refused := 0
			for i := range 2 * maxConns {
				proto := []string{"http/1.1", "h2"}[i%2]
				c, err := s.silentConn(ctx, tt.attackers[i%len(tt.attackers)], proto)
				if err != nil {
					refused++
					continue
				}
				held = append(held, c)
			}
			before := s.ln.Stats()

			tr := &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return s.dialFrom(ctx, "127.0.0.3")
				},
				TLSClientConfig:   &tls.Config{RootCAs: s.ca, NextProtos: []string{tt.victim}},
				ForceAttemptHTTP2: tt.victim == "h2",
			}
			if tt.victim != "h2" {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			defer tr.CloseIdleConnections()
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(rctx, "GET", "https://127.0.0.1:"+strings.Split(s.addr, ":")[1]+"/healthz", nil)
			start := time.Now()
			resp, err := tr.RoundTrip(req)
			latency := time.Since(start)
			if err != nil {
				t.Fatalf("the new client from 127.0.0.3 was not served within 1 s (%v, %d open, %d attacker connections held): %v",
					latency, s.ln.Stats().Open, len(held), err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Proto != map[string]string{"h2": "HTTP/2.0", "http/1.1": "HTTP/1.1"}[tt.victim] {
				t.Fatalf("new client: %s over %s, want 200 over %s", resp.Status, resp.Proto, tt.victim)
			}
			t.Logf("new client served in %v over %s; attackers: %d connections accepted, %d refused or closed; listener %+v",
				latency.Round(10*time.Microsecond), resp.Proto, len(held), refused, before)
			if tt.perIP >= 0 && len(tt.attackers) == 1 && before.Open > 8 {
				t.Errorf("one address holds %d connections, want at most the default per-IP limit 8", before.Open)
			}
		})
	}
}

// TestSilentConnectionsClosed: a connection that sends nothing useful is
// closed. For HTTP/1.1 net/http's ReadHeaderTimeout already covers the
// first request (the deadline is set as the connection starts); for an
// HTTP/2 connection that sent its preface and SETTINGS only
// --first-request-timeout does, where net/http would keep it until
// IdleTimeout.
func TestSilentConnectionsClosed(t *testing.T) {
	base := serveConfig{MaxConns: 16, ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute}
	tests := []struct {
		name       string
		firstReq   time.Duration
		proto      string
		wantClosed bool
		within     time.Duration
	}{
		{"HTTP/1.1, no bytes after TLS, ReadHeaderTimeout only", 0, "http/1.1", true, 2 * time.Second},
		{"HTTP/2 preface and SETTINGS, then silence, no first-request timeout", 0, "h2", false, time.Second},
		{"HTTP/2 preface and SETTINGS, then silence", 300 * time.Millisecond, "h2", true, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.FirstRequestTimeout = tt.firstReq
			s := startConnsServer(t, cfg, true)
			raw, err := s.dialFrom(t.Context(), "127.0.0.2")
			if err != nil {
				t.Fatal(err)
			}
			c := tls.Client(raw, &tls.Config{RootCAs: s.ca, ServerName: "127.0.0.1", NextProtos: []string{tt.proto}})
			defer c.Close()
			if err := c.Handshake(); err != nil {
				t.Fatal(err)
			}
			if tt.proto == "h2" {
				if _, err := c.Write(h2Greeting); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			// Read until the server closes or `within` passes; HTTP/2
			// sends its SETTINGS (and ack) first.
			c.SetReadDeadline(start.Add(tt.within))
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			closed := !(errors.As(err, &ne) && ne.Timeout())
			if closed != tt.wantClosed {
				t.Fatalf("closed %v after %v (%v), want closed %v", closed, time.Since(start).Round(time.Millisecond), err, tt.wantClosed)
			}
			if closed {
				t.Logf("closed by the server after %v", time.Since(start).Round(time.Millisecond))
			}
		})
	}
}
