package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/wfe/wfedb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ wfedb.Store = (*Store)(nil)

const providerCols = `id, display_name, description, issuer_url, well_known, created_at, updated_at, deleted_at`

func scanProvider(row pgx.Row) (wfedb.Provider, error) {
	var p wfedb.Provider
	if err := row.Scan(&p.ID, &p.DisplayName, &p.Description, &p.IssuerURL, &p.WellKnown, &p.CreatedAt, &p.UpdatedAt, &p.DeletedAt); err != nil {
		return wfedb.Provider{}, err
	}
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC(), utc(p.DeletedAt)
	return p, nil
}

// CreateProvider inserts a workload federation provider.
func (s *Store) CreateProvider(ctx context.Context, p wfedb.Provider) error {
	return s.exec(ctx, `INSERT INTO workload_providers (`+providerCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
		p.ID, p.DisplayName, p.Description, p.IssuerURL, p.WellKnown, p.CreatedAt, p.UpdatedAt)
}

// GetProvider returns a provider that is not deleted.
func (s *Store) GetProvider(ctx context.Context, id string) (wfedb.Provider, error) {
	var p wfedb.Provider
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		p, err = scanProvider(c.QueryRow(ctx, `SELECT `+providerCols+` FROM workload_providers WHERE id = $1 AND deleted_at IS NULL`, id))
		return err
	})
	return p, err
}

// ListProviders returns a page of providers that are not deleted.
func (s *Store) ListProviders(ctx context.Context, opt conncred.ListOptions) ([]wfedb.Provider, error) {
	return list(ctx, s, scanProvider, `SELECT `+providerCols+` FROM workload_providers
		WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2`, opt.After, limitArg(opt.Limit))
}

// UpdateProvider replaces a live provider's name and description.
func (s *Store) UpdateProvider(ctx context.Context, p wfedb.Provider) error {
	return s.execOne(ctx, `UPDATE workload_providers SET display_name = $1, description = $2, updated_at = $3
		WHERE id = $4 AND deleted_at IS NULL`, p.DisplayName, p.Description, p.UpdatedAt, p.ID)
}

// DeleteProvider deletes a provider no live trust references. The provider
// row is locked first, so a trust created from it concurrently (which
// reads it) cannot slip in between the check and the write.
func (s *Store) DeleteProvider(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM workload_providers WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM trust_extras e JOIN trusts t ON t.id = e.trust_id
			WHERE e.provider_id = $1 AND t.deleted_at IS NULL`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conncred.Errorf(conncred.EConflict, "provider has %d live trusts", n)
		}
		_, err := tx.Exec(ctx, `UPDATE workload_providers SET deleted_at = $1, updated_at = $1 WHERE id = $2`, at, id)
		return err
	})
}

// TrustExtra returns a trust's official fields; zero when it has none.
func (s *Store) TrustExtra(ctx context.Context, trustID string) (wfedb.TrustExtra, error) {
	var e wfedb.TrustExtra
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		var pid *string
		err := c.QueryRow(ctx, `SELECT provider_id, description FROM trust_extras WHERE trust_id = $1`, trustID).Scan(&pid, &e.Description)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if pid != nil {
			e.ProviderID = *pid
		}
		return err
	})
	return e, err
}

// SetTrustExtra replaces a trust's official fields.
func (s *Store) SetTrustExtra(ctx context.Context, trustID string, e wfedb.TrustExtra, at time.Time) error {
	return s.exec(ctx, `INSERT INTO trust_extras (trust_id, provider_id, description, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (trust_id) DO UPDATE SET provider_id = EXCLUDED.provider_id, description = EXCLUDED.description, updated_at = EXCLUDED.updated_at`,
		trustID, nullString(e.ProviderID), e.Description, at)
}
