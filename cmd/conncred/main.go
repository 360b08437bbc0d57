// Command conncred runs the conncred server and administers it.
//
// The command line is built on cobra and pflag, the convention kubectl, gh and hugo follow,
// so --flags, help, exit codes and shell completion behave as operators already expect.
//
// Exit status: 0 on success and for --help, 2 for a usage mistake (unknown
// command or flag, missing or malformed flag), 1 for any other failure.
// Every flag can also come from CONNCRED_<FLAG> in the environment or from a
// TOML --config file; a flag wins over the environment, which wins over the
// file, which wins over the default (config.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// usageError is a mistake in how a command was called (exit status 2).
type usageError struct {
	err error
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error.
func usagef(format string, a ...any) error { return usageError{err: fmt.Errorf(format, a...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return exitCode(cmd, err, stderr)
}

// exitCode reports err on stderr and maps it to the exit status.
func exitCode(cmd *cobra.Command, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	path := "conncred"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", path, err, path)
		return 2
	}
	fmt.Fprintf(stderr, "conncred: %v\n", err)
	return 1
}

// newRoot builds the whole command tree. It is built anew per run so that
// no flag value leaks from one run (or test) into the next.
func newRoot() *cobra.Command {
	cobra.EnableCommandSorting = false // list commands in the order an operator meets them
	root := &cobra.Command{
		Use:   "conncred",
		Short: "issue, rotate, revoke and authenticate connector credentials",
		Long: `conncred issues, rotates, revokes and authenticates connector credentials.

Every flag can also be set as CONNCRED_<FLAG> in the environment
(--max-active-credentials: CONNCRED_MAX_ACTIVE_CREDENTIALS) or as a key of
the TOML file given by --config (env CONNCRED_CONFIG); a flag wins over the
environment, which wins over the file.`,
		Example: `  conncred serve --dev                 # start here: a local server with a dev CA
  conncred whoami                      # in another terminal, same directory
  conncred app create --name Okta
  source <(conncred completion bash)   # tab completion, ids included`,
		Version:       versionInfo().line(),
		SilenceErrors: true, // exitCode reports them, with the right status
		SilenceUsage:  true, // a failed call is not a reason to print all flags
		// "conncred nosuch --server X" is an unknown command, not an unknown flag.
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("no command given")
			}
			return usageError{err: errors.New(fmt.Sprintf("unknown command %q", args[0]) + suggest(cmd, args[0]))}
		},
		RunE:              func(*cobra.Command, []string) error { return nil }, // unreachable: Args refuses every call
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyDefaults(cmd) },
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.PersistentFlags().String("config", "", "TOML file of flag defaults, keys named as the flags (env CONNCRED_CONFIG)")
	root.AddCommand(
		serveCmd(),
		migrateCmd(),
		appCmd(),
		connectorCmd(),
		syncCmd(),
		credentialCmd(),
		adminCmd(),
		settingsCmd(),
		policyCmd(),
		trustCmd(),
		webhookCmd(),
		consoleCmd(),
		keysCmd(),
		auditCmd(),
		tokenCmd(),
		whoamiCmd(),
		versionCmd(),
	)
	// Made here, not lazily at Execute, so they carry examples like the
	// rest and show in the tree the tests walk.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  conncred help credential rotate"
		case "completion":
			c.Example = "  source <(conncred completion bash)\n  conncred completion zsh > \"${fpath[1]}/_conncred\"\n  conncred completion fish > ~/.config/fish/completions/conncred.fish"
			for _, sh := range c.Commands() {
				sh.Example = "  conncred completion " + sh.Name() + " --help"
			}
		}
	}
	// Each Use line spells the command's own flags already.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root
}

// group makes a command that only holds verbs: called without one, or
// with an unknown one, it is a usage error naming the verbs.
func group(name, short, example string, verbs ...*cobra.Command) *cobra.Command {
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = v.Name()
	}
	g := &cobra.Command{
		Use:     name + " <" + strings.Join(names, "|") + ">",
		Short:   short,
		Example: example,
		// "conncred app nosuch --id X" is an unknown verb, not an unknown flag.
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("which %s command? one of %s", name, strings.Join(names, ", "))
			}
			return usagef("unknown %s command %q; one of %s%s", name, args[0], strings.Join(names, ", "), suggest(cmd, args[0]))
		},
		RunE: func(*cobra.Command, []string) error { return nil }, // unreachable: Args refuses every call
	}
	g.AddCommand(verbs...)
	return g
}

// singleDash matches pflag's complaint about a Go-style "-flag".
var singleDash = regexp.MustCompile(`^unknown shorthand flag: '.' in -([a-z][a-z0-9-]+)`)

// flagError makes a flag mistake a usage error. Before cobra, "-dev" worked
// as Go's flag package reads it; pflag needs "--dev", so say so.
func flagError(cmd *cobra.Command, err error) error {
	if m := singleDash.FindStringSubmatch(err.Error()); m != nil {
		name, _, _ := strings.Cut(m[1], "=")
		if cmd.Flags().Lookup(name) != nil {
			return usagef("-%s: long flags take two dashes: --%s", m[1], m[1])
		}
	}
	return usageError{err: err}
}

// suggest names the subcommands of cmd close to typed, if any.
func suggest(cmd *cobra.Command, typed string) string {
	cmd.SuggestionsMinimumDistance = 2
	if s := cmd.SuggestionsFor(typed); len(s) > 0 {
		return "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return ""
}

// noArgs refuses positional arguments: every input is a flag.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q (every input is a --flag)", args[0])
	}
	return nil
}
