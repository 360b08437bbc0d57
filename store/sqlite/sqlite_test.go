package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/migrate"
	"github.com/conncred/conncred/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) conncred.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "conncred.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "conncred.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	app := conncred.App{ID: "2HErg7BRmNdHgX8sTCWVq4E1fyh", DisplayName: "kept", CreatedAt: time.Unix(1, 0).UTC(), UpdatedAt: time.Unix(1, 0).UTC()}
	if err := s.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	st1, _ := s.MigrationStatus(ctx)
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetApp(ctx, app.ID); err != nil || got.DisplayName != "kept" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	st2, err := s.MigrationStatus(ctx)
	if err != nil || len(st2) == 0 || len(st2) != len(st1) {
		t.Fatalf("MigrationStatus: %+v, %v", st2, err)
	}
	for i := range st2 {
		if st2[i].AppliedAt == nil || !st2[i].AppliedAt.Equal(*st1[i].AppliedAt) {
			t.Fatalf("migration %d re-applied or missing: %v vs %v", st2[i].Version, st2[i].AppliedAt, st1[i].AppliedAt)
		}
	}
}

func TestStatusOfAnEmptyDatabase(t *testing.T) {
	s, err := OpenNoMigrate(context.Background(), filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.MigrationStatus(context.Background())
	if err != nil || len(st) == 0 || st[0].AppliedAt != nil {
		t.Fatalf("status of an unmigrated database: %+v, %v", st, err)
	}
}

func TestFailedMigrationLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := OpenNoMigrate(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	bad := migrate.Migration{Version: 9999, Name: "broken", SQL: "CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;"}
	if err := s.apply(ctx, bad); err == nil {
		t.Fatal("broken migration applied")
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("half-applied migration left table half_done (%d, %v)", n, err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = 9999`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("failed migration recorded (%d, %v)", n, err)
	}
}

func BenchmarkGetCredentialByClientID(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := conncred.Credential{ID: "2HErg7BRmNdHgX8sTCWVq4E1fyh", Kind: conncred.KindAdmin, ClientID: "x@h/pcc", DisplayName: "x", PublicKey: make([]byte, 32), Thumbprint: "t"}
	if err := s.CreateCredential(ctx, c, conncred.ActiveLimit{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetCredentialByClientID(ctx, c.ClientID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUseAssertion(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	exp := time.Now().Add(time.Minute)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := s.UseAssertion(ctx, "key-"+time.Duration(i).String(), exp); err != nil {
			b.Fatal(err)
		}
	}
}
