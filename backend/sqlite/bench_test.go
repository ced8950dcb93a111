package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/sqlite"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// benchBatch is the batch size of every port-level benchmark, the worker's
// default fetch and completer batch.
const benchBatch = 1000

func benchBackend(b *testing.B) *sqlite.Backend {
	b.Helper()
	be, err := sqlite.New(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "bench.db")})
	require.NoError(b, err)
	b.Cleanup(func() { _ = be.Close() })
	return be
}

// cpuTime is the process's user+system CPU time. The machine is shared, so
// wall-clock jobs/s swing with the load; CPU µs per job does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds jobs/s (wall clock) and CPU µs per job (timed part only).
func report(b *testing.B, cpu time.Duration) {
	jobs := float64(b.N * benchBatch)
	b.ReportMetric(jobs/b.Elapsed().Seconds(), "jobs/s")
	b.ReportMetric(float64(cpu.Microseconds())/jobs, "cpu-µs/job")
}

func benchInserts(n int) []*backend.JobInsert {
	now := time.Now()
	out := make([]*backend.JobInsert, n)
	for i := range out {
		out[i] = &backend.JobInsert{
			ID: uuid.Must(uuid.NewV7()).String(), Kind: "bench.noop", Queue: "default",
			Args: json.RawMessage(`{"n":1}`), MaxAttempts: 25, Timeout: time.Minute, RunAt: now,
		}
	}
	return out
}

// BenchmarkEnqueueBatch measures JobEnqueue of 1000-job batches.
func BenchmarkEnqueueBatch(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		jobs := benchInserts(benchBatch)
		c0 := cpuTime()
		b.StartTimer()
		_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: jobs, Now: time.Now()})
		require.NoError(b, err)
		b.StopTimer()
		cpu += cpuTime() - c0
		b.StartTimer()
	}
	report(b, cpu)
}

// BenchmarkClaimFinish measures one claim of 1000 jobs plus one finish
// (completed) of those 1000: the worker's steady-state cost per job.
func BenchmarkClaimFinish(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	var cpu, claimCPU, finishCPU time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: benchInserts(benchBatch), Now: time.Now()})
		require.NoError(b, err)
		c0 := cpuTime()
		b.StartTimer()
		now := time.Now()
		claimed, err := be.JobClaim(ctx, &backend.JobClaimParams{
			Queue: "default", Limit: benchBatch, Owner: "bench", LeaseDuration: 30 * time.Second, Now: now,
		})
		require.NoError(b, err)
		require.Len(b, claimed.Jobs, benchBatch)
		b.StopTimer()
		c1 := cpuTime()
		claimCPU += c1 - c0
		b.StartTimer()
		outs := make([]*backend.JobOutcome, len(claimed.Jobs))
		for i, j := range claimed.Jobs {
			outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
		}
		res, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now})
		require.NoError(b, err)
		require.Empty(b, res.LeaseLost)
		b.StopTimer()
		c2 := cpuTime()
		cpu += c2 - c0
		finishCPU += c2 - c1
		b.StartTimer()
	}
	report(b, cpu)
	b.ReportMetric(float64(claimCPU.Nanoseconds())/1e3/float64(b.N*benchBatch), "claim-cpu-µs/job")
	b.ReportMetric(float64(finishCPU.Nanoseconds())/1e3/float64(b.N*benchBatch), "finish-cpu-µs/job")
}
