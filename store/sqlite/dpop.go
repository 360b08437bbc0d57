package sqlite

import (
	"context"
	"time"

	"github.com/conncred/conncred/dpop"
)

var _ dpop.Store = (*Store)(nil)

// SetCredentialDPoP sets a live credential's require_dpop (0007_dpop.sql).
func (s *Store) SetCredentialDPoP(ctx context.Context, id string, require bool, at time.Time) error {
	return affected(s.w.ExecContext(ctx, `UPDATE credentials SET require_dpop = ?, updated_us = ? WHERE id = ? AND deleted_us IS NULL`, require, us(at), id))
}

// CredentialDPoP returns a credential's require_dpop.
func (s *Store) CredentialDPoP(ctx context.Context, id string) (bool, error) {
	var require bool
	err := s.r.QueryRowContext(ctx, `SELECT require_dpop FROM credentials WHERE id = ?`, id).Scan(&require)
	return require, dbErr(err)
}
