package connlimit

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/conncred/conncred/clock"
)

// These tests admit in-memory connections (net.Pipe) from chosen addresses
// straight through admit, so each step is synchronous and ages come from a
// fake clock. Real sockets are in property_test.go.

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// pipeConn is the server end of a net.Pipe that claims a TCP peer address.
type pipeConn struct {
	net.Conn
	remote net.Addr
}

func (c pipeConn) RemoteAddr() net.Addr { return c.remote }

// idleListener never accepts: the tests call admit themselves.
type idleListener struct{ done chan struct{} }

func (l idleListener) Accept() (net.Conn, error) { <-l.done; return nil, net.ErrClosed }
func (l idleListener) Close() error              { return nil }
func (l idleListener) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

type env struct {
	tb    testing.TB
	l     *Listener
	clock *clock.Fake
}

func newEnv(tb testing.TB, cfg Config) *env {
	tb.Helper()
	fc := clock.NewFake(t0)
	cfg.Clock = fc
	l := New(idleListener{done: make(chan struct{})}, cfg)
	tb.Cleanup(func() { l.Close() })
	return &env{tb: tb, l: l, clock: fc}
}

// peer is one test connection: the client end and what admit returned.
type peer struct {
	name   string
	client net.Conn
	server *conn // nil: refused
}

// open admits a connection from ip (port chosen by the caller's count).
func (e *env) open(name, ip string) *peer {
	e.tb.Helper()
	client, server := net.Pipe()
	e.tb.Cleanup(func() { client.Close() })
	nc := pipeConn{Conn: server, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	c, err := e.l.admit(nc)
	if err != nil {
		e.tb.Fatalf("admitting %s from %s: %v", name, ip, err)
	}
	return &peer{name: name, client: client, server: c}
}

// closed reports whether the server closed p's connection.
func (p *peer) closed() bool {
	p.client.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := p.client.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

// send makes the server read a byte from p, as a request's bytes would.
func (p *peer) send(tb testing.TB) {
	tb.Helper()
	go p.client.Write([]byte{'x'})
	if _, err := p.server.Read(make([]byte, 1)); err != nil {
		tb.Fatalf("%s: reading: %v", p.name, err)
	}
}

func TestPerIPRefusal(t *testing.T) {
	tests := []struct {
		name    string
		ips     []string // opened in order
		refused []bool
	}{
		{"third from one IPv4 address", []string{"10.0.0.1", "10.0.0.1", "10.0.0.1"}, []bool{false, false, true}},
		{"other addresses unaffected", []string{"10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"}, []bool{false, false, false, false}},
		{"the port does not matter, mapped IPv4 is IPv4", []string{"10.0.0.1", "::ffff:10.0.0.1", "10.0.0.1"}, []bool{false, false, true}},
		{"IPv6 counts by /64", []string{"2001:db8::1", "2001:db8::2:3", "2001:db8:0:0:ffff::9"}, []bool{false, false, true}},
		{"other IPv6 /64 unaffected", []string{"2001:db8::1", "2001:db8::2", "2001:db8:0:1::1"}, []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{MaxConns: 10, MaxPerIP: 2})
			for i, ip := range tt.ips {
				p := e.open(fmt.Sprint("conn ", i), ip)
				if got, want := p.server == nil, tt.refused[i]; got != want {
					t.Fatalf("connection %d from %s: refused %v, want %v", i, ip, got, want)
				}
				if p.server == nil && !p.closed() {
					t.Fatalf("connection %d from %s was refused but not closed at once", i, ip)
				}
			}
		})
	}

	t.Run("a closed connection frees its address's slot", func(t *testing.T) {
		e := newEnv(t, Config{MaxConns: 10, MaxPerIP: 1})
		a := e.open("a", "10.0.0.1")
		if p := e.open("b", "10.0.0.1"); p.server != nil {
			t.Fatal("second connection from 10.0.0.1 admitted past MaxPerIP 1")
		}
		a.server.Close()
		if p := e.open("c", "10.0.0.1"); p.server == nil {
			t.Fatal("a connection from 10.0.0.1 was refused after its other one closed")
		}
		if got, want := e.l.Stats().RefusedPerIP, uint64(1); got != want {
			t.Errorf("RefusedPerIP: got %d, want %d", got, want)
		}
	})
}

