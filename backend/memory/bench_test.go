package memory_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/memory"

	"github.com/google/uuid"
)

var benchNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// inserts returns n no-op job inserts for queue.
func inserts(n int, queue string) []*backend.JobInsert {
	out := make([]*backend.JobInsert, n)
	for i := range out {
		out[i] = &backend.JobInsert{
			ID: uuid.Must(uuid.NewV7()).String(), Kind: "noop", Queue: queue,
			Args: json.RawMessage(`{}`), MaxAttempts: 25, Timeout: time.Minute, RunAt: benchNow,
		}
	}
	return out
}

func newBench(b *testing.B) *memory.Backend {
	be, err := memory.New(context.Background(), memory.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = be.Close() })
	return be
}

// BenchmarkEnqueueBatch1000 stores batches of 1000 jobs (a fresh queue per
// batch so the heaps stay the size of a realistic backlog).
func BenchmarkEnqueueBatch1000(b *testing.B) {
	be := newBench(b)
	ctx := context.Background()
	batches := make([][]*backend.JobInsert, 0, 64)
	for i := range 64 {
		batches = append(batches, inserts(1000, "q"+strconv.Itoa(i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		batch := batches[i%len(batches)]
		if i > 0 && i%len(batches) == 0 {
			// IDs are unique per store: regenerate them off the clock.
			b.StopTimer()
			for j := range batches {
				batches[j] = inserts(1000, "q"+strconv.Itoa(i+j))
			}
			batch = batches[0]
			b.StartTimer()
		}
		c0 := cpuTime()
		if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: batch, Now: benchNow}); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
	}
	reportJobs(b, b.N*1000, b.Elapsed(), cpu)
}

// BenchmarkClaimFinishBatch1000 claims 1000 jobs in one call and completes
// them in one call, from a queue holding 10,000 queued jobs.
func BenchmarkClaimFinishBatch1000(b *testing.B) {
	be := newBench(b)
	ctx := context.Background()
	const backlog = 10_000
	if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: inserts(backlog-1000, "q"), Now: benchNow}); err != nil {
		b.Fatal(err)
	}
	outs := make([]*backend.JobOutcome, 1000)
	for i := range outs {
		outs[i] = &backend.JobOutcome{Outcome: backend.OutcomeCompleted}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Top the backlog up and drop the previous batch's finished jobs.
		if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: inserts(1000, "q"), Now: benchNow}); err != nil {
			b.Fatal(err)
		}
		if _, err := be.JobPrune(ctx, &backend.JobPruneParams{State: backend.StateCompleted, FinishedBefore: benchNow.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := cpuTime()
		res, err := be.JobClaim(ctx, &backend.JobClaimParams{Queue: "q", Limit: 1000, Owner: "w", LeaseDuration: time.Minute, Now: benchNow})
		if err != nil || len(res.Jobs) != 1000 {
			b.Fatalf("claim: %d jobs, %v", len(res.Jobs), err)
		}
		for j, job := range res.Jobs {
			outs[j].ID, outs[j].LeaseToken = job.ID, job.LeaseToken
		}
		fin, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: benchNow})
		if err != nil || len(fin.LeaseLost) != 0 {
			b.Fatalf("finish: %v lost, %v", fin, err)
		}
		cpu += cpuTime() - c0
	}
	reportJobs(b, b.N*1000, b.Elapsed(), cpu)
}

// BenchmarkBurnDown100k enqueues 100,000 jobs, then claims and completes
// them in batches of 1000 from one goroutine: the port-level ceiling of the
// issue's burn-down target (>= 1M jobs/s through the worker).
func BenchmarkBurnDown100k(b *testing.B) {
	ctx := context.Background()
	const total = 100_000
	outs := make([]*backend.JobOutcome, 1000)
	for i := range outs {
		outs[i] = &backend.JobOutcome{Outcome: backend.OutcomeCompleted}
	}
	var drained, cpu time.Duration
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		be, err := memory.New(ctx, memory.Config{})
		if err != nil {
			b.Fatal(err)
		}
		jobs := inserts(total, "q")
		for k := 0; k < total; k += 1000 {
			if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: jobs[k : k+1000], Now: benchNow}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start, c0 := time.Now(), cpuTime()
		for done := 0; done < total; {
			res, err := be.JobClaim(ctx, &backend.JobClaimParams{Queue: "q", Limit: 1000, Owner: "w", LeaseDuration: time.Minute, Now: benchNow})
			if err != nil {
				b.Fatal(err)
			}
			for j, job := range res.Jobs {
				outs[j].ID, outs[j].LeaseToken = job.ID, job.LeaseToken
			}
			if _, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs[:len(res.Jobs)], Now: benchNow}); err != nil {
				b.Fatal(err)
			}
			done += len(res.Jobs)
		}
		drained += time.Since(start)
		cpu += cpuTime() - c0
		_ = be.Close() // and drop it, so stores do not pile up across iterations
	}
	reportJobs(b, b.N*total, drained, cpu)
}

// reportJobs reports throughput by wall time and CPU time per job.
func reportJobs(b *testing.B, jobs int, wall, cpu time.Duration) {
	b.ReportMetric(float64(jobs)/wall.Seconds(), "jobs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(jobs), "cpu-ns/job")
}
