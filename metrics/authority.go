package metrics

import (
	"time"

	"github.com/conncred/conncred/authority"
)

// Authority returns the authority.Observer that feeds these metrics; set
// it as authority.Config.Observer.
func (m *Metrics) Authority() authority.Observer { return authorityObserver{m} }

type authorityObserver struct{ m *Metrics }

var _ authority.Observer = authorityObserver{}

func (o authorityObserver) TokenExchange(outcome, reason string) {
	o.m.exchanges.WithLabelValues(outcome, reason).Inc()
}

func (o authorityObserver) CacheLookup(hit bool) {
	if hit {
		o.m.cacheHit.Inc()
	} else {
		o.m.cacheMiss.Inc()
	}
}

func (o authorityObserver) ReplayWritten() { o.m.replayWritten.Inc() }

func (o authorityObserver) ReplaySwept(n int) { o.m.replaySwept.Add(float64(n)) }

func (o authorityObserver) LastUsedFlush(credentials int, lag time.Duration) {
	o.m.lastUsedWritten.Add(float64(credentials))
	o.m.lastUsedLag.Observe(lag.Seconds())
}

func (o authorityObserver) BackgroundRun(job string, took time.Duration, err error) {
	o.m.jobDuration.WithLabelValues(job).Observe(took.Seconds())
	if err != nil {
		o.m.jobRuns.WithLabelValues(job, "error").Inc()
		return
	}
	o.m.jobRuns.WithLabelValues(job, "ok").Inc()
	o.m.jobLastSuccess.WithLabelValues(job).SetToCurrentTime()
}