// TestEvictionOrder: at the limit, the connection idle longest goes first,
// where reading a byte or ending a request makes a connection young again.
func TestEvictionOrder(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 4, EvictAbove: 4})
	var ps []*peer
	for i := range 4 {
		ps = append(ps, e.open(fmt.Sprint("p", i), fmt.Sprintf("10.0.0.%d", i+1)))
		e.clock.Advance(time.Second)
	}
	// Ages now: p0 4s, p1 3s, p2 2s, p3 1s. p0 reads a byte, then p1 reads
	// a request and goes through a whole HTTP/1.1 request cycle (StateActive,
	// StateIdle): the order is p2 p3 p0 p1. StateIdle itself does not make a
	// connection young (it comes after the response is flushed, possibly
	// after the client went on elsewhere); the request's bytes and its
	// handler's end do (TestHandlerEndMakesYoung).
	ps[0].send(t)
	e.clock.Advance(time.Second)
	ps[1].send(t)
	e.l.ConnState(ps[1].server, http.StateActive)
	e.l.ConnState(ps[1].server, http.StateIdle)
	e.clock.Advance(time.Second)

	gone := map[int]bool{}
	for i, want := range []int{2, 3, 0, 1} {
		// Each newcomer is younger than every p, so the ps go first.
		if n := e.open(fmt.Sprint("new", i), "10.0.1.1"); n.server == nil {
			t.Fatalf("newcomer %d refused", i)
		}
		gone[want] = true
		for j, p := range ps {
			if got := p.closed(); got != gone[j] {
				t.Fatalf("after newcomer %d: %s closed %v, want %v (expected order p2 p3 p0 p1)", i, p.name, got, gone[j])
			}
		}
		if got, want := e.l.Stats().Open, 4; got != want {
			t.Fatalf("after newcomer %d: %d open, want %d", i, got, want)
		}
	}
	if got, want := e.l.Stats().Evicted, uint64(4); got != want {
		t.Errorf("Evicted: got %d, want %d", got, want)
	}
}

// TestEvictAbove: between EvictAbove and MaxConns a newcomer evicts only a
// connection idle at least MinIdle, so spare room does not churn young
// keep-alive connections; at MaxConns any idle one goes.
func TestEvictAbove(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 4, EvictAbove: 2, MinIdle: 5 * time.Second})
	a := e.open("a", "10.0.0.1")
	e.clock.Advance(time.Second)
	b := e.open("b", "10.0.0.2")
	e.clock.Advance(time.Second)
	c := e.open("c", "10.0.0.3") // 2 open, a idle 2s < MinIdle: kept
	if a.closed() || b.closed() {
		t.Fatal("a connection idle less than MinIdle was evicted below MaxConns")
	}
	e.clock.Advance(4 * time.Second)
	e.open("d", "10.0.0.4") // a idle 6s >= MinIdle: evicted
	if !a.closed() || b.closed() || c.closed() {
		t.Fatalf("above EvictAbove: closed a=%v b=%v c=%v, want only a", a.closed(), b.closed(), c.closed())
	}
	e.open("e", "10.0.0.5") // b idle 5s: evicted; now 3 open... (c, d, e)
	e.open("f", "10.0.0.6") // c idle 4s < MinIdle, but 3 open < 4: kept
	if !b.closed() || c.closed() {
		t.Fatalf("closed b=%v c=%v, want b only", b.closed(), c.closed())
	}
	e.open("g", "10.0.0.7") // 4 open = MaxConns: the oldest idle, c, goes whatever its age
	if !c.closed() {
		t.Fatal("at MaxConns the longest-idle connection was not evicted")
	}
	if got, want := e.l.Stats().Open, 4; got != want {
		t.Errorf("open: got %d, want %d", got, want)
	}
}

