package conveyor_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/memory"
)

// BenchmarkBurnDown enqueues 100k no-op jobs in batches of 1000, then
// measures a worker on the memory backend draining them: from Start until
// Stop has reported the last outcome. Reports jobs/s and the process CPU
// time per job (backend included).
func BenchmarkBurnDown(b *testing.B) {
	const jobs, batch = 100_000, 1000
	ctx := context.Background()
	var total, cpu time.Duration
	for range b.N {
		b.StopTimer()
		be, err := memory.New(ctx, memory.Config{})
		if err != nil {
			b.Fatal(err)
		}
		client, err := conveyor.NewClient(be, conveyor.ClientConfig{})
		if err != nil {
			b.Fatal(err)
		}
		reqs := make([]conveyor.EnqueueRequest, batch)
		for i := range reqs {
			reqs[i] = conveyor.EnqueueRequest{Kind: "bench.noop", Args: json.RawMessage(`{}`)}
		}
		for range jobs / batch {
			if _, err := client.EnqueueMany(ctx, reqs); err != nil {
				b.Fatal(err)
			}
		}
		var done atomic.Int64
		finished := make(chan struct{})
		ws := conveyor.NewWorkers()
		_ = ws.Handle("bench.noop", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			if done.Add(1) == jobs {
				close(finished)
			}
			return nil, nil
		}), nil)
		w, err := conveyor.NewWorker(be, ws, conveyor.WorkerConfig{
			Queues:             map[string]int{conveyor.DefaultQueue: 1000},
			Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
			DisableMaintenance: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, startCPU := time.Now(), processCPU()
		if err := w.Start(ctx); err != nil {
			b.Fatal(err)
		}
		<-finished
		if err := w.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		cpu += processCPU() - startCPU
		b.StopTimer()
		res, err := be.QueueList(ctx, &backend.QueueListParams{Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if got := res.Queues[0].Counts[conveyor.StateCompleted]; got != jobs {
			b.Fatalf("%d jobs completed, want %d", got, jobs)
		}
		_ = be.Close()
	}
	b.ReportMetric(float64(jobs*b.N)/total.Seconds(), "jobs/s")
	// CPU time per job does not depend on what else the machine runs, unlike
	// the wall clock on a shared box.
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(jobs*b.N), "cpu-ns/job")
	}
}
