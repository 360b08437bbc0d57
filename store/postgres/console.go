package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/console"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ console.Store = (*Store)(nil)

const consoleSessionCols = `id, token_hash, credential_id, source, created_at, last_seen_at, expires_at, ended_at`

func scanConsoleSession(r pgx.Row) (console.Session, error) {
	var s console.Session
	if err := r.Scan(&s.ID, &s.TokenHash, &s.CredentialID, &s.Source, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.EndedAt); err != nil {
		return console.Session{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.EndedAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC(), utc(s.EndedAt)
	return s, nil
}

// CreateConsoleLink stores a login link (0013_console.sql); an unknown
// credential is ENotFound through the foreign key.
func (s *Store) CreateConsoleLink(ctx context.Context, l console.Link) error {
	return s.exec(ctx, `INSERT INTO console_links (id, token_hash, credential_id, created_at, expires_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, l.ID, l.TokenHash, l.CredentialID, l.CreatedAt, l.ExpiresAt, l.UsedAt)
}

// RedeemConsoleLink spends the link and starts the session in one
// transaction. The UPDATE's condition is the single-use check: a second
// redeemer on any node waits for the first's row lock, then re-reads the
// row (READ COMMITTED) and finds used_at set, so it updates nothing.
func (s *Store) RedeemConsoleLink(ctx context.Context, hash []byte, at time.Time, sess console.Session) (console.Session, error) {
	var out console.Session
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var credentialID string
		err := tx.QueryRow(ctx, `UPDATE console_links SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING credential_id`, at, hash).Scan(&credentialID)
		if errors.Is(err, pgx.ErrNoRows) {
			return conncred.Errorf(conncred.ENotFound, "not found")
		}
		if err != nil {
			return err
		}
		out, err = scanConsoleSession(tx.QueryRow(ctx, `INSERT INTO console_sessions (`+consoleSessionCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+consoleSessionCols,
			sess.ID, sess.TokenHash, credentialID, sess.Source, sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt, sess.EndedAt))
		return err
	})
	if err != nil {
		return console.Session{}, err
	}
	return out, nil
}

// GetConsoleSession returns the session with this cookie hash.
func (s *Store) GetConsoleSession(ctx context.Context, hash []byte) (console.Session, error) {
	var out console.Session
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		out, err = scanConsoleSession(c.QueryRow(ctx, `SELECT `+consoleSessionCols+` FROM console_sessions WHERE token_hash = $1`, hash))
		return err
	})
	return out, err
}

// TouchConsoleSession moves last_seen_at forward, never back.
func (s *Store) TouchConsoleSession(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE console_sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2`, at, id)
}

// EndConsoleSession sets ended_at unless it is set.
func (s *Store) EndConsoleSession(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE console_sessions SET ended_at = COALESCE(ended_at, $1) WHERE id = $2`, at, id)
}

// SweepConsole deletes up to limit spent links, then up to what is left
// of limit spent sessions.
func (s *Store) SweepConsole(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	total := 0
	for _, q := range []string{
		`DELETE FROM console_links WHERE id IN (SELECT id FROM console_links WHERE expires_at < $1 OR used_at < $1 LIMIT $2)`,
		`DELETE FROM console_sessions WHERE id IN (SELECT id FROM console_sessions WHERE expires_at < $1 OR ended_at < $1 LIMIT $2)`,
	} {
		if total >= limit {
			break
		}
		tag, err := s.execTag(ctx, q, before, limit-total)
		if err != nil {
			return total, err
		}
		total += int(tag.RowsAffected())
	}
	return total, nil
}
