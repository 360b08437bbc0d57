// Package server is conncred's HTTP layer: routes, JSON in and out, the map
// from error codes to statuses, bearer authentication and limits. It holds
// no rules: every decision is the authority's.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/console"
	"github.com/conncred/conncred/dpop"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
	"github.com/conncred/conncred/wfe"
)

// Config holds the HTTP layer's limits. Zero values take the defaults noted.
type Config struct {
	// MaxBodyBytes bounds request bodies (default 1 MiB); larger is refused
	// with 400 INVALID_ARGUMENT naming the limit.
	MaxBodyBytes int64
	// MaxBodyBytesInFlight bounds the request-body bytes being read at once
	// across the whole server (default 64 MiB; negative: no bound). Each
	// request reserves its Content-Length, or MaxBodyBytes when it declares
	// none, before its body is read, and gives it back once decoded; so the
	// memory bodies take is set here, not by how many callers send at once.
	MaxBodyBytesInFlight int64
	// BodyWait is how long a request waits for room under
	// MaxBodyBytesInFlight before it is answered 503 with Retry-After
	// (default 1s).
	BodyWait time.Duration
	// FailedTokenLimit is how many failed token requests one remote
	// address (IPv6: one /64), and one client id from one address, may make
	// per minute before that address, or that client id from it, gets 429
	// (default 30). Successful requests are never counted. Negative
	// disables the limit. See ratelimit.go for who is spared.
	FailedTokenLimit int
	// ThrottledVerifyRate bounds, server-wide, how many requests per second
	// are verified although their address is throttled, because their
	// client id recently succeeded from it (default 100; negative: none,
	// such requests get 429 like any other).
	ThrottledVerifyRate int
	// RecentSuccessTTL is how long a successful exchange lets its client
	// id through a throttle on its address (default 3h: connectors
	// exchange about hourly, so a couple of missed exchanges are covered).
	RecentSuccessTTL time.Duration
	// TrustProxyHeaders makes the remote address come from
	// X-Forwarded-For (set it only behind a proxy that overwrites it).
	TrustProxyHeaders bool
	// Clock is the time source of the rate limiter and the access log
	// (default real time).
	Clock clock.Clock
	// Baton, when set, is served as the BatonService (baton.go) and the
	// sync control API (baton_control.go).
	Baton *baton.Service
	// DownloadKey signs sync download URLs (default: the baton wing's key
	// in the database, so a URL made on one node works on every node).
	DownloadKey []byte
	// Federation serves workload federation trusts and the RFC 8693 token
	// exchange; nil turns both off (the grant is then unsupported).
	Federation *federation.Service
	// AccessLog logs every request at info (see accessLog); successful
	// token exchanges as one line a minute with a count.
	AccessLog bool
	// Lifecycle serves overlap rotation, self-rotation, keys brought by
	// the caller and source-network settings (lifecycle.go); nil leaves
	// those routes out and refuses the rotate options.
	Lifecycle *lifecycle.Service
	// Policy serves the expiry and dormancy policies (policies.go); nil
	// leaves those routes out.
	Policy *policy.Service
	// Webhooks serves the webhook endpoints' admin API; nil: not offered.
	Webhooks *webhook.Service
	// Personal serves ConductorOne's personal-client API with its
	// official fields (personal.go); nil: the admin routes serve the
	// records without them.
	Personal *personal.Service
	// Wfe serves ConductorOne's official WorkloadFederationService over
	// the trusts (wfe.go); nil: not served.
	Wfe *wfe.Service
	// Observer receives request metrics (metrics.go); nil: none. It is
	// installed by Handler.
	Observer Observer
	// DPoP, when set, checks DPoP proofs (RFC 9449, dpop.go): token
	// requests with a proof get bound tokens, and calls with a bound
	// token need a proof. nil: proofs are ignored and tokens are Bearer.
	DPoP *dpop.Verifier
	// DPoPPolicy keeps the per-credential "require DPoP" flag; nil: the
	// flag's routes answer UNIMPLEMENTED.
	DPoPPolicy *dpop.Policy
	// Console makes the web console's login links (console_links.go);
	// nil: that route answers UNIMPLEMENTED.
	Console *console.Service
	// ConsolePages, when set, is the web console's pages (package
	// webconsole), served at /console/ (console.go); nil: no pages.
	ConsolePages http.Handler
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxBodyBytesInFlight == 0 {
		c.MaxBodyBytesInFlight = 64 << 20
	}
	if c.BodyWait == 0 {
		c.BodyWait = time.Second
	}
	if c.FailedTokenLimit == 0 {
		c.FailedTokenLimit = 30
	}
	if c.ThrottledVerifyRate == 0 {
		c.ThrottledVerifyRate = 100
	}
	if c.RecentSuccessTTL <= 0 {
		c.RecentSuccessTTL = 3 * time.Hour
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
}

// Server serves conncred's HTTP API.
type Server struct {
	cfg     Config
	auth    *authority.Authority
	log     *slog.Logger
	mux     *http.ServeMux
	limiter *failureLimiter
	access  *accessLog // nil when off
	bodies  *bodyBudget
	// patterns lists every pattern handle registered, in order, so tests
	// can hold the OpenAPI document to the routes actually served.
	patterns []string
}

// New returns a Server over a.
func New(cfg Config, a *authority.Authority, log *slog.Logger) *Server {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, auth: a, log: log, mux: http.NewServeMux(), bodies: newBodyBudget(cfg.MaxBodyBytesInFlight, cfg.BodyWait)}
	if cfg.FailedTokenLimit > 0 {
		s.limiter = newFailureLimiter(limiterConfig{
			limit: cfg.FailedTokenLimit, per: time.Minute, ttl: cfg.RecentSuccessTTL,
			perSecond: max(cfg.ThrottledVerifyRate, 0),
		}, cfg.Clock)
	}
	if cfg.AccessLog {
		s.access = &accessLog{log: log, clock: cfg.Clock}
	}
	s.routes()
	return s
}

