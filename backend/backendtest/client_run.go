package backendtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"conveyor"

	"github.com/stretchr/testify/require"
)

type clientAddArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

type clientAddResult struct {
	Sum int `json:"sum"`
}

func testClientRun(t *testing.T, f ClientFactory) {
	t.Run("Result", func(t *testing.T) {
		// enqueue -> a worker runs the typed handler -> the result is stored.
		e := clientSetup(t, f)
		require.NoError(t, conveyor.Register(e.ws, "test.add", func(ctx context.Context, job *conveyor.Job[clientAddArgs]) (clientAddResult, error) {
			return clientAddResult{Sum: job.Args.A + job.Args.B}, nil
		}, nil))
		e.startWorker(nil)
		id := e.enqueue("test.add", clientAddArgs{A: 2, B: 3}, nil)
		j := e.waitState(id, conveyor.StateCompleted)
		require.JSONEq(t, `{"sum":5}`, string(j.Result))
		require.Equal(t, 1, j.Attempt)
		require.Empty(t, j.Errors)
		require.False(t, j.FinishedAt.IsZero(), "finished_at set")
	})

	t.Run("ManyJobs", func(t *testing.T) {
		// Enough jobs to fill several claims and finish batches: each runs once.
		e := clientSetup(t, f)
		var runs atomic.Int64
		require.NoError(t, e.ws.Handle("test.count", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			runs.Add(1)
			return nil, nil
		}), nil))
		const n = 300
		reqs := make([]conveyor.EnqueueRequest, n)
		for i := range reqs {
			reqs[i] = conveyor.EnqueueRequest{Kind: "test.count", Args: map[string]int{"i": i}}
		}
		_, err := e.client.EnqueueMany(e.ctx, reqs)
		require.NoError(t, err)
		e.startWorker(func(c *conveyor.WorkerConfig) { c.Queues = map[string]int{clientQueue: 16} })
		e.eventually(clientWait, func() bool { return e.countState(conveyor.StateCompleted) == n }, "%d jobs completed", n)
		require.Equal(t, int64(n), runs.Load(), "each job ran exactly once")
	})

	t.Run("JobContext", func(t *testing.T) {
		// The handler's context carries its job and a logger; progress set
		// through it is stored by the heartbeat.
		e := clientSetup(t, f)
		release, releaseFn := signalOnce()
		type seen struct {
			ID      string
			Attempt int
			Logger  bool
		}
		require.NoError(t, conveyor.Register(e.ws, "test.ctx", func(ctx context.Context, job *conveyor.Job[struct{}]) (seen, error) {
			rec := conveyor.JobFromContext(ctx)
			if rec == nil {
				return seen{}, errors.New("no job in context")
			}
			if err := conveyor.SetProgress(ctx, map[string]int{"done": 42}); err != nil {
				return seen{}, err
			}
			<-release
			return seen{ID: rec.ID, Attempt: rec.Attempt, Logger: conveyor.LoggerFromContext(ctx) != nil}, nil
		}, nil))
		e.startWorker(nil)
		id := e.enqueue("test.ctx", nil, nil)
		e.eventually(clientWait, func() bool {
			j := e.get(id)
			return j.State == conveyor.StateRunning && len(j.Progress) > 0
		}, "progress stored while running")
		require.JSONEq(t, `{"done":42}`, string(e.get(id).Progress))
		releaseFn()
		j := e.waitState(id, conveyor.StateCompleted)
		require.JSONEq(t, fmt.Sprintf(`{"ID":%q,"Attempt":1,"Logger":true}`, id), string(j.Result))
	})

	t.Run("SnoozeNotCounted", func(t *testing.T) {
		e := clientSetup(t, f)
		var runs atomic.Int64
		require.NoError(t, conveyor.Register(e.ws, "test.snooze", func(ctx context.Context, job *conveyor.Job[struct{}]) (int, error) {
			if runs.Add(1) < 3 {
				return 0, conveyor.Snooze(20 * time.Millisecond)
			}
			return job.Attempt, nil
		}, nil))
		e.startWorker(nil)
		id := e.enqueue("test.snooze", nil, nil)
		j := e.waitState(id, conveyor.StateCompleted)
		require.Equal(t, int64(3), runs.Load())
		require.Equal(t, 1, j.Attempt, "snoozes are not attempts")
		require.JSONEq(t, `1`, string(j.Result), "the handler saw attempt 1 on its third run")
		require.Empty(t, j.Errors)
	})

	t.Run("RetryAfter", func(t *testing.T) {
		e := clientSetup(t, f)
		var runs atomic.Int64
		require.NoError(t, conveyor.Register(e.ws, "test.after", func(ctx context.Context, job *conveyor.Job[struct{}]) (int, error) {
			if runs.Add(1) == 1 {
				return 0, conveyor.RetryAfter(30 * time.Millisecond)
			}
			return job.Attempt, nil
		}, nil))
		e.startWorker(nil)
		id := e.enqueue("test.after", nil, nil)
		j := e.waitState(id, conveyor.StateCompleted)
		require.Equal(t, 2, j.Attempt)
		require.Len(t, j.Errors, 1)
		require.Equal(t, 1, j.Errors[0].Attempt)
	})

	t.Run("UnknownKindWaits", func(t *testing.T) {
		// A job of a kind this worker lacks is snoozed, not failed: it
		// waits, its attempt not counted, for a worker that has the kind.
		e := clientSetup(t, f)
		require.NoError(t, e.ws.Handle("test.other", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			return nil, nil
		}), nil))
		e.startWorker(nil)
		id := e.enqueue("test.unknown", nil, nil)
		j := e.waitState(id, conveyor.StateScheduled)
		require.Equal(t, 0, j.Attempt)
		require.Empty(t, j.Errors)
	})
}

