package sqlite

import (
	"context"
	"database/sql"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webhook"
)

// NoteConnectorsSeen moves each connector's last-seen time forward, never
// back, in one transaction. A connector deleted meanwhile is skipped (the
// foreign key would refuse it, and it is no longer watched).
func (s *Store) NoteConnectorsSeen(ctx context.Context, seen []policy.ConnectorSeen) error {
	if len(seen) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range seen {
			if _, err := tx.ExecContext(ctx, `INSERT INTO connector_seen (connector_id, last_seen_us)
				SELECT id, ?2 FROM connectors WHERE id = ?1
				ON CONFLICT (connector_id) DO UPDATE SET last_seen_us = max(connector_seen.last_seen_us, excluded.last_seen_us)`,
				c.ConnectorID, us(c.At)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ConnectorActivity returns a page of the live connectors with a baton
// host: the hosts' last Hello joined with the written-behind last-seen.
func (s *Store) ConnectorActivity(ctx context.Context, after string, limit int) ([]policy.ConnectorActivity, error) {
	return queryAll(ctx, s.r, func(row scanner) (policy.ConnectorActivity, error) {
		var a policy.ConnectorActivity
		var hello int64
		var seen, since sql.NullInt64
		if err := row.Scan(&a.ConnectorID, &a.AppID, &a.DisplayName, &a.Hosts, &hello, &seen, &since); err != nil {
			return a, err
		}
		a.LastSeen = fromUS(max(hello, seen.Int64))
		a.OfflineSince = fromNullUS(since)
		return a, nil
	}, `SELECT c.id, c.app_id, c.display_name, count(*), max(h.last_seen_us), s.last_seen_us, s.offline_since_us
		FROM connectors c
		JOIN apps a ON a.id = c.app_id AND a.deleted_us IS NULL
		JOIN baton_hosts h ON h.connector_id = c.id
		LEFT JOIN connector_seen s ON s.connector_id = c.id
		WHERE c.deleted_us IS NULL AND c.id > ?
		GROUP BY c.id, c.app_id, c.display_name, s.last_seen_us, s.offline_since_us
		ORDER BY c.id LIMIT ?`, after, pageLimit(limit))
}

// EmitConnectorEvent records k, opens or closes the connector's offline
// period, appends e and enqueues events, in one transaction, unless k is
// recorded already.
func (s *Store) EmitConnectorEvent(ctx context.Context, k policy.EventKey, offline bool, e conncred.AuditEvent, events []webhook.Event) (bool, error) {
	return s.emitOnce(ctx, k, e, events, func(tx *sql.Tx) error {
		var err error
		if offline {
			_, err = tx.ExecContext(ctx, `INSERT INTO connector_seen (connector_id, last_seen_us, offline_since_us) VALUES (?1, ?2, ?2)
				ON CONFLICT (connector_id) DO UPDATE SET offline_since_us = ?2`, k.CredentialID, us(k.Threshold))
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE connector_seen SET offline_since_us = NULL WHERE connector_id = ? AND offline_since_us = ?`,
				k.CredentialID, us(k.Threshold))
		}
		return err
	})
}
