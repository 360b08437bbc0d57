package metrics

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/server"
	"github.com/conncred/conncred/store/sqlite"
)

// nullStore answers GetApp at once, so a benchmark measures the decorator.
type nullStore struct{ conncred.Store }

func (nullStore) GetApp(context.Context, string) (conncred.App, error) { return conncred.App{}, nil }

// BenchmarkStoreDecorator reports what the decorator adds to one call.
func BenchmarkStoreDecorator(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		s    conncred.Store
	}{{"bare", nullStore{}}, {"measured", New(BuildInfo{}).Store(nullStore{})}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = tc.s.GetApp(ctx, "x")
			}
		})
	}
}

// BenchmarkMiddleware reports what the request middleware adds to a
// request that does little else (GET /healthz).
func BenchmarkMiddleware(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "c.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a, err := authority.New(context.Background(), authority.Config{}, st, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for _, tc := range []struct {
		name string
		cfg  server.Config
	}{{"bare", server.Config{}}, {"measured", server.Config{Observer: New(BuildInfo{})}}} {
		b.Run(tc.name, func(b *testing.B) {
			h := server.New(tc.cfg, a, nil).Handler()
			req := httptest.NewRequest("GET", "/healthz", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
