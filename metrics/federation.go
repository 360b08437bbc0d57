package metrics

import (
	"sync"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
	"github.com/prometheus/client_golang/prometheus"
)

// federationMetrics are the workload federation's collectors, registered
// the first time Federation is called (a server without federation shows
// none of them).
type federationMetrics struct {
	once      sync.Once
	exchanges *prometheus.CounterVec
	fetches   *prometheus.CounterVec
}

// Federation returns the observer that counts token exchanges through
// trusts and issuer key fetches.
func (m *Metrics) Federation() federation.Observer {
	fm := &m.fed
	fm.once.Do(func() {
		fm.exchanges = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "trust_exchanges_total",
			Help: "RFC 8693 token exchanges through workload federation trusts, by outcome (issued, refused, error) and error code of a refusal (invalid_request, invalid_client, invalid_grant, invalid_target).",
		}, []string{"outcome", "code"})
		fm.exchanges.WithLabelValues(authority.OutcomeIssued, "")
		for _, c := range []string{authority.ErrInvalidRequest, authority.ErrInvalidClient, authority.ErrInvalidGrant, federation.ErrInvalidTarget} {
			fm.exchanges.WithLabelValues(authority.OutcomeRefused, c)
		}
		fm.fetches = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "issuer_key_fetches_total",
			Help: "Fetches of a trusted issuer's discovery document and JWKS, by result (ok, error). A steady rate of errors means an issuer is down and its keys are being served stale.",
		}, []string{"result"})
		fm.fetches.WithLabelValues("ok")
		fm.fetches.WithLabelValues("error")
		m.reg.MustRegister(fm.exchanges, fm.fetches)
	})
	return fm
}

func (fm *federationMetrics) TrustExchange(outcome, code string) {
	fm.exchanges.WithLabelValues(outcome, code).Inc()
}

func (fm *federationMetrics) IssuerKeyFetch(err error) {
	if err != nil {
		fm.fetches.WithLabelValues("error").Inc()
		return
	}
	fm.fetches.WithLabelValues("ok").Inc()
}
