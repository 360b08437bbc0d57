package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/conncred/conncred"
)

// CreateCredential inserts a credential, enforcing limit atomically for
// connector credentials. The write pool's one connection and IMMEDIATE
// transactions serialize the count and the insert against every other writer.
func (s *Store) CreateCredential(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if c.Kind == conncred.KindConnector {
			if err := exists(ctx, tx, `SELECT 1 FROM connectors WHERE id = ? AND app_id = ? AND deleted_us IS NULL`, c.ConnectorID, c.AppID); err != nil {
				return err
			}
			if limit.MaxActive > 0 {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM credentials
					WHERE connector_id = ? AND deleted_us IS NULL AND (expires_us IS NULL OR expires_us > ?)`,
					c.ConnectorID, us(limit.Now)).Scan(&n); err != nil {
					return err
				}
				if n >= limit.MaxActive {
					return conncred.Errorf(conncred.EConflict, "the connector has %d active credentials", n)
				}
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO credentials (id, kind, app_id, connector_id, client_id, display_name,
			public_key, thumbprint, created_us, updated_us, deleted_us, expires_us, last_used_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, string(c.Kind), nullString(c.AppID), nullString(c.ConnectorID), c.ClientID, c.DisplayName,
			c.PublicKey, c.Thumbprint, us(c.CreatedAt), us(c.UpdatedAt), usPtr(c.DeletedAt), usPtr(c.ExpiresAt), usPtr(c.LastUsedAt))
		return err
	})
}

const credentialCols = `id, kind, app_id, connector_id, client_id, display_name, public_key, thumbprint,
	created_us, updated_us, deleted_us, expires_us, last_used_us`

func scanCredential(row interface{ Scan(...any) error }) (conncred.Credential, error) {
	var c conncred.Credential
	var kind string
	var appID, connID sql.NullString
	var created, updated int64
	var deleted, expires, lastUsed sql.NullInt64
	if err := row.Scan(&c.ID, &kind, &appID, &connID, &c.ClientID, &c.DisplayName, &c.PublicKey, &c.Thumbprint,
		&created, &updated, &deleted, &expires, &lastUsed); err != nil {
		return conncred.Credential{}, err
	}
	c.Kind, c.AppID, c.ConnectorID = conncred.CredentialKind(kind), appID.String, connID.String
	c.CreatedAt, c.UpdatedAt = fromUS(created), fromUS(updated)
	c.DeletedAt, c.ExpiresAt, c.LastUsedAt = fromNullUS(deleted), fromNullUS(expires), fromNullUS(lastUsed)
	return c, nil
}

// GetCredential returns a credential by id.
func (s *Store) GetCredential(ctx context.Context, id string) (conncred.Credential, error) {
	c, err := scanCredential(s.queryRow(ctx, s.byIDStmt, `SELECT `+credentialCols+` FROM credentials WHERE id = ?`, id))
	return c, dbErr(err)
}

// GetCredentialByClientID returns a credential by client id.
func (s *Store) GetCredentialByClientID(ctx context.Context, clientID string) (conncred.Credential, error) {
	c, err := scanCredential(s.queryRow(ctx, s.byClientStmt, `SELECT `+credentialCols+` FROM credentials WHERE client_id = ?`, clientID))
	return c, dbErr(err)
}

// credentialWhere builds the WHERE clause of a filter (without paging).
func credentialWhere(f conncred.CredentialFilter) (string, []any) {
	var conds []string
	var args []any
	if f.Kind != "" {
		conds = append(conds, "kind = ?")
		args = append(args, string(f.Kind))
	}
	if f.AppID != "" {
		conds = append(conds, "app_id = ?")
		args = append(args, f.AppID)
	}
	if f.ConnectorID != "" {
		conds = append(conds, "connector_id = ?")
		args = append(args, f.ConnectorID)
	}
	if f.UsableAt != nil {
		conds = append(conds, "deleted_us IS NULL AND (expires_us IS NULL OR expires_us > ?)")
		args = append(args, us(*f.UsableAt))
	}
	if !f.IncludeDeleted && f.UsableAt == nil {
		conds = append(conds, "deleted_us IS NULL")
	}
	if len(conds) == 0 {
		return "1", nil
	}
	return strings.Join(conds, " AND "), args
}

// ListCredentials returns credentials matching f in id order.
func (s *Store) ListCredentials(ctx context.Context, f conncred.CredentialFilter) ([]conncred.Credential, error) {
	where, args := credentialWhere(f)
	args = append(args, f.After, limit(f.Limit))
	rows, err := s.r.QueryContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE `+where+` AND id > ? ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []conncred.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, c)
	}
	return out, dbErr(rows.Err())
}

// CountCredentials counts credentials matching f.
func (s *Store) CountCredentials(ctx context.Context, f conncred.CredentialFilter) (int, error) {
	where, args := credentialWhere(f)
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM credentials WHERE `+where, args...).Scan(&n)
	return n, dbErr(err)
}

// RevokeCredential sets deleted_us once and returns the stored record.
func (s *Store) RevokeCredential(ctx context.Context, id string, at time.Time) (conncred.Credential, error) {
	var c conncred.Credential
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE credentials SET deleted_us = ?, updated_us = ? WHERE id = ? AND deleted_us IS NULL`,
			us(at), us(at), id); err != nil {
			return err
		}
		var err error
		c, err = scanCredential(tx.QueryRowContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = ?`, id))
		return err
	})
	return c, err
}

// TouchCredentials moves last_used_us forward, never back, in one transaction.
func (s *Store) TouchCredentials(ctx context.Context, uses []conncred.CredentialUse) error {
	if len(uses) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE credentials SET last_used_us = ?1
			WHERE id = ?2 AND (last_used_us IS NULL OR last_used_us < ?1)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range uses {
			if _, err := stmt.ExecContext(ctx, us(u.At), u.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// queryRow runs a prepared read when there is one (the look-ups on the
// authentication path), else the query text.
func (s *Store) queryRow(ctx context.Context, stmt *sql.Stmt, query string, args ...any) *sql.Row {
	if stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, query, args...)
}
