package metrics

import "github.com/prometheus/client_golang/prometheus"

// VerifyQueue registers the batch verification queue's metrics
// (internal/verifyq) and returns its Observer: give it to verifyq.Queue's
// Observer. Call it once per Metrics; a server that does not batch its
// signature checks does not call it and shows none of these.
func (m *Metrics) VerifyQueue() func(size int, failed bool) {
	size := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "verify_batch_size",
		Help:    "Ed25519 signatures checked per batch verification (concurrent checks share one batch; a lone check is a batch of 1).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})
	failed := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "verify_batch_failures_total",
		Help: "Batch verifications whose equation failed, so that every member was verified alone: each means at least one bad signature shared a batch with others. A steady rate is someone sending bad signatures under load; the batch limit shrinks while it lasts.",
	})
	m.reg.MustRegister(size, failed)
	return func(n int, f bool) {
		size.Observe(float64(n))
		if f {
			failed.Inc()
		}
	}
}