// handlerFunc is a handler that returns its error for one place to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) routes() {
	s.handle("POST "+apitype.PathToken, s.handleToken, false)
	s.handle("POST "+apitype.PathTokenIntrospect, s.handleTokenIntrospect, true)
	s.handle("GET "+apitype.PathJWKS, s.handleJWKS, false)
	s.handle("GET "+apitype.PathASMetadata, s.handleMetadata, false)
	s.handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) error { return writeJSON(w, apitype.Empty{}) }, false)
	s.handle("GET /readyz", s.handleReady, false)
	s.handle("GET "+apitype.PathIntrospect, s.handleIntrospect, true)
	s.handle("GET "+PathOpenAPI, s.handleOpenAPI, false)
	s.appRoutes()
	s.connectorRoutes()
	s.credentialRoutes()
	s.adminRoutes()
	s.personalRoutes()
	s.lifecycleRoutes()
	s.batonRoutes()
	s.batonControlRoutes()
	s.trustRoutes()
	s.wfeRoutes()
	s.policyRoutes()
	s.dpopRoutes()
	s.webhookRoutes()
	s.consoleRoutes()
	s.consolePageRoutes()
}

// handle registers h for pattern, behind bearer authentication when authn.
func (s *Server) handle(pattern string, h handlerFunc, authn bool) {
	if authn {
		h = s.authenticated(h)
	}
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, s.adapt(h))
}

// ServeHTTP serves a request: request id, panic recovery, JSON errors for
// unknown paths and methods.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	ctx = conncred.WithSource(ctx, s.remoteAddr(r))
	r = r.WithContext(ctx)
	w, r, logAccess := s.startAccess(w, r, id)
	defer logAccess()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, r, conncred.Errorf(conncred.EInternal, "internal error"))
		}
	}()
	// mux.Handler finds the route without setting path values, so a hit
	// is served through mux.ServeHTTP, which does.
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux would answer 404 or 405 in plain text; clients expect JSON.
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			// grpc-gateway's default routing error handler answers a
			// wrong method with UNIMPLEMENTED, so 501, not 405; the Allow
			// header (allowed on any status) still says what would work.
			w.Header().Set("Allow", rec.header.Get("Allow"))
			s.writeStatus(w, rpcUnimplemented, "method "+r.Method+" is not allowed on this path; allowed: "+rec.header.Get("Allow"))
			return
		}
		s.writeError(w, r, conncred.Errorf(conncred.ENotFound, "no such endpoint: %s %s", r.Method, truncate(r.URL.Path)))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// adapt turns a handlerFunc into an http.Handler that renders its error.
