package main

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/policy"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// policyCmd shows and sets expiry and dormancy policies: the server
// default, an app's, a connector's.
func policyCmd() *cobra.Command {
	return group("policy", "show and set expiry and dormancy policies (server default, per app, per connector)",
		"  conncred policy get --app APP --connector CONNECTOR",
		policyGetCmd(), policySetCmd())
}

// policyScope is --app and --connector: neither is the server default.
type policyScope struct{ app, connector string }

func (s *policyScope) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.app, "app", "", "the app's policy (default: the server default)")
	fs.StringVar(&s.connector, "connector", "", "the connector's policy (with --app)")
}

func (s *policyScope) check() error {
	if s.connector != "" && s.app == "" {
		return usagef("--connector needs --app (the connector's app)")
	}
	return nil
}

func policyGetCmd() *cobra.Command {
	var f clientFlags
	var sc policyScope
	cmd := &cobra.Command{
		Use:   "get [--app APP [--connector CONNECTOR]]",
		Short: "show a policy: what the scope sets, and what applies to its credentials",
		Example: `  conncred policy get
  conncred policy get --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sc.check(); err != nil {
				return err
			}
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.GetPolicy(cmd.Context(), sc.app, sc.connector)
			if err != nil {
				return err
			}
			return printPolicy(cmd.OutOrStdout(), f.json, out)
		},
	}
	f.register(cmd.Flags())
	sc.register(cmd.Flags())
	return cmd
}

func policySetCmd() *cobra.Command {
	var f clientFlags
	var sc policyScope
	var maxLife, dormant, revoke, offline dayDuration
	var warnings durationList
	var inherit []string
	var requireDPoP bool
	cmd := &cobra.Command{
		Use:   "set [--app APP [--connector CONNECTOR]] [--max-lifetime D] [--expiry-warnings D,...] [--dormancy-threshold D] [--auto-revoke-after D] [--require-dpop[=false]] [--offline-after D] [--inherit FIELD,...]",
		Short: "change a policy; the nearest scope that sets a field wins (connector, app, server default)",
		Long: `Changes only the fields named by the flags given; the others stay as they are.
Durations take whole days (30d) or Go durations (36h, 90m). 0 sets "none" here
(no maximum, no dormancy events, no auto-revoke), overriding the scopes above;
--inherit FIELD goes back to inheriting the field. A value out of range, or an
auto-revoke not longer than the dormancy threshold, is refused and nothing
changes. Every change is an audit event (policy.changed).`,
		Example: `  conncred policy set --max-lifetime 90d --expiry-warnings 14d,1d --dormancy-threshold 30d
  conncred policy set --app APP --connector CONNECTOR --auto-revoke-after 60d
  conncred policy set --app APP --inherit maxLifetime --json
  conncred policy set --app APP --require-dpop
  conncred policy set --app APP --connector CONNECTOR --offline-after 30m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sc.check(); err != nil {
				return err
			}
			fl := cmd.Flags()
			req := apitype.SetPolicyRequest{Policy: &apitype.Policy{}}
			wire := func(d dayDuration) *apitype.Duration { v := apitype.Duration(d); return &v }
			if fl.Changed("max-lifetime") {
				req.Policy.MaxLifetime = wire(maxLife)
				req.UpdateMask = append(req.UpdateMask, policy.FieldMaxLifetime)
			}
			if fl.Changed("expiry-warnings") {
				ws := make([]apitype.Duration, len(warnings))
				for i, w := range warnings {
					ws[i] = apitype.Duration(w)
				}
				req.Policy.ExpiryWarnings = &ws
				req.UpdateMask = append(req.UpdateMask, policy.FieldExpiryWarnings)
			}
			if fl.Changed("dormancy-threshold") {
				req.Policy.DormancyThreshold = wire(dormant)
				req.UpdateMask = append(req.UpdateMask, policy.FieldDormancyThreshold)
			}
			if fl.Changed("auto-revoke-after") {
				req.Policy.AutoRevokeAfter = wire(revoke)
				req.UpdateMask = append(req.UpdateMask, policy.FieldAutoRevokeAfter)
			}
			if fl.Changed("require-dpop") {
				req.Policy.RequireDPoP = &requireDPoP
				req.UpdateMask = append(req.UpdateMask, policy.FieldRequireDPoP)
			}
			if fl.Changed("offline-after") {
				req.Policy.OfflineAfter = wire(offline)
				req.UpdateMask = append(req.UpdateMask, policy.FieldOfflineAfter)
			}
			for _, field := range inherit {
				for _, m := range req.UpdateMask {
					if m == field {
						return usagef("--inherit %s and a value for it: give one", field)
					}
				}
				req.UpdateMask = append(req.UpdateMask, field) // left nil: inherited; the server checks the name
			}
			if len(req.UpdateMask) == 0 {
				return errNothingToUpdate
			}
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.SetPolicy(cmd.Context(), sc.app, sc.connector, req)
			if err != nil {
				return err
			}
			return printPolicy(cmd.OutOrStdout(), f.json, out)
		},
	}
	f.register(cmd.Flags())
	sc.register(cmd.Flags())
	cmd.Flags().Var(&maxLife, "max-lifetime", "longest lifetime of a new credential, and its lifetime when a rotate asks none (0: no maximum)")
	cmd.Flags().Var(&warnings, "expiry-warnings", "lead times before expiry at which credential.expiring is recorded, e.g. 14d,1d (empty: none)")
	cmd.Flags().Var(&dormant, "dormancy-threshold", "no token exchange for this long records credential.dormant (0: none)")
	cmd.Flags().Var(&revoke, "auto-revoke-after", "no token exchange for this long revokes the credential, reason dormant (0: never)")
	cmd.Flags().BoolVar(&requireDPoP, "require-dpop", false, "token requests of the connector credentials below must carry a DPoP proof (--require-dpop=false: not required here, though a credential's own flag still can)")
	cmd.Flags().Var(&offline, "offline-after", "a connector with a baton host not heard (no call with its credentials) for this long records connector.offline, then connector.online when heard again (0: not watched)")
	cmd.Flags().StringSliceVar(&inherit, "inherit", nil, "fields to inherit again: "+strings.Join(policy.Fields, ", "))
	return cmd
}

