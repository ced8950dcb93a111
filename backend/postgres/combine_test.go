package postgres

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// Concurrent single-job enqueues share statements; each caller gets its own
// results, unique keys resolve to one job across callers, and a call the
// server rejects fails alone.
func TestCombinedEnqueues(t *testing.T) {
	t.Parallel()
	x := setup(t)
	const callers = 64
	type out struct {
		res *backend.JobEnqueueResult
		err error
		in  []*backend.JobInsert
	}
	outs := make([]out, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			a, b := insert(t, x.now), insert(t, x.now)
			b.UniqueKey = "shared"
			if i == 13 {
				a.Args = json.RawMessage(`{not json`)
			}
			res, err := x.b.JobEnqueue(x.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{a, b}, Now: x.now})
			outs[i] = out{res, err, []*backend.JobInsert{a, b}}
		})
	}
	wg.Wait()
	var holder string
	stored := 0
	for i, o := range outs {
		if i == 13 {
			require.Error(t, o.err, "invalid args are rejected")
			continue
		}
		require.NoError(t, o.err)
		require.Len(t, o.res.Jobs, 2)
		require.Equal(t, backend.EnqueueOutcome{ID: o.in[0].ID, State: backend.StateQueued}, o.res.Jobs[0], "own job, own result")
		if !o.res.Jobs[1].Duplicate {
			stored++
			holder = o.in[1].ID
		}
	}
	require.Equal(t, 1, stored, "one job holds the shared key")
	for i, o := range outs {
		if i != 13 {
			require.Equal(t, holder, o.res.Jobs[1].ID)
		}
	}
	l, err := x.b.JobList(x.ctx, &backend.JobListParams{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, l.Jobs, callers-1+1)
}

// Batches without unique keys go through COPY: same stored fields, and a
// retried batch (same IDs) stores nothing new and reports duplicates.
func TestCopyEnqueue(t *testing.T) {
	t.Parallel()
	x := setup(t)
	var ins []*backend.JobInsert
	for i := range copyMinJobs + 10 {
		in := insert(t, x.now)
		if i%2 == 0 {
			in.Tags, in.Meta = []string{"t1", "t2"}, json.RawMessage(`{"m":1}`)
			in.UniqueStates = []backend.JobState{backend.StateQueued}
			in.RunAt = x.now.Add(time.Hour)
		}
		ins = append(ins, in)
	}
	p := &enqueueBatch{Jobs: ins}
	for range ins {
		p.Nows = append(p.Nows, x.now)
	}
	require.True(t, copyable(p))
	res := x.enqueue(t, ins...)
	for i, in := range ins {
		require.False(t, res.Jobs[i].Duplicate)
		j := x.get(t, in.ID)
		require.Equal(t, res.Jobs[i].State, j.State)
		require.Equal(t, in.Tags, j.Tags)
		require.Equal(t, string(in.Meta), string(j.Meta))
		require.Equal(t, in.UniqueStates, j.UniqueStates)
		require.Equal(t, string(in.Args), string(j.Args))
		require.True(t, x.now.Equal(j.EnqueuedAt))
		if i%2 == 0 {
			require.Equal(t, backend.StateScheduled, j.State)
		} else {
			require.Equal(t, backend.StateQueued, j.State)
		}
	}
	again := x.enqueue(t, ins...)
	for i, in := range ins {
		require.Equal(t, backend.EnqueueOutcome{ID: in.ID, Duplicate: true, State: res.Jobs[i].State}, again.Jobs[i])
	}
	l, err := x.b.JobList(x.ctx, &backend.JobListParams{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, l.Jobs, len(ins))
}
