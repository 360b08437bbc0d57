package main

import (
	"fmt"

	"github.com/conncred/conncred/apitype"
	"github.com/spf13/cobra"
)

// This file holds the credential commands of sender-constrained tokens
// (RFC 9449): the per-credential "require DPoP" flag. The flag is keyed by
// the credential id alone (connector and personal credentials alike), so
// these commands take only --id.

func credentialDPoPCmd() *cobra.Command {
	return group("dpop", "show or set whether a credential's tokens must be bound to a DPoP key",
		"  conncred credential dpop set --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --require",
		credentialDPoPGetCmd(), credentialDPoPSetCmd())
}

// printCredentialDPoP prints the flag: a sentence, or the API's own
// {"credentialId": ..., "requireDpop": ...}.
func printCredentialDPoP(cmd *cobra.Command, asJSON bool, out apitype.CredentialDPoPResponse) error {
	if asJSON {
		return printJSON(cmd.OutOrStdout(), out)
	}
	msg := "DPoP optional: token requests without a proof get Bearer tokens"
	if out.RequireDPoP {
		msg = "DPoP required: token requests without a proof are refused (invalid_dpop_proof)"
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", out.CredentialID, msg)
	return err
}

func credentialDPoPGetCmd() *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use:     "get --id CREDENTIAL_ID",
		Short:   "show whether a credential's token requests must carry a DPoP proof",
		Example: "  conncred credential dpop get --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			out, err := c.GetCredentialDPoP(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printCredentialDPoP(cmd, f.json, out)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "credential id (required)")
	return cmd
}

func credentialDPoPSetCmd() *cobra.Command {
	var f clientFlags
	var id string
	var require bool
	cmd := &cobra.Command{
		Use:   "set --id CREDENTIAL_ID --require | --require=false",
		Short: "require (or stop requiring) a DPoP proof with a credential's token requests",
		Long: `With --require, the credential's token requests without a DPoP proof
(RFC 9449) are refused, so every token it gets is bound to a key the
client holds and is useless if stolen. --require=false lets it get Bearer
tokens again. Tokens already minted keep their binding (or lack of it)
until they expire. Every node sees the change within a second.`,
		Example: `  conncred credential dpop set --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --require
  conncred credential dpop set --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --require=false`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The flag must be said on the command line: a set without it
			// (or with it from the environment) would quietly mean false and
			// drop the protection.
			if !onCommandLine(cmd.Flags().Lookup("require")) {
				return usagef("give --require (refuse requests without a proof) or --require=false (allow Bearer tokens)")
			}
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			out, err := c.SetCredentialDPoP(cmd.Context(), id, require)
			if err != nil {
				return err
			}
			return printCredentialDPoP(cmd, f.json, out)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "credential id (required)")
	cmd.Flags().BoolVar(&require, "require", false, "refuse the credential's token requests that carry no DPoP proof (required: --require or --require=false)")
	return cmd
}
