package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/metrics"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/server"
	"github.com/conncred/conncred/tlsutil"
	"github.com/conncred/conncred/webhook"
	"github.com/conncred/conncred/wfe"
	"github.com/spf13/pflag"
)

// serveConfig is everything `conncred serve` is configured with.
type serveConfig struct {
	Listen                string
	PublicHost            string
	DataDir               string
	DB                    string
	Dev                   bool
	TLSCert, TLSKey       string
	InsecureHTTP          bool
	TokenTTL              time.Duration
	MaxCredentialLifetime time.Duration
	MaxActiveCredentials  int
	LogFormat             string
	AuditLog              string
	MaxBodyBytes          int64
	MaxBodyBytesInFlight  int64
	MaxHeaderBytes        int
	MaxConns              int
	MaxConnsPerIP         int
	FirstRequestTimeout   time.Duration
	FailedTokenLimit      int
	ThrottledVerifyRate   int
	RecentSuccessTTL      time.Duration
	ReadHeaderTimeout     time.Duration
	ReadTimeout           time.Duration
	WriteTimeout          time.Duration
	IdleTimeout           time.Duration
	ShutdownTimeout       time.Duration
	TrustProxyHeaders     bool
	DebugListen           string
	AccessLog             bool
	MetricsListen         string
	MetricsAllowRemote    bool
	Baton                 batonFlags
	Policy                policyFlags
	DPoP                  dpopFlags
	Webhooks              webhookFlags
	// FederationAllowLoopbackHTTP admits plain-http OIDC issuers on
	// loopback (a test option).
	FederationAllowLoopbackHTTP bool
}

func (c *serveConfig) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8443", "address to listen on (port 0 picks a free one)")
	fs.StringVar(&c.PublicHost, "public-host", "", "host[:port] clients use to reach this server; client ids carry it and assertions must name it (default: the listen address)")
	fs.StringVar(&c.DataDir, "data-dir", "./conncred-data", "directory for the SQLite database, the bootstrap admin credential and the dev CA")
	fs.StringVar(&c.DB, "db", "", "database: sqlite:<path> (default sqlite:<data-dir>/conncred.db) or postgres://...")
	fs.BoolVar(&c.Dev, "dev", false, "make a local CA and a certificate for the public host in the data dir")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.BoolVar(&c.InsecureHTTP, "insecure-http", false, "serve plain HTTP (only behind a TLS-terminating proxy; official clients speak https only)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", time.Hour, "lifetime of access tokens")
	fs.DurationVar(&c.MaxCredentialLifetime, "max-credential-lifetime", 0, "maximum lifetime of a credential (0: no maximum)")
	fs.IntVar(&c.MaxActiveCredentials, "max-active-credentials", 10, "maximum usable credentials per connector")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.AuditLog, "audit-log", "", "also stream audit events as JSON lines to this file (- for stdout)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted (larger: 400 naming the limit)")
	fs.Int64Var(&c.MaxBodyBytesInFlight, "max-body-bytes-in-flight", 64<<20, "request-body bytes read at once across the server; more wait up to 1s, then 503 with Retry-After (-1: no bound)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", 64<<10, "largest request header block accepted")
	fs.IntVar(&c.MaxConns, "max-conns", 1024, "most concurrent connections; past 90% the longest-idle ones are closed to make room, and only when every one has a request in flight do more wait")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", 0, "most concurrent connections from one IP address (IPv6: one /64); more are closed at once (0: max-conns/8 but at least 8, or no limit with --trust-proxy-headers; -1: no limit)")
	fs.DurationVar(&c.FirstRequestTimeout, "first-request-timeout", 10*time.Second, "close a new connection that has begun no request this long after it was accepted, TLS handshake and HTTP/2 preface included (0: off)")
	fs.IntVar(&c.FailedTokenLimit, "failed-token-limit", 30, "failed token requests allowed per minute per source address, and per client id from one address, before 429 (-1: no limit)")
	fs.IntVar(&c.ThrottledVerifyRate, "throttled-verify-rate", 100, "server-wide verifications per second spent on throttled addresses for client ids that recently got a token from them (-1: none)")
	fs.DurationVar(&c.RecentSuccessTTL, "recent-success-ttl", 3*time.Hour, "how long a successful exchange lets its client id through a throttle on its address")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 5*time.Second, "time to read request headers")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", 15*time.Second, "time to read a whole request")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 30*time.Second, "time to write a response")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long shutdown waits for in-flight requests")
	fs.BoolVar(&c.TrustProxyHeaders, "trust-proxy-headers", false, "take the client address from X-Forwarded-For (only behind a proxy that sets it)")
	fs.StringVar(&c.DebugListen, "debug-listen", "", "serve Go's profiler (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)")
	c.Baton.flags(fs)
	c.Policy.flags(fs)
	c.Webhooks.flags(fs)
	fs.BoolVar(&c.FederationAllowLoopbackHTTP, "federation-allow-loopback-http", false, "let workload federation trusts name plain-http OIDC issuers on loopback addresses (for tests and local issuers only; every other issuer must be https)")
	c.DPoP.flags(fs)
	fs.BoolVar(&c.AccessLog, "access-log", true, "log each request (method, route, status, duration, bytes, client id, remote address, request id) at info; successful token exchanges as one line a minute with a count")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "", "serve Prometheus metrics (/metrics) on this address, e.g. 127.0.0.1:9464 (empty: off; loopback only unless --metrics-allow-remote)")
	fs.BoolVar(&c.MetricsAllowRemote, "metrics-allow-remote", false, "let --metrics-listen use a non-loopback address (the metrics endpoint has no authentication)")
}

