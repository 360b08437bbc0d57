// Command conncred runs the conncred server and administers it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"migrate", "apply or show database migrations", runMigrate},
		{"app", "create, get, list, update and delete apps", runApp},
		{"connector", "create, get, list, update and delete connectors", runConnector},
		{"credential", "rotate, get, list and revoke connector credentials", runCredential},
		{"admin", "create, get, list and revoke admin (personal client) credentials", runAdmin},
		{"keys", "list and rotate the server's token signing keys", runKeys},
		{"audit", "read the audit trail", runAudit},
		{"token", "exchange a credential for an access token and print it", runToken},
		{"whoami", "show who the current credential is", runWhoami},
		{"version", "print the version", runVersion},
	}
}

// usageError is a mistake in how a command was called (exit status 2).
type usageError struct {
	err     error
	printed bool // the flag package already told the user
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errHelp):
			return 0
		case errors.As(err, &ue):
			if !ue.printed {
				fmt.Fprintf(stderr, "conncred %s: %v\n", c.name, err)
			}
			return 2
		default:
			fmt.Fprintf(stderr, "conncred: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "conncred: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "conncred issues, rotates, revokes and authenticates connector credentials.")
	fmt.Fprintln(w, "\nUsage: conncred <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun 'conncred <command> --help' for a command's flags and an example.")
	fmt.Fprintln(w, "\nStart here:\n  conncred serve --dev")
}
