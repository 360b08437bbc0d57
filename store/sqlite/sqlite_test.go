package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/migrate"
	"github.com/conncred/conncred/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) conncred.Store { return openTest(t, filepath.Join(t.TempDir(), "conncred.db")) })
}

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var t0 = time.Date(2026, 11, 28, 17, 5, 47, 123456000, time.UTC)

func testApp(id string) conncred.App {
	return conncred.App{ID: id, DisplayName: "kept", CreatedAt: t0, UpdatedAt: t0}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "conncred.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApp(ctx, testApp("2HErg7BRmNdHgX8sTCWVq4E1fyh")); err != nil {
		t.Fatal(err)
	}
	before, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, path)
	if got, err := s.GetApp(ctx, "2HErg7BRmNdHgX8sTCWVq4E1fyh"); err != nil || got.DisplayName != "kept" {
		t.Fatalf("app after reopening: %+v, %v", got, err)
	}
	after, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("MigrationStatus after reopening: %d migrations, before %d", len(after), len(before))
	}
	for i := range after {
		if after[i].AppliedAt == nil || before[i].AppliedAt == nil || !after[i].AppliedAt.Equal(*before[i].AppliedAt) {
			t.Errorf("migration %d: applied at %v, then at %v after reopening; want once", after[i].Version, before[i].AppliedAt, after[i].AppliedAt)
		}
	}
}

func TestMigrationStatus(t *testing.T) {
	ctx := t.Context()
	ms, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].Version != 1 || ms[0].Name != "init" {
		t.Fatalf("embedded migrations: %+v", ms)
	}
	s, err := OpenNoMigrate(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("status of a database never migrated: %v", err)
	}
	if len(st) != len(ms) {
		t.Fatalf("status lists %d migrations, want %d", len(st), len(ms))
	}
	for i, m := range ms {
		if st[i].Version != m.Version || st[i].Name != m.Name || st[i].AppliedAt != nil {
			t.Errorf("pending migration %d: got %+v, want version %d %q, not applied", i, st[i], m.Version, m.Name)
		}
	}

	start := time.Now().Add(-time.Second)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	st, err = s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		a := st[i].AppliedAt
		if st[i].Version != m.Version || a == nil || a.Before(start) || a.After(time.Now()) || a.Location() != time.UTC {
			t.Errorf("applied migration %d: got %+v (applied %v), want version %d applied just now, in UTC", i, st[i], a, m.Version)
		}
	}
}

