package nats

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"conveyor/bench"
	"conveyor/bench/harness"
)

// Benchmarks through conveyor's Client and Worker (the `conveyor bench`
// workloads, package bench/harness) on this package's test server, so the
// worker path can be measured and profiled beside the port-level and raw
// JetStream benchmarks of bench_test.go in the same run:
//
//	go test -run '^$' -bench 'Workload' -benchtime 1x ./backend/nats/
//
// BENCH_JOBS and BENCH_WORKERS override N and C (harness defaults: N 20000
// for work, C 2000).

func runWorkload(b *testing.B, workload string) harness.Result {
	be := benchBackend(b)
	sys, err := bench.NewSystem(be, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	jobs, _ := strconv.Atoi(os.Getenv("BENCH_JOBS"))
	workers, _ := strconv.Atoi(os.Getenv("BENCH_WORKERS"))
	var res harness.Result
	cpu := startCPU()
	out0 := be.nc.Stats().OutMsgs
	b.ResetTimer()
	for range b.N {
		res, err = harness.Run(context.Background(), sys, harness.Config{
			Workload: workload, Jobs: jobs, Workers: workers, Timeout: 2 * time.Minute,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU and messages per job over the whole run (the work workload's
	// enqueue included).
	cpu.report(b, b.N*res.Jobs)
	b.ReportMetric(float64(be.nc.Stats().OutMsgs-out0)/float64(b.N*res.Jobs), "out-msgs/job")
	return res
}

// BenchmarkWorkloadWork: C workers drain N pre-enqueued no-op jobs.
func BenchmarkWorkloadWork(b *testing.B) {
	res := runWorkload(b, harness.WorkloadWork)
	b.ReportMetric(res.JobsPerSec, "jobs/s")
}

// BenchmarkWorkloadBatch: EnqueueMany of 1000 jobs per call.
func BenchmarkWorkloadBatch(b *testing.B) {
	res := runWorkload(b, harness.WorkloadBatch)
	b.ReportMetric(res.JobsPerSec, "jobs/s")
}

// BenchmarkWorkloadLatency: 500 single enqueues/s for 5 s with idle
// workers running; enqueue -> handler start.
func BenchmarkWorkloadLatency(b *testing.B) {
	res := runWorkload(b, harness.WorkloadLatency)
	b.ReportMetric(res.P50Ms, "p50-ms")
	b.ReportMetric(res.P99Ms, "p99-ms")
}
