package memory_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/backendtest"
	"conveyor/backend/memory"

	"github.com/google/uuid"

	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, err := memory.New(t.Context(), memory.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}

func setup(t *testing.T) *memory.Backend {
	t.Helper()
	b, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

var now = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func insert(queue string) *backend.JobInsert {
	return &backend.JobInsert{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: "k", Queue: queue,
		Args: json.RawMessage(`{"a":1}`), MaxAttempts: 3, Timeout: time.Minute, RunAt: now,
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		wantErr bool
	}{
		{"memory:", false},
		{"memory://", false},
		{"MEMORY:", false},
		{"memory:foo", true},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			b, err := backend.Open(t.Context(), tc.url)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = b.Close() })
			require.Equal(t, "memory", b.Capabilities().Name)
		})
	}
	// Each Open is a new, empty store.
	a, err := backend.Open(t.Context(), "memory:")
	require.NoError(t, err)
	b, err := backend.Open(t.Context(), "memory:")
	require.NoError(t, err)
	in := insert("q")
	_, err = a.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: now})
	require.NoError(t, err)
	_, err = b.JobGet(t.Context(), &backend.JobGetParams{ID: in.ID})
	require.ErrorIs(t, err, backend.ErrNotFound)
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	c := setup(t).Capabilities()
	require.Equal(t, backend.Capabilities{
		Name: "memory", Wake: true, Broadcast: true, NeedsPruner: true,
		Durability: "None: jobs live in process memory and are lost when the process exits.",
	}, c)
}

func TestClosed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w, err := b.QueueWatch(t.Context(), &backend.QueueWatchParams{Queues: []string{"q"}})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	_, ok := <-w.C
	require.False(t, ok, "Close closes watch channels")
	require.ErrorIs(t, b.Ping(t.Context()), backend.ErrClosed)
	_, err = b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("q")}, Now: now})
	require.ErrorIs(t, err, backend.ErrClosed)
	_, err = b.JobClaim(t.Context(), &backend.JobClaimParams{Queue: "q", Limit: 1, Now: now})
	require.ErrorIs(t, err, backend.ErrClosed)
	require.NoError(t, b.Close())
}

func TestEnqueueSameIDIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := insert("q")
	for range 2 {
		res, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: now})
		require.NoError(t, err)
		require.Equal(t, in.ID, res.Jobs[0].ID)
	}
	res, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: now})
	require.NoError(t, err)
	require.True(t, res.Jobs[0].Duplicate, "a retried enqueue of the same ID reports a duplicate")
	q, err := b.QueueList(t.Context(), &backend.QueueListParams{Now: now})
	require.NoError(t, err)
	require.Equal(t, int64(1), q.Queues[0].Counts[backend.StateQueued])
}

func TestEnqueueValidates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bad := insert("")
	_, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("q"), bad}, Now: now})
	require.ErrorContains(t, err, "job 1 needs an ID, a kind and a queue", "the error names the bad insert")
	l, err := b.JobList(t.Context(), &backend.JobListParams{})
	require.NoError(t, err)
	require.Empty(t, l.Jobs, "a bad batch stores nothing")
}

func TestFinishRejectsUnknownOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("q"), insert("q")}, Now: now})
	require.NoError(t, err)
	c, err := b.JobClaim(t.Context(), &backend.JobClaimParams{Queue: "q", Limit: 2, Owner: "w", LeaseDuration: time.Minute, Now: now})
	require.NoError(t, err)
	_, err = b.JobFinish(t.Context(), &backend.JobFinishParams{Now: now, Jobs: []*backend.JobOutcome{
		{ID: c.Jobs[0].ID, LeaseToken: c.Jobs[0].LeaseToken, Outcome: backend.OutcomeCompleted},
		{ID: c.Jobs[1].ID, LeaseToken: c.Jobs[1].LeaseToken, Outcome: "exploded"},
	}})
	require.ErrorContains(t, err, `unknown outcome "exploded" for job `+c.Jobs[1].ID)
	j, err := b.JobGet(t.Context(), &backend.JobGetParams{ID: c.Jobs[0].ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateRunning, j.State, "a bad batch changes nothing")
}

func TestClaimedJobsAreCopies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := insert("q")
	in.Meta = json.RawMessage(`{"m":1}`)
	_, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in, insert("q")}, Now: now})
	require.NoError(t, err)
	c, err := b.JobClaim(t.Context(), &backend.JobClaimParams{Queue: "q", Limit: 2, Owner: "w", LeaseDuration: time.Minute, Now: now})
	require.NoError(t, err)
	// Appending to one job's JSON must not spill into the next one's.
	c.Jobs[0].Args = append(c.Jobs[0].Args, "garbage"...)
	c.Jobs[0].Meta[2] = 'X'
	c.Jobs[0].LeaseToken = "forged"
	require.JSONEq(t, `{"a":1}`, string(c.Jobs[1].Args))
	j, err := b.JobGet(t.Context(), &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(j.Args))
	require.JSONEq(t, `{"m":1}`, string(j.Meta))
	require.NotEqual(t, "forged", j.LeaseToken)
	require.Len(t, j.LeaseToken, 32)
}

func TestPromoteWakesAndCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w, err := b.QueueWatch(t.Context(), &backend.QueueWatchParams{})
	require.NoError(t, err)
	in := insert("later")
	in.RunAt = now.Add(time.Minute)
	_, err = b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: now})
	require.NoError(t, err)
	res, err := b.JobPromote(t.Context(), &backend.JobPromoteParams{Now: now.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, 1, res.Promoted)
	require.Equal(t, "later", <-w.C, "an empty Queues watches every queue")
	j, err := b.JobGet(t.Context(), &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateQueued, j.State)
}

func TestListPagesRandomIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var want []string
	ins := make([]*backend.JobInsert, 500)
	for i := range ins {
		ins[i] = insert("q")
		ins[i].ID = uuid.NewString() // random order, unlike UUIDv7
		want = append(want, ins[i].ID)
	}
	_, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: ins, Now: now})
	require.NoError(t, err)
	slices.Sort(want)
	slices.Reverse(want)
	var got []string
	cursor := ""
	for {
		page, err := b.JobList(t.Context(), &backend.JobListParams{Limit: 37, Cursor: cursor})
		require.NoError(t, err)
		for _, j := range page.Jobs {
			got = append(got, j.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, want, got)
}
