// Package authority holds conncred's rules: who may do what, how credentials
// are rotated, revoked and expired, how a client assertion is exchanged for
// an access token, and how access tokens are minted and verified. It takes a
// Store, a clock and a logger, and knows nothing of HTTP or SQL.
package authority

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/hostport"
)

// Config holds the authority's settings. Zero values take the defaults
// documented on each field.
type Config struct {
	// PublicHost is the host[:port] clients use to reach the server. Client
	// ids carry it, and assertions must name it (without the port) as aud.
	PublicHost string
	// ExtraAudiences are further aud values accepted on assertions, such as
	// another DNS name of the same server.
	ExtraAudiences []string
	// TokenTTL is the lifetime of access tokens (default 1h).
	TokenTTL time.Duration
	// MaxCredentialLifetime caps how long a credential may live; 0 means no
	// cap. When set, credentials created without an expiry get this one.
	MaxCredentialLifetime time.Duration
	// MaxActiveCredentials caps the usable credentials of one connector
	// (default 10; negative means no cap).
	MaxActiveCredentials int
	// ClockSkew is the leeway on assertion exp, nbf and iat (default 30s).
	ClockSkew time.Duration
	// MaxAssertionLifetime refuses assertions whose exp - iat is longer
	// (default 5m).
	MaxAssertionLifetime time.Duration
	// CacheTTL bounds how long a credential looked up for authentication is
	// trusted without asking the store again (default 1s). It is the
	// backstop for revocations made on other nodes.
	CacheTTL time.Duration
	// LastUsedInterval is how often lastUsedAt updates are written (default
	// 1s); at most one write per credential per interval.
	LastUsedInterval time.Duration
	// AuditInterval is how often buffered audit events are written (default 1s).
	AuditInterval time.Duration
	// AuditSink, if set, receives every audit event as it is recorded (for
	// streaming as JSON lines).
	AuditSink func(conncred.AuditEvent)
	// Observer receives measurements for metrics (default: none).
	Observer Observer
}

