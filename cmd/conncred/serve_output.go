// What serve writes besides the API: its logger, the bootstrap admin file,
// the audit stream and the start-up banner.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/internal/fsutil"
)

// newLogger makes serve's logger: JSON for --log-format json, text otherwise.
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// bootstrap creates the first admin credential on an empty database and
// writes it to adminFile (mode 0600). The secret is never printed.
func bootstrap(ctx context.Context, auth *authority.Authority, adminFile string, stderr io.Writer) error {
	clientID, created, err := bootstrapAdmin(ctx, auth, adminFile)
	if err != nil || !created {
		return err
	}
	fmt.Fprintf(stderr, "conncred: created the first admin credential %s and wrote it to %s (mode 0600); keep that file secret\n", clientID, adminFile)
	return nil
}

// bootstrapAdmin is bootstrap without the message: it returns the client
// id it minted and whether it did, for serve to report in its log format.
func bootstrapAdmin(ctx context.Context, auth *authority.Authority, adminFile string) (clientID string, created bool, err error) {
	cred, sec, created, err := auth.Bootstrap(ctx)
	if err != nil {
		return "", false, fmt.Errorf("bootstrapping the admin credential: %w", err)
	}
	if !created {
		return "", false, nil
	}
	b, err := json.MarshalIndent(map[string]string{"clientId": cred.ClientID, "clientSecret": sec.Reveal()}, "", "  ")
	if err != nil {
		return "", false, err
	}
	if err := fsutil.WriteFileAtomic(adminFile, append(b, '\n'), 0o600); err != nil {
		return "", false, fmt.Errorf("writing the bootstrap admin credential to %s: %w", adminFile, err)
	}
	return cred.ClientID, true, nil
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
	fmt.Fprintf(&b, "The CLI authenticates with the admin credential in %s.\n", absPath(adminFile))
	if caFile != "" {
		// curl built on OpenSSL ignores SSL_CERT_FILE, and Go ignores
		// CURL_CA_BUNDLE: each gets the advice that works for it.
		ca := absPath(caFile)
		fmt.Fprintf(&b, "Other clients must trust the development CA:\n")
		fmt.Fprintf(&b, "  curl --cacert %s %s://%s/healthz      (or export CURL_CA_BUNDLE=%s)\n", ca, scheme, cfg.PublicHost, ca)
		fmt.Fprintf(&b, "  export SSL_CERT_FILE=%s      (Go programs: the ConductorOne SDK, baton connectors)\n", ca)
		fmt.Fprintf(&b, "(both replace the system roots for those programs; concatenate the CA with your system bundle to keep both)\n")
	}
	fmt.Fprintln(&b)
	fmt.Fprint(w, b.String())
}

// absPath is p made absolute for a message, or p as given if that fails.
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
