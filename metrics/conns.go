package metrics

import "github.com/prometheus/client_golang/prometheus"

// ConnStats is what the connection limiter counts (internal/connlimit's
// Stats, passed as plain numbers so that this package does not depend on
// the listener).
type ConnStats struct {
	Open         int
	Accepted     uint64
	RefusedPerIP uint64
	Evicted      uint64
	TimedOut     uint64
}

// WatchConns exports the connection limiter's counts, read from stats at
// every scrape: open connections, and connections accepted, refused for
// their address's limit, closed idle to make room, and closed for bringing
// no request in time (the limiter's background sweep).
func (m *Metrics) WatchConns(stats func() ConnStats) {
	gauge := func(name, help string, v func(ConnStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, func() float64 { return v(stats()) })
	}
	counter := func(name, help string, v func(ConnStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, func() float64 { return float64(v(stats())) })
	}
	m.reg.MustRegister(
		gauge("connections_open", "Connections open on the API listener.", func(s ConnStats) float64 { return float64(s.Open) }),
		counter("connections_accepted_total", "Connections accepted on the API listener.", func(s ConnStats) uint64 { return s.Accepted }),
		counter("connections_refused_per_ip_total", "Connections closed at once because their address had --max-conns-per-ip open.", func(s ConnStats) uint64 { return s.RefusedPerIP }),
		counter("connections_evicted_total", "Idle connections closed to make room for new ones near --max-conns.", func(s ConnStats) uint64 { return s.Evicted }),
		counter("connections_timed_out_total", "Connections closed for bringing no request within --first-request-timeout.", func(s ConnStats) uint64 { return s.TimedOut }),
	)
}