func (c *Config) setDefaults() {
	if c.PublicHost == "" {
		c.PublicHost = "127.0.0.1:8443"
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = time.Hour
	}
	if c.MaxActiveCredentials == 0 {
		c.MaxActiveCredentials = 10
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 30 * time.Second
	}
	if c.MaxAssertionLifetime == 0 {
		c.MaxAssertionLifetime = 5 * time.Minute
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = time.Second
	}
	if c.LastUsedInterval == 0 {
		c.LastUsedInterval = time.Second
	}
	if c.AuditInterval == 0 {
		c.AuditInterval = time.Second
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
}

// Validate reports what is wrong with the configuration.
func (c *Config) Validate() error {
	if strings.ContainsAny(c.PublicHost, "/@ ") || strings.Contains(c.PublicHost, "://") {
		return fmt.Errorf("public host %q must be host[:port], without scheme or path", c.PublicHost)
	}
	if c.TokenTTL < time.Minute || c.TokenTTL > 24*time.Hour {
		return fmt.Errorf("token TTL %v must be between 1m and 24h", c.TokenTTL)
	}
	if c.MaxCredentialLifetime < 0 {
		return errors.New("maximum credential lifetime must not be negative")
	}
	if c.MaxAssertionLifetime > time.Hour {
		return errors.New("maximum assertion lifetime must be at most 1h")
	}
	return nil
}

// Authority applies conncred's rules over a Store.
type Authority struct {
	cfg       Config
	store     conncred.Store
	clock     clock.Clock
	log       *slog.Logger
	audiences map[string]bool
	issuer    string
	obs       Observer

	creds     *credCache
	keys      *keyRing
	sigs      *sigChecker // the hot paths' Ed25519 checks and signatures (jws.go)
	lastUsed  *lastUsedWriter
	audit     *auditor
	guard     atomic.Pointer[SourceGuard]      // nil: every source allowed (SetSourceGuard)
	grants    atomic.Pointer[grantCheckerBox]  // grant.go
	binding   atomic.Pointer[bindingPolicyBox] // binding.go
	limiter   atomic.Pointer[limiterBox]       // wing_policy.go
	scopeDPoP atomic.Pointer[scopeBindingBox]  // wing_policy.go
	roles     atomic.Pointer[RoleSource]       // authorize.go

	closeOnce sync.Once
	stop      context.CancelFunc
	done      chan struct{}
}

// New returns an Authority over store. It loads the signing keys (creating
// the first one on an empty store) and starts the background work (write-
// behind of lastUsedAt and audit events, replay-record sweeping, key refresh,
// and cross-node revocation notices when the store offers them). Close stops
// it and flushes what is buffered.
func New(ctx context.Context, cfg Config, store conncred.Store, clk clock.Clock, log *slog.Logger) (*Authority, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authority{
		cfg:       cfg,
		store:     store,
		clock:     clk,
		log:       log,
		audiences: audiences(cfg),
		issuer:    "https://" + cfg.PublicHost,
		obs:       cfg.Observer,
		done:      make(chan struct{}),
	}
	a.creds = newCredCache(store, clk, cfg.CacheTTL, cfg.Observer)
	a.lastUsed = newLastUsedWriter(store, log)
	a.audit = newAuditor(store, log, cfg.AuditSink)
	a.keys = newKeyRing(store, clk, cfg.TokenTTL, log)
	a.sigs = newSigChecker()
	if err := a.keys.load(ctx, true); err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	a.stop = stop
	// The tickers are made here, not in the goroutine, so that they start
	// at New's instant: a test on a fake clock can advance it as soon as
	// New returns and know every interval counts from t0.
	go a.background(bg, newTickers(clk, cfg))
	return a, nil
}

// audiences lists the aud values an assertion may name: the public host
// without port (what clients send), and, per RFC 7523 as updated by
// draft-ietf-oauth-rfc7523bis, the issuer and token endpoint URLs.
func audiences(cfg Config) map[string]bool {
	m := map[string]bool{}
	m[strings.ToLower(hostport.Host(cfg.PublicHost))] = true
	m["https://"+strings.ToLower(cfg.PublicHost)] = true
	m["https://"+strings.ToLower(cfg.PublicHost)+"/auth/v1/token"] = true
	for _, a := range cfg.ExtraAudiences {
		m[strings.ToLower(a)] = true
	}
	return m
}

// Issuer returns the iss of the access tokens this authority mints.
func (a *Authority) Issuer() string { return a.issuer }

// PublicHost returns the configured public host.
func (a *Authority) PublicHost() string { return a.cfg.PublicHost }

// TokenTTL returns the lifetime of access tokens.
func (a *Authority) TokenTTL() time.Duration { return a.cfg.TokenTTL }

// Ready reports whether the store answers, for a readiness probe.
func (a *Authority) Ready(ctx context.Context) error {
	return a.store.Ping(ctx)
}

// tickers are the background loop's, taken from the injected clock so that
// tests drive the loop by advancing a fake clock.
type tickers struct {
	flush, audit, sweep, keys clock.Ticker
}

// keyRefreshEvery is how often the signing keys are re-read, so a key added
// by another node is used for verification within it.
const keyRefreshEvery = time.Minute

func newTickers(clk clock.Clock, cfg Config) tickers {
	return tickers{
		flush: clk.NewTicker(cfg.LastUsedInterval),
		audit: clk.NewTicker(cfg.AuditInterval),
		sweep: clk.NewTicker(replaySweepEvery),
		keys:  clk.NewTicker(keyRefreshEvery),
	}
}

func (t tickers) stop() {
	t.flush.Stop()
	t.audit.Stop()
	t.sweep.Stop()
	t.keys.Stop()
}

func (a *Authority) background(ctx context.Context, t tickers) {
	defer close(a.done)
	defer t.stop()
	var wg sync.WaitGroup
	if w, ok := a.store.(conncred.RevocationWatcher); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.WatchRevocations(ctx, a.creds.invalidate)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.flush.Chan():
			a.flushLastUsed(ctx)
		case <-t.audit.Chan():
			start := time.Now()
			err := a.audit.flush(ctx, a.clock.Now())
			a.obs.BackgroundRun(JobAuditFlush, time.Since(start), err)
		case <-t.sweep.Chan():
			a.runSweep(ctx)
		case <-t.keys.Chan():
			start := time.Now()
			err := a.keys.load(ctx, false)
			if err != nil {
				a.log.Warn("refreshing signing keys", "err", err)
			}
			a.obs.BackgroundRun(JobKeyRefresh, time.Since(start), err)
		}
	}
}

