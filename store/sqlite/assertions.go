package sqlite

import (
	"context"
	"time"

	"github.com/conncred/conncred"
)

// useAssertionSQL inserts one replay record. DO NOTHING rather than a
// constraint error: in a batch (see replay.go) a duplicate must not abort
// the others, and no rows affected says "used" without an error to parse.
const useAssertionSQL = `INSERT INTO used_assertions (key, expires_us) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`

// UseAssertion records key until expiresAt. The insert is the replay check:
// the primary key refuses a second one (EConflict), so two exchanges of one
// assertion can never both pass, however they interleave. It returns only
// once the record is committed, batched with concurrent callers' records
// (commitReplay).
func (s *Store) UseAssertion(ctx context.Context, key string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return dbErr(err)
	}
	return dbErr(s.replay.Do(replayRecord{key: key, expiresUS: us(expiresAt)}))
}

// SweepAssertions deletes at most n records that expired before t, oldest
// first, through the expiry index, and returns how many it deleted. The bound
// keeps each sweep a short hold of the write lock.
func (s *Store) SweepAssertions(ctx context.Context, before time.Time, n int) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM used_assertions WHERE key IN
		(SELECT key FROM used_assertions WHERE expires_us < ? ORDER BY expires_us LIMIT ?)`, us(before), pageLimit(n))
	if err != nil {
		return 0, dbErr(err)
	}
	deleted, err := res.RowsAffected()
	return int(deleted), dbErr(err)
}

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
