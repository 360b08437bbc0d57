package postgres

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the pg_advisory_lock key that serializes migrations
// across nodes starting at the same time ("conncred" in ASCII). It is one
// key per database, not per schema: nodes of different deployments in one
// database only wait for each other's (short) migrations.
const migrationLock = 0x636f6e6e63726564

// Migrate applies pending migrations under an advisory lock, each in one
// transaction with its record, so nodes starting together apply each
// migration exactly once and a crash never leaves one half applied.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations, "migration")
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "reading migrations")
	}
	// Not s.do: a migration may rightly run longer than opTimeout, and
	// waiting for another node's migration to finish is normal.
	c, err := s.acquire(ctx)
	if err != nil {
		return dbErr(err)
	}
	defer c.Release()
	return dbErr(applyMigrations(ctx, c, ms))
}

func applyMigrations(ctx context.Context, c *pgxpool.Conn, ms []migrate.Migration) error {
	// The lock belongs to the session, which goes back to the pool
	// afterwards, so it must be released even when ctx has ended.
	if _, err := c.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return err
	}
	defer unlock(c)
	if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`); err != nil {
		return err
	}
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var applied bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&applied); err != nil || applied {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return conncred.WrapError(conncred.EInternal, err, "applying migration %04d_%s", m.Version, m.Name)
			}
			// The database's clock: this records when, not a rule.
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// unlock releases the migration lock; if it cannot, it closes the session,
// which releases the lock too, rather than pool a connection that holds it.
func unlock(c *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if _, err := c.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(migrationLock)); err != nil {
		_ = c.Conn().Close(ctx)
	}
}

// MigrationStatus lists every migration this build knows and when it was
// applied (nil if pending). It works on a schema never migrated.
func (s *Store) MigrationStatus(ctx context.Context) ([]conncred.MigrationState, error) {
	ms, err := migrate.Load(migrations, "migration")
	if err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "reading migrations")
	}
	applied := map[int]time.Time{}
	err = s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		var exists bool
		if err := c.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
			return err
		}
		rows, err := c.Query(ctx, `SELECT version, applied_at FROM schema_migrations`)
		if err != nil {
			return err
		}
		var v int
		var at time.Time
		_, err = pgx.ForEachRow(rows, []any{&v, &at}, func() error {
			applied[v] = at.UTC()
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]conncred.MigrationState, 0, len(ms))
	for _, m := range ms {
		st := conncred.MigrationState{Version: m.Version, Name: m.Name}
		if at, ok := applied[m.Version]; ok {
			st.AppliedAt = &at
		}
		out = append(out, st)
	}
	return out, nil
}
