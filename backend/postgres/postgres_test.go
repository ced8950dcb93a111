package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

func TestSplitURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, wantURL, wantSchema string
	}{
		{"with schema", "postgres://u@h:5432/db?sslmode=disable&schema=app1", "postgres://u@h:5432/db?sslmode=disable", "app1"},
		{"without schema", "postgresql://u@h/db", "postgresql://u@h/db", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, s, err := SplitURL(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.wantURL, u)
			require.Equal(t, tc.wantSchema, s)
		})
	}
}

// A URL that does not parse cannot be redacted, so errors about it must
// not quote it: the password would reach logs and terminals.
func TestBadURLErrorHidesPassword(t *testing.T) {
	t.Parallel()
	_, _, err := SplitURL("postgres://alice:hunter2@127.0.0.1:notaport/db")
	require.ErrorContains(t, err, "invalid port")
	require.NotContains(t, err.Error(), "hunter2")

	_, err = New(t.Context(), Config{URL: "postgres://alice:hunter2@127.0.0.1:1/db?sslmode=bogus"})
	require.ErrorContains(t, err, "sslmode is invalid")
	require.NotContains(t, err.Error(), "hunter2")
	require.Equal(t, 1, strings.Count(err.Error(), "127.0.0.1:1"), "the URL is named once: %v", err)
}

func TestOpenByURLAndMigrateIdempotent(t *testing.T) {
	t.Parallel()
	x := setup(t)
	b, err := backend.Open(x.ctx, x.url)
	require.NoError(t, err)
	defer b.Close()
	require.Equal(t, x.b.Schema(), b.(*Backend).Schema())
	require.NoError(t, b.Migrate(x.ctx))
	require.NoError(t, b.Ping(x.ctx))
	// A job enqueued through one handle is visible through the other: same schema.
	res := x.enqueue(t, insert(t, x.now))
	_, err = b.JobGet(x.ctx, &backend.JobGetParams{ID: res.Jobs[0].ID})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	require.ErrorIs(t, b.Ping(x.ctx), backend.ErrClosed)
}

func TestEnqueueGetRoundTrip(t *testing.T) {
	t.Parallel()
	x := setup(t)
	in := &backend.JobInsert{
		ID: newID(t), Kind: "email.send", Queue: "mail", Args: json.RawMessage(`{"to":"a@b.c","n":[1,2]}`),
		Priority: 5, MaxAttempts: 7, Timeout: 90 * time.Second, RunAt: x.now.Add(time.Hour),
		UniqueKey: "k1", UniqueStates: []backend.JobState{backend.StateScheduled, backend.StateQueued},
		Tags: []string{"a", "b"}, Meta: json.RawMessage(`{"m":true}`),
	}
	res := x.enqueue(t, in)
	require.Equal(t, backend.EnqueueOutcome{ID: in.ID, State: backend.StateScheduled}, res.Jobs[0])
	j := x.get(t, in.ID)
	require.Equal(t, in.Kind, j.Kind)
	require.Equal(t, in.Queue, j.Queue)
	require.Equal(t, string(in.Args), string(j.Args))
	require.Equal(t, in.Priority, j.Priority)
	require.Equal(t, in.MaxAttempts, j.MaxAttempts)
	require.Equal(t, in.Timeout, j.Timeout)
	require.True(t, in.RunAt.Equal(j.RunAt))
	require.Equal(t, in.UniqueKey, j.UniqueKey)
	require.Equal(t, in.UniqueStates, j.UniqueStates)
	require.Equal(t, in.Tags, j.Tags)
	require.Equal(t, string(in.Meta), string(j.Meta))
	require.True(t, x.now.Equal(j.EnqueuedAt))
	require.Equal(t, backend.StateScheduled, j.State)
	_, err := x.b.JobGet(x.ctx, &backend.JobGetParams{ID: newID(t)})
	require.ErrorIs(t, err, backend.ErrNotFound)
}

