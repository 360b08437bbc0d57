package server

import (
	"context"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/conncred/conncred/baton"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
)

// benchConnectors makes n connectors with a token each and a client per
// connector over one shared HTTP/2 connection (the TLS handshake of
// baton-sdk's connection-per-RPC is the TLS stack's cost, measured by the
// token benchmarks; this measures conncred's own work per RPC).
func benchConnectors(b *testing.B, e *batonEnv, n int) []batonv1connect.BatonServiceClient {
	b.Helper()
	clients := make([]batonv1connect.BatonServiceClient, n)
	for i := range clients {
		_, _, tok := e.connectorToken()
		clients[i] = batonv1connect.NewBatonServiceClient(e.srv.Client(), e.srv.URL, connect.WithGRPC(), connect.WithInterceptors(bearerInterceptor(tok)))
	}
	return clients
}

// BenchmarkBatonGetTask measures empty polls (the steady state: no task
// pending) from 50 connectors in parallel. At 10,000 connectors polling
// every 5 s a server answers 2,000 polls/s; the ns/op here, times 2,000,
// is the share of one core that costs.
func BenchmarkBatonGetTask(b *testing.B) {
	e := newBatonEnv(b, baton.Config{})
	clients := benchConnectors(b, e, 50)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := clients[int(next.Add(1))%len(clients)]
		req := connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"})
		for pb.Next() {
			if _, err := c.GetTask(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
}

// BenchmarkBatonHeartbeat measures heartbeats of running syncs, one per
// connector.
func BenchmarkBatonHeartbeat(b *testing.B) {
	e := newBatonEnv(b, baton.Config{})
	type beater struct {
		c  batonv1connect.BatonServiceClient
		id string
	}
	var beaters []beater
	for range 50 {
		appID, connID, tok := e.connectorToken()
		c := batonv1connect.NewBatonServiceClient(e.srv.Client(), e.srv.URL, connect.WithGRPC(), connect.WithInterceptors(bearerInterceptor(tok)))
		task := e.forceSync(appID, connID)
		if _, err := c.GetTask(context.Background(), connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"})); err != nil {
			b.Fatal(err)
		}
		beaters = append(beaters, beater{c, task.ID})
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		bt := beaters[int(next.Add(1))%len(beaters)]
		req := connect.NewRequest(&batonv1.BatonServiceHeartbeatRequest{HostId: "bench", TaskId: bt.id})
		for pb.Next() {
			if _, err := bt.c.Heartbeat(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}

// BenchmarkBatonUpload measures one 8 MiB upload (16 chunks of 512 KiB)
// into the directory store, fsync and rename included.
func BenchmarkBatonUpload(b *testing.B) {
	e := newBatonEnv(b, baton.Config{})
	appID, connID, tok := e.connectorToken()
	c := batonv1connect.NewBatonServiceClient(e.srv.Client(), e.srv.URL, connect.WithGRPC(), connect.WithInterceptors(bearerInterceptor(tok)))
	task := e.forceSync(appID, connID)
	if _, err := c.GetTask(context.Background(), connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"})); err != nil {
		b.Fatal(err)
	}
	body := c1z(8 << 20)
	msgs := uploadMsgs("bench", task.ID, body, nil)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		if err := upload(context.Background(), c, msgs); err != nil {
			b.Fatal(err)
		}
	}
}
