package sqlite

import (
	"context"

	"github.com/conncred/conncred"
)

// CreateSigningKey stores a signing key, seed included: it is the server's
// own private key, and every node must sign with it. A duplicate ID is
// EConflict.
func (s *Store) CreateSigningKey(ctx context.Context, k conncred.SigningKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (id, seed, created_us) VALUES (?, ?, ?)`, k.ID, []byte(k.Seed), us(k.CreatedAt))
	return dbErr(err)
}

// ListSigningKeys returns every signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]conncred.SigningKey, error) {
	return queryAll(ctx, s.r, func(row scanner) (conncred.SigningKey, error) {
		var k conncred.SigningKey
		var created int64
		err := row.Scan(&k.ID, (*[]byte)(&k.Seed), &created)
		k.CreatedAt = fromUS(created)
		return k, err
	}, `SELECT id, seed, created_us FROM signing_keys ORDER BY created_us, id`)
}
