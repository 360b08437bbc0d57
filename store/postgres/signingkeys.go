package postgres

import (
	"context"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
)

// CreateSigningKey stores a signing key.
func (s *Store) CreateSigningKey(ctx context.Context, k conncred.SigningKey) error {
	return s.exec(ctx, `INSERT INTO signing_keys (id, seed, created_at) VALUES ($1, $2, $3)`, k.ID, []byte(k.Seed), k.CreatedAt)
}

// ListSigningKeys returns every signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]conncred.SigningKey, error) {
	return list(ctx, s, func(r pgx.Row) (conncred.SigningKey, error) {
		var k conncred.SigningKey
		err := r.Scan(&k.ID, (*[]byte)(&k.Seed), &k.CreatedAt)
		k.CreatedAt = k.CreatedAt.UTC()
		return k, err
	}, `SELECT id, seed, created_at FROM signing_keys ORDER BY created_at, id`)
}
