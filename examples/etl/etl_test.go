package main

import (
	"context"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend/memory"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func setup(t *testing.T) (*conveyor.Client, *Warehouse) {
	t.Helper()
	b, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	wh := NewWarehouse()
	ws := conveyor.NewWorkers()
	require.NoError(t, Pipeline{BaseJob{Client: c}}.Register(ws))
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{OnStartup: OnStartup(wh), PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	return c, wh
}

func TestPipeline(t *testing.T) {
	t.Parallel()
	c, wh := setup(t)
	res, err := c.Enqueue(t.Context(), KindExtract, ExtractArgs{Batch: "b1", CSV: "alice,10\nBob,5\nalice,2.5\n"}, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, ok := wh.Total("b1", "bob")
		return ok
	}, 30*time.Second, 10*time.Millisecond)
	v, _ := wh.Total("b1", "alice")
	require.InDelta(t, 12.5, v, 1e-9)

	// Each step records how many rows it handled and which job it started
	// (the outcome may be reported a moment after the next step ran).
	var job *conveyor.JobRecord
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		j, err := c.Get(t.Context(), res.ID)
		require.NoError(ct, err)
		job = j
		require.Equal(ct, conveyor.StateCompleted, j.State)
	}, 30*time.Second, 10*time.Millisecond)
	require.Contains(t, string(job.Result), `"rows":3`)
	require.Contains(t, string(job.Result), "next_job_id")
}

func TestBadInputFailsAtOnce(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	res, err := c.Enqueue(t.Context(), KindExtract, ExtractArgs{Batch: "b2", CSV: "alice,ten\n"}, nil)
	require.NoError(t, err)
	var job *conveyor.JobRecord
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		j, err := c.Get(t.Context(), res.ID)
		require.NoError(ct, err)
		job = j
		require.True(ct, j.State.Final(), "state %s", j.State)
	}, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, conveyor.StateFailed, job.State)
	require.Equal(t, 1, job.Attempt, "bad input is not retried")
}
