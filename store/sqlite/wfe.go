package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/wfe/wfedb"
)

var _ wfedb.Store = (*Store)(nil)

const providerCols = `id, display_name, description, issuer_url, well_known, created_us, updated_us, deleted_us`

func scanProvider(row scanner) (wfedb.Provider, error) {
	var p wfedb.Provider
	var created, updated int64
	var deleted sql.NullInt64
	if err := row.Scan(&p.ID, &p.DisplayName, &p.Description, &p.IssuerURL, &p.WellKnown, &created, &updated, &deleted); err != nil {
		return wfedb.Provider{}, err
	}
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = fromUS(created), fromUS(updated), fromNullUS(deleted)
	return p, nil
}

// CreateProvider inserts a workload federation provider.
func (s *Store) CreateProvider(ctx context.Context, p wfedb.Provider) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO workload_providers (`+providerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`,
		p.ID, p.DisplayName, p.Description, p.IssuerURL, p.WellKnown, us(p.CreatedAt), us(p.UpdatedAt))
	return dbErr(err)
}

// GetProvider returns a provider that is not deleted.
func (s *Store) GetProvider(ctx context.Context, id string) (wfedb.Provider, error) {
	p, err := scanProvider(s.r.QueryRowContext(ctx, `SELECT `+providerCols+` FROM workload_providers WHERE id = ? AND deleted_us IS NULL`, id))
	return p, dbErr(err)
}

// ListProviders returns a page of providers that are not deleted.
func (s *Store) ListProviders(ctx context.Context, opt conncred.ListOptions) ([]wfedb.Provider, error) {
	return queryAll(ctx, s.r, scanProvider, `SELECT `+providerCols+` FROM workload_providers
		WHERE id > ? AND deleted_us IS NULL ORDER BY id LIMIT ?`, opt.After, pageLimit(opt.Limit))
}

// UpdateProvider replaces a live provider's name and description.
func (s *Store) UpdateProvider(ctx context.Context, p wfedb.Provider) error {
	return affected(s.w.ExecContext(ctx, `UPDATE workload_providers SET display_name = ?, description = ?, updated_us = ?
		WHERE id = ? AND deleted_us IS NULL`, p.DisplayName, p.Description, us(p.UpdatedAt), p.ID))
}

// DeleteProvider deletes a provider no live trust references; the check
// and the write share one transaction (SQLite has one writer).
func (s *Store) DeleteProvider(ctx context.Context, id string, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM trust_extras e JOIN trusts t ON t.id = e.trust_id
			WHERE e.provider_id = ? AND t.deleted_us IS NULL`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conncred.Errorf(conncred.EConflict, "provider has %d live trusts", n)
		}
		return affected(tx.ExecContext(ctx, `UPDATE workload_providers SET deleted_us = ?1, updated_us = ?1 WHERE id = ?2 AND deleted_us IS NULL`, us(at), id))
	})
	return dbErr(err)
}

// TrustExtra returns a trust's official fields; zero when it has none.
func (s *Store) TrustExtra(ctx context.Context, trustID string) (wfedb.TrustExtra, error) {
	var e wfedb.TrustExtra
	var pid sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT provider_id, description FROM trust_extras WHERE trust_id = ?`, trustID).Scan(&pid, &e.Description)
	if err == sql.ErrNoRows {
		return wfedb.TrustExtra{}, nil
	}
	if err != nil {
		return wfedb.TrustExtra{}, dbErr(err)
	}
	e.ProviderID = pid.String
	return e, nil
}

// SetTrustExtra replaces a trust's official fields.
func (s *Store) SetTrustExtra(ctx context.Context, trustID string, e wfedb.TrustExtra, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO trust_extras (trust_id, provider_id, description, updated_us) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (trust_id) DO UPDATE SET provider_id = ?2, description = ?3, updated_us = ?4`,
		trustID, nullString(e.ProviderID), e.Description, us(at))
	return dbErr(err)
}
