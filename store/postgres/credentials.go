package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CreateCredential inserts a credential. For a connector credential it locks
// the connector's row first, so concurrent rotates on one connector (from any
// node) take turns and the cap is never exceeded.
func (s *Store) CreateCredential(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit) error {
	return s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error { return insertCredential(ctx, tx, c, limit) })
}

// insertCredential is CreateCredential inside the caller's transaction.
func insertCredential(ctx context.Context, tx pgx.Tx, c conncred.Credential, limit conncred.ActiveLimit) error {
	if c.Kind == conncred.KindConnector {
		if err := exists(ctx, tx, `SELECT 1 FROM connectors WHERE id = $1 AND app_id = $2 AND deleted_at IS NULL FOR UPDATE`, c.ConnectorID, c.AppID); err != nil {
			return err
		}
		if limit.MaxActive > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM credentials
				WHERE connector_id = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
				c.ConnectorID, limit.Now).Scan(&n); err != nil {
				return err
			}
			if n >= limit.MaxActive {
				return conncred.Errorf(conncred.EConflict, "the connector has %d active credentials", n)
			}
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO credentials (id, kind, app_id, connector_id, client_id, display_name,
		public_key, thumbprint, created_at, updated_at, deleted_at, expires_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, string(c.Kind), nullString(c.AppID), nullString(c.ConnectorID), c.ClientID, c.DisplayName,
		c.PublicKey, c.Thumbprint, c.CreatedAt, c.UpdatedAt, c.DeletedAt, c.ExpiresAt, c.LastUsedAt)
	return err
}

const credentialCols = `id, kind, coalesce(app_id, ''), coalesce(connector_id, ''), client_id, display_name, public_key, thumbprint,
	created_at, updated_at, deleted_at, expires_at, last_used_at`

func scanCredential(row pgx.Row) (conncred.Credential, error) {
	var c conncred.Credential
	var kind string
	err := row.Scan(&c.ID, &kind, &c.AppID, &c.ConnectorID, &c.ClientID, &c.DisplayName, &c.PublicKey, &c.Thumbprint,
		&c.CreatedAt, &c.UpdatedAt, &c.DeletedAt, &c.ExpiresAt, &c.LastUsedAt)
	c.Kind = conncred.CredentialKind(kind)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.DeletedAt, c.ExpiresAt, c.LastUsedAt = utc(c.DeletedAt), utc(c.ExpiresAt), utc(c.LastUsedAt)
	return c, err
}

// GetCredential returns a credential by id.
func (s *Store) GetCredential(ctx context.Context, id string) (conncred.Credential, error) {
	return s.getCredential(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = $1`, id)
}

// GetCredentialByClientID returns a credential by client id.
func (s *Store) GetCredentialByClientID(ctx context.Context, clientID string) (conncred.Credential, error) {
	return s.getCredential(ctx, `SELECT `+credentialCols+` FROM credentials WHERE client_id = $1`, clientID)
}

func (s *Store) getCredential(ctx context.Context, query string, arg string) (conncred.Credential, error) {
	var cr conncred.Credential
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		cr, err = scanCredential(c.QueryRow(ctx, query, arg))
		return err
	})
	return cr, err
}

// credentialWhere builds the WHERE clause of a filter; placeholders start
// after the args already given.
func credentialWhere(f conncred.CredentialFilter, args []any) (string, []any) {
	var conds []string
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Kind != "" {
		add("kind = $%d", string(f.Kind))
	}
	if f.AppID != "" {
		add("app_id = $%d", f.AppID)
	}
	if f.ConnectorID != "" {
		add("connector_id = $%d", f.ConnectorID)
	}
	if f.UsableAt != nil {
		add("deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $%d)", *f.UsableAt)
	} else if f.UnusableAt != nil {
		add("(deleted_at IS NOT NULL OR expires_at <= $%d)", *f.UnusableAt)
	} else if !f.IncludeDeleted {
		conds = append(conds, "deleted_at IS NULL")
	}
	if len(conds) == 0 {
		return "true", args
	}
	return strings.Join(conds, " AND "), args
}

// ListCredentials returns credentials matching f in id order (descending
// when f says so). Each filter has an index that starts with its column and
// ends with id, so a page is an index range scan, either way, whatever the
// table's size.
func (s *Store) ListCredentials(ctx context.Context, f conncred.CredentialFilter) ([]conncred.Credential, error) {
	args := []any{limitArg(f.Limit)}
	page, order := "", "id"
	switch {
	case f.Descending && f.After == "":
		order = "id DESC"
	case f.Descending:
		page, order = "id < $2 AND ", "id DESC"
		args = append(args, f.After)
	default:
		page = "id > $2 AND "
		args = append(args, f.After)
	}
	where, args := credentialWhere(f, args)
	return list(ctx, s, scanCredential, `SELECT `+credentialCols+` FROM credentials WHERE `+page+where+` ORDER BY `+order+` LIMIT $1`, args...)
}

// CountCredentials counts credentials matching f.
func (s *Store) CountCredentials(ctx context.Context, f conncred.CredentialFilter) (int, error) {
	where, args := credentialWhere(f, nil)
	var n int
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM credentials WHERE `+where, args...).Scan(&n)
	})
	return n, err
}

// RevokeCredential sets deleted_at once, returns the stored record, and
// tells every node to drop the credential from its cache.
func (s *Store) RevokeCredential(ctx context.Context, id string, at time.Time) (conncred.Credential, error) {
	var c conncred.Credential
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE credentials SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`, at, id); err != nil {
			return err
		}
		var err error
		if c, err = scanCredential(tx.QueryRow(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = $1`, id)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, revocationChannel, id)
		return err
	})
	return c, err
}

// TouchCredentials moves last_used_at forward in one statement; GREATEST
// keeps the latest of every node's writes, in whatever order they land.
func (s *Store) TouchCredentials(ctx context.Context, uses []conncred.CredentialUse) error {
	if len(uses) == 0 {
		return nil
	}
	// One row per id: UPDATE ... FROM applies an arbitrary one of several
	// rows that join the same target, which could be an older use. Sorted,
	// so that two nodes' batches usually lock the rows they share in the
	// same order rather than deadlock.
	latest := make(map[string]time.Time, len(uses))
	for _, u := range uses {
		if cur, ok := latest[u.ID]; !ok || u.At.After(cur) {
			latest[u.ID] = u.At
		}
	}
	ids := slices.Sorted(maps.Keys(latest))
	ats := make([]time.Time, len(ids))
	for i, id := range ids {
		ats[i] = latest[id]
	}
	return s.exec(ctx, `UPDATE credentials c SET last_used_at = GREATEST(coalesce(c.last_used_at, '-infinity'), u.at)
		FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
		WHERE c.id = u.id AND (c.last_used_at IS NULL OR c.last_used_at < u.at)`, ids, ats)
}