func printPolicy(w io.Writer, asJSON bool, p apitype.PolicyResponse) error {
	if asJSON {
		return printJSON(w, p)
	}
	d := func(v apitype.Duration) string {
		if v == 0 {
			return "none"
		}
		return policy.FormatDuration(time.Duration(v))
	}
	dp := func(v *apitype.Duration) string {
		if v == nil {
			return "(inherited)"
		}
		return d(*v)
	}
	ds := func(vs []apitype.Duration) string {
		if len(vs) == 0 {
			return "none"
		}
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = d(v)
		}
		return strings.Join(s, ",")
	}
	bp := func(v *bool) string {
		if v == nil {
			return "(inherited)"
		}
		return strconv.FormatBool(*v)
	}
	warn := "(inherited)"
	if p.Policy.ExpiryWarnings != nil {
		warn = ds(*p.Policy.ExpiryWarnings)
	}
	e := p.Effective
	rows := [][]string{
		{policy.FieldMaxLifetime, dp(p.Policy.MaxLifetime), d(e.MaxLifetime), e.From[policy.FieldMaxLifetime]},
		{policy.FieldExpiryWarnings, warn, ds(e.ExpiryWarnings), e.From[policy.FieldExpiryWarnings]},
		{policy.FieldDormancyThreshold, dp(p.Policy.DormancyThreshold), d(e.DormancyThreshold), e.From[policy.FieldDormancyThreshold]},
		{policy.FieldAutoRevokeAfter, dp(p.Policy.AutoRevokeAfter), d(e.AutoRevokeAfter), e.From[policy.FieldAutoRevokeAfter]},
		{policy.FieldRequireDPoP, bp(p.Policy.RequireDPoP), strconv.FormatBool(e.RequireDPoP), e.From[policy.FieldRequireDPoP]},
		{policy.FieldOfflineAfter, dp(p.Policy.OfflineAfter), d(e.OfflineAfter), e.From[policy.FieldOfflineAfter]},
	}
	return table(w, []string{"FIELD", "SET HERE", "APPLIES", "FROM"}, rows)
}
