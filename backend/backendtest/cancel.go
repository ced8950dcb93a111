package backendtest

import (
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// cancel runs JobCancel at now.
func (h *harness) cancel(id string, now time.Time) (*backend.Job, error) {
	h.t.Helper()
	return h.b.JobCancel(h.ctx, &backend.JobCancelParams{ID: id, Now: now})
}

func testCancel(t *testing.T, f Factory) {
	t.Run("Queued", func(t *testing.T) {
		h := setup(t, f)
		q := "cancel-queued"
		id := h.addOne(q)
		now := at(time.Second)
		j, err := h.cancel(id, now)
		require.NoError(t, err)
		require.Equal(t, backend.StateCancelled, j.State)
		j = h.requireState(id, backend.StateCancelled)
		requireTime(t, now, j.FinishedAt, "FinishedAt")
		require.Equal(t, 0, j.Attempt)
		h.requireNoClaim(q, at(time.Hour))
	})

	t.Run("Scheduled", func(t *testing.T) {
		h := setup(t, f)
		q := "cancel-scheduled"
		id := h.addOne(q, withRunAt(at(time.Minute)))
		j, err := h.cancel(id, at(time.Second))
		require.NoError(t, err)
		require.Equal(t, backend.StateCancelled, j.State)
		requireTime(t, at(time.Second), h.requireState(id, backend.StateCancelled).FinishedAt, "FinishedAt")
		_, err = h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(time.Hour)})
		require.NoError(t, err)
		h.requireNoClaim(q, at(time.Hour))
		h.requireState(id, backend.StateCancelled)
	})

	t.Run("Retrying", func(t *testing.T) {
		h := setup(t, f)
		q := "cancel-retrying"
		id := h.addOne(q)
		h.finishOK(base, outcome(h.claimOne(q, id, base), backend.OutcomeRetry, at(time.Minute), "oops"))
		j, err := h.cancel(id, at(time.Second))
		require.NoError(t, err)
		require.Equal(t, backend.StateCancelled, j.State)
		j = h.requireState(id, backend.StateCancelled)
		require.Len(t, j.Errors, 1, "errors are kept")
		_, err = h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(time.Hour)})
		require.NoError(t, err)
		h.requireNoClaim(q, at(time.Hour))
	})

	t.Run("Running", func(t *testing.T) {
		h := setup(t, f)
		q := "cancel-running"
		id, other := h.addOne(q), h.addOne(q)
		claimed := h.claim(q, 2, base)
		require.Len(t, claimed, 2)
		c, o := claimed[0], claimed[1]
		require.Equal(t, id, c.ID)
		require.Equal(t, other, o.ID)

		j, err := h.cancel(id, at(time.Second))
		require.NoError(t, err)
		require.Equal(t, backend.StateRunning, j.State, "a running job keeps running until its worker stops")
		require.True(t, j.CancelRequested)
		j = h.requireState(id, backend.StateRunning)
		require.True(t, j.CancelRequested)
		require.Equal(t, c.LeaseToken, j.LeaseToken)

		// Cancelling again is harmless.
		_, err = h.cancel(id, at(2*time.Second))
		require.NoError(t, err)

		res, err := h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{
			Leases: []backend.Lease{
				{ID: id, LeaseToken: c.LeaseToken},
				{ID: other, LeaseToken: o.LeaseToken},
			},
			Duration: time.Minute, Now: at(3 * time.Second),
		})
		require.NoError(t, err)
		require.Equal(t, []string{id}, res.CancelRequested)
		require.Empty(t, res.Lost, "a cancel-requested lease is still extended")
		requireTime(t, at(63*time.Second), h.get(id).LeaseExpiresAt, "LeaseExpiresAt")

		h.finishOK(at(4*time.Second), outcome(c, backend.OutcomeCancelled, at(4*time.Second), "context canceled"))
		j = h.requireState(id, backend.StateCancelled)
		requireTime(t, at(4*time.Second), j.FinishedAt, "FinishedAt")
		requireLeaseCleared(t, j)
		h.requireState(other, backend.StateRunning)
		require.False(t, h.get(other).CancelRequested)
	})

	// A job whose cancel was requested while it ran ends cancelled, never
	// retrying (DESIGN §2), even when that run ends in a retry before its
	// worker heard of the cancel, or in a snooze (say the shutdown
	// hand-back).
	for _, kind := range []backend.Outcome{backend.OutcomeRetry, backend.OutcomeSnoozed} {
		t.Run("RequestedThen/"+string(kind), func(t *testing.T) {
			h := setup(t, f)
			q := "cancel-requested-then-" + string(kind)
			id := h.addOne(q)
			c := h.claimOne(q, id, base)
			_, err := h.cancel(id, at(time.Second))
			require.NoError(t, err)
			msg := ""
			if kind == backend.OutcomeRetry {
				msg = "failed before its next heartbeat"
			}
			res, err := h.b.JobFinish(h.ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{outcome(c, kind, at(2*time.Second), msg)}, Now: at(2 * time.Second)})
			require.NoError(t, err)
			require.Empty(t, res.LeaseLost)
			require.Equal(t, []string{id}, res.Cancelled, "the result says the outcome ended cancelled")
			j := h.requireState(id, backend.StateCancelled)
			requireTime(t, at(2*time.Second), j.FinishedAt, "FinishedAt")
			requireLeaseCleared(t, j)
			require.False(t, j.CancelRequested, "the request is honoured, so no longer pending")
			if kind == backend.OutcomeRetry {
				require.Len(t, j.Errors, 1, "the attempt's error is kept")
			}
			_, err = h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(time.Hour)})
			require.NoError(t, err)
			h.requireNoClaim(q, at(time.Hour))
		})
	}

	t.Run("Final", func(t *testing.T) {
		h := setup(t, f)
		q := "cancel-final"
		completed, failed, cancelled := h.addOne(q), h.addOne(q), h.addOne(q)
		claimed := h.claim(q, 2, base)
		require.Len(t, claimed, 2)
		h.finishOK(base, complete(claimed[0], ""), outcome(claimed[1], backend.OutcomeFailed, base, "x"))
		_, err := h.cancel(cancelled, base)
		require.NoError(t, err)
		for id, s := range map[string]backend.JobState{
			completed: backend.StateCompleted, failed: backend.StateFailed, cancelled: backend.StateCancelled,
		} {
			before := h.requireState(id, s)
			_, err := h.cancel(id, at(time.Minute))
			require.ErrorIs(t, err, backend.ErrWrongState, "cancel of a %s job", s)
			after := h.requireState(id, s)
			requireTime(t, before.FinishedAt, after.FinishedAt, "FinishedAt")
		}
	})

	t.Run("Missing", func(t *testing.T) {
		h := setup(t, f)
		_, err := h.cancel(newID(), base)
		require.ErrorIs(t, err, backend.ErrNotFound)
	})
}
