package metrics

import (
	"github.com/conncred/conncred/lifecycle"
	"github.com/prometheus/client_golang/prometheus"
)

// Lifecycle registers the lifecycle wing's metrics and returns the
// lifecycle.Observer that feeds them; set it as lifecycle.Config.Observer.
// Call it once per Metrics. Every series starts at 0.
func (m *Metrics) Lifecycle() lifecycle.Observer {
	o := lifecycleObserver{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "source_refusals_total",
			Help: "Token exchanges and API calls refused because the credential may not be used from the request's source address, by credential kind (connector, admin) and scope (session_settings: the server-wide connectorSource or pccAdminSource; credential: its own allowSourceCidr).",
		}, []string{"kind", "scope"}),
		retired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "credentials_retired_total",
			Help: "Credentials given an expiry by a rotate, by trigger: rotate (an admin's retirePreviousAfter) or self_rotate (a connector replacing its own credential).",
		}, []string{"trigger"}),
	}
	for _, k := range lifecycle.ObserverKinds {
		for _, s := range lifecycle.ObserverScopes {
			o.refused.WithLabelValues(k, s)
		}
	}
	for _, t := range lifecycle.ObserverTriggers {
		o.retired.WithLabelValues(t)
	}
	m.reg.MustRegister(o.refused, o.retired)
	return o
}

type lifecycleObserver struct {
	refused, retired *prometheus.CounterVec
}

var _ lifecycle.Observer = lifecycleObserver{}

func (o lifecycleObserver) SourceRefused(kind, scope string) {
	o.refused.WithLabelValues(kind, scope).Inc()
}

func (o lifecycleObserver) CredentialsRetired(trigger string, n int) {
	o.retired.WithLabelValues(trigger).Add(float64(n))
}
