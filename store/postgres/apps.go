package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
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
