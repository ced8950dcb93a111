package redis

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// failFirstRegistration fails the first pipeline that adds a queue to the
// queues set, after holding it until release is closed: the caller (A)
// has attempted the registration but never reaches the server, like a call
// whose deadline expires.
type failFirstRegistration struct {
	queuesKey string
	reached   chan struct{}
	release   chan struct{}
	once      sync.Once
}

var errInjected = errors.New("injected: pipeline never reached the server")

func (h *failFirstRegistration) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *failFirstRegistration) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return next
}

func (h *failFirstRegistration) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if !h.registers(cmds) {
			return next(ctx, cmds)
		}
		first := false
		h.once.Do(func() { first = true })
		if !first {
			return next(ctx, cmds)
		}
		close(h.reached)
		<-h.release
		return errInjected
	}
}

func (h *failFirstRegistration) registers(cmds []goredis.Cmder) bool {
	for _, c := range cmds {
		args := c.Args()
		if c.Name() == "sadd" && len(args) > 1 && args[1] == h.queuesKey {
			return true
		}
	}
	return false
}

// TestQueueRegisteredDespiteFailedFirstCall: the first call to use a queue
// (A) fails after a second call (B) to the same queue stored its job. B's
// job must still be in a registered queue, or rescue, promote, prune,
// QueueList and unfiltered JobList never see it.
func TestQueueRegisteredDespiteFailedFirstCall(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	hook := &failFirstRegistration{queuesKey: b.k.queues(), reached: make(chan struct{}), release: make(chan struct{})}
	b.rdb.AddHook(hook)
	q := "fresh"

	reqA := newTestReq(t, insert(q))
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		b.enqueueGroup(ctx, []*enqueueReq{reqA})
	}()
	<-hook.reached
	jobB := insert(q)
	reqB := newTestReq(t, jobB)
	b.enqueueGroup(ctx, []*enqueueReq{reqB})
	close(hook.release)
	<-doneA
	require.ErrorIs(t, reqA.err, errInjected)
	require.NoError(t, reqB.err)

	member, err := b.rdb.SIsMember(ctx, b.k.queues(), q).Result()
	require.NoError(t, err)
	require.True(t, member, "queue of a stored job missing from the queues set")
	list, err := b.JobList(ctx, &backend.JobListParams{})
	require.NoError(t, err)
	require.Len(t, list.Jobs, 1)
	require.Equal(t, jobB.ID, list.Jobs[0].ID)
}

// TestQueueRegistrationConfirmed: once a registration succeeded, later calls
// skip the SADD (the point of the cache); a failed one is not remembered.
func TestQueueRegistrationConfirmed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.True(t, b.registerQueue("q"))
	require.True(t, b.registerQueue("q"), "attempted is not confirmed")
	b.confirmQueues([]any{"q"})
	require.False(t, b.registerQueue("q"))
	b.queueSeen.Store("q", time.Now().Add(-2*queueRefresh))
	require.True(t, b.registerQueue("q"), "stale confirmation: refresh")
}

func newTestReq(t *testing.T, jobs ...*backend.JobInsert) *enqueueReq {
	t.Helper()
	r := &enqueueReq{jobs: jobs, values: make([]any, 0, enqueueArgs*len(jobs)), res: make([]backend.EnqueueOutcome, len(jobs))}
	for _, j := range jobs {
		var err error
		r.values, err = appendEnqueueValues(r.values, j, t0)
		require.NoError(t, err)
	}
	return r
}