func TestEnqueueUnique(t *testing.T) {
	t.Parallel()
	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		var wg sync.WaitGroup
		ids := make([]string, 10)
		for i := range ids {
			wg.Go(func() {
				in := insert(t, x.now)
				in.UniqueKey = "same"
				res, err := x.b.JobEnqueue(x.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: x.now})
				if err == nil {
					ids[i] = res.Jobs[0].ID
				}
			})
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}
		l, err := x.b.JobList(x.ctx, &backend.JobListParams{})
		require.NoError(t, err)
		require.Len(t, l.Jobs, 1)
	})
	t.Run("InBatchAndRetriedEnqueue", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		a, b, c := insert(t, x.now), insert(t, x.now), insert(t, x.now)
		a.UniqueKey, b.UniqueKey = "k", "k"
		res := x.enqueue(t, a, b, c)
		require.Equal(t, backend.EnqueueOutcome{ID: a.ID, State: backend.StateQueued}, res.Jobs[0])
		require.Equal(t, backend.EnqueueOutcome{ID: a.ID, Duplicate: true, State: backend.StateQueued}, res.Jobs[1])
		require.False(t, res.Jobs[2].Duplicate)
		// The producer retries the same enqueue (same IDs): nothing new is stored.
		res = x.enqueue(t, a, b, c)
		for i, want := range []string{a.ID, a.ID, c.ID} {
			require.True(t, res.Jobs[i].Duplicate)
			require.Equal(t, want, res.Jobs[i].ID)
		}
	})
	t.Run("ReleasedWhenHolderLeavesStates", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		a := insert(t, x.now)
		a.UniqueKey = "k"
		x.enqueue(t, a)
		jobs := x.claim(t, 1)
		require.Len(t, jobs, 1)
		fin, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: a.ID, LeaseToken: jobs[0].LeaseToken, Outcome: backend.OutcomeCompleted}}})
		require.NoError(t, err)
		require.Empty(t, fin.LeaseLost)
		b := insert(t, x.now)
		b.UniqueKey = "k"
		res := x.enqueue(t, b)
		require.Equal(t, backend.EnqueueOutcome{ID: b.ID, State: backend.StateQueued}, res.Jobs[0])
	})
	t.Run("HolderInStatesOtherThanNewJobs", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		a := insert(t, x.now)
		a.UniqueKey = "k"
		a.UniqueStates = []backend.JobState{backend.StateQueued, backend.StateScheduled}
		x.enqueue(t, a)
		// b would not hold the key itself (it is queued; its unique states say
		// running only) but a holds it, so b is a duplicate.
		b := insert(t, x.now)
		b.UniqueKey = "k"
		b.UniqueStates = []backend.JobState{backend.StateRunning}
		res := x.enqueue(t, b)
		require.Equal(t, backend.EnqueueOutcome{ID: a.ID, Duplicate: true, State: backend.StateQueued}, res.Jobs[0])
	})
}

func TestClaimOrderAndFence(t *testing.T) {
	t.Parallel()
	x := setup(t)
	low, high, later, sched := insert(t, x.now), insert(t, x.now), insert(t, x.now), insert(t, x.now.Add(time.Minute))
	high.Priority = 10
	later.RunAt = x.now.Add(-time.Second) // earlier run_at goes first among equal priority
	x.enqueue(t, low, high, later, sched)
	jobs := x.claim(t, 10)
	require.Len(t, jobs, 3)
	require.Equal(t, []string{high.ID, later.ID, low.ID}, []string{jobs[0].ID, jobs[1].ID, jobs[2].ID})
	for _, j := range jobs {
		require.Equal(t, backend.StateRunning, j.State)
		require.Equal(t, 1, j.Attempt)
		require.NotEmpty(t, j.LeaseToken)
		require.Equal(t, "w1", j.LeaseOwner)
		require.True(t, x.now.Add(30*time.Second).Equal(j.LeaseExpiresAt))
	}
	// Stale token: rejected, nothing changes.
	fin, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{
		{ID: jobs[0].ID, LeaseToken: "stale", Outcome: backend.OutcomeCompleted},
		{ID: jobs[1].ID, LeaseToken: jobs[1].LeaseToken, Outcome: backend.OutcomeCompleted, Result: json.RawMessage(`{"ok":1}`)},
	}})
	require.NoError(t, err)
	require.Equal(t, []string{jobs[0].ID}, fin.LeaseLost)
	require.Equal(t, backend.StateRunning, x.get(t, jobs[0].ID).State)
	done := x.get(t, jobs[1].ID)
	require.Equal(t, backend.StateCompleted, done.State)
	require.Equal(t, `{"ok":1}`, string(done.Result))
	require.Empty(t, done.LeaseToken)
	// The scheduled job becomes claimable at its run_at.
	x.now = x.now.Add(time.Minute)
	jobs = x.claim(t, 10)
	require.Len(t, jobs, 1)
	require.Equal(t, sched.ID, jobs[0].ID)
}

