package main

import (
	"context"
	"strings"
	"time"

	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
)

// completionTimeout bounds a completion's call to the server: a shell
// waiting on a <TAB> is worse than no suggestions.
const completionTimeout = 3 * time.Second

// completionPage is how many ids one completion lists: one API page, so a
// completion costs one token exchange and one list call.
const completionPage = 200

// registerAppCompletion completes flag with app ids, their names as
// descriptions, listed from the server with the command's own credential
// discovery. Any failure completes nothing, silently: an error printed into
// the shell's line would be worse than no suggestion.
func registerAppCompletion(cmd *cobra.Command, flag string, f *clientFlags) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, ctx, cancel, ok := completionClient(cmd, f)
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer cancel()
		out, err := c.ListApps(ctx, client.Page{Size: completionPage})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var comps []cobra.Completion
		for _, a := range out.List {
			if id := str(a.ID); strings.HasPrefix(id, prefix) {
				comps = append(comps, cobra.CompletionWithDesc(id, str(a.DisplayName)))
			}
		}
		return comps, cobra.ShellCompDirectiveNoFileComp
	})
}

// registerConnectorCompletion completes flag with the connector ids of the
// app named by *appID (nothing before --app is given).
func registerConnectorCompletion(cmd *cobra.Command, flag string, f *clientFlags, appID *string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, ctx, cancel, ok := completionClient(cmd, f)
		if !ok || *appID == "" {
			if ok {
				cancel()
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer cancel()
		out, err := c.ListConnectors(ctx, *appID, client.Page{Size: completionPage})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var comps []cobra.Completion
		for _, v := range out.List {
			if v.Connector == nil {
				continue
			}
			if id := str(v.Connector.ID); strings.HasPrefix(id, prefix) {
				comps = append(comps, cobra.CompletionWithDesc(id, str(v.Connector.DisplayName)))
			}
		}
		return comps, cobra.ShellCompDirectiveNoFileComp
	})
}

// completionClient applies the environment and config file (cobra runs no
// PersistentPreRun for a completion) and returns a client with a deadline.
func completionClient(cmd *cobra.Command, f *clientFlags) (*client.Client, context.Context, context.CancelFunc, bool) {
	if err := applyDefaults(cmd); err != nil {
		return nil, nil, nil, false
	}
	c, err := f.client()
	if err != nil {
		return nil, nil, nil, false
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	return c, ctx, cancel, true
}
