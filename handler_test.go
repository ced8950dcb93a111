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

	"github.com/stretchr/testify/require"
)

type addArgs struct {
	A, B int
}

func TestWorkersRegistry(t *testing.T) {
	t.Parallel()
	ws := conveyor.NewWorkers()
	noop := conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) { return nil, nil })
	tests := []struct {
		name    string
		kind    string
		h       conveyor.Handler
		opts    *conveyor.HandlerOptions
		wantErr string // "" = no error
	}{
		{name: "ok", kind: "b.kind", h: noop},
		{name: "second ok", kind: "a.kind", h: noop, opts: &conveyor.HandlerOptions{Timeout: time.Second}},
		{name: "duplicate", kind: "b.kind", h: noop, wantErr: `kind "b.kind" is already registered`},
		{name: "bad name", kind: "no spaces", h: noop, wantErr: "character ' '"},
		{name: "empty", kind: "", h: noop, wantErr: "kind is empty"},
		{name: "nil handler", kind: "c.kind", wantErr: "nil handler"},
		{name: "negative timeout", kind: "d.kind", h: noop, opts: &conveyor.HandlerOptions{Timeout: -1}, wantErr: "must not be negative"},
	}
	for _, tc := range tests {
		err := ws.Handle(tc.kind, tc.h, tc.opts)
		if tc.wantErr != "" {
			require.ErrorContains(t, err, tc.wantErr, tc.name)
		} else {
			require.NoError(t, err, tc.name)
		}
	}
	require.Equal(t, []string{"a.kind", "b.kind"}, ws.Kinds())
	require.True(t, ws.Has("a.kind"))
	require.False(t, ws.Has("c.kind"))
}

func TestRunNow(t *testing.T) {
	t.Parallel()
	ws := conveyor.NewWorkers()
	require.NoError(t, conveyor.Register(ws, "math.add", func(ctx context.Context, job *conveyor.Job[addArgs]) (int, error) {
		if conveyor.JobFromContext(ctx) == nil {
			return 0, errors.New("no job in context")
		}
		return job.Args.A + job.Args.B, nil
	}, nil))
	require.NoError(t, ws.Handle("boom", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
		panic("kaboom")
	}), nil))
	require.NoError(t, ws.Handle("slow", conveyor.HandlerFunc(func(ctx context.Context, _ *conveyor.JobRecord) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}), &conveyor.HandlerOptions{Timeout: 20 * time.Millisecond}))
	var order []string
	ws.Use(func(next conveyor.Handler) conveyor.Handler {
		return conveyor.HandlerFunc(func(ctx context.Context, j *conveyor.JobRecord) (json.RawMessage, error) {
			order = append(order, "mw:"+j.Kind)
			return next.Work(ctx, j)
		})
	})
	ctx := t.Context()

	res, err := ws.RunNow(ctx, "math.add", json.RawMessage(`{"A":2,"B":40}`))
	require.NoError(t, err)
	require.JSONEq(t, `42`, string(res))
	require.Equal(t, []string{"mw:math.add"}, order, "registry middleware runs")

	_, err = ws.RunNow(ctx, "math.add", json.RawMessage(`{"A":"x"}`))
	var nr *conveyor.NoRetryError
	require.ErrorAs(t, err, &nr, "decode failure is not retryable")
	require.ErrorContains(t, err, "decode args")

	_, err = ws.RunNow(ctx, "boom", nil)
	var pe *conveyor.PanicError
	require.ErrorAs(t, err, &pe)
	require.NotEmpty(t, pe.Stack)

	_, err = ws.RunNow(ctx, "slow", nil)
	require.ErrorIs(t, err, conveyor.ErrTimeout)

	_, err = ws.RunNow(ctx, "missing", nil)
	require.ErrorIs(t, err, conveyor.ErrUnknownKind)

	_, err = ws.RunNow(ctx, "math.add", json.RawMessage(`{`))
	require.ErrorIs(t, err, conveyor.ErrInvalidJob)
}

