package nats

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func TestPromoteHint(t *testing.T) {
	t.Parallel()
	var h promoteHint
	require.False(t, h.skip(5, 0), "nothing remembered")
	h.set(5, 100)
	require.True(t, h.skip(5, 99))
	require.False(t, h.skip(5, 100), "a key became due")
	require.False(t, h.skip(6, 99), "the index changed")
	h.clear()
	require.False(t, h.skip(5, 99))
	require.Equal(t, int64(math.MaxInt64), earliestAfter(nil, 0))
	require.Equal(t, int64(20), earliestAfter([]indexKey{{key: schedKey(time.UnixMilli(10), "a")}, {key: schedKey(time.UnixMilli(30), "b")}, {key: schedKey(time.UnixMilli(20), "c")}}, 10))
}

func (h *bundle) promote(now time.Time) int {
	res, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: now})
	require.NoError(h.t, err)
	return res.Promoted
}

// A listing that found nothing due is remembered until the earliest key's
// due time or until the index changes: a job scheduled later is still
// promoted on time, and one scheduled meanwhile is seen at once.
func TestPromoteSkipsOnlyWhileNothingCanBeDue(t *testing.T) {
	h := setup(t)
	q := "promote-hint"
	h.enqueue(h.now, newInsert(q, func(in *backend.JobInsert) { in.RunAt = h.now.Add(time.Minute) }))
	require.Zero(t, h.promote(h.now))
	require.True(t, h.b.promoted.skip(h.b.promoted.lastSeq, h.now.UnixMilli()), "remembered")
	require.Zero(t, h.promote(h.now.Add(30*time.Second)))

	soon := newInsert(q, func(in *backend.JobInsert) { in.RunAt = h.now.Add(10 * time.Second) })
	h.enqueue(h.now, soon)
	require.Equal(t, 1, h.promote(h.now.Add(30*time.Second)), "the new key changed the index")
	require.Equal(t, 1, h.promote(h.now.Add(time.Minute)), "the first key's due time came")
}

// A due key whose record is not (yet) scheduled is kept, and so the next
// call lists again: the record write may have been in flight, and once it
// lands the job is promoted although the index did not change.
func TestPromoteListsAgainAfterKeepingDueKey(t *testing.T) {
	h := setup(t)
	in := newInsert("promote-early", func(in *backend.JobInsert) { in.RunAt = h.now })
	_, err := h.b.sched.Create(h.ctx, schedKey(h.now, in.ID), nil)
	require.NoError(t, err)
	require.Zero(t, h.promote(h.now), "no record yet")
	require.False(t, h.b.promoted.valid, "a kept due key is not remembered")

	j := newJob(in, h.now.Add(-time.Second))
	j.State = backend.StateScheduled
	data, err := json.Marshal(storedJob{Job: *j})
	require.NoError(t, err)
	_, err = h.b.jobs.Create(h.ctx, in.ID, data)
	require.NoError(t, err)
	require.Equal(t, 1, h.promote(h.now))
	got, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateQueued, got.State)
}
