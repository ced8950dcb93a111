package backendtest

import (
	"encoding/json"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func testLease(t *testing.T, f Factory) {
	t.Run("Extend", func(t *testing.T) {
		h := setup(t, f)
		q := "lease-extend"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		now := at(20 * time.Second)
		res, err := h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{
			Leases:   []backend.Lease{{ID: id, LeaseToken: c.LeaseToken, Progress: json.RawMessage(`{"pct":40}`)}},
			Duration: time.Minute,
			Now:      now,
		})
		require.NoError(t, err)
		require.Empty(t, res.Lost)
		require.Empty(t, res.CancelRequested)
		j := h.requireState(id, backend.StateRunning)
		requireTime(t, now.Add(time.Minute), j.LeaseExpiresAt, "LeaseExpiresAt")
		require.JSONEq(t, `{"pct":40}`, string(j.Progress))
		require.Equal(t, c.LeaseToken, j.LeaseToken, "extension keeps the token")
		require.Equal(t, 1, j.Attempt)

		// No progress given: the stored progress stays.
		res, err = h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{
			Leases: []backend.Lease{{ID: id, LeaseToken: c.LeaseToken}}, Duration: time.Minute, Now: at(50 * time.Second),
		})
		require.NoError(t, err)
		require.Empty(t, res.Lost)
		j = h.get(id)
		requireTime(t, at(110*time.Second), j.LeaseExpiresAt, "LeaseExpiresAt")
		require.JSONEq(t, `{"pct":40}`, string(j.Progress))

		// The extended lease is not rescued at the old expiry.
		rescued, err := h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: at(100 * time.Second)})
		require.NoError(t, err)
		require.Empty(t, rescued.Jobs)
		h.requireState(id, backend.StateRunning)
	})

	t.Run("ExtendMany", func(t *testing.T) {
		h := setup(t, f)
		q := "lease-extend-many"
		for range 50 {
			h.addOne(q)
		}
		claimed := h.claim(q, 50, base)
		require.Len(t, claimed, 50)
		leases := make([]backend.Lease, 0, 52)
		for _, c := range claimed {
			leases = append(leases, backend.Lease{ID: c.ID, LeaseToken: c.LeaseToken})
		}
		missing := newID()
		leases = append(leases, backend.Lease{ID: missing, LeaseToken: "nope"})
		wrong := backend.Lease{ID: claimed[7].ID, LeaseToken: "wrong-token"}
		leases = append(leases, wrong)
		res, err := h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{Leases: leases, Duration: time.Hour, Now: at(time.Second)})
		require.NoError(t, err)
		require.ElementsMatch(t, []string{missing, claimed[7].ID}, res.Lost)
		for _, c := range claimed {
			requireTime(t, at(time.Hour+time.Second), h.get(c.ID).LeaseExpiresAt, "LeaseExpiresAt")
		}
	})

	t.Run("ExtendLost", func(t *testing.T) {
		h := setup(t, f)
		q := "lease-extend-lost"
		id := h.addOne(q)
		c := h.claimOne(q, id, base)
		h.finishOK(at(time.Second), complete(c, ""))
		res, err := h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{
			Leases:   []backend.Lease{{ID: id, LeaseToken: c.LeaseToken, Progress: json.RawMessage(`{"late":true}`)}},
			Duration: time.Minute, Now: at(2 * time.Second),
		})
		require.NoError(t, err)
		require.Equal(t, []string{id}, res.Lost, "a finished job's lease is lost")
		j := h.requireState(id, backend.StateCompleted)
		require.Empty(t, j.Progress, "a lost lease stores no progress")
		requireLeaseCleared(t, j)
	})
}
