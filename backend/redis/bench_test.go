package redis

import (
	"runtime"
	"testing"
	"time"

	"conveyor/backend"
)

// Port-level benchmarks against the shared server. jobs/s is the figure to
// read; ns/op is per call (one job for single enqueue, 1000 otherwise).
//
//	go test -run '^$' -bench . -benchtime 3s ./backend/redis/

// BenchmarkEnqueueSingle enqueues one job per call from 16 goroutines.
func BenchmarkEnqueueSingle(b *testing.B) {
	be := setup(b)
	b.SetParallelism(max(1, 16/max(1, testingProcs())))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := be.JobEnqueue(b.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("bench")}, Now: t0}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkEnqueueBatch enqueues 1000 jobs per call.
func BenchmarkEnqueueBatch(b *testing.B) {
	be := setup(b)
	jobs := make([]*backend.JobInsert, 1000)
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		for i := range jobs {
			jobs[i] = insert("bench")
		}
		b.StartTimer()
		start := time.Now()
		if _, err := be.JobEnqueue(b.Context(), &backend.JobEnqueueParams{Jobs: jobs, Now: t0}); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*len(jobs))/elapsed.Seconds(), "jobs/s")
}

// BenchmarkClaimFinish claims 1000 jobs in one call and completes them in
// one call (the burn-down path without handlers).
func BenchmarkClaimFinish(b *testing.B) {
	be := setup(b)
	jobs := make([]*backend.JobInsert, 1000)
	outs := make([]*backend.JobOutcome, 1000)
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		for i := range jobs {
			jobs[i] = insert("bench")
		}
		if _, err := be.JobEnqueue(b.Context(), &backend.JobEnqueueParams{Jobs: jobs, Now: t0}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := be.JobClaim(b.Context(), &backend.JobClaimParams{Queue: "bench", Limit: 1000, Owner: "w", LeaseDuration: time.Minute, Now: t0})
		if err != nil || len(res.Jobs) != 1000 {
			b.Fatalf("claim: %d jobs, %v", len(res.Jobs), err)
		}
		for i, j := range res.Jobs {
			outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
		}
		fin, err := be.JobFinish(b.Context(), &backend.JobFinishParams{Jobs: outs, Now: t0})
		if err != nil || len(fin.LeaseLost) > 0 {
			b.Fatalf("finish: %v lost, %v", len(fin.LeaseLost), err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*len(jobs))/elapsed.Seconds(), "jobs/s")
}

func testingProcs() int { return runtimeGOMAXPROCS() }

func runtimeGOMAXPROCS() int { return runtime.GOMAXPROCS(0) }
