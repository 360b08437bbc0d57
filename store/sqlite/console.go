package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/conncred/conncred/console"
)

var _ console.Store = (*Store)(nil)

const consoleSessionCols = `id, token_hash, credential_id, source, created_us, last_seen_us, expires_us, ended_us`

func scanConsoleSession(r scanner) (console.Session, error) {
	var s console.Session
	var created, seen, expires int64
	var ended sql.NullInt64
	if err := r.Scan(&s.ID, &s.TokenHash, &s.CredentialID, &s.Source, &created, &seen, &expires, &ended); err != nil {
		return console.Session{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.EndedAt = fromUS(created), fromUS(seen), fromUS(expires), fromNullUS(ended)
	return s, nil
}

// CreateConsoleLink stores a login link (0013_console.sql); an unknown
// credential is ENotFound through the foreign key.
func (s *Store) CreateConsoleLink(ctx context.Context, l console.Link) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_links (id, token_hash, credential_id, created_us, expires_us, used_us)
		VALUES (?, ?, ?, ?, ?, ?)`, l.ID, l.TokenHash, l.CredentialID, us(l.CreatedAt), us(l.ExpiresAt), usPtr(l.UsedAt))
	return dbErr(err)
}

// RedeemConsoleLink spends the link and starts the session in one write
// transaction. The UPDATE's condition is the single-use check: the write
// lock serializes redeemers, and the second finds used_us set.
func (s *Store) RedeemConsoleLink(ctx context.Context, hash []byte, at time.Time, sess console.Session) (console.Session, error) {
	var out console.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var credentialID string
		err := tx.QueryRowContext(ctx, `UPDATE console_links SET used_us = ?1
			WHERE token_hash = ?2 AND used_us IS NULL AND expires_us > ?1 RETURNING credential_id`, us(at), hash).Scan(&credentialID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound()
		}
		if err != nil {
			return err
		}
		out, err = scanConsoleSession(tx.QueryRowContext(ctx, `INSERT INTO console_sessions (`+consoleSessionCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+consoleSessionCols,
			sess.ID, sess.TokenHash, credentialID, sess.Source, us(sess.CreatedAt), us(sess.LastSeenAt), us(sess.ExpiresAt), usPtr(sess.EndedAt)))
		return err
	})
	if err != nil {
		return console.Session{}, dbErr(err)
	}
	return out, nil
}

// GetConsoleSession returns the session with this cookie hash.
func (s *Store) GetConsoleSession(ctx context.Context, hash []byte) (console.Session, error) {
	sess, err := scanConsoleSession(s.r.QueryRowContext(ctx, `SELECT `+consoleSessionCols+` FROM console_sessions WHERE token_hash = ?`, hash))
	if err != nil {
		return console.Session{}, dbErr(err)
	}
	return sess, nil
}

// TouchConsoleSession moves last_seen_us forward, never back.
func (s *Store) TouchConsoleSession(ctx context.Context, id string, at time.Time) error {
	return affected(s.w.ExecContext(ctx, `UPDATE console_sessions SET last_seen_us = max(last_seen_us, ?) WHERE id = ?`, us(at), id))
}

// EndConsoleSession sets ended_us unless it is set.
func (s *Store) EndConsoleSession(ctx context.Context, id string, at time.Time) error {
	return affected(s.w.ExecContext(ctx, `UPDATE console_sessions SET ended_us = coalesce(ended_us, ?) WHERE id = ?`, us(at), id))
}

// SweepConsole deletes up to limit spent links, then up to what is left
// of limit spent sessions, each batch one short write transaction.
func (s *Store) SweepConsole(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	b := us(before)
	total := 0
	for _, q := range []string{
		`DELETE FROM console_links WHERE id IN (SELECT id FROM console_links WHERE expires_us < ?1 OR used_us < ?1 LIMIT ?2)`,
		`DELETE FROM console_sessions WHERE id IN (SELECT id FROM console_sessions WHERE expires_us < ?1 OR ended_us < ?1 LIMIT ?2)`,
	} {
		if total >= limit {
			break
		}
		res, err := s.w.ExecContext(ctx, q, b, limit-total)
		if err != nil {
			return total, dbErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, dbErr(err)
		}
		total += int(n)
	}
	return total, nil
}
