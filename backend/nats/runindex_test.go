package nats

import (
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// runningIDs lists the job IDs of every running-index key.
func (h *bundle) runningIDs() [][]string {
	keys, err := h.b.listRunning(h.ctx)
	require.NoError(h.t, err)
	out := make([][]string, len(keys))
	for i, k := range keys {
		out[i] = k.ids
	}
	return out
}

func (h *bundle) finishCompleted(j *backend.Job, token string) []string {
	res, err := h.b.JobFinish(h.ctx, &backend.JobFinishParams{Now: h.now, Jobs: []*backend.JobOutcome{
		{ID: j.ID, LeaseToken: token, Outcome: backend.OutcomeCompleted},
	}})
	require.NoError(h.t, err)
	return res.LeaseLost
}

// A running-index key goes as soon as every lease it lists ended in this
// process, with no JobRescue sweep; so do the keys lease extensions wrote.
func TestRunningKeyDroppedWhenLeasesEnd(t *testing.T) {
	h := setup(t)
	q := "runidx-drop"
	h.enqueueDue(q)
	h.enqueueDue(q)
	jobs := h.claim(h.b, q, 2, h.now)
	require.Len(t, jobs, 2)
	require.Len(t, h.runningIDs(), 1)

	_, err := h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{Now: h.now, Duration: time.Minute, Leases: []backend.Lease{
		{ID: jobs[0].ID, LeaseToken: jobs[0].LeaseToken},
	}})
	require.NoError(t, err)
	require.Len(t, h.runningIDs(), 2, "the extension wrote a key of its own")

	require.Empty(t, h.finishCompleted(jobs[0], jobs[0].LeaseToken))
	left := h.runningIDs()
	require.Len(t, left, 1, "the extension's key went")
	require.ElementsMatch(t, []string{jobs[0].ID, jobs[1].ID}, left[0], "the claim's key stays while its other job runs")
	require.Empty(t, h.finishCompleted(jobs[1], jobs[1].LeaseToken))
	require.Empty(t, h.runningIDs())
	require.Zero(t, h.b.runIdx.size())
}

// A lost lease ends too; a job this process claimed again under a new
// lease keeps the key of the new claim when the old lease's late finish
// is rejected.
func TestRunningKeyOfNewLeaseKept(t *testing.T) {
	h := setup(t)
	q := "runidx-reclaim"
	h.enqueueDue(q)
	old := h.claim(h.b, q, 1, h.now)
	require.Len(t, old, 1)
	later := h.now.Add(time.Hour)
	res, err := h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: later})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	again := h.claim(h.b, q, 1, later)
	require.Len(t, again, 1)
	require.Equal(t, old[0].ID, again[0].ID)
	require.Len(t, h.runningIDs(), 2)

	require.Equal(t, []string{old[0].ID}, h.finishCompleted(old[0], old[0].LeaseToken), "the old lease is fenced")
	require.Equal(t, [][]string{{again[0].ID}}, h.runningIDs(), "only the new claim's key is left")
	require.Empty(t, h.finishCompleted(again[0], again[0].LeaseToken))
	require.Empty(t, h.runningIDs())
}

func TestRunIndexCounts(t *testing.T) {
	t.Parallel()
	var r runIndex
	require.True(t, r.add("k0", nil), "a key listing no lease can go at once")
	require.False(t, r.add("k1", []string{"a", "b"}))
	require.False(t, r.add("k2", []string{"b"}))
	require.Empty(t, r.end([]string{"a", "unknown"}))
	require.ElementsMatch(t, []string{"k1", "k2"}, r.end([]string{"b"}))
	require.Empty(t, r.end([]string{"b"}), "ending a lease twice changes nothing")
	require.Zero(t, r.size())
}
