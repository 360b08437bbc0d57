package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/personal"
)

var _ personal.Store = (*Store)(nil)

// UpdatePersonalClient sets a live admin credential's name and expiry.
func (s *Store) UpdatePersonalClient(ctx context.Context, id, displayName string, expiresAt *time.Time, at time.Time) (conncred.Credential, error) {
	var c conncred.Credential
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanCredential(tx.QueryRowContext(ctx, `UPDATE credentials SET display_name = ?1, expires_us = ?2, updated_us = ?3
			WHERE id = ?4 AND kind = ?5 AND deleted_us IS NULL RETURNING `+credentialCols,
			displayName, usPtr(expiresAt), us(at), id, string(conncred.KindAdmin)))
		return err
	})
	if err != nil {
		return conncred.Credential{}, dbErr(err)
	}
	return c, nil
}

// ScopedRoles returns the roles a personal client was given, none if none.
func (s *Store) ScopedRoles(ctx context.Context, credentialID string) ([]string, error) {
	var doc string
	err := s.r.QueryRowContext(ctx, `SELECT roles FROM personal_client_roles WHERE credential_id = ?`, credentialID).Scan(&doc)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr(err)
	}
	var out []string
	if err := json.Unmarshal([]byte(doc), &out); err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "stored scoped roles are malformed")
	}
	return out, nil
}

// SetScopedRoles replaces them; none removes the row.
func (s *Store) SetScopedRoles(ctx context.Context, credentialID string, roles []string, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(roles) == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM personal_client_roles WHERE credential_id = ?`, credentialID)
			return err
		}
		doc, err := json.Marshal(roles)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO personal_client_roles (credential_id, roles, updated_us) VALUES (?1, ?2, ?3)
			ON CONFLICT (credential_id) DO UPDATE SET roles = ?2, updated_us = ?3`, credentialID, string(doc), us(at))
		return err
	})
	return dbErr(err)
}
