package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/conncred/conncred"
)

const appCols = `id, display_name, description, created_us, updated_us, deleted_us`

func scanApp(row scanner) (conncred.App, error) {
	var a conncred.App
	var created, updated int64
	var deleted sql.NullInt64
	if err := row.Scan(&a.ID, &a.DisplayName, &a.Description, &created, &updated, &deleted); err != nil {
		return conncred.App{}, err
	}
	a.CreatedAt, a.UpdatedAt, a.DeletedAt = fromUS(created), fromUS(updated), fromNullUS(deleted)
	return a, nil
}

// CreateApp inserts an app; a duplicate ID is EConflict.
func (s *Store) CreateApp(ctx context.Context, a conncred.App) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		a.ID, a.DisplayName, a.Description, us(a.CreatedAt), us(a.UpdatedAt), usPtr(a.DeletedAt))
	return dbErr(err)
}

// GetApp returns an app, deleted or not.
func (s *Store) GetApp(ctx context.Context, id string) (conncred.App, error) {
	a, err := scanApp(s.r.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
	return a, dbErr(err)
}

// ListApps returns a page of apps in ID order.
func (s *Store) ListApps(ctx context.Context, opt conncred.ListOptions) ([]conncred.App, error) {
	return queryAll(ctx, s.r, scanApp, `SELECT `+appCols+` FROM apps
		WHERE id > ? AND (? OR deleted_us IS NULL) ORDER BY id LIMIT ?`,
		opt.After, opt.IncludeDeleted, pageLimit(opt.Limit))
}

// UpdateApp replaces a live app's mutable fields.
func (s *Store) UpdateApp(ctx context.Context, a conncred.App) error {
	return affected(s.w.ExecContext(ctx, `UPDATE apps SET display_name = ?, description = ?, updated_us = ?
		WHERE id = ? AND deleted_us IS NULL`, a.DisplayName, a.Description, us(a.UpdatedAt), a.ID))
}

// DeleteApp marks an app, its connectors and their credentials deleted in one
// transaction; the IS NULL guards keep the first DeletedAt of each record.
// Credentials are found by app_id, which every connector credential carries,
// so one statement reaches those of connectors deleted before.
func (s *Store) DeleteApp(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, `SELECT 1 FROM apps WHERE id = ?`, id); err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE apps SET deleted_us = ?1, updated_us = ?1 WHERE id = ?2 AND deleted_us IS NULL`,
			`UPDATE connectors SET deleted_us = ?1, updated_us = ?1 WHERE app_id = ?2 AND deleted_us IS NULL`,
			`UPDATE credentials SET deleted_us = ?1, updated_us = ?1 WHERE app_id = ?2 AND deleted_us IS NULL`,
		} {
			if _, err := tx.ExecContext(ctx, q, us(at), id); err != nil {
				return err
			}
		}
		return nil
	})
}
