package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/store/postgres"
	"github.com/conncred/conncred/store/sqlite"
)

// openStore opens the database named by db ("" for the data dir's SQLite
// file), applying pending migrations unless migrate is false.
func openStore(ctx context.Context, db, dataDir string, pgOpts ...postgres.Option) (conncred.Store, error) {
	return openStoreMode(ctx, db, dataDir, true, pgOpts...)
}

// pgOpts apply only when db is PostgreSQL.
func openStoreMode(ctx context.Context, db, dataDir string, migrate bool, pgOpts ...postgres.Option) (conncred.Store, error) {
	if path := sqlitePath(db, dataDir); path != "" {
		return openSQLite(ctx, path, migrate)
	}
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return openPostgres(ctx, db, migrate, pgOpts...)
	default:
		return nil, fmt.Errorf("--db %q: want sqlite:<path> or postgres://<user>@<host>/<database>", redactURL(db))
	}
}

func openSQLite(ctx context.Context, path string, migrate bool) (conncred.Store, error) {
	var s *sqlite.Store
	var err error
	if migrate {
		s, err = sqlite.Open(ctx, path)
	} else {
		s, err = sqlite.OpenNoMigrate(ctx, path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	return s, nil
}

// sqlitePath returns the SQLite database file that --db and --data-dir name,
// or "" when the database is not SQLite.
func sqlitePath(db, dataDir string) string {
	switch {
	case db == "":
		return filepath.Join(dataDir, "conncred.db")
	case strings.HasPrefix(db, "sqlite:"):
		return strings.TrimPrefix(db, "sqlite:")
	}
	return ""
}

// describeDB names the database for humans, without any password.
func describeDB(db, dataDir string) string {
	if path := sqlitePath(db, dataDir); path != "" {
		return "sqlite:" + path
	}
	return redactURL(db)
}

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return s[:i+3] + rest[:colon] + ":REDACTED" + rest[at:]
			}
		}
	}
	return s
}
