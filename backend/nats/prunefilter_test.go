package nats

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// The prune scan's pre-filter must match every record in the state, as
// this backend encodes records, or pruning would silently skip them.
func TestStateFilterMatchesEncoding(t *testing.T) {
	t.Parallel()
	for _, st := range []backend.JobState{backend.StateCompleted, backend.StateFailed, backend.StateCancelled, backend.StateQueued} {
		data, err := json.Marshal(storedJob{Job: backend.Job{ID: "j", State: st, Args: json.RawMessage(`{"a": 1}`)}, Gen: 3})
		require.NoError(t, err)
		require.True(t, bytes.Contains(data, stateFilter(st)), "%s: %s", st, data)
		require.False(t, bytes.Contains(data, stateFilter(backend.StateRunning)), "%s: %s", st, data)
	}
}

// A job whose args hold the filter's text passes the pre-filter but is
// still judged by its decoded state: it is not pruned.
func TestPruneDecodesFilterMatches(t *testing.T) {
	h := setup(t)
	q := "prune-filter"
	lookalike := newInsert(q, func(in *backend.JobInsert) {
		in.RunAt = h.now
		in.Args = json.RawMessage(`{"state":"completed"}`)
	})
	done := h.enqueueDue(q)
	h.enqueue(h.now, lookalike)
	jobs := h.claim(h.b, q, 2, h.now)
	require.Len(t, jobs, 2)
	for _, j := range jobs {
		if j.ID == done.ID {
			require.Empty(t, h.finishCompleted(j, j.LeaseToken))
		}
	}
	res, err := h.b.JobPrune(h.ctx, &backend.JobPruneParams{State: backend.StateCompleted, FinishedBefore: h.now.Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, res.Deleted)
	_, err = h.b.JobGet(h.ctx, &backend.JobGetParams{ID: done.ID})
	require.ErrorIs(t, err, backend.ErrNotFound)
	got, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: lookalike.ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateRunning, got.State)
}
