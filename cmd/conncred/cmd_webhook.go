package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
)

// webhookCmd manages the endpoints that receive conncred's events (a
// conncred extension; package webhook holds the rules).
func webhookCmd() *cobra.Command {
	return group("webhook", "add, list, get, delete and test webhook endpoints; see and redeliver their deliveries",
		"  conncred webhook list",
		webhookAddCmd(), webhookListCmd(), webhookGetCmd(), webhookDeleteCmd(), webhookTestCmd(), webhookDeliveriesCmd(), webhookRedeliverCmd())
}

// webhookSecretWarning goes to stderr beside a printed signing secret.
const webhookSecretWarning = "conncred: this is the only time the webhook signing secret is shown; give it to the receiver now (the server keeps it sealed and cannot show it again)"

// webhookSecretFile is what `webhook add --out` writes: the endpoint's id
// and the secret its receiver verifies v1 signatures with.
type webhookSecretFile struct {
	WebhookID     string `json:"webhookId"`
	SigningSecret string `json:"signingSecret"`
}

func webhookAddCmd() *cobra.Command {
	var f clientFlags
	var req apitype.CreateWebhookRequest
	var out string
	cmd := &cobra.Command{
		Use:   "add --url URL [--description TEXT] [--signing hmac|ed25519] [--event TYPE]... [--out FILE]",
		Short: "add an endpoint that receives events signed per Standard Webhooks",
		Long: `Adds a webhook endpoint. The URL must be https (plain http only to loopback on
a server started with --webhook-allow-loopback-http). With --signing hmac (the
default) the endpoint gets its own signing secret (whsec_...), printed once on
stdout, or with --out written to a new 0600 file that is never overwritten;
the server keeps it sealed and cannot show it again. With --signing ed25519
there is no secret: receivers verify v1a signatures with the server's public
key (GET /api/v1/webhooks/signing-key). --event limits the endpoint to some
event types (default: every type).`,
		Example: `  conncred webhook add --url https://hooks.example.com/conncred --event credential.expiring --event credential.dormant --out hook-secret.json
  conncred webhook add --url https://hooks.example.com/conncred --signing ed25519 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out != "" && req.Signing == "ed25519" {
				return usagef("--out writes the signing secret, and an ed25519 endpoint has none: drop --out")
			}
			c, err := f.prepare(required{"url", &req.URL})
			if err != nil {
				return err
			}
			// The file is reserved before the endpoint exists, so a path
			// that cannot be written fails before a secret would be lost.
			file, err := reserveOut(out)
			if err != nil {
				return err
			}
			wh, sec, hasSecret, err := c.CreateWebhook(cmd.Context(), req)
			if err != nil {
				file.abandon()
				return err
			}
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if !hasSecret {
				file.abandon()
				return printWebhook(stdout, f.json, wh)
			}
			if file != nil {
				if err := file.fill(webhookSecretFile{WebhookID: wh.ID, SigningSecret: sec.Reveal()}); err != nil {
					file.abandon()
					return fmt.Errorf("webhook %s was added but writing --out %s failed, so its signing secret is lost: %v (delete it and add it again)", wh.ID, out, err)
				}
				fmt.Fprintf(stderr, "conncred: the webhook's signing secret is in %s (mode 0600)\n", out)
				return printWebhook(stdout, f.json, wh)
			}
			if f.json {
				return printJSON(stdout, apitype.CreateWebhookResponse{Webhook: wh, SigningSecret: sec.Reveal()})
			}
			if err := webhookTable(stdout, wh); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\nsigningSecret: %s\n", sec.Reveal())
			fmt.Fprintln(stderr, webhookSecretWarning)
			return nil
		},
	}
	f.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&req.URL, "url", "", "https URL events are posted to (required)")
	fl.StringVar(&req.Description, "description", "", "what the endpoint is for (at most 200 characters)")
	fl.StringVar(&req.Signing, "signing", "", `"hmac" (the endpoint's own secret, v1 signatures; the default) or "ed25519" (the server's published key, v1a)`)
	fl.StringSliceVar(&req.EventTypes, "event", nil, "event type to deliver (repeatable, or comma-separated; default: every type), e.g. credential.expiring")
	fl.StringVar(&out, "out", "", `write {"webhookId","signingSecret"} to this new file (mode 0600; never overwritten) instead of printing the secret`)
	return cmd
}

func webhookListCmd() *cobra.Command {
	var f clientFlags
	var p client.Page
	var all bool
	cmd := &cobra.Command{
		Use:     "list [--all] [--page-size N] [--page-token T]",
		Short:   "list webhook endpoints, oldest first",
		Example: "  conncred webhook list --all",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			out, err := c.ListWebhooks(cmd.Context(), p, all)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if err := webhookTable(cmd.OutOrStdout(), out.List...); err != nil {
				return err
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "include deleted endpoints")
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "endpoints per page (default 50, at most 1000)")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

// webhookIDCmd is a command that takes --id and calls run with the client.
func webhookIDCmd(use, short, example string, run func(cmd *cobra.Command, f *clientFlags, c *client.Client, id string) error) *cobra.Command {
	var f clientFlags
	var id string
	cmd := &cobra.Command{
		Use: use, Short: short, Example: example, Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			return run(cmd, &f, c, id)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "webhook endpoint id (required)")
	return cmd
}

func webhookGetCmd() *cobra.Command {
	return webhookIDCmd("get --id WEBHOOK_ID", "show a webhook endpoint (never its secret)",
		"  conncred webhook get --id 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		func(cmd *cobra.Command, f *clientFlags, c *client.Client, id string) error {
			wh, err := c.GetWebhook(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printWebhook(cmd.OutOrStdout(), f.json, wh)
		})
}

func webhookDeleteCmd() *cobra.Command {
	return webhookIDCmd("delete --id WEBHOOK_ID", "delete a webhook endpoint: its secret is dropped and its pending deliveries become dead",
		"  conncred webhook delete --id 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		func(cmd *cobra.Command, f *clientFlags, c *client.Client, id string) error {
			if err := c.DeleteWebhook(cmd.Context(), id); err != nil {
				return err
			}
			return printDone(cmd.OutOrStdout(), f.json, "deleted webhook "+id)
		})
}

func webhookTestCmd() *cobra.Command {
	return webhookIDCmd("test --id WEBHOOK_ID", "send a webhook.test event to one endpoint; see it with `webhook deliveries`",
		"  conncred webhook test --id 2HErg7BRmNdHgX8sTCWVq4E1fyh",
		func(cmd *cobra.Command, f *clientFlags, c *client.Client, id string) error {
			ev, err := c.TestWebhook(cmd.Context(), id)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), apitype.TestWebhookResponse{EventID: ev})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "enqueued test event %s (the receiver sees it as webhook-id)\n", ev)
			return err
		})
}

func webhookDeliveriesCmd() *cobra.Command {
	var f clientFlags
	var id string
	var q client.DeliveryQuery
	cmd := &cobra.Command{
		Use:   "deliveries --id WEBHOOK_ID [--state pending|succeeded|dead] [--attempts N] [--page-size N] [--page-token T]",
		Short: "show an endpoint's deliveries and its delivery log (status, latency, response code; never a body)",
		Example: `  conncred webhook deliveries --id 2HErg7BRmNdHgX8sTCWVq4E1fyh --state dead
  conncred webhook deliveries --id 2HErg7BRmNdHgX8sTCWVq4E1fyh --attempts 20 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id})
			if err != nil {
				return err
			}
			out, err := c.ListWebhookDeliveries(cmd.Context(), id, q)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, out)
			}
			rows := make([][]string, 0, len(out.List))
			for _, d := range out.List {
				rows = append(rows, []string{d.EventID, d.EventType, d.State, strconv.Itoa(d.Attempts), ts(d.NextAt), code(d.LastCode), dash(d.LastError)})
			}
			if err := table(w, []string{"EVENT ID", "TYPE", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "LAST CODE", "LAST ERROR"}, rows); err != nil {
				return err
			}
			if len(out.Attempts) > 0 {
				fmt.Fprintln(w, "\ndelivery log, newest first:")
				rows = rows[:0]
				for _, a := range out.Attempts {
					rows = append(rows, []string{ts(a.At), a.EventID, strconv.Itoa(a.Attempt), a.Outcome, code(a.ResponseCode), strconv.FormatFloat(a.LatencyMs, 'f', 1, 64), dash(a.Error)})
				}
				if err := table(w, []string{"AT", "EVENT ID", "ATTEMPT", "OUTCOME", "CODE", "LATENCY MS", "ERROR"}, rows); err != nil {
					return err
				}
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&id, "id", "", "webhook endpoint id (required)")
	fl.StringVar(&q.State, "state", "", "only deliveries in this state: pending, succeeded or dead (default: all)")
	fl.IntVar(&q.Attempts, "attempts", 0, "lines of the delivery log to show (default 100, at most 1000)")
	fl.IntVar(&q.Page.Size, "page-size", 0, "deliveries per page (default 50, at most 1000)")
	fl.StringVar(&q.Page.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func webhookRedeliverCmd() *cobra.Command {
	var f clientFlags
	var id, event string
	cmd := &cobra.Command{
		Use:     "redeliver --id WEBHOOK_ID --event EVENT_ID",
		Short:   "send an event to an endpoint again with a fresh retry budget (a dead letter included)",
		Example: "  conncred webhook redeliver --id 2HErg7BRmNdHgX8sTCWVq4E1fyh --event msg_2HErg7BRmNdHgX8sTCWVq4E1fyz",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"id", &id}, required{"event", &event})
			if err != nil {
				return err
			}
			if err := c.RedeliverWebhook(cmd.Context(), id, event); err != nil {
				return err
			}
			return printDone(cmd.OutOrStdout(), f.json, "redelivering event "+event+" to webhook "+id)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "webhook endpoint id (required)")
	cmd.Flags().StringVar(&event, "event", "", "event id, as `webhook deliveries` lists it (required)")
	return cmd
}

// printWebhook prints one endpoint: a table, or the API's {"webhook": ...}.
func printWebhook(w io.Writer, asJSON bool, wh *apitype.Webhook) error {
	if asJSON {
		return printJSON(w, apitype.WebhookResponse{Webhook: wh})
	}
	return webhookTable(w, wh)
}

func webhookTable(w io.Writer, hooks ...*apitype.Webhook) error {
	rows := make([][]string, 0, len(hooks))
	for _, h := range hooks {
		rows = append(rows, []string{h.ID, h.URL, h.Signing, strings.Join(h.EventTypes, ","), dash(h.Description), ts(h.CreatedAt), ts(h.DeletedAt)})
	}
	return table(w, []string{"ID", "URL", "SIGNING", "EVENTS", "DESCRIPTION", "CREATED", "DELETED"}, rows)
}

// code shows an HTTP status, or - for no response.
func code(c int) string {
	if c == 0 {
		return "-"
	}
	return strconv.Itoa(c)
}
