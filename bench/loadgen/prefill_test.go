package loadgen

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/store/sqlite"
)

// TestPrefill: the filler is real rows a server can list and count, spread
// over connectors as asked, with a sample that names existing credentials.
func TestPrefill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "conncred.db")
	f, err := Prefill(ctx, path, 250, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.CountCredentials(ctx, conncred.CredentialFilter{AppID: f.AppID}); err != nil || n != 250 {
		t.Fatalf("credentials: %d, %v; want 250", n, err)
	}
	if len(f.Sample) != 250 {
		t.Fatalf("sample of %d, want every one of 250", len(f.Sample))
	}
	perConn := map[string]int{}
	for _, c := range f.Sample {
		got, err := st.GetCredential(ctx, c.ID)
		if err != nil || got.ConnectorID != c.ConnectorID || len(got.PublicKey) != 32 {
			t.Fatalf("sample %+v: %+v, %v", c, got, err)
		}
		perConn[c.ConnectorID]++
	}
	if len(perConn) != 3 {
		t.Fatalf("spread over %d connectors, want 3 (100, 100, 50)", len(perConn))
	}
}
