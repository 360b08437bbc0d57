package loadgen

import (
	"syscall"
	"time"
)

// selfCPU returns the CPU time this process has used, to show what the load
// generator itself takes from the machine it shares with the server.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
