package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CreateApp inserts an app.
func (s *Store) CreateApp(ctx context.Context, a conncred.App) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO apps (id, display_name, description, created_at, updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, a.DisplayName, a.Description, a.CreatedAt, a.UpdatedAt, a.DeletedAt)
	return dbErr(err)
}

const appCols = `id, display_name, description, created_at, updated_at, deleted_at`

func scanApp(row pgx.Row) (conncred.App, error) {
	var a conncred.App
	err := row.Scan(&a.ID, &a.DisplayName, &a.Description, &a.CreatedAt, &a.UpdatedAt, &a.DeletedAt)
	a.CreatedAt, a.UpdatedAt, a.DeletedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC(), utc(a.DeletedAt)
	return a, err
}

// GetApp returns an app, deleted or not.
func (s *Store) GetApp(ctx context.Context, id string) (conncred.App, error) {
	a, err := scanApp(s.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1`, id))
	return a, dbErr(err)
}

// ListApps returns apps in id order.
func (s *Store) ListApps(ctx context.Context, opt conncred.ListOptions) ([]conncred.App, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+appCols+` FROM apps WHERE id > $1 AND ($2 OR deleted_at IS NULL) ORDER BY id LIMIT $3`,
		opt.After, opt.IncludeDeleted, limitArg(opt.Limit))
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conncred.App, error) { return scanApp(r) })
	return out, dbErr(err)
}

// UpdateApp replaces a live app's mutable fields.
func (s *Store) UpdateApp(ctx context.Context, a conncred.App) error {
	tag, err := s.pool.Exec(ctx, `UPDATE apps SET display_name = $1, description = $2, updated_at = $3 WHERE id = $4 AND deleted_at IS NULL`,
		a.DisplayName, a.Description, a.UpdatedAt, a.ID)
	return affected(tag, err)
}

// DeleteApp soft-deletes an app with its connectors and credentials, and
// tells every node to drop its credential cache.
func (s *Store) DeleteApp(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM apps WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE apps SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`,
			`UPDATE connectors SET deleted_at = $1, updated_at = $1 WHERE app_id = $2 AND deleted_at IS NULL`,
			`UPDATE credentials SET deleted_at = $1, updated_at = $1 WHERE app_id = $2 AND deleted_at IS NULL`,
		} {
			if _, err := tx.Exec(ctx, q, at, id); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, '*')`, revocationChannel)
		return err
	})
}

// CreateConnector inserts a connector under an existing app.
func (s *Store) CreateConnector(ctx context.Context, c conncred.Connector) error {
	users := c.UserIDs
	if users == nil {
		users = []string{}
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM apps WHERE id = $1`, c.AppID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO connectors (id, app_id, catalog_id, display_name, description, user_ids, created_at, updated_at, deleted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.ID, c.AppID, c.CatalogID, c.DisplayName, c.Description, users, c.CreatedAt, c.UpdatedAt, c.DeletedAt)
		return err
	})
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
	c, err := scanConnector(s.pool.QueryRow(ctx, `SELECT `+connectorCols+` FROM connectors WHERE id = $1`, id))
	return c, dbErr(err)
}

// ListConnectors returns an app's connectors in id order.
func (s *Store) ListConnectors(ctx context.Context, appID string, opt conncred.ListOptions) ([]conncred.Connector, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+connectorCols+` FROM connectors WHERE app_id = $1 AND id > $2 AND ($3 OR deleted_at IS NULL) ORDER BY id LIMIT $4`,
		appID, opt.After, opt.IncludeDeleted, limitArg(opt.Limit))
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conncred.Connector, error) { return scanConnector(r) })
	return out, dbErr(err)
}

// UpdateConnector replaces a live connector's mutable fields.
func (s *Store) UpdateConnector(ctx context.Context, c conncred.Connector) error {
	users := c.UserIDs
	if users == nil {
		users = []string{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE connectors SET display_name = $1, description = $2, user_ids = $3, updated_at = $4 WHERE id = $5 AND deleted_at IS NULL`,
		c.DisplayName, c.Description, users, c.UpdatedAt, c.ID)
	return affected(tag, err)
}

// DeleteConnector soft-deletes a connector with its credentials and tells
// every node to drop its credential cache.
func (s *Store) DeleteConnector(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM connectors WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE connectors SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE credentials SET deleted_at = $1, updated_at = $1 WHERE connector_id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, '*')`, revocationChannel)
		return err
	})
}

// exists returns ENotFound unless query finds a row.
func exists(ctx context.Context, tx pgx.Tx, query string, args ...any) error {
	var one int
	err := tx.QueryRow(ctx, query, args...).Scan(&one)
	if err == pgx.ErrNoRows {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return err
}

func affected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() == 0 {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return nil
}