// How expired replay records are deleted. Each exchange adds one, so the
// sweep must keep up with the token rate, or the table grows without bound:
// every replaySweepEvery, batches of replaySweepBatch (each a short hold of
// the write lock) until none is left or replaySweepBudget of wall time is
// spent (the rest waits for the next tick, and lastUsedAt and audit flushes,
// which share this goroutine, are not held up). Measured on SQLite a batch
// takes a few milliseconds, so one sweep clears hundreds of thousands of
// records, far more than the exchanges of its interval. The live records are
// then those of the last (assertion lifetime + skew + replaySweepEvery).
const (
	replaySweepEvery  = 5 * time.Second
	replaySweepBatch  = 1000
	replaySweepBudget = 2 * time.Second
)

// sweepAssertions deletes expired replay records; see replaySweepEvery.
// It returns how many it deleted, and the error that stopped it early.
func (a *Authority) sweepAssertions(ctx context.Context) (int, error) {
	now := a.clock.Now()
	start := time.Now()
	total := 0
	for ctx.Err() == nil && time.Since(start) < replaySweepBudget {
		n, err := a.store.SweepAssertions(ctx, now, replaySweepBatch)
		if err != nil {
			a.log.Warn("sweeping replay records", "err", err)
			return total, err
		}
		total += n
		if n < replaySweepBatch {
			break
		}
	}
	return total, nil
}

// runSweep sweeps replay records and tells the Observer.
func (a *Authority) runSweep(ctx context.Context) {
	start := time.Now()
	n, err := a.sweepAssertions(ctx)
	a.obs.ReplaySwept(n)
	a.obs.BackgroundRun(JobReplaySweep, time.Since(start), err)
}

// flushLastUsed writes buffered lastUsedAt updates and tells the Observer.
func (a *Authority) flushLastUsed(ctx context.Context) {
	start := time.Now()
	n, oldest, err := a.lastUsed.flush(ctx)
	if n > 0 && err == nil {
		a.obs.LastUsedFlush(n, a.clock.Now().Sub(oldest))
	}
	a.obs.BackgroundRun(JobLastUsedFlush, time.Since(start), err)
}

// Flush writes buffered lastUsedAt updates and audit events now.
func (a *Authority) Flush(ctx context.Context) {
	a.flushLastUsed(ctx)
	_ = a.audit.flush(ctx, a.clock.Now())
}

// Close stops background work and flushes what is buffered. The store is the
// caller's to close.
func (a *Authority) Close() error {
	a.closeOnce.Do(func() {
		a.stop()
		<-a.done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.flushLastUsed(ctx)
		_ = a.audit.flushAll(ctx, a.clock.Now())
	})
	return nil
}

// now returns the current time at the store's precision (microseconds), so
// a value written and read back compares equal.
func (a *Authority) now() time.Time {
	return a.clock.Now().UTC().Truncate(time.Microsecond)
}

// requireAdmin refuses callers that are not admins.
func requireAdmin(ctx context.Context) (*conncred.Principal, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if !p.IsAdmin() {
		return nil, conncred.Errorf(conncred.EPermissionDenied, "this operation needs an admin (personal client) credential; connector credentials may only introspect and read their own credential")
	}
	return p, nil
}

// actor names the principal in ctx for the audit trail.
func actor(ctx context.Context) (name, source string) {
	p := conncred.PrincipalFrom(ctx)
	source = conncred.SourceFrom(ctx)
	if p == nil {
		return "", source
	}
	if p.Source != "" {
		source = p.Source
	}
	return p.ClientID, source
}
