package backendtest

import (
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func (h *harness) prune(s backend.JobState, before time.Time, limit int) int {
	h.t.Helper()
	res, err := h.b.JobPrune(h.ctx, &backend.JobPruneParams{State: s, FinishedBefore: before, Limit: limit})
	require.NoError(h.t, err)
	return res.Deleted
}

func testPrune(t *testing.T, f Factory) {
	t.Run("ByAgeAndState", func(t *testing.T) {
		h := setup(t, f)
		q, live := "prune-age", "prune-age-live"
		running := h.addOne(live)
		h.claimOne(live, running, base)
		queued := h.addOne(live)
		scheduled := h.addOne(live, withRunAt(at(time.Hour)))

		oldDone, newDone, oldFailed, oldCancelled := h.addOne(q), h.addOne(q), h.addOne(q), h.addOne(q)
		claimed := h.claim(q, 3, base)
		require.Equal(t, []string{oldDone, newDone, oldFailed}, ids(claimed))
		h.finishOK(at(time.Minute), complete(claimed[0], ""), outcome(claimed[2], backend.OutcomeFailed, base, "x"))
		h.finishOK(at(10*time.Minute), complete(claimed[1], ""))
		_, err := h.cancel(oldCancelled, at(time.Minute))
		require.NoError(t, err)

		require.Equal(t, 1, h.prune(backend.StateCompleted, at(5*time.Minute), 0))
		h.requireGone(oldDone)
		h.requireState(newDone, backend.StateCompleted)
		h.requireState(oldFailed, backend.StateFailed)
		h.requireState(oldCancelled, backend.StateCancelled)

		require.Equal(t, 1, h.prune(backend.StateFailed, at(5*time.Minute), 0))
		h.requireGone(oldFailed)
		require.Equal(t, 1, h.prune(backend.StateCancelled, at(5*time.Minute), 0))
		h.requireGone(oldCancelled)
		require.Zero(t, h.prune(backend.StateCompleted, at(5*time.Minute), 0), "nothing left that old")
		// FinishedBefore excludes a job finished at that instant.
		require.Zero(t, h.prune(backend.StateCompleted, at(10*time.Minute), 0))

		// Running, queued and scheduled jobs are never pruned, however old.
		for _, s := range []backend.JobState{backend.StateCompleted, backend.StateFailed, backend.StateCancelled} {
			h.prune(s, at(1000*time.Hour), 0)
		}
		h.requireGone(newDone)
		h.requireState(running, backend.StateRunning)
		h.requireState(queued, backend.StateQueued)
		h.requireState(scheduled, backend.StateScheduled)
	})

	t.Run("Limit", func(t *testing.T) {
		h := setup(t, f)
		q := "prune-limit"
		for range 5 {
			h.addOne(q)
		}
		claimed := h.claim(q, 5, base)
		outs := make([]*backend.JobOutcome, len(claimed))
		for i, c := range claimed {
			outs[i] = complete(c, "")
		}
		h.finishOK(base, outs...)
		require.Equal(t, 2, h.prune(backend.StateCompleted, at(time.Hour), 2))
		require.Equal(t, int64(3), h.queueInfo(q, at(time.Hour)).Counts[backend.StateCompleted])
		require.Equal(t, 3, h.prune(backend.StateCompleted, at(time.Hour), 0))
	})
}

func testDelete(t *testing.T, f Factory) {
	t.Run("NotRunning", func(t *testing.T) {
		h := setup(t, f)
		q := "delete-states"
		done := h.addOne(q)
		h.finishOK(base, complete(h.claimOne(q, done, base), ""))
		failed := h.addOne(q)
		h.finishOK(base, outcome(h.claimOne(q, failed, base), backend.OutcomeFailed, base, "x"))
		queued := h.addOne(q)
		scheduled := h.addOne(q, withRunAt(at(time.Hour)))
		for _, id := range []string{done, failed, queued, scheduled} {
			require.NoError(t, h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: id}))
			h.requireGone(id)
		}
		h.requireNoClaim(q, at(2*time.Hour))
		info := h.queueInfo(q, base)
		for _, s := range backend.AllStates {
			require.Zero(t, info.Counts[s], "count of %s after deletes", s)
		}
		err := h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: queued})
		require.ErrorIs(t, err, backend.ErrNotFound, "a second delete")
	})

	t.Run("ReleasesUniqueKey", func(t *testing.T) {
		h := setup(t, f)
		q := "delete-unique"
		id := h.addOne(q, withUnique("gone"))
		require.NoError(t, h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: id}))
		require.False(t, h.enqueue(base, job(q, withUnique("gone")))[0].Duplicate)
	})

	t.Run("Running", func(t *testing.T) {
		h := setup(t, f)
		q := "delete-running"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		err := h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: id})
		require.ErrorIs(t, err, backend.ErrWrongState)
		j := h.requireState(id, backend.StateRunning)
		require.Equal(t, c.LeaseToken, j.LeaseToken)
	})

	t.Run("Missing", func(t *testing.T) {
		h := setup(t, f)
		err := h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: newID()})
		require.ErrorIs(t, err, backend.ErrNotFound)
	})
}
