package policy_test

import (
	"context"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/policy"
)

type allowAll struct{}

func (allowAll) CheckSource(context.Context, conncred.Credential, string) error { return nil }

// BenchmarkWatchUse measures what hearing a connector adds to every
// authenticated call: the source guard alone, and wrapped by WatchUse.
// Run: go test ./policy -run '^$' -bench WatchUse -benchtime 2s
func BenchmarkWatchUse(b *testing.B) {
	svc, err := policy.New(policy.Config{}, nil, nil, clock.Real{}) // WatchUse needs only the clock
	if err != nil {
		b.Fatal(err)
	}
	cred := conncred.Credential{ID: "c", Kind: conncred.KindConnector, ConnectorID: "conn"}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		g    policy.SourceGuard
	}{{"guard", allowAll{}}, {"watched", svc.WatchUse(allowAll{})}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = bc.g.CheckSource(ctx, cred, "192.0.2.1:1")
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = bc.g.CheckSource(ctx, cred, "192.0.2.1:1")
				}
			})
		})
	}
}
