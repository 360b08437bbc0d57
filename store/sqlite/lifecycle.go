package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/lifecycle"
)

var _ lifecycle.Store = (*Store)(nil)

// RotateRetiring inserts c as CreateCredential does and retires the
// connector's other usable credentials in the same IMMEDIATE transaction.
func (s *Store) RotateRetiring(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit, r lifecycle.Retirement) ([]conncred.Credential, error) {
	var retired []conncred.Credential
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		retired = nil
		if r.CredentialID != "" {
			// Checked before the insert, so that a wrong id changes nothing
			// and is not mistaken for the cap.
			if err := mustExist(ctx, tx, `SELECT 1 FROM credentials WHERE id = ? AND connector_id = ? AND `+usable,
				r.CredentialID, c.ConnectorID, us(limit.Now)); err != nil {
				return err
			}
		}
		// Inside the IMMEDIATE transaction no other write can land between
		// this look-up and the insert.
		if err := keyFree(ctx, tx, c.Thumbprint); err != nil {
			return err
		}
		if err := insertCredential(ctx, tx, c, limit); err != nil {
			return err
		}
		if r.At.IsZero() {
			return nil
		}
		q := `UPDATE credentials SET expires_us = ?1, updated_us = ?2
			WHERE connector_id = ?3 AND id <> ?4 AND deleted_us IS NULL AND (expires_us IS NULL OR expires_us > ?1)`
		args := []any{us(r.At), us(limit.Now), c.ConnectorID, c.ID}
		if r.CredentialID != "" {
			q += ` AND id = ?5`
			args = append(args, r.CredentialID)
		}
		q += ` RETURNING ` + credentialCols
		var err error
		retired, err = queryAll(ctx, tx, scanCredential, q, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return retired, nil
}

// CredentialByThumbprint returns the credential with that key thumbprint.
func (s *Store) CredentialByThumbprint(ctx context.Context, thumbprint string) (conncred.Credential, error) {
	c, err := scanCredential(s.r.QueryRowContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE thumbprint = ? ORDER BY id LIMIT 1`, thumbprint))
	return c, dbErr(err)
}

// SourceLimit returns a credential's networks, none if it has no limit.
func (s *Store) SourceLimit(ctx context.Context, credentialID string) ([]string, error) {
	var doc string
	err := s.r.QueryRowContext(ctx, `SELECT cidrs FROM credential_source_limits WHERE credential_id = ?`, credentialID).Scan(&doc)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr(err)
	}
	var out []string
	if err := json.Unmarshal([]byte(doc), &out); err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "a stored source limit is malformed")
	}
	return out, nil
}

// SetSourceLimit replaces a credential's networks; none removes the row.
func (s *Store) SetSourceLimit(ctx context.Context, credentialID string, cidrs []string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if len(cidrs) == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM credential_source_limits WHERE credential_id = ?`, credentialID)
			return err
		}
		doc, err := json.Marshal(cidrs)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO credential_source_limits (credential_id, cidrs, updated_us) VALUES (?1, ?2, ?3)
			ON CONFLICT (credential_id) DO UPDATE SET cidrs = ?2, updated_us = ?3`, credentialID, string(doc), us(at))
		return err
	})
}

// sessionDoc is the stored form of lifecycle.SessionSettings, in both
// stores.
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
	var doc string
	var updated int64
	err := s.r.QueryRowContext(ctx, `SELECT doc, updated_us FROM session_settings WHERE id = 1`).Scan(&doc, &updated)
	if err == sql.ErrNoRows {
		return lifecycle.SessionSettings{}, nil
	}
	if err != nil {
		return lifecycle.SessionSettings{}, dbErr(err)
	}
	var d sessionDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return lifecycle.SessionSettings{}, conncred.WrapError(conncred.EInternal, err, "the stored session settings are malformed")
	}
	return lifecycle.SessionSettings{
		ConnectorSource: lifecycle.SourceRestriction{Enabled: d.ConnectorSource.Enabled, CIDRs: d.ConnectorSource.CIDRs},
		PCCAdminSource:  lifecycle.SourceRestriction{Enabled: d.PCCAdminSource.Enabled, CIDRs: d.PCCAdminSource.CIDRs},
		UpdatedAt:       fromUS(updated),
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
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO session_settings (id, doc, updated_us) VALUES (1, ?1, ?2)
			ON CONFLICT (id) DO UPDATE SET doc = ?1, updated_us = ?2`, string(doc), us(st.UpdatedAt))
		return err
	})
}

// keyFree refuses (EConflict) a thumbprint some credential already has.
func keyFree(ctx context.Context, tx *sql.Tx, thumbprint string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM credentials WHERE thumbprint = ?`, thumbprint).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return conncred.Errorf(conncred.EConflict, "the public key is already registered")
	}
	return nil
}
