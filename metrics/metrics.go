// Package metrics exposes conncred's Prometheus metrics: token exchanges by
// outcome and reason, HTTP latency by route, the credential cache, replay
// records, group commits, store call latency, lastUsedAt write-behind, the
// revocation watcher, background jobs and build information.
//
// The rest of conncred knows nothing of Prometheus: the authority, the
// server, the stores and the group-commit queue each offer a small hook
// (authority.Observer, server.Observer, postgres.WithWatchObserver,
// groupcommit.SetBatchObserver), and a *Metrics implements or feeds them.
// Every label value comes from a fixed set chosen by conncred (a route
// pattern, a reason constant, a store method name), never from a request,
// so no client id, token or secret can reach /metrics and the number of
// series stays bounded whatever callers send.
package metrics

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every conncred metric.
const namespace = "conncred"

// Rate-limit scopes for TokenRateLimited.
// They are the server's (server.ScopeAddress and friends), repeated here so
// that this package does not import the HTTP layer; TestScopesMatchServer
// holds the two lists together.
const (
	ScopeAddress      = "address"              // the source address's failure bucket was empty
	ScopePair         = "client_id_at_address" // that client id's bucket at that address was empty
	ScopeVerifyBudget = "verify_budget"        // a recent client's verification allowance was spent
)

// Metrics holds conncred's collectors and the registry that serves them.
// Its methods are safe for concurrent use. A nil *Metrics is not usable;
// code that may run without metrics leaves the hooks unset instead.
type Metrics struct {
	reg  *prometheus.Registry
	fed  federationMetrics // federation.go
	dpop dpopMetrics       // dpop.go

	exchanges   *prometheus.CounterVec
	rateLimited *prometheus.CounterVec

	inFlight     prometheus.Gauge
	httpDuration *prometheus.HistogramVec
	httpRequests *prometheus.CounterVec

	cacheHit, cacheMiss prometheus.Counter
	replayWritten       prometheus.Counter
	replaySwept         prometheus.Counter
	batchSize           prometheus.Histogram

	storeDuration *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec

	lastUsedLag     prometheus.Histogram
	lastUsedWritten prometheus.Counter

	watchReconnects prometheus.Counter
	watchListening  prometheus.Gauge

	jobRuns        *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	jobLastSuccess *prometheus.GaugeVec
}

// BuildInfo describes the running binary for conncred_build_info.
type BuildInfo struct {
	Version   string // the module version, "(devel)" for a local build
	Revision  string // the VCS revision, "unknown" when not stamped
	GoVersion string
}

// ReadBuildInfo returns the running binary's BuildInfo from what the Go
// toolchain stamped into it.
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: "(devel)", Revision: "unknown", GoVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = bi.GoVersion
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			b.Revision = s.Value
		}
	}
	return b
}

// Latency buckets, in seconds. A token exchange takes about 0.4 ms alone
// and a few ms under load (BENCHMARKS.md), a store call tens of µs on
// SQLite and about a millisecond on PostgreSQL; the buckets resolve those
// and still show the multi-second waits of a database outage (the store's
// timeouts are 3 s and 10 s).
var (
	httpBuckets  = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	storeBuckets = []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 3, 10}
	jobBuckets   = []float64{0.0001, 0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10}
	// lastUsedAt is written every second, so its lag is about 1–2 s when
	// all is well; longer means flushes fail or fall behind.
	lagBuckets = []float64{0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300}
	// A group commit holds at most 256 items (groupcommit's default Max).
	batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
)

