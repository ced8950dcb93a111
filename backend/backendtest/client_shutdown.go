package backendtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"conveyor"

	"github.com/stretchr/testify/require"
)

func testClientCancel(t *testing.T, f ClientFactory) {
	t.Run("Running", func(t *testing.T) {
		// Cancelling a running job cancels its handler's context (through
		// the next heartbeat); it ends cancelled, never retrying.
		e := clientSetup(t, f)
		started, startedFn := signalOnce()
		var runs atomic.Int64
		var sawCancel atomic.Bool
		require.NoError(t, e.ws.Handle("test.block", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			runs.Add(1)
			startedFn()
			<-ctx.Done()
			sawCancel.Store(true)
			return nil, ctx.Err()
		}), &conveyor.HandlerOptions{RetryPolicy: conveyor.FixedRetryPolicy(time.Millisecond)}))
		e.startWorker(nil)
		id := e.enqueue("test.block", nil, nil)
		waitClosed(t, started, "handler start")
		_, err := e.client.Cancel(e.ctx, id)
		require.NoError(t, err)
		j := e.waitState(id, conveyor.StateCancelled)
		require.True(t, sawCancel.Load())
		require.Equal(t, int64(1), runs.Load(), "never retried")
		require.Equal(t, 1, j.Attempt)
	})

	t.Run("Queued", func(t *testing.T) {
		// A job cancelled before any worker runs never runs.
		e := clientSetup(t, f)
		var runs atomic.Int64
		require.NoError(t, e.ws.Handle("test.never", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			runs.Add(1)
			return nil, nil
		}), nil))
		id := e.enqueue("test.never", nil, nil)
		_, err := e.client.Cancel(e.ctx, id)
		require.NoError(t, err)
		marker := e.enqueue("test.never", nil, nil)
		e.startWorker(func(c *conveyor.WorkerConfig) { c.Queues = map[string]int{clientQueue: 1} })
		e.waitState(marker, conveyor.StateCompleted)
		require.Equal(t, conveyor.StateCancelled, e.get(id).State)
		require.Equal(t, int64(1), runs.Load(), "only the marker ran")
	})
}

func testClientShutdown(t *testing.T, f ClientFactory) {
	t.Run("FinishWithinGrace", func(t *testing.T) {
		// Stop waits for running jobs that finish within the grace period.
		e := clientSetup(t, f)
		started, startedFn := signalOnce()
		release, releaseFn := signalOnce()
		require.NoError(t, e.ws.Handle("test.wait", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			startedFn()
			<-release
			return json.RawMessage(`"done"`), nil
		}), nil))
		w := e.startWorker(nil)
		id := e.enqueue("test.wait", nil, nil)
		waitClosed(t, started, "handler start")
		stopped := make(chan error, 1)
		go func() { stopped <- w.Stop(context.Background()) }()
		releaseFn()
		select {
		case err := <-stopped:
			require.NoError(t, err)
		case <-time.After(clientWait):
			t.Fatal("Stop did not return")
		}
		// Stop returns after the last outcome is reported.
		j := e.get(id)
		require.Equal(t, conveyor.StateCompleted, j.State)
		require.JSONEq(t, `"done"`, string(j.Result))
	})

	t.Run("HandsBack", func(t *testing.T) {
		// Jobs still running when the grace period ends have their context
		// cancelled and are handed back: queued, not an attempt, none left
		// running; queued jobs are not claimed any more.
		e := clientSetup(t, f)
		var running sync.WaitGroup
		running.Add(3)
		require.NoError(t, e.ws.Handle("test.block", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			running.Done()
			<-ctx.Done()
			return nil, ctx.Err()
		}), nil))
		w := e.startWorker(func(c *conveyor.WorkerConfig) {
			c.Queues = map[string]int{clientQueue: 3}
			c.ShutdownGrace = 100 * time.Millisecond
		})
		var ids []string
		for range 5 {
			ids = append(ids, e.enqueue("test.block", nil, nil))
		}
		running.Wait()
		require.NoError(t, w.Stop(context.Background()))
		require.Zero(t, e.countState(conveyor.StateRunning), "no job left running")
		for _, id := range ids {
			j := e.get(id)
			require.Equal(t, conveyor.StateQueued, j.State, "job %s handed back", id)
			require.Equal(t, 0, j.Attempt, "handing back is not an attempt")
			require.Empty(t, j.Errors)
		}
	})

	t.Run("HandlerIgnoresContext", func(t *testing.T) {
		// A handler that ignores its context does not hold Stop past grace +
		// hard stop; its job is handed back and its late result dropped.
		e := clientSetup(t, f)
		started, startedFn := signalOnce()
		release, releaseFn := signalOnce()
		returned := make(chan struct{})
		require.NoError(t, e.ws.Handle("test.stubborn", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			defer close(returned)
			startedFn()
			<-release // ignores ctx
			return json.RawMessage(`"late"`), nil
		}), nil))
		t.Cleanup(releaseFn)
		const grace, hard = 100 * time.Millisecond, 300 * time.Millisecond
		w := e.startWorker(func(c *conveyor.WorkerConfig) {
			c.ShutdownGrace = grace
			c.ShutdownHardStop = hard
		})
		id := e.enqueue("test.stubborn", nil, nil)
		waitClosed(t, started, "handler start")
		begin := time.Now()
		require.NoError(t, w.Stop(context.Background()))
		took := time.Since(begin)
		require.Less(t, took, grace+hard+5*time.Second, "Stop returned after grace + hard stop (+ reporting)")
		j := e.get(id)
		require.Equal(t, conveyor.StateQueued, j.State, "handed back")
		releaseFn()
		waitClosed(t, returned, "handler return")
		e.never(300*time.Millisecond, func() bool { return e.get(id).State != conveyor.StateQueued },
			"the late result must not change the job")
	})

	t.Run("StopIdempotent", func(t *testing.T) {
		e := clientSetup(t, f)
		w := e.startWorker(nil)
		require.NoError(t, w.Stop(context.Background()))
		require.NoError(t, w.Stop(context.Background()))
		require.Error(t, w.Start(e.ctx), "a stopped worker does not start again")
	})
}

