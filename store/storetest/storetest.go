// Package storetest is the conformance suite every conncred.Store must pass
// unchanged. A backend's own test calls Run with a function that opens a
// fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) conncred.Store {
//			s := openFresh(t)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite pins the semantics written in the Store interface's comments and
// nothing a backend is free to choose: it compares times with Equal, asserts
// errors by conncred.ErrorCode and never by text, and uses only portable
// values. It lives outside _test files so that every backend can import it,
// but no production code does.
package storetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// test is one subtest; it gets a store of its own, so that lists over the
// whole store (apps, admins, audit) see only what the test made.
type test struct {
	name string
	fn   func(t *testing.T, s conncred.Store)
}

// Run runs the whole suite. open must return a fresh, empty store and arrange
// its closing with t.Cleanup; Run calls it once per subtest.
func Run(t *testing.T, open func(t *testing.T) conncred.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Apps", appTests},
		{"Connectors", connectorTests},
		{"Credentials", credentialTests},
		{"ActiveLimit", activeLimitTests},
		{"Touch", touchTests},
		{"Paging", pagingTests},
		{"Assertions", assertionTests},
		{"SigningKeys", signingKeyTests},
		{"Audit", auditTests},
		{"Ping", []test{{"Answers", testPing}}},
		{"Concurrency", concurrencyTests},
		{"Lifecycle", lifecycleTests},
		{"Baton", batonTests},
		{"BatonMore", batonMoreTests},
		{"Trusts", trustTests},
		{"Policies", policyTests},
		{"DPoP", dpopTests},
		{"Webhooks", webhookTests},
		{"Join", joinTests},
		{"Personal", personalTests},
		{"WorkloadFederationOfficial", wfeTests},
		{"Console", consoleTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
			}
		})
	}
}

func testPing(t *testing.T, s conncred.Store) {
	must(t, s.Ping(t.Context()))
}

// base is the suite's clock. It has microsecond precision because that is
// what every store keeps (PostgreSQL's timestamptz does, SQLite's stores
// microseconds); a finer time would not round-trip.
var base = time.Date(2026, 11, 28, 17, 5, 47, 123456000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantCode asserts an error's code; the code, not the text, is the contract.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := conncred.ErrorCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func fmtTime(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.Format(time.RFC3339Nano)
}

// diff collects the fields in which a stored record differs from the one
// written, so that a failure names every wrong field at once.
type diff []string

func (d *diff) str(name, got, want string) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s: got %q, want %q", name, got, want))
	}
}

func (d *diff) time(name string, got, want time.Time) {
	if !got.Equal(want) {
		*d = append(*d, fmt.Sprintf("%s: got %s, want %s", name, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano)))
	}
	// Equal times in another location would still leak a server's zone to
	// the wire; every store hands back UTC.
	if got.Location() != time.UTC {
		*d = append(*d, fmt.Sprintf("%s: location %v, want UTC", name, got.Location()))
	}
}

func (d *diff) timePtr(name string, got, want *time.Time) {
	if !sameTime(got, want) {
		*d = append(*d, fmt.Sprintf("%s: got %s, want %s", name, fmtTime(got), fmtTime(want)))
		return
	}
	if got != nil {
		d.time(name, *got, *want)
	}
}