// clientRetryPolicy is the tiny fixed backoff the suite injects, recording
// the attempts it was asked about.
type clientRetryPolicy struct {
	attempts chan int
}

func (p *clientRetryPolicy) NextRetry(job *conveyor.JobRecord, err error) time.Duration {
	select {
	case p.attempts <- job.Attempt:
	default:
	}
	return 10 * time.Millisecond
}

func testClientErrors(t *testing.T, f ClientFactory) {
	t.Run("RetryWithBackoff", func(t *testing.T) {
		e := clientSetup(t, f)
		policy := &clientRetryPolicy{attempts: make(chan int, 10)}
		require.NoError(t, conveyor.Register(e.ws, "test.flaky", func(ctx context.Context, job *conveyor.Job[struct{}]) (string, error) {
			if job.Attempt < 3 {
				return "", fmt.Errorf("flaky failure %d", job.Attempt)
			}
			return "ok", nil
		}, &conveyor.HandlerOptions{RetryPolicy: policy}))
		e.startWorker(nil)
		id := e.enqueue("test.flaky", nil, &conveyor.EnqueueOptions{MaxAttempts: 5})
		j := e.waitState(id, conveyor.StateCompleted)
		require.Equal(t, 3, j.Attempt)
		require.Len(t, j.Errors, 2)
		for i, ae := range j.Errors {
			require.Equal(t, i+1, ae.Attempt)
			require.Equal(t, fmt.Sprintf("flaky failure %d", i+1), ae.Message)
			require.False(t, ae.At.IsZero())
		}
		require.Equal(t, 1, <-policy.attempts, "policy asked about attempt 1")
		require.Equal(t, 2, <-policy.attempts, "then attempt 2")
	})

	t.Run("FailedAfterMaxAttempts", func(t *testing.T) {
		e := clientSetup(t, f)
		var runs atomic.Int64
		require.NoError(t, e.ws.Handle("test.fail", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			runs.Add(1)
			return nil, errors.New("always fails")
		}), &conveyor.HandlerOptions{RetryPolicy: conveyor.FixedRetryPolicy(5 * time.Millisecond)}))
		e.startWorker(nil)
		id := e.enqueue("test.fail", nil, &conveyor.EnqueueOptions{MaxAttempts: 3})
		j := e.waitState(id, conveyor.StateFailed)
		require.Equal(t, 3, j.Attempt)
		require.Len(t, j.Errors, 3)
		require.Equal(t, int64(3), runs.Load())
	})

	t.Run("KindMaxAttempts", func(t *testing.T) {
		// HandlerOptions.MaxAttempts overrides the job's own.
		e := clientSetup(t, f)
		require.NoError(t, e.ws.Handle("test.fail", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			return nil, errors.New("always fails")
		}), &conveyor.HandlerOptions{MaxAttempts: 2, RetryPolicy: conveyor.FixedRetryPolicy(5 * time.Millisecond)}))
		e.startWorker(nil)
		id := e.enqueue("test.fail", nil, &conveyor.EnqueueOptions{MaxAttempts: 10})
		j := e.waitState(id, conveyor.StateFailed)
		require.Equal(t, 2, j.Attempt)
	})

	t.Run("Timeout", func(t *testing.T) {
		// The handler's context ends at the timeout; the attempt fails with
		// a timeout error and is retried per the policy.
		e := clientSetup(t, f)
		require.NoError(t, e.ws.Handle("test.slow", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}), &conveyor.HandlerOptions{Timeout: 50 * time.Millisecond, RetryPolicy: conveyor.FixedRetryPolicy(5 * time.Millisecond)}))
		e.startWorker(nil)
		id := e.enqueue("test.slow", nil, &conveyor.EnqueueOptions{MaxAttempts: 2})
		j := e.waitState(id, conveyor.StateFailed)
		require.Equal(t, 2, j.Attempt, "the timed-out attempt was retried")
		require.Len(t, j.Errors, 2)
		for _, ae := range j.Errors {
			require.Contains(t, ae.Message, "timed out")
		}
	})

	t.Run("JobTimeout", func(t *testing.T) {
		// Without a kind timeout the job's own timeout applies.
		e := clientSetup(t, f)
		require.NoError(t, e.ws.Handle("test.slow", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}), nil))
		e.startWorker(nil)
		id := e.enqueue("test.slow", nil, &conveyor.EnqueueOptions{MaxAttempts: 1, Timeout: 50 * time.Millisecond})
		j := e.waitState(id, conveyor.StateFailed)
		require.Len(t, j.Errors, 1)
		require.Contains(t, j.Errors[0].Message, "timed out")
	})

	t.Run("Panic", func(t *testing.T) {
		// A panic is an attempt error with its stack; the job is retried and
		// the worker keeps serving.
		e := clientSetup(t, f)
		require.NoError(t, e.ws.Handle("test.panic", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			if job.Attempt == 1 {
				clientPanicHere()
			}
			return json.RawMessage(`"recovered"`), nil
		}), &conveyor.HandlerOptions{RetryPolicy: conveyor.FixedRetryPolicy(5 * time.Millisecond)}))
		e.startWorker(func(c *conveyor.WorkerConfig) { c.Queues = map[string]int{clientQueue: 1} })
		id := e.enqueue("test.panic", nil, nil)
		j := e.waitState(id, conveyor.StateCompleted)
		require.Equal(t, 2, j.Attempt)
		require.Len(t, j.Errors, 1)
		require.Contains(t, j.Errors[0].Message, "boom")
		require.Contains(t, j.Errors[0].Stack, "clientPanicHere", "stack names the panicking function")
		// The single slot still serves.
		id2 := e.enqueue("test.panic", nil, nil)
		e.waitState(id2, conveyor.StateCompleted)
	})

	t.Run("ArgsDoNotDecode", func(t *testing.T) {
		e := clientSetup(t, f)
		var runs atomic.Int64
		require.NoError(t, conveyor.Register(e.ws, "test.add", func(ctx context.Context, job *conveyor.Job[clientAddArgs]) (int, error) {
			runs.Add(1)
			return 0, nil
		}, nil))
		e.startWorker(nil)
		id := e.enqueue("test.add", json.RawMessage(`{"a":"not a number"}`), nil)
		j := e.waitState(id, conveyor.StateFailed)
		require.Equal(t, 1, j.Attempt, "failed at once, no retries")
		require.Len(t, j.Errors, 1)
		require.Contains(t, j.Errors[0].Message, "decode args")
		require.Zero(t, runs.Load(), "the handler never ran")
	})

	t.Run("NoRetry", func(t *testing.T) {
		e := clientSetup(t, f)
		require.NoError(t, e.ws.Handle("test.bad", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			return nil, conveyor.NoRetry(errors.New("permanent"))
		}), nil))
		e.startWorker(nil)
		id := e.enqueue("test.bad", nil, nil)
		j := e.waitState(id, conveyor.StateFailed)
		require.Equal(t, 1, j.Attempt)
		require.Equal(t, "permanent", j.Errors[0].Message)
	})

	t.Run("HostileText", func(t *testing.T) {
		// A handler's error with NUL bytes and invalid UTF-8, a progress and a
		// result in invalid UTF-8 (valid to Go's json.Valid, refused by
		// PostgreSQL): each is made storable or refused at the handler, and a
		// healthy job beside them is not disturbed (a refused value used to
		// fail its whole heartbeat or finish batch).
		e := clientSetup(t, f)
		progressErr := make(chan error, 1)
		require.NoError(t, e.ws.Handle("test.hostile.error", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
			progressErr <- conveyor.SetProgress(ctx, json.RawMessage("\"caf\xe9\""))
			return nil, conveyor.NoRetry(errors.New("bad record \x00 caf\xe9"))
		}), nil))
		require.NoError(t, e.ws.Handle("test.hostile.result", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			return json.RawMessage("\"caf\xe9\""), nil
		}), nil))
		require.NoError(t, e.ws.Handle("test.healthy", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			return json.RawMessage(`"fine"`), nil
		}), nil))
		e.startWorker(nil)
		badErr := e.enqueue("test.hostile.error", nil, nil)
		badResult := e.enqueue("test.hostile.result", nil, nil)
		healthy := e.enqueue("test.healthy", nil, nil)
		require.ErrorContains(t, <-progressErr, "valid UTF-8")
		j := e.waitState(badErr, conveyor.StateFailed)
		require.Equal(t, "bad record \uFFFD caf\uFFFD", j.Errors[0].Message)
		j = e.waitState(badResult, conveyor.StateFailed)
		require.Contains(t, j.Errors[0].Message, "not valid JSON in valid UTF-8")
		require.JSONEq(t, `"fine"`, string(e.waitState(healthy, conveyor.StateCompleted).Result))
	})

	t.Run("CancelFromHandler", func(t *testing.T) {
		e := clientSetup(t, f)
		require.NoError(t, e.ws.Handle("test.cancel", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
			return nil, fmt.Errorf("wrapped: %w", conveyor.Cancel(errors.New("not needed any more")))
		}), nil))
		e.startWorker(nil)
		id := e.enqueue("test.cancel", nil, nil)
		j := e.waitState(id, conveyor.StateCancelled)
		require.Equal(t, 1, j.Attempt)
		require.Len(t, j.Errors, 1)
		require.Equal(t, "not needed any more", j.Errors[0].Message)
	})
}

// clientPanicHere panics; its name must show in the recorded stack.
//
//go:noinline
func clientPanicHere() { panic("boom") }
