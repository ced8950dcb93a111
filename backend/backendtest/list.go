package backendtest

import (
	"slices"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// list runs JobList and returns the page.
func (h *harness) list(p backend.JobListParams) *backend.JobListResult {
	h.t.Helper()
	res, err := h.b.JobList(h.ctx, &p)
	require.NoError(h.t, err)
	return res
}

func ids(jobs []*backend.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// newestFirst returns a copy of ids sorted descending.
func newestFirst(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

func testList(t *testing.T, f Factory) {
	t.Run("NewestFirst", func(t *testing.T) {
		h := setup(t, f)
		var all []string
		for range 5 {
			all = append(all, h.addOne("list-order"))
		}
		res := h.list(backend.JobListParams{})
		require.Equal(t, newestFirst(all...), ids(res.Jobs))
		require.Empty(t, res.NextCursor, "one page holds everything")
		// Listed jobs are whole records.
		got := res.Jobs[0]
		want := h.get(got.ID)
		require.Equal(t, want.Queue, got.Queue)
		require.Equal(t, want.Kind, got.Kind)
		require.Equal(t, want.State, got.State)
		require.JSONEq(t, string(want.Args), string(got.Args))
		requireTime(t, want.EnqueuedAt, got.EnqueuedAt, "EnqueuedAt")
	})

	t.Run("Filters", func(t *testing.T) {
		h := setup(t, f)
		qa, qb := "list-filter-a", "list-filter-b"
		queuedA := h.add(base, job(qa, withKind("k.one"), withTags("red", "blue")))[0]
		runningA := h.add(at(time.Minute), job(qa, withKind("k.two"), withTags("blue")))[0]
		scheduledB := h.add(at(2*time.Minute), job(qb, withKind("k.one"), withRunAt(at(time.Hour))))[0]
		failedB := h.add(at(3*time.Minute), job(qb, withKind("k.two"), withTags("red")))[0]
		h.claimOne(qa, queuedA, at(4*time.Minute))
		h.claimOne(qa, runningA, at(4*time.Minute)) // claims both, then hand the first back
		h.finishOK(at(5*time.Minute), outcome(h.get(queuedA), backend.OutcomeSnoozed, at(5*time.Minute), ""))
		h.finishOK(at(5*time.Minute), outcome(h.claimOne(qb, failedB, at(5*time.Minute)), backend.OutcomeFailed, base, "x"))
		h.requireState(queuedA, backend.StateQueued)
		h.requireState(runningA, backend.StateRunning)

		cases := []struct {
			name string
			p    backend.JobListParams
			want []string
		}{
			{"none", backend.JobListParams{}, []string{queuedA, runningA, scheduledB, failedB}},
			{"state", backend.JobListParams{States: []backend.JobState{backend.StateRunning}}, []string{runningA}},
			{"states", backend.JobListParams{States: []backend.JobState{backend.StateQueued, backend.StateFailed}}, []string{queuedA, failedB}},
			{"queue", backend.JobListParams{Queue: qb}, []string{scheduledB, failedB}},
			{"kind", backend.JobListParams{Kind: "k.one"}, []string{queuedA, scheduledB}},
			{"tag", backend.JobListParams{Tag: "red"}, []string{queuedA, failedB}},
			{"tag-blue", backend.JobListParams{Tag: "blue"}, []string{queuedA, runningA}},
			{"enqueued-after-inclusive", backend.JobListParams{EnqueuedAfter: at(2 * time.Minute)}, []string{scheduledB, failedB}},
			{"enqueued-before-exclusive", backend.JobListParams{EnqueuedBefore: at(time.Minute)}, []string{queuedA}},
			{"range", backend.JobListParams{EnqueuedAfter: at(time.Minute), EnqueuedBefore: at(3 * time.Minute)}, []string{runningA, scheduledB}},
			{"combined", backend.JobListParams{Queue: qa, Kind: "k.two", Tag: "blue", States: []backend.JobState{backend.StateRunning}}, []string{runningA}},
			{"no-match", backend.JobListParams{Queue: qa, Kind: "k.missing"}, []string{}},
		}
		for _, tc := range cases {
			res := h.list(tc.p)
			require.Equal(t, newestFirst(tc.want...), ids(res.Jobs), "filter %s", tc.name)
			require.Empty(t, res.NextCursor, "filter %s: single page", tc.name)
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		h := setup(t, f)
		q := "list-pages"
		var all []string
		for range 25 {
			all = append(all, h.addOne(q))
		}
		want := newestFirst(all...)

		p1 := h.list(backend.JobListParams{Queue: q, Limit: 10})
		require.Equal(t, want[:10], ids(p1.Jobs))
		require.NotEmpty(t, p1.NextCursor)

		// Jobs inserted between pages are newer than the cursor: the next
		// pages neither repeat nor skip anything.
		for range 5 {
			h.addOne(q)
		}
		p2 := h.list(backend.JobListParams{Queue: q, Limit: 10, Cursor: p1.NextCursor})
		require.Equal(t, want[10:20], ids(p2.Jobs))
		require.NotEmpty(t, p2.NextCursor)
		p3 := h.list(backend.JobListParams{Queue: q, Limit: 10, Cursor: p2.NextCursor})
		require.Equal(t, want[20:], ids(p3.Jobs))
		require.Empty(t, p3.NextCursor, "last page")

		// Filters apply across pages.
		p := h.list(backend.JobListParams{Queue: q, States: []backend.JobState{backend.StateQueued}, Limit: 29})
		require.Len(t, p.Jobs, 29)
		require.NotEmpty(t, p.NextCursor)
		last := h.list(backend.JobListParams{Queue: q, States: []backend.JobState{backend.StateQueued}, Limit: 29, Cursor: p.NextCursor})
		require.Len(t, last.Jobs, 1)
		require.Equal(t, want[24], last.Jobs[0].ID, "the oldest job comes last")
	})

	t.Run("Limits", func(t *testing.T) {
		h := setup(t, f)
		q := "list-limits"
		ins := make([]*backend.JobInsert, 1001)
		for i := range ins {
			ins[i] = job(q)
		}
		h.add(base, ins...)
		def := h.list(backend.JobListParams{Queue: q})
		require.Len(t, def.Jobs, 100, "default page size")
		require.NotEmpty(t, def.NextCursor)
		max := h.list(backend.JobListParams{Queue: q, Limit: 5000})
		require.Len(t, max.Jobs, 1000, "page size is capped at 1000")
		require.NotEmpty(t, max.NextCursor)
		rest := h.list(backend.JobListParams{Queue: q, Limit: 5000, Cursor: max.NextCursor})
		require.Len(t, rest.Jobs, 1)
		require.Equal(t, ins[0].ID, rest.Jobs[0].ID)
		require.Empty(t, rest.NextCursor)
	})
}
