package metrics

import (
	"sync"

	"github.com/conncred/conncred/dpop"
	"github.com/prometheus/client_golang/prometheus"
)

// dpopMetrics are the DPoP wing's collectors, registered the first time
// DPoP is called (a server without DPoP shows none of them).
type dpopMetrics struct {
	once   sync.Once
	proofs *prometheus.CounterVec
}

// DPoP returns the observer that counts DPoP proofs checked.
func (m *Metrics) DPoP() dpop.Observer {
	dm := &m.dpop
	dm.once.Do(func() {
		dm.proofs = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "dpop_proofs_total",
			Help: "DPoP proofs (RFC 9449) checked at the token endpoint, the API and the BatonService, by outcome (accepted, refused) and the reason of a refusal (missing, multiple, malformed, typ, alg, jwk, signature, htm, htu, iat, nonce, ath, key, replay). A rise of replay or key refusals is someone trying stolen tokens or proofs.",
		}, []string{"outcome", "reason"})
		dm.proofs.WithLabelValues(dpop.OutcomeAccepted, "")
		for _, r := range dpop.Reasons {
			dm.proofs.WithLabelValues(dpop.OutcomeRefused, r)
		}
		m.reg.MustRegister(dm.proofs)
	})
	return dm
}

func (dm *dpopMetrics) DPoPProof(outcome, reason string) {
	dm.proofs.WithLabelValues(outcome, reason).Inc()
}
