package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/conncred/conncred/client"
	"github.com/conncred/conncred/dpop"
	"github.com/spf13/pflag"
)

// clientFlags are the flags every admin command shares.
type clientFlags struct {
	server      string
	credentials string
	dataDir     string
	caFile      string
	json        bool
	dpop        bool
	// streaming drops the whole-request timeout, for a download whose
	// length has no bound the CLI knows in advance.
	streaming bool
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.server, "server", "https://127.0.0.1:8443", "conncred server URL (env CONNCRED_SERVER)")
	fs.StringVar(&f.credentials, "credentials", "", `JSON file {"clientId","clientSecret"} to authenticate with (default: $CONNCRED_CLIENT_ID/$CONNCRED_CLIENT_SECRET, else <data-dir>/admin-credential.json)`)
	fs.StringVar(&f.dataDir, "data-dir", "./conncred-data", "local server data dir, for its admin credential and dev CA")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM CA to trust besides the system roots (default: <data-dir>/ca.pem when it exists)")
	fs.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fs.BoolVar(&f.dpop, "dpop", false, "bind this command's access tokens to a new Ed25519 key that lives only in this process, and prove it on every call (DPoP, RFC 9449); needed for a credential that requires DPoP")
}

// credentialFile is the JSON a credential is stored in.
type credentialFile struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// credential finds the credential to authenticate with: --credentials,
// then the environment, then the local data dir's bootstrap admin file.
func (f *clientFlags) credential() (credentialFile, error) {
	path := f.credentials
	if path == "" {
		id, sec := os.Getenv("CONNCRED_CLIENT_ID"), os.Getenv("CONNCRED_CLIENT_SECRET")
		if id != "" || sec != "" {
			if id == "" || sec == "" {
				return credentialFile{}, errors.New("set both CONNCRED_CLIENT_ID and CONNCRED_CLIENT_SECRET, or neither")
			}
			return credentialFile{ClientID: id, ClientSecret: sec}, nil
		}
		path = filepath.Join(f.dataDir, "admin-credential.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return credentialFile{}, fmt.Errorf("no credential: %v (pass --credentials FILE, set CONNCRED_CLIENT_ID and CONNCRED_CLIENT_SECRET, or run where the server's data dir is)", err)
	}
	var c credentialFile
	if err := json.Unmarshal(b, &c); err != nil || c.ClientID == "" || c.ClientSecret == "" {
		return credentialFile{}, fmt.Errorf("%s is not a credential file: want {\"clientId\": ..., \"clientSecret\": ...}", path)
	}
	return c, nil
}

// httpClient trusts the system roots plus the CA file, if any.
func (f *clientFlags) httpClient() (*http.Client, error) {
	ca := f.caFile
	if ca == "" {
		if p := filepath.Join(f.dataDir, "ca.pem"); fileExists(p) {
			ca = p
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("reading --ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", ca)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	if f.streaming {
		hc.Timeout = 0
	}
	return hc, nil
}

func (f *clientFlags) client() (*client.Client, error) {
	if err := checkServerURL(f.server); err != nil {
		return nil, err
	}
	cred, err := f.credential()
	if err != nil {
		return nil, err
	}
	hc, err := f.httpClient()
	if err != nil {
		return nil, err
	}
	hc.Transport = refusedHint{base: hc.Transport, server: f.server}
	opts := []client.Option{client.WithServerURL(f.server), client.WithHTTPClient(hc)}
	if f.dpop {
		// An ephemeral key: a token bound to it is useless to anyone who
		// copies it from this process, and it dies with the process.
		s, err := dpop.NewEphemeralSigner()
		if err != nil {
			return nil, fmt.Errorf("making a DPoP key: %w", err)
		}
		opts = append(opts, client.WithDPoP(s))
	}
	return client.New(cred.ClientID, cred.ClientSecret, opts...)
}

// checkServerURL refuses a --server the CLI cannot speak to. Plain http is
// refused up front: against a TLS server it would fail later as an obscure
// "connection reset by peer", and the official clients speak only https.
func checkServerURL(server string) error {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return usagef("--server %q: want https://host[:port], e.g. https://127.0.0.1:8443", server)
	}
	if u.Scheme != "https" {
		return usagef("--server %s: https is required (conncred and ConductorOne's clients speak only https); use https://%s, and behind a TLS-terminating proxy give the proxy's https address", server, u.Host)
	}
	return nil
}

// refusedHint turns "connection refused" into advice: nothing listens at
// --server, so either the address is wrong or the server is not running.
type refusedHint struct {
	base   http.RoundTripper
	server string
}

func (t refusedHint) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("%w (nothing listens at %s: check --server or CONNCRED_SERVER, or start the server with `conncred serve --dev`)", err, t.server)
	}
	return resp, err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// required is a flag a command cannot run without.
type required struct {
	name  string
	value *string
}

// prepare checks the required flags and returns a client authenticated as
// the flags say.
func (f *clientFlags) prepare(req ...required) (*client.Client, error) {
	pairs := make([]string, 0, 2*len(req))
	for _, r := range req {
		pairs = append(pairs, r.name, *r.value)
	}
	if err := require(pairs...); err != nil {
		return nil, err
	}
	return f.client()
}

// require returns a usage error naming the missing flags.
func require(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, "--"+pairs[i])
		}
	}
	if len(missing) > 0 {
		return usagef("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// ts formats an optional time for a table.
func ts(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// str dereferences an optional string for a table.
func str(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

var errNothingToUpdate = usagef("nothing to update: give at least one field flag")
