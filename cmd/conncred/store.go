package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/store/sqlite"
)

// openStore opens the database named by db ("" for the data dir's SQLite
// file), applying pending migrations unless migrate is false.
func openStore(ctx context.Context, db, dataDir string) (conncred.Store, error) {
	return openStoreMode(ctx, db, dataDir, true)
}

func openStoreMode(ctx context.Context, db, dataDir string, migrate bool) (conncred.Store, error) {
	switch {
	case db == "":
		return openSQLite(ctx, filepath.Join(dataDir, "conncred.db"), migrate)
	case strings.HasPrefix(db, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(db, "sqlite:"), migrate)
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return openPostgres(ctx, db, migrate)
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

// describeDB names the database for humans, without any password.
func describeDB(db, dataDir string) string {
	if db == "" {
		return "sqlite:" + filepath.Join(dataDir, "conncred.db")
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
