package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/conncred/conncred/secret"
)

// secretWarning goes to stderr beside every secret printed.
const secretWarning = "conncred: this is the only time the client secret is shown; store it now (it is not kept by the server and cannot be shown again)"

func runCredential(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verbs := map[string]func([]string) error{
		"rotate": func(args []string) error {
			var f clientFlags
			var appID, connID string
			var opt rotateFlags
			fs := newFlagSet("credential rotate", "Usage: conncred credential rotate --app APP_ID --connector CONNECTOR_ID [--name NAME] [--expires 720h | --expires-time T]\n\nAdds a credential to a connector and prints its client id and secret, once.\nThe connector's other credentials stay valid until revoked or expired.\n\nExample:\n  conncred credential rotate --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --expires 720h\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&connID, "connector", "", "connector id (required)")
			opt.register(fs)
			if err := parse(fs, args); err != nil {
				return err
			}
			if err := require("app", appID, "connector", connID); err != nil {
				return err
			}
			ro, err := opt.options()
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			cred, sec, err := c.RotateCredential(ctx, appID, connID, ro)
			if err != nil {
				return err
			}
			return printSecret(stdout, stderr, f.json, cred, sec)
		},
		"get": func(args []string) error {
			var f clientFlags
			var appID, connID, id string
			fs := newFlagSet("credential get", "Usage: conncred credential get --app APP_ID --connector CONNECTOR_ID --id CREDENTIAL_ID\n\nShows a credential (never its secret). A revoked one shows DELETED.\n\nExample:\n  conncred credential get --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&connID, "connector", "", "connector id (required)")
			fs.StringVar(&id, "id", "", "credential id (required)")
			c, err := f.prepare(fs, args, required{"app", &appID}, required{"connector", &connID}, required{"id", &id})
			if err != nil {
				return err
			}
			cred, err := c.GetCredential(ctx, appID, connID, id)
			if err != nil {
				return err
			}
			return printCredentials(stdout, f.json, cred)
		},
		"list": func(args []string) error {
			var f clientFlags
			var appID, connID string
			var p client.Page
			fs := newFlagSet("credential list", "Usage: conncred credential list --app APP_ID --connector CONNECTOR_ID\n\nLists a connector's credentials, revoked ones included, oldest first.\n\nExample:\n  conncred credential list --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&connID, "connector", "", "connector id (required)")
			fs.IntVar(&p.Size, "page-size", 0, "credentials per page (default 50, at most 1000)")
			fs.StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
			c, err := f.prepare(fs, args, required{"app", &appID}, required{"connector", &connID})
			if err != nil {
				return err
			}
			out, err := c.ListCredentials(ctx, appID, connID, p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(stdout, out)
			}
			if err := printCredentials(stdout, false, out.List...); err != nil {
				return err
			}
			return printNext(stderr, out.NextPageToken)
		},
		"revoke": func(args []string) error {
			var f clientFlags
			var appID, connID, id string
			fs := newFlagSet("credential revoke", "Usage: conncred credential revoke --app APP_ID --connector CONNECTOR_ID --id CREDENTIAL_ID\n\nRevokes a credential: its assertions and the tokens already minted from it stop working.\nRevoking twice is harmless.\n\nExample:\n  conncred credential revoke --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&connID, "connector", "", "connector id (required)")
			fs.StringVar(&id, "id", "", "credential id (required)")
			c, err := f.prepare(fs, args, required{"app", &appID}, required{"connector", &connID}, required{"id", &id})
			if err != nil {
				return err
			}
			if err := c.RevokeCredential(ctx, appID, connID, id); err != nil {
				return err
			}
			return printDone(stdout, f.json, "revoked credential "+id)
		},
	}
	return subcommand("credential", verbs, []string{"rotate", "get", "list", "revoke"}, args, stderr)
}

// rotateFlags are the optional inputs of a rotate or an admin create.
type rotateFlags struct {
	name        string
	expires     time.Duration
	expiresTime string
}

func (r *rotateFlags) register(fs *flagSet) {
	fs.StringVar(&r.name, "name", "", "display name (default: the client id's cutename)")
	fs.DurationVar(&r.expires, "expires", 0, "lifetime, such as 720h (default: none, or the server's maximum)")
	fs.StringVar(&r.expiresTime, "expires-time", "", "expiry as an RFC 3339 time")
}

func (r *rotateFlags) options() (client.RotateOptions, error) {
	o := client.RotateOptions{DisplayName: r.name, Expires: r.expires}
	if r.expiresTime != "" {
		t, err := time.Parse(time.RFC3339, r.expiresTime)
		if err != nil {
			return o, usageError{err: fmt.Errorf("--expires-time must be an RFC 3339 time such as 2027-01-01T00:00:00Z")}
		}
		o.ExpiresTime = &t
	}
	return o, nil
}

// printSecret prints a new credential and its secret. The secret goes to
// stdout once; the warning goes to stderr.
func printSecret(stdout, stderr io.Writer, asJSON bool, cred *apitype.ConnectorCredential, sec secret.Secret) error {
	if asJSON {
		text := sec.Reveal()
		withSecret := *cred
		withSecret.ClientSecret = &text
		return printJSON(stdout, apitype.RotateCredentialResponse{Credential: &withSecret, ClientSecret: text})
	}
	if err := printCredentials(stdout, false, cred); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nclientId:     %s\nclientSecret: %s\n", str(cred.ClientID), sec.Reveal())
	fmt.Fprintln(stderr, secretWarning)
	return nil
}

func printCredentials(w io.Writer, asJSON bool, cs ...*apitype.ConnectorCredential) error {
	if asJSON {
		if len(cs) == 1 {
			return printJSON(w, apitype.CredentialResponse{Credential: cs[0]})
		}
		return printJSON(w, cs)
	}
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []string{str(c.ID), str(c.ClientID), str(c.DisplayName), ts(c.CreatedAt), ts(c.ExpiresTime), ts(c.LastUsedAt), ts(c.DeletedAt)})
	}
	return table(w, []string{"ID", "CLIENT ID", "NAME", "CREATED", "EXPIRES", "LAST USED", "DELETED"}, rows)
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verbs := map[string]func([]string) error{
		"create": func(args []string) error {
			var f clientFlags
			var opt rotateFlags
			fs := newFlagSet("admin create", "Usage: conncred admin create [--name NAME] [--expires 720h]\n\nCreates an admin (personal client, /pcc) credential and prints its secret, once.\n\nExample:\n  conncred admin create --name \"ci pipeline\" --expires 2160h\n", stderr)
			f.register(fs)
			opt.register(fs)
			if err := parse(fs, args); err != nil {
				return err
			}
			ro, err := opt.options()
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			cred, sec, err := c.CreateAdmin(ctx, ro)
			if err != nil {
				return err
			}
			return printSecret(stdout, stderr, f.json, cred, sec)
		},
		"get": func(args []string) error {
			var f clientFlags
			var id string
			fs := newFlagSet("admin get", "Usage: conncred admin get --id ID\n\nShows an admin credential.\n\nExample:\n  conncred admin get --id 2HErg7BRmNdHgX8sTCWVq4E1fz0\n", stderr)
			f.register(fs)
			fs.StringVar(&id, "id", "", "admin credential id (required)")
			c, err := f.prepare(fs, args, required{"id", &id})
			if err != nil {
				return err
			}
			cred, err := c.GetAdmin(ctx, id)
			if err != nil {
				return err
			}
			return printCredentials(stdout, f.json, cred)
		},
		"list": func(args []string) error {
			var f clientFlags
			var p client.Page
			fs := newFlagSet("admin list", "Usage: conncred admin list\n\nLists admin credentials, revoked ones included.\n\nExample:\n  conncred admin list --json\n", stderr)
			f.register(fs)
			fs.IntVar(&p.Size, "page-size", 0, "credentials per page")
			fs.StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
			c, err := f.prepare(fs, args)
			if err != nil {
				return err
			}
			out, err := c.ListAdmins(ctx, p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(stdout, out)
			}
			if err := printCredentials(stdout, false, out.List...); err != nil {
				return err
			}
			return printNext(stderr, out.NextPageToken)
		},
		"revoke": func(args []string) error {
			var f clientFlags
			var id string
			fs := newFlagSet("admin revoke", "Usage: conncred admin revoke --id ID\n\nRevokes an admin credential. The last usable one cannot be revoked.\n\nExample:\n  conncred admin revoke --id 2HErg7BRmNdHgX8sTCWVq4E1fz0\n", stderr)
			f.register(fs)
			fs.StringVar(&id, "id", "", "admin credential id (required)")
			c, err := f.prepare(fs, args, required{"id", &id})
			if err != nil {
				return err
			}
			if err := c.RevokeAdmin(ctx, id); err != nil {
				return err
			}
			return printDone(stdout, f.json, "revoked admin credential "+id)
		},
	}
	return subcommand("admin", verbs, []string{"create", "get", "list", "revoke"}, args, stderr)
}
