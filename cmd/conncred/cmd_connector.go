package main

import (
	"context"
	"io"
	"strings"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
)

func runConnector(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verbs := map[string]func([]string) error{
		"create": func(args []string) error {
			var f clientFlags
			var appID, name, desc, catalog string
			fs := newFlagSet("connector create", "Usage: conncred connector create --app APP_ID [--name NAME]\n\nCreates a connector (a delegated, self-hosted one such as a baton connector) under an app.\n\nExample:\n  conncred connector create --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --name \"okta sync\"\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&name, "name", "", "display name (default Baton)")
			fs.StringVar(&desc, "description", "", "description")
			fs.StringVar(&catalog, "catalog-id", "", "catalog id, as ConductorOne's API takes it")
			c, err := f.prepare(fs, args, required{"app", &appID})
			if err != nil {
				return err
			}
			conn, err := c.CreateConnector(ctx, appID, apitype.CreateConnectorRequest{DisplayName: name, Description: desc, CatalogID: catalog})
			if err != nil {
				return err
			}
			return printConnectors(stdout, f.json, conn)
		},
		"get": func(args []string) error {
			var f clientFlags
			var appID, id string
			fs := newFlagSet("connector get", "Usage: conncred connector get --app APP_ID --id CONNECTOR_ID\n\nShows a connector.\n\nExample:\n  conncred connector get --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --id 2HErg7BRmNdHgX8sTCWVq4E1fyz\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&id, "id", "", "connector id (required)")
			c, err := f.prepare(fs, args, required{"app", &appID}, required{"id", &id})
			if err != nil {
				return err
			}
			conn, err := c.GetConnector(ctx, appID, id)
			if err != nil {
				return err
			}
			return printConnectors(stdout, f.json, conn)
		},
		"list": func(args []string) error {
			var f clientFlags
			var appID string
			var p client.Page
			fs := newFlagSet("connector list", "Usage: conncred connector list --app APP_ID\n\nLists an app's connectors, oldest first.\n\nExample:\n  conncred connector list --app 2HErg7BRmNdHgX8sTCWVq4E1fyh\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.IntVar(&p.Size, "page-size", 0, "connectors per page (default 50, at most 1000)")
			fs.StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
			c, err := f.prepare(fs, args, required{"app", &appID})
			if err != nil {
				return err
			}
			out, err := c.ListConnectors(ctx, appID, p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(stdout, out)
			}
			cs := make([]*apitype.Connector, 0, len(out.List))
			for _, v := range out.List {
				cs = append(cs, v.Connector)
			}
			if err := printConnectors(stdout, false, cs...); err != nil {
				return err
			}
			return printNext(stderr, out.NextPageToken)
		},
		"update": func(args []string) error {
			var f clientFlags
			var appID, id, name, desc, users string
			fs := newFlagSet("connector update", "Usage: conncred connector update --app APP_ID --id CONNECTOR_ID [--name NAME] [--description TEXT] [--users a,b]\n\nChanges a connector's name, description or users.\n\nExample:\n  conncred connector update --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --id 2HErg7BRmNdHgX8sTCWVq4E1fyz --name nightly\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&id, "id", "", "connector id (required)")
			fs.StringVar(&name, "name", "", "new display name")
			fs.StringVar(&desc, "description", "", "new description")
			fs.StringVar(&users, "users", "", "comma-separated user ids (replaces the list)")
			if err := parse(fs, args); err != nil {
				return err
			}
			if err := require("app", appID, "id", id); err != nil {
				return err
			}
			req := apitype.UpdateConnectorRequest{Connector: &apitype.ConnectorInput{}}
			fs.Visit(func(fl *flagValue) {
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
				return usageError{err: errNothingToUpdate}
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			conn, err := c.UpdateConnector(ctx, appID, id, req)
			if err != nil {
				return err
			}
			return printConnectors(stdout, f.json, conn)
		},
		"delete": func(args []string) error {
			var f clientFlags
			var appID, id string
			fs := newFlagSet("connector delete", "Usage: conncred connector delete --app APP_ID --id CONNECTOR_ID\n\nDeletes a connector and revokes all its credentials.\n\nExample:\n  conncred connector delete --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --id 2HErg7BRmNdHgX8sTCWVq4E1fyz\n", stderr)
			f.register(fs)
			fs.StringVar(&appID, "app", "", "app id (required)")
			fs.StringVar(&id, "id", "", "connector id (required)")
			c, err := f.prepare(fs, args, required{"app", &appID}, required{"id", &id})
			if err != nil {
				return err
			}
			if err := c.DeleteConnector(ctx, appID, id); err != nil {
				return err
			}
			return printDone(stdout, f.json, "deleted connector "+id+"; its credentials are revoked")
		},
	}
	return subcommand("connector", verbs, []string{"create", "get", "list", "update", "delete"}, args, stderr)
}
