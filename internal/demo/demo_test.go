package demo_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend/memory"
	"conveyor/internal/demo"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func setup(t *testing.T) *conveyor.Workers {
	t.Helper()
	ws := conveyor.NewWorkers()
	require.NoError(t, demo.Register(ws, demo.Options{RetryDelay: 10 * time.Millisecond}))
	return ws
}

func TestRunNow(t *testing.T) {
	t.Parallel()
	ws := setup(t)
	require.Equal(t, demo.Kinds, ws.Kinds())
	tests := []struct {
		kind, args, want string
		wantErr          bool
	}{
		{demo.KindEcho, `{"hello":"world"}`, `{"hello":"world"}`, false},
		{demo.KindSleep, `{"ms":5}`, `{"slept_ms":5}`, false},
		{demo.KindSleep, `{"ms":-1}`, ``, true},
		{demo.KindFail, `{"times":0}`, `{"succeeded_at_attempt":1}`, false},
		{demo.KindFail, `{"times":1}`, ``, true},
		{demo.KindReport, `{"steps":2,"step_ms":1}`, `{"steps":2}`, false},
		{demo.KindReport, `{"steps":-2}`, ``, true},
		{demo.KindSleep, `{"ms":"long"}`, ``, true},
	}
	for _, tc := range tests {
		res, err := ws.RunNow(t.Context(), tc.kind, json.RawMessage(tc.args))
		if tc.wantErr {
			require.Error(t, err, "%s %s", tc.kind, tc.args)
			continue
		}
		require.NoError(t, err, "%s %s", tc.kind, tc.args)
		require.JSONEq(t, tc.want, string(res))
	}
}

func TestSleepHonoursCancel(t *testing.T) {
	t.Parallel()
	ws := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ws.RunNow(ctx, demo.KindSleep, json.RawMessage(`{"ms":600000}`))
	require.ErrorIs(t, err, context.Canceled)
}

// TestWorker runs the demo kinds on a real worker: demo.fail {"times":2}
// completes at attempt 3 after two quick retries, and demo.report leaves its
// progress on the job.
func TestWorker(t *testing.T) {
	t.Parallel()
	ws := setup(t)
	b, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{HeartbeatInterval: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })

	failID, err := c.Enqueue(t.Context(), demo.KindFail, demo.FailArgs{Times: 2}, nil)
	require.NoError(t, err)
	reportID, err := c.Enqueue(t.Context(), demo.KindReport, demo.ReportArgs{Steps: 3, StepMS: 100}, nil)
	require.NoError(t, err)

	var job *conveyor.JobRecord
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		j, err := c.Get(t.Context(), failID.ID)
		require.NoError(ct, err)
		job = j
		require.Equal(ct, conveyor.StateCompleted, j.State)
	}, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, 3, job.Attempt)
	require.Len(t, job.Errors, 2)
	require.JSONEq(t, `{"succeeded_at_attempt":3}`, string(job.Result))

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		j, err := c.Get(t.Context(), reportID.ID)
		require.NoError(ct, err)
		job = j
		require.Equal(ct, conveyor.StateCompleted, j.State)
	}, 30*time.Second, 10*time.Millisecond)
	require.JSONEq(t, `{"steps":3}`, string(job.Result))
	require.NotEmpty(t, job.Progress, "progress reported while running stays on the job")
}

func TestSchedulesAreValidAndUseDemoKinds(t *testing.T) {
	t.Parallel()
	ws := setup(t)
	for _, s := range demo.Schedules() {
		require.NoError(t, s.Validate(), s.Name)
		require.True(t, ws.Has(s.Kind), "%s enqueues %s, which dev's worker must handle", s.Name, s.Kind)
	}
}
