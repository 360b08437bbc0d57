package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// The benchmarks run with context.Background(), which the driver need not
// watch: a cancellable context, as a request's is, adds several microseconds
// and allocations per statement in database/sql and the driver.

// benchStore returns a store holding one app, one connector and n of its
// credentials, so that look-ups descend a real index rather than a one-row
// table.
func benchStore(b *testing.B, n int) (*Store, []conncred.Credential) {
	b.Helper()
	ctx := b.Context()
	s := openTest(b, filepath.Join(b.TempDir(), "bench.db"))
	app := testApp("2HErg7BRmNdHgX8sTCWVq4E1fyh")
	conn := conncred.Connector{ID: "2HErg7BRmNdHgX8sTCWVq4E1fyi", AppID: app.ID, DisplayName: "c", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateApp(ctx, app); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateConnector(ctx, conn); err != nil {
		b.Fatal(err)
	}
	creds := make([]conncred.Credential, n)
	for i := range creds {
		creds[i] = conncred.Credential{ID: fmt.Sprintf("cred-%07d", i), Kind: conncred.KindConnector, AppID: app.ID, ConnectorID: conn.ID,
			ClientID: fmt.Sprintf("brave-falcon-%07d@127.0.0.1:8443/ccc", i), DisplayName: "brave-falcon", PublicKey: make([]byte, 32),
			Thumbprint: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateCredential(ctx, creds[i], conncred.ActiveLimit{}); err != nil {
			b.Fatal(err)
		}
	}
	return s, creds
}

// BenchmarkGetCredentialByClientID is the look-up of every token exchange
// that misses the authority's cache.
func BenchmarkGetCredentialByClientID(b *testing.B) {
	s, creds := benchStore(b, 10000)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetCredentialByClientID(ctx, creds[i%len(creds)].ClientID); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime stride, so look-ups do not walk the index in order
	}
}

// BenchmarkUseAssertion is the replay check of every token exchange: one
// committed insert.
func BenchmarkUseAssertion(b *testing.B) {
	s, _ := benchStore(b, 0)
	ctx := context.Background()
	exp := t0.Add(2 * time.Minute)
	key := []byte("brave-falcon-0000001@127.0.0.1:8443/ccc|")
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := s.UseAssertion(ctx, string(strconv.AppendInt(key, int64(i), 10)), exp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUseAssertionParallel is the replay check under concurrent
// exchanges: every insert queues for the one write connection, so this is
// the store's ceiling of exchanges per second.
func BenchmarkUseAssertionParallel(b *testing.B) {
	s, _ := benchStore(b, 0)
	ctx := context.Background()
	exp := t0.Add(2 * time.Minute)
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		key := []byte("brave-falcon-0000001@127.0.0.1:8443/ccc|")
		for pb.Next() {
			if err := s.UseAssertion(ctx, string(strconv.AppendInt(key, seq.Add(1), 10)), exp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTouchCredentials writes one lastUsedAt batch of 100 credentials,
// each moving forward, as the authority's write-behind flush does.
func BenchmarkTouchCredentials(b *testing.B) {
	s, creds := benchStore(b, 1000)
	ctx := context.Background()
	uses := make([]conncred.CredentialUse, 100)
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		round++
		for j := range uses {
			uses[j] = conncred.CredentialUse{ID: creds[(round*100+j)%len(creds)].ID, At: t0.Add(time.Duration(round) * time.Second)}
		}
		if err := s.TouchCredentials(ctx, uses); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUseAssertionFull/{random,ordered} is the replay insert at steady state: the table
// holds what a busy server keeps (rate × assertion lifetime; 1,000,000
// records is 3,000 exchanges/s over 5.5 minutes), and keys are hashes, so
// every insert lands on a random page, as in production.
func BenchmarkUseAssertionFull(b *testing.B) {
	b.Run("random", func(b *testing.B) { benchUseAssertionFull(b, hashKey) })
	b.Run("ordered", func(b *testing.B) { benchUseAssertionFull(b, orderedKey) })
}

func benchUseAssertionFull(b *testing.B, hashKey func(int) string) {
	s, _ := benchStore(b, 0)
	ctx := context.Background()
	exp := us(t0.Add(5 * time.Minute))
	const live = 1_000_000
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range live {
		if _, err := tx.ExecContext(ctx, useAssertionSQL, hashKey(i), exp+int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	i := live
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := s.UseAssertion(ctx, hashKey(i), fromUS(exp+int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func hashKey(i int) string {
	sum := sha256.Sum256(strconv.AppendInt(nil, int64(i), 10))
	return hex.EncodeToString(sum[:])
}

// orderedKey is hashKey led by a time that grows with i, as the
// authority's replay keys are led by the assertion's exp.
func orderedKey(i int) string {
	return fmt.Sprintf("%011d.", 1_800_000_000+i/3000) + hashKey(i)
}
