package backendtest

import (
	"strings"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// rescue runs JobRescue at now and returns what it handed back.
func (h *harness) rescue(now time.Time, limit int) []backend.RescuedJob {
	h.t.Helper()
	res, err := h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: now, Limit: limit})
	require.NoError(h.t, err)
	return res.Jobs
}

// requireLeaseExpiredError requires e to record that attempt's lease expired.
func requireLeaseExpiredError(t *testing.T, e backend.AttemptError, attempt int, now time.Time) {
	t.Helper()
	require.Equal(t, attempt, e.Attempt)
	msg := strings.ToLower(e.Message)
	require.True(t, strings.Contains(msg, "lease") && strings.Contains(msg, "expired"),
		"the rescue error says the lease expired, got %q", e.Message)
	requireTime(t, now, e.At, "AttemptError.At")
}

func testRescue(t *testing.T, f Factory) {
	t.Run("Expired", func(t *testing.T) {
		h := setup(t, f)
		q := "rescue-expired"
		id := h.addOne(q)
		h.claimOne(q, id, base) // lease until base+30s

		require.Empty(t, h.rescue(at(10*time.Second), 0), "a live lease is not rescued")
		h.requireState(id, backend.StateRunning)

		now := at(31 * time.Second)
		got := h.rescue(now, 0)
		require.Equal(t, []backend.RescuedJob{{ID: id, Kind: testKind, Queue: q, State: backend.StateQueued}}, got)
		j := h.requireState(id, backend.StateQueued)
		require.Equal(t, 1, j.Attempt, "the rescued attempt stays counted")
		requireTime(t, now, j.RunAt, "RunAt")
		requireTime(t, time.Time{}, j.FinishedAt, "FinishedAt")
		requireLeaseCleared(t, j)
		require.Len(t, j.Errors, 1)
		requireLeaseExpiredError(t, j.Errors[0], 1, now)

		require.Empty(t, h.rescue(at(time.Hour), 0), "nothing left to rescue")
		require.Equal(t, 2, h.claimOne(q, id, at(32*time.Second)).Attempt)
	})

	t.Run("Exhausted", func(t *testing.T) {
		h := setup(t, f)
		q := "rescue-exhausted"
		id := h.addOne(q, withMaxAttempts(1))
		h.claimOne(q, id, base)
		now := at(time.Minute)
		got := h.rescue(now, 0)
		require.Equal(t, []backend.RescuedJob{{ID: id, Kind: testKind, Queue: q, State: backend.StateFailed}}, got)
		j := h.requireState(id, backend.StateFailed)
		require.Equal(t, 1, j.Attempt)
		requireTime(t, now, j.FinishedAt, "FinishedAt")
		requireLeaseCleared(t, j)
		require.Len(t, j.Errors, 1)
		requireLeaseExpiredError(t, j.Errors[0], 1, now)
		h.requireNoClaim(q, at(time.Hour))
	})

	t.Run("CancelRequested", func(t *testing.T) {
		// A cancel asked of a running job whose worker then dies is honoured:
		// the job ends cancelled rather than running again.
		h := setup(t, f)
		q := "rescue-cancel-requested"
		id, other := h.addOne(q), h.addOne(q)
		claimed := h.claim(q, 2, base)
		require.Len(t, claimed, 2)
		_, err := h.cancel(id, at(time.Second))
		require.NoError(t, err)
		require.True(t, h.get(id).CancelRequested)

		now := at(time.Minute)
		got := h.rescue(now, 0)
		require.ElementsMatch(t, []backend.RescuedJob{
			{ID: id, Kind: testKind, Queue: q, State: backend.StateCancelled},
			{ID: other, Kind: testKind, Queue: q, State: backend.StateQueued},
		}, got)
		j := h.requireState(id, backend.StateCancelled)
		require.False(t, j.CancelRequested, "the request is honoured, so no longer pending")
		require.Equal(t, 1, j.Attempt)
		requireTime(t, now, j.FinishedAt, "FinishedAt")
		requireLeaseCleared(t, j)
		require.Len(t, j.Errors, 1)
		requireLeaseExpiredError(t, j.Errors[0], 1, now)
		require.False(t, h.get(other).CancelRequested)

		// Only the job without a pending cancel runs again; the dead
		// worker's late outcome changes nothing.
		again := h.claim(q, 2, at(61*time.Second))
		require.Len(t, again, 1)
		require.Equal(t, other, again[0].ID)
		require.Equal(t, []string{id}, h.finish(at(62*time.Second), complete(claimed[0], "")))
		h.requireState(id, backend.StateCancelled)
	})

	t.Run("Fenced", func(t *testing.T) {
		h := setup(t, f)
		q := "rescue-fenced"
		id := h.addOne(q)
		old := h.claimAs("worker-old", q, 1, base)[0]
		h.rescue(at(time.Minute), 0)
		fresh := h.claimAs("worker-new", q, 1, at(61*time.Second))[0]
		require.Equal(t, id, fresh.ID)
		require.NotEqual(t, old.LeaseToken, fresh.LeaseToken)
		require.Equal(t, "worker-new", fresh.LeaseOwner)

		// The old worker wakes up: its heartbeat and its outcome are fenced off.
		ext, err := h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{
			Leases: []backend.Lease{{ID: id, LeaseToken: old.LeaseToken}}, Duration: time.Hour, Now: at(62 * time.Second),
		})
		require.NoError(t, err)
		require.Equal(t, []string{id}, ext.Lost)
		require.Equal(t, []string{id}, h.finish(at(63*time.Second), complete(old, `"stale"`)))
		j := h.requireState(id, backend.StateRunning)
		require.Equal(t, fresh.LeaseToken, j.LeaseToken)
		requireTime(t, fresh.LeaseExpiresAt, j.LeaseExpiresAt, "LeaseExpiresAt")

		h.finishOK(at(64*time.Second), complete(fresh, `"fresh"`))
		j = h.requireState(id, backend.StateCompleted)
		require.JSONEq(t, `"fresh"`, string(j.Result))
		require.Equal(t, 2, j.Attempt)
	})

	t.Run("Limit", func(t *testing.T) {
		h := setup(t, f)
		q := "rescue-limit"
		for range 3 {
			h.addOne(q)
		}
		require.Len(t, h.claim(q, 3, base), 3)
		require.Len(t, h.rescue(at(time.Hour), 2), 2)
		require.Len(t, h.rescue(at(time.Hour), 2), 1)
		info := h.queueInfo(q, at(time.Hour))
		require.Equal(t, int64(3), info.Counts[backend.StateQueued])
		require.Zero(t, info.Counts[backend.StateRunning])
	})

	t.Run("OnlyExpired", func(t *testing.T) {
		h := setup(t, f)
		q := "rescue-only-expired"
		short, long := h.addOne(q), h.addOne(q)
		res, err := h.b.JobClaim(h.ctx, &backend.JobClaimParams{Queue: q, Limit: 1, Owner: "a", LeaseDuration: 10 * time.Second, Now: base})
		require.NoError(t, err)
		require.Equal(t, short, res.Jobs[0].ID)
		res, err = h.b.JobClaim(h.ctx, &backend.JobClaimParams{Queue: q, Limit: 1, Owner: "b", LeaseDuration: time.Hour, Now: base})
		require.NoError(t, err)
		require.Equal(t, long, res.Jobs[0].ID)
		got := h.rescue(at(time.Minute), 0)
		require.Len(t, got, 1)
		require.Equal(t, short, got[0].ID)
		h.requireState(long, backend.StateRunning)
	})
}
