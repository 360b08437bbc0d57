package main

import (
	"io"
	"strings"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/conncred/conncred/secret"
	"github.com/spf13/cobra"
)

// The admin commands manage personal clients (/pcc admin credentials) in
// ConductorOne's shape: the create takes the official allowSourceCidr and
// scopedRoles, the update sends an updateMask that names only the flags
// given (so an unnamed field is never reset by accident), and the search
// is the official one.

func adminCmd() *cobra.Command {
	return group("admin", "create, get, list, search, update and revoke admin (personal client) credentials", "  conncred admin list",
		adminCreateCmd(), adminGetCmd(), adminListCmd(), adminSearchCmd(), adminUpdateCmd(), adminRevokeCmd())
}

func adminCreateCmd() *cobra.Command {
	var f clientFlags
	var opt rotateFlags
	var cidrs, roles []string
	cmd := &cobra.Command{
		Use:   "create [--name NAME] [--expires 720h] [--allow-source-cidr CIDR ...] [--scoped-role system:viewer] [--out FILE]",
		Short: "create an admin (personal client, /pcc) credential and show its secret, once",
		Long: `Creates an admin (personal client, /pcc) credential and prints its secret,
once (with --out, writes it to a new 0600 file instead, which --credentials
takes).

--allow-source-cidr limits the networks the client may be used from (at the
token endpoint and on every call). --scoped-role reduces its permissions to
the roles named, never beyond yours: "system:viewer" (ConductorOne's
Read-Only Administrator) reads everything an admin reads and changes nothing;
"admin" (or no role) is every admin permission.`,
		Example: `  conncred admin create --name "ci pipeline" --expires 90d --out ci-admin.json
  conncred admin create --name deploy --allow-source-cidr 10.0.0.0/8,192.0.2.7 --scoped-role admin --json
  conncred admin create --name inventory --scoped-role system:viewer --out inventory.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ro, err := opt.options()
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			req := apitype.CreatePersonalClientRequest{
				DisplayName: ro.DisplayName, Expires: apitype.Duration(ro.Expires), ExpiresTime: ro.ExpiresTime,
				AllowSourceCidr: cidrs, ScopedRoles: roles,
			}
			return opt.issue(cmd.OutOrStdout(), cmd.ErrOrStderr(), f.json, func() (*apitype.PersonalClient, secret.Secret, error) {
				return c.CreatePersonalClient(cmd.Context(), req)
			})
		},
	}
	f.register(cmd.Flags())
	opt.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&cidrs, "allow-source-cidr", nil, "a network (10.0.0.0/8, 2001:db8::/32) or address the client may be used from; repeat or separate with commas (default: anywhere)")
	cmd.Flags().StringSliceVar(&roles, "scoped-role", nil, `a role to scope the client to: "system:viewer" (read-only) or "admin"`)
	return cmd
}

func adminGetCmd() *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use:     "get --id ID",
		Short:   "show an admin credential with its source networks and scoped roles",
		Example: "  conncred admin get --id 2HErg7BRmNdHgX8sTCWVq4E1fz0",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			pc, err := c.GetPersonalClient(cmd.Context(), id)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), apitype.PersonalClientResponse{Client: pc})
			}
			return personalTable(cmd.OutOrStdout(), pc)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "admin credential id (required)")
	return cmd
}

func adminListCmd() *cobra.Command {
	var f clientFlags
	var p client.Page
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "list admin credentials, revoked ones included",
		Example: "  conncred admin list --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.ListAdmins(cmd.Context(), p)
			if err != nil {
				return err
			}
			return printPersonalList(cmd, f.json, out)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "credentials per page")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func adminSearchCmd() *cobra.Command {
	var f clientFlags
	var req apitype.SearchPersonalClientsRequest
	cmd := &cobra.Command{
		Use:   "search [--query TEXT]",
		Short: "search admin credentials by display name or client id",
		Long: `Searches admin credentials (revoked ones included) whose display name or
client id contains --query, case-insensitively. A page may hold fewer
results than --page-size while a next page still exists: follow
--page-token until none is printed.`,
		Example: `  conncred admin search --query deploy
  conncred admin search --query ci --page-size 50 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.SearchPersonalClients(cmd.Context(), req)
			if err != nil {
				return err
			}
			return printPersonalList(cmd, f.json, out)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&req.Query, "query", "", "text the display name or client id contains (default: every client)")
	cmd.Flags().IntVar(&req.PageSize, "page-size", 0, "credentials per page")
	cmd.Flags().StringVar(&req.PageToken, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func adminUpdateCmd() *cobra.Command {
	var f clientFlags
	var id, name, expiresTime string
	var expires time.Duration
	var cidrs, roles []string
	var noExpiry bool
	cmd := &cobra.Command{
		Use:   "update --id ID [--name NAME] [--expires 720h | --expires-time T | --no-expiry] [--allow-source-cidr CIDR ...] [--scoped-role ROLE ...]",
		Short: "change an admin credential's name, expiry, source networks or scoped roles",
		Long: `Changes the fields whose flags are given, and only those: the update's
updateMask names exactly the flags on the command line, so a field you do
not name keeps its value. --expires counts from now; --no-expiry removes
the expiry (the server's maximum lifetime, if any, still applies).
--allow-source-cidr "" removes the source limit; --scoped-role "" removes the
scoping (every admin permission).`,
		Example: `  conncred admin update --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --name "ci pipeline (old)"
  conncred admin update --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --expires 30d --allow-source-cidr 10.0.0.0/8 --json
  conncred admin update --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --scoped-role system:viewer`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			in := &apitype.PersonalClientInput{}
			var mask apitype.FieldMask
			if fl.Changed("name") {
				in.DisplayName = &name
				mask = append(mask, "displayName")
			}
			n := 0
			for _, e := range []string{"expires", "expires-time", "no-expiry"} {
				if fl.Changed(e) {
					n++
				}
			}
			if n > 1 {
				return usagef("give one of --expires, --expires-time and --no-expiry")
			}
			switch {
			case fl.Changed("expires"):
				if expires <= 0 {
					return usagef("--expires must be a positive lifetime such as 720h or 30d")
				}
				t := time.Now().Add(expires).UTC().Truncate(time.Second)
				in.ExpiresTime = &t
			case fl.Changed("expires-time"):
				t, err := time.Parse(time.RFC3339, expiresTime)
				if err != nil {
					return usagef("--expires-time must be an RFC 3339 time such as 2027-01-01T00:00:00Z")
				}
				in.ExpiresTime = &t
			}
			if n == 1 {
				mask = append(mask, "expiresTime")
			}
			if fl.Changed("allow-source-cidr") {
				in.AllowSourceCidr = nonEmpty(cidrs)
				mask = append(mask, "allowSourceCidr")
			}
			if fl.Changed("scoped-role") {
				in.ScopedRoles = nonEmpty(roles)
				mask = append(mask, "scopedRoles")
			}
			if len(mask) == 0 {
				return usagef("nothing to change: give --name, --expires, --expires-time, --no-expiry, --allow-source-cidr or --scoped-role")
			}
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			pc, err := c.UpdatePersonalClient(cmd.Context(), id, apitype.UpdatePersonalClientRequest{Client: in, UpdateMask: mask})
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), apitype.PersonalClientResponse{Client: pc})
			}
			return personalTable(cmd.OutOrStdout(), pc)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "admin credential id (required)")
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	cmd.Flags().Var(lifetime{&expires}, "expires", "new lifetime from now, in hours (720h) or days (30d)")
	cmd.Flags().StringVar(&expiresTime, "expires-time", "", "new expiry as an RFC 3339 time")
	cmd.Flags().BoolVar(&noExpiry, "no-expiry", false, "remove the expiry")
	cmd.Flags().StringSliceVar(&cidrs, "allow-source-cidr", nil, `networks the client may be used from; repeat or separate with commas; "" for anywhere`)
	cmd.Flags().StringSliceVar(&roles, "scoped-role", nil, `roles to scope the client to: "system:viewer" (read-only) or "admin"; "" for none (every admin permission)`)
	return cmd
}

