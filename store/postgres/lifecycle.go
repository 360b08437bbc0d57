package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/lifecycle"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ lifecycle.Store = (*Store)(nil)

// RotateRetiring inserts c as CreateCredential does (holding the
// connector's row lock) and retires the connector's other usable
// credentials in the same transaction.
func (s *Store) RotateRetiring(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit, r lifecycle.Retirement) ([]conncred.Credential, error) {
	var retired []conncred.Credential
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		retired = nil
		// The advisory lock makes the look-up and the insert one step for
		// every transaction that brings this key, on any connector.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('conncred.thumbprint:' || $1, 0))`, c.Thumbprint); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM credentials WHERE thumbprint = $1`, c.Thumbprint).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conncred.Errorf(conncred.EConflict, "the public key is already registered")
		}
		if err := insertCredential(ctx, tx, c, limit); err != nil {
			return err
		}
		if r.CredentialID != "" {
			// After the insert, which locked the connector's row: no
			// revoke or rotate of this connector can slip in between.
			if err := exists(ctx, tx, `SELECT 1 FROM credentials WHERE id = $1 AND connector_id = $2
				AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $3)`, r.CredentialID, c.ConnectorID, limit.Now); err != nil {
				return err
			}
		}
		if r.At.IsZero() {
			return nil
		}
		q := `UPDATE credentials SET expires_at = $1, updated_at = $2
			WHERE connector_id = $3 AND id <> $4 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $1)`
		args := []any{r.At, limit.Now, c.ConnectorID, c.ID}
		if r.CredentialID != "" {
			q += ` AND id = $5`
			args = append(args, r.CredentialID)
		}
		rows, err := tx.Query(ctx, q+` RETURNING `+credentialCols, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cr, err := scanCredential(rows)
			if err != nil {
				return err
			}
			retired = append(retired, cr)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return retired, nil
}

// CredentialByThumbprint returns the credential with that key thumbprint.
func (s *Store) CredentialByThumbprint(ctx context.Context, thumbprint string) (conncred.Credential, error) {
	return s.getCredential(ctx, `SELECT `+credentialCols+` FROM credentials WHERE thumbprint = $1 ORDER BY id LIMIT 1`, thumbprint)
}

// SourceLimit returns a credential's networks, none if it has no limit.
func (s *Store) SourceLimit(ctx context.Context, credentialID string) ([]string, error) {
	var out []string
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		err := c.QueryRow(ctx, `SELECT cidrs FROM credential_source_limits WHERE credential_id = $1`, credentialID).Scan(&out)
		if errors.Is(err, pgx.ErrNoRows) {
			out = nil
			return nil
		}
		return err
	})
	return out, err
}

// SetSourceLimit replaces a credential's networks; none removes the row.
func (s *Store) SetSourceLimit(ctx context.Context, credentialID string, cidrs []string, at time.Time) error {
	if len(cidrs) == 0 {
		return s.exec(ctx, `DELETE FROM credential_source_limits WHERE credential_id = $1`, credentialID)
	}
	return s.exec(ctx, `INSERT INTO credential_source_limits (credential_id, cidrs, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (credential_id) DO UPDATE SET cidrs = EXCLUDED.cidrs, updated_at = EXCLUDED.updated_at`, credentialID, cidrs, at)
}

// sessionDoc is the stored form of lifecycle.SessionSettings.
type sessionDoc struct {
	ConnectorSource restrictionDoc `json:"connectorSource"`
	PCCAdminSource  restrictionDoc `json:"pccAdminSource"`
}

type restrictionDoc struct {
	Enabled bool     `json:"enabled"`
	CIDRs   []string `json:"sourceCidr"`
}

// SessionSettings returns the stored settings, zero if never set.
func (s *Store) SessionSettings(ctx context.Context) (lifecycle.SessionSettings, error) {
	var doc []byte
	var updated time.Time
	found := true
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		err := c.QueryRow(ctx, `SELECT doc, updated_at FROM session_settings WHERE id = 1`).Scan(&doc, &updated)
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		return err
	})
	if err != nil || !found {
		return lifecycle.SessionSettings{}, err
	}
	var d sessionDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return lifecycle.SessionSettings{}, conncred.WrapError(conncred.EInternal, err, "the stored session settings are malformed")
	}
	return lifecycle.SessionSettings{
		ConnectorSource: lifecycle.SourceRestriction{Enabled: d.ConnectorSource.Enabled, CIDRs: d.ConnectorSource.CIDRs},
		PCCAdminSource:  lifecycle.SourceRestriction{Enabled: d.PCCAdminSource.Enabled, CIDRs: d.PCCAdminSource.CIDRs},
		UpdatedAt:       updated.UTC(),
	}, nil
}

// PutSessionSettings replaces the settings.
func (s *Store) PutSessionSettings(ctx context.Context, st lifecycle.SessionSettings) error {
	doc, err := json.Marshal(sessionDoc{
		ConnectorSource: restrictionDoc{st.ConnectorSource.Enabled, st.ConnectorSource.CIDRs},
		PCCAdminSource:  restrictionDoc{st.PCCAdminSource.Enabled, st.PCCAdminSource.CIDRs},
	})
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "encoding the session settings")
	}
	return s.exec(ctx, `INSERT INTO session_settings (id, doc, updated_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at`, doc, st.UpdatedAt)
}