func (s *Server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// statusRecorder captures what the mux's own 404/405 handler would write.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// remoteAddr is the client's address for the audit trail and rate limits.
func (s *Server) remoteAddr(r *http.Request) string {
	if s.cfg.TrustProxyHeaders {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	return r.RemoteAddr
}

// status maps an error code to its google.rpc code; httpStatusFor then
// gives the HTTP status, so the two can never disagree.
func status(code string) (rpcCode int) {
	switch code {
	case conncred.EInvalid:
		return rpcInvalidArgument
	case conncred.EUnauthenticated:
		return rpcUnauthenticated
	case conncred.EPermissionDenied:
		return rpcPermissionDenied
	case conncred.ENotFound:
		return rpcNotFound
	case conncred.EConflict:
		// The one conflict that reaches the API is the active-credential
		// cap: the request is valid but the connector's state refuses it
		// until a credential is revoked, which is FAILED_PRECONDITION (not
		// ALREADY_EXISTS or ABORTED: retrying as is cannot succeed).
		return rpcFailedPrecondition
	case conncred.EResourceExhausted:
		return rpcResourceExhausted
	case conncred.EUnavailable:
		return rpcUnavailable
	default:
		return rpcInternal
	}
}

// google.rpc.Code values conncred answers with.
const (
	rpcInvalidArgument    = 3
	rpcDeadlineExceeded   = 4
	rpcNotFound           = 5
	rpcAlreadyExists      = 6
	rpcPermissionDenied   = 7
	rpcResourceExhausted  = 8
	rpcFailedPrecondition = 9
	rpcAborted            = 10
	rpcOutOfRange         = 11
	rpcUnimplemented      = 12
	rpcInternal           = 13
	rpcUnavailable        = 14
	rpcUnauthenticated    = 16
)

// httpStatusFor is the HTTP status of an API error with google.rpc code
// rpc: grpc-gateway's runtime.HTTPStatusFromCode, which ConductorOne's API
// answers by. It is the only place an API error's status is chosen, and it
// has no exceptions: a wrong method on a known path is UNIMPLEMENTED and so
// 501, as grpc-gateway's DefaultRoutingErrorHandler answers it.
func httpStatusFor(rpc int) int {
	switch rpc {
	case rpcInvalidArgument, rpcFailedPrecondition, rpcOutOfRange:
		// FAILED_PRECONDITION deliberately is not 412 (grpc-gateway's
		// note): 412 is about HTTP conditional requests.
		return http.StatusBadRequest
	case rpcDeadlineExceeded:
		return http.StatusGatewayTimeout
	case rpcNotFound:
		return http.StatusNotFound
	case rpcAlreadyExists, rpcAborted:
		return http.StatusConflict
	case rpcPermissionDenied:
		return http.StatusForbidden
	case rpcResourceExhausted:
		return http.StatusTooManyRequests
	case rpcUnimplemented:
		return http.StatusNotImplemented
	case rpcUnavailable:
		return http.StatusServiceUnavailable
	case rpcUnauthenticated:
		return http.StatusUnauthorized
	default: // INTERNAL, UNKNOWN, DATA_LOSS and anything unknown
		return http.StatusInternalServerError
	}
}

// writeError renders err as google.rpc.Status JSON. Internal errors are
// logged with their cause and shown only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if errors.As(err, &oe) {
		s.writeOAuthError(w, r, oe.err)
		return
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		// INVALID_ARGUMENT, not RESOURCE_EXHAUSTED: clients retry a 429,
		// and the same body would be refused again.
		s.writeStatus(w, rpcInvalidArgument, "request body is larger than this server's limit of "+strconv.FormatInt(tooBig.Limit, 10)+" bytes; send a smaller body")
		return
	}
	var dc *dpopChallenge
	if errors.As(err, &dc) {
		s.writeDPoPChallenge(w, dc)
		return
	}
	var he *httpError
	if errors.As(err, &he) {
		if he.rpc == rpcUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		s.writeStatus(w, he.rpc, he.msg)
		return
	}
	code := conncred.ErrorCode(err)
	rpc := status(code)
	msg := conncred.ErrorMessage(err)
	switch code {
	case conncred.EInternal:
		s.log.Error("internal error", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error (request id " + requestID(r.Context()) + ")"
	case conncred.EUnavailable:
		s.log.Warn("dependency unavailable", "request_id", requestID(r.Context()), "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
	case conncred.EUnauthenticated:
		w.Header().Set("WWW-Authenticate", `Bearer realm="conncred"`)
		if s.cfg.DPoP != nil {
			w.Header().Add("WWW-Authenticate", `DPoP algs="`+dpopAlgs+`"`)
		}
	}
	s.writeStatus(w, rpc, msg)
}

// writeStatus writes a google.rpc.Status with the HTTP status its code maps
// to.
func (s *Server) writeStatus(w http.ResponseWriter, rpc int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httpStatusFor(rpc))
	_ = json.NewEncoder(w).Encode(apitype.Error{Code: rpc, Message: msg, Details: []any{}})
}

// writeJSON writes a 200 JSON response.
func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "encoding the response")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