type clientCtxKey struct{}

func testClientHooks(t *testing.T, f ClientFactory) {
	t.Run("OnStartupValue", func(t *testing.T) {
		// A value OnStartup puts in the context reaches every handler;
		// OnShutdown runs at Stop.
		e := clientSetup(t, f)
		require.NoError(t, conveyor.Register(e.ws, "test.value", func(ctx context.Context, job *conveyor.Job[struct{}]) (string, error) {
			v, _ := ctx.Value(clientCtxKey{}).(string)
			return v, nil
		}, nil))
		var shutdown atomic.Bool
		w := e.startWorker(func(c *conveyor.WorkerConfig) {
			c.OnStartup = func(ctx context.Context) (context.Context, error) {
				return context.WithValue(ctx, clientCtxKey{}, "db-pool"), nil
			}
			c.OnShutdown = func(ctx context.Context) error {
				if ctx.Value(clientCtxKey{}) != "db-pool" {
					return fmt.Errorf("OnShutdown did not get the startup context")
				}
				shutdown.Store(true)
				return nil
			}
		})
		id := e.enqueue("test.value", nil, nil)
		j := e.waitState(id, conveyor.StateCompleted)
		require.JSONEq(t, `"db-pool"`, string(j.Result))
		require.NoError(t, w.Stop(context.Background()))
		require.True(t, shutdown.Load())
	})

	t.Run("Middleware", func(t *testing.T) {
		// Worker middleware wraps registry middleware, which wraps the handler.
		e := clientSetup(t, f)
		var mu sync.Mutex
		var calls []string
		record := func(name string) conveyor.Middleware {
			return func(next conveyor.Handler) conveyor.Handler {
				return conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
					mu.Lock()
					calls = append(calls, name)
					mu.Unlock()
					return next.Work(ctx, job)
				})
			}
		}
		e.ws.Use(record("registry"))
		require.NoError(t, e.ws.Handle("test.mw", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			mu.Lock()
			calls = append(calls, "handler")
			mu.Unlock()
			return nil, nil
		}), nil))
		e.startWorker(func(c *conveyor.WorkerConfig) {
			c.Middleware = []conveyor.Middleware{record("worker1"), record("worker2")}
		})
		id := e.enqueue("test.mw", nil, nil)
		e.waitState(id, conveyor.StateCompleted)
		mu.Lock()
		defer mu.Unlock()
		require.True(t, slices.Equal([]string{"worker1", "worker2", "registry", "handler"}, calls), "order: %v", calls)
	})
}