// New returns Metrics with every collector registered, including Go's
// runtime and process collectors and conncred_build_info.
func New(build BuildInfo) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }

	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "revision", "goversion"})
	info.WithLabelValues(build.Version, build.Revision, build.GoVersion).Set(1)
	f(info)

	m.exchanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "token_exchanges_total",
		Help: "Token requests answered by the authority, by outcome (issued, refused, error) and reason (empty when issued).",
	}, []string{"outcome", "reason"})
	m.exchanges.WithLabelValues(authority.OutcomeIssued, "")
	for _, r := range authority.RefusalReasons {
		m.exchanges.WithLabelValues(authority.OutcomeRefused, r)
	}
	for _, r := range authority.ErrorReasons {
		m.exchanges.WithLabelValues(authority.OutcomeError, r)
	}
	f(m.exchanges)
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "token_rate_limited_total",
		Help: "Token requests refused with 429 by the failed-request limit, by why: address (the source address is throttled), client_id_at_address (that client id from that address is), verify_budget (a recently successful client spent its allowance through a throttle).",
	}, []string{"scope"})
	for _, s := range []string{ScopeAddress, ScopePair, ScopeVerifyBudget} {
		m.rateLimited.WithLabelValues(s)
	}
	f(m.rateLimited)

	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "http_requests_in_flight",
		Help: "HTTP requests being served now.",
	})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help: "Time to serve an HTTP request, by route pattern (\"unmatched\" for unknown paths and methods).", Buckets: httpBuckets,
	}, []string{"route"})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests served, by route pattern and status code.",
	}, []string{"route", "code"})
	f(m.inFlight)
	f(m.httpDuration)
	f(m.httpRequests)

	cache := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "credential_cache_lookups_total",
		Help: "Credential look-ups for authentication (token exchange, bearer check), by result: hit (answered from the node's cache) or miss (read from the store).",
	}, []string{"result"})
	m.cacheHit, m.cacheMiss = cache.WithLabelValues("hit"), cache.WithLabelValues("miss")
	f(cache)
	m.replayWritten = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "replay_records_written_total",
		Help: "Assertion replay records stored (one per accepted token exchange).",
	})
	m.replaySwept = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "replay_records_swept_total",
		Help: "Expired assertion replay records deleted by the sweep.",
	})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "group_commit_batch_size",
		Help: "Replay records written per database commit (concurrent exchanges share one commit).", Buckets: batchBuckets,
	})
	f(m.replayWritten)
	f(m.replaySwept)
	f(m.batchSize)

	m.storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "store_call_duration_seconds",
		Help: "Time of a call to the database store, by Store method.", Buckets: storeBuckets,
	}, []string{"method"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "store_call_errors_total",
		Help: "Store calls that returned an error, by Store method and error code (not_found, conflict, unavailable, internal, ...).",
	}, []string{"method", "code"})
	f(m.storeDuration)
	f(m.storeErrors)

	m.lastUsedLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "last_used_flush_lag_seconds",
		Help: "At each lastUsedAt write, how long its oldest use had waited to be written.", Buckets: lagBuckets,
	})
	m.lastUsedWritten = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "last_used_flushed_credentials_total",
		Help: "Credentials whose lastUsedAt was written (at most one write per credential per flush).",
	})
	f(m.lastUsedLag)
	f(m.lastUsedWritten)

	m.watchReconnects = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "revocation_watcher_reconnects_total",
		Help: "Times the PostgreSQL revocation watcher lost its connection or failed to listen, and retried.",
	})
	m.watchListening = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "revocation_watcher_listening",
		Help: "1 while the PostgreSQL revocation watcher is listening; 0 while it reconnects (revocations from other nodes then take up to the 1 s cache lifetime).",
	})
	f(m.watchReconnects)
	f(m.watchListening)

	m.jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "background_runs_total",
		Help: "Runs of background jobs (replay_sweep, last_used_flush, audit_flush, key_refresh), by result (ok or error).",
	}, []string{"job", "result"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "background_run_duration_seconds",
		Help: "Wall time of a background job's run.", Buckets: jobBuckets,
	}, []string{"job"})
	m.jobLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "background_last_success_timestamp_seconds",
		Help: "Unix time of a background job's last successful run (0: none yet); alert when it falls behind.",
	}, []string{"job"})
	for _, j := range authority.Jobs {
		m.jobRuns.WithLabelValues(j, "ok")
		m.jobRuns.WithLabelValues(j, "error")
		m.jobLastSuccess.WithLabelValues(j)
	}
	f(m.jobRuns)
	f(m.jobDuration)
	f(m.jobLastSuccess)
	return m
}

// Registry returns the registry the metrics are in, for tests and for
// adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or negotiated) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector should not hide the others.
		ErrorHandling: promhttp.ContinueOnError,
		// Bounds the scrapes served at once; a scrape takes well under a
		// millisecond, so a second waiting one is a misconfigured scraper.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// TokenRateLimited counts a token request refused with 429 by the
// failed-request limiter; scope is one of the Scope constants. The server
// calls it through server.Observer.
func (m *Metrics) TokenRateLimited(scope string) {
	if scope != ScopeAddress && scope != ScopePair && scope != ScopeVerifyBudget {
		scope = "other" // keep the label set closed whatever a caller passes
	}
	m.rateLimited.WithLabelValues(scope).Inc()
}

// RequestStarted counts a request in flight; RequestDone ends it. The
// server's middleware calls them through server.Observer.
func (m *Metrics) RequestStarted() { m.inFlight.Inc() }

// RequestDone records a served request: its route pattern (a pattern the
// server registered, or "unmatched"), status code and duration.
func (m *Metrics) RequestDone(route string, code int, took time.Duration) {
	m.inFlight.Dec()
	m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
	m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// GroupCommitBatch records the size of one group commit; give it to
// groupcommit.SetBatchObserver.
func (m *Metrics) GroupCommitBatch(items int) { m.batchSize.Observe(float64(items)) }

// RevocationWatch records the revocation watcher's state; give it to
// postgres.WithWatchObserver.
func (m *Metrics) RevocationWatch(listening bool) {
	if listening {
		m.watchListening.Set(1)
		return
	}
	m.watchListening.Set(0)
	m.watchReconnects.Inc()
}