// TestBusyNotEvicted: a connection with a request in flight, by ConnState
// (HTTP/1.1) or by Handler (any protocol, HTTP/2 included), is passed over
// for idle ones however young; when all are busy a newcomer waits, and
// gets in as soon as one goes idle.
func TestBusyNotEvicted(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 3, EvictAbove: 3})
	h1 := e.open("http1 busy", "10.0.0.1")
	e.l.ConnState(h1.server, http.StateActive)
	h2 := e.open("h2 busy", "10.0.0.2")
	release := make(chan struct{})
	inHandler := make(chan struct{})
	handler := e.l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
	}))
	go func() {
		r, _ := http.NewRequestWithContext(e.l.ConnContext(t.Context(), h2.server), "GET", "/", nil)
		handler.ServeHTTP(nil, r)
	}()
	<-inHandler
	e.clock.Advance(time.Hour)
	idle := e.open("idle", "10.0.0.3")

	n1 := e.open("newcomer 1", "10.0.1.1")
	if h1.closed() || h2.closed() || !idle.closed() {
		t.Fatalf("closed: http1 busy %v, h2 busy %v, idle %v; want only idle", h1.closed(), h2.closed(), idle.closed())
	}
	e.l.ConnState(n1.server, http.StateActive) // now every connection is busy
	admitted := make(chan *peer, 1)
	go func() { admitted <- e.open("newcomer 2", "10.0.1.2") }()
	select {
	case p := <-admitted:
		t.Fatalf("%s admitted while every connection had a request in flight", p.name)
	case <-time.After(50 * time.Millisecond): // a bounded look for a wrong admission
	}
	close(release) // the HTTP/2 request ends: its connection is idle
	select {
	case p := <-admitted:
		if p.server == nil || !h2.closed() || h1.closed() {
			t.Fatalf("after the HTTP/2 request ended: newcomer admitted %v, h2 closed %v, http1 closed %v", p.server != nil, h2.closed(), h1.closed())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a newcomer still waits after a connection went idle")
	}
}

// TestFirstRequestTimeout: a connection that has not begun a request
// FirstRequestTimeout after it was accepted is closed; bytes alone (an
// HTTP/2 preface, SETTINGS, PINGs) do not count.
func TestFirstRequestTimeout(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 10, FirstRequestTimeout: 10 * time.Second})
	silent := e.open("silent", "10.0.0.1")
	chatty := e.open("bytes but no request", "10.0.0.2")
	http1 := e.open("HTTP/1.1 request", "10.0.0.3")
	h2 := e.open("HTTP/2 request", "10.0.0.4")
	preface := e.open("HTTP/2 preface only", "10.0.0.5")
	e.clock.Advance(9 * time.Second)
	chatty.send(t)
	// What net/http reports: for HTTP/1.1 a request's ConnState and its
	// handler call; for HTTP/2 a ConnState pair as the preface arrives,
	// and later its requests.
	handle := func(p *peer) {
		r, _ := http.NewRequestWithContext(e.l.ConnContext(t.Context(), p.server), "GET", "/", nil)
		e.l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(nil, r)
	}
	e.l.ConnState(http1.server, http.StateActive)
	handle(http1)
	e.l.ConnState(http1.server, http.StateIdle)
	for _, p := range []*peer{h2, preface} {
		p.send(t)
		e.l.ConnState(p.server, http.StateActive)
		e.l.ConnState(p.server, http.StateIdle)
	}
	e.l.ConnState(h2.server, http.StateActive)
	handle(h2)
	e.l.ConnState(h2.server, http.StateIdle)
	e.l.sweep()
	for _, p := range []*peer{silent, chatty, http1, h2, preface} {
		if p.closed() {
			t.Fatalf("%s closed before the timeout", p.name)
		}
	}
	e.clock.Advance(time.Second)
	e.l.sweep()
	for p, want := range map[*peer]bool{silent: true, chatty: true, http1: false, h2: false, preface: true} {
		if got := p.closed(); got != want {
			t.Errorf("%s: closed %v, want %v", p.name, got, want)
		}
	}
	if got, want := e.l.Stats().TimedOut, uint64(3); got != want {
		t.Errorf("TimedOut: got %d, want %d", got, want)
	}
}

