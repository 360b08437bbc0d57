package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/federation/trustdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ trustdb.Store = (*Store)(nil)

// trustSelect reads a trust joined with its connector and app: DeletedAt is
// the trust's own delete, else its connector's, else its app's (the cascade
// of trustdb.Trust.DeletedAt).
const trustSelect = `SELECT t.id, t.client_id, t.display_name, t.issuer, t.audiences, t.condition, t.role,
	coalesce(t.app_id, ''), coalesce(t.connector_id, ''), t.max_token_lifetime, t.require_dpop,
	t.created_at, t.updated_at, coalesce(t.deleted_at, c.deleted_at, a.deleted_at), t.last_used_at
	FROM trusts t LEFT JOIN connectors c ON c.id = t.connector_id LEFT JOIN apps a ON a.id = t.app_id`

func scanTrust(row pgx.Row) (trustdb.Trust, error) {
	var t trustdb.Trust
	var role string
	var life int64
	err := row.Scan(&t.ID, &t.ClientID, &t.DisplayName, &t.Issuer, &t.Audiences, &t.Condition, &role,
		&t.AppID, &t.ConnectorID, &life, &t.RequireDPoP, &t.CreatedAt, &t.UpdatedAt, &t.DeletedAt, &t.LastUsedAt)
	t.Role, t.MaxTokenLifetime = trustdb.Role(role), time.Duration(life)*time.Second
	t.CreatedAt, t.UpdatedAt, t.DeletedAt, t.LastUsedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC(), utc(t.DeletedAt), utc(t.LastUsedAt)
	if t.Audiences == nil {
		t.Audiences = []string{}
	}
	return t, err
}

// CreateTrust inserts a trust; a connector trust's connector must be live
// and belong to its app, checked (and locked against a concurrent delete)
// in the same transaction.
func (s *Store) CreateTrust(ctx context.Context, t trustdb.Trust) error {
	aud := t.Audiences
	if aud == nil {
		aud = []string{}
	}
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if t.ConnectorID != "" {
			if err := exists(ctx, tx, `SELECT 1 FROM connectors c JOIN apps a ON a.id = c.app_id
				WHERE c.id = $1 AND c.app_id = $2 AND c.deleted_at IS NULL AND a.deleted_at IS NULL
				FOR NO KEY UPDATE OF c`, t.ConnectorID, t.AppID); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO trusts (id, client_id, display_name, issuer, audiences, condition, role,
			app_id, connector_id, max_token_lifetime, require_dpop, created_at, updated_at, deleted_at, last_used_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			t.ID, t.ClientID, t.DisplayName, t.Issuer, aud, t.Condition, string(t.Role),
			nullString(t.AppID), nullString(t.ConnectorID), int64(t.MaxTokenLifetime/time.Second), t.RequireDPoP,
			t.CreatedAt, t.UpdatedAt, t.DeletedAt, t.LastUsedAt)
		return err
	})
}

func (s *Store) getTrust(ctx context.Context, where string, arg string) (trustdb.Trust, error) {
	var t trustdb.Trust
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		t, err = scanTrust(c.QueryRow(ctx, trustSelect+` WHERE `+where, arg))
		return err
	})
	return t, err
}

// GetTrust returns a trust by id.
func (s *Store) GetTrust(ctx context.Context, id string) (trustdb.Trust, error) {
	return s.getTrust(ctx, `t.id = $1`, id)
}

// GetTrustByClientID returns a trust by client id.
func (s *Store) GetTrustByClientID(ctx context.Context, clientID string) (trustdb.Trust, error) {
	return s.getTrust(ctx, `t.client_id = $1`, clientID)
}

// ListTrusts returns a page of trusts in id order.
func (s *Store) ListTrusts(ctx context.Context, opt conncred.ListOptions) ([]trustdb.Trust, error) {
	return list(ctx, s, scanTrust, trustSelect+` WHERE t.id > $1
		AND ($2 OR (t.deleted_at IS NULL AND c.deleted_at IS NULL AND a.deleted_at IS NULL))
		ORDER BY t.id LIMIT $3`, opt.After, opt.IncludeDeleted, limitArg(opt.Limit))
}

// UpdateTrust replaces the mutable fields of a trust not itself deleted,
// and tells every node to drop its cached copy.
func (s *Store) UpdateTrust(ctx context.Context, t trustdb.Trust) error {
	aud := t.Audiences
	if aud == nil {
		aud = []string{}
	}
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE trusts SET display_name = $1, issuer = $2, audiences = $3, condition = $4,
			max_token_lifetime = $5, require_dpop = $6, updated_at = $7 WHERE id = $8 AND deleted_at IS NULL`,
			t.DisplayName, t.Issuer, aud, t.Condition, int64(t.MaxTokenLifetime/time.Second), t.RequireDPoP, t.UpdatedAt, t.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return conncred.Errorf(conncred.ENotFound, "not found")
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, revocationChannel, t.ID)
		return err
	})
}

// DeleteTrust sets deleted_at once, returns the stored trust, and tells
// every node (on the revocation channel, whose listeners drop whatever
// cached record has that id) so tokens minted through it stop at once.
func (s *Store) DeleteTrust(ctx context.Context, id string, at time.Time) (trustdb.Trust, error) {
	var t trustdb.Trust
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE trusts SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		var err error
		if t, err = scanTrust(tx.QueryRow(ctx, trustSelect+` WHERE t.id = $1`, id)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, revocationChannel, id)
		return err
	})
	return t, err
}

// TouchTrust moves last_used_at forward, never back.
func (s *Store) TouchTrust(ctx context.Context, id string, at time.Time) error {
	return s.exec(ctx, `UPDATE trusts SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, at, id)
}
