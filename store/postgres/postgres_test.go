package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/store/storetest"
	"github.com/jackc/pgx/v5"
)

const envURL = "CONNCRED_TEST_POSTGRES_URL"

// schemaURL creates a fresh schema in the test database and returns a URL
// that selects it; the schema is dropped when the test ends.
func schemaURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(envURL)
	if base == "" {
		t.Skipf("set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL store tests", envURL)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "conncred_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", envURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Logf("dropping %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t testing.TB, u string) *Store {
	t.Helper()
	s, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) conncred.Store { return open(t, schemaURL(t)) })
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	u := schemaURL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), u)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s := open(t, u)
	st, err := s.MigrationStatus(context.Background())
	if err != nil || len(st) == 0 {
		t.Fatalf("status: %+v %v", st, err)
	}
	for _, m := range st {
		if m.AppliedAt == nil {
			t.Fatalf("migration %d not applied", m.Version)
		}
	}
}

func TestStatusWithoutMigrating(t *testing.T) {
	s, err := Open(context.Background(), schemaURL(t), WithoutMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.MigrationStatus(context.Background())
	if err != nil || len(st) == 0 || st[0].AppliedAt != nil {
		t.Fatalf("status of an unmigrated schema: %+v, %v", st, err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	if os.Getenv(envURL) == "" {
		t.Skipf("set %s to run the PostgreSQL store tests", envURL)
	}
	start := time.Now()
	_, err := Open(context.Background(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable")
	if got := conncred.ErrorCode(err); got != conncred.EUnavailable {
		t.Fatalf("Open of an unreachable server: %q (%v), want %q", got, err, conncred.EUnavailable)
	}
	t.Logf("refused after %v", time.Since(start).Round(time.Millisecond))
}

// TestRevocationsReachOtherInstances checks that a revoke through one Store
// (node) is announced to a watcher on another.
func TestRevocationsReachOtherInstances(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 16)
	go b.WatchRevocations(ctx, func(id string) { got <- id })
	// The watcher says "" once it listens.
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher did not start listening within 10s")
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	cred := conncred.Credential{ID: ksuid.New(now), Kind: conncred.KindAdmin, ClientID: "w@h/pcc", DisplayName: "w", PublicKey: make([]byte, 32), Thumbprint: "t", CreatedAt: now, UpdatedAt: now}
	if err := a.CreateCredential(ctx, cred, conncred.ActiveLimit{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := a.RevokeCredential(ctx, cred.ID, now); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case id := <-got:
			if id == cred.ID {
				t.Logf("notification arrived after %v", time.Since(start).Round(time.Microsecond))
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no notification within 10s")
		}
	}
}

func TestTouchFromTwoNodesKeepsLatest(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u), open(t, u)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	cred := conncred.Credential{ID: ksuid.New(now), Kind: conncred.KindAdmin, ClientID: "t@h/pcc", DisplayName: "t", PublicKey: make([]byte, 32), Thumbprint: "t", CreatedAt: now, UpdatedAt: now}
	if err := a.CreateCredential(ctx, cred, conncred.ActiveLimit{}); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Second)
	if err := b.TouchCredentials(ctx, []conncred.CredentialUse{{ID: cred.ID, At: later}}); err != nil {
		t.Fatal(err)
	}
	if err := a.TouchCredentials(ctx, []conncred.CredentialUse{{ID: cred.ID, At: now}}); err != nil {
		t.Fatal(err)
	}
	got, _ := a.GetCredential(ctx, cred.ID)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) {
		t.Fatalf("lastUsedAt: %v, want %v", got.LastUsedAt, later)
	}
}

func BenchmarkUseAssertion(b *testing.B) {
	s := open(b, schemaURL(b))
	exp := time.Now().Add(time.Minute)
	var buf [8]byte
	b.ReportAllocs()
	for b.Loop() {
		_, _ = rand.Read(buf[:])
		if err := s.UseAssertion(context.Background(), hex.EncodeToString(buf[:]), exp); err != nil {
			b.Fatal(err)
		}
	}
}
