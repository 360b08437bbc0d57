package main

import (
	"fmt"
	"io"
	"os/exec"
	"runtime"

	"github.com/conncred/conncred/apitype"
	"github.com/spf13/cobra"
)

// consoleCmd prints a one-time login link for the web console, made for
// the admin credential the command runs with (package console holds the
// rules, package webconsole the pages).
func consoleCmd() *cobra.Command {
	var f clientFlags
	var open bool
	cmd := &cobra.Command{
		Use:   "console [--open]",
		Short: "print a one-time link that signs you in to the web console",
		Long: `Asks the server for a one-time login link to the web console, made for this
command's admin credential (POST /api/v1/console/login-links), and prints it:
the link on stdout, when it expires on stderr. The link works once, for 10
minutes, and whoever opens it first is signed in as this credential, so keep
it to yourself until then. The session it starts ends after 30 minutes
without a request, 12 hours after sign-in, at sign-out, and as soon as this
credential is revoked or expires. Run the command again for a new link.

--open also hands the link to your browser (xdg-open; open on macOS). The
link is then on that command's command line while it runs, where other users
of this machine could read it; on a shared machine copy it instead.`,
		Example: `  conncred console
  conncred console --open
  conncred console --server https://conncred.example.com --credentials me.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			link, url, err := c.CreateConsoleLoginLink(cmd.Context())
			if err != nil {
				return err
			}
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if f.json {
				if err := printJSON(stdout, apitype.ConsoleLoginLinkResponse{ConsoleLoginLink: link, URL: url.Reveal()}); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(stdout, url.Reveal())
				fmt.Fprintf(stderr, "conncred: open this link in a browser to sign in to the web console; it works once, until %s\n", ts(&link.ExpiresAt))
			}
			if open {
				openBrowser(url.Reveal(), stderr)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&open, "open", false, "also open the link in your browser (the link is printed either way)")
	return cmd
}

// openBrowser opens url with the desktop's opener and waits for the
// opener (not the browser) to return, so that a failure can be reported.
// Failing is not an error of the command: the link is printed already.
func openBrowser(url string, stderr io.Writer) {
	name, args := "xdg-open", []string{url}
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	// The opener's own output is discarded: it may quote the link, which
	// is printed once already.
	if err := exec.Command(name, args...).Run(); err != nil {
		fmt.Fprintf(stderr, "conncred: could not open a browser with %s (%v); open the link yourself\n", name, err)
	}
}
