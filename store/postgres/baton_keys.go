package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SharedKey returns the key stored under name, storing candidate first
// if there is none: every caller gets the first key stored, whichever
// node stored it (the insert's conflict decides, so two nodes starting
// at once agree).
func (s *Store) SharedKey(ctx context.Context, name string, candidate []byte, now time.Time) ([]byte, error) {
	if err := s.exec(ctx, `INSERT INTO baton_keys (name, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
		name, candidate, now); err != nil {
		return nil, err
	}
	var key []byte
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT key FROM baton_keys WHERE name = $1`, name).Scan(&key)
	})
	return key, err
}
