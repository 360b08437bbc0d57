package main

import (
	"github.com/spf13/cobra"
)

func serveCmd() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "run the server",
		Long: `Runs the conncred server. On the first start with an empty database it
creates an admin credential and writes it to <data-dir>/admin-credential.json
(mode 0600). Every flag can also be set as CONNCRED_<FLAG> in the
environment (CONNCRED_DB, CONNCRED_PUBLIC_HOST, ...) or in the TOML file
given by --config; a flag wins over the environment, which wins over the file:

` + configExample,
		Example: `  conncred serve --dev
  conncred serve --listen 0.0.0.0:443 --public-host c1.example.lan \
      --tls-cert cert.pem --tls-key key.pem --db postgres://conncred@db/conncred
  conncred serve --config /etc/conncred.toml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.flags(cmd.Flags())
	return cmd
}
