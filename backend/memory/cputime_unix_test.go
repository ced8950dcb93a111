//go:build unix

package memory_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user+system) the process has used, so the
// benchmarks can report CPU per job, which a loaded machine skews far less
// than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
