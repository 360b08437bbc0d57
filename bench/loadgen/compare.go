package loadgen

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
)

// ServerMicros is the servers' CPU time per successful request, in µs (0
// when it was not measured).
func (r Result) ServerMicros() float64 {
	if r.ServerCPUSeconds <= 0 || r.OK <= 0 {
		return 0
	}
	return r.ServerCPUSeconds / float64(r.OK) * 1e6
}

// Compare writes, for every concurrency both reports measured, other's
// throughput and server CPU per request beside base's and as ratios of
// them: two servers driven by the same generator, side by side.
func Compare(w io.Writer, base, other Report) error {
	fmt.Fprintf(w, "base:  %s (%s, %s assertions)\n", base.Scenario.Label, base.Scenario.Server, assertionOf(base.Scenario))
	fmt.Fprintf(w, "other: %s (%s, %s assertions)\n\n", other.Scenario.Label, other.Scenario.Server, assertionOf(other.Scenario))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "c\tbase req/s\tother req/s\tthroughput other/base\tbase srv µs/req\tother srv µs/req\tCPU per request other/base\t")
	n := 0
	for _, b := range base.Results {
		for _, o := range other.Results {
			if o.Concurrency != b.Concurrency {
				continue
			}
			n++
			fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t\n", b.Concurrency, b.Throughput, o.Throughput,
				ratio(o.Throughput, b.Throughput), micros(b.ServerMicros()), micros(o.ServerMicros()), ratio(o.ServerMicros(), b.ServerMicros()))
		}
	}
	if n == 0 {
		return errors.New("the two reports share no concurrency")
	}
	return tw.Flush()
}

func assertionOf(s Scenario) string {
	if s.Assertion == "" {
		return "EdDSA"
	}
	return s.Assertion
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", a/b)
}

func micros(us float64) string {
	if us <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", us)
}
