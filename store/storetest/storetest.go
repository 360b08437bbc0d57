// Package storetest is the conformance suite every conncred.Store must pass
// unchanged. A backend's own test calls Run with a function that opens a
// fresh, empty store.
package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// Opener returns a fresh, empty store; closing it is the opener's business
// (t.Cleanup).
type Opener func(t *testing.T) conncred.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	t.Run("Apps", func(t *testing.T) { testApps(t, open) })
	t.Run("Connectors", func(t *testing.T) { testConnectors(t, open) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, open) })
	t.Run("ActiveLimit", func(t *testing.T) { testActiveLimit(t, open) })
	t.Run("Cascade", func(t *testing.T) { testCascade(t, open) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open) })
	t.Run("Touch", func(t *testing.T) { testTouch(t, open) })
	t.Run("Assertions", func(t *testing.T) { testAssertions(t, open) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
}

// base is the suite's clock: microsecond precision, as every store keeps.
var base = time.Date(2026, 11, 28, 17, 5, 47, 123456000, time.UTC)

var ctx = context.Background()

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := conncred.ErrorCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func newApp(t *testing.T, s conncred.Store) conncred.App {
	t.Helper()
	a := conncred.App{ID: ksuid.New(base), DisplayName: "Okta", Description: "idp", CreatedAt: base, UpdatedAt: base}
	must(t, s.CreateApp(ctx, a))
	return a
}

func newConnector(t *testing.T, s conncred.Store, appID string) conncred.Connector {
	t.Helper()
	c := conncred.Connector{ID: ksuid.New(base), AppID: appID, CatalogID: "2HErg7BRmNdHgX8sTCWVq4E1fyh", DisplayName: "Baton",
		UserIDs: []string{"u1", "u2"}, CreatedAt: base, UpdatedAt: base}
	must(t, s.CreateConnector(ctx, c))
	return c
}

// clientSeq makes client ids unique; the suite creates them concurrently.
var clientSeq atomic.Int64

func credential(kind conncred.CredentialKind, appID, connID string) conncred.Credential {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	suffix := "ccc"
	if kind == conncred.KindAdmin {
		suffix = "pcc"
	}
	return conncred.Credential{
		ID: ksuid.New(base), Kind: kind, AppID: appID, ConnectorID: connID,
		ClientID:    fmt.Sprintf("brave-falcon-%05d@127.0.0.1:8443/%s", clientSeq.Add(1), suffix),
		DisplayName: "brave-falcon", PublicKey: pub, Thumbprint: "tp", CreatedAt: base, UpdatedAt: base,
	}
}

func newCredential(t *testing.T, s conncred.Store, c conncred.Connector) conncred.Credential {
	t.Helper()
	cr := credential(conncred.KindConnector, c.AppID, c.ID)
	must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
	return cr
}
