package sqlite_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/sqlite"

	"github.com/stretchr/testify/require"
)

// counting wraps the backend to report how the worker batches its calls.
type counting struct {
	*sqlite.Backend
	claims, claimed, finishes, finished atomic.Int64
}

func (c *counting) JobClaim(ctx context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	r, err := c.Backend.JobClaim(ctx, p)
	if err == nil {
		c.claims.Add(1)
		c.claimed.Add(int64(len(r.Jobs)))
	}
	return r, err
}

func (c *counting) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	c.finishes.Add(1)
	c.finished.Add(int64(len(p.Jobs)))
	return c.Backend.JobFinish(ctx, p)
}

// BenchmarkWorkerBurnDown enqueues 100k no-op jobs in batches of 1000, then
// measures a worker (1000 slots, default batches) draining them through the
// SQLite backend, from Start until Stop has reported the last outcome.
// Reports jobs/s and CPU µs per job (both cores: worker and SQLite).
func BenchmarkWorkerBurnDown(b *testing.B) {
	const jobs, batch = 100_000, 1000
	ctx := context.Background()
	var (
		wall, cpu time.Duration
	)
	for range b.N {
		b.StopTimer()
		sb, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "burn.db")})
		require.NoError(b, err)
		be := &counting{Backend: sb}
		client, err := conveyor.NewClient(be, conveyor.ClientConfig{})
		require.NoError(b, err)
		reqs := make([]conveyor.EnqueueRequest, batch)
		for i := range reqs {
			reqs[i] = conveyor.EnqueueRequest{Kind: "bench.noop", Args: json.RawMessage(`{}`)}
		}
		for range jobs / batch {
			_, err := client.EnqueueMany(ctx, reqs)
			require.NoError(b, err)
		}
		var done atomic.Int64
		finished := make(chan struct{})
		ws := conveyor.NewWorkers()
		require.NoError(b, ws.Handle("bench.noop", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			if done.Add(1) == jobs {
				close(finished)
			}
			return nil, nil
		}), nil))
		w, err := conveyor.NewWorker(be, ws, conveyor.WorkerConfig{
			Queues:             map[string]int{conveyor.DefaultQueue: 1000},
			Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
			DisableMaintenance: true,
		})
		require.NoError(b, err)
		c0 := cpuTime()
		b.StartTimer()
		start := time.Now()
		require.NoError(b, w.Start(ctx))
		<-finished
		require.NoError(b, w.Stop(ctx))
		wall += time.Since(start)
		b.StopTimer()
		cpu += cpuTime() - c0
		res, err := be.QueueList(ctx, &backend.QueueListParams{Now: time.Now()})
		require.NoError(b, err)
		require.Equal(b, int64(jobs), res.Queues[0].Counts[backend.StateCompleted])
		require.NoError(b, be.Close())
		b.Logf("claims: %d calls, %.0f jobs/call; finishes: %d calls, %.0f jobs/call",
			be.claims.Load(), float64(be.claimed.Load())/float64(be.claims.Load()),
			be.finishes.Load(), float64(be.finished.Load())/float64(be.finishes.Load()))
	}
	b.ReportMetric(float64(jobs*b.N)/wall.Seconds(), "jobs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(jobs*b.N), "cpu-µs/job")
}
