package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/conncred/conncred/apitype"
	"github.com/spf13/cobra"
)

// settingsCmd holds the server-wide settings: today the session settings,
// the source networks connector and admin credentials may be used from
// (ConductorOne's SessionSettings).
func settingsCmd() *cobra.Command {
	return group("settings", "show and change server-wide settings", "  conncred settings session get",
		group("session", "the source networks connector and admin credentials may be used from",
			"  conncred settings session set --connector-source 10.0.0.0/8 --connector-source-enabled",
			sessionGetCmd(), sessionSetCmd(), sessionTestSourceIPCmd()))
}

func sessionGetCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     "get",
		Short:   "show the session settings",
		Example: "  conncred settings session get --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.GetSessionSettings(cmd.Context())
			if err != nil {
				return err
			}
			return printSession(cmd.OutOrStdout(), f.json, out)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func printSession(w io.Writer, asJSON bool, s apitype.SessionSettingsResponse) error {
	if asJSON {
		return printJSON(w, s)
	}
	var rows [][]string
	row := func(name string, r *apitype.CIDRRestriction) {
		if r == nil {
			r = &apitype.CIDRRestriction{}
		}
		rows = append(rows, []string{name, fmt.Sprint(r.Enabled), strings.Join(r.SourceCidr, ",")})
	}
	if s.SessionSettings != nil {
		row("connectorSource", s.SessionSettings.ConnectorSource)
		row("pccAdminSource", s.SessionSettings.PCCAdminSource)
	}
	return table(w, []string{"RESTRICTION", "ENABLED", "SOURCE NETWORKS"}, rows)
}

func sessionSetCmd() *cobra.Command {
	var f clientFlags
	var connNets, adminNets []string
	var connOn, adminOn bool
	cmd := &cobra.Command{
		Use:   "set [--connector-source CIDR,...] [--connector-source-enabled[=false]] [--admin-source CIDR,...] [--admin-source-enabled[=false]]",
		Short: "restrict connector or admin credentials to source networks, server-wide",
		Long: `Changes only the restrictions named by the flags given; the rest stay as they
are. Networks replace the restriction's list. An enabled restriction with no
network, a malformed network, or an admin restriction that would refuse your
own address is refused, and nothing changes. Test first with test-source-ip.`,
		Example: `  conncred settings session set --connector-source 10.0.0.0/8,2001:db8::/32 --connector-source-enabled
  conncred settings session set --admin-source-enabled=false`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			connChanged := fl.Changed("connector-source") || fl.Changed("connector-source-enabled")
			adminChanged := fl.Changed("admin-source") || fl.Changed("admin-source-enabled")
			if !connChanged && !adminChanged {
				return errNothingToUpdate
			}
			c, err := f.prepare()
			if err != nil {
				return err
			}
			cur, err := c.GetSessionSettings(cmd.Context())
			if err != nil {
				return err
			}
			if cur.SessionSettings == nil {
				cur.SessionSettings = &apitype.SessionSettings{}
			}
			req := apitype.UpdateSessionSettingsRequest{SessionSettings: &apitype.SessionSettings{}}
			merge := func(cur *apitype.CIDRRestriction, nets []string, netsSet bool, on, onSet bool) *apitype.CIDRRestriction {
				r := apitype.CIDRRestriction{SourceCidr: []string{}}
				if cur != nil {
					r = *cur
				}
				if netsSet {
					r.SourceCidr = nets
				}
				if onSet {
					r.Enabled = on
				}
				return &r
			}
			if connChanged {
				req.SessionSettings.ConnectorSource = merge(cur.SessionSettings.ConnectorSource, connNets, fl.Changed("connector-source"), connOn, fl.Changed("connector-source-enabled"))
				req.UpdateMask = append(req.UpdateMask, "connectorSource")
			}
			if adminChanged {
				req.SessionSettings.PCCAdminSource = merge(cur.SessionSettings.PCCAdminSource, adminNets, fl.Changed("admin-source"), adminOn, fl.Changed("admin-source-enabled"))
				req.UpdateMask = append(req.UpdateMask, "pccAdminSource")
			}
			out, err := c.UpdateSessionSettings(cmd.Context(), req)
			if err != nil {
				return err
			}
			return printSession(cmd.OutOrStdout(), f.json, out)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&connNets, "connector-source", nil, "networks connector credentials may be used from (replaces the list)")
	cmd.Flags().BoolVar(&connOn, "connector-source-enabled", false, "enforce --connector-source")
	cmd.Flags().StringSliceVar(&adminNets, "admin-source", nil, "networks admin (personal client) credentials may be used from (replaces the list)")
	cmd.Flags().BoolVar(&adminOn, "admin-source-enabled", false, "enforce --admin-source")
	return cmd
}

func sessionTestSourceIPCmd() *cobra.Command {
	var f clientFlags
	var nets []string
	var ip string
	cmd := &cobra.Command{
		Use:   "test-source-ip --cidr CIDR,... [--ip ADDRESS]",
		Short: "check whether an address (default: yours, as the server sees it) is inside networks",
		Example: `  conncred settings session test-source-ip --cidr 10.0.0.0/8
  conncred settings session test-source-ip --cidr 10.0.0.0/8 --ip 10.1.2.3 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(nets) == 0 {
				return usagef("missing --cidr")
			}
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.TestSourceIP(cmd.Context(), nets, ip)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			verdict := "allowed: inside"
			if !out.Allowed {
				verdict = "refused: not inside"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s\n", out.CheckedIP, verdict, strings.Join(nets, ","))
			return err
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&nets, "cidr", nil, "networks to test against; repeat or separate with commas")
	cmd.Flags().StringVar(&ip, "ip", "", "address to test (default: the one the server sees you at)")
	return cmd
}
