package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/conncred/conncred"
)

// CreateApp inserts an app.
func (s *Store) CreateApp(ctx context.Context, a conncred.App) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO apps (id, display_name, description, created_us, updated_us, deleted_us)
		VALUES (?, ?, ?, ?, ?, ?)`, a.ID, a.DisplayName, a.Description, us(a.CreatedAt), us(a.UpdatedAt), usPtr(a.DeletedAt))
	return dbErr(err)
}

const appCols = `id, display_name, description, created_us, updated_us, deleted_us`

func scanApp(row interface{ Scan(...any) error }) (conncred.App, error) {
	var a conncred.App
	var created, updated int64
	var deleted sql.NullInt64
	if err := row.Scan(&a.ID, &a.DisplayName, &a.Description, &created, &updated, &deleted); err != nil {
		return conncred.App{}, err
	}
	a.CreatedAt, a.UpdatedAt, a.DeletedAt = fromUS(created), fromUS(updated), fromNullUS(deleted)
	return a, nil
}

// GetApp returns an app, deleted or not.
func (s *Store) GetApp(ctx context.Context, id string) (conncred.App, error) {
	a, err := scanApp(s.r.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
	return a, dbErr(err)
}

// ListApps returns apps in id order.
func (s *Store) ListApps(ctx context.Context, opt conncred.ListOptions) ([]conncred.App, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+appCols+` FROM apps
		WHERE id > ? AND (? OR deleted_us IS NULL) ORDER BY id LIMIT ?`, opt.After, opt.IncludeDeleted, limit(opt.Limit))
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []conncred.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, a)
	}
	return out, dbErr(rows.Err())
}

// UpdateApp replaces a live app's mutable fields.
func (s *Store) UpdateApp(ctx context.Context, a conncred.App) error {
	res, err := s.w.ExecContext(ctx, `UPDATE apps SET display_name = ?, description = ?, updated_us = ?
		WHERE id = ? AND deleted_us IS NULL`, a.DisplayName, a.Description, us(a.UpdatedAt), a.ID)
	return affected(res, err)
}

// DeleteApp soft-deletes an app with its connectors and credentials.
func (s *Store) DeleteApp(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM apps WHERE id = ?`, id); err != nil {
			return err
		}
		t := us(at)
		for _, q := range []string{
			`UPDATE apps SET deleted_us = ?, updated_us = ? WHERE id = ? AND deleted_us IS NULL`,
			`UPDATE connectors SET deleted_us = ?, updated_us = ? WHERE app_id = ? AND deleted_us IS NULL`,
			`UPDATE credentials SET deleted_us = ?, updated_us = ? WHERE app_id = ? AND deleted_us IS NULL`,
		} {
			if _, err := tx.ExecContext(ctx, q, t, t, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateConnector inserts a connector under an existing app.
func (s *Store) CreateConnector(ctx context.Context, c conncred.Connector) error {
	users, err := json.Marshal(nonNil(c.UserIDs))
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "encoding user ids")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM apps WHERE id = ?`, c.AppID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO connectors (id, app_id, catalog_id, display_name, description, user_ids, created_us, updated_us, deleted_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.AppID, c.CatalogID, c.DisplayName, c.Description, string(users),
			us(c.CreatedAt), us(c.UpdatedAt), usPtr(c.DeletedAt))
		return err
	})
}

const connectorCols = `id, app_id, catalog_id, display_name, description, user_ids, created_us, updated_us, deleted_us`

func scanConnector(row interface{ Scan(...any) error }) (conncred.Connector, error) {
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

// GetConnector returns a connector, deleted or not.
func (s *Store) GetConnector(ctx context.Context, id string) (conncred.Connector, error) {
	c, err := scanConnector(s.r.QueryRowContext(ctx, `SELECT `+connectorCols+` FROM connectors WHERE id = ?`, id))
	return c, dbErr(err)
}

// ListConnectors returns an app's connectors in id order.
func (s *Store) ListConnectors(ctx context.Context, appID string, opt conncred.ListOptions) ([]conncred.Connector, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+connectorCols+` FROM connectors
		WHERE app_id = ? AND id > ? AND (? OR deleted_us IS NULL) ORDER BY id LIMIT ?`, appID, opt.After, opt.IncludeDeleted, limit(opt.Limit))
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []conncred.Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, c)
	}
	return out, dbErr(rows.Err())
}

// UpdateConnector replaces a live connector's mutable fields.
func (s *Store) UpdateConnector(ctx context.Context, c conncred.Connector) error {
	users, err := json.Marshal(nonNil(c.UserIDs))
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "encoding user ids")
	}
	res, err := s.w.ExecContext(ctx, `UPDATE connectors SET display_name = ?, description = ?, user_ids = ?, updated_us = ?
		WHERE id = ? AND deleted_us IS NULL`, c.DisplayName, c.Description, string(users), us(c.UpdatedAt), c.ID)
	return affected(res, err)
}

// DeleteConnector soft-deletes a connector with its credentials.
func (s *Store) DeleteConnector(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM connectors WHERE id = ?`, id); err != nil {
			return err
		}
		t := us(at)
		if _, err := tx.ExecContext(ctx, `UPDATE connectors SET deleted_us = ?, updated_us = ? WHERE id = ? AND deleted_us IS NULL`, t, t, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE credentials SET deleted_us = ?, updated_us = ? WHERE connector_id = ? AND deleted_us IS NULL`, t, t, id)
		return err
	})
}

// exists returns ENotFound unless query finds a row.
func exists(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if err == sql.ErrNoRows {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return err
}

// affected turns "no row updated" into ENotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return dbErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(err)
	}
	if n == 0 {
		return conncred.Errorf(conncred.ENotFound, "not found")
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
