package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
func (r *rotateFlags) issue(stdout, stderr io.Writer, asJSON, admin bool, call func() (*client.ConnectorCredential, secretText, error)) error {
	var file *os.File
	if r.out != "" {
		f, err := os.OpenFile(r.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return usagef("--out %s: the file exists, and a credential file is never overwritten: remove it first, or give another path", r.out)
		}
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		file = f
	}
	cred, sec, err := call()
	if err != nil {
		if file != nil {
			file.Close()
			os.Remove(r.out)
		}
		return err
	}
	if file == nil {
		return printSecret(stdout, stderr, asJSON, admin, cred, sec)
	}
	if err := writeCredentialFile(file, credentialFile{ClientID: str(cred.ClientID), ClientSecret: sec.Reveal()}); err != nil {
		os.Remove(r.out)
		return fmt.Errorf("credential %s was created but writing --out %s failed, so its secret is lost: %v (revoke it and rotate again)", str(cred.ID), r.out, err)
	}
	where := fmt.Sprintf("conncred: the client id and secret are in %s (mode 0600); authenticate with --credentials %s", r.out, r.out)
	if asJSON {
		fmt.Fprintln(stderr, where)
		if admin {
			return printJSON(stdout, apitype.PersonalClientResponse{Client: cred})
		}
		return printJSON(stdout, apitype.CredentialResponse{Credential: cred})
	}
	if err := credentialTable(stdout, cred); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, where)
	return err
}

func writeCredentialFile(f *os.File, c credentialFile) error {
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

// printSecret prints a new credential and its secret. The secret goes to
// stdout once; the warning goes to stderr. JSON is the API's own answer:
// {"credential","clientSecret"} for a rotate, {"client","clientSecret"}
// for an admin create, with the secret inside the credential too.
func printSecret(stdout, stderr io.Writer, asJSON, admin bool, cred *apitype.ConnectorCredential, sec secretText) error {
	if asJSON {
		text := sec.Reveal()
		withSecret := *cred
		withSecret.ClientSecret = &text
		if admin {
			return printJSON(stdout, apitype.PersonalClientResponse{Client: &withSecret, ClientSecret: text})
		}
		return printJSON(stdout, apitype.RotateCredentialResponse{Credential: &withSecret, ClientSecret: text})
	}
	if err := credentialTable(stdout, cred); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nclientId:     %s\nclientSecret: %s\n", str(cred.ClientID), sec.Reveal())
	fmt.Fprintln(stderr, secretWarning)
	return nil
}
