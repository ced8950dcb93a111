package nats

import (
	"context"
	"errors"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// Regression tests for enqueues that stop half way (records written, ready
// messages not): every job an enqueue leaves stored must be claimable, and
// a retry of the same insert must succeed and heal it.

// claimAll claims from q until a claim comes back empty and returns the
// IDs claimed.
func (h *bundle) claimAll(q string) map[string]bool {
	got := map[string]bool{}
	for {
		jobs := h.claim(h.b, q, 100, h.now)
		if len(jobs) == 0 {
			return got
		}
		for _, j := range jobs {
			got[j.ID] = true
		}
	}
}

// An enqueue whose ctx ends while its record write is in flight must not
// leave a queued record that no ready message announces: whatever it
// stored is claimed. The timeouts sweep from "ends before anything is
// sent" to "ends after everything is acknowledged".
func TestEnqueueCtxEndMidWriteLeavesNoOrphan(t *testing.T) {
	h := setup(t)
	q := "enqueue-ctx-end"
	h.enqueue(h.now, newInsert(q)) // creates the queue, so the timeouts hit the job writes
	require.Len(t, h.claimAll(q), 1)
	stored := map[string]bool{}
	failed := 0
	for i := range 300 {
		in := newInsert(q)
		ctx, cancel := context.WithTimeout(h.ctx, 50*time.Microsecond+time.Duration(i)*5*time.Microsecond)
		if _, err := h.b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: h.now}); err != nil {
			failed++
		}
		cancel()
		j, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
		if errors.Is(err, backend.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		require.Equal(t, backend.StateQueued, j.State)
		stored[in.ID] = true
	}
	t.Logf("%d enqueues failed, %d jobs stored", failed, len(stored))
	require.NotEmpty(t, stored, "the longest timeouts let enqueues finish")
	require.Equal(t, stored, h.claimAll(q), "every stored job is claimable")
}

// A unique-key job whose ready message was lost is healed by a retry of
// the same insert, as plain jobs are: the retry republishes the message.
func TestUniqueRetryRepublishesLostReady(t *testing.T) {
	h := setup(t)
	q := "unique-heal"
	in := newInsert(q, func(j *backend.JobInsert) { j.UniqueKey = "heal:1" })
	require.False(t, h.enqueue(h.now, in)[0].Duplicate)
	require.NoError(t, h.b.ready.Purge(h.ctx), "drop the ready message")
	again := h.enqueue(h.now, in)[0]
	require.True(t, again.Duplicate)
	require.Equal(t, backend.StateQueued, again.State)
	require.Equal(t, map[string]bool{in.ID: true}, h.claimAll(q))
}

// An enqueue retried with the ID of a deleted record (an undone enqueue
// leaves the same delete marker as JobDelete) creates the job again
// instead of failing for ever; so does a unique-key one.
func TestEnqueueAfterDeleteSameID(t *testing.T) {
	h := setup(t)
	q := "reuse-id"
	plain := newInsert(q)
	unique := newInsert(q, func(j *backend.JobInsert) { j.UniqueKey = "reuse:1" })
	for _, in := range []*backend.JobInsert{plain, unique} {
		h.enqueue(h.now, in)
		require.NoError(t, h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: in.ID}))
		out := h.enqueue(h.now, in)[0]
		require.False(t, out.Duplicate, "the deleted job is not a duplicate")
		require.Equal(t, backend.StateQueued, out.State)
		require.True(t, h.enqueue(h.now, in)[0].Duplicate, "a second retry finds the recreated job")
	}
	require.Equal(t, map[string]bool{plain.ID: true, unique.ID: true}, h.claimAll(q))
}

// A recreated record whose ready message cannot be published is deleted
// again, so the failed retry leaves no job that nothing announces.
func TestEnqueueAfterDeleteUndoneWhenReadyFails(t *testing.T) {
	h := setup(t)
	in := newInsert("reuse-undo")
	h.enqueue(h.now, in)
	require.NoError(t, h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: in.ID}))
	require.NoError(t, h.b.js.DeleteStream(h.ctx, h.b.names.readyStream()), "ready publishes fail from here on")
	_, err := h.b.JobEnqueue(h.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: h.now})
	require.Error(t, err)
	_, err = h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.ErrorIs(t, err, backend.ErrNotFound, "the recreated record was deleted again")
}
