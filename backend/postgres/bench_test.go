package postgres

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// Port-level benchmarks. Each reports jobs/s; run e.g.
//
//	go test -run '^$' -bench . -benchtime 20000x ./backend/postgres/
//
// (-benchtime Nx sets the number of jobs).

func benchInserts(b *testing.B, n int, now time.Time) []*backend.JobInsert {
	out := make([]*backend.JobInsert, n)
	for i := range out {
		out[i] = &backend.JobInsert{ID: newID(b), Kind: "bench", Queue: "default", Args: json.RawMessage(`{}`),
			MaxAttempts: 25, Timeout: time.Minute, RunAt: now}
	}
	return out
}

func reportJobsPerSec(b *testing.B, jobs int) {
	b.ReportMetric(float64(jobs)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkEnqueueBatch inserts b.N jobs in batches of 1000 (one statement each).
func BenchmarkEnqueueBatch(b *testing.B) {
	be, _ := newTestBackend(b)
	ctx, now := context.Background(), time.Now()
	jobs := benchInserts(b, b.N, now)
	b.ResetTimer()
	for i := 0; i < len(jobs); i += 1000 {
		_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: jobs[i:min(i+1000, len(jobs))], Now: now})
		require.NoError(b, err)
	}
	reportJobsPerSec(b, b.N)
}

// BenchmarkEnqueueSingle16 inserts b.N jobs one per call from 16 goroutines.
func BenchmarkEnqueueSingle16(b *testing.B) {
	be, _ := newTestBackend(b)
	ctx, now := context.Background(), time.Now()
	jobs := benchInserts(b, b.N, now)
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: jobs[i : i+1], Now: now})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	reportJobsPerSec(b, b.N)
}

// drain claims and finishes every queued job with `claimers` goroutines,
// batches of `batch`: one claim statement and one finish statement per batch.
func drain(b *testing.B, be *Backend, total, claimers, batch int) {
	ctx := context.Background()
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := range claimers {
		wg.Go(func() {
			owner := "bench-" + string(rune('a'+w))
			for done.Load() < int64(total) {
				now := time.Now()
				res, err := be.JobClaim(ctx, &backend.JobClaimParams{Queue: "default", Limit: batch, Owner: owner, LeaseDuration: time.Minute, Now: now})
				if err != nil {
					b.Error(err)
					return
				}
				if len(res.Jobs) == 0 {
					continue
				}
				outs := make([]*backend.JobOutcome, len(res.Jobs))
				for i, j := range res.Jobs {
					outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
				}
				fin, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now})
				if err != nil {
					b.Error(err)
					return
				}
				if len(fin.LeaseLost) > 0 {
					b.Errorf("lease lost: %v", fin.LeaseLost)
				}
				done.Add(int64(len(res.Jobs)))
			}
		})
	}
	wg.Wait()
}

// BenchmarkClaimFinish burns down b.N queued jobs with 4 claimers taking
// batches of 100 (claim + finish at the port, no handler).
func BenchmarkClaimFinish(b *testing.B) {
	be, _ := newTestBackend(b)
	ctx, now := context.Background(), time.Now()
	jobs := benchInserts(b, b.N, now)
	for i := 0; i < len(jobs); i += 1000 {
		_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: jobs[i:min(i+1000, len(jobs))], Now: now})
		require.NoError(b, err)
	}
	b.ResetTimer()
	drain(b, be, b.N, 4, 100)
	reportJobsPerSec(b, b.N)
}

// BenchmarkClaimFinishWith1MFinished is BenchmarkClaimFinish with one
// million completed jobs in the table: the partial claim index keeps claim
// O(batch).
func BenchmarkClaimFinishWith1MFinished(b *testing.B) {
	be, _ := newTestBackend(b)
	ctx, now := context.Background(), time.Now()
	_, err := be.pool.Exec(ctx, `INSERT INTO `+be.schema+`.jobs (id, kind, queue, args, state, attempt, max_attempts, timeout_ns,
		run_at, enqueued_at, started_at, finished_at)
		SELECT '00000000-' || lpad(to_hex(g), 12, '0'), 'bench', 'default', '{}', 'completed', 1, 25, 60000000000,
		       now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
		FROM generate_series(1, 1000000) g`)
	require.NoError(b, err)
	// Settle the bulk load before timing: set hint bits and the visibility
	// map (VACUUM), and flush its dirty pages (CHECKPOINT) so that neither
	// lands inside the measurement.
	_, err = be.pool.Exec(ctx, `VACUUM ANALYZE `+be.schema+`.jobs`)
	require.NoError(b, err)
	_, err = be.pool.Exec(ctx, `CHECKPOINT`)
	require.NoError(b, err)
	jobs := benchInserts(b, b.N, now)
	for i := 0; i < len(jobs); i += 1000 {
		_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: jobs[i:min(i+1000, len(jobs))], Now: now})
		require.NoError(b, err)
	}
	b.ResetTimer()
	drain(b, be, b.N, 4, 100)
	reportJobsPerSec(b, b.N)
}
