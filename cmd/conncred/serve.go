package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/internal/connlimit"
	"github.com/conncred/conncred/server"
	"github.com/conncred/conncred/tlsutil"
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
	MaxHeaderBytes        int
	MaxConns              int
	MaxConnsPerIP         int
	FirstRequestTimeout   time.Duration
	FailedTokenLimit      int
	ReadHeaderTimeout     time.Duration
	ReadTimeout           time.Duration
	WriteTimeout          time.Duration
	IdleTimeout           time.Duration
	ShutdownTimeout       time.Duration
	TrustProxyHeaders     bool
	DebugListen           string
}

func (c *serveConfig) flags(fs *flag.FlagSet) {
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
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted (larger: 413)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", 64<<10, "largest request header block accepted")
	fs.IntVar(&c.MaxConns, "max-conns", 1024, "most concurrent connections; past 90% the longest-idle ones are closed to make room, and only when every one has a request in flight do more wait")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", 0, "most concurrent connections from one IP address (IPv6: one /64); more are closed at once (0: max-conns/8 but at least 8, or no limit with --trust-proxy-headers; -1: no limit)")
	fs.DurationVar(&c.FirstRequestTimeout, "first-request-timeout", 10*time.Second, "close a new connection that has begun no request this long after it was accepted, TLS handshake and HTTP/2 preface included (0: off)")
	fs.IntVar(&c.FailedTokenLimit, "failed-token-limit", 30, "failed token requests allowed per client id and per IP per minute before 429 (-1: no limit)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 5*time.Second, "time to read request headers")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", 15*time.Second, "time to read a whole request")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 30*time.Second, "time to write a response")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long shutdown waits for in-flight requests")
	fs.BoolVar(&c.TrustProxyHeaders, "trust-proxy-headers", false, "take the client address from X-Forwarded-For (only behind a proxy that sets it)")
	fs.StringVar(&c.DebugListen, "debug-listen", "", "serve Go's profiler (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)")
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
	if c.MaxConns < 1 || c.MaxBodyBytes < 1024 || c.MaxHeaderBytes < 4096 {
		return errors.New("--max-conns must be at least 1, --max-body-bytes at least 1024, --max-header-bytes at least 4096")
	}
	return nil
}

