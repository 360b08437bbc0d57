package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CreateApp inserts an app.
func (s *Store) CreateApp(ctx context.Context, a conncred.App) error {
	return s.exec(ctx, `INSERT INTO apps (id, display_name, description, created_at, updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, a.DisplayName, a.Description, a.CreatedAt, a.UpdatedAt, a.DeletedAt)
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
	var a conncred.App
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		a, err = scanApp(c.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1`, id))
		return err
	})
	return a, err
}

// ListApps returns apps in id order.
func (s *Store) ListApps(ctx context.Context, opt conncred.ListOptions) ([]conncred.App, error) {
	return list(ctx, s, scanApp, `SELECT `+appCols+` FROM apps WHERE id > $1 AND ($2 OR deleted_at IS NULL) ORDER BY id LIMIT $3`,
		opt.After, opt.IncludeDeleted, limitArg(opt.Limit))
}

// UpdateApp replaces a live app's mutable fields.
func (s *Store) UpdateApp(ctx context.Context, a conncred.App) error {
	return s.execOne(ctx, `UPDATE apps SET display_name = $1, description = $2, updated_at = $3 WHERE id = $4 AND deleted_at IS NULL`,
		a.DisplayName, a.Description, a.UpdatedAt, a.ID)
}

// DeleteApp soft-deletes an app with its connectors and credentials, and
// announces the credentials it revoked to every node.
//
// Its locks, like DeleteConnector's, are FOR NO KEY UPDATE: a FOR UPDATE
// lock on the app would also block the foreign-key check of a credential
// being inserted under the app by a rotate that already holds the
// connector's lock, while this transaction waits for that same connector:
// a deadlock.
func (s *Store) DeleteApp(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE apps SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE connectors SET deleted_at = $1, updated_at = $1 WHERE app_id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		return revokeWhere(ctx, tx, `app_id = $2`, at, id)
	})
}

// revokeWhere revokes the live credentials matching cond (whose $2 is arg)
// and announces them.
func revokeWhere(ctx context.Context, tx pgx.Tx, cond string, at time.Time, arg any) error {
	rows, err := tx.Query(ctx, `UPDATE credentials SET deleted_at = $1, updated_at = $1
		WHERE `+cond+` AND deleted_at IS NULL RETURNING id`, at, arg)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	return notifyRevoked(ctx, tx, ids)
}

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

// exists returns ENotFound unless query finds a row.
func exists(ctx context.Context, tx pgx.Tx, query string, args ...any) error {
	var one int
	err := tx.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return err
}

// exec runs one statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.execTag(ctx, query, args...)
	return err
}

// execOne runs one statement that must change a row, else ENotFound.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	tag, err := s.execTag(ctx, query, args...)
	if err == nil && tag.RowsAffected() == 0 {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return err
}

func (s *Store) execTag(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		tag, err = c.Exec(ctx, query, args...)
		return err
	})
	return tag, err
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, s *Store, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
		return err
	})
	return out, err
}
