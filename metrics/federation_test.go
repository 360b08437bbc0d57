package metrics

import (
	"errors"
	"testing"

	"github.com/conncred/conncred/authority"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFederationMetrics(t *testing.T) {
	m := New(BuildInfo{})
	obs := m.Federation()
	if m.Federation() != obs {
		t.Fatal("Federation returned a second observer; the collectors must be registered once")
	}
	obs.TrustExchange(authority.OutcomeIssued, "")
	obs.TrustExchange(authority.OutcomeRefused, authority.ErrInvalidGrant)
	obs.TrustExchange(authority.OutcomeRefused, authority.ErrInvalidGrant)
	obs.IssuerKeyFetch(nil)
	obs.IssuerKeyFetch(errors.New("down"))
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"issued", testutil.ToFloat64(m.fed.exchanges.WithLabelValues(authority.OutcomeIssued, "")), 1},
		{"refused invalid_grant", testutil.ToFloat64(m.fed.exchanges.WithLabelValues(authority.OutcomeRefused, authority.ErrInvalidGrant)), 2},
		{"fetch ok", testutil.ToFloat64(m.fed.fetches.WithLabelValues("ok")), 1},
		{"fetch error", testutil.ToFloat64(m.fed.fetches.WithLabelValues("error")), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