const serveUsage = `Usage: conncred serve [flags]

Runs the conncred server. On the first start with an empty database it
creates an admin credential and writes it to <data-dir>/admin-credential.json
(mode 0600). Every flag can also be set as CONNCRED_<FLAG> in the
environment (CONNCRED_DB, CONNCRED_PUBLIC_HOST, ...); flags win.

Example:
  conncred serve --dev
  conncred serve --listen 0.0.0.0:443 --public-host c1.example.lan \
      --tls-cert cert.pem --tls-key key.pem --db postgres://conncred@db/conncred

Flags:
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	cfg.flags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
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
	store, err := openStore(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer store.Close()

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
	auth, err := authority.New(ctx, acfg, store, nil, log)
	if err != nil {
		return err
	}
	defer auth.Close()

	adminFile := filepath.Join(cfg.DataDir, "admin-credential.json")
	if err := bootstrap(ctx, auth, adminFile, stderr); err != nil {
		return err
	}

	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	srv := httpServer(cfg, server.New(server.Config{MaxBodyBytes: cfg.MaxBodyBytes, FailedTokenLimit: cfg.FailedTokenLimit, TrustProxyHeaders: cfg.TrustProxyHeaders}, auth, log), log)
	ln.Instrument(srv) // tells the listener which connections are idle
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
		fmt.Fprintf(stderr, "conncred: profiler on http://%s/debug/pprof/\n", dln.Addr())
	}
	go func() {
		if scheme == "https" {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	addr := ln.Addr().String()
	fmt.Fprintf(stderr, "conncred: serving %s://%s (public host %s, database %s)\n", scheme, addr, cfg.PublicHost, describeDB(cfg.DB, cfg.DataDir))
	printNextSteps(stderr, scheme, addr, cfg, adminFile, caFile)

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "conncred: shutting down; draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not drain every request", "err", err)
	}
	// Close flushes lastUsedAt and audit events before the store closes.
	if err := auth.Close(); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "conncred: stopped")
	return nil
}

// listen opens the API's listener with the connection limits applied:
// --max-conns in all, --max-conns-per-ip from one address (more are closed
// at once), --first-request-timeout for a connection to begin a request,
// and past 90% of --max-conns each new connection closes the longest-idle
// one, so idle connections cannot keep new clients out. Only when every
// connection has a request in flight do new ones wait in the kernel's
// accept queue. The server must be passed to Instrument.
func listen(cfg serveConfig) (*connlimit.Listener, error) {
	perIP := cfg.MaxConnsPerIP
	switch {
	case perIP < -1:
		return nil, fmt.Errorf("--max-conns-per-ip %d: give a positive number, 0 for the default or -1 for no limit", perIP)
	case perIP == 0 && cfg.TrustProxyHeaders:
		// Behind a proxy every connection comes from the proxy.
		perIP = -1
	case perIP == 0:
		// An eighth of the slots, but never so few that a small
		// --max-conns starves one ordinary client's connection pool.
		perIP = max(cfg.MaxConns/8, min(cfg.MaxConns, 8))
	}
	if cfg.FirstRequestTimeout < 0 {
		return nil, fmt.Errorf("--first-request-timeout %v: give a positive duration, or 0 for none", cfg.FirstRequestTimeout)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	return connlimit.New(ln, connlimit.Config{
		MaxConns:            cfg.MaxConns,
		MaxPerIP:            max(perIP, 0),
		FirstRequestTimeout: cfg.FirstRequestTimeout,
	}), nil
}

// httpServer applies the configured limits to the HTTP server.
//
// The TLS handshake is bounded by the smallest of the read-header, read and
// write timeouts, and an HTTP/1.1 connection's first request headers by
// ReadHeaderTimeout (net/http sets that deadline as the connection starts,
// checked by TestSilentConnectionsClosed); HTTP/2's 10 s preface timeout
// is fixed inside net/http (http.HTTP2Config has no field for it), and
// after the preface a silent connection would last until IdleTimeout, so
// --first-request-timeout (connlimit) is the explicit bound for both.
func httpServer(cfg serveConfig, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// bootstrap creates the first admin credential on an empty database and
// writes it to adminFile (mode 0600). The secret is never printed.
func bootstrap(ctx context.Context, auth *authority.Authority, adminFile string, stderr io.Writer) error {
	cred, sec, created, err := auth.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("bootstrapping the admin credential: %w", err)
	}
	if !created {
		return nil
	}
	b, err := json.MarshalIndent(map[string]string{"clientId": cred.ClientID, "clientSecret": sec.Reveal()}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(adminFile, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the bootstrap admin credential: %w", err)
	}
	fmt.Fprintf(stderr, "conncred: created the first admin credential %s and wrote it to %s (mode 0600); keep that file secret\n", cred.ClientID, adminFile)
	return nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so readers never see half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// auditSink streams audit events as JSON lines. Writes are serialized; an
// event that cannot be written is dropped from the stream (the database
// keeps it).
func auditSink(path string, stdout io.Writer) (func(conncred.AuditEvent), func(), error) {
	w, closer := stdout, func() {}
	if path != "-" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("opening --audit-log: %w", err)
		}
		w, closer = f, func() { f.Close() }
	}
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return func(e conncred.AuditEvent) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(auditLine(e))
	}, closer, nil
}

func printNextSteps(w io.Writer, scheme, addr string, cfg serveConfig, adminFile, caFile string) {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nNext steps (in another terminal; `go install ./cmd/conncred` puts conncred on your PATH):\n")
	flags := ""
	if srv := scheme + "://" + cfg.PublicHost; srv != "https://127.0.0.1:8443" {
		flags += " --server " + srv
	}
	if cfg.DataDir != "./conncred-data" && cfg.DataDir != "conncred-data" {
		flags += " --data-dir " + cfg.DataDir
	}
	fmt.Fprintf(&b, "  conncred whoami%s\n", flags)
	fmt.Fprintf(&b, "  conncred app create --name Okta%s\n", flags)
	fmt.Fprintf(&b, "  conncred --help\n")
	fmt.Fprintf(&b, "The CLI authenticates with the admin credential in %s.\n", abs(adminFile))
	if caFile != "" {
		fmt.Fprintf(&b, "Other clients (the ConductorOne SDK, curl) must trust the development CA:\n")
		fmt.Fprintf(&b, "  export SSL_CERT_FILE=%s\n", abs(caFile))
		fmt.Fprintf(&b, "(that replaces the system roots for those programs; concatenate it with your system bundle to keep both)\n")
	}
	fmt.Fprintln(&b)
	fmt.Fprint(w, b.String())
}
