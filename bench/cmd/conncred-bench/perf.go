package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// perfRecord samples the server processes' stacks with Linux perf over the
// measured window (after warmup, for d), into out. The server needs no
// profiling endpoint for this, and Go binaries carry the symbols perf
// needs; read it with `perf report -i out`.
func perfRecord(ctx context.Context, out string, pids []int, warmup, d time.Duration) error {
	if _, err := exec.LookPath("perf"); err != nil {
		return fmt.Errorf("--cpuprofile needs Linux perf (apt-get install linux-perf): %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(warmup):
	}
	ids := make([]string, len(pids))
	for i, p := range pids {
		ids[i] = strconv.Itoa(p)
	}
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	cmd := exec.CommandContext(ctx, "perf", "record", "-q", "-F", "499", "-g", "-o", out,
		"-p", strings.Join(ids, ","), "--", "sleep", secs)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, b)
	}
	return nil
}
