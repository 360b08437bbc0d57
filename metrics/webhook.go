package metrics

import (
	"time"

	"github.com/conncred/conncred/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// Webhooks registers the webhook worker's metrics and returns the
// webhook.Observer that feeds them. Call it once per Metrics.
func (m *Metrics) Webhooks() webhook.Observer {
	o := webhookObserver{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_attempts_total",
			Help: "Webhook delivery attempts, by outcome: succeeded, retry (failed, will be retried with backoff), dead (failed at the retry cap).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "webhook_attempt_seconds",
			Help:    "How long a webhook delivery attempt took, connect to response.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8),
		}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "webhook_queue_depth",
			Help: "Webhook deliveries pending (due or waiting for a retry) plus events not yet fanned out, after the last round of this node.",
		}),
	}
	for _, out := range webhook.Outcomes {
		o.attempts.WithLabelValues(out)
	}
	m.reg.MustRegister(o.attempts, o.latency, o.depth)
	return o
}

type webhookObserver struct {
	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
	depth    prometheus.Gauge
}

func (o webhookObserver) Attempted(outcome string, latency time.Duration) {
	o.attempts.WithLabelValues(outcome).Inc()
	o.latency.Observe(latency.Seconds())
}

func (o webhookObserver) QueueDepth(n int) { o.depth.Set(float64(n)) }
