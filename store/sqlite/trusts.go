package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/federation/trustdb"
)

var _ trustdb.Store = (*Store)(nil)

// trustSelect reads a trust joined with its connector and app: DeletedAt is
// the trust's own delete, else its connector's, else its app's (the cascade
// of trustdb.Trust.DeletedAt).
const trustSelect = `SELECT t.id, t.client_id, t.display_name, t.issuer, t.audiences, t.condition, t.role,
	coalesce(t.app_id, ''), coalesce(t.connector_id, ''), t.max_token_lifetime, t.require_dpop,
	t.created_us, t.updated_us, coalesce(t.deleted_us, c.deleted_us, a.deleted_us), t.last_used_us
	FROM trusts t LEFT JOIN connectors c ON c.id = t.connector_id LEFT JOIN apps a ON a.id = t.app_id`

func scanTrust(row scanner) (trustdb.Trust, error) {
	var t trustdb.Trust
	var aud, role string
	var life int64
	var created, updated int64
	var deleted, used sql.NullInt64
	if err := row.Scan(&t.ID, &t.ClientID, &t.DisplayName, &t.Issuer, &aud, &t.Condition, &role,
		&t.AppID, &t.ConnectorID, &life, &t.RequireDPoP, &created, &updated, &deleted, &used); err != nil {
		return trustdb.Trust{}, err
	}
	if err := json.Unmarshal([]byte(aud), &t.Audiences); err != nil {
		return trustdb.Trust{}, err
	}
	t.Role, t.MaxTokenLifetime = trustdb.Role(role), time.Duration(life)*time.Second
	t.CreatedAt, t.UpdatedAt, t.DeletedAt, t.LastUsedAt = fromUS(created), fromUS(updated), fromNullUS(deleted), fromNullUS(used)
	return t, nil
}

func audiencesJSON(a []string) string {
	if a == nil {
		a = []string{}
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// CreateTrust inserts a trust; a connector trust's connector must be live
// and belong to its app, checked in the same transaction.
func (s *Store) CreateTrust(ctx context.Context, t trustdb.Trust) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if t.ConnectorID != "" {
			if err := mustExist(ctx, tx, `SELECT 1 FROM connectors c JOIN apps a ON a.id = c.app_id
				WHERE c.id = ? AND c.app_id = ? AND c.deleted_us IS NULL AND a.deleted_us IS NULL`, t.ConnectorID, t.AppID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO trusts (id, client_id, display_name, issuer, audiences, condition, role,
			app_id, connector_id, max_token_lifetime, require_dpop, created_us, updated_us, deleted_us, last_used_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.ClientID, t.DisplayName, t.Issuer, audiencesJSON(t.Audiences), t.Condition, string(t.Role),
			nullString(t.AppID), nullString(t.ConnectorID), int64(t.MaxTokenLifetime/time.Second), t.RequireDPoP,
			us(t.CreatedAt), us(t.UpdatedAt), usPtr(t.DeletedAt), usPtr(t.LastUsedAt))
		return err
	})
}

// GetTrust returns a trust by id.
func (s *Store) GetTrust(ctx context.Context, id string) (trustdb.Trust, error) {
	t, err := scanTrust(s.r.QueryRowContext(ctx, trustSelect+` WHERE t.id = ?`, id))
	return t, dbErr(err)
}

// GetTrustByClientID returns a trust by client id.
func (s *Store) GetTrustByClientID(ctx context.Context, clientID string) (trustdb.Trust, error) {
	t, err := scanTrust(s.r.QueryRowContext(ctx, trustSelect+` WHERE t.client_id = ?`, clientID))
	return t, dbErr(err)
}

// ListTrusts returns a page of trusts in id order.
func (s *Store) ListTrusts(ctx context.Context, opt conncred.ListOptions) ([]trustdb.Trust, error) {
	return queryAll(ctx, s.r, scanTrust, trustSelect+` WHERE t.id > ?
		AND (? OR (t.deleted_us IS NULL AND c.deleted_us IS NULL AND a.deleted_us IS NULL))
		ORDER BY t.id LIMIT ?`, opt.After, opt.IncludeDeleted, pageLimit(opt.Limit))
}

// UpdateTrust replaces the mutable fields of a trust not itself deleted.
func (s *Store) UpdateTrust(ctx context.Context, t trustdb.Trust) error {
	return affected(s.w.ExecContext(ctx, `UPDATE trusts SET display_name = ?, issuer = ?, audiences = ?, condition = ?,
		max_token_lifetime = ?, require_dpop = ?, updated_us = ? WHERE id = ? AND deleted_us IS NULL`,
		t.DisplayName, t.Issuer, audiencesJSON(t.Audiences), t.Condition, int64(t.MaxTokenLifetime/time.Second), t.RequireDPoP,
		us(t.UpdatedAt), t.ID))
}

// DeleteTrust sets deleted_us once and returns the stored trust. A single
// SQLite file serves one node, so there is no one else to tell.
func (s *Store) DeleteTrust(ctx context.Context, id string, at time.Time) (trustdb.Trust, error) {
	var t trustdb.Trust
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE trusts SET deleted_us = ?1, updated_us = ?1 WHERE id = ?2 AND deleted_us IS NULL`, us(at), id); err != nil {
			return err
		}
		var err error
		t, err = scanTrust(tx.QueryRowContext(ctx, trustSelect+` WHERE t.id = ?`, id))
		return err
	})
	return t, err
}

// TouchTrust moves last_used_us forward, never back.
func (s *Store) TouchTrust(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE trusts SET last_used_us = ?1 WHERE id = ?2 AND (last_used_us IS NULL OR last_used_us < ?1)`, us(at), id)
	return dbErr(err)
}
