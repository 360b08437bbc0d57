package connlimit

import (
	"context"
	"net"
	"net/http"
)

// Instrument makes srv report to l which of l's connections have a request
// in flight: it sets srv.ConnState and srv.ConnContext and wraps
// srv.Handler, keeping whatever was there. Call it before serving.
func (l *Listener) Instrument(srv *http.Server) {
	prevState, prevCtx := srv.ConnState, srv.ConnContext
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		l.ConnState(c, s)
		if prevState != nil {
			prevState(c, s)
		}
	}
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return l.ConnContext(ctx, c)
	}
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = l.Handler(h)
}

// ConnState is an http.Server.ConnState hook: a connection is busy from
// StateActive to StateIdle. HTTP/1.1 reports one request at a time; Go's
// HTTP/2 server reports StateActive when a first stream opens and StateIdle
// when the last one closes, but also a StateActive, StateIdle pair right
// after the preface, so StateActive does not prove a request: only Handler
// marks one.
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	c := l.lookup(nc)
	if c == nil {
		return
	}
	switch s {
	case http.StateActive:
		c.active.Store(true)
	case http.StateIdle:
		// No touch here: Handler marked the end of the request when it
		// returned. This callback runs after the response is flushed, so
		// the client may already have gone on to use another connection;
		// touching now could make this one look the more recently used
		// and reverse the eviction order.
		c.active.Store(false)
		c.idle()
	case http.StateHijacked:
		c.hijacked.Store(true)
	}
}

type ctxKey struct{}

// ConnContext is an http.Server.ConnContext hook: it lets Handler find the
// connection a request (of any protocol) came on.
func (l *Listener) ConnContext(ctx context.Context, nc net.Conn) context.Context {
	if c := l.lookup(nc); c != nil {
		return context.WithValue(ctx, ctxKey{}, c)
	}
	return ctx
}

// Handler counts h's requests in flight per connection; it needs
// ConnContext.
func (l *Listener) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(ctxKey{}).(*conn)
		if c == nil || c.l != l {
			h.ServeHTTP(w, r)
			return
		}
		c.sawRequest.Store(true)
		c.inflight.Add(1)
		defer func() {
			c.touch() // before it can look idle, so its age starts now
			c.inflight.Add(-1)
			c.idle()
		}()
		h.ServeHTTP(w, r)
	})
}

// lookup finds l's conn under nc, which the server may have wrapped (a
// *tls.Conn, for one).
func (l *Listener) lookup(nc net.Conn) *conn {
	for range 8 { // bounded: a wrapper chain that loops must not hang us
		if c, ok := nc.(*conn); ok {
			if c.l == l {
				return c
			}
			return nil
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		nc = u.NetConn()
	}
	return nil
}
