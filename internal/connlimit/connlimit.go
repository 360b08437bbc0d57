// Package connlimit bounds the connections a server holds so that idle
// ones cannot take every slot.
//
// A plain cap (netutil.LimitListener) lets whoever opens connections first
// keep them: a probe that held ~1,200 silent HTTP/2 connections (TLS,
// preface and SETTINGS, then nothing) or ~1,100 idle HTTP/1.1 keep-alive
// connections from one address made new clients wait up to 24 s behind
// --max-conns 1024, and none of the idle ones were closed. A Listener
// therefore adds three rules to the cap:
//
//   - Per source: at most MaxPerIP connections from one IP address (an
//     IPv6 address counts by its /64, the block one host usually has);
//     more are closed as soon as they are accepted.
//   - First request: a connection must bring a request within
//     FirstRequestTimeout of being accepted, or it is closed. net/http
//     already bounds the TLS handshake and, for HTTP/1.1, the first
//     request's headers (ReadHeaderTimeout), but an HTTP/2 connection
//     that sent its preface and SETTINGS may then stay silent until
//     IdleTimeout, and Go's own preface timeout (10 s) is not
//     configurable (http.HTTP2Config has no field for it).
//   - Idle eviction: once more than EvictAbove connections are open, each
//     new one closes the connection that has been idle longest (for at
//     least MinIdle); at MaxConns it closes the longest-idle one whatever
//     its age, rather than letting the newcomer wait. "Idle" means no
//     request in flight; its age is the time since the last byte was read
//     or the last request ended. A connection with a request in flight is
//     never closed: when every connection is busy, a new one waits, as it
//     did behind LimitListener.
//
// Requests in flight are known from http.Server.ConnState and from a
// handler wrapper that counts requests per connection (which also tells
// that a connection has brought a request: for HTTP/2 ConnState says
// StateActive as soon as the preface arrives); Instrument installs both.
// Ages come from an injected clock.Clock, so the order of eviction is
// tested exactly.
package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/hostport"
)

// Config sets a Listener's limits.
type Config struct {
	// MaxConns is the most connections open at once (at least 1).
	MaxConns int
	// MaxPerIP is the most connections open at once from one source
	// address (0: no limit).
	MaxPerIP int
	// EvictAbove is the number of open connections above which each new
	// connection closes one idle for at least MinIdle (0: 90% of MaxConns).
	EvictAbove int
	// MinIdle is how long a connection must have been idle to be evicted
	// below MaxConns (default 1 s), so that room to spare does not churn
	// the keep-alive connections of busy clients.
	MinIdle time.Duration
	// FirstRequestTimeout closes a connection that has not begun a request
	// this long after it was accepted (0: no timeout). It is checked every
	// FirstRequestTimeout/10 (at most every second), so a connection may
	// outlive it by that much.
	FirstRequestTimeout time.Duration
	// Clock tells the time (default: the system clock).
	Clock clock.Clock
}

// Stats counts what a Listener has done.
type Stats struct {
	Open         int    // connections open now
	Accepted     uint64 // connections handed to the server
	RefusedPerIP uint64 // closed at once: their address had MaxPerIP open
	Evicted      uint64 // closed idle to make room
	TimedOut     uint64 // closed for bringing no request within FirstRequestTimeout
}

// Listener is a net.Listener that applies a Config. Its connections must be
// served by an http.Server that Instrument has been applied to, or
// requests in flight cannot be told from idle connections.
type Listener struct {
	inner net.Listener
	cfg   Config

	mu     sync.Mutex
	cond   *sync.Cond // signalled when a connection closes or the listener does
	conns  map[*conn]struct{}
	perIP  map[netip.Addr]int
	stats  Stats
	closed bool

	// waiting counts Accepts waiting for a connection to go idle or close;
	// idle() wakes them only when there are some.
	waiting atomic.Int32

	done      chan struct{} // closed by Close: stops the sweeper
	closeOnce sync.Once
}

// New wraps inner. It panics if cfg.MaxConns < 1, a programming error.
func New(inner net.Listener, cfg Config) *Listener {
	if cfg.MaxConns < 1 {
		panic("connlimit: MaxConns must be at least 1")
	}
	if cfg.EvictAbove <= 0 || cfg.EvictAbove > cfg.MaxConns {
		cfg.EvictAbove = cfg.MaxConns * 9 / 10
	}
	if cfg.MinIdle <= 0 {
		cfg.MinIdle = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	l := &Listener{
		inner: inner,
		cfg:   cfg,
		conns: make(map[*conn]struct{}),
		perIP: make(map[netip.Addr]int),
		done:  make(chan struct{}),
	}
	l.cond = sync.NewCond(&l.mu)
	if cfg.FirstRequestTimeout > 0 {
		go l.sweepEvery(min(max(cfg.FirstRequestTimeout/10, 10*time.Millisecond), time.Second))
	}
	return l
}

// Accept waits for a connection that the limits admit.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.inner.Accept()
		if err != nil {
			return nil, err
		}
		c, err := l.admit(nc)
		if err != nil {
			return nil, err
		}
		if c != nil {
			return c, nil
		}
	}
}

