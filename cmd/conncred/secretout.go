package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/conncred/conncred/secret"
	"github.com/spf13/pflag"
)

// secretText is a client secret that cannot print itself by accident.
type secretText = secret.Secret

// rotateFlags are the optional inputs of a rotate or an admin create.
type rotateFlags struct {
	name        string
	expires     time.Duration
	expiresTime string
	out         string
}

func (r *rotateFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.name, "name", "", "display name (default: the client id's cutename)")
	fs.Var(lifetime{&r.expires}, "expires", "lifetime, in hours (720h) or days (30d) (default: none, or the server's maximum)")
	fs.StringVar(&r.expiresTime, "expires-time", "", "expiry as an RFC 3339 time")
	fs.StringVar(&r.out, "out", "", `write {"clientId","clientSecret"} to this new file (mode 0600; never overwritten) instead of printing the secret; --credentials takes it`)
}

func (r *rotateFlags) options() (client.RotateOptions, error) {
	o := client.RotateOptions{DisplayName: r.name, Expires: r.expires}
	if r.expiresTime != "" {
		t, err := time.Parse(time.RFC3339, r.expiresTime)
		if err != nil {
			return o, usagef("--expires-time must be an RFC 3339 time such as 2027-01-01T00:00:00Z")
		}
		o.ExpiresTime = &t
	}
	return o, nil
}

// lifetime is a duration flag that also takes whole or decimal days
// ("30d"), the unit people think of credential lifetimes in; Go's
// durations stop at hours.
type lifetime struct{ d *time.Duration }

// String is "0" for no lifetime, which pflag's help takes as no default.
func (l lifetime) String() string {
	if l.d == nil || *l.d == 0 {
		return "0"
	}
	return l.d.String()
}

func (l lifetime) Type() string { return "duration" }

func (l lifetime) Set(s string) error {
	if d, err := time.ParseDuration(s); err == nil {
		*l.d = d
		return nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.ParseFloat(n, 64); err == nil && days >= 0 && days < 1e5 {
			*l.d = time.Duration(days * float64(24*time.Hour))
			return nil
		}
	}
	return fmt.Errorf("%q is not a lifetime: use hours, e.g. 720h, or days, e.g. 30d", s)
}

// issue runs call, which creates a credential, and hands its secret over:
// into the --out file when given, else printed once on stdout. The --out
// file is created before the call, so a path that cannot be written fails
// before a credential exists whose secret would be lost.
// issue is for a personal client (admin credential), whose JSON answer
// carries its official fields (allowSourceCidr, scopedRoles) beside the
// credential's.
func (r *rotateFlags) issue(stdout, stderr io.Writer, asJSON bool, call func() (*apitype.PersonalClient, secretText, error)) error {
	pc := &apitype.PersonalClient{}
	return r.issueRotated(stdout, stderr, asJSON, pc, func() (*client.Rotated, error) {
		got, sec, err := call()
		if err != nil {
			return nil, err
		}
		*pc = *got
		return &client.Rotated{Credential: got.ConnectorCredential, Secret: sec, HasSecret: true}, nil
	})
}

// withCredential returns the personal client admin with cred as its
// credential's fields.
func withCredential(admin *apitype.PersonalClient, cred *apitype.ConnectorCredential) *apitype.PersonalClient {
	out := *admin
	out.ConnectorCredential = cred
	return &out
}

