package main

import (
	"io"
	"strings"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func trustCmd() *cobra.Command {
	return group("trust", "create, get, list, update and delete workload federation trusts (no static secret)", "  conncred trust list",
		trustCreateCmd(), trustGetCmd(), trustListCmd(), trustUpdateCmd(), trustDeleteCmd())
}

// trustFields are the settable fields of a trust, shared by create and update.
type trustFields struct {
	name, issuer, condition string
	audiences               []string
	maxLifetime             time.Duration
	requireDPoP             bool
}

func (t *trustFields) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.name, "name", "", "display name (default: the client id's cutename)")
	fs.StringVar(&t.issuer, "issuer", "", "the subject tokens' iss, an https URL, e.g. https://token.actions.githubusercontent.com")
	fs.StringVar(&t.condition, "condition", "", "CEL expression over claims that must be true, e.g. 'claims.repository == \"acme/connectors\"'")
	fs.StringSliceVar(&t.audiences, "audience", nil, "accepted aud value (repeatable; default: this server's URL)")
	fs.DurationVar(&t.maxLifetime, "max-token-lifetime", 0, "cap on the access tokens minted through the trust (1m to 24h; default: the server's token lifetime)")
	fs.BoolVar(&t.requireDPoP, "require-dpop", false, "refuse exchanges whose token is not bound to a DPoP key")
}

func (t *trustFields) input() apitype.TrustInput {
	return apitype.TrustInput{
		DisplayName: t.name, Issuer: t.issuer, Condition: t.condition, Audiences: t.audiences,
		MaxTokenLifetime: apitype.Duration(t.maxLifetime), RequireDPoP: t.requireDPoP,
	}
}

func trustCreateCmd() *cobra.Command {
	var f clientFlags
	var tf trustFields
	var role, appID, connID string
	cmd := &cobra.Command{
		Use:   "create --issuer URL --condition CEL (--app APP_ID --connector CONNECTOR_ID | --role admin) [--audience AUD]... [--max-token-lifetime 15m]",
		Short: "create a trust: workloads whose OIDC tokens satisfy it get tokens, holding no conncred secret",
		Long: `Creates a workload federation trust. A workload (a GitHub Actions job, a GitLab
CI job, an HCP Terraform run, a Kubernetes pod) sends its platform's OIDC token
to POST /auth/v1/token as an RFC 8693 token exchange naming the trust's client
id (the official SDK does this with CONDUCTORONE_OIDC_TOKEN and
CONDUCTORONE_CLIENT_ID), and gets an access token acting as the trust's
connector (or as an admin with --role admin). The condition is a CEL
expression over the token's claims; it is checked when the trust is saved.`,
		Example: `  conncred trust create --issuer https://token.actions.githubusercontent.com \
    --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz \
    --condition 'claims.repository == "acme/connectors" && claims.ref == "refs/heads/main"'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"issuer", &tf.issuer}, required{"condition", &tf.condition})
			if err != nil {
				return err
			}
			if role == "" {
				role = "connector"
				if appID == "" && connID == "" {
					return usagef("give --app and --connector for a connector trust, or --role admin")
				}
			}
			in := tf.input()
			in.Role, in.AppID, in.ConnectorID = role, appID, connID
			t, err := c.CreateTrust(cmd.Context(), apitype.CreateTrustRequest{TrustInput: in})
			if err != nil {
				return err
			}
			return printTrust(cmd.OutOrStdout(), f.json, t)
		},
	}
	f.register(cmd.Flags())
	tf.register(cmd.Flags())
	cmd.Flags().StringVar(&role, "role", "", `what the tokens act as: "connector" (the default, with --app and --connector) or "admin"`)
	cmd.Flags().StringVar(&appID, "app", "", "app id of the connector")
	cmd.Flags().StringVar(&connID, "connector", "", "connector id the tokens act as")
	return cmd
}

func trustGetCmd() *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use:     "get --id TRUST_ID",
		Short:   "show a trust",
		Example: "  conncred trust get --id 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			t, err := c.GetTrust(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printTrust(cmd.OutOrStdout(), f.json, t)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "trust id (required)")
	return cmd
}

func trustListCmd() *cobra.Command {
	var f clientFlags
	var p client.Page
	var all bool
	cmd := &cobra.Command{
		Use:     "list [--all] [--page-size N] [--page-token T]",
		Short:   "list trusts, oldest first",
		Example: "  conncred trust list --all",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.ListTrusts(cmd.Context(), p, all)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if err := trustTable(cmd.OutOrStdout(), out.List...); err != nil {
				return err
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "include deleted trusts")
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "trusts per page (default 50, at most 1000)")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func trustUpdateCmd() *cobra.Command {
	var f clientFlags
	var tf trustFields
	var id string
	cmd := &cobra.Command{
		Use:   "update --id TRUST_ID [--name NAME] [--issuer URL] [--condition CEL] [--audience AUD]... [--max-token-lifetime D] [--require-dpop]",
		Short: "change a trust's fields (its role, app and connector are fixed)",
		Long: `Changes the fields named on the command line, never one set by the
environment or a config file. A new condition is checked before it is saved.`,
		Example: `  conncred trust update --id 2HErg7BRmNdHgX8sTCWVq4E1fyh --condition 'claims.ref == "refs/heads/release"'`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := require("id", id); err != nil {
				return err
			}
			fieldOf := map[string]string{"name": "displayName", "issuer": "issuer", "condition": "condition", "audience": "audiences", "max-token-lifetime": "maxTokenLifetime", "require-dpop": "requireDpop"}
			in := tf.input()
			req := apitype.UpdateTrustRequest{Trust: &in}
			cmd.Flags().Visit(func(fl *pflag.Flag) {
				if field, ok := fieldOf[fl.Name]; ok && onCommandLine(fl) {
					req.UpdateMask = append(req.UpdateMask, field)
				}
			})
			if len(req.UpdateMask) == 0 {
				return errNothingToUpdate
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			t, err := c.UpdateTrust(cmd.Context(), id, req)
			if err != nil {
				return err
			}
			return printTrust(cmd.OutOrStdout(), f.json, t)
		},
	}
	f.register(cmd.Flags())
	tf.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "trust id (required)")
	return cmd
}

func trustDeleteCmd() *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use:     "delete --id TRUST_ID",
		Short:   "delete a trust, cutting off the tokens already minted through it",
		Example: "  conncred trust delete --id 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			t, err := c.DeleteTrust(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printTrust(cmd.OutOrStdout(), f.json, t)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "trust id (required)")
	return cmd
}

// printTrust prints one trust: a table, or the API's {"trust": ...}.
func printTrust(w io.Writer, asJSON bool, t *apitype.Trust) error {
	if asJSON {
		return printJSON(w, apitype.TrustResponse{Trust: t})
	}
	return trustTable(w, t)
}

func trustTable(w io.Writer, trusts ...*apitype.Trust) error {
	rows := make([][]string, 0, len(trusts))
	for _, t := range trusts {
		principal := t.Role
		if t.ConnectorID != "" {
			principal += " " + t.ConnectorID
		}
		rows = append(rows, []string{t.ID, t.ClientID, t.Issuer, principal, strings.ReplaceAll(t.Condition, "\n", " "), ts(t.LastUsedAt), ts(t.DeletedAt)})
	}
	return table(w, []string{"ID", "CLIENT ID", "ISSUER", "GRANTS", "CONDITION", "LAST USED", "DELETED"}, rows)
}