func (d diff) check(t testing.TB, what string) {
	t.Helper()
	if len(d) > 0 {
		t.Errorf("%s differs from what was written:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func checkApp(t testing.TB, what string, got, want conncred.App) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("DisplayName", got.DisplayName, want.DisplayName)
	d.str("Description", got.Description, want.Description)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.timePtr("DeletedAt", got.DeletedAt, want.DeletedAt)
	d.check(t, what)
}

func checkConnector(t testing.TB, what string, got, want conncred.Connector) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("AppID", got.AppID, want.AppID)
	d.str("CatalogID", got.CatalogID, want.CatalogID)
	d.str("DisplayName", got.DisplayName, want.DisplayName)
	d.str("Description", got.Description, want.Description)
	// nil and empty are the same list: neither SQL dialect tells them apart.
	if !slices.Equal(got.UserIDs, want.UserIDs) {
		d = append(d, fmt.Sprintf("UserIDs: got %q, want %q", got.UserIDs, want.UserIDs))
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.timePtr("DeletedAt", got.DeletedAt, want.DeletedAt)
	d.check(t, what)
}

func checkCredential(t testing.TB, what string, got, want conncred.Credential) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Kind", string(got.Kind), string(want.Kind))
	d.str("AppID", got.AppID, want.AppID)
	d.str("ConnectorID", got.ConnectorID, want.ConnectorID)
	d.str("ClientID", got.ClientID, want.ClientID)
	d.str("DisplayName", got.DisplayName, want.DisplayName)
	if !bytes.Equal(got.PublicKey, want.PublicKey) {
		d = append(d, fmt.Sprintf("PublicKey: got %x, want %x", got.PublicKey, want.PublicKey))
	}
	d.str("Thumbprint", got.Thumbprint, want.Thumbprint)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.timePtr("DeletedAt", got.DeletedAt, want.DeletedAt)
	d.timePtr("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.timePtr("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	d.check(t, what)
}

func checkAudit(t testing.TB, what string, got, want conncred.AuditEvent) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.time("Time", got.Time, want.Time)
	d.str("Kind", got.Kind, want.Kind)
	d.str("Actor", got.Actor, want.Actor)
	d.str("Source", got.Source, want.Source)
	d.str("Outcome", got.Outcome, want.Outcome)
	d.str("Reason", got.Reason, want.Reason)
	d.str("AppID", got.AppID, want.AppID)
	d.str("ConnectorID", got.ConnectorID, want.ConnectorID)
	d.str("CredentialID", got.CredentialID, want.CredentialID)
	if got.Count != want.Count {
		d = append(d, fmt.Sprintf("Count: got %d, want %d", got.Count, want.Count))
	}
	d.check(t, what)
}

// idsOf returns the IDs of records, for comparing lists.
func idsOf[T any](records []T, id func(T) string) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = id(r)
	}
	return out
}

func appID(a conncred.App) string               { return a.ID }
func connectorID(c conncred.Connector) string   { return c.ID }
func credentialID(c conncred.Credential) string { return c.ID }
func auditID(e conncred.AuditEvent) string      { return e.ID }

func wantIDs(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n\tgot  %v\n\twant %v", what, got, want)
	}
}

// newID returns a fresh record id. ksuid ids made by one process are strictly
// increasing, so creation order is ID order.
func newID() string { return ksuid.New(base) }

func app() conncred.App {
	return conncred.App{ID: newID(), DisplayName: "Okta ✓", Description: `the "prod" IdP; it's shared`, CreatedAt: base, UpdatedAt: base}
}

func newApp(t testing.TB, s conncred.Store) conncred.App {
	t.Helper()
	a := app()
	must(t, s.CreateApp(t.Context(), a))
	return a
}

func connector(appID string) conncred.Connector {
	return conncred.Connector{ID: newID(), AppID: appID, CatalogID: "2HErg7BRmNdHgX8sTCWVq4E1fyh", DisplayName: "Baton Okta",
		Description: "syncs hourly", UserIDs: []string{"2HErgAzqAQ0kJUiWc4lYtj9yHXS", "user ✓"}, CreatedAt: base, UpdatedAt: base}
}

func newConnector(t testing.TB, s conncred.Store, appID string) conncred.Connector {
	t.Helper()
	c := connector(appID)
	must(t, s.CreateConnector(t.Context(), c))
	return c
}

// clientSeq keeps client ids unique across a run; tests make them from
// several goroutines.
var clientSeq atomic.Int64

// credential returns a live connector credential of c, or an admin
// credential when c is nil.
func credential(c *conncred.Connector) conncred.Credential {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	key[0], key[31] = 0, 0xff // bytes a text column would mangle
	cr := conncred.Credential{ID: newID(), Kind: conncred.KindAdmin, DisplayName: "brave-falcon", PublicKey: key,
		Thumbprint: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", CreatedAt: base, UpdatedAt: base}
	suffix := "pcc"
	if c != nil {
		cr.Kind, cr.AppID, cr.ConnectorID = conncred.KindConnector, c.AppID, c.ID
		suffix = "ccc"
	}
	cr.ClientID = fmt.Sprintf("brave-falcon-%05d@127.0.0.1:8443/%s", clientSeq.Add(1), suffix)
	return cr
}

// newCredential stores a credential of c (an admin one when c is nil),
// without a cap, after applying the edits.
func newCredential(t testing.TB, s conncred.Store, c *conncred.Connector, edits ...func(*conncred.Credential)) conncred.Credential {
	t.Helper()
	cr := credential(c)
	for _, edit := range edits {
		edit(&cr)
	}
	must(t, s.CreateCredential(t.Context(), cr, conncred.ActiveLimit{}))
	return cr
}

func expiresAt(t time.Time) func(*conncred.Credential) {
	return func(c *conncred.Credential) { c.ExpiresAt = &t }
}

func getCredential(t testing.TB, s conncred.Store, id string) conncred.Credential {
	t.Helper()
	c, err := s.GetCredential(t.Context(), id)
	must(t, err)
	return c
}
