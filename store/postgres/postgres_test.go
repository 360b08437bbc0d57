package postgres

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/internal/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const envURL = "CONNCRED_TEST_POSTGRES_URL"

// baseURL returns the test database's URL, or skips the test.
func baseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(envURL)
	if base == "" {
		t.Skip("set CONNCRED_TEST_POSTGRES_URL=postgres://... to run the PostgreSQL store tests")
	}
	return base
}

// admin runs one statement on the test database outside any test schema.
func admin(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, baseURL(t))
	if err != nil {
		t.Fatalf("connecting to %s: %v", envURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// newSchema creates a uniquely named schema, dropped when the test ends, and
// returns its name.
func newSchema(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "conncred_test_" + hex.EncodeToString(b[:])
	admin(t, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin(t, "DROP SCHEMA "+schema+" CASCADE") })
	return schema
}

// withParams returns u with its query parameters set from kv pairs.
func withParams(t testing.TB, u string, kv ...string) string {
	t.Helper()
	u, err := setParams(u, kv...)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func setParams(u string, kv ...string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := p.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// schemaURL creates a fresh schema and returns a URL that selects it.
func schemaURL(t testing.TB) string {
	t.Helper()
	return withParams(t, baseURL(t), "search_path", newSchema(t))
}

func open(t testing.TB, u string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := conncred.ErrorCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
}

var ctx = context.Background()

// now is the tests' clock, at the microsecond precision the store keeps.
var now = time.Date(2026, 11, 28, 17, 5, 47, 123456000, time.UTC)

var clientSeq atomic.Int64

func adminCredential() conncred.Credential {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	return conncred.Credential{ID: ksuid.New(now), Kind: conncred.KindAdmin,
		ClientID:    fmt.Sprintf("pg-test-%d@127.0.0.1:8443/pcc", clientSeq.Add(1)),
		DisplayName: "pg-test", PublicKey: pub, Thumbprint: "tp", CreatedAt: now, UpdatedAt: now}
}

// newConnector creates an app and a connector under it.
func newConnector(t testing.TB, s *Store) conncred.Connector {
	t.Helper()
	a := conncred.App{ID: ksuid.New(now), DisplayName: "Okta", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateApp(ctx, a))
	c := conncred.Connector{ID: ksuid.New(now), AppID: a.ID, DisplayName: "Baton", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateConnector(ctx, c))
	return c
}

func connectorCredential(c conncred.Connector) conncred.Credential {
	cr := adminCredential()
	cr.Kind, cr.AppID, cr.ConnectorID = conncred.KindConnector, c.AppID, c.ID
	cr.ClientID = strings.TrimSuffix(cr.ClientID, "/pcc") + "/ccc"
	return cr
}

func countMigrations(t testing.TB) int {
	t.Helper()
	ms, err := migrate.Load(migrations, "migration")
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// appliedRows counts schema_migrations rows, which must be one per
// migration however many times and from however many nodes Open ran.
func appliedRows(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationsAreIdempotent(t *testing.T) {
	u := schemaURL(t)
	s := open(t, u)
	first, err := s.MigrationStatus(ctx)
	must(t, err)
	if len(first) != countMigrations(t) {
		t.Fatalf("status lists %d migrations, want %d", len(first), countMigrations(t))
	}
	must(t, s.Migrate(ctx))
	again := open(t, u)
	second, err := again.MigrationStatus(ctx)
	must(t, err)
	for i, m := range second {
		if m.AppliedAt == nil || first[i].AppliedAt == nil || !m.AppliedAt.Equal(*first[i].AppliedAt) {
			t.Errorf("migration %d applied at %v, then %v: want applied once", m.Version, first[i].AppliedAt, m.AppliedAt)
		}
		if m.AppliedAt != nil && m.AppliedAt.Location() != time.UTC {
			t.Errorf("applied_at in %v, want UTC", m.AppliedAt.Location())
		}
	}
	if got, want := appliedRows(t, s), countMigrations(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d", got, want)
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	u := schemaURL(t)
	const nodes = 8
	var wg sync.WaitGroup
	errs := make(chan error, nodes)
	for range nodes {
		wg.Go(func() {
			s, err := Open(ctx, u)
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s := open(t, u, WithoutMigrations())
	st, err := s.MigrationStatus(ctx)
	must(t, err)
	for _, m := range st {
		if m.AppliedAt == nil {
			t.Errorf("migration %d not applied", m.Version)
		}
	}
	if got, want := appliedRows(t, s), countMigrations(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d", got, want)
	}
}

func TestStatusWithoutMigrating(t *testing.T) {
	s := open(t, schemaURL(t), WithoutMigrations())
	st, err := s.MigrationStatus(ctx)
	must(t, err)
	if len(st) != countMigrations(t) {
		t.Fatalf("status lists %d migrations, want %d", len(st), countMigrations(t))
	}
	for _, m := range st {
		if m.AppliedAt != nil {
			t.Errorf("migration %04d_%s applied at %v on a fresh schema", m.Version, m.Name, m.AppliedAt)
		}
	}
	var migrator conncred.Migrator = s
	must(t, migrator.Migrate(ctx))
	st, err = s.MigrationStatus(ctx)
	must(t, err)
	for _, m := range st {
		if m.AppliedAt == nil {
			t.Errorf("migration %04d_%s pending after Migrate", m.Version, m.Name)
		}
	}
}

// TestSearchPathIsolates checks that the tables land in the schema the URL
// names, which is what lets tests and deployments share a database.
func TestSearchPathIsolates(t *testing.T) {
	schema := newSchema(t)
	s := open(t, withParams(t, baseURL(t), "search_path", schema))
	var n int
	must(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = $1 AND table_name IN ('credentials', 'used_assertions', 'schema_migrations')`, schema).Scan(&n))
	if n != 3 {
		t.Fatalf("found %d of conncred's tables in schema %s, want 3", n, schema)
	}
}

func TestErrorsBySQLState(t *testing.T) {
	s := open(t, schemaURL(t))
	cr := adminCredential()
	must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))

	dup := adminCredential()
	dup.ClientID = cr.ClientID
	err := s.CreateCredential(ctx, dup, conncred.ActiveLimit{})
	wantCode(t, err, conncred.EConflict)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Errorf("a duplicate client id: cause %v, want the unique_violation kept in Err", err)
	}
	if msg := conncred.ErrorMessage(err); strings.Contains(msg, "INSERT") || strings.Contains(msg, cr.ClientID) {
		t.Errorf("public message %q shows SQL or values", msg)
	}

	_, err = s.GetCredential(ctx, "nope")
	wantCode(t, err, conncred.ENotFound)
	_, err = s.RevokeCredential(ctx, "nope", now)
	wantCode(t, err, conncred.ENotFound)
	wantCode(t, s.UpdateApp(ctx, conncred.App{ID: "nope", UpdatedAt: now}), conncred.ENotFound)
	wantCode(t, s.DeleteConnector(ctx, "nope", now), conncred.ENotFound)
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"no rows", pgx.ErrNoRows, conncred.ENotFound},
		{"unique_violation", &pgconn.PgError{Code: "23505"}, conncred.EConflict},
		{"admin_shutdown", &pgconn.PgError{Code: "57P01"}, conncred.EUnavailable},
		{"cannot_connect_now", &pgconn.PgError{Code: "57P03"}, conncred.EUnavailable},
		{"connection_failure", &pgconn.PgError{Code: "08006"}, conncred.EUnavailable},
		{"too_many_connections", &pgconn.PgError{Code: "53300"}, conncred.EUnavailable},
		{"undefined_table", &pgconn.PgError{Code: "42P01", Message: `relation "credentials" does not exist`}, conncred.EInternal},
		{"connection reset", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), conncred.EUnavailable},
		{"acquire timed out", context.DeadlineExceeded, conncred.EUnavailable},
		{"a conncred error", conncred.Errorf(conncred.EConflict, "cap"), conncred.EConflict},
		{"anything else", errors.New("boom"), conncred.EInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dbErr(tc.err)
			if got := conncred.ErrorCode(err); got != tc.want {
				t.Fatalf("dbErr(%v): %q, want %q", tc.err, got, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("dbErr(%v) lost its cause", tc.err)
			}
			if tc.want == conncred.EUnavailable && conncred.ErrorMessage(err) != "database unavailable" {
				t.Errorf("message %q, want %q", conncred.ErrorMessage(err), "database unavailable")
			}
			if msg := conncred.ErrorMessage(err); strings.Contains(msg, "relation") {
				t.Errorf("public message %q shows the cause", msg)
			}
		})
	}
	if dbErr(nil) != nil {
		t.Error("dbErr(nil) is not nil")
	}
}

func TestTimesComeBackUTC(t *testing.T) {
	s := open(t, schemaURL(t))
	cr := adminCredential()
	paris := time.FixedZone("CET", 3600)
	cr.CreatedAt = now.In(paris)
	cr.ExpiresAt = new(now.Add(time.Hour).In(paris))
	must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	got, err := s.GetCredentialByClientID(ctx, cr.ClientID)
	must(t, err)
	if got.CreatedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("times in %v and %v, want UTC", got.CreatedAt.Location(), got.ExpiresAt.Location())
	}
	if !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("times %v, %v; want %v, %v", got.CreatedAt, got.ExpiresAt, now, now.Add(time.Hour))
	}
}