// Validate reports what is wrong with the configuration.
func (c *serveConfig) Validate() error {
	if c.PublicHost == "" {
		c.PublicHost = c.Listen
	}
	if c.Dev && (c.TLSCert != "" || c.TLSKey != "") {
		return errors.New("give --dev or --tls-cert/--tls-key, not both")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if !c.Dev && c.TLSCert == "" && !c.InsecureHTTP {
		return errors.New("no TLS: give --dev for a local development CA, or --tls-cert and --tls-key; ConductorOne's clients speak only https (--insecure-http serves plain HTTP behind a TLS proxy)")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.DebugListen != "" && !isLoopback(c.DebugListen) {
		return fmt.Errorf("--debug-listen %q: the profiler has no authentication, so it listens only on a loopback address (127.0.0.1 or [::1])", c.DebugListen)
	}
	if c.MetricsListen != "" && !c.MetricsAllowRemote && !isLoopback(c.MetricsListen) {
		return fmt.Errorf("--metrics-listen %q: the metrics endpoint has no authentication, so it listens only on a loopback address (127.0.0.1 or [::1]) unless --metrics-allow-remote is given", c.MetricsListen)
	}
	if c.MaxConns < 1 || c.MaxBodyBytes < 1024 || c.MaxHeaderBytes < 4096 {
		return errors.New("--max-conns must be at least 1, --max-body-bytes at least 1024, --max-header-bytes at least 4096")
	}
	return nil
}

// runServe checks the configuration, then serves until ctx ends.
func runServe(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return usageError{err: err}
	}
	return serve(ctx, cfg, stdout, stderr)
}

func serve(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error {
	log := newLogger(cfg.LogFormat, stderr)
	tuneGC(os.Getenv)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	if path := sqlitePath(cfg.DB, cfg.DataDir); path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("creating the database directory: %w", err)
		}
		unlock, err := lockSQLite(path)
		if err != nil {
			return err
		}
		defer unlock()
	}
	met, pgOpts, unhook := serveMetrics(cfg)
	defer unhook()
	store, err := openStore(ctx, cfg.DB, cfg.DataDir, pgOpts...)
	if err != nil {
		return err
	}
	defer store.Close()
	out := console{w: stderr, log: log, json: cfg.LogFormat == "json"}

	// Bind before anything is written: a start that cannot listen (the
	// port is taken) must not mint an admin credential, and with port 0
	// the public host, and so every client id and the issuer, must carry
	// the port actually bound.
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	addr := ln.Addr().String()
	publicHost, note := defaultPublicHost(cfg.PublicHost, cfg.Listen, addr)
	if note != "" {
		out.warn(note, "public_host", publicHost)
	}
	if w := dotlessHostWarning(publicHost); w != "" {
		out.warn(w, "public_host", publicHost)
	}
	cfg.PublicHost = publicHost
	// The wings' stores are the database itself: the metrics wrapper
	// times conncred.Store's methods only, and would hide the wings'.
	rawStore := store
	lstore, err := lifecycle.AsStore(store)
	if err != nil {
		return err
	}
	trusts, hasTrusts := store.(federation.Store)
	if met != nil {
		store = met.Store(store)
	}

	acfg := authority.Config{
		PublicHost:            cfg.PublicHost,
		TokenTTL:              cfg.TokenTTL,
		MaxCredentialLifetime: cfg.MaxCredentialLifetime,
		MaxActiveCredentials:  cfg.MaxActiveCredentials,
	}
	if cfg.MaxActiveCredentials <= 0 {
		acfg.MaxActiveCredentials = -1
	}
	if cfg.AuditLog != "" {
		sink, closeSink, err := auditSink(cfg.AuditLog, stdout)
		if err != nil {
			return err
		}
		defer closeSink()
		acfg.AuditSink = sink
	}
	var whObs webhook.Observer
	if met != nil {
		acfg.Observer = met.Authority()
		whObs = met.Webhooks()
	}
	wh, whAudit, err := startWebhooks(cfg.Webhooks, cfg.DataDir, rawStore, log, whObs)
	if err != nil {
		return err
	}
	acfg.AuditSink = chainSinks(acfg.AuditSink, wh.AuditSink(authority.RefusedRevoked))
	auth, err := authority.New(ctx, acfg, store, nil, log)
	if err != nil {
		return err
	}
	defer auth.Close()
	whAudit.a.Store(auth)
	whCtx, stopWebhooks := context.WithCancel(ctx)
	defer stopWebhooks()
	go wh.Run(whCtx)
	lcfg := lifecycle.Config{}
	if met != nil {
		lcfg.Observer = met.Lifecycle()
	}
	life := lifecycle.New(lcfg, auth, lstore, nil)
	// Source networks are checked at the token exchange and on every call.
	auth.SetSourceGuard(life)
	// The official personal-client fields, over the same admin records.
	var pers *personal.Service
	if pstore, ok := personal.AsStore(store); ok {
		pers = personal.New(auth, pstore, life)
	}
	var fed *federation.Service
	if hasTrusts {
		fcfg := federationConfig(cfg)
		if met != nil {
			fcfg.Observer = met.Federation()
		}
		fed = federation.New(fcfg, trusts, auth, nil, log)
		defer fed.Close()
	}
	// The official workload federation shapes, over the same trusts.
	var wsvc *wfe.Service
	if wstore, ok := wfe.AsStore(store); ok && fed != nil {
		wsvc = wfe.New(wstore, fed, auth, log)
	}

	adminFile := filepath.Join(cfg.DataDir, "admin-credential.json")
	clientID, created, err := bootstrapAdmin(ctx, auth, adminFile)
	if err != nil {
		return err
	}
	if created {
		out.info(fmt.Sprintf("created the first admin credential %s and wrote it to %s (mode 0600); keep that file secret", clientID, adminFile),
			"created the first admin credential", "client_id", clientID, "file", adminFile)
	} else if w := adminHostWarning(adminFile, cfg.PublicHost); w != "" {
		out.warn(w, "public_host", cfg.PublicHost, "file", adminFile)
	}

	bsvc, stopBaton, err := startBaton(ctx, cfg.Baton, cfg.DataDir, rawStore, auth, log)
	if err != nil {
		return err
	}
	defer stopBaton()
	if met != nil {
		met.WatchBaton(func() metrics.BatonStats { return metrics.BatonStats(bsvc.Metrics()) })
	}

	pol, stopPolicy, err := startPolicy(ctx, cfg.Policy, cfg.MaxCredentialLifetime, rawStore, auth, met, log)
	if err != nil {
		return err
	}
	defer stopPolicy()

	dv, dp, err := startDPoP(cfg.DPoP, rawStore, auth, met)
	if err != nil {
		return err
	}
	// The web console's sign-in: its login links on the API, its sessions
	// for the pages.
	csvc, stopConsole, err := startConsole(rawStore, auth, met, log)
	if err != nil {
		return err
	}
	defer stopConsole()
	scfg := server.Config{Console: csvc, DPoP: dv, DPoPPolicy: dp, Baton: bsvc, Lifecycle: life, Personal: pers, Policy: pol, MaxBodyBytes: cfg.MaxBodyBytes, MaxBodyBytesInFlight: cfg.MaxBodyBytesInFlight, FailedTokenLimit: cfg.FailedTokenLimit, ThrottledVerifyRate: cfg.ThrottledVerifyRate, RecentSuccessTTL: cfg.RecentSuccessTTL, TrustProxyHeaders: cfg.TrustProxyHeaders, AccessLog: cfg.AccessLog, Federation: fed, Webhooks: wh, Wfe: wsvc}
	// The web console's pages, signing in through the same Service.
	scfg.ConsolePages = consoleWeb(csvc, auth, consoleWings{Baton: bsvc, Lifecycle: life, Policy: pol, Webhooks: wh, Personal: pers, Federation: fed}, log)
	if met != nil {
		scfg.Observer = met
	}
	srv := httpServer(cfg, server.New(scfg, auth, log).Handler(), log)
	ln.Instrument(srv) // tells the listener which connections are idle
	if met != nil {
		met.WatchConns(func() metrics.ConnStats {
			st := ln.Stats()
			return metrics.ConnStats{Open: st.Open, Accepted: st.Accepted, RefusedPerIP: st.RefusedPerIP, Evicted: st.Evicted, TimedOut: st.TimedOut}
		})
	}
	scheme, caFile := "https", ""
	switch {
	case cfg.Dev:
		cert, ca, err := tlsutil.DevCert(cfg.DataDir, cfg.PublicHost, time.Now())
		if err != nil {
			return fmt.Errorf("making the development certificate: %w", err)
		}
		srv.TLSConfig, caFile = tlsutil.ServerConfig(cert), ca
	case cfg.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
		}
		srv.TLSConfig = tlsutil.ServerConfig(cert)
	default:
		scheme = "http"
	}

	errc := make(chan error, 2)
	if cfg.DebugListen != "" {
		dln, err := net.Listen("tcp", cfg.DebugListen)
		if err != nil {
			return fmt.Errorf("listening on --debug-listen %s: %w", cfg.DebugListen, err)
		}
		dsrv := debugServer()
		defer dsrv.Close()
		go func() { errc <- dsrv.Serve(dln) }()
		out.info(fmt.Sprintf("profiler on http://%s/debug/pprof/", dln.Addr()), "profiler", "url", "http://"+dln.Addr().String()+"/debug/pprof/")
	}
	if met != nil {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("listening on --metrics-listen %s: %w", cfg.MetricsListen, err)
		}
		msrv := metricsServer(met)
		defer msrv.Close()
		go func() { errc <- msrv.Serve(mln) }()
		out.info(fmt.Sprintf("metrics on http://%s/metrics", mln.Addr()), "metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	go func() {
		if scheme == "https" {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	url := scheme + "://" + addr
	bi := versionInfo()
	out.info(bi.line(), "version", "version", bi.Version, "revision", bi.Revision, "build_date", bi.BuildDate, "go_version", bi.GoVersion)
	out.info(fmt.Sprintf("serving %s (public host %s, database %s)", url, cfg.PublicHost, describeDB(cfg.DB, cfg.DataDir)),
		"serving", "url", url, "public_host", cfg.PublicHost, "database", describeDB(cfg.DB, cfg.DataDir),
		"admin_credential_file", absPath(adminFile), "ca_file", absPath(caFile))
	if !out.json {
		// The next steps are for a person at a terminal; a JSON log goes
		// to a collector, which has the facts in the record above.
		printNextSteps(stderr, scheme, addr, cfg, adminFile, caFile)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	out.info("shutting down; draining in-flight requests", "shutting down; draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not drain every request", "err", err)
	}
	// Close flushes lastUsedAt and audit events before the store closes.
	if fed != nil {
		_ = fed.Close()
	}
	if err := auth.Close(); err != nil {
		return err
	}
	out.info("stopped", "stopped")
	return nil
}

// federationConfig is the workload federation wing's configuration from
// serve's: the public host its tokens name, and whether plain-http issuers
// on loopback are allowed (a test option; issuers are https otherwise).
func federationConfig(cfg serveConfig) federation.Config {
	return federation.Config{PublicHost: cfg.PublicHost, Keys: federation.KeyConfig{AllowInsecureLoopback: cfg.FederationAllowLoopbackHTTP}}
}
