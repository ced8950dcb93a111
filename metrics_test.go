package conveyor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend/memory"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestWorkerMetrics(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	client, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	ws := conveyor.NewWorkers()
	require.NoError(t, ws.Handle("m.ok", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
		return nil, nil
	}), nil))
	require.NoError(t, ws.Handle("m.fail", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
		return nil, conveyor.NoRetry(errors.New("no"))
	}), nil))
	reg := prometheus.NewRegistry()
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{
		Registerer:   reg,
		PollInterval: 10 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	// A second worker on the same registry shares the collectors.
	w2, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	_ = w2

	// Queued work shows in the depth gauge before the worker runs.
	for range 3 {
		_, err = client.Enqueue(ctx, "m.ok", nil, nil)
		require.NoError(t, err)
	}
	_, err = client.Enqueue(ctx, "m.fail", nil, nil)
	require.NoError(t, err)
	require.Equal(t, 3.0+1.0, gaugeValue(t, reg, conveyor.MetricQueueJobs, map[string]string{"queue": "default", "state": "queued"}))

	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	require.Eventually(t, func() bool {
		return gaugeValue(t, reg, conveyor.MetricQueueJobs, map[string]string{"queue": "default", "state": "completed"}) == 3 &&
			gaugeValue(t, reg, conveyor.MetricQueueJobs, map[string]string{"queue": "default", "state": "failed"}) == 1
	}, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		return gaugeValue(t, reg, conveyor.MetricJobsFinished, map[string]string{"kind": "m.ok", "outcome": "completed"}) == 3
	}, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1.0, gaugeValue(t, reg, conveyor.MetricJobsFinished, map[string]string{"kind": "m.fail", "outcome": "failed"}))
	require.Equal(t, 10.0, gaugeValue(t, reg, conveyor.MetricWorkerSlots, map[string]string{"worker": w.ID(), "status": "idle"}))
	require.Equal(t, 4.0, gaugeValue(t, reg, conveyor.MetricJobDuration, map[string]string{"queue": "default"}), "every attempt timed")
}

// gaugeValue sums the samples of metric name whose labels include want
// (histograms: their sample count).
func gaugeValue(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}
