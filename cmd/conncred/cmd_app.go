package main

import (
	"io"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func appCmd() *cobra.Command {
	return group("app", "create, get, list, update and delete apps", "  conncred app list",
		appCreateCmd(), appGetCmd(), appListCmd(), appUpdateCmd(), appDeleteCmd())
}

func appCreateCmd() *cobra.Command {
	var f clientFlags
	var name, desc string
	cmd := &cobra.Command{
		Use:     "create --name NAME [--description TEXT]",
		Short:   "create an app",
		Example: "  conncred app create --name Okta",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"name", &name})
			if err != nil {
				return err
			}
			app, err := c.CreateApp(cmd.Context(), apitype.CreateAppRequest{DisplayName: name, Description: desc})
			if err != nil {
				return err
			}
			return printApp(cmd.OutOrStdout(), f.json, app)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&name, "name", "", "display name (required)")
	cmd.Flags().StringVar(&desc, "description", "", "description")
	return cmd
}

func appGetCmd() *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use:     "get --id APP_ID",
		Short:   "show an app",
		Example: "  conncred app get --id 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			app, err := c.GetApp(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printApp(cmd.OutOrStdout(), f.json, app)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "app id (required)")
	registerAppCompletion(cmd, "id", &f)
	return cmd
}

func appListCmd() *cobra.Command {
	var f clientFlags
	var p client.Page
	cmd := &cobra.Command{
		Use:     "list [--page-size N] [--page-token T]",
		Short:   "list apps, oldest first",
		Example: "  conncred app list --page-size 20",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.ListApps(cmd.Context(), p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if err := appTable(cmd.OutOrStdout(), out.List...); err != nil {
				return err
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "apps per page (default 50, at most 1000)")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func appUpdateCmd() *cobra.Command {
	var f clientFlags
	var id, name, desc string
	cmd := &cobra.Command{
		Use:   "update --id APP_ID [--name NAME] [--description TEXT]",
		Short: "change an app's name or description",
		Long: `Changes an app's name or description. Only the fields named on the command
line change, never one set by the environment or a config file.`,
		Example: "  conncred app update --id 2HErg7BRmNdHgX8sTCWVq4E1fyh --name \"Okta prod\"",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := require("id", id); err != nil {
				return err
			}
			req := apitype.UpdateAppRequest{App: &apitype.AppInput{}}
			cmd.Flags().Visit(func(fl *pflag.Flag) {
				if !onCommandLine(fl) {
					return
				}
				switch fl.Name {
				case "name":
					req.App.DisplayName, req.UpdateMask = &name, append(req.UpdateMask, "displayName")
				case "description":
					req.App.Description, req.UpdateMask = &desc, append(req.UpdateMask, "description")
				}
			})
			if len(req.UpdateMask) == 0 {
				return errNothingToUpdate
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			app, err := c.UpdateApp(cmd.Context(), id, req)
			if err != nil {
				return err
			}
			return printApp(cmd.OutOrStdout(), f.json, app)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "app id (required)")
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	cmd.Flags().StringVar(&desc, "description", "", "new description")
	registerAppCompletion(cmd, "id", &f)
	return cmd
}

func appDeleteCmd() *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use:     "delete --id APP_ID",
		Short:   "delete an app and its connectors, revoking every credential below it",
		Example: "  conncred app delete --id 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			if err := c.DeleteApp(cmd.Context(), id); err != nil {
				return err
			}
			return printDone(cmd.OutOrStdout(), f.json, "deleted app "+id)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "app id (required)")
	registerAppCompletion(cmd, "id", &f)
	return cmd
}

// printApp prints one app: a table, or the API's {"app": ...}.
func printApp(w io.Writer, asJSON bool, app *apitype.App) error {
	if asJSON {
		return printJSON(w, apitype.AppResponse{App: app})
	}
	return appTable(w, app)
}

func appTable(w io.Writer, apps ...*apitype.App) error {
	rows := make([][]string, 0, len(apps))
	for _, a := range apps {
		rows = append(rows, []string{str(a.ID), str(a.DisplayName), ts(a.CreatedAt), ts(a.DeletedAt)})
	}
	return table(w, []string{"ID", "NAME", "CREATED", "DELETED"}, rows)
}

func printNext(w io.Writer, token string) error {
	if token != "" {
		_, err := io.WriteString(w, "more: --page-token "+token+"\n")
		return err
	}
	return nil
}

func printDone(w io.Writer, asJSON bool, msg string) error {
	if asJSON {
		return printJSON(w, apitype.Empty{})
	}
	_, err := io.WriteString(w, msg+"\n")
	return err
}
