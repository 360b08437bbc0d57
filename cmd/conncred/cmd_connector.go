package main

import (
	"io"
	"strings"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func connectorCmd() *cobra.Command {
	return group("connector", "create, get, list, update and delete connectors; show, start, pause, resume and schedule their syncs",
		"  conncred connector list --app 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		connectorCreateCmd(), connectorGetCmd(), connectorListCmd(), connectorUpdateCmd(), connectorDeleteCmd(),
		connectorStatusCmd(), connectorSyncCmd(), connectorPauseCmd(), connectorResumeCmd(), connectorScheduleCmd())
}

// connectorFlags are the flags naming a connector: --app, and --id unless
// the command acts on the app's connectors as a whole.
type connectorFlags struct {
	clientFlags
	appID, id string
}

func (c *connectorFlags) register(cmd *cobra.Command, withID bool) {
	c.clientFlags.register(cmd.Flags())
	cmd.Flags().StringVar(&c.appID, "app", "", "app id (required)")
	registerAppCompletion(cmd, "app", &c.clientFlags)
	if withID {
		cmd.Flags().StringVar(&c.id, "id", "", "connector id (required)")
		registerConnectorCompletion(cmd, "id", &c.clientFlags, &c.appID)
	}
}

func connectorCreateCmd() *cobra.Command {
	var f connectorFlags
	var name, desc, catalog string
	cmd := &cobra.Command{
		Use:     "create --app APP_ID [--name NAME]",
		Short:   "create a connector (a delegated, self-hosted one such as a baton connector) under an app",
		Example: "  conncred connector create --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --name \"okta sync\"",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"app", &f.appID})
			if err != nil {
				return err
			}
			conn, err := c.CreateConnector(cmd.Context(), f.appID, apitype.CreateConnectorRequest{DisplayName: name, Description: desc, CatalogID: catalog})
			if err != nil {
				return err
			}
			return printConnector(cmd.OutOrStdout(), f.json, conn)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&name, "name", "", "display name (default Baton)")
	cmd.Flags().StringVar(&desc, "description", "", "description")
	cmd.Flags().StringVar(&catalog, "catalog-id", "", "catalog id, as ConductorOne's API takes it")
	return cmd
}

func connectorGetCmd() *cobra.Command {
	var f connectorFlags
	cmd := &cobra.Command{
		Use:     "get --app APP_ID --id CONNECTOR_ID",
		Short:   "show a connector",
		Example: "  conncred connector get --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --id 2HErg7BRmNdHgX8sTCWVq4E1fyz",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"app", &f.appID}, required{"id", &f.id})
			if err != nil {
				return err
			}
			conn, err := c.GetConnector(cmd.Context(), f.appID, f.id)
			if err != nil {
				return err
			}
			return printConnector(cmd.OutOrStdout(), f.json, conn)
		},
	}
	f.register(cmd, true)
	return cmd
}

func connectorListCmd() *cobra.Command {
	var f connectorFlags
	var p client.Page
	cmd := &cobra.Command{
		Use:     "list --app APP_ID",
		Short:   "list an app's connectors, oldest first",
		Example: "  conncred connector list --app 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"app", &f.appID})
			if err != nil {
				return err
			}
			out, err := c.ListConnectors(cmd.Context(), f.appID, p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			cs := make([]*apitype.Connector, 0, len(out.List))
			for _, v := range out.List {
				cs = append(cs, v.Connector)
			}
			if err := connectorTable(cmd.OutOrStdout(), cs...); err != nil {
				return err
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd, false)
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "connectors per page (default 50, at most 1000)")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func connectorUpdateCmd() *cobra.Command {
	var f connectorFlags
	var name, desc, users string
	cmd := &cobra.Command{
		Use:   "update --app APP_ID --id CONNECTOR_ID [--name NAME] [--description TEXT] [--users a,b]",
		Short: "change a connector's name, description or users",
		Long: `Changes a connector's name, description or users. Only the fields named on
the command line change, never one set by the environment or a config file.`,
		Example: "  conncred connector update --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --id 2HErg7BRmNdHgX8sTCWVq4E1fyz --name nightly",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := require("app", f.appID, "id", f.id); err != nil {
				return err
			}
			req := apitype.UpdateConnectorRequest{Connector: &apitype.ConnectorInput{}}
			cmd.Flags().Visit(func(fl *pflag.Flag) {
				if !onCommandLine(fl) {
					return
				}
				switch fl.Name {
				case "name":
					req.Connector.DisplayName, req.UpdateMask = &name, append(req.UpdateMask, "displayName")
				case "description":
					req.Connector.Description, req.UpdateMask = &desc, append(req.UpdateMask, "description")
				case "users":
					ids := []string{}
					for _, u := range strings.Split(users, ",") {
						if u = strings.TrimSpace(u); u != "" {
							ids = append(ids, u)
						}
					}
					req.Connector.UserIDs, req.UpdateMask = ids, append(req.UpdateMask, "userIds")
				}
			})
			if len(req.UpdateMask) == 0 {
				return errNothingToUpdate
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			conn, err := c.UpdateConnector(cmd.Context(), f.appID, f.id, req)
			if err != nil {
				return err
			}
			return printConnector(cmd.OutOrStdout(), f.json, conn)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	cmd.Flags().StringVar(&desc, "description", "", "new description")
	cmd.Flags().StringVar(&users, "users", "", "comma-separated user ids (replaces the list)")
	return cmd
}

func connectorDeleteCmd() *cobra.Command {
	var f connectorFlags
	cmd := &cobra.Command{
		Use:     "delete --app APP_ID --id CONNECTOR_ID",
		Short:   "delete a connector and revoke all its credentials",
		Example: "  conncred connector delete --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --id 2HErg7BRmNdHgX8sTCWVq4E1fyz",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"app", &f.appID}, required{"id", &f.id})
			if err != nil {
				return err
			}
			if err := c.DeleteConnector(cmd.Context(), f.appID, f.id); err != nil {
				return err
			}
			return printDone(cmd.OutOrStdout(), f.json, "deleted connector "+f.id+"; its credentials are revoked")
		},
	}
	f.register(cmd, true)
	return cmd
}

// printConnector prints one connector: a table, or the API's own
// {"connectorView": {"connector": ...}, "expanded": []}.
func printConnector(w io.Writer, asJSON bool, c *apitype.Connector) error {
	if asJSON {
		return printJSON(w, apitype.ConnectorResponse{ConnectorView: &apitype.ConnectorView{Connector: c}, Expanded: []any{}})
	}
	return connectorTable(w, c)
}

func connectorTable(w io.Writer, cs ...*apitype.Connector) error {
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []string{str(c.ID), str(c.AppID), str(c.DisplayName), ts(c.CreatedAt), ts(c.DeletedAt)})
	}
	return table(w, []string{"ID", "APP", "NAME", "CREATED", "DELETED"}, rows)
}
