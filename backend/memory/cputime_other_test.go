//go:build !unix

package memory_test

import "time"

// cpuTime is unavailable here; the cpu-ns/job metric then reads 0.
func cpuTime() time.Duration { return 0 }
