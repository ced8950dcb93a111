package nats

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuMeter measures CPU time over a benchmark's timed part, reported per
// job as "go-us/job" (this process: client, plus the server when it is
// embedded) and, when CONVEYOR_TEST_NATS_PID names the external server's
// process, "srv-us/job" (its utime+stime from /proc). CPU time drifts far
// less than wall-clock throughput on a shared 2-core VM.
type cpuMeter struct {
	self, srv time.Duration
	pid       string
}

func startCPU() *cpuMeter {
	m := &cpuMeter{pid: os.Getenv("CONVEYOR_TEST_NATS_PID")}
	m.self, m.srv = selfCPU(), procCPU(m.pid)
	return m
}

// report adds the per-job metrics for n jobs.
func (m *cpuMeter) report(b *testing.B, n int) {
	self, srv := selfCPU()-m.self, procCPU(m.pid)-m.srv
	b.ReportMetric(float64(self.Microseconds())/float64(n), "go-us/job")
	if m.pid != "" {
		b.ReportMetric(float64(srv.Microseconds())/float64(n), "srv-us/job")
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is a process's utime+stime (0 when unknown). Clock ticks are
// taken as 100 Hz, Linux's USER_HZ.
func procCPU(pid string) time.Duration {
	if pid == "" {
		return 0
	}
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
