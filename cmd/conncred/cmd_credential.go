package main

import (
	"io"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
)

// secretWarning goes to stderr beside every secret printed.
const secretWarning = "conncred: this is the only time the client secret is shown; store it now (it is not kept by the server and cannot be shown again)"

func credentialCmd() *cobra.Command {
	return group("credential", "rotate, get, list and revoke connector credentials; self-rotate; source networks; DPoP",
		"  conncred credential list --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz",
		credentialRotateCmd(), credentialGetCmd(), credentialListCmd(), credentialRevokeCmd(),
		credentialSelfRotateCmd(), credentialSelfRevokeCmd(), credentialSourceLimitCmd(), credentialDPoPCmd())
}

// credentialFlags name a connector's credentials: --app, --connector, and
// --id when the command acts on one credential.
type credentialFlags struct {
	clientFlags
	appID, connID, id string
}

func (c *credentialFlags) register(cmd *cobra.Command, withID bool) {
	c.clientFlags.register(cmd.Flags())
	cmd.Flags().StringVar(&c.appID, "app", "", "app id (required)")
	cmd.Flags().StringVar(&c.connID, "connector", "", "connector id (required)")
	registerAppCompletion(cmd, "app", &c.clientFlags)
	registerConnectorCompletion(cmd, "connector", &c.clientFlags, &c.appID)
	if withID {
		cmd.Flags().StringVar(&c.id, "id", "", "credential id (required)")
	}
}

func (c *credentialFlags) required(withID bool) []required {
	r := []required{{"app", &c.appID}, {"connector", &c.connID}}
	if withID {
		r = append(r, required{"id", &c.id})
	}
	return r
}

func credentialRotateCmd() *cobra.Command {
	var f credentialFlags
	var opt rotateFlags
	var retire retireFlags
	cmd := &cobra.Command{
		Use:   "rotate --app APP_ID --connector CONNECTOR_ID [--name NAME] [--expires 720h | --expires-time T] [--out FILE] [--retire-previous-after 24h [--retire-credential ID]] [--public-key-file KEY]",
		Short: "add a credential to a connector and show its secret, once",
		Long: `Adds a credential to a connector and prints its client id and secret, once
(with --out, writes them to a new 0600 file instead). The connector's other
credentials stay valid until revoked or expired; with --retire-previous-after
they (or only --retire-credential) expire after that grace, set in the same
transaction. With --public-key-file the credential uses your own Ed25519 key
and no secret exists.`,
		Example: `  conncred credential rotate --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --expires 30d
  conncred credential rotate --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --out connector.json --retire-previous-after 24h
  conncred credential rotate --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --public-key-file connector.pub.jwk`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := require("app", f.appID, "connector", f.connID); err != nil {
				return err
			}
			ro, err := opt.options()
			if err != nil {
				return err
			}
			if err := retire.apply(&ro, opt.out); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return opt.issueRotated(cmd.OutOrStdout(), cmd.ErrOrStderr(), f.json, nil, func() (*client.Rotated, error) {
				return c.Rotate(cmd.Context(), f.appID, f.connID, ro)
			})
		},
	}
	f.register(cmd, false)
	opt.register(cmd.Flags())
	retire.register(cmd.Flags())
	return cmd
}

func credentialGetCmd() *cobra.Command {
	var f credentialFlags
	cmd := &cobra.Command{
		Use:     "get --app APP_ID --connector CONNECTOR_ID --id CREDENTIAL_ID",
		Short:   "show a credential (never its secret); a revoked one shows DELETED",
		Example: "  conncred credential get --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(f.required(true)...)
			if err != nil {
				return err
			}
			cred, err := c.GetCredential(cmd.Context(), f.appID, f.connID, f.id)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), apitype.CredentialResponse{Credential: cred})
			}
			return credentialTable(cmd.OutOrStdout(), cred)
		},
	}
	f.register(cmd, true)
	return cmd
}

func credentialListCmd() *cobra.Command {
	var f credentialFlags
	var p client.Page
	cmd := &cobra.Command{
		Use:     "list --app APP_ID --connector CONNECTOR_ID",
		Short:   "list a connector's credentials, revoked ones included, oldest first",
		Example: "  conncred credential list --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(f.required(false)...)
			if err != nil {
				return err
			}
			out, err := c.ListCredentials(cmd.Context(), f.appID, f.connID, p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if err := credentialTable(cmd.OutOrStdout(), out.List...); err != nil {
				return err
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd, false)
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "credentials per page (default 50, at most 1000)")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func credentialRevokeCmd() *cobra.Command {
	var f credentialFlags
	cmd := &cobra.Command{
		Use:   "revoke --app APP_ID --connector CONNECTOR_ID --id CREDENTIAL_ID",
		Short: "revoke a credential",
		Long: `Revokes a credential: its assertions and the tokens already minted from it
stop working. Revoking twice is harmless.`,
		Example: "  conncred credential revoke --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz --id 2HErg7BRmNdHgX8sTCWVq4E1fz0",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(f.required(true)...)
			if err != nil {
				return err
			}
			if err := c.RevokeCredential(cmd.Context(), f.appID, f.connID, f.id); err != nil {
				return err
			}
			return printDone(cmd.OutOrStdout(), f.json, "revoked credential "+f.id)
		},
	}
	f.register(cmd, true)
	return cmd
}

func credentialTable(w io.Writer, cs ...*apitype.ConnectorCredential) error {
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []string{str(c.ID), str(c.ClientID), str(c.DisplayName), ts(c.CreatedAt), ts(c.ExpiresTime), ts(c.LastUsedAt), ts(c.DeletedAt)})
	}
	return table(w, []string{"ID", "CLIENT ID", "NAME", "CREATED", "EXPIRES", "LAST USED", "DELETED"}, rows)
}