func TestControlFlowErrors(t *testing.T) {
	t.Parallel()
	inner := errors.New("why")
	var ra *conveyor.RetryAfterError
	require.ErrorAs(t, conveyor.RetryAfter(time.Second), &ra)
	require.Equal(t, time.Second, ra.Delay)
	var sn *conveyor.SnoozeError
	require.ErrorAs(t, errors.Join(errors.New("x"), conveyor.Snooze(time.Minute)), &sn)
	require.Equal(t, time.Minute, sn.Delay)
	require.ErrorIs(t, conveyor.Cancel(inner), inner)
	require.ErrorIs(t, conveyor.NoRetry(inner), inner)
}

func TestBackoffPolicy(t *testing.T) {
	t.Parallel()
	p := &conveyor.BackoffPolicy{}
	for attempt, want := range map[int][2]time.Duration{
		1:  {16 * time.Second, 26 * time.Second},             // 1 + 15 + [0,10)
		3:  {96 * time.Second, 126 * time.Second},            // 81 + 15 + [0,30)
		10: {10015 * time.Second, 10115 * time.Second},       // 10^4 + 15 + [0,100)
		50: {24 * time.Hour, 24*time.Hour + time.Nanosecond}, // capped
	} {
		d := p.NextRetry(&conveyor.JobRecord{Attempt: attempt}, nil)
		require.GreaterOrEqual(t, d, want[0], "attempt %d", attempt)
		require.Less(t, d, want[1], "attempt %d", attempt)
	}
	require.Equal(t, 3*time.Second, conveyor.FixedRetryPolicy(3*time.Second).NextRetry(nil, nil))
}

func TestWorkerConfigValidate(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]conveyor.WorkerConfig{
		"bad queue":           {Queues: map[string]int{"bad queue": 1}},
		"zero concurrency":    {Queues: map[string]int{"q": 0}},
		"negative lease":      {LeaseDuration: -time.Second},
		"heartbeat >= lease":  {LeaseDuration: time.Second, HeartbeatInterval: 2 * time.Second},
		"negative fetchbatch": {FetchBatch: -1},
	} {
		require.Error(t, cfg.Validate(), name)
	}
	require.NoError(t, conveyor.WorkerConfig{}.Validate())
	d := conveyor.WorkerConfig{}.WithDefaults()
	require.Equal(t, map[string]int{"default": 10}, d.Queues)
	require.Equal(t, 30*time.Second, d.LeaseDuration)
	require.Equal(t, 10*time.Second, d.HeartbeatInterval)
	require.NotEmpty(t, d.ID)
}

func TestOnJobEvent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ws := conveyor.NewWorkers()
	require.NoError(t, ws.Handle("ev.flaky", conveyor.HandlerFunc(func(_ context.Context, j *conveyor.JobRecord) (json.RawMessage, error) {
		if j.Attempt == 1 {
			return nil, errors.New("first try fails")
		}
		return json.RawMessage(`"ok"`), nil
	}), &conveyor.HandlerOptions{RetryPolicy: conveyor.FixedRetryPolicy(time.Millisecond)}))
	events := make(chan conveyor.JobEvent, 10)
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{
		PollInterval: 10 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnJobEvent:   func(e conveyor.JobEvent) { events <- e },
	})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	client, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	_, err = client.Enqueue(ctx, "ev.flaky", nil, nil)
	require.NoError(t, err)
	var types []string
	for len(types) < 4 {
		select {
		case e := <-events:
			types = append(types, e.Type)
			if e.Type == conveyor.EventJobRetrying {
				require.Equal(t, "first try fails", e.Error.Message)
				require.False(t, e.RunAt.IsZero())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("events so far: %v", types)
		}
	}
	require.Equal(t, []string{conveyor.EventJobStarted, conveyor.EventJobRetrying, conveyor.EventJobStarted, conveyor.EventJobCompleted}, types)
}
