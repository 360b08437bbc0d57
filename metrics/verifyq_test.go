package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestVerifyQueueMetrics(t *testing.T) {
	m := New(BuildInfo{})
	obs := m.VerifyQueue()
	obs(1, false)
	obs(5, false)
	obs(8, true)
	want := `
# HELP conncred_verify_batch_failures_total Batch verifications whose equation failed, so that every member was verified alone: each means at least one bad signature shared a batch with others. A steady rate is someone sending bad signatures under load; the batch limit shrinks while it lasts.
# TYPE conncred_verify_batch_failures_total counter
conncred_verify_batch_failures_total 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "conncred_verify_batch_failures_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "conncred_verify_batch_size"); err != nil || n != 1 {
		t.Errorf("conncred_verify_batch_size: %d series (%v), want 1", n, err)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "conncred_verify_batch_size" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 3 || h.GetSampleSum() != 14 {
			t.Errorf("batch size histogram: %d samples summing to %v, want 3 summing to 14", h.GetSampleCount(), h.GetSampleSum())
		}
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == 4 && b.GetCumulativeCount() != 1 {
				t.Errorf("batches of at most 4: %d, want 1", b.GetCumulativeCount())
			}
		}
	}
}