func TestClaimConcurrentNeverShares(t *testing.T) {
	t.Parallel()
	x := setup(t)
	var ins []*backend.JobInsert
	for range 1000 {
		ins = append(ins, insert(t, x.now))
	}
	x.enqueue(t, ins...)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				res, err := x.b.JobClaim(x.ctx, &backend.JobClaimParams{Queue: "default", Limit: 25, Owner: "w", LeaseDuration: time.Minute, Now: x.now})
				if err != nil || len(res.Jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range res.Jobs {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, 1000)
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	x := setup(t)
	jobsIn := []*backend.JobInsert{insert(t, x.now), insert(t, x.now), insert(t, x.now), insert(t, x.now)}
	x.enqueue(t, jobsIn...)
	jobs := x.claim(t, 4)
	require.Len(t, jobs, 4)
	retryAt := x.now.Add(time.Minute)
	e := &backend.AttemptError{Attempt: 1, At: x.now, Message: "boom", Stack: "stack"}
	fin, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{
		{ID: jobs[0].ID, LeaseToken: jobs[0].LeaseToken, Outcome: backend.OutcomeRetry, Error: e, RunAt: retryAt},
		{ID: jobs[1].ID, LeaseToken: jobs[1].LeaseToken, Outcome: backend.OutcomeFailed, Error: e},
		{ID: jobs[2].ID, LeaseToken: jobs[2].LeaseToken, Outcome: backend.OutcomeCancelled},
		{ID: jobs[3].ID, LeaseToken: jobs[3].LeaseToken, Outcome: backend.OutcomeSnoozed, RunAt: retryAt},
	}})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	r := x.get(t, jobs[0].ID)
	require.Equal(t, backend.StateRetrying, r.State)
	require.Equal(t, []backend.AttemptError{*e}, r.Errors)
	require.True(t, retryAt.Equal(r.RunAt))
	f := x.get(t, jobs[1].ID)
	require.Equal(t, backend.StateFailed, f.State)
	require.True(t, x.now.Equal(f.FinishedAt))
	require.Equal(t, backend.StateCancelled, x.get(t, jobs[2].ID).State)
	s := x.get(t, jobs[3].ID)
	require.Equal(t, backend.StateScheduled, s.State)
	require.Equal(t, 0, s.Attempt)
	require.Empty(t, x.claim(t, 10), "nothing due yet")
	x.now = retryAt
	again := x.claim(t, 10)
	require.Len(t, again, 2)
	for _, j := range again {
		if j.ID == jobs[0].ID {
			require.Equal(t, 2, j.Attempt)
		} else {
			require.Equal(t, jobs[3].ID, j.ID)
			require.Equal(t, 1, j.Attempt)
		}
	}
}