// TestFailedMigrationLeavesNothing runs a migration whose last statement
// fails after the ones before it ran: none of it may remain.
func TestFailedMigrationLeavesNothing(t *testing.T) {
	ctx := t.Context()
	s, err := OpenNoMigrate(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	// The duplicate fails only when run, so the CREATE and the first INSERT
	// have run by then.
	bad := migrate.Migration{Version: 9999, Name: "broken", SQL: `
		CREATE TABLE half_done (x INTEGER PRIMARY KEY);
		INSERT INTO half_done VALUES (1);
		ALTER TABLE apps ADD COLUMN half_done INTEGER;
		INSERT INTO half_done VALUES (1);`}
	err = s.migrate(ctx, append(ms, bad))
	if err == nil {
		t.Fatal("a broken migration applied")
	}
	var ce *conncred.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "9999_broken") || strings.Contains(ce.Message, "INSERT") {
		t.Errorf("error %q: want a public message naming the migration, without its SQL", err)
	}

	var n int
	for query, what := range map[string]string{
		`SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`:             "table half_done",
		`SELECT count(*) FROM pragma_table_info('apps') WHERE name = 'half_done'`: "column apps.half_done",
		`SELECT count(*) FROM schema_migrations WHERE version = 9999`:             "record of the broken migration",
	} {
		if err := s.r.QueryRowContext(ctx, query).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s left behind (count %d, error %v)", what, n, err)
		}
	}
	// The good migrations before it were applied, each in its own
	// transaction, and the store works.
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Errorf("applied migrations: %d (error %v), want %d", n, err, len(ms))
	}
	if err := s.CreateApp(ctx, testApp("2HErg7BRmNdHgX8sTCWVq4E1fyh")); err != nil {
		t.Errorf("store after a failed migration: %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "conncred.db")
	s := openTest(t, path)
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES (9999, 'from_the_future', 1)`); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(ctx, path); err == nil {
		s2.Close()
		t.Fatal("Open accepted a database migrated by a newer conncred")
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := st[len(st)-1]; last.Version != 9999 || last.Name != "from_the_future" || last.AppliedAt == nil {
		t.Errorf("MigrationStatus does not show the unknown migration: last is %+v", last)
	}
}

// TestFilesArePrivate checks the database and its WAL, which hold the
// signing keys' seeds, are readable by the owner only.
func TestFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "conncred.db")
	s := openTest(t, path)
	if err := s.CreateSigningKey(t.Context(), conncred.SigningKey{ID: "k", Seed: make([]byte, 32), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(name), got, want)
		}
	}
}

func TestPathNeedingEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	path := filepath.Join(dir, "conn?cred.db")
	s := openTest(t, path)
	if err := s.CreateApp(t.Context(), testApp("2HErg7BRmNdHgX8sTCWVq4E1fyh")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the path given: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "conn?cred.db") {
			t.Errorf("stray file %q beside the database", e.Name())
		}
	}
}

// TestReadersDoNotWaitForTheWriter holds a write transaction open: reads go
// on, seeing the last commit, while a second writer queues for the write
// connection instead of failing busy.
func TestReadersDoNotWaitForTheWriter(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "conncred.db"))
	if err := s.CreateApp(ctx, testApp("2HErg7BRmNdHgX8sTCWVq4E1fya")); err != nil {
		t.Fatal(err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO apps (id, display_name, description, created_us, updated_us)
		VALUES ('2HErg7BRmNdHgX8sTCWVq4E1fyb', 'pending', '', 0, 0)`); err != nil {
		t.Fatal(err)
	}

	readCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	apps, err := s.ListApps(readCtx, conncred.ListOptions{Limit: 10})
	if err != nil || len(apps) != 1 {
		t.Fatalf("read beside an open write: %d apps, %v; want the 1 committed", len(apps), err)
	}

	queued := make(chan error, 1)
	go func() { queued <- s.CreateApp(ctx, testApp("2HErg7BRmNdHgX8sTCWVq4E1fyc")) }()
	select {
	case err := <-queued:
		t.Fatalf("second writer finished while the first held the write lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-queued; err != nil {
		t.Fatalf("queued writer: %v", err)
	}
	apps, err = s.ListApps(ctx, conncred.ListOptions{Limit: 10})
	if err != nil || len(apps) != 3 {
		t.Fatalf("after both commits: %d apps, %v; want 3", len(apps), err)
	}
}

func TestReadPoolIsQueryOnly(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "conncred.db"))
	_, err := s.r.ExecContext(t.Context(), `INSERT INTO signing_keys (id, seed, created_us) VALUES ('k', x'00', 0)`)
	if err == nil {
		t.Fatal("a write through the read pool succeeded")
	}
}

func TestErrors(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "conncred.db"))
	ctx := t.Context()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err := s.CreateApp(cancelled, testApp("2HErg7BRmNdHgX8sTCWVq4E1fyh"))
	if conncred.ErrorCode(err) != conncred.EUnavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("write with a cancelled context: %v; want code %q wrapping context.Canceled", err, conncred.EUnavailable)
	}

	// An unexpected failure is internal, its cause kept private.
	_, err = queryAll(ctx, s.r, scanApp, `SELECT id FROM no_such_table WHERE secret = 'hunter2'`)
	var ce *conncred.Error
	if !errors.As(err, &ce) || ce.Code != conncred.EInternal || ce.Err == nil {
		t.Fatalf("bad query: %v; want an internal error with a cause", err)
	}
	if msg := conncred.ErrorMessage(err); strings.Contains(msg, "no_such_table") || strings.Contains(msg, "hunter2") {
		t.Errorf("public message %q quotes the SQL", msg)
	}
}

