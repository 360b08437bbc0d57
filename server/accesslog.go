package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/clock"
)

// tokenSuccessInterval is how often a successful token exchange is logged:
// the first success of each interval gets a line that counts the ones
// since the last line, so a busy server writes one line a minute for its
// exchanges, not one per exchange. Failures are always logged.
const tokenSuccessInterval = time.Minute

// accessLog writes one structured record per request: method, route
// pattern (never the raw path, which carries ids and whatever a client
// sends), status, duration, bytes written, the authenticated client id,
// remote address and request id. It never sees a header value or a body,
// so it cannot log a token, an assertion or a secret.
type accessLog struct {
	log   *slog.Logger
	clock clock.Clock

	mu         sync.Mutex
	lastToken  time.Time // when a token success was last logged
	tokenCount int       // token successes since then, not logged
}

// accessEntry is what the handlers tell the access log about a request.
// Handlers run on the request's goroutine, so it needs no lock.
type accessEntry struct {
	clientID string
}

type accessKey struct{}

// noteClient records the authenticated client id of the request in ctx for
// the access log. It does nothing when the access log is off.
func noteClient(ctx context.Context, clientID string) {
	if e, ok := ctx.Value(accessKey{}).(*accessEntry); ok {
		e.clientID = clientID
	}
}

// NoteClient records clientID as the authenticated client of the request
// that ctx (or a context derived from it) belongs to, for the access log.
// Handlers mounted beside the API that authenticate their own way call it:
// the web console, for the admin credential its session acts as. It does
// nothing outside a request or when the access log is off.
func NoteClient(ctx context.Context, clientID string) { noteClient(ctx, clientID) }

// accessWriter counts the status and bytes of a response.
type accessWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *accessWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *accessWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *accessWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// startAccess wraps w and r for the access log and returns the function
// that writes the record once the request is served. With the access log
// off it returns w and r as they are.
func (s *Server) startAccess(w http.ResponseWriter, r *http.Request, requestID string) (http.ResponseWriter, *http.Request, func()) {
	if s.access == nil {
		return w, r, func() {}
	}
	start := s.access.clock.Now()
	e := &accessEntry{}
	r = r.WithContext(context.WithValue(r.Context(), accessKey{}, e))
	aw := &accessWriter{ResponseWriter: w}
	// r.Pattern is read when done runs: the mux sets it on this request
	// when it routes it.
	return aw, r, func() { s.access.write(r, aw, e, requestID, s.access.clock.Now().Sub(start)) }
}

func (l *accessLog) write(r *http.Request, w *accessWriter, e *accessEntry, requestID string, d time.Duration) {
	status := w.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	attrs := make([]slog.Attr, 0, 10)
	if r.Pattern == "POST "+apitype.PathToken && status == http.StatusOK {
		n, ok := l.sampleToken()
		if !ok {
			return
		}
		attrs = append(attrs, slog.Int("token_successes", n))
	}
	route := r.Pattern
	if route == "" {
		route = "(no route)"
	}
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.Int64("bytes", w.bytes),
		slog.String("client_id", e.clientID),
		slog.String("remote", conncred.SourceFrom(r.Context())),
		slog.String("request_id", requestID),
	)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	l.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// sampleToken counts a token success and reports whether to log it, with
// how many successes the line stands for (this one and the unlogged ones
// before it).
func (l *accessLog) sampleToken() (int, bool) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokenCount++
	if !l.lastToken.IsZero() && now.Sub(l.lastToken) < tokenSuccessInterval {
		return 0, false
	}
	n := l.tokenCount
	l.tokenCount, l.lastToken = 0, now
	return n, true
}
