package benchnode

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcStats is what /proc says of a process: CPU time used since it started
// and its peak resident set size (VmHWM).
type ProcStats struct {
	CPU     time.Duration
	PeakRSS int64 // bytes
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go supports (the kernel's ABI fixes
// it), and the stdlib has no sysconf to ask.
const clockTicks = 100

// ReadProc reads pid's CPU time and peak RSS from /proc (Linux only).
func ReadProc(pid int) (ProcStats, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStats{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces, so
	// count fields from the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ProcStats{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return ProcStats{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return ProcStats{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	st := ProcStats{CPU: time.Duration(utime+stime) * time.Second / clockTicks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStats{}, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return ProcStats{}, fmt.Errorf("/proc/%d/status: unexpected VmHWM %q", pid, strings.TrimSpace(v))
			}
			st.PeakRSS = kb << 10
		}
	}
	return st, nil
}

// ResetPeakRSS resets pid's VmHWM to its current RSS (Linux ≥ 4.0), so the
// peak reported for a load point is that point's own and not set-up's. It
// needs the right to write the process's clear_refs; failing, the peak is
// since the process started.
func ResetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