// TestNoLeak: every way a connection ends (closed by the server, evicted,
// refused, timed out, closed twice) gives its slots back.
func TestNoLeak(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 8, MaxPerIP: 3, FirstRequestTimeout: time.Second})
	var open []*peer
	for i := range 5000 {
		ip := "10.0.0.1" // half of the connections: this one hits MaxPerIP
		if i%2 == 1 {
			ip = fmt.Sprintf("10.0.1.%d", i%5)
		}
		if p := e.open(fmt.Sprint(i), ip); p.server != nil {
			open = append(open, p)
		}
		e.clock.Advance(10 * time.Millisecond)
		switch {
		case i%3 == 0 && len(open) > 0:
			open[0].server.Close()
			open[0].server.Close() // a second Close must not give back twice
			open = open[1:]
		case i%50 == 0:
			e.clock.Advance(2 * time.Second)
			e.l.sweep()
		}
	}
	for _, p := range open {
		p.server.Close()
	}
	s := e.l.Stats()
	e.l.mu.Lock()
	perIP := len(e.l.perIP)
	e.l.mu.Unlock()
	if s.Open != 0 || perIP != 0 {
		t.Fatalf("after every connection closed: %d open, %d addresses counted; want 0, 0 (stats %+v)", s.Open, perIP, s)
	}
	if s.Evicted == 0 || s.RefusedPerIP == 0 || s.TimedOut == 0 {
		t.Errorf("not every path was taken: %+v", s)
	}
	t.Logf("stats after 5000 connections: %+v", s)
}

// TestAcceptAfterClose: Close wakes an Accept waiting for room.
func TestAcceptAfterClose(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 1})
	busy := e.open("busy", "10.0.0.1")
	e.l.ConnState(busy.server, http.StateActive)
	errc := make(chan error, 1)
	go func() {
		client, server := net.Pipe()
		defer client.Close()
		_, err := e.l.admit(pipeConn{Conn: server, remote: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2)}})
		errc <- err
	}()
	e.l.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("waiting admit after Close: got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an Accept waiting for room did not return after Close")
	}
}

// BenchmarkAdmitAtLimit measures admitting a connection to a full listener
// of 1024, where each admission scans for and evicts the longest-idle one
// (the scan is linear: no lock is taken on the read path to keep an order).
func BenchmarkAdmitAtLimit(b *testing.B) {
	const n = 1024
	fc := clock.NewFake(t0)
	l := New(idleListener{done: make(chan struct{})}, Config{MaxConns: n, EvictAbove: n, Clock: fc})
	defer l.Close()
	addr := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}
	admit := func() {
		client, server := net.Pipe()
		client.Close()
		fc.Advance(time.Millisecond)
		if _, err := l.admit(pipeConn{Conn: server, remote: addr}); err != nil {
			b.Fatal(err)
		}
	}
	for range n {
		admit()
	}
	b.ResetTimer()
	for b.Loop() {
		admit()
	}
	if s := l.Stats(); s.Open != n {
		b.Fatalf("open: got %d, want %d", s.Open, n)
	}
}

// TestHandlerEndMakesYoung: a request's end, as its handler returns, makes
// a connection young; the StateIdle that net/http reports later (after the
// response is flushed, when the client may already be using another
// connection) does not, or a late callback would reverse the eviction
// order (seen as a flaky TestMaxConns under load).
func TestHandlerEndMakesYoung(t *testing.T) {
	e := newEnv(t, Config{MaxConns: 2, EvictAbove: 2})
	first := e.open("first", "10.0.0.1")
	second := e.open("second", "10.0.0.2")
	handle := func(p *peer) {
		r, _ := http.NewRequestWithContext(e.l.ConnContext(t.Context(), p.server), "GET", "/", nil)
		e.l.ConnState(p.server, http.StateActive)
		e.l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(nil, r)
	}
	e.clock.Advance(time.Second)
	handle(first) // first's request ends at 1s
	e.clock.Advance(time.Second)
	handle(second) // second's at 2s
	e.l.ConnState(second.server, http.StateIdle)
	e.clock.Advance(time.Second)
	e.l.ConnState(first.server, http.StateIdle) // first's callback comes late, at 3s
	e.clock.Advance(time.Second)
	if n := e.open("newcomer", "10.0.1.1"); n.server == nil {
		t.Fatal("newcomer refused")
	}
	if !first.closed() || second.closed() {
		t.Fatalf("first closed %v, second closed %v: want the connection whose request ended first to go", first.closed(), second.closed())
	}
}
