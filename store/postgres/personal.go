package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/personal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ personal.Store = (*Store)(nil)

// UpdatePersonalClient sets a live admin credential's name and expiry, and
// tells the other nodes to drop it from their credential caches (the
// revocation channel carries "forget this id"), so that a shortened expiry
// holds on every node at once rather than after the cache's TTL.
func (s *Store) UpdatePersonalClient(ctx context.Context, id, displayName string, expiresAt *time.Time, at time.Time) (conncred.Credential, error) {
	var c conncred.Credential
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		c, err = scanCredential(tx.QueryRow(ctx, `UPDATE credentials SET display_name = $1, expires_at = $2, updated_at = $3
			WHERE id = $4 AND kind = $5 AND deleted_at IS NULL RETURNING `+credentialCols,
			displayName, expiresAt, at, id, string(conncred.KindAdmin)))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, revocationChannel, id)
		return err
	})
	return c, err
}

// ScopedRoles returns the roles a personal client was given, none if none.
func (s *Store) ScopedRoles(ctx context.Context, credentialID string) ([]string, error) {
	var out []string
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		err := c.QueryRow(ctx, `SELECT roles FROM personal_client_roles WHERE credential_id = $1`, credentialID).Scan(&out)
		if errors.Is(err, pgx.ErrNoRows) {
			out = nil
			return nil
		}
		return err
	})
	return out, err
}

// SetScopedRoles replaces them; none removes the row.
func (s *Store) SetScopedRoles(ctx context.Context, credentialID string, roles []string, at time.Time) error {
	if len(roles) == 0 {
		return s.exec(ctx, `DELETE FROM personal_client_roles WHERE credential_id = $1`, credentialID)
	}
	return s.exec(ctx, `INSERT INTO personal_client_roles (credential_id, roles, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (credential_id) DO UPDATE SET roles = EXCLUDED.roles, updated_at = EXCLUDED.updated_at`, credentialID, roles, at)
}
