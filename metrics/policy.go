package metrics

import (
	"time"

	"github.com/conncred/conncred/policy"
	"github.com/prometheus/client_golang/prometheus"
)

// Policy registers the policy scheduler's metrics and returns the
// policy.Observer that feeds them; set it as policy.Config.Observer. Call
// it once per Metrics. Every series starts at 0.
func (m *Metrics) Policy() policy.Observer {
	o := policyObserver{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "policy_scheduler_runs_total",
			Help: "Passes of the policy scheduler over the unrevoked connector credentials, by outcome (ok, failed: retried at the next tick).",
		}, []string{"outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "policy_events_total",
			Help: "Policy events this node recorded (each event is recorded once across all nodes), by kind: credential.expiring, credential.expired, credential.dormant, credential.auto_revoked, connector.offline, connector.online.",
		}, []string{"kind"}),
		scanned: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "policy_scheduler_credentials",
			Help: "Unrevoked connector credentials the last pass of the policy scheduler looked at.",
		}),
		took: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "policy_scheduler_last_run_seconds",
			Help: "How long the last pass of the policy scheduler took.",
		}),
	}
	for _, out := range []string{policy.RunOK, policy.RunFailed} {
		o.runs.WithLabelValues(out)
	}
	for _, k := range policy.EventKinds {
		o.events.WithLabelValues(k)
	}
	m.reg.MustRegister(o.runs, o.events, o.scanned, o.took)
	return o
}

type policyObserver struct {
	runs, events  *prometheus.CounterVec
	scanned, took prometheus.Gauge
}

var _ policy.Observer = policyObserver{}

func (o policyObserver) SchedulerRun(outcome string, credentials int, took time.Duration) {
	o.runs.WithLabelValues(outcome).Inc()
	o.scanned.Set(float64(credentials))
	o.took.Set(took.Seconds())
}

func (o policyObserver) EventEmitted(kind string) { o.events.WithLabelValues(kind).Inc() }
