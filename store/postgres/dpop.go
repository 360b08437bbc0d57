package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred/dpop"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ dpop.Store = (*Store)(nil)

// SetCredentialDPoP sets a live credential's require_dpop (0007_dpop.sql).
func (s *Store) SetCredentialDPoP(ctx context.Context, id string, require bool, at time.Time) error {
	return s.execOne(ctx, `UPDATE credentials SET require_dpop = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL`, require, at, id)
}

// CredentialDPoP returns a credential's require_dpop.
func (s *Store) CredentialDPoP(ctx context.Context, id string) (bool, error) {
	var require bool
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT require_dpop FROM credentials WHERE id = $1`, id).Scan(&require)
	})
	return require, dbErr(err)
}
