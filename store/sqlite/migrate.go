package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/migrate"
)

// Migrate applies the pending migrations in version order. Each runs in its
// own write transaction together with its row in schema_migrations (SQLite's
// DDL is transactional), so a crash or a failing statement leaves each one
// either applied and recorded or not there at all, and a second process
// migrating the same file at once waits for the write lock, then finds the
// work done.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := embedded()
	if err != nil {
		return err
	}
	return s.migrate(ctx, ms)
}

func embedded() ([]migrate.Migration, error) {
	ms, err := migrate.Load(migrationFS, "migration")
	if err != nil {
		return nil, conncred.WrapError(conncred.EInternal, err, "could not read the schema migrations")
	}
	return ms, nil
}

func (s *Store) migrate(ctx context.Context, ms []migrate.Migration) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_us INTEGER NOT NULL
	)`); err != nil {
		return dbErr(err)
	}
	// A binary older than the schema would write records the newer schema's
	// rules do not expect; refuse rather than guess.
	var newest sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return dbErr(err)
	}
	if len(ms) > 0 && newest.Valid && newest.Int64 > int64(ms[len(ms)-1].Version) {
		return conncred.Errorf(conncred.EInternal, "the database schema (version %d) is newer than this conncred knows (version %d)",
			newest.Int64, ms[len(ms)-1].Version)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migrate.Migration) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return err
		}
		// The wall clock, not an injected one: this is when an operator's
		// upgrade ran, not a time any rule compares against.
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`,
			m.Version, m.Name, us(time.Now()))
		return err
	})
	if err != nil {
		return conncred.WrapError(conncred.ErrorCode(err), err, "could not apply schema migration %04d_%s", m.Version, m.Name)
	}
	return nil
}

// MigrationStatus lists every migration this binary knows, with when it was
// applied (nil if pending), followed by any applied migration it does not
// know (a newer binary's). It works on a database never migrated.
func (s *Store) MigrationStatus(ctx context.Context) ([]conncred.MigrationState, error) {
	ms, err := embedded()
	if err != nil {
		return nil, err
	}
	var out []conncred.MigrationState
	for _, m := range ms {
		out = append(out, conncred.MigrationState{Version: m.Version, Name: m.Name})
	}
	var tables int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil {
		return nil, dbErr(err)
	}
	if tables == 0 {
		return out, nil
	}
	applied, err := queryAll(ctx, s.r, func(row scanner) (conncred.MigrationState, error) {
		var st conncred.MigrationState
		var at int64
		err := row.Scan(&st.Version, &st.Name, &at)
		st.AppliedAt = ptrTime(fromUS(at))
		return st, err
	}, `SELECT version, name, applied_us FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	for _, a := range applied {
		i := slices.IndexFunc(out, func(st conncred.MigrationState) bool { return st.Version == a.Version })
		if i < 0 {
			out = append(out, a)
			continue
		}
		out[i].AppliedAt = a.AppliedAt
	}
	return out, nil
}

func ptrTime(t time.Time) *time.Time { return &t }
