package bench_test

// Micro-benchmarks of conveyor's hot paths, named for benchstat:
//
//	go test -run '^$' -bench . -benchmem -count 10 ./bench/ > new.txt
//	benchstat old.txt new.txt

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/memory"
	"conveyor/bench"
	"conveyor/bench/harness"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

type microArgs struct {
	T     int64  `json:"t"`
	Email string `json:"email"`
	N     int    `json:"n"`
}

func BenchmarkEncodeArgs(b *testing.B) {
	b.Run("struct", func(b *testing.B) {
		b.ReportAllocs()
		a := microArgs{T: time.Now().UnixNano(), Email: "someone@example.com", N: 42}
		for b.Loop() {
			if _, err := conveyor.EncodeArgs(a, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		raw := json.RawMessage(`{"t":1764000000000000000,"email":"someone@example.com","n":42}`)
		for b.Loop() {
			if _, err := conveyor.EncodeArgs(raw, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeArgs(b *testing.B) {
	b.ReportAllocs()
	raw := []byte(`{"t":1764000000000000000,"email":"someone@example.com","n":42}`)
	for b.Loop() {
		var a microArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			b.Fatal(err)
		}
	}
}

func newMemory(b *testing.B) *memory.Backend {
	b.Helper()
	m, err := memory.New(context.Background(), memory.Config{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = m.Close() })
	return m
}

// BenchmarkEnqueue is Client.Enqueue (validation, EncodeArgs, building the
// insert, UUIDv7) on the memory backend, whose own cost is small.
func BenchmarkEnqueue(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	c, err := conveyor.NewClient(newMemory(b), conveyor.ClientConfig{})
	require.NoError(b, err)
	opts := &conveyor.EnqueueOptions{Queue: "micro"}
	a := microArgs{Email: "someone@example.com", N: 42}
	for b.Loop() {
		if _, err := c.Enqueue(ctx, "micro", a, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueMany is Client.EnqueueMany of 1000 jobs on memory; ns/job
// is the per-job cost.
func BenchmarkEnqueueMany(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	c, err := conveyor.NewClient(newMemory(b), conveyor.ClientConfig{})
	require.NoError(b, err)
	opts := &conveyor.EnqueueOptions{Queue: "micro"}
	reqs := make([]conveyor.EnqueueRequest, 1000)
	for i := range reqs {
		reqs[i] = conveyor.EnqueueRequest{Kind: "micro", Args: microArgs{N: i}, Options: opts}
	}
	for b.Loop() {
		if _, err := c.EnqueueMany(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(reqs)), "ns/job")
}

// BenchmarkClaimFinish claims jobs in batches of the given size and finishes
// them as completed in one JobFinish per batch, on the memory backend.
func BenchmarkClaimFinish(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("memory/batch=%d", batch), func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			m := newMemory(b)
			now := time.Now()
			fillJobs := func(n int) {
				ins := make([]*backend.JobInsert, n)
				for i := range ins {
					ins[i] = &backend.JobInsert{
						ID: uuid.Must(uuid.NewV7()).String(), Kind: "micro", Queue: "micro",
						Args: json.RawMessage(`{}`), MaxAttempts: 1, Timeout: time.Minute, RunAt: now,
					}
				}
				_, err := m.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: ins, Now: now})
				require.NoError(b, err)
			}
			claim := &backend.JobClaimParams{Queue: "micro", Limit: batch, Owner: "micro", LeaseDuration: time.Minute, Now: now}
			outs := make([]*backend.JobOutcome, 0, batch)
			for b.Loop() {
				b.StopTimer()
				fillJobs(batch)
				b.StartTimer()
				res, err := m.JobClaim(ctx, claim)
				if err != nil || len(res.Jobs) != batch {
					b.Fatalf("claim: %d jobs, %v", len(res.Jobs), err)
				}
				outs = outs[:0]
				for _, j := range res.Jobs {
					outs = append(outs, &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted})
				}
				fin, err := m.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now})
				if err != nil || len(fin.LeaseLost) > 0 {
					b.Fatalf("finish: %v %v", fin, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/job")
		})
	}
}

// BenchmarkWorkDrain drains 10000 no-op jobs on memory with a Worker of the
// given concurrency, timed to the last acknowledged completion; ns/job is the
// worker runtime's per-job cost.
func BenchmarkWorkDrain(b *testing.B) {
	for _, workers := range []int{100, 2000} {
		b.Run(fmt.Sprintf("memory/workers=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			const jobs = 10000
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				sys, err := bench.NewSystem(newMemory(b), nil, nil)
				require.NoError(b, err)
				require.NoError(b, sys.EnqueueBatch(ctx, 0, jobs))
				done := harness.NewCounter()
				b.StartTimer()
				require.NoError(b, sys.Start(ctx, &harness.StartParams{Workers: workers, Done: done}))
				require.NoError(b, done.Wait(ctx, jobs))
				b.StopTimer()
				require.NoError(b, sys.Close())
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*jobs), "ns/job")
		})
	}
}
