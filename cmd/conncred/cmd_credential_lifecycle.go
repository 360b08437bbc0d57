package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// This file holds the credential commands of the lifecycle wing: the
// overlap and key options of rotate, self-rotate, self-revoke and the
// per-credential source networks.

// retireFlags are credential rotate's lifecycle options.
type retireFlags struct {
	after     time.Duration
	credID    string
	publicKey string
}

func (r *retireFlags) register(fs *pflag.FlagSet) {
	fs.Var(lifetime{&r.after}, "retire-previous-after", "overlap rotation: the connector's other usable credentials (or only --retire-credential) stop working this long from now, e.g. 24h or 7d")
	fs.StringVar(&r.credID, "retire-credential", "", "with --retire-previous-after: retire only this credential id")
	fs.StringVar(&r.publicKey, "public-key-file", "", "use your own Ed25519 public key (a JWK {kty,crv,x} or a PEM PUBLIC KEY file): no secret is made or shown")
}

// apply adds the options to o, reading the key file; a key file means no
// secret, so --out is refused before anything is created.
func (r *retireFlags) apply(o *client.RotateOptions, out string) error {
	if r.credID != "" && r.after == 0 {
		return usagef("--retire-credential needs --retire-previous-after (how long it keeps working, e.g. 24h)")
	}
	o.RetirePreviousAfter, o.RetireCredentialID = r.after, r.credID
	if r.publicKey == "" {
		return nil
	}
	if out != "" {
		return usagef("--out with --public-key-file: there is no secret to write, the private key is yours")
	}
	pub, err := readPublicKey(r.publicKey)
	if err != nil {
		return err
	}
	o.PublicKey = pub
	return nil
}

// readPublicKey reads an Ed25519 public key from a JWK or a PEM file. A
// file that holds a private key is refused: it must not travel.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--public-key-file: %w", err)
	}
	if block, _ := pem.Decode(b); block != nil {
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, usagef("--public-key-file %s holds a private key; give the public key only (openssl pkey -in KEY -pubout)", path)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		pub, ok := k.(ed25519.PublicKey)
		if err != nil || !ok {
			return nil, usagef("--public-key-file %s: want an Ed25519 PUBLIC KEY in PEM, or a JWK {\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":...}", path)
		}
		return pub, nil
	}
	var jwk struct{ Kty, Crv, X, D string }
	if err := json.Unmarshal(b, &jwk); err != nil {
		return nil, usagef("--public-key-file %s is neither PEM nor a JWK: %v", path, err)
	}
	if jwk.D != "" {
		return nil, usagef("--public-key-file %s holds a private key (d); give the public key only: {\"kty\",\"crv\",\"x\"}", path)
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(jwk.X)
	if jwk.Kty != "OKP" || jwk.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
		return nil, usagef("--public-key-file %s: want an Ed25519 JWK {\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":<base64url of 32 bytes>}", path)
	}
	return ed25519.PublicKey(x), nil
}

// selfFlags authenticate as the connector credential a self-service
// command acts on: it must be named, never the admin file by default.
func (f *clientFlags) requireOwnCredential() error {
	if f.credentials == "" && os.Getenv("CONNCRED_CLIENT_ID") == "" {
		return usagef("missing --credentials: this command acts on the connector credential it authenticates with (or set CONNCRED_CLIENT_ID and CONNCRED_CLIENT_SECRET)")
	}
	return nil
}

func credentialSelfRotateCmd() *cobra.Command {
	var f clientFlags
	var opt rotateFlags
	var grace time.Duration
	var keyFile string
	cmd := &cobra.Command{
		Use:   "self-rotate --credentials OLD.json --out NEW.json [--grace 24h] [--name NAME] [--expires 30d] [--public-key-file KEY]",
		Short: "give a connector a new credential, authenticated by its current one, which retires after a grace",
		Long: `Run by the connector itself: authenticates with --credentials (a connector
credential), gets a new credential for the same connector and writes it to
--out (a new 0600 file, created before the call and never overwritten; the
content is renamed into place whole). The credential in --credentials keeps
working for --grace (default 24h, at most 30 days), so every process that
shares it can move to the new file; then it expires. Without --out the new
secret is printed once. With --public-key-file the new credential uses your
own key and there is no secret.`,
		Example: `  conncred credential self-rotate --credentials connector.json --out connector-new.json
  conncred credential self-rotate --credentials connector.json --out connector-new.json --grace 2h --expires 90d`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.requireOwnCredential(); err != nil {
				return err
			}
			ro, err := opt.options()
			if err != nil {
				return err
			}
			so := client.SelfRotateOptions{DisplayName: ro.DisplayName, Expires: ro.Expires, ExpiresTime: ro.ExpiresTime, Grace: grace}
			if keyFile != "" {
				if opt.out != "" {
					return usagef("--out with --public-key-file: there is no secret to write, the private key is yours")
				}
				if so.PublicKey, err = readPublicKey(keyFile); err != nil {
					return err
				}
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return opt.issueRotated(cmd.OutOrStdout(), cmd.ErrOrStderr(), f.json, nil, func() (*client.Rotated, error) {
				return c.SelfRotate(cmd.Context(), so)
			})
		},
	}
	f.register(cmd.Flags())
	opt.register(cmd.Flags())
	cmd.Flags().Var(lifetime{&grace}, "grace", "how long the credential in --credentials keeps working (default 24h on the server)")
	cmd.Flags().StringVar(&keyFile, "public-key-file", "", "use your own Ed25519 public key (JWK or PEM): no secret is made or shown")
	return cmd
}

func credentialSelfRevokeCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "self-revoke --credentials FILE",
		Short: "revoke the connector credential you authenticate with",
		Long: `Run by the connector itself: revokes the credential in --credentials at once;
tokens minted from it stop working. Use it when a key may have leaked.`,
		Example: "  conncred credential self-revoke --credentials connector-old.json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.requireOwnCredential(); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.SelfRevoke(cmd.Context()); err != nil {
				return err
			}
			return printDone(cmd.OutOrStdout(), f.json, "revoked the credential in "+f.credentials)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func credentialSourceLimitCmd() *cobra.Command {
	return group("source-limit", "show or set the networks a connector credential may be used from",
		"  conncred credential source-limit set --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --allow-cidr 10.0.0.0/8",
		sourceLimitGetCmd(), sourceLimitSetCmd())
}

func printSourceLimit(cmd *cobra.Command, asJSON bool, cidrs []string) error {
	if cidrs == nil {
		cidrs = []string{}
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), apitype.SourceLimit{AllowSourceCidr: cidrs})
	}
	if len(cidrs) == 0 {
		_, err := fmt.Fprintln(cmd.OutOrStdout(), "no source networks of its own (the session settings' connectorSource still applies)")
		return err
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), strings.Join(cidrs, "\n"))
	return err
}

func sourceLimitGetCmd() *cobra.Command {
	var f credentialFlags
	cmd := &cobra.Command{
		Use:     "get --app APP_ID --connector CONNECTOR_ID --id CREDENTIAL_ID",
		Short:   "show the networks a connector credential may be used from",
		Example: "  conncred credential source-limit get --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(f.required(true)...)
			if err != nil {
				return err
			}
			cidrs, err := c.GetSourceLimit(cmd.Context(), f.appID, f.connID, f.id)
			if err != nil {
				return err
			}
			return printSourceLimit(cmd, f.json, cidrs)
		},
	}
	f.register(cmd, true)
	return cmd
}

func sourceLimitSetCmd() *cobra.Command {
	var f credentialFlags
	var cidrs []string
	var none bool
	cmd := &cobra.Command{
		Use:   "set --app APP_ID --connector CONNECTOR_ID --id CREDENTIAL_ID (--allow-cidr CIDR ... | --none)",
		Short: "limit a connector credential to source networks, or remove its limit",
		Long: `Replaces the networks a connector credential may be used from. Checked at the
token exchange and on every call made with its tokens, so a token carried
elsewhere stops working (403). Behind a proxy with --trust-proxy-headers the
address checked is the first X-Forwarded-For entry (see the README).`,
		Example: `  conncred credential source-limit set --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --allow-cidr 10.0.0.0/8,192.0.2.7
  conncred credential source-limit set --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --none`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if none == (len(cidrs) > 0) {
				return usagef("give --allow-cidr (the networks) or --none (no limit), one of them")
			}
			c, err := f.prepare(f.required(true)...)
			if err != nil {
				return err
			}
			out, err := c.SetSourceLimit(cmd.Context(), f.appID, f.connID, f.id, cidrs)
			if err != nil {
				return err
			}
			return printSourceLimit(cmd, f.json, out)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringSliceVar(&cidrs, "allow-cidr", nil, "a network (10.0.0.0/8, 2001:db8::/32) or address it may be used from; repeat or separate with commas")
	cmd.Flags().BoolVar(&none, "none", false, "remove the credential's own limit")
	return cmd
}