// admit registers nc, making room for it if needed. It returns nil, nil if
// nc was refused (and closed), and an error if the listener closed while
// nc waited for room.
func (l *Listener) admit(nc net.Conn) (*conn, error) {
	key := sourceKey(nc.RemoteAddr())
	var victims []*conn
	defer func() {
		// Closing outside the lock: a close may block briefly, and
		// release takes the lock.
		for _, v := range victims {
			v.Conn.Close()
		}
	}()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxPerIP > 0 && l.perIP[key] >= l.cfg.MaxPerIP {
		l.stats.RefusedPerIP++
		nc.Close()
		return nil, nil
	}
	// Counted before waiting, so that the address's later connections are
	// refused rather than queued behind this one.
	l.perIP[key]++
	l.waiting.Add(1) // before looking for an idle connection: see conn.idle
	defer l.waiting.Add(-1)
	for len(l.conns) >= l.cfg.MaxConns {
		if v := l.oldestIdleLocked(0); v != nil {
			l.removeLocked(v)
			l.stats.Evicted++
			victims = append(victims, v)
			continue
		}
		if l.closed {
			l.dropIPLocked(key)
			nc.Close()
			return nil, net.ErrClosed
		}
		// Every connection has a request in flight: wait for one to
		// finish and close, as LimitListener did, rather than cut a
		// request off.
		l.cond.Wait()
	}
	now := l.cfg.Clock.Now().UnixNano()
	c := &conn{Conn: nc, l: l, key: key, accepted: now}
	c.lastActive.Store(now)
	if len(l.conns) >= l.cfg.EvictAbove {
		if v := l.oldestIdleLocked(l.cfg.MinIdle); v != nil {
			l.removeLocked(v)
			l.stats.Evicted++
			victims = append(victims, v)
		}
	}
	l.conns[c] = struct{}{}
	l.stats.Accepted++
	return c, nil
}

// oldestIdleLocked returns the open connection with no request in flight
// that has been idle longest, if it has been idle at least minIdle.
func (l *Listener) oldestIdleLocked(minIdle time.Duration) *conn {
	var oldest *conn
	var oldestAt int64
	for c := range l.conns {
		if c.busy() {
			continue
		}
		if at := c.lastActive.Load(); oldest == nil || at < oldestAt {
			oldest, oldestAt = c, at
		}
	}
	if oldest == nil || l.cfg.Clock.Now().UnixNano()-oldestAt < int64(minIdle) {
		return nil
	}
	return oldest
}

// removeLocked stops counting c; it returns false if c was not counted.
func (l *Listener) removeLocked(c *conn) bool {
	if _, ok := l.conns[c]; !ok {
		return false
	}
	delete(l.conns, c)
	l.dropIPLocked(c.key)
	l.cond.Signal()
	return true
}

func (l *Listener) dropIPLocked(key netip.Addr) {
	if n := l.perIP[key] - 1; n > 0 {
		l.perIP[key] = n
	} else {
		delete(l.perIP, key)
	}
}

// release returns c's slot when c closes.
func (l *Listener) release(c *conn) {
	l.mu.Lock()
	l.removeLocked(c)
	l.mu.Unlock()
}

// sweep closes the connections that have brought no request within
// FirstRequestTimeout.
func (l *Listener) sweep() {
	deadline := l.cfg.Clock.Now().Add(-l.cfg.FirstRequestTimeout).UnixNano()
	var late []*conn
	l.mu.Lock()
	for c := range l.conns {
		if !c.sawRequest.Load() && !c.busy() && c.accepted <= deadline {
			l.removeLocked(c)
			l.stats.TimedOut++
			late = append(late, c)
		}
	}
	l.mu.Unlock()
	for _, c := range late {
		c.Conn.Close()
	}
}

func (l *Listener) sweepEvery(d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.sweep()
		}
	}
}

// Close closes the inner listener; an Accept waiting for room returns.
// Connections already accepted stay open (http.Server closes them).
func (l *Listener) Close() error {
	err := l.inner.Close()
	l.closeOnce.Do(func() {
		close(l.done)
		l.mu.Lock()
		l.closed = true
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	return err
}

// Addr returns the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Stats returns the counts so far.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Open = len(l.conns)
	return s
}

// sourceKey is the address a connection is counted under: its
// hostport.SourceBlock (its IP, or for IPv6 its /64, since one host
// usually has a whole /64 to pick from).
func sourceKey(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{} // not IP: all such connections share one key
		}
		ip = ap.Addr()
	}
	return hostport.SourceBlock(ip).Addr()
}

// conn is an accepted connection whose reads and requests are tracked.
type conn struct {
	net.Conn
	l        *Listener
	key      netip.Addr
	accepted int64 // clock time, UnixNano

	lastActive atomic.Int64 // last byte read or request ended, UnixNano
	active     atomic.Bool  // HTTP/1.1: a request is being served (ConnState)
	inflight   atomic.Int32 // requests in the handler (any protocol)
	hijacked   atomic.Bool  // taken over by a handler: never evicted
	sawRequest atomic.Bool  // a request has begun
	closeOnce  sync.Once
	closeErr   error
}

// busy reports whether c has a request in flight.
func (c *conn) busy() bool {
	return c.active.Load() || c.inflight.Load() > 0 || c.hijacked.Load()
}

// idle tells a waiting Accept that c may have become evictable. The
// waiter counts itself before it looks for an idle connection, and c's
// state changed before this load, so one of the two sees the other.
func (c *conn) idle() {
	if c.l.waiting.Load() > 0 {
		c.l.mu.Lock()
		c.l.cond.Broadcast()
		c.l.mu.Unlock()
	}
}

func (c *conn) touch() { c.lastActive.Store(c.l.cfg.Clock.Now().UnixNano()) }

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

// Close closes the connection and returns its slot, once.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.Conn.Close()
		c.l.release(c)
	})
	if errors.Is(c.closeErr, net.ErrClosed) {
		// Evicted or timed out: the listener closed the socket first.
		return nil
	}
	return c.closeErr
}
