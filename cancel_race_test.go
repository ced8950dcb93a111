package conveyor_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor"
	"conveyor/backend/memory"
)

// TestCancelRacingARetryEndsCancelledAndSaysSo: a cancel requested while a
// handler runs, which then fails before its worker heard of the cancel,
// ends the job cancelled (DESIGN §2) and the job events end with
// "cancelled", not with a retry nobody will run.
func TestCancelRacingARetryEndsCancelledAndSaysSo(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	ws := conveyor.NewWorkers()
	started, release := make(chan string, 1), make(chan struct{})
	require.NoError(t, ws.Handle("t.race", conveyor.HandlerFunc(func(ctx context.Context, j *conveyor.JobRecord) (json.RawMessage, error) {
		started <- j.ID
		<-release
		return nil, errors.New("transient")
	}), nil))
	var mu sync.Mutex
	var types []string
	cancelled := make(chan struct{})
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{LeaseDuration: time.Minute, HeartbeatInterval: 50 * time.Second,
		PollInterval: 20 * time.Millisecond, OnJobEvent: func(ev conveyor.JobEvent) {
			mu.Lock()
			types = append(types, ev.Type)
			mu.Unlock()
			if ev.Type == conveyor.EventJobCancelled {
				close(cancelled)
			}
		}})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(sctx)
	})
	res, err := c.Enqueue(ctx, "t.race", nil, nil)
	require.NoError(t, err)
	<-started
	_, err = c.Cancel(ctx, res.ID)
	require.NoError(t, err)
	close(release) // fails before any heartbeat could tell it
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no cancelled event; events: %v", types)
	}
	j, err := c.Get(ctx, res.ID)
	require.NoError(t, err)
	require.Equal(t, conveyor.StateCancelled, j.State)
}
