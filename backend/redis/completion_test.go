package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// TestShortCompletion: a plain completion writes no job hash (it still says
// running), yet every reader sees a completed job: get, list by state, the
// unique-key check, cancel, retry and delete.
func TestShortCompletion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "short"
	done := t0.Add(3 * time.Second)
	unique := func(j *backend.JobInsert) { j.UniqueKey = "u" }
	job := insert(q, unique)
	enqueue(t, b, t0, job)
	c := claim(t, b, q, 1, t0, time.Minute)
	require.Len(t, c, 1)
	_, err := b.JobCancel(ctx, &backend.JobCancelParams{ID: job.ID, Now: t0})
	require.NoError(t, err, "cancel request while running")
	res, err := b.JobFinish(ctx, &backend.JobFinishParams{Now: done, Jobs: []*backend.JobOutcome{
		{ID: job.ID, LeaseToken: c[0].LeaseToken, Outcome: backend.OutcomeCompleted},
	}})
	require.NoError(t, err)
	require.Empty(t, res.LeaseLost)

	stored, err := b.rdb.HGet(ctx, b.k.job(q, job.ID), "s").Result()
	require.NoError(t, err)
	require.Equal(t, "running", stored, "the short form leaves the hash alone")

	b.idQueue = idCache{} // read through the index, as another process would
	got, err := b.JobGet(ctx, &backend.JobGetParams{ID: job.ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, got.State)
	require.WithinDuration(t, done, got.FinishedAt, time.Microsecond)
	require.False(t, got.CancelRequested)
	require.Empty(t, got.LeaseToken)
	require.Empty(t, got.LeaseOwner)
	require.True(t, got.LeaseExpiresAt.IsZero())
	require.Equal(t, 1, got.Attempt)
	require.Equal(t, t0, got.StartedAt)

	list, err := b.JobList(ctx, &backend.JobListParams{Queue: q, States: []backend.JobState{backend.StateCompleted}})
	require.NoError(t, err)
	require.Len(t, list.Jobs, 1)
	list, err = b.JobList(ctx, &backend.JobListParams{Queue: q, States: []backend.JobState{backend.StateRunning}})
	require.NoError(t, err)
	require.Empty(t, list.Jobs)

	// The unique key is free again (completed is not a default unique state).
	again := insert(q, unique)
	out := enqueue(t, b, done, again)
	require.False(t, out[0].Duplicate)
	require.Equal(t, again.ID, out[0].ID)

	_, err = b.JobCancel(ctx, &backend.JobCancelParams{ID: job.ID, Now: done})
	require.ErrorIs(t, err, backend.ErrWrongState)
	require.ErrorContains(t, err, "completed")

	retried, err := b.JobRetry(ctx, &backend.JobRetryParams{ID: job.ID, Now: done})
	require.NoError(t, err)
	require.Equal(t, backend.StateQueued, retried.State)
	require.True(t, retried.FinishedAt.IsZero())
	ql, err := b.QueueList(ctx, &backend.QueueListParams{Now: done})
	require.NoError(t, err)
	require.Len(t, ql.Queues, 1)
	require.EqualValues(t, 0, ql.Queues[0].Counts[backend.StateCompleted])
	require.EqualValues(t, 2, ql.Queues[0].Counts[backend.StateQueued])
}

// TestShortCompletionDelete: a job completed in the short form is deleted
// like any completed one (its hash says running, which delete refuses for a
// job that really runs).
func TestShortCompletionDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "short-del"
	enqueue(t, b, t0, insert(q), insert(q))
	c := claim(t, b, q, 2, t0, time.Minute)
	require.Len(t, c, 2)
	_, err := b.JobFinish(ctx, &backend.JobFinishParams{Now: t0, Jobs: []*backend.JobOutcome{
		{ID: c[0].ID, LeaseToken: c[0].LeaseToken, Outcome: backend.OutcomeCompleted},
	}})
	require.NoError(t, err)
	require.NoError(t, b.JobDelete(ctx, &backend.JobDeleteParams{ID: c[0].ID}))
	_, err = b.JobGet(ctx, &backend.JobGetParams{ID: c[0].ID})
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.ErrorIs(t, b.JobDelete(ctx, &backend.JobDeleteParams{ID: c[1].ID}), backend.ErrWrongState, "still running")
	n, err := b.rdb.ZCard(ctx, b.queueKeys(q)[kCompleted]).Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestPriorityScoreText: enqueue negates the priority as text for the ready
// set's score; negative, zero, positive and multi-digit priorities still
// claim highest first.
func TestPriorityScoreText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := "prio-text"
	for _, p := range []int{-12, 0, 7, -1, 10, 3} {
		enqueue(t, b, t0, insert(q, func(j *backend.JobInsert) { j.Priority = p }))
	}
	var got []string
	for _, j := range claim(t, b, q, 10, t0, time.Minute) {
		got = append(got, fmt.Sprintf("%d", j.Priority))
	}
	require.Equal(t, []string{"10", "7", "3", "0", "-1", "-12"}, got)
}

// TestShortCompletionFinishedAtExact: the completed set keeps the finish
// time in µs; readers must get exactly that instant back (a float product
// µs × 1000 near 2e18 is off by up to 128 ns).
func TestShortCompletionFinishedAtExact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "exact"
	offsets := []time.Duration{0, 1, 123456789, 987654321, 3*time.Second + 1001, 7*time.Hour + 333333333}
	for i, off := range offsets {
		job := insert(q)
		enqueue(t, b, t0, job)
		c := claim(t, b, q, 1, t0, time.Minute)
		require.Len(t, c, 1)
		done := t0.Add(time.Duration(i+1)*time.Second + off)
		res, err := b.JobFinish(ctx, &backend.JobFinishParams{Now: done, Jobs: []*backend.JobOutcome{
			{ID: job.ID, LeaseToken: c[0].LeaseToken, Outcome: backend.OutcomeCompleted},
		}})
		require.NoError(t, err)
		require.Empty(t, res.LeaseLost)
		got, err := b.JobGet(ctx, &backend.JobGetParams{ID: job.ID})
		require.NoError(t, err)
		require.Equal(t, backend.StateCompleted, got.State)
		require.Equal(t, done.Truncate(time.Microsecond), got.FinishedAt.UTC(), "offset %v", off)
	}
}
