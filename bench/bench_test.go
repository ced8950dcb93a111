package bench_test

import (
	"context"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/memory"
	"conveyor/bench"
	"conveyor/bench/harness"

	"github.com/stretchr/testify/require"
)

func setup(t *testing.T) (context.Context, *memory.Backend) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	m, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return ctx, m
}

func TestRunEveryWorkloadOnMemory(t *testing.T) {
	t.Parallel()
	ctx, _ := setup(t)
	for _, wl := range harness.Workloads {
		res, err := bench.Run(ctx, bench.Config{BackendURL: "memory:", Workload: wl, Jobs: 2000, Workers: 20})
		require.NoError(t, err, wl)
		require.Equal(t, "conveyor-memory", res.System)
		require.Equal(t, wl, res.Workload)
		require.Positive(t, res.JobsPerSec, wl)
		require.NotEmpty(t, res.Durability)
		if wl != harness.WorkloadLatency {
			require.Equal(t, 2000, res.Jobs, wl)
		}
	}
}

func TestRunNeedsABackend(t *testing.T) {
	t.Parallel()
	_, err := bench.Run(context.Background(), bench.Config{Workload: harness.WorkloadInsert})
	require.ErrorContains(t, err, "BackendURL")
	_, err = bench.Run(context.Background(), bench.Config{BackendURL: "nope://x", Workload: harness.WorkloadInsert})
	require.ErrorContains(t, err, "nope")
}

// TestWorkCountsCommittedCompletionsAndLeavesOtherDataAlone runs the work
// workload on a store that already holds a job of another queue: all N
// benchmark jobs must end completed (then purged), the other job untouched.
func TestWorkCountsCommittedCompletionsAndLeavesOtherDataAlone(t *testing.T) {
	t.Parallel()
	ctx, m := setup(t)
	c, err := conveyor.NewClient(m, conveyor.ClientConfig{})
	require.NoError(t, err)
	other, err := c.Enqueue(ctx, "email", map[string]string{"to": "a@b.c"}, &conveyor.EnqueueOptions{Queue: "default"})
	require.NoError(t, err)

	sys, err := bench.NewSystem(m, nil, nil)
	require.NoError(t, err)
	res, err := harness.Run(ctx, sys, harness.Config{Workload: harness.WorkloadWork, Jobs: 3000, Workers: 50})
	require.NoError(t, err)
	require.Equal(t, 3000, res.Jobs)
	require.Positive(t, res.Seconds)

	job, err := c.Get(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, conveyor.StateQueued, job.State, "other queue untouched")
	queues, err := m.QueueList(ctx, &backend.QueueListParams{Now: time.Now()})
	require.NoError(t, err)
	for _, q := range queues.Queues {
		if q.Name == sys.Queue() {
			var total int64
			for _, n := range q.Counts {
				total += n
			}
			require.Zero(t, total, "benchmark queue purged: %v", q.Counts)
		}
	}
}

// TestCompletionsAreCountedFromAcknowledgedFinishes checks the counter
// against the store: when the work workload says it is done, every job is
// completed in the backend (the harness purges afterwards, so look before).
func TestCompletionsAreCountedFromAcknowledgedFinishes(t *testing.T) {
	t.Parallel()
	ctx, m := setup(t)
	sys, err := bench.NewSystem(m, nil, nil)
	require.NoError(t, err)
	require.NoError(t, sys.EnqueueBatch(ctx, time.Now().UnixNano(), 500))
	done := harness.NewCounter()
	var started []int64
	startedCh := make(chan int64, 500)
	require.NoError(t, sys.Start(ctx, &harness.StartParams{Workers: 10, Done: done, OnStart: func(t int64) { startedCh <- t }}))
	require.NoError(t, done.Wait(ctx, 500))
	queues, err := m.QueueList(ctx, &backend.QueueListParams{Now: time.Now()})
	require.NoError(t, err)
	var completed int64
	for _, q := range queues.Queues {
		if q.Name == sys.Queue() {
			completed = q.Counts[conveyor.StateCompleted]
		}
	}
	require.EqualValues(t, 500, completed, "counter reached 500 only after 500 completions were stored")
	require.NoError(t, sys.Stop(ctx))
	close(startedCh)
	for s := range startedCh {
		started = append(started, s)
	}
	require.Len(t, started, 500)
	require.NoError(t, sys.Close())
}
