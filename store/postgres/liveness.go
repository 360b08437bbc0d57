package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NoteConnectorsSeen moves each connector's last-seen time forward, never
// back, in one transaction. A connector deleted meanwhile is skipped.
func (s *Store) NoteConnectorsSeen(ctx context.Context, seen []policy.ConnectorSeen) error {
	if len(seen) == 0 {
		return nil
	}
	ids := make([]string, len(seen))
	ats := make([]time.Time, len(seen))
	for i, c := range seen {
		ids[i], ats[i] = c.ConnectorID, c.At
	}
	// One statement for the batch; ORDER BY takes the rows' locks in one
	// order on every node, so two nodes' batches cannot deadlock.
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connector_seen (connector_id, last_seen_at)
			SELECT c.id, v.at FROM unnest($1::text[], $2::timestamptz[]) AS v(id, at) JOIN connectors c ON c.id = v.id
			ORDER BY c.id
			ON CONFLICT (connector_id) DO UPDATE SET last_seen_at = GREATEST(connector_seen.last_seen_at, EXCLUDED.last_seen_at)`, ids, ats)
		return err
	})
}

// ConnectorActivity returns a page of the live connectors with a baton
// host: the hosts' last Hello joined with the written-behind last-seen.
func (s *Store) ConnectorActivity(ctx context.Context, after string, limit int) ([]policy.ConnectorActivity, error) {
	var out []policy.ConnectorActivity
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		out = nil
		rows, err := c.Query(ctx, `SELECT c.id, c.app_id, c.display_name, count(*), max(h.last_seen_at), s.last_seen_at, s.offline_since
			FROM connectors c
			JOIN apps a ON a.id = c.app_id AND a.deleted_at IS NULL
			JOIN baton_hosts h ON h.connector_id = c.id
			LEFT JOIN connector_seen s ON s.connector_id = c.id
			WHERE c.deleted_at IS NULL AND c.id > $1
			GROUP BY c.id, c.app_id, c.display_name, s.last_seen_at, s.offline_since
			ORDER BY c.id LIMIT $2`, after, limitArg(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a policy.ConnectorActivity
			var hello time.Time
			var seen, since *time.Time
			if err := rows.Scan(&a.ConnectorID, &a.AppID, &a.DisplayName, &a.Hosts, &hello, &seen, &since); err != nil {
				return err
			}
			a.LastSeen = hello.UTC()
			if seen != nil && seen.After(hello) {
				a.LastSeen = seen.UTC()
			}
			if since != nil {
				t := since.UTC()
				a.OfflineSince = &t
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// EmitConnectorEvent records k, opens or closes the connector's offline
// period, appends e and enqueues events, in one transaction, unless k is
// recorded already (by this node or another: the primary key decides).
func (s *Store) EmitConnectorEvent(ctx context.Context, k policy.EventKey, offline bool, e conncred.AuditEvent, events []webhook.Event) (bool, error) {
	return s.emitOnce(ctx, k, e, events, func(tx pgx.Tx) error {
		var err error
		if offline {
			_, err = tx.Exec(ctx, `INSERT INTO connector_seen (connector_id, last_seen_at, offline_since) VALUES ($1, $2, $2)
				ON CONFLICT (connector_id) DO UPDATE SET offline_since = EXCLUDED.offline_since`, k.CredentialID, k.Threshold)
		} else {
			_, err = tx.Exec(ctx, `UPDATE connector_seen SET offline_since = NULL WHERE connector_id = $1 AND offline_since = $2`,
				k.CredentialID, k.Threshold)
		}
		return err
	})
}