func adminRevokeCmd() *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use:     "revoke --id ID",
		Short:   "revoke an admin credential (the last usable one cannot be revoked)",
		Example: "  conncred admin revoke --id 2HErg7BRmNdHgX8sTCWVq4E1fz0",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			if err := c.RevokeAdmin(cmd.Context(), id); err != nil {
				return err
			}
			return printDone(cmd.OutOrStdout(), f.json, "revoked admin credential "+id)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "admin credential id (required)")
	return cmd
}

// nonEmpty drops the empty entries a flag such as --allow-source-cidr ""
// leaves, so that "" means none.
func nonEmpty(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func printPersonalList(cmd *cobra.Command, asJSON bool, out apitype.ListPersonalClientsResponse) error {
	if asJSON {
		return printJSON(cmd.OutOrStdout(), out)
	}
	if err := personalTable(cmd.OutOrStdout(), out.List...); err != nil {
		return err
	}
	return printNext(cmd.ErrOrStderr(), out.NextPageToken)
}

// personalTable is the credential table with the official fields.
func personalTable(w io.Writer, pcs ...*apitype.PersonalClient) error {
	rows := make([][]string, 0, len(pcs))
	for _, p := range pcs {
		c := p.Credential()
		if c == nil {
			continue
		}
		rows = append(rows, []string{str(c.ID), str(c.ClientID), str(c.DisplayName), ts(c.CreatedAt), ts(c.ExpiresTime), ts(c.LastUsedAt), ts(c.DeletedAt),
			dash(strings.Join(p.AllowSourceCidr, ",")), dash(strings.Join(p.ScopedRoles, ","))})
	}
	return table(w, []string{"ID", "CLIENT ID", "NAME", "CREATED", "EXPIRES", "LAST USED", "DELETED", "SOURCE", "ROLES"}, rows)
}
