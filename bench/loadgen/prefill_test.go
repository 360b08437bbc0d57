package loadgen_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/store/sqlite"
)

func openSQLite(path string) loadgen.OpenStore {
	return func(ctx context.Context) (conncred.Store, error) { return sqlite.Open(ctx, path) }
}

// TestPrefill: the filler is real rows a server can list and count, spread
// over connectors as asked, with a sample that names existing credentials,
// in a store Prefill closed (so a server can open it).
func TestPrefill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "conncred.db")
	var progress []int
	f, err := loadgen.Prefill(ctx, openSQLite(path), 250, 100, func(done int) { progress = append(progress, done) })
	if err != nil {
		t.Fatal(err)
	}
	if progress != nil {
		t.Errorf("progress %v before 100,000", progress)
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

// closeFails is a store whose Close fails after the fill.
type closeFails struct{ conncred.Store }

func (closeFails) Close() error { return errors.New("disk full") }

// TestPrefillErrors: a store that does not open, a cancelled fill and a
// store that does not close are each an error, never a partial success.
func TestPrefillErrors(t *testing.T) {
	ctx := context.Background()
	refuse := func(context.Context) (conncred.Store, error) { return nil, errors.New("no such database") }
	if _, err := loadgen.Prefill(ctx, refuse, 10, 10, nil); err == nil || !strings.Contains(err.Error(), "no such database") {
		t.Errorf("open fails: %v", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	path := filepath.Join(t.TempDir(), "conncred.db")
	if _, err := loadgen.Prefill(cancelled, openSQLite(path), 10, 10, nil); err == nil {
		t.Error("a cancelled fill: no error")
	}

	path = filepath.Join(t.TempDir(), "conncred.db")
	open := func(ctx context.Context) (conncred.Store, error) {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { st.Close() })
		return closeFails{st}, nil
	}
	if _, err := loadgen.Prefill(ctx, open, 10, 10, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("close fails: %v", err)
	}
}

// TestGeneratorImportsNoStore keeps the generator on the conncred.Store
// interface: the command chooses and opens the store, the generator never
// depends on one (nor on PostgreSQL's driver beyond its row counters).
func TestGeneratorImportsNoStore(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/store/sqlite", "/store/postgres", "modernc.org/sqlite"} {
			if strings.Contains(dep, "github.com/conncred/conncred"+banned) || strings.HasPrefix(dep, banned) {
				t.Errorf("loadgen depends on %s", dep)
			}
		}
	}
}
