package postgres

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// benchCredentials is the size of the table the look-up benchmarks read:
// the scale at which pages and look-ups must stay index scans.
const (
	benchCredentials = 1_000_000
	benchConnectors  = benchCredentials / 10
)

var bench struct {
	once   sync.Once
	schema string
	err    error
}

// seeded returns a store on a schema holding benchCredentials connector
// credentials (client ids bench-<n>@h/ccc, every third revoked), built once
// per test binary and dropped by TestMain.
func seeded(b *testing.B) *Store {
	b.Helper()
	base := baseURL(b)
	bench.once.Do(func() {
		var r [6]byte
		_, _ = crand.Read(r[:])
		bench.schema = "conncred_bench_" + hex.EncodeToString(r[:])
		bench.err = seed(base, bench.schema)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return open(b, withParams(b, base, "search_path", bench.schema))
}

func seed(base, schema string) error {
	ctx := context.Background()
	s, err := Open(ctx, base)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	u, err := setParams(base, "search_path", schema)
	if err != nil {
		return err
	}
	st, err := Open(ctx, u)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, q := range []string{
		`INSERT INTO apps (id, display_name, created_at, updated_at) VALUES ('app', 'bench', now(), now())`,
		fmt.Sprintf(`INSERT INTO connectors (id, app_id, display_name, created_at, updated_at)
			SELECT 'conn' || lpad(i::text, 8, '0'), 'app', 'c', now(), now() FROM generate_series(1, %d) i`, benchConnectors),
		fmt.Sprintf(`INSERT INTO credentials (id, kind, app_id, connector_id, client_id, display_name, public_key, thumbprint,
				created_at, updated_at, deleted_at)
			SELECT lpad(i::text, 27, '0'), 'connector', 'app', 'conn' || lpad((i %% %d + 1)::text, 8, '0'),
				'bench-' || i || '@h/ccc', 'd', decode(repeat('ab', 32), 'hex'), 'tp', now(), now(),
				CASE WHEN i %% 3 = 0 THEN now() END
			FROM generate_series(1, %d) i`, benchConnectors, benchCredentials),
		`ANALYZE`,
	} {
		if _, err := st.pool.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if s, err := Open(ctx, os.Getenv(envURL), WithoutMigrations()); err == nil {
			_, _ = s.pool.Exec(ctx, "DROP SCHEMA "+bench.schema+" CASCADE")
			s.Close()
		}
		cancel()
	}
	os.Exit(code)
}

func BenchmarkGetCredentialByClientID(b *testing.B) {
	s := seeded(b)
	b.ReportAllocs()
	for b.Loop() {
		id := fmt.Sprintf("bench-%d@h/ccc", 1+rand.IntN(benchCredentials))
		if _, err := s.GetCredentialByClientID(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListCredentials pages through one connector's usable
// credentials, as a rotate or a list does, in the full table.
func BenchmarkListCredentials(b *testing.B) {
	s := seeded(b)
	usable := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		conn := fmt.Sprintf("conn%08d", 1+rand.IntN(benchConnectors))
		got, err := s.ListCredentials(ctx, conncred.CredentialFilter{ConnectorID: conn, UsableAt: &usable,
			ListOptions: conncred.ListOptions{Limit: 50}})
		if err != nil || len(got) == 0 {
			b.Fatal(len(got), err)
		}
	}
}

func BenchmarkUseAssertion(b *testing.B) {
	s := open(b, schemaURL(b))
	exp := time.Now().Add(time.Minute)
	var key [16]byte
	b.ReportAllocs()
	for b.Loop() {
		_, _ = crand.Read(key[:])
		if err := s.UseAssertion(ctx, hex.EncodeToString(key[:]), exp); err != nil {
			b.Fatal(err)
		}
	}
}
