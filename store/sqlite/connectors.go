package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/conncred/conncred"
)

const connectorCols = `id, app_id, catalog_id, display_name, description, user_ids, created_us, updated_us, deleted_us`

func scanConnector(row scanner) (conncred.Connector, error) {
	var c conncred.Connector
	var users string
	var created, updated int64
	var deleted sql.NullInt64
	if err := row.Scan(&c.ID, &c.AppID, &c.CatalogID, &c.DisplayName, &c.Description, &users, &created, &updated, &deleted); err != nil {
		return conncred.Connector{}, err
	}
	if err := json.Unmarshal([]byte(users), &c.UserIDs); err != nil {
		return conncred.Connector{}, err
	}
	if len(c.UserIDs) == 0 {
		c.UserIDs = nil
	}
	c.CreatedAt, c.UpdatedAt, c.DeletedAt = fromUS(created), fromUS(updated), fromNullUS(deleted)
	return c, nil
}

// userIDs encodes a connector's user ids as a JSON array, "[]" for none:
// they are only ever read and written whole, with the connector.
func userIDs(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // a []string always encodes
	return string(b)
}

// CreateConnector inserts a connector; its app must exist (else ENotFound),
// deleted or not: which apps take connectors is the authority's rule.
func (s *Store) CreateConnector(ctx context.Context, c conncred.Connector) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO connectors (`+connectorCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.AppID, c.CatalogID, c.DisplayName, c.Description, userIDs(c.UserIDs),
		us(c.CreatedAt), us(c.UpdatedAt), usPtr(c.DeletedAt))
	return dbErr(err) // an unknown app fails the foreign key: ENotFound
}

// GetConnector returns a connector, deleted or not.
func (s *Store) GetConnector(ctx context.Context, id string) (conncred.Connector, error) {
	c, err := scanConnector(s.r.QueryRowContext(ctx, `SELECT `+connectorCols+` FROM connectors WHERE id = ?`, id))
	return c, dbErr(err)
}

// ListConnectors returns a page of an app's connectors in ID order.
func (s *Store) ListConnectors(ctx context.Context, appID string, opt conncred.ListOptions) ([]conncred.Connector, error) {
	return queryAll(ctx, s.r, scanConnector, `SELECT `+connectorCols+` FROM connectors
		WHERE app_id = ? AND id > ? AND (? OR deleted_us IS NULL) ORDER BY id LIMIT ?`,
		appID, opt.After, opt.IncludeDeleted, pageLimit(opt.Limit))
}

// UpdateConnector replaces a live connector's mutable fields: DisplayName,
// Description, UserIDs and UpdatedAt.
func (s *Store) UpdateConnector(ctx context.Context, c conncred.Connector) error {
	return affected(s.w.ExecContext(ctx, `UPDATE connectors SET display_name = ?, description = ?, user_ids = ?, updated_us = ?
		WHERE id = ? AND deleted_us IS NULL`, c.DisplayName, c.Description, userIDs(c.UserIDs), us(c.UpdatedAt), c.ID))
}

// DeleteConnector marks a connector and its credentials deleted in one
// transaction, keeping the first DeletedAt of each.
func (s *Store) DeleteConnector(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, `SELECT 1 FROM connectors WHERE id = ?`, id); err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE connectors SET deleted_us = ?1, updated_us = ?1 WHERE id = ?2 AND deleted_us IS NULL`,
			`UPDATE credentials SET deleted_us = ?1, updated_us = ?1 WHERE connector_id = ?2 AND deleted_us IS NULL`,
		} {
			if _, err := tx.ExecContext(ctx, q, us(at), id); err != nil {
				return err
			}
		}
		return nil
	})
}
