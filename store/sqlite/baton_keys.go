package sqlite

import (
	"context"
	"time"
)

// SharedKey returns the key stored under name, storing candidate first
// if there is none: every caller gets the first key stored, whichever
// node stored it.
func (s *Store) SharedKey(ctx context.Context, name string, candidate []byte, now time.Time) ([]byte, error) {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO baton_keys (name, key, created_us) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, candidate, us(now)); err != nil {
		return nil, dbErr(err)
	}
	var key []byte
	err := s.w.QueryRowContext(ctx, `SELECT key FROM baton_keys WHERE name = ?`, name).Scan(&key)
	return key, dbErr(err)
}