// issueRotated is issue for a call that may retire other credentials (an
// overlap rotation, a self-rotation) or bring its own key (no secret: --out
// is refused before the call, as there would be nothing to write). admin
// is non-nil for a personal client, filled in by call.
func (r *rotateFlags) issueRotated(stdout, stderr io.Writer, asJSON bool, admin *apitype.PersonalClient, call func() (*client.Rotated, error)) error {
	out, err := reserveOut(r.out)
	if err != nil {
		return err
	}
	res, err := call()
	if err != nil {
		out.abandon()
		return err
	}
	cred := res.Credential
	if !res.HasSecret {
		out.abandon()
		return printBrought(stdout, stderr, asJSON, res)
	}
	if out == nil {
		return printSecret(stdout, stderr, asJSON, admin, res)
	}
	if err := out.fill(credentialFile{ClientID: str(cred.ClientID), ClientSecret: res.Secret.Reveal()}); err != nil {
		out.abandon()
		return fmt.Errorf("credential %s was created but writing --out %s failed, so its secret is lost: %v (revoke it and rotate again)", str(cred.ID), r.out, err)
	}
	where := fmt.Sprintf("conncred: the client id and secret are in %s (mode 0600); authenticate with --credentials %s", r.out, r.out)
	if asJSON {
		fmt.Fprintln(stderr, where)
		if admin != nil {
			return printJSON(stdout, apitype.PersonalClientResponse{Client: withCredential(admin, cred)})
		}
		if len(res.Retired) > 0 {
			return printJSON(stdout, apitype.RotateCredentialResponse{Credential: cred, Retired: res.Retired})
		}
		return printJSON(stdout, apitype.CredentialResponse{Credential: cred})
	}
	if err := credentialTable(stdout, cred); err != nil {
		return err
	}
	printRetired(stdout, res.Retired)
	_, err = fmt.Fprintln(stdout, where)
	return err
}

// outFile is a --out path, reserved (created empty, exclusively, 0600)
// before the credential exists and filled after; nil when there is no --out.
type outFile struct{ path string }

func reserveOut(path string) (*outFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, usagef("--out %s: the file exists, and a credential file is never overwritten: remove it first, or give another path", path)
	}
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("--out: %w", err)
	}
	return &outFile{path: path}, nil
}

// abandon removes the reserved file; nothing was written to it.
func (o *outFile) abandon() {
	if o != nil {
		os.Remove(o.path)
	}
}

// fill writes c (a credentialFile, or another secret's JSON file) to a
// temporary file beside the reserved one, syncs it and renames it over the
// reservation, so that a reader (a connector waiting for its new
// credential) finds either the empty reservation or the whole file, never
// part of it.
func (o *outFile) fill(c any) error {
	dir := filepath.Dir(o.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(o.path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	if err := writeCredentialFile(tmp, c); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), o.path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// The rename is durable once the directory is; a failure here leaves
	// the file written, so it is not reported as a lost secret.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// printSecret prints a new credential and its secret. The secret goes to
// stdout once; the warning goes to stderr. JSON is the API's own answer:
// {"credential","clientSecret"} for a rotate, {"client","clientSecret"}
// for an admin create, with the secret inside the credential too.
func printSecret(stdout, stderr io.Writer, asJSON bool, admin *apitype.PersonalClient, res *client.Rotated) error {
	cred, sec := res.Credential, res.Secret
	if asJSON {
		text := sec.Reveal()
		withSecret := *cred
		withSecret.ClientSecret = &text
		if admin != nil {
			return printJSON(stdout, apitype.PersonalClientResponse{Client: withCredential(admin, &withSecret), ClientSecret: text})
		}
		return printJSON(stdout, apitype.RotateCredentialResponse{Credential: &withSecret, ClientSecret: text, Retired: res.Retired})
	}
	if err := credentialTable(stdout, cred); err != nil {
		return err
	}
	printRetired(stdout, res.Retired)
	fmt.Fprintf(stdout, "\nclientId:     %s\nclientSecret: %s\n", str(cred.ClientID), sec.Reveal())
	fmt.Fprintln(stderr, secretWarning)
	return nil
}

// printBrought prints a credential made with the caller's own key: there
// is no secret to show.
func printBrought(stdout, stderr io.Writer, asJSON bool, res *client.Rotated) error {
	if asJSON {
		return printJSON(stdout, apitype.RotateCredentialResponse{Credential: res.Credential, Retired: res.Retired})
	}
	if err := credentialTable(stdout, res.Credential); err != nil {
		return err
	}
	printRetired(stdout, res.Retired)
	_, err := fmt.Fprintf(stdout, "\nclientId: %s (signs with the private key you kept; the server never had it)\n", str(res.Credential.ClientID))
	return err
}

// printRetired says which credentials now expire because of the rotate.
func printRetired(w io.Writer, retired []*apitype.ConnectorCredential) {
	for _, c := range retired {
		fmt.Fprintf(w, "retiring: %s (%s) stops working at %s\n", str(c.ID), str(c.ClientID), ts(c.ExpiresTime))
	}
}

// writeCredentialFile writes c as indented JSON to f, syncs and closes it.
func writeCredentialFile(f *os.File, c any) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
