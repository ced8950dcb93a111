package backendtest

import (
	"strings"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func testFinish(t *testing.T, f Factory) {
	t.Run("Completed", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-completed"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		done := at(3 * time.Second)
		h.finishOK(done, complete(c, `{"sent":true,"count":2}`))
		j := h.requireState(id, backend.StateCompleted)
		require.JSONEq(t, `{"sent":true,"count":2}`, string(j.Result))
		requireTime(t, done, j.FinishedAt, "FinishedAt")
		requireTime(t, base, j.StartedAt, "StartedAt")
		require.Equal(t, 1, j.Attempt)
		require.Empty(t, j.Errors)
		requireLeaseCleared(t, j)
		h.requireNoClaim(q, at(time.Hour))
	})

	t.Run("CompletedWithoutResult", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-completed-nil"
		id := h.addOne(q)
		h.finishOK(base, complete(h.claimOne(q, id, base), ""))
		j := h.requireState(id, backend.StateCompleted)
		require.True(t, len(j.Result) == 0 || string(j.Result) == "null", "no result stored, got %s", j.Result)
	})

	t.Run("Retry", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-retry"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		failedAt, retryAt := at(2*time.Second), at(time.Minute)
		h.finishOK(failedAt, &backend.JobOutcome{
			ID: id, LeaseToken: c.LeaseToken, Outcome: backend.OutcomeRetry, RunAt: retryAt,
			Error: &backend.AttemptError{Attempt: 1, At: failedAt, Message: "boom", Stack: "main.go:1"},
		})
		j := h.requireState(id, backend.StateRetrying)
		requireTime(t, retryAt, j.RunAt, "RunAt")
		require.Equal(t, 1, j.Attempt)
		requireTime(t, time.Time{}, j.FinishedAt, "FinishedAt")
		requireLeaseCleared(t, j)
		require.Len(t, j.Errors, 1)
		require.Equal(t, 1, j.Errors[0].Attempt)
		require.Equal(t, "boom", j.Errors[0].Message)
		require.Equal(t, "main.go:1", j.Errors[0].Stack)
		requireTime(t, failedAt, j.Errors[0].At, "Errors[0].At")

		h.requireNoClaim(q, at(59*time.Second))
		_, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: retryAt})
		require.NoError(t, err)
		again := h.claimOne(q, id, retryAt)
		require.Equal(t, 2, again.Attempt)
		require.Len(t, again.Errors, 1, "errors survive the next claim")
		require.NotEqual(t, c.LeaseToken, again.LeaseToken)

		// A second failure appends, oldest first.
		h.finishOK(at(2*time.Minute), outcome(again, backend.OutcomeRetry, at(time.Hour), "second"))
		j = h.get(id)
		require.Len(t, j.Errors, 2)
		require.Equal(t, "boom", j.Errors[0].Message)
		require.Equal(t, "second", j.Errors[1].Message)
		require.Equal(t, 2, j.Errors[1].Attempt)
	})

	t.Run("Failed", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-failed"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		h.finishOK(at(time.Second), outcome(c, backend.OutcomeFailed, time.Time{}, "no retry: bad input"))
		j := h.requireState(id, backend.StateFailed)
		requireTime(t, at(time.Second), j.FinishedAt, "FinishedAt")
		require.Len(t, j.Errors, 1)
		require.Equal(t, "no retry: bad input", j.Errors[0].Message)
		require.Equal(t, 1, j.Errors[0].Attempt)
		requireLeaseCleared(t, j)
		h.requireNoClaim(q, at(time.Hour))
	})

	t.Run("Cancelled", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-cancelled"
		withErr, without := h.addOne(q), h.addOne(q)
		jobs := h.claim(q, 2, base)
		require.Len(t, jobs, 2)
		byID := map[string]*backend.Job{jobs[0].ID: jobs[0], jobs[1].ID: jobs[1]}
		h.finishOK(at(time.Second),
			outcome(byID[withErr], backend.OutcomeCancelled, time.Time{}, "cancelled by handler"),
			outcome(byID[without], backend.OutcomeCancelled, time.Time{}, ""))
		j := h.requireState(withErr, backend.StateCancelled)
		requireTime(t, at(time.Second), j.FinishedAt, "FinishedAt")
		require.Len(t, j.Errors, 1)
		require.Equal(t, "cancelled by handler", j.Errors[0].Message)
		requireLeaseCleared(t, j)
		j = h.requireState(without, backend.StateCancelled)
		require.Empty(t, j.Errors)
		requireTime(t, at(time.Second), j.FinishedAt, "FinishedAt")
	})

	t.Run("SnoozedLater", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-snoozed"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		wake := at(10 * time.Minute)
		h.finishOK(at(time.Second), outcome(c, backend.OutcomeSnoozed, wake, ""))
		j := h.requireState(id, backend.StateScheduled)
		require.Equal(t, 0, j.Attempt, "a snooze is not an attempt")
		requireTime(t, wake, j.RunAt, "RunAt")
		requireTime(t, time.Time{}, j.FinishedAt, "FinishedAt")
		require.Empty(t, j.Errors)
		requireLeaseCleared(t, j)
		h.requireNoClaim(q, at(9*time.Minute))
		_, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: wake})
		require.NoError(t, err)
		require.Equal(t, 1, h.claimOne(q, id, wake).Attempt)
	})

	t.Run("SnoozedNow", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-snoozed-now"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		// Handing a job back at shutdown: RunAt <= Now makes it queued.
		h.finishOK(at(time.Second), outcome(c, backend.OutcomeSnoozed, at(time.Second), ""))
		j := h.requireState(id, backend.StateQueued)
		require.Equal(t, 0, j.Attempt)
		requireLeaseCleared(t, j)
		require.Equal(t, 1, h.claimOne(q, id, at(time.Second)).Attempt)
	})

	t.Run("StaleToken", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-stale"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		for _, o := range []backend.Outcome{
			backend.OutcomeCompleted, backend.OutcomeRetry, backend.OutcomeFailed,
			backend.OutcomeCancelled, backend.OutcomeSnoozed,
		} {
			bad := outcome(c, o, at(time.Hour), "stale")
			bad.LeaseToken = "not-" + c.LeaseToken
			require.Equal(t, []string{id}, h.finish(at(time.Second), bad), "outcome %s with a wrong token", o)
		}
		j := h.requireState(id, backend.StateRunning)
		require.Equal(t, c.LeaseToken, j.LeaseToken)
		require.Equal(t, 1, j.Attempt)
		require.Empty(t, j.Errors)
		requireTime(t, c.LeaseExpiresAt, j.LeaseExpiresAt, "LeaseExpiresAt")

		// The right token still works, once.
		h.finishOK(at(2*time.Second), complete(c, `1`))
		require.Equal(t, []string{id}, h.finish(at(3*time.Second), outcome(c, backend.OutcomeFailed, time.Time{}, "late")),
			"a second outcome for the same claim is rejected")
		j = h.requireState(id, backend.StateCompleted)
		require.Empty(t, j.Errors)
		require.JSONEq(t, `1`, string(j.Result))
	})

	t.Run("UnknownJob", func(t *testing.T) {
		h := setup(t, f)
		missing := newID()
		lost := h.finish(base, &backend.JobOutcome{ID: missing, LeaseToken: "x", Outcome: backend.OutcomeCompleted})
		require.Equal(t, []string{missing}, lost)
	})

	t.Run("NotRunning", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-not-running"
		id := h.addOne(q)
		lost := h.finish(base, &backend.JobOutcome{ID: id, LeaseToken: "", Outcome: backend.OutcomeCompleted})
		require.Equal(t, []string{id}, lost, "a queued job has no lease to finish")
		h.requireState(id, backend.StateQueued)
	})

	t.Run("Batch", func(t *testing.T) {
		h := setup(t, f)
		q := "finish-batch"
		const n = 1000
		ins := make([]*backend.JobInsert, n)
		for i := range ins {
			ins[i] = job(q)
		}
		h.add(base, ins...)
		claimed := h.claim(q, n, base)
		require.Len(t, claimed, n)
		outs := make([]*backend.JobOutcome, 0, n)
		var stale string
		for i, c := range claimed {
			switch i % 4 {
			case 0:
				outs = append(outs, complete(c, `{"i":1}`))
			case 1:
				outs = append(outs, outcome(c, backend.OutcomeRetry, at(time.Hour), "retry me"))
			case 2:
				outs = append(outs, outcome(c, backend.OutcomeFailed, time.Time{}, "dead"))
			default:
				if stale == "" {
					stale = c.ID
					o := complete(c, "")
					o.LeaseToken = strings.Repeat("0", len(c.LeaseToken))
					outs = append(outs, o)
				} else {
					outs = append(outs, outcome(c, backend.OutcomeSnoozed, at(time.Minute), ""))
				}
			}
		}
		require.Equal(t, []string{stale}, h.finish(at(time.Second), outs...))
		info := h.queueInfo(q, at(time.Second))
		require.Equal(t, int64(n/4), info.Counts[backend.StateCompleted])
		require.Equal(t, int64(n/4), info.Counts[backend.StateRetrying])
		require.Equal(t, int64(n/4), info.Counts[backend.StateFailed])
		require.Equal(t, int64(n/4-1), info.Counts[backend.StateScheduled])
		require.Equal(t, int64(1), info.Counts[backend.StateRunning])
		h.requireState(stale, backend.StateRunning)
	})
}
