package backendtest

import (
	"slices"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func (h *harness) pause(q string) {
	h.t.Helper()
	require.NoError(h.t, h.b.QueuePause(h.ctx, &backend.QueuePauseParams{Queue: q}))
}

func (h *harness) resume(q string) {
	h.t.Helper()
	require.NoError(h.t, h.b.QueueResume(h.ctx, &backend.QueueResumeParams{Queue: q}))
}

func testQueue(t *testing.T, f Factory) {
	t.Run("PauseResume", func(t *testing.T) {
		h := setup(t, f)
		q, other := "queue-pause", "queue-pause-other"
		id := h.addOne(q)
		otherID := h.addOne(other)
		h.pause(q)
		require.True(t, h.queueInfo(q, base).Paused)
		h.requireNoClaim(q, base)
		h.claimOne(other, otherID, base) // other queues are not paused
		h.pause(q)                       // pausing twice is harmless
		h.requireNoClaim(q, at(time.Minute))
		h.requireState(id, backend.StateQueued)

		h.resume(q)
		require.False(t, h.queueInfo(q, base).Paused)
		h.claimOne(q, id, at(time.Minute))
	})

	t.Run("PauseUnknown", func(t *testing.T) {
		h := setup(t, f)
		q := "queue-pause-unknown"
		h.pause(q)
		info := h.queueInfo(q, base)
		require.True(t, info.Paused)
		for s, n := range info.Counts {
			require.Zero(t, n, "count of %s in an empty queue", s)
		}
		require.True(t, info.OldestQueuedAt.IsZero())
		// A job enqueued later waits until resume.
		id := h.addOne(q)
		require.True(t, h.queueInfo(q, base).Paused, "enqueue does not unpause")
		h.requireNoClaim(q, base)
		h.resume(q)
		h.claimOne(q, id, base)
	})

	t.Run("List", func(t *testing.T) {
		h := setup(t, f)
		qa, qb := "queue-list-a", "queue-list-b"
		ins := []*backend.JobInsert{job(qa), job(qa), job(qa), job(qa)}
		h.add(base, ins...)
		claimed := h.claim(qa, 4, base)
		require.Len(t, claimed, 4)
		h.finishOK(at(time.Second),
			complete(claimed[1], ""),
			outcome(claimed[2], backend.OutcomeFailed, base, "x"),
			outcome(claimed[3], backend.OutcomeRetry, at(time.Hour), "y"))
		_, err := h.cancel(h.addOne(qa), at(time.Second))
		require.NoError(t, err)
		h.addOne(qa, withRunAt(at(time.Hour)))
		h.add(at(2*time.Second), job(qa, withRunAt(at(-time.Minute)), withPriority(1)))
		h.add(at(2*time.Second), job(qa, withRunAt(at(-5*time.Minute))))
		h.pause(qb)

		res, err := h.b.QueueList(h.ctx, &backend.QueueListParams{Now: at(3 * time.Second)})
		require.NoError(t, err)
		names := make([]string, len(res.Queues))
		for i, q := range res.Queues {
			names[i] = q.Name
		}
		require.True(t, slices.IsSorted(names), "queues ordered by name: %v", names)
		require.Contains(t, names, qa)
		require.Contains(t, names, qb)

		a := res.Queues[slices.Index(names, qa)]
		require.False(t, a.Paused)
		want := map[backend.JobState]int64{
			backend.StateScheduled: 1, backend.StateQueued: 2, backend.StateRunning: 1, backend.StateRetrying: 1,
			backend.StateCompleted: 1, backend.StateFailed: 1, backend.StateCancelled: 1,
		}
		for _, s := range backend.AllStates {
			require.Equal(t, want[s], a.Counts[s], "count of %s", s)
		}
		requireTime(t, at(-5*time.Minute), a.OldestQueuedAt, "OldestQueuedAt")

		b := res.Queues[slices.Index(names, qb)]
		require.True(t, b.Paused)
		for _, s := range backend.AllStates {
			require.Zero(t, b.Counts[s], "count of %s", s)
		}
		require.True(t, b.OldestQueuedAt.IsZero())
	})

	t.Run("Purge", func(t *testing.T) {
		h := setup(t, f)
		q, other := "queue-purge", "queue-purge-other"
		running := h.addOne(q)
		h.claimOne(q, running, base)
		done := h.addOne(q)
		h.finishOK(base, complete(h.claimOne(q, done, base), ""))
		queued := h.addOne(q)
		scheduled := h.addOne(q, withRunAt(at(time.Hour)))
		keep := h.addOne(other)

		res, err := h.b.QueuePurge(h.ctx, &backend.QueuePurgeParams{Queue: q})
		require.NoError(t, err)
		require.Equal(t, 3, res.Deleted)
		for _, id := range []string{queued, scheduled, done} {
			h.requireGone(id)
		}
		h.requireState(running, backend.StateRunning)
		h.requireState(keep, backend.StateQueued)
		info := h.queueInfo(q, base)
		require.Equal(t, int64(1), info.Counts[backend.StateRunning])
		require.Zero(t, info.Counts[backend.StateQueued])
		require.Zero(t, info.Counts[backend.StateScheduled])
		require.Zero(t, info.Counts[backend.StateCompleted])
		h.requireNoClaim(q, at(2*time.Hour))

		res, err = h.b.QueuePurge(h.ctx, &backend.QueuePurgeParams{Queue: q})
		require.NoError(t, err)
		require.Zero(t, res.Deleted)
	})
}
