package backendtest

import (
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// retry runs JobRetry at now.
func (h *harness) retry(id string, now time.Time) (*backend.Job, error) {
	h.t.Helper()
	return h.b.JobRetry(h.ctx, &backend.JobRetryParams{ID: id, Now: now})
}

func testRetry(t *testing.T, f Factory) {
	t.Run("FailedAfterMaxAttempts", func(t *testing.T) {
		h := setup(t, f)
		q := "retry-max-attempts"
		id := h.addOne(q, withMaxAttempts(2))
		// Attempt 1 fails and is retried; attempt 2's worker dies.
		h.finishOK(base, outcome(h.claimOne(q, id, base), backend.OutcomeRetry, at(time.Minute), "first"))
		_, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(time.Minute)})
		require.NoError(t, err)
		require.Equal(t, 2, h.claimOne(q, id, at(time.Minute)).Attempt)
		got := h.rescue(at(time.Hour), 0)
		require.Equal(t, []backend.RescuedJob{{ID: id, Kind: testKind, Queue: q, State: backend.StateFailed}}, got)
		j := h.requireState(id, backend.StateFailed)
		require.Equal(t, 2, j.Attempt)
		require.Len(t, j.Errors, 2)
		require.Equal(t, "first", j.Errors[0].Message)
		requireLeaseExpiredError(t, j.Errors[1], 2, at(time.Hour))
		h.requireNoClaim(q, at(2*time.Hour))
	})

	t.Run("Failed", func(t *testing.T) {
		h := setup(t, f)
		q := "retry-failed"
		id := h.addOne(q, withMaxAttempts(1))
		h.finishOK(base, outcome(h.claimOne(q, id, base), backend.OutcomeFailed, base, "dead"))
		now := at(time.Hour)
		j, err := h.retry(id, now)
		require.NoError(t, err)
		require.Equal(t, backend.StateQueued, j.State)
		j = h.requireState(id, backend.StateQueued)
		requireTime(t, now, j.RunAt, "RunAt")
		require.Equal(t, 2, j.MaxAttempts, "MaxAttempts raised to Attempt+1 when exhausted")
		require.Len(t, j.Errors, 1, "history is kept")
		c := h.claimOne(q, id, now)
		require.Equal(t, 2, c.Attempt)
		h.finishOK(now, complete(c, `"ok"`))
		h.requireState(id, backend.StateCompleted)
	})

	t.Run("AttemptsLeft", func(t *testing.T) {
		h := setup(t, f)
		q := "retry-attempts-left"
		id := h.addOne(q, withMaxAttempts(5))
		h.finishOK(base, outcome(h.claimOne(q, id, base), backend.OutcomeFailed, base, "non-retryable"))
		_, err := h.retry(id, at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, 5, h.requireState(id, backend.StateQueued).MaxAttempts, "MaxAttempts unchanged when attempts are left")
	})

	t.Run("CancelledAndCompleted", func(t *testing.T) {
		h := setup(t, f)
		q := "retry-cancelled"
		cancelled, completed := h.addOne(q), h.addOne(q)
		_, err := h.cancel(cancelled, base)
		require.NoError(t, err)
		h.finishOK(base, complete(h.claimOne(q, completed, base), `1`))
		now := at(time.Minute)
		for _, id := range []string{cancelled, completed} {
			j, err := h.retry(id, now)
			require.NoError(t, err)
			require.Equal(t, backend.StateQueued, j.State)
			requireTime(t, now, h.requireState(id, backend.StateQueued).RunAt, "RunAt")
		}
		got := h.claim(q, 10, now)
		require.Len(t, got, 2)
	})

	t.Run("RerunWithoutResultDropsTheOldOne", func(t *testing.T) {
		h := setup(t, f)
		q := "retry-result"
		id := h.addOne(q)
		h.finishOK(base, complete(h.claimOne(q, id, base), `{"run":1}`))
		now := at(time.Minute)
		_, err := h.retry(id, now)
		require.NoError(t, err)
		h.finishOK(now, complete(h.claimOne(q, id, now), ""))
		j := h.requireState(id, backend.StateCompleted)
		require.Nil(t, j.Result, "the second run returned no result; the first run's must not show (got %s)", j.Result)
	})

	t.Run("ScheduledDueNow", func(t *testing.T) {
		h := setup(t, f)
		q := "retry-scheduled"
		scheduled := h.addOne(q, withRunAt(at(time.Hour)))
		retrying := h.addOne(q)
		h.finishOK(base, outcome(h.claimOne(q, retrying, base), backend.OutcomeRetry, at(time.Hour), "later"))
		now := at(time.Minute)
		for _, id := range []string{scheduled, retrying} {
			_, err := h.retry(id, now)
			require.NoError(t, err)
			requireTime(t, now, h.get(id).RunAt, "RunAt")
		}
		got := h.claim(q, 10, now)
		require.Len(t, got, 2, "both due now")
	})

	t.Run("WrongState", func(t *testing.T) {
		h := setup(t, f)
		q := "retry-wrong-state"
		running, queued := h.addOne(q), h.addOne(q)
		h.claimOne(q, running, base)
		_, err := h.retry(running, at(time.Second))
		require.ErrorIs(t, err, backend.ErrWrongState, "retry of a running job")
		_, err = h.retry(queued, at(time.Second))
		require.ErrorIs(t, err, backend.ErrWrongState, "retry of a queued job")
		h.requireState(running, backend.StateRunning)
		h.requireState(queued, backend.StateQueued)
		_, err = h.retry(newID(), base)
		require.ErrorIs(t, err, backend.ErrNotFound)
	})
}
