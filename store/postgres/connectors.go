package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CreateConnector inserts a connector under an existing app; an unknown app
// fails the foreign key, which is ENotFound.
func (s *Store) CreateConnector(ctx context.Context, c conncred.Connector) error {
	return s.exec(ctx, `INSERT INTO connectors (id, app_id, catalog_id, display_name, description, user_ids, created_at, updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, c.AppID, c.CatalogID, c.DisplayName, c.Description, userIDs(c.UserIDs), c.CreatedAt, c.UpdatedAt, c.DeletedAt)
}

// userIDs stores a nil list as an empty array: the column is NOT NULL.
func userIDs(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

const connectorCols = `id, app_id, catalog_id, display_name, description, user_ids, created_at, updated_at, deleted_at`

func scanConnector(row pgx.Row) (conncred.Connector, error) {
	var c conncred.Connector
	err := row.Scan(&c.ID, &c.AppID, &c.CatalogID, &c.DisplayName, &c.Description, &c.UserIDs, &c.CreatedAt, &c.UpdatedAt, &c.DeletedAt)
	if len(c.UserIDs) == 0 {
		c.UserIDs = nil
	}
	c.CreatedAt, c.UpdatedAt, c.DeletedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC(), utc(c.DeletedAt)
	return c, err
}

// GetConnector returns a connector, deleted or not.
func (s *Store) GetConnector(ctx context.Context, id string) (conncred.Connector, error) {
	var cn conncred.Connector
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		cn, err = scanConnector(c.QueryRow(ctx, `SELECT `+connectorCols+` FROM connectors WHERE id = $1`, id))
		return err
	})
	return cn, err
}

// ListConnectors returns an app's connectors in id order.
func (s *Store) ListConnectors(ctx context.Context, appID string, opt conncred.ListOptions) ([]conncred.Connector, error) {
	return list(ctx, s, scanConnector, `SELECT `+connectorCols+` FROM connectors
		WHERE app_id = $1 AND id > $2 AND ($3 OR deleted_at IS NULL) ORDER BY id LIMIT $4`,
		appID, opt.After, opt.IncludeDeleted, limitArg(opt.Limit))
}

// UpdateConnector replaces a live connector's mutable fields.
func (s *Store) UpdateConnector(ctx context.Context, c conncred.Connector) error {
	return s.execOne(ctx, `UPDATE connectors SET display_name = $1, description = $2, user_ids = $3, updated_at = $4
		WHERE id = $5 AND deleted_at IS NULL`, c.DisplayName, c.Description, userIDs(c.UserIDs), c.UpdatedAt, c.ID)
}

// DeleteConnector soft-deletes a connector with its credentials and
// announces the credentials it revoked to every node.
func (s *Store) DeleteConnector(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM connectors WHERE id = $1 FOR NO KEY UPDATE`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE connectors SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		return revokeWhere(ctx, tx, `connector_id = $2`, at, id)
	})
}
