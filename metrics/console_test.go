package metrics

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestConsoleMetrics(t *testing.T) {
	m := New(BuildInfo{})
	obs := m.Console()
	if n, err := testutil.GatherAndCount(m.reg, "conncred_console_sweep_runs_total", "conncred_console_sweep_deleted_total", "conncred_console_sweep_errors_total"); err != nil || n != 3 {
		t.Fatalf("%d console series before any sweep (%v), want 3 at 0", n, err)
	}
	obs.SweepRun(7, nil)
	obs.SweepRun(2, errors.New("down"))
	o := obs.(consoleObserver)
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"runs", testutil.ToFloat64(o.runs), 2},
		{"deleted", testutil.ToFloat64(o.deleted), 9},
		{"errors", testutil.ToFloat64(o.errors), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