// TestQueryPlans pins the index each list query of the authority uses: a
// regression to a scan is invisible to the tests' small tables.
func TestQueryPlans(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "conncred.db"))
	now := t0
	for _, tc := range []struct {
		f    conncred.CredentialFilter
		want string
	}{
		{conncred.CredentialFilter{Kind: conncred.KindConnector, AppID: "a", ConnectorID: "c"}, "credentials_live_by_connector"},
		{conncred.CredentialFilter{Kind: conncred.KindConnector, AppID: "a", ConnectorID: "c",
			ListOptions: conncred.ListOptions{IncludeDeleted: true}}, "credentials_by_connector"},
		{conncred.CredentialFilter{ConnectorID: "c", UsableAt: &now}, "credentials_live_by_connector"},
		{conncred.CredentialFilter{Kind: conncred.KindConnector, AppID: "a"}, "credentials_by_app"},
		{conncred.CredentialFilter{Kind: conncred.KindAdmin, UsableAt: &now}, "credentials_by_kind"},
	} {
		where, args := credentialWhere(tc.f)
		args = append(args, "", 50)
		plan := explain(t, s, `SELECT `+credentialCols+` FROM credentials WHERE `+where+` AND id > ? ORDER BY id LIMIT ?`, args...)
		if !strings.Contains(plan, "INDEX "+tc.want+" ") {
			t.Errorf("list %+v: plan %q, want index %s", tc.f, plan, tc.want)
		}
	}
	plan := explain(t, s, `SELECT count(*) FROM credentials WHERE connector_id = ? AND `+usable, "c", 0)
	if !strings.Contains(plan, "credentials_live_by_connector") {
		t.Errorf("active-credential count: plan %q, want the live credentials' index", plan)
	}
}

func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return fmt.Sprint(steps)
}

// TestTwoStoresOnOneFile races two Stores, as two processes would be, on one
// connector's cap. Only IMMEDIATE transactions make the second writer wait
// for the lock: a deferred one would read the count, then fail SQLITE_BUSY
// on the insert instead of waiting.
func TestTwoStoresOnOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "conncred.db")
	stores := []*Store{openTest(t, path), openTest(t, path)}
	app := testApp("2HErg7BRmNdHgX8sTCWVq4E1fyh")
	conn := conncred.Connector{ID: "2HErg7BRmNdHgX8sTCWVq4E1fyi", AppID: app.ID, DisplayName: "c", CreatedAt: t0, UpdatedAt: t0}
	if err := stores[0].CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].CreateConnector(ctx, conn); err != nil {
		t.Fatal(err)
	}
	const workers = 24
	errs := make(chan error, workers)
	start := make(chan struct{})
	for i := range workers {
		go func() {
			<-start
			c := conncred.Credential{ID: fmt.Sprintf("cred-%02d", i), Kind: conncred.KindConnector, AppID: app.ID, ConnectorID: conn.ID,
				ClientID: fmt.Sprintf("c%02d@h/ccc", i), DisplayName: "c", PublicKey: make([]byte, 32), Thumbprint: "t", CreatedAt: t0, UpdatedAt: t0}
			errs <- stores[i%2].CreateCredential(ctx, c, conncred.ActiveLimit{MaxActive: 5, Now: t0})
		}()
	}
	close(start)
	ok := 0
	for range workers {
		switch err := <-errs; conncred.ErrorCode(err) {
		case "":
			ok++
		case conncred.EConflict:
		default:
			t.Errorf("create from two stores: %v", err)
		}
	}
	if ok != 5 {
		t.Errorf("%d creates succeeded from two stores under a cap of 5", ok)
	}
}
