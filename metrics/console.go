package metrics

import (
	"github.com/conncred/conncred/console"
	"github.com/prometheus/client_golang/prometheus"
)

// Console registers the console sign-in sweep's metrics and returns the
// console.Observer that feeds them; set it as console.Config.Observer.
// Call it once per Metrics. Every series starts at 0.
func (m *Metrics) Console() console.Observer {
	o := consoleObserver{
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "console_sweep_runs_total",
			Help: "Passes of the sweep that deletes spent console login links and sessions (every 5m).",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "console_sweep_deleted_total",
			Help: "Console login links (expired or used) and sessions (expired or signed out) the sweep deleted.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "console_sweep_errors_total",
			Help: "Passes of the console sweep that a store error stopped (logged; the rest waits for the next pass).",
		}),
	}
	m.reg.MustRegister(o.runs, o.deleted, o.errors)
	return o
}

type consoleObserver struct {
	runs, deleted, errors prometheus.Counter
}

var _ console.Observer = consoleObserver{}

func (o consoleObserver) SweepRun(deleted int, err error) {
	o.runs.Inc()
	o.deleted.Add(float64(deleted))
	if err != nil {
		o.errors.Inc()
	}
}
