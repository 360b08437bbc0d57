package sqlite

import (
	"context"
	"database/sql"

	"github.com/conncred/conncred/webhook"
)

// This file joins the wings' stores: the policy wing's changes and
// scheduler events enter the webhook outbox in the transaction that
// records them (policies.go calls enqueueIfSubscribed).

// enqueueIfSubscribed enqueues events in tx while a live webhook endpoint
// exists, the condition the outbox's triggers (migration 0009) use, so that
// a server without webhooks does not fill an outbox nobody drains.
func enqueueIfSubscribed(ctx context.Context, tx *sql.Tx, events []webhook.Event) error {
	if len(events) == 0 {
		return nil
	}
	var live bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE deleted_us IS NULL)`).Scan(&live); err != nil || !live {
		return err
	}
	return enqueueWebhookEvents(ctx, tx, events)
}
