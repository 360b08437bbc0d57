package postgres

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// These tests never stop the machine's PostgreSQL: they put a TCP proxy in
// front of it and make the proxy fail the ways a database does.

type proxyMode int

const (
	proxyUp     proxyMode = iota
	proxyDown             // connections reset, new ones closed at once
	proxyFrozen           // connections stay open and go silent
)

type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]bool
}

// newProxy forwards a local port to target until the test ends.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.set(proxyDown) })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode == proxyDown {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = true
		p.mu.Unlock()
		if mode == proxyFrozen {
			go p.discard(c) // accepted, never answered
			continue
		}
		go p.forward(c)
	}
}

func (p *proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	p.conns[s] = true
	p.mu.Unlock()
	go p.pipe(s, c)
	p.pipe(c, s)
}

// pipe copies src to dst until either closes, dropping what it reads while
// the proxy is frozen.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.drop(src)
	defer p.drop(dst)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		frozen := p.mode == proxyFrozen
		p.mu.Unlock()
		if frozen {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *proxy) discard(c net.Conn) {
	defer p.drop(c)
	_, _ = io.Copy(io.Discard, c)
}

func (p *proxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// set changes the mode. Leaving proxyUp for proxyDown resets every open
// connection; freezing keeps them open and silent; coming back up resets
// the frozen ones, as a database restart would.
func (p *proxy) set(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	if m == proxyFrozen {
		return
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// proxiedURL returns a URL for a fresh schema reached through a new proxy.
func proxiedURL(t *testing.T) (string, *proxy) {
	t.Helper()
	u, err := url.Parse(schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	return u.String(), p
}

// unavailableWithin asserts that op fails with EUnavailable and returns
// within bound; the bound is far above the store's timeouts, so it only
// tells a fast failure from a hang.
func unavailableWithin(t *testing.T, what string, bound time.Duration, op func() error) {
	t.Helper()
	start := time.Now()
	err := op()
	took := time.Since(start)
	wantCode(t, err, conncred.EUnavailable)
	if msg := conncred.ErrorMessage(err); msg != "database unavailable" {
		t.Errorf("%s: message %q, want %q", what, msg, "database unavailable")
	}
	if took > bound {
		t.Fatalf("%s failed after %v, want a fast failure (within %v)", what, took, bound)
	}
	t.Logf("%s: EUnavailable after %v", what, took.Round(time.Millisecond))
}

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	baseURL(t)
	unavailableWithin(t, "Open of a closed port", 10*time.Second, func() error {
		_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable")
		return err
	})
}

func TestOutageFailsFastAndRecovers(t *testing.T) {
	u, p := proxiedURL(t)
	s := open(t, u)
	// quick has a short opTimeout so that a call cut off mid-statement
	// does not cost the test the full 10 s.
	quick := open(t, u)
	quick.opTimeout = 2 * time.Second
	cr := adminCredential()
	must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	_, err := quick.GetCredential(ctx, cr.ID)
	must(t, err)

	// The server goes silent under an open connection: no reset, no answer.
	p.set(proxyFrozen)
	unavailableWithin(t, "a call on a connection gone silent", 10*time.Second, func() error {
		_, err := quick.GetCredential(ctx, cr.ID)
		return err
	})

	p.set(proxyDown)
	unavailableWithin(t, "a read with the database down", 10*time.Second, func() error {
		_, err := s.GetCredentialByClientID(ctx, cr.ClientID)
		return err
	})
	unavailableWithin(t, "the replay insert with the database down", 10*time.Second, func() error {
		return s.UseAssertion(ctx, "jti", now)
	})
	unavailableWithin(t, "Ping with the database down", 10*time.Second, func() error { return s.Ping(ctx) })

	// New connections are accepted and never answered: only the connect
	// and acquire timeouts end the wait.
	p.set(proxyFrozen)
	unavailableWithin(t, "a read with the database silent", 10*time.Second, func() error {
		_, err := s.GetCredentialByClientID(ctx, cr.ClientID)
		return err
	})

	p.set(proxyUp)
	for _, st := range []*Store{s, quick} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := st.GetCredentialByClientID(ctx, cr.ClientID)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the store did not recover within 30s of the database returning: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	must(t, s.UseAssertion(ctx, "jti-after", now))
}

// TestWatcherSurvivesConnectionLoss cuts the listening connection twice,
// once with a reset and once silently, and checks that the watcher tells
// the caller to drop its caches each time and then hears revocations again.
func TestWatcherSurvivesConnectionLoss(t *testing.T) {
	u, p := proxiedURL(t)
	// The watcher goes through the proxy; revokes go straight to the
	// database, as another node's would.
	b := open(t, u)
	b.watchIdle = 200 * time.Millisecond
	var evMu sync.Mutex
	var events []bool // what WithWatchObserver's callback was told
	b.onWatch = func(listening bool) {
		evMu.Lock()
		defer evMu.Unlock()
		events = append(events, listening)
	}
	a := open(t, withProxyRemoved(t, u, p))
	got := watch(t, b)

	revokeUntilHeard := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			cr := adminCredential()
			must(t, a.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
			_, err := a.RevokeCredential(ctx, cr.ID, now)
			must(t, err)
			wait := time.After(500 * time.Millisecond)
		drain:
			for {
				select {
				case id := <-got:
					if id == cr.ID {
						return
					}
				case <-wait:
					break drain
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no revocation heard within 30s", what)
			}
		}
	}
	revokeUntilHeard("before any loss")

	for _, loss := range []struct {
		name string
		mode proxyMode
	}{{"reset", proxyDown}, {"silent", proxyFrozen}} {
		p.set(loss.mode)
		waitFor(t, got, "") // caches must go
		p.set(proxyUp)
		revokeUntilHeard("after a " + loss.name + " connection loss")
	}

	// The observer saw listening start, and for each loss the connection
	// go (once, or more if attempts failed while it was down) and come back.
	evMu.Lock()
	defer evMu.Unlock()
	ups, downs := 0, 0
	for i, ev := range events {
		if ev {
			ups++
			if i > 0 && events[i-1] {
				t.Errorf("observer events %v: listening twice without a loss between", events)
			}
		} else {
			downs++
		}
	}
	if len(events) == 0 || !events[0] || ups < 3 || downs < 2 {
		t.Errorf("observer events %v: want listening first, then 2 losses each followed by listening again", events)
	}
}

// withProxyRemoved returns u pointed at the proxy's target.
func withProxyRemoved(t *testing.T, u string, p *proxy) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	pu.Host = p.target
	return pu.String()
}