func TestLeaseExtendCancelAndRescue(t *testing.T) {
	t.Parallel()
	x := setup(t)
	a, b := insert(t, x.now), insert(t, x.now)
	b.MaxAttempts = 1
	x.enqueue(t, a, b)
	jobs := x.claim(t, 2)
	require.Len(t, jobs, 2)
	_, err := x.b.JobCancel(x.ctx, &backend.JobCancelParams{ID: a.ID, Now: x.now})
	require.NoError(t, err)
	tok := map[string]string{jobs[0].ID: jobs[0].LeaseToken, jobs[1].ID: jobs[1].LeaseToken}
	ext, err := x.b.LeaseExtend(x.ctx, &backend.LeaseExtendParams{Now: x.now, Duration: time.Minute, Leases: []backend.Lease{
		{ID: a.ID, LeaseToken: tok[a.ID], Progress: json.RawMessage(`{"p":50}`)},
		{ID: b.ID, LeaseToken: "stale"},
	}})
	require.NoError(t, err)
	require.Equal(t, []string{b.ID}, ext.Lost)
	require.Equal(t, []string{a.ID}, ext.CancelRequested)
	ja := x.get(t, a.ID)
	require.Equal(t, `{"p":50}`, string(ja.Progress))
	require.True(t, x.now.Add(time.Minute).Equal(ja.LeaseExpiresAt))
	// At now+45s b's lease (30 s) expired, a's (60 s) did not.
	x.now = x.now.Add(45 * time.Second)
	res, err := x.b.JobRescue(x.ctx, &backend.JobRescueParams{Now: x.now})
	require.NoError(t, err)
	require.Equal(t, []backend.RescuedJob{{ID: b.ID, Kind: b.Kind, Queue: b.Queue, State: backend.StateFailed}}, res.Jobs)
	jb := x.get(t, b.ID)
	require.Len(t, jb.Errors, 1)
	require.Equal(t, 1, jb.Errors[0].Attempt)
	// b's old token is fenced.
	fin, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: b.ID, LeaseToken: tok[b.ID], Outcome: backend.OutcomeCompleted}}})
	require.NoError(t, err)
	require.Equal(t, []string{b.ID}, fin.LeaseLost)
	require.Equal(t, backend.StateFailed, x.get(t, b.ID).State)
}

func TestCancelRetryDelete(t *testing.T) {
	t.Parallel()
	x := setup(t)
	a := insert(t, x.now)
	x.enqueue(t, a)
	j, err := x.b.JobCancel(x.ctx, &backend.JobCancelParams{ID: a.ID, Now: x.now})
	require.NoError(t, err)
	require.Equal(t, backend.StateCancelled, j.State)
	_, err = x.b.JobCancel(x.ctx, &backend.JobCancelParams{ID: a.ID, Now: x.now})
	require.ErrorIs(t, err, backend.ErrWrongState)
	j, err = x.b.JobRetry(x.ctx, &backend.JobRetryParams{ID: a.ID, Now: x.now})
	require.NoError(t, err)
	require.Equal(t, backend.StateQueued, j.State)
	_, err = x.b.JobRetry(x.ctx, &backend.JobRetryParams{ID: a.ID, Now: x.now})
	require.ErrorIs(t, err, backend.ErrWrongState)
	x.claim(t, 1)
	require.ErrorIs(t, x.b.JobDelete(x.ctx, &backend.JobDeleteParams{ID: a.ID}), backend.ErrWrongState)
	require.ErrorIs(t, x.b.JobDelete(x.ctx, &backend.JobDeleteParams{ID: newID(t)}), backend.ErrNotFound)
}

