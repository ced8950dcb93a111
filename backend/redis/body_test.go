package redis

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// TestClaimBodyMatchesHash: a job claimed from its claim body reads exactly
// like one claimed from its hash (a job enqueued before layout 4, which has
// no body entry), and the claim deletes the body entry.
func TestClaimBodyMatchesHash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "body"
	mod := func(j *backend.JobInsert) {
		j.Args = json.RawMessage(`{"n":[1,2,3],"s":"x|y:z"}`)
		j.Meta = json.RawMessage(`{"trace":"t"}`)
		j.Tags = []string{"a", "b"}
		j.Priority = 2
		j.MaxAttempts = 7
		j.UniqueKey = "u1"
		j.RunAt = t0.Add(-time.Second + 123)
	}
	withBody, noBody := insert(q, mod), insert(q, mod, func(j *backend.JobInsert) { j.UniqueKey = "u2" })
	enqueue(t, b, t0, withBody, noBody)
	body := b.queueKeys(q)[kBody]
	require.NoError(t, b.rdb.HDel(ctx, body, noBody.ID).Err(), "as a layout-3 enqueue left it")

	jobs := claim(t, b, q, 2, t0, time.Minute)
	require.Len(t, jobs, 2)
	n, err := b.rdb.HLen(ctx, body).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the claim deletes the body entries")
	a, c := *jobs[0], *jobs[1]
	require.Equal(t, withBody.ID, a.ID)
	require.Equal(t, noBody.ID, c.ID)
	require.Equal(t, 1, a.Attempt)
	require.JSONEq(t, string(withBody.Args), string(a.Args))
	require.JSONEq(t, string(withBody.Meta), string(a.Meta))
	require.Equal(t, withBody.RunAt, a.RunAt)
	c.ID, c.LeaseToken, c.UniqueKey = a.ID, a.LeaseToken, a.UniqueKey
	require.Equal(t, a, c)
}

// TestClaimBodyDroppedOnRetry: a job retried before its first claim (a
// scheduled one made due now) is claimed with its new run_at, not the one
// its claim body recorded at enqueue; a cancelled one gets no stale body
// either.
func TestClaimBodyDroppedOnRetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "bodyretry"
	later := insert(q, func(j *backend.JobInsert) { j.RunAt = t0.Add(time.Hour) })
	cancelled := insert(q)
	enqueue(t, b, t0, later, cancelled)
	_, err := b.JobCancel(ctx, &backend.JobCancelParams{ID: cancelled.ID, Now: t0})
	require.NoError(t, err)
	t1 := t0.Add(time.Minute + 7)
	for _, id := range []string{later.ID, cancelled.ID} {
		_, err = b.JobRetry(ctx, &backend.JobRetryParams{ID: id, Now: t1})
		require.NoError(t, err)
	}
	jobs := claim(t, b, q, 2, t1, time.Minute)
	require.Len(t, jobs, 2)
	for _, j := range jobs {
		require.Equal(t, t1, j.RunAt, "job %s", j.ID)
		require.Equal(t, 1, j.Attempt)
	}
}

// TestClaimBodyDeletedWithJob: delete, purge and prune leave no claim body
// behind.
func TestClaimBodyDeletedWithJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "bodydel"
	body := b.queueKeys(q)[kBody]
	count := func() int64 {
		n, err := b.rdb.HLen(ctx, body).Result()
		require.NoError(t, err)
		return n
	}
	deleted, purged := insert(q), insert(q, func(j *backend.JobInsert) { j.RunAt = t0.Add(time.Hour) })
	enqueue(t, b, t0, deleted, purged)
	require.EqualValues(t, 2, count())
	require.NoError(t, b.JobDelete(ctx, &backend.JobDeleteParams{ID: deleted.ID}))
	require.EqualValues(t, 1, count())
	_, err := b.QueuePurge(ctx, &backend.QueuePurgeParams{Queue: q})
	require.NoError(t, err)
	require.Zero(t, count())

	pruned := insert(q)
	enqueue(t, b, t0, pruned)
	_, err = b.JobCancel(ctx, &backend.JobCancelParams{ID: pruned.ID, Now: t0})
	require.NoError(t, err)
	require.Zero(t, count(), "cancel drops the body")
	require.NoError(t, b.rdb.HSet(ctx, body, pruned.ID, "stale").Err()) // as a layout-4 build before this fix could leave it
	res, err := b.JobPrune(ctx, &backend.JobPruneParams{State: backend.StateCancelled, FinishedBefore: t0.Add(time.Second)})
	require.NoError(t, err)
	require.Equal(t, 1, res.Deleted)
	require.Zero(t, count())
}
