package main

import (
	"context"
	"io"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
)

func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verbs := map[string]func([]string) error{
		"create": func(args []string) error {
			var f clientFlags
			var name, desc string
			fs := newFlagSet("app create", "Usage: conncred app create --name NAME [--description TEXT]\n\nCreates an app.\n\nExample:\n  conncred app create --name Okta\n", stderr)
			f.register(fs)
			fs.StringVar(&name, "name", "", "display name (required)")
			fs.StringVar(&desc, "description", "", "description")
			c, err := f.prepare(fs, args, required{"name", &name})
			if err != nil {
				return err
			}
			app, err := c.CreateApp(ctx, apitype.CreateAppRequest{DisplayName: name, Description: desc})
			if err != nil {
				return err
			}
			return printApps(stdout, f.json, app)
		},
		"get": func(args []string) error {
			var f clientFlags
			var id string
			fs := newFlagSet("app get", "Usage: conncred app get --id APP_ID\n\nShows an app.\n\nExample:\n  conncred app get --id 2HErg7BRmNdHgX8sTCWVq4E1fyh\n", stderr)
			f.register(fs)
			fs.StringVar(&id, "id", "", "app id (required)")
			c, err := f.prepare(fs, args, required{"id", &id})
			if err != nil {
				return err
			}
			app, err := c.GetApp(ctx, id)
			if err != nil {
				return err
			}
			return printApps(stdout, f.json, app)
		},
		"list": func(args []string) error {
			var f clientFlags
			var p client.Page
			fs := newFlagSet("app list", "Usage: conncred app list [--page-size N] [--page-token T]\n\nLists apps, oldest first.\n\nExample:\n  conncred app list --page-size 20\n", stderr)
			f.register(fs)
			fs.IntVar(&p.Size, "page-size", 0, "apps per page (default 50, at most 1000)")
			fs.StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
			c, err := f.prepare(fs, args)
			if err != nil {
				return err
			}
			out, err := c.ListApps(ctx, p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(stdout, out)
			}
			if err := printApps(stdout, false, out.List...); err != nil {
				return err
			}
			return printNext(stderr, out.NextPageToken)
		},
		"update": func(args []string) error {
			var f clientFlags
			var id, name, desc string
			fs := newFlagSet("app update", "Usage: conncred app update --id APP_ID [--name NAME] [--description TEXT]\n\nChanges an app's name or description.\n\nExample:\n  conncred app update --id 2HErg7BRmNdHgX8sTCWVq4E1fyh --name \"Okta prod\"\n", stderr)
			f.register(fs)
			fs.StringVar(&id, "id", "", "app id (required)")
			fs.StringVar(&name, "name", "", "new display name")
			fs.StringVar(&desc, "description", "", "new description")
			if err := parse(fs, args); err != nil {
				return err
			}
			if err := require("id", id); err != nil {
				return err
			}
			req := apitype.UpdateAppRequest{App: &apitype.AppInput{}}
			fs.Visit(func(fl *flagValue) {
				switch fl.Name {
				case "name":
					req.App.DisplayName, req.UpdateMask = &name, append(req.UpdateMask, "displayName")
				case "description":
					req.App.Description, req.UpdateMask = &desc, append(req.UpdateMask, "description")
				}
			})
			if len(req.UpdateMask) == 0 {
				return usageError{err: errNothingToUpdate}
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			app, err := c.UpdateApp(ctx, id, req)
			if err != nil {
				return err
			}
			return printApps(stdout, f.json, app)
		},
		"delete": func(args []string) error {
			var f clientFlags
			var id string
			fs := newFlagSet("app delete", "Usage: conncred app delete --id APP_ID\n\nDeletes an app and its connectors, and revokes every credential below it.\n\nExample:\n  conncred app delete --id 2HErg7BRmNdHgX8sTCWVq4E1fyh\n", stderr)
			f.register(fs)
			fs.StringVar(&id, "id", "", "app id (required)")
			c, err := f.prepare(fs, args, required{"id", &id})
			if err != nil {
				return err
			}
			if err := c.DeleteApp(ctx, id); err != nil {
				return err
			}
			return printDone(stdout, f.json, "deleted app "+id)
		},
	}
	return subcommand("app", verbs, []string{"create", "get", "list", "update", "delete"}, args, stderr)
}

func printApps(w io.Writer, asJSON bool, apps ...*apitype.App) error {
	if asJSON {
		if len(apps) == 1 {
			return printJSON(w, apitype.AppResponse{App: apps[0]})
		}
		return printJSON(w, apps)
	}
	rows := make([][]string, 0, len(apps))
	for _, a := range apps {
		rows = append(rows, []string{str(a.ID), str(a.DisplayName), ts(a.CreatedAt), ts(a.DeletedAt)})
	}
	return table(w, []string{"ID", "NAME", "CREATED", "DELETED"}, rows)
}

func printConnectors(w io.Writer, asJSON bool, cs ...*apitype.Connector) error {
	if asJSON {
		if len(cs) == 1 {
			return printJSON(w, cs[0])
		}
		return printJSON(w, cs)
	}
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []string{str(c.ID), str(c.AppID), str(c.DisplayName), ts(c.CreatedAt), ts(c.DeletedAt)})
	}
	return table(w, []string{"ID", "APP", "NAME", "CREATED", "DELETED"}, rows)
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
