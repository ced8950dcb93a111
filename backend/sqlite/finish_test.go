package sqlite_test

import (
	"encoding/json"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/sqlite"

	"github.com/stretchr/testify/require"
)

// claimN enqueues n jobs to queue and claims them all.
func claimN(t *testing.T, b *sqlite.Backend, queue string, n int) []*backend.Job {
	t.Helper()
	jobs := make([]*backend.JobInsert, n)
	for i := range jobs {
		jobs[i] = insert(queue)
	}
	enqueue(t, b, jobs...)
	res, err := b.JobClaim(t.Context(), &backend.JobClaimParams{
		Queue: queue, Limit: n, Owner: "w1", LeaseDuration: time.Minute, Now: base,
	})
	require.NoError(t, err)
	require.Len(t, res.Jobs, n)
	return res.Jobs
}

func completed(j *backend.Job) *backend.JobOutcome {
	return &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
}

func finish(t *testing.T, b *sqlite.Backend, outs ...*backend.JobOutcome) []string {
	t.Helper()
	res, err := b.JobFinish(t.Context(), &backend.JobFinishParams{Jobs: outs, Now: base.Add(time.Second)})
	require.NoError(t, err)
	return res.LeaseLost
}

func requireState(t *testing.T, b *sqlite.Backend, id string, want backend.JobState) *backend.Job {
	t.Helper()
	j, err := b.JobGet(t.Context(), &backend.JobGetParams{ID: id})
	require.NoError(t, err)
	require.Equal(t, want, j.State, "job %s", id)
	return j
}

// Batches of completions big enough for the one-statement path: a lost lease
// among them is reported exactly, the rest still finish, results are stored.
func TestFinishBulkLeaseLost(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	jobs := claimN(t, b, "bulk", 20)
	outs := make([]*backend.JobOutcome, 0, len(jobs))
	for _, j := range jobs[:18] {
		outs = append(outs, completed(j))
	}
	outs[0].Result = json.RawMessage(`{"ok":true}`)
	bad := completed(jobs[18])
	bad.LeaseToken += "0" // the right rowid, the wrong token
	outs = append(outs, bad, &backend.JobOutcome{ID: jobs[19].ID, LeaseToken: jobs[19].LeaseToken,
		Outcome: backend.OutcomeFailed, Error: &backend.AttemptError{Attempt: 1, At: base, Message: "boom"}})
	require.Equal(t, []string{jobs[18].ID}, finish(t, b, outs...))
	for _, j := range jobs[:18] {
		requireState(t, b, j.ID, backend.StateCompleted)
	}
	require.JSONEq(t, `{"ok":true}`, string(requireState(t, b, jobs[0].ID, backend.StateCompleted).Result))
	requireState(t, b, jobs[18].ID, backend.StateRunning)
	requireState(t, b, jobs[19].ID, backend.StateFailed)

	// Finishing the same completions again: every lease is lost.
	require.ElementsMatch(t, ids(jobs[:18]), finish(t, b, outs[:18]...))
}

// A job listed twice in one batch is applied once, in batch order, as when
// each outcome runs on its own.
func TestFinishBulkSameJobTwice(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	jobs := claimN(t, b, "twice", 10)
	outs := make([]*backend.JobOutcome, 0, 12)
	for _, j := range jobs {
		outs = append(outs, completed(j))
	}
	outs = append(outs, completed(jobs[3]))
	require.Equal(t, []string{jobs[3].ID}, finish(t, b, outs...))

	jobs = claimN(t, b, "twice2", 10)
	outs = outs[:0]
	outs = append(outs, &backend.JobOutcome{ID: jobs[0].ID, LeaseToken: jobs[0].LeaseToken,
		Outcome: backend.OutcomeFailed, Error: &backend.AttemptError{Attempt: 1, At: base, Message: "first"}})
	for _, j := range jobs {
		outs = append(outs, completed(j))
	}
	require.Equal(t, []string{jobs[0].ID}, finish(t, b, outs...))
	requireState(t, b, jobs[0].ID, backend.StateFailed)
	requireState(t, b, jobs[1].ID, backend.StateCompleted)
}

// More completions than one statement takes run in chunks.
func TestFinishBulkChunks(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	jobs := claimN(t, b, "chunks", 1100)
	outs := make([]*backend.JobOutcome, len(jobs))
	for i, j := range jobs {
		outs[i] = completed(j)
	}
	require.Empty(t, finish(t, b, outs...))
	for _, j := range []*backend.Job{jobs[0], jobs[1023], jobs[1024], jobs[1099]} {
		requireState(t, b, j.ID, backend.StateCompleted)
	}
}

func ids(jobs []*backend.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// The claim returns the rarely set columns packed in one (see claim.sql):
// they come back exactly as JobGet reads them, multi-byte text included.
func TestClaimPackedColumns(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	plain, rich := insert("packed"), insert("packed")
	rich.UniqueKey = "ключ;1,2"
	rich.Tags = []string{"é", "a,b;c"}
	rich.Meta = json.RawMessage(`{"who":"Zoë","n":[1,2]}`)
	rich.Priority = 5
	enqueue(t, b, plain, rich)
	res, err := b.JobClaim(t.Context(), &backend.JobClaimParams{
		Queue: "packed", Limit: 2, Owner: "w1", LeaseDuration: time.Minute, Now: base,
	})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 2)
	for _, j := range res.Jobs {
		got, err := b.JobGet(t.Context(), &backend.JobGetParams{ID: j.ID})
		require.NoError(t, err)
		require.Equal(t, got, j)
	}
	require.Equal(t, rich.ID, res.Jobs[0].ID)
	require.Equal(t, "ключ;1,2", res.Jobs[0].UniqueKey)
	require.Equal(t, []string{"é", "a,b;c"}, res.Jobs[0].Tags)
	require.JSONEq(t, `{"who":"Zoë","n":[1,2]}`, string(res.Jobs[0].Meta))
	require.Empty(t, res.Jobs[1].Tags)
}