func TestListQueuesPrune(t *testing.T) {
	t.Parallel()
	x := setup(t)
	var ids []string
	for i := range 5 {
		in := insert(t, x.now)
		if i%2 == 0 {
			in.Tags = []string{"even"}
		}
		x.enqueue(t, in)
		ids = append(ids, in.ID)
	}
	page, err := x.b.JobList(x.ctx, &backend.JobListParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{ids[4], ids[3]}, []string{page.Jobs[0].ID, page.Jobs[1].ID})
	x.enqueue(t, insert(t, x.now)) // inserted between pages: not in later pages
	page, err = x.b.JobList(x.ctx, &backend.JobListParams{Limit: 2, Cursor: page.NextCursor})
	require.NoError(t, err)
	require.Equal(t, []string{ids[2], ids[1]}, []string{page.Jobs[0].ID, page.Jobs[1].ID})
	page, err = x.b.JobList(x.ctx, &backend.JobListParams{Limit: 2, Cursor: page.NextCursor})
	require.NoError(t, err)
	require.Len(t, page.Jobs, 1)
	require.Empty(t, page.NextCursor)
	tagged, err := x.b.JobList(x.ctx, &backend.JobListParams{Tag: "even", States: []backend.JobState{backend.StateQueued}})
	require.NoError(t, err)
	require.Len(t, tagged.Jobs, 3)

	require.NoError(t, x.b.QueuePause(x.ctx, &backend.QueuePauseParams{Queue: "default"}))
	require.Empty(t, x.claim(t, 10))
	require.NoError(t, x.b.QueuePause(x.ctx, &backend.QueuePauseParams{Queue: "empty"}))
	ql, err := x.b.QueueList(x.ctx, &backend.QueueListParams{Now: x.now})
	require.NoError(t, err)
	require.Len(t, ql.Queues, 2)
	require.Equal(t, "default", ql.Queues[0].Name)
	require.True(t, ql.Queues[0].Paused)
	require.Equal(t, int64(6), ql.Queues[0].Counts[backend.StateQueued])
	require.True(t, x.now.Equal(ql.Queues[0].OldestQueuedAt))
	require.Equal(t, "empty", ql.Queues[1].Name)
	require.NoError(t, x.b.QueueResume(x.ctx, &backend.QueueResumeParams{Queue: "default"}))
	jobs := x.claim(t, 3)
	require.Len(t, jobs, 3)
	var outs []*backend.JobOutcome
	for _, j := range jobs {
		outs = append(outs, &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted})
	}
	_, err = x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: outs})
	require.NoError(t, err)
	pr, err := x.b.JobPrune(x.ctx, &backend.JobPruneParams{State: backend.StateCompleted, FinishedBefore: x.now.Add(time.Second), Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 2, pr.Deleted)
	pr, err = x.b.JobPrune(x.ctx, &backend.JobPruneParams{State: backend.StateCompleted, FinishedBefore: x.now.Add(time.Second)})
	require.NoError(t, err)
	require.Equal(t, 1, pr.Deleted)
	pu, err := x.b.QueuePurge(x.ctx, &backend.QueuePurgeParams{Queue: "default"})
	require.NoError(t, err)
	require.Equal(t, 3, pu.Deleted)
}

func TestRecords(t *testing.T) {
	t.Parallel()
	x := setup(t)
	put := func(v int64) (*backend.Record, error) {
		return x.b.RecordPut(x.ctx, &backend.RecordPutParams{Namespace: "ns", Key: "k", Value: json.RawMessage(`{"v":1}`), IfVersion: v, Now: x.now})
	}
	r, err := put(0)
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Version)
	_, err = put(0)
	require.ErrorIs(t, err, backend.ErrConflict)
	_, err = put(5)
	require.ErrorIs(t, err, backend.ErrConflict)
	r, err = put(1)
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Version)
	r, err = put(backend.AnyVersion)
	require.NoError(t, err)
	require.Equal(t, int64(3), r.Version)
	l, err := x.b.RecordList(x.ctx, &backend.RecordListParams{Namespace: "ns"})
	require.NoError(t, err)
	require.Len(t, l.Records, 1)
	require.ErrorIs(t, x.b.RecordDelete(x.ctx, &backend.RecordDeleteParams{Namespace: "ns", Key: "k", IfVersion: 2}), backend.ErrConflict)
	require.NoError(t, x.b.RecordDelete(x.ctx, &backend.RecordDeleteParams{Namespace: "ns", Key: "k", IfVersion: 3}))
	require.ErrorIs(t, x.b.RecordDelete(x.ctx, &backend.RecordDeleteParams{Namespace: "ns", Key: "k", IfVersion: backend.AnyVersion}), backend.ErrNotFound)
	_, err = x.b.RecordGet(x.ctx, &backend.RecordGetParams{Namespace: "ns", Key: "k"})
	require.ErrorIs(t, err, backend.ErrNotFound)
}

