package main

import (
	"context"
	"fmt"
	"io"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
)

// The sync control verbs of `conncred connector`: they act on one
// connector (--app, --id) and print its sync status, as the control API
// answers it.

const exampleConnector = "--app 2HErg7BRmNdHgX8sTCWVq4E1fyh --id 2HErg7BRmNdHgX8sTCWVq4E1fyz"

// syncControlCmd makes a verb that calls one control operation.
func syncControlCmd(use, short, long, example string, call func(context.Context, *client.Client, string, string) (apitype.SyncStatusResponse, error)) *cobra.Command {
	var f connectorFlags
	cmd := &cobra.Command{
		Use:     use + " --app APP_ID --id CONNECTOR_ID",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"app", &f.appID}, required{"id", &f.id})
			if err != nil {
				return err
			}
			st, err := call(cmd.Context(), c, f.appID, f.id)
			if err != nil {
				return err
			}
			return printSyncStatus(cmd.OutOrStdout(), f.json, st)
		},
	}
	f.register(cmd, true)
	return cmd
}

func connectorStatusCmd() *cobra.Command {
	return syncControlCmd("status", "show a connector's sync status, schedule and whether its syncs are paused",
		`Shows the status of the connector's latest sync (SYNC_STATUS_RUNNING, _DONE,
_ERROR, or _DISABLED while paused), its schedule and the next scheduled sync.`,
		"  conncred connector status "+exampleConnector,
		func(ctx context.Context, c *client.Client, app, id string) (apitype.SyncStatusResponse, error) {
			return c.SyncStatus(ctx, app, id)
		})
}

func connectorSyncCmd() *cobra.Command {
	return syncControlCmd("sync", "start a sync of a connector now (its next GetTask hands it out)",
		`Starts a full sync now (the official ForceSync). The connector, running in
service mode, receives it on its next poll. Refused while syncs are paused or
while another sync of the connector is pending or running. The new sync's id
is printed (syncId in --json); follow it with `+"`conncred sync get`"+`.`,
		"  conncred connector sync "+exampleConnector,
		func(ctx context.Context, c *client.Client, app, id string) (apitype.SyncStatusResponse, error) {
			return c.ForceSync(ctx, app, id)
		})
}

func connectorPauseCmd() *cobra.Command {
	return syncControlCmd("pause", "pause a connector's syncs (scheduled and forced); a running sync finishes",
		"", "  conncred connector pause "+exampleConnector,
		func(ctx context.Context, c *client.Client, app, id string) (apitype.SyncStatusResponse, error) {
			return c.PauseSync(ctx, app, id)
		})
}

func connectorResumeCmd() *cobra.Command {
	return syncControlCmd("resume", "resume a connector's paused syncs",
		"", "  conncred connector resume "+exampleConnector,
		func(ctx context.Context, c *client.Client, app, id string) (apitype.SyncStatusResponse, error) {
			return c.ResumeSync(ctx, app, id)
		})
}

func connectorScheduleCmd() *cobra.Command {
	var spec, tz string
	var clear bool
	cmd := syncControlCmd("schedule", "set or clear a connector's sync schedule (cron, in a time zone)",
		`Sets the connector's sync schedule: a five-field cron spec (minute hour
day-of-month month day-of-week) read in an IANA time zone (default UTC).
--clear removes the schedule. A server that was down when a slot passed starts
one sync when it is back, not one per missed slot.`,
		`  conncred connector schedule `+exampleConnector+` --cron "0 3 * * *" --timezone Europe/Berlin
  conncred connector schedule `+exampleConnector+` --clear`,
		func(ctx context.Context, c *client.Client, app, id string) (apitype.SyncStatusResponse, error) {
			if (spec == "") == !clear {
				return apitype.SyncStatusResponse{}, usagef("give --cron SPEC, or --clear to remove the schedule")
			}
			return c.SetSchedule(ctx, app, id, spec, tz)
		})
	cmd.Use = "schedule --app APP_ID --id CONNECTOR_ID (--cron SPEC [--timezone TZ] | --clear)"
	cmd.Flags().StringVar(&spec, "cron", "", `five-field cron spec, e.g. "0 3 * * *" (03:00 every day)`)
	cmd.Flags().StringVar(&tz, "timezone", "", "IANA time zone the spec is read in, e.g. Europe/Berlin (default UTC)")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the schedule")
	return cmd
}

// printSyncStatus prints a control call's answer: a table, or the API's own
// body.
func printSyncStatus(w io.Writer, asJSON bool, st apitype.SyncStatusResponse) error {
	if asJSON {
		return printJSON(w, st)
	}
	sched := "-"
	if st.Schedule != nil && st.Schedule.CronSpec != "" {
		sched = st.Schedule.CronSpec
		if st.Schedule.Timezone != "" {
			sched += " (" + st.Schedule.Timezone + ")"
		}
	}
	lastErr := st.Status.LastError
	if lastErr == "" {
		lastErr = "-"
	}
	if err := table(w, []string{"STATUS", "STARTED", "COMPLETED", "LAST ERROR", "PAUSED", "SCHEDULE", "NEXT SYNC"},
		[][]string{{st.Status.Status, ts(st.Status.StartedAt), ts(st.Status.CompletedAt), lastErr, ts(st.SyncDisabledAt), sched, ts(st.NextSyncAt)}}); err != nil {
		return err
	}
	if st.SyncID != "" {
		_, err := fmt.Fprintf(w, "started sync %s\n", st.SyncID)
		return err
	}
	return nil
}