// TestTxEnqueueToANewQueueDoesNotBlockOthers: a transaction enqueuing to a
// queue not seen before registers it outside the transaction, so a plain
// enqueue to that queue does not wait for the caller's commit.
func TestTxEnqueueToANewQueueDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	x := setup(t)
	tx, _, rollback, err := x.b.BeginTx(x.ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rollback() })
	a := insert(t, x.now)
	a.Queue = "fresh"
	_, err = x.b.JobEnqueueTx(x.ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{a}, Now: x.now})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(x.ctx, 5*time.Second)
	defer cancel()
	b := insert(t, x.now)
	b.Queue = "fresh"
	_, err = x.b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{b}, Now: x.now})
	require.NoError(t, err, "a plain enqueue waited for the open transaction")
	require.NoError(t, rollback())
	_, err = x.b.JobGet(x.ctx, &backend.JobGetParams{ID: a.ID})
	require.ErrorIs(t, err, backend.ErrNotFound, "the rolled-back job is gone")
	x.get(t, b.ID)
}

func TestTxEnqueue(t *testing.T) {
	t.Parallel()
	t.Run("PgxTx", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		for _, commit := range []bool{true, false} {
			tx, doCommit, rollback, err := x.b.BeginTx(x.ctx)
			require.NoError(t, err)
			t.Cleanup(func() { _ = rollback() })
			in := insert(t, x.now)
			_, err = x.b.JobEnqueueTx(x.ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: x.now})
			require.NoError(t, err)
			if commit {
				require.NoError(t, doCommit())
				x.get(t, in.ID)
			} else {
				require.NoError(t, rollback())
				_, err := x.b.JobGet(x.ctx, &backend.JobGetParams{ID: in.ID})
				require.ErrorIs(t, err, backend.ErrNotFound)
			}
		}
	})
	t.Run("SQLTx", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		db, err := sql.Open("pgx", backendtest.PostgresURL())
		require.NoError(t, err)
		defer db.Close()
		for _, commit := range []bool{true, false} {
			tx, err := db.BeginTx(x.ctx, nil)
			require.NoError(t, err)
			in := insert(t, x.now)
			in.UniqueKey = "u"
			dup := insert(t, x.now)
			dup.UniqueKey = "u"
			res, err := x.b.JobEnqueueTx(x.ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in, dup}, Now: x.now})
			require.NoError(t, err)
			require.Equal(t, in.ID, res.Jobs[1].ID)
			require.True(t, res.Jobs[1].Duplicate)
			if commit {
				require.NoError(t, tx.Commit())
				x.get(t, in.ID)
				// Clear the key for the rollback round.
				_, err = x.b.JobCancel(x.ctx, &backend.JobCancelParams{ID: in.ID, Now: x.now})
				require.NoError(t, err)
			} else {
				require.NoError(t, tx.Rollback())
				_, err := x.b.JobGet(x.ctx, &backend.JobGetParams{ID: in.ID})
				require.ErrorIs(t, err, backend.ErrNotFound)
			}
		}
	})
	t.Run("UnsupportedTx", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		_, err := x.b.JobEnqueueTx(x.ctx, "not a tx", &backend.JobEnqueueParams{Now: x.now})
		require.ErrorIs(t, err, backend.ErrUnsupportedTx)
	})
	t.Run("JobCompleteTx", func(t *testing.T) {
		t.Parallel()
		x := setup(t)
		in := insert(t, x.now)
		x.enqueue(t, in)
		j := x.claim(t, 1)[0]
		tx, commit, rollback, err := x.b.BeginTx(x.ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = rollback() })
		require.NoError(t, JobCompleteTx(x.ctx, x.b, tx, &JobCompleteTxParams{ID: j.ID, LeaseToken: j.LeaseToken, Result: json.RawMessage(`1`), Now: x.now}))
		require.Equal(t, backend.StateRunning, x.get(t, j.ID).State, "not visible before commit")
		require.NoError(t, commit())
		require.Equal(t, backend.StateCompleted, x.get(t, j.ID).State)
		tx, _, rollback, err = x.b.BeginTx(x.ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = rollback() })
		err = JobCompleteTx(x.ctx, x.b, tx, &JobCompleteTxParams{ID: j.ID, LeaseToken: j.LeaseToken, Now: x.now})
		require.ErrorIs(t, err, backend.ErrLeaseLost)
	})
}

func TestQueueWatch(t *testing.T) {
	t.Parallel()
	x := setup(t)
	// A second handle on the same schema: its enqueues reach the watcher only
	// through LISTEN/NOTIFY.
	other, err := Open(x.ctx, x.url)
	require.NoError(t, err)
	defer other.Close()
	ctx, cancel := context.WithCancel(x.ctx)
	w, err := x.b.QueueWatch(ctx, &backend.QueueWatchParams{Queues: []string{"default"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := other.JobEnqueue(x.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert(t, x.now)}, Now: x.now})
		require.NoError(t, err)
		select {
		case q := <-w.C:
			return q == "default"
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.Eventually(t, func() bool {
		for {
			select {
			case _, ok := <-w.C:
				if !ok {
					return true
				}
			default:
				return false
			}
		}
	}, 5*time.Second, 5*time.Millisecond)
}

// The listener connection is re-established after it is dropped (here:
// terminated by the server), and wake-ups flow again.
func TestQueueWatchListenerReconnects(t *testing.T) {
	t.Parallel()
	x := setup(t)
	other, err := Open(x.ctx, x.url)
	require.NoError(t, err)
	defer other.Close()
	w, err := x.b.QueueWatch(x.ctx, &backend.QueueWatchParams{Queues: []string{"default"}})
	require.NoError(t, err)
	signalled := func() bool {
		_, err := other.JobEnqueue(x.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert(t, x.now)}, Now: x.now})
		require.NoError(t, err)
		select {
		case <-w.C:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}
	require.Eventually(t, signalled, 10*time.Second, 10*time.Millisecond)
	var killed int
	require.NoError(t, x.b.pool.QueryRow(x.ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		listenerAppName(x.b.Schema())).Scan(&killed))
	require.Equal(t, 1, killed)
	// Drain signals from before the drop (and the one sent on reconnect).
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, x.b.pool.QueryRow(x.ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, listenerAppName(x.b.Schema())).Scan(&n))
		return n == 1
	}, 10*time.Second, 20*time.Millisecond, "listener reconnected")
	for drained := false; !drained; {
		select {
		case <-w.C:
		default:
			drained = true
		}
	}
	require.Eventually(t, signalled, 10*time.Second, 10*time.Millisecond)
}

// A job whose unique states leave out running can lose its key while it
// runs; if it then goes back to a holding state (snooze -> queued) while
// another job holds the key, the batch still finishes: the returning job
// gives up its claim on the key instead of failing everyone's outcome.
func TestFinishIntoHeldUniqueKey(t *testing.T) {
	t.Parallel()
	x := setup(t)
	a := insert(t, x.now)
	a.UniqueKey, a.UniqueStates = "k", []backend.JobState{backend.StateQueued}
	other := insert(t, x.now)
	x.enqueue(t, a, other)
	running := x.claim(t, 2)
	require.Len(t, running, 2)
	b := insert(t, x.now)
	b.UniqueKey, b.UniqueStates = "k", []backend.JobState{backend.StateQueued}
	require.False(t, x.enqueue(t, b).Jobs[0].Duplicate, "a is running: the key is free")
	var outs []*backend.JobOutcome
	for _, j := range running {
		o := &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
		if j.ID == a.ID {
			o.Outcome, o.RunAt = backend.OutcomeSnoozed, x.now
		}
		outs = append(outs, o)
	}
	fin, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: outs})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	require.Equal(t, backend.StateQueued, x.get(t, a.ID).State)
	require.Equal(t, backend.StateCompleted, x.get(t, other.ID).State)
	// b still holds the key.
	c := insert(t, x.now)
	c.UniqueKey = "k"
	res := x.enqueue(t, c)
	require.Equal(t, backend.EnqueueOutcome{ID: b.ID, Duplicate: true, State: backend.StateQueued}, res.Jobs[0])
}

// With many finished jobs in the table, the claim reads the partial claim
// index (claimable rows only), so its cost does not grow with finished rows.
func TestClaimPlanUsesPartialIndex(t *testing.T) {
	t.Parallel()
	x := setup(t)
	_, err := x.b.pool.Exec(x.ctx, `INSERT INTO `+x.b.schema+`.jobs (id, kind, queue, args, state, attempt, max_attempts,
		timeout_ns, run_at, enqueued_at, finished_at)
		SELECT '00000000-' || lpad(to_hex(g), 12, '0'), 'k', 'default', '{}', 'completed', 1, 1, 1, $1, $1, $1
		FROM generate_series(1, 50000) g`, x.now)
	require.NoError(t, err)
	x.enqueue(t, insert(t, x.now), insert(t, x.now))
	_, err = x.b.pool.Exec(x.ctx, `ANALYZE `+x.b.schema+`.jobs`)
	require.NoError(t, err)
	rows, err := x.b.pool.Query(x.ctx, `EXPLAIN (FORMAT TEXT) `+x.b.q.claim, "default", 10, "w", x.now, x.now.Add(time.Minute))
	require.NoError(t, err)
	var lines []string
	for rows.Next() {
		var l string
		require.NoError(t, rows.Scan(&l))
		lines = append(lines, l)
	}
	require.NoError(t, rows.Err())
	full := strings.Join(lines, "\n")
	require.Contains(t, full, "jobs_claim", full)
	require.NotContains(t, full, "Seq Scan on jobs", full)
	require.Len(t, x.claim(t, 10), 2)
}

func TestParsePayload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, queue, origin string }{
		{"default", "default", ""},
		{"0123456789abcdef|default", "default", "0123456789abcdef"},
		{"0123456789abcdef|a|b", "a|b", "0123456789abcdef"},
		{"not-an-instance-id|q", "not-an-instance-id|q", ""},
		{"", "", ""},
	} {
		q, o := parsePayload(tc.in)
		require.Equal(t, tc.queue, q, tc.in)
		require.Equal(t, tc.origin, o, tc.in)
	}
}

// Two queued jobs share a key held only while running: claiming both in one
// batch must not fail the claim forever. The first takes the key; the other
// runs without it.
func TestClaimTwoJobsIntoOneUniqueKey(t *testing.T) {
	t.Parallel()
	x := setup(t)
	a, b := insert(t, x.now), insert(t, x.now)
	for _, in := range []*backend.JobInsert{a, b} {
		in.UniqueKey, in.UniqueStates = "k", []backend.JobState{backend.StateRunning}
	}
	res := x.enqueue(t, a, b)
	require.False(t, res.Jobs[0].Duplicate)
	require.False(t, res.Jobs[1].Duplicate, "neither holds the key while queued")
	jobs := x.claim(t, 10)
	require.Len(t, jobs, 2)
	c := insert(t, x.now)
	c.UniqueKey = "k"
	require.True(t, x.enqueue(t, c).Jobs[0].Duplicate, "one running job holds the key")
}

// TestTxEnqueueToANewQueueWithAFullPool: the caller's transaction holds the
// pool's only connection; registering the new queue must not wait for
// another one (that would never come).
func TestTxEnqueueToANewQueueWithAFullPool(t *testing.T) {
	t.Parallel()
	pgURL := backendtest.PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	schema := randomSchema()
	b, err := New(ctx, Config{URL: pgURL, Schema: schema, MaxConns: 1})
	if err != nil {
		backendtest.ServiceUnavailable(t, "PostgreSQL", err)
	}
	t.Cleanup(func() { b.Close(); dropSchema(t, pgURL, schema) })
	tx, commit, rollback, err := b.BeginTx(ctx)
	require.NoError(t, err)
	defer func() { _ = rollback() }()
	now := time.Now()
	a := insert(t, now)
	a.Queue = "fresh"
	ectx, ecancel := context.WithTimeout(ctx, 3*time.Second)
	defer ecancel()
	_, err = b.JobEnqueueTx(ectx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{a}, Now: now})
	require.NoError(t, err, "enqueue in the only connection's transaction")
	require.NoError(t, commit())
	require.Eventually(t, func() bool {
		res, err := b.QueueList(ctx, &backend.QueueListParams{Now: now})
		return err == nil && len(res.Queues) == 1 && res.Queues[0].Name == "fresh"
	}, 5*time.Second, 20*time.Millisecond, "the queue is registered once a connection is free")
}
